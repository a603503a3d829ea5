#!/usr/bin/env node
// The one test command (`npm test`):
//   node test/run.js [node --test args / test files...]
//   node test/run.js --servers-only     # start servers, print `export K=V`, wait for Ctrl-C
//
// Starts throwaway PostgreSQL and MariaDB servers (test/helpers/servers.js),
// runs `node --test` with their UVSQL_TEST_* variables in the environment,
// then always stops them and removes their temp dir. Exit code = node --test's.
'use strict'
const { spawn } = require('node:child_process')
const { readdirSync } = require('node:fs')
const { join, relative } = require('node:path')
const { constants: osConstants } = require('node:os')
const { startServers, stopAll } = require('./helpers/servers.js')

const TEST_DIR = __dirname
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

function nodeTestArgs (userArgs) {
  const flags = []
  const files = []
  for (let i = 0; i < userArgs.length; i++) {
    const a = userArgs[i]
    if (a.startsWith('-')) {
      flags.push(a)
      if (VALUE_FLAGS.has(a) && i + 1 < userArgs.length) flags.push(userArgs[++i])
    } else files.push(a)
  }
  const has = (name) => flags.some((f) => f === name || f.startsWith(name + '='))
  // --test-concurrency exists since Node 20.10; older runners ignore the default.
  const [major, minor] = process.versions.node.split('.').map(Number)
  if (!has('--test-concurrency') && (major > 20 || (major === 20 && minor >= 10))) {
    flags.unshift('--test-concurrency=1')
  }
  if (!has('--test-reporter')) flags.unshift('--test-reporter=spec')
  if (files.length === 0) {
    files.push(...findTests(TEST_DIR).map((p) => relative(process.cwd(), p) || p).sort())
  }
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
  say(`PostgreSQL ${info.pgVersion} on 127.0.0.1:${info.pgPort}, MariaDB ${info.mysqlVersion} on 127.0.0.1:${info.mysqlPort}` +
    `${info.ed25519 ? '' : ' (no ed25519)'}; ready in ${(info.ms / 1000).toFixed(1)} s`)

  if (serversOnly) {
    for (const [k, v] of Object.entries(env)) process.stdout.write(`export ${k}=${shellQuote(v)}\n`)
    say('servers running; press Ctrl-C to stop them')
    setInterval(() => {}, 1 << 30) // keep the loop alive until a signal
    return
  }

  const nodeArgs = nodeTestArgs(args)
  child = spawn(process.execPath, nodeArgs, { stdio: 'inherit', env: { ...process.env, ...env } })
  child.on('error', (err) => { say(`could not run node --test: ${err.message}`); finish(1) })
  child.on('exit', (code, signal) => {
    if (signalled) return finish(128 + (osConstants.signals[signalled] || 1))
    finish(code ?? 128 + (osConstants.signals[signal] || 1))
  })
}

main()
