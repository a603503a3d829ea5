#!/usr/bin/env node
// Makes the prebuilt binary that the npm package ships: prebuilds/<platform>-<arch>/uvsql.node.
//
//   npm run prebuild        # by hand
//   npm pack / npm publish  # `prepack` runs this, so a tarball always carries a fresh binary
//
// 1. Builds the Release addon offline in .tmp/prebuild/ (symlinks to binding.gyp and src/, its
//    own build/ dir), so the developer's build/Release is never touched. Rebuilds are incremental.
// 2. Strips the static symbol table (the dynamic table keeps the module init; about 0.7 MB less).
// 3. Checks it: it loads in this Node, exports only the Node-API module init and imports no
//    OpenSSL symbol from the host (Bun has none). A binary that fails a check is not copied.
// 4. Copies it to prebuilds/<platform>-<arch>/uvsql.node, which lib/binding.js loads when there
//    is no local build (build/Release). One Node-API binary serves Node >= 18 and Bun.
//
// prebuilds/ is gitignored: binaries are produced at pack time, never committed.
'use strict'

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { findNodeDir, findNodeGyp } = require('./build.js')

const root = path.join(__dirname, '..')
const stage = path.join(root, '.tmp', 'prebuild')
const target = path.join(root, 'prebuilds', process.platform + '-' + process.arch, 'uvsql.node')
const say = (msg) => process.stderr.write(`[uvsql-prebuild] ${msg}\n`)

// npm runs a script named `pre<name>` before `<name>`, so `npm run build` would run this too.
// Only the npm command line tells the two apart (both set npm_lifecycle_event=prebuild).
function isHookOfBuild() {
  if (process.env.npm_lifecycle_event !== 'prebuild') return false
  let pid = process.ppid
  for (let depth = 0; depth < 4 && pid > 1; depth++) {
    let argv, stat
    try {
      // npm sets its process title to "npm run <name>", which replaces argv as one string
      argv = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split(/[\0\s]+/).filter(Boolean)
      stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    } catch {
      return false
    }
    const at = argv.findIndex((a) => a === 'run' || a === 'run-script' || a === 'rum' || a === 'urn')
    if (at >= 0 && argv.some((a) => /npm(-cli\.js)?$/.test(a))) return argv[at + 1] === 'build'
    pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) // field 4: ppid
  }
  return false
}

function symlink(to, link) {
  try {
    if (fs.readlinkSync(link) === to) return
  } catch {}
  fs.rmSync(link, { recursive: true, force: true })
  fs.symlinkSync(to, link)
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], ...opts })
  if (r.status !== 0) {
    process.stderr.write((r.stdout || '') + (r.stderr || ''))
    throw new Error(`${path.basename(cmd)} ${args[0] || ''} failed (exit ${r.status}${r.error ? ', ' + r.error.message : ''})`)
  }
  return r.stdout
}

function build() {
  fs.mkdirSync(stage, { recursive: true })
  symlink(path.join(root, 'binding.gyp'), path.join(stage, 'binding.gyp'))
  symlink(path.join(root, 'src'), path.join(stage, 'src'))
  const gyp = findNodeGyp()
  if (!gyp) throw new Error('node-gyp was not found (npm install, or npm install -g node-gyp)')
  const nodedir = findNodeDir()
  const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length))
  run(process.execPath, [gyp, 'configure', '--release', ...(nodedir ? ['--nodedir=' + nodedir] : [])], { cwd: stage })
  run(process.execPath, [gyp, 'build', '--release', '-j', jobs], { cwd: stage })
  return path.join(stage, 'build', 'Release', 'uvsql.node')
}

const dynamicSymbols = (file, flag) =>
  run('nm', ['-D', flag, file]).split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/).pop())

function check(file) {
  const exported = dynamicSymbols(file, '--defined-only').sort()
  const want = ['napi_register_module_v1', 'node_api_module_get_api_version_v1']
  if (exported.join() !== want.join()) throw new Error(`${file} exports ${exported.join(', ')}; want only ${want.join(', ')}`)
  const ssl = dynamicSymbols(file, '--undefined-only').filter((s) => /^(SSL_|EVP_|OPENSSL_|CRYPTO_|BIO_|X509_)/.test(s))
  if (ssl.length) throw new Error(`${file} imports OpenSSL from the host (${ssl.slice(0, 3).join(', ')}...); it would not load in Bun`)
  run(process.execPath, ['-e', 'const m = { exports: {} }; process.dlopen(m, process.argv[1]); if (typeof m.exports.poolCreate !== "function") process.exit(1)', file])
}

function main() {
  if (isHookOfBuild()) {
    say('skipped: npm runs "prebuild" before "build"; `npm run prebuild` makes prebuilds/')
    return 0
  }
  if (process.platform !== 'linux') say(`note: only linux-x64 (glibc) is built and tested; making ${path.relative(root, target)} anyway`)
  const t0 = Date.now()
  const built = build()
  const tmp = target + '.tmp'
  fs.mkdirSync(path.dirname(target), { recursive: true })
  fs.copyFileSync(built, tmp)
  run('strip', ['--strip-unneeded', tmp])
  try {
    check(tmp)
  } catch (err) {
    fs.rmSync(tmp, { force: true })
    throw err
  }
  fs.renameSync(tmp, target)
  const mb = (fs.statSync(target).size / 1e6).toFixed(1)
  say(`${path.relative(root, target)} (${mb} MB) built and checked in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return 0
}

try {
  process.exitCode = main()
} catch (err) {
  say(err.message)
  process.exitCode = 1
}
