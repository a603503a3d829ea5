#!/usr/bin/env node
// The one test command (`npm test`):
//   node test/run.js [node --test args / test files...]
//   node test/run.js --servers-only     # start servers, print `export K=V`, wait for Ctrl-C
//
// Starts throwaway PostgreSQL and MariaDB servers (test/helpers/servers.js), runs the suites
// with their UVSQL_TEST_* variables in the environment, then always stops them and removes
// their temp dir. Three passes, one after the other:
//   node     `node --test`, uv I/O driver (UVSQL_DRIVER=uv)
//   node-js  `node --test`, js I/O driver (UVSQL_DRIVER=js)
//   bun      `bun test <file>` per file (isolated), js driver (Bun's only one); the bun binary is
//            the `bun` devDependency (node_modules/bun/bin/bun.exe)
// Suites in ONCE do not depend on the runtime or the driver: only the first pass runs them.
// UVSQL_TEST_RUNTIMES=node,node-js,bun (the default) picks passes; node --test flags go to the
// node passes only. UVSQL_GC_TORTURE=1 loads test/helpers/gc-torture.js into every test process
// (NODE_OPTIONS=--require for node and its node children, --preload for bun), which collects
// garbage every few milliseconds (docs/SANITIZERS.md). Exit code: non-zero when any pass failed. The last line is the total,
// `N passed, N failed`.
'use strict'
const { spawn } = require('node:child_process')
const { readdirSync, existsSync } = require('node:fs')
const { join, relative, resolve } = require('node:path')
const { constants: osConstants } = require('node:os')
const { startServers, stopAll, PG_PASSWORDS } = require('./helpers/servers.js')

// Sentinel passwords (issue 9, RELIABILITY.md §3.5): the test servers' passwords and the
// sentinels the fault suites use must never show up in anything a test prints (errors,
// inspect output, diagnostics). Every byte the passes write goes through this scan; a hit fails
// the run. (--servers-only prints the URLs on purpose and is not scanned.)
const SECRETS = [...Object.values(PG_PASSWORDS), 'tls_secret', 'ed_secret', 'kill_secret',
  'pw-sentinel-7Qx9', 'Sntl-matrix-7d2e-pw', 'sentinel-pw']
const secretHits = new Map()
let scanTail = ''
function scanForSecrets (text) {
  const hay = scanTail + text
  for (const secret of SECRETS) {
    let at = hay.indexOf(secret, 0)
    while (at !== -1) {
      if (at + secret.length > scanTail.length) secretHits.set(secret, (secretHits.get(secret) || 0) + 1)
      at = hay.indexOf(secret, at + 1)
    }
  }
  scanTail = hay.slice(-64)
}

const TEST_DIR = __dirname
const ROOT = join(__dirname, '..')
const BUN = join(ROOT, 'node_modules', 'bun', 'bin', 'bun.exe')
const PASSES = ['node', 'node-js', 'bun']
const GC_TORTURE = join(__dirname, 'helpers', 'gc-torture.js')
const gcTorture = !['', '0', undefined].includes(process.env.UVSQL_GC_TORTURE) // as gc-torture.js reads it
// Run by the first pass only, each for a reason that makes a second run pointless:
const ONCE = [
  'test/unit/c-units.test.js', // compiles and runs C programs: no runtime, no driver
  'test/unit/uv-symbols.test.js', // reads the .node file's imports with nm
  'test/api/types.test.js', // type-checks the .d.ts with tsc
  'test/infra/', // the test runner and the server helper themselves
]
const isOnce = (file) => ONCE.some((o) => relative(ROOT, resolve(file)).startsWith(o))
const say = (msg) => process.stderr.write(`[uvsql-test] ${msg}\n`)

// node --test flags that take their value as the next argument.
const VALUE_FLAGS = new Set([
  '--test-name-pattern', '--test-skip-pattern', '--test-reporter', '--test-reporter-destination',
  '--test-concurrency', '--test-timeout', '--test-shard', '--import', '--require', '-r',
  '--loader', '--experimental-loader', '--conditions', '-C', '--env-file', '--inspect-port'
])

function findTests (dir) {
  const out = []
  for (const ent of readdirSync(dir, { withFileTypes: true })) {
    if (ent.name.startsWith('.') || ent.name === 'node_modules') continue
    const p = join(dir, ent.name)
    if (ent.isDirectory()) out.push(...findTests(p))
    else if (/\.test\.(c|m)?js$/.test(ent.name)) out.push(p)
  }
  return out
}

function splitArgs (userArgs) {
  const flags = []
  const files = []
  for (let i = 0; i < userArgs.length; i++) {
    const a = userArgs[i]
    if (a.startsWith('-')) {
      flags.push(a)
      if (VALUE_FLAGS.has(a) && i + 1 < userArgs.length) flags.push(userArgs[++i])
    } else files.push(a)
  }
  if (files.length === 0) {
    files.push(...findTests(TEST_DIR).map((p) => relative(process.cwd(), p) || p).sort())
  }
  return { flags, files }
}

function nodeTestArgs (flags, files) {
  const has = (name) => flags.some((f) => f === name || f.startsWith(name + '='))
  // --test-concurrency exists since Node 20.10; older runners ignore the default.
  const [major, minor] = process.versions.node.split('.').map(Number)
  if (!has('--test-concurrency') && (major > 20 || (major === 20 && minor >= 10))) {
    flags.unshift('--test-concurrency=1')
  }
  if (!has('--test-reporter')) flags.unshift('--test-reporter=spec')
  return ['--test', ...flags, ...files]
}

const shellQuote = (v) => /^[\w@%+=:,./-]*$/.test(v) ? v : `'${String(v).replace(/'/g, `'\\''`)}'`

let child = null
let servers = null
let signalled = null

let finishing = false
function finish (code) {
  // Set first: the loop may empty (every timer here is unref'd) before process.exit runs,
  // and then this is the status node exits with. A failing suite must never exit 0.
  if (!process.exitCode) process.exitCode = code
  if (finishing) return
  finishing = true
  // Synchronous teardown first (a second signal or an exception cannot skip it),
  // then give the loop a moment to reap mariadbd.
  const reap = servers ? servers.stop() : Promise.resolve()
  try { stopAll() } catch (err) { say(`cleanup error: ${err.message}`) }
  reap.catch(() => {}).then(() => process.exit(code))
  setTimeout(() => process.exit(code), 3000).unref()
}

function onSignal (sig) {
  const code = 128 + (osConstants.signals[sig] || 1)
  if (child && child.exitCode === null && child.signalCode === null) {
    if (signalled) { // second signal: stop waiting for the test runner
      try { child.kill('SIGKILL') } catch {}
      finish(code)
    }
    signalled = sig
    say(`${sig}: stopping tests, then the servers`)
    try { child.kill(sig) } catch {}
    setTimeout(() => { try { child.kill('SIGKILL') } catch {} }, 10000).unref()
    return
  }
  signalled = sig
  say(`${sig}: stopping servers`)
  finish(servers && argvServersOnly() ? 0 : code)
}

const argvServersOnly = () => process.argv.includes('--servers-only')

process.on('SIGINT', onSignal)
process.on('SIGTERM', onSignal)
process.on('SIGHUP', onSignal)
process.on('uncaughtException', (err) => { say(`uncaught: ${err.stack || err}`); finish(1) })
process.on('unhandledRejection', (err) => { say(`unhandled rejection: ${err && (err.stack || err)}`); finish(1) })

async function main () {
  const args = process.argv.slice(2)
  const serversOnly = args.includes('--servers-only')
  try {
    servers = await startServers()
  } catch (err) {
    say(`could not start the test servers: ${err.message}`)
    if (err.logTail) process.stderr.write(err.logTail + '\n')
    return finish(1)
  }
  const { env, info } = servers
  if (gcTorture) say(`GC torture on (${relative(process.cwd(), GC_TORTURE)})`)
  say(`PostgreSQL ${info.pgVersion} on 127.0.0.1:${info.pgPort}, MariaDB ${info.mysqlVersion} on 127.0.0.1:${info.mysqlPort}` +
    `${info.ed25519 ? '' : ' (no ed25519)'}; ready in ${(info.ms / 1000).toFixed(1)} s`)

  if (serversOnly) {
    for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${shellQuote(v)}\n`)
    say('servers running; press Ctrl-C to stop them')
    setInterval(() => {}, 1 << 30) // keep the loop alive until a signal
    return
  }

  const { flags, files } = splitArgs(args)
  const passes = (process.env.UVSQL_TEST_RUNTIMES || PASSES.join(',')).split(',').map((p) => p.trim()).filter(Boolean)
  const unknown = passes.filter((p) => !PASSES.includes(p))
  if (unknown.length > 0) {
    say(`UVSQL_TEST_RUNTIMES: unknown pass ${unknown.join(', ')} (known: ${PASSES.join(', ')})`)
    return finish(1)
  }
  const results = []
  for (const [i, pass] of passes.entries()) {
    const list = i === 0 ? files : files.filter((f) => !isOnce(f))
    const skipped = files.length - list.length
    say(`pass ${pass}: ${list.length} files` + (skipped ? ` (${skipped} run once, in the first pass only)` : ''))
    const r = pass === 'bun' ? await bunPass(list, env) : await nodePass(pass, flags, list, env)
    results.push(r)
    if (signalled) return finish(128 + (osConstants.signals[signalled] || 1))
  }
  let passed = 0
  let failed = 0
  for (const r of results) {
    say(`${r.label}: ${r.passed} passed, ${r.failed} failed` + (r.cancelled ? `, ${r.cancelled} cancelled` : '') +
      (r.code !== 0 ? ` (exit ${r.code})` : '') +
      (r.failedFiles && r.failedFiles.length ? ` in ${r.failedFiles.join(', ')}` : ''))
    // Named again here, at the end: CI keeps only the tail of a long run's output.
    for (const name of r.failedNames || []) say(`  not passed: ${name}`)
    passed += r.passed
    // A pass that exited non-zero with no failure counted (a crash, a runner error) still fails.
    failed += r.failed > 0 || r.code === 0 ? r.failed : 1
  }
  process.stdout.write(`${passed} passed, ${failed} failed\n`)
  const leaks = [...secretHits].map(([secret, n]) => `${secret.slice(0, 3)}… ${n} time(s)`)
  if (leaks.length) say(`a password appeared in the test output: ${leaks.join(', ')}`)
  else say(`sentinel passwords in the output: 0 hits (${SECRETS.length} checked)`)
  finish(results.some((r) => r.code !== 0) || leaks.length ? 1 : 0)
}

// Runs one child, copying its output through; resolves with its exit code and the output.
function runChild (cmd, args, childEnv) {
  return new Promise((resolveRun) => {
    let text = ''
    child = spawn(cmd, args, { stdio: ['inherit', 'pipe', 'pipe'], env: childEnv })
    child.stdout.on('data', (d) => { text += d; scanForSecrets(String(d)); process.stdout.write(d) })
    child.stderr.on('data', (d) => { text += d; scanForSecrets(String(d)); process.stderr.write(d) })
    child.on('error', (err) => { say(`could not run ${cmd}: ${err.message}`); resolveRun({ code: 1, text }) })
    child.on('close', (code, signal) => resolveRun({ code: code ?? 128 + (osConstants.signals[signal] || 1), text }))
  })
}

const lastCount = (text, re) => {
  let n = 0
  for (const m of text.matchAll(re)) n = Number(m[1])
  return n
}

async function nodePass (pass, flags, files, serverEnv) {
  const driver = pass === 'node-js' ? 'js' : 'uv'
  const childEnv = { ...process.env, ...serverEnv, UVSQL_DRIVER: driver }
  if (gcTorture) childEnv.NODE_OPTIONS = `${childEnv.NODE_OPTIONS || ''} --require=${GC_TORTURE}`.trim()
  const { code, text } = await runChild(process.execPath, nodeTestArgs([...flags], files), childEnv)
  return {
    label: `node ${process.versions.node} (${driver} driver)`,
    code,
    // spec reporter: "ℹ pass 12"; tap: "# pass 12"
    passed: lastCount(text, /^(?:\u2139|#) pass (\d+)/gm),
    failed: lastCount(text, /^(?:\u2139|#) fail (\d+)/gm),
    cancelled: lastCount(text, /^(?:\u2139|#) cancelled (\d+)/gm),
    failedNames: notPassedNames(text),
  }
}

// The tests the spec reporter marked ✖ (failed or cancelled), once each, at most 20.
function notPassedNames (text) {
  const names = new Set()
  for (const m of text.matchAll(/^\s*\u2716 (.+?)(?: \([\d.]+m?s\))?$/gm)) {
    if (m[1] !== 'failing tests:') names.add(m[1])
  }
  return [...names].slice(0, 20)
}

// `bun test` runs node:test suites; one process per file keeps them as isolated as node --test.
async function bunPass (files, serverEnv) {
  const result = { label: 'bun (js driver)', code: 0, passed: 0, failed: 0, failedFiles: [] }
  if (!existsSync(BUN)) {
    say(`bun pass: ${relative(process.cwd(), BUN)} is missing (npm install installs the bun devDependency)`)
    return { ...result, code: 1, failed: 1 }
  }
  const childEnv = { ...process.env, ...serverEnv }
  delete childEnv.UVSQL_DRIVER
  for (const file of files) {
    const preload = gcTorture ? ['--preload', GC_TORTURE] : []
    const { code, text } = await runChild(BUN, ['test', ...preload, '--timeout', '60000', resolve(file)], childEnv)
    const version = /^bun test v(\S+)/m.exec(text)
    if (version) result.label = `bun ${version[1]} (js driver)`
    const passed = lastCount(text, /^\s*(\d+) pass$/gm)
    const failed = lastCount(text, /^\s*(\d+) fail$/gm)
    result.passed += passed
    result.failed += failed
    if (code !== 0) {
      result.code = code
      result.failedFiles.push(relative(process.cwd(), file) || file)
      if (failed === 0) result.failed += 1 // crashed or could not load: one failure, not zero
    }
    if (signalled) break
  }
  return result
}

main()
