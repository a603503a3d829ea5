'use strict'
// Finds and loads the native addon: a prebuilt binary for this platform first
// (prebuilds/<platform>-<arch>/uvsql.node), then a local build (build/Release, build/Debug).
// UVSQL_BINDING=<path> loads one file explicitly (sanitizer builds, experiments).

const fs = require('node:fs')
const path = require('node:path')

const root = path.join(__dirname, '..')
const platformDir = process.platform + '-' + process.arch

function candidates({ onlyPrebuilds = false } = {}) {
  const list = []
  if (process.env.UVSQL_BINDING && !onlyPrebuilds) list.push(path.resolve(process.env.UVSQL_BINDING))
  list.push(path.join(root, 'prebuilds', platformDir, 'uvsql.node'))
  if (!onlyPrebuilds) {
    list.push(path.join(root, 'build', 'Release', 'uvsql.node'))
    list.push(path.join(root, 'build', 'Debug', 'uvsql.node'))
  }
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
    'uvsql: no native binary for ' + platformDir + ' (Node-API 8).\n' +
    'Looked for:\n  ' + tried.join('\n  ') + '\n' +
    'Build it from source: `npm rebuild uvsql` (approve its install script first with\n' +
    '`npm install-scripts approve uvsql` on npm 11; needs a C compiler, python3 and libssl-dev).'
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
