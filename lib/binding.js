'use strict'
// Finds and loads the native addon: a local build first (build/Release, build/Debug: made by
// `npm run build`, or by the install script when no prebuilt binary loads), then the prebuilt
// binary for this platform that the npm package ships (prebuilds/<platform>-<arch>/uvsql.node).
// A local build wins, as with node-gyp-build, so a stale prebuild never hides a fresh build.
// UVSQL_BINDING=<path> loads one file explicitly (sanitizer builds, experiments).

const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const platformDir = process.platform + '-' + process.arch

function candidates({ onlyPrebuilds = false } = {}) {
  const list = []
  if (process.env.UVSQL_BINDING && !onlyPrebuilds) list.push(path.resolve(process.env.UVSQL_BINDING))
  if (!onlyPrebuilds) {
    list.push(path.join(root, 'build', 'Release', 'uvsql.node'))
    list.push(path.join(root, 'build', 'Debug', 'uvsql.node'))
  }
  list.push(path.join(root, 'prebuilds', platformDir, 'uvsql.node'))
  return list
}

function loadBinding(opts = {}) {
  const tried = []
  for (const file of candidates(opts)) {
    if (!fs.existsSync(file)) {
      tried.push(file + ' (missing)')
      continue
    }
    try {
      return require(file)
    } catch (err) {
      tried.push(file + ' (' + String(err && err.message).split('\n')[0] + ')')
      if (process.env.UVSQL_BINDING) throw err
    }
  }
  if (opts.onlyPrebuilds) return null
  const err = new Error(
    'uvsql: no native binary for ' + platformDir + ' could be loaded (Node-API 8).\n' +
    'Looked for:\n  ' + tried.join('\n  ') + '\n' +
    'The npm package ships a prebuilt binary for linux-x64 (glibc >= 2.34) only. Build it from source:\n' +
    '  npm: `npm install-scripts approve uvsql` (npm 11), then `npm rebuild uvsql`\n' +
    '  Bun: `bun pm trust uvsql` (runs its install script)\n' +
    'Building needs a C compiler, make, python3 and libssl-dev (OpenSSL 3 static libraries).'
  )
  err.code = 'ERR_UVSQL_NO_BINARY'
  throw err
}

let cached = null
function binding() {
  if (cached === null) cached = loadBinding()
  return cached
}

module.exports = { binding, loadBinding }
