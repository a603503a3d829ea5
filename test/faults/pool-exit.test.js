'use strict'
// Fault suite, scenario F16 (RELIABILITY.md): process exit, in child processes. An idle pool
// lets the process exit by itself; a busy one keeps it alive until its query finished;
// process.exit() and an uncaught throw mid-query exit cleanly (no native crash or abort), and
// the server drops the child's connection.

const { test, after } = require('node:test')
const assert = require('node:assert')
const { spawn } = require('node:child_process')
const path = require('node:path')
const { performance } = require('node:perf_hooks')
const { pg } = require('../helpers/env.js')
const { uniqueApp, countByApp, closeAdmin } = require('../helpers/pg-admin.js')

const ROOT = path.join(__dirname, '..', '..')
const CRASH = /Segmentation fault|Assertion .* failed|FATAL ERROR|Aborted|core dumped|napi_|double free|free\(\)|AddressSanitizer|UndefinedBehaviorSanitizer|internal error/i

after(() => closeAdmin())

// Runs `node -e script` with the pool URL in UVSQL_URL; resolves { code, signal, stdout, stderr, ms }.
function runChild(script, { app, killAfterMs = 15000 } = {}) {
  return new Promise((resolve) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, ['-e', script], {
      cwd: ROOT,
      env: { ...process.env, UVSQL_ROOT: ROOT, UVSQL_URL: pg.url, UVSQL_APP: app || '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
    const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs)
    child.on('close', (code, signal) => {
      clearTimeout(killer)
      resolve({ code, signal, stdout, stderr, ms: performance.now() - t0 })
    })
  })
}

const PRELUDE = `
const { SQL } = require(process.env.UVSQL_ROOT)
// client_connection_check_interval: a backend busy in pg_sleep notices a vanished client.
const sql = new SQL(process.env.UVSQL_URL, { max: 4, connection: { application_name: process.env.UVSQL_APP, client_connection_check_interval: '100ms' } })
const t0 = Date.now()
const mark = (what) => process.stdout.write(what + ' ' + (Date.now() - t0) + '\\n')
`

function marks(stdout) {
  const out = {}
  for (const line of stdout.split('\n')) {
    const m = /^(\w+) (\d+)$/.exec(line.trim())
    if (m) out[m[1]] = Number(m[2])
  }
  return out
}

function assertNoCrash(r, what) {
  assert.strictEqual(r.signal, null, `${what}: killed by ${r.signal}\n${r.stderr}`)
  assert.doesNotMatch(r.stderr, CRASH, `${what}: native crash or internal error:\n${r.stderr}`)
}

async function serverDropsApp(app, ms = 3000) {
  const deadline = Date.now() + ms
  let n = await countByApp(app)
  while (n > 0 && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 25))
    n = await countByApp(app)
  }
  return n
}

test('an idle pool lets the process exit by itself with code 0 within ~2 s', async (t) => {
  const app = uniqueApp('e1')
  const r = await runChild(PRELUDE + `
Promise.all([1, 2, 3, 4].map((i) => sql\`select pg_sleep(0.05), \${i}::int as x\`)).then((rows) => {
  mark('done')
  process.on('exit', () => mark('exit'))
})
`, { app })
  assertNoCrash(r, 'idle exit')
  const m = marks(r.stdout)
  t.diagnostic(`exit code ${r.code}; query done at ${m.done} ms, exit at ${m.exit} ms; child ran ${r.ms.toFixed(0)} ms`)
  assert.strictEqual(r.code, 0, `exit code ${r.code} ${r.signal || ''}\n${r.stderr}`)
  assert.ok(m.done !== undefined, `the query never finished:\n${r.stdout}\n${r.stderr}`)
  assert.ok(m.exit !== undefined, 'no exit event (killed?)')
  assert.ok(m.exit - m.done < 2000, `the idle pool kept the process alive ${m.exit - m.done} ms after its last query`)
  assert.strictEqual(await serverDropsApp(app), 0, "the server still holds the exited child's connections")
})

test('a busy pool keeps the process alive until its query finished', async (t) => {
  const app = uniqueApp('e2')
  const r = await runChild(PRELUDE + `
// Nothing else keeps the loop alive: only the query in flight.
sql\`select pg_sleep(1) as slept, 7 as x\`.then((rows) => { mark('done'); if (rows[0].x !== 7) process.exitCode = 3 },
  (err) => { mark('failed'); console.error(err); process.exitCode = 4 })
process.on('exit', () => mark('exit'))
`, { app })
  assertNoCrash(r, 'busy exit')
  const m = marks(r.stdout)
  t.diagnostic(`exit code ${r.code}; done at ${m.done} ms, exit at ${m.exit} ms`)
  assert.strictEqual(r.code, 0, `exit code ${r.code}\n${r.stdout}\n${r.stderr}`)
  assert.ok(m.done !== undefined, `the process exited before its query finished:\n${r.stdout}\n${r.stderr}`)
  assert.ok(m.done >= 950, `the query "finished" after ${m.done} ms (pg_sleep(1))`)
  assert.ok(m.exit - m.done < 2000, `exit ${m.exit - m.done} ms after the query`)
  assert.strictEqual(await serverDropsApp(app), 0, "the server still holds the exited child's connection")
})

test('process.exit(7) mid-query exits with 7, no crash, and the server drops the connection', async (t) => {
  const app = uniqueApp('e3')
  const r = await runChild(PRELUDE + `
sql\`select pg_sleep(5)\`.then(() => mark('done'), () => mark('failed'))
sql\`select pg_sleep(5)\`.then(() => mark('done2'), () => mark('failed2'))
setTimeout(() => { mark('exiting'); process.exit(7) }, 300)
`, { app })
  assertNoCrash(r, 'process.exit mid-query')
  const m = marks(r.stdout)
  t.diagnostic(`exit code ${r.code} after ${r.ms.toFixed(0)} ms; ${r.stderr.trim() || 'no stderr'}`)
  assert.strictEqual(r.code, 7, `exit code ${r.code}\n${r.stderr}`)
  assert.ok(m.exiting !== undefined && m.done === undefined, r.stdout)
  assert.ok(r.ms < 3000, `process.exit took until ${r.ms.toFixed(0)} ms`)
  assert.strictEqual(await serverDropsApp(app), 0, "the server still holds the exited child's connections")
})

test('an uncaught throw mid-query exits with 1 and no native crash', async (t) => {
  const app = uniqueApp('e4')
  const r = await runChild(PRELUDE + `
sql\`select pg_sleep(5)\`.then(() => mark('done'), () => mark('failed'))
setTimeout(() => { throw new Error('boom-from-test') }, 300)
`, { app })
  assertNoCrash(r, 'uncaught throw mid-query')
  t.diagnostic(`exit code ${r.code} after ${r.ms.toFixed(0)} ms`)
  assert.strictEqual(r.code, 1, `exit code ${r.code}\n${r.stderr}`)
  assert.match(r.stderr, /boom-from-test/)
  assert.ok(r.ms < 3000, `exited after ${r.ms.toFixed(0)} ms`)
  assert.strictEqual(await serverDropsApp(app), 0, "the server still holds the exited child's connection")
})

test('a rejected query with no other work lets the process exit (refused server, pool idle after)', async (t) => {
  const r = await runChild(`
const { SQL } = require(process.env.UVSQL_ROOT)
const net = require('node:net')
const s = net.createServer().listen(0, '127.0.0.1', () => {
  const port = s.address().port
  s.close(() => {
    const sql = new SQL('postgres://x@127.0.0.1:' + port + '/x', { max: 2 })
    sql\`select 1\`.then(() => console.log('ok'), (e) => console.log('rejected ' + e.code))
  })
})
`)
  assertNoCrash(r, 'refused then exit')
  t.diagnostic(`exit code ${r.code} after ${r.ms.toFixed(0)} ms; ${r.stdout.trim()}`)
  assert.strictEqual(r.code, 0, `exit code ${r.code}\n${r.stderr}`)
  assert.match(r.stdout, /rejected ERR_POSTGRES_CONNECTION_REFUSED/)
  assert.ok(r.ms < 3000, `the process lingered ${r.ms.toFixed(0)} ms`)
})
