'use strict'
// Server-side views and controls for fault tests against the real PostgreSQL that
// test/run.js started. The observing side uses node-postgres (a devDependency), not uvsql, so a
// broken pool cannot blind the test that checks it.
//
//   const app = uniqueApp('t')                     // application_name for the pool under test
//   await countByApp(app)                          // server connections it holds now
//   const s = sampler(app); ...; await s.stop()    // s.max: most connections seen (every ~10 ms)
//   terminateSync(app)                             // pg_terminate_backend, blocking the event loop
//   await pgCtl(['restart', '-m', 'fast'])         // as the server user, same data dir and port
//   await ensurePgRunning()                        // in finally blocks: leave the server up

const { execFileSync, execFile } = require('node:child_process')
const { existsSync } = require('node:fs')
const { join } = require('node:path')
const { randomBytes } = require('node:crypto')
const { pgCommand } = require('./servers.js')
const { pg: env } = require('./env.js')

function uniqueApp(prefix = 't') {
  return `${prefix}-${process.pid}-${randomBytes(4).toString('hex')}`
}

function psqlPath() {
  const bin = process.env.UVSQL_TEST_PG_BIN
  if (bin && existsSync(join(bin, 'psql'))) return join(bin, 'psql')
  return 'psql'
}

// Synchronous on purpose: the event loop of the test is blocked while the backends die.
function psqlSync(sqlText) {
  return execFileSync(psqlPath(), ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1', env.admin, '-c', sqlText],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PGCONNECT_TIMEOUT: '5' } })
}

function terminateSync(app) {
  const out = psqlSync(`select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity where application_name='${app}') t`)
  return Number(out.trim())
}

let client = null
let connecting = null

async function adminClient() {
  if (client !== null) return client
  if (connecting !== null) return connecting
  const { Client } = require('pg')
  const c = new Client({ connectionString: env.admin, application_name: 'uvsql-test-admin', connectionTimeoutMillis: 5000 })
  c.on('error', () => { if (client === c) client = null })
  c.on('end', () => { if (client === c) client = null })
  connecting = c.connect().then(() => { client = c; return c }).finally(() => { connecting = null })
  return connecting
}

async function adminQuery(text, params) {
  const c = await adminClient()
  try {
    return await c.query(text, params)
  } catch (err) {
    if (client === c) { client = null; c.end().catch(() => {}) }
    throw err
  }
}

async function countByApp(app) {
  const r = await adminQuery('select count(*)::int as n from pg_stat_activity where application_name = $1', [app])
  return r.rows[0].n
}

// Samples countByApp every `everyMs`; max is the largest count seen. Errors (server restarting)
// are counted, not thrown.
function sampler(app, everyMs = 10) {
  const s = { max: 0, samples: 0, errors: 0, counts: [], stopped: false }
  const done = (async () => {
    while (!s.stopped) {
      try {
        const n = await countByApp(app)
        s.samples++
        if (n > s.max) s.max = n
      } catch {
        s.errors++
      }
      await new Promise((resolve) => setTimeout(resolve, everyMs))
    }
  })()
  s.stop = async () => { s.stopped = true; await done; return s }
  return s
}

async function closeAdmin() {
  const c = client
  client = null
  if (c) await c.end().catch(() => {})
}

// pg_ctl as the server user, with -D/-l/-w from the environment (test/helpers/servers.js).
function pgCtl(args, { timeoutMs = 60000 } = {}) {
  const [cmd, argv] = pgCommand('pg_ctl', [...args, '-t', String(Math.ceil(timeoutMs / 1000))])
  return new Promise((resolve, reject) => {
    execFile(cmd, argv, { encoding: 'utf8', timeout: timeoutMs + 5000 }, (err, stdout, stderr) => {
      if (err) {
        err.message += `\n${stderr}${stdout}`
        err.stdout = stdout
        err.stderr = stderr
        return reject(err)
      }
      resolve({ stdout, stderr })
    })
  })
}

async function pgRunning() {
  try {
    await pgCtl(['status'])
    return true
  } catch (err) {
    if (err.code === 3) return false // not running
    throw err
  }
}

// Leaves the server up and accepting connections (for the suites that run after ours).
async function ensurePgRunning({ timeoutMs = 30000 } = {}) {
  if (!(await pgRunning())) await pgCtl(['start'])
  const deadline = Date.now() + timeoutMs
  for (;;) {
    try {
      await closeAdmin()
      await adminQuery('select 1')
      return
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`PostgreSQL did not come back: ${err.message}`)
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  }
}

module.exports = {
  uniqueApp, psqlSync, terminateSync, adminQuery, countByApp, sampler, closeAdmin, pgCtl, pgRunning, ensurePgRunning,
}
