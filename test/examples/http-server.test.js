'use strict'
// The web server examples (examples/http-server.mjs on Node, examples/bun-server.mjs on Bun)
// against the real PostgreSQL, which the test stops and starts again (pg_ctl, same data dir and
// port): before, 200 with JSON; while it is down, 503 with a JSON error, quickly; after it is back,
// 200 again from the same server process (the pool reconnected); SIGTERM closes it cleanly.

const { test, after } = require('node:test')
const assert = require('node:assert')
const { spawn } = require('node:child_process')
const path = require('node:path')
const { pg } = require('../helpers/env.js')
const { pgCtl, ensurePgRunning, closeAdmin } = require('../helpers/pg-admin.js')
const { ROOT, bun, bunSkip, userEnv } = require('../helpers/package.js')

after(async () => {
  await ensurePgRunning()
  await closeAdmin()
})

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref())

// Starts the example; resolves with { url, child, output() } once it prints its address.
function startServer(cmd, args) {
  const child = spawn(cmd, args, { cwd: ROOT, env: userEnv({ DATABASE_URL: pg.url, PORT: '0' }), stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d) => { out += d })
  child.stderr.on('data', (d) => { out += d })
  const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })))
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" line within 10 s:\n${out}`)), 10000)
    child.stdout.on('data', () => {
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) { clearTimeout(timer); resolve(m[1]) }
    })
    exited.then(({ code, signal }) => { clearTimeout(timer); reject(new Error(`the server exited (${code ?? signal}):\n${out}`)) })
  })
  return ready.then((url) => ({ url, child, exited, output: () => out }))
}

async function get(url, timeoutMs = 10000) {
  const t0 = Date.now()
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) })
  const body = await res.json()
  assert.match(res.headers.get('content-type'), /^application\/json/)
  return { status: res.status, body, ms: Date.now() - t0 }
}

async function survivesRestart(t, cmd, args) {
  const server = await startServer(cmd, args)
  try {
    const first = await get(server.url + '/')
    assert.strictEqual(first.status, 200, JSON.stringify(first.body))
    assert.strictEqual(typeof first.body.now, 'string')
    assert.strictEqual(first.body.database, pg.database)
    const series = await get(server.url + '/series?n=3')
    assert.deepStrictEqual(series.body, [{ i: 1 }, { i: 2 }, { i: 3 }])

    await pgCtl(['stop', '-m', 'fast'])
    const down = await get(server.url + '/')
    assert.strictEqual(down.status, 503, `while the database is down: ${down.status} ${JSON.stringify(down.body)}`)
    assert.strictEqual(down.body.error, 'database unavailable')
    assert.match(down.body.code, /^ERR_POSTGRES_CONNECTION_/)
    assert.ok(down.ms < 3000, `the 503 took ${down.ms} ms`)

    await pgCtl(['start'])
    const t0 = Date.now()
    const seen = []
    for (;;) {
      const r = await get(server.url + '/')
      if (r.status === 200) break
      seen.push(`${r.status} ${r.body.code}`)
      assert.strictEqual(r.status, 503, JSON.stringify(r.body))
      assert.ok(Date.now() - t0 < 15000, `no 200 within 15 s of the restart: ${seen.join(', ')}`)
      await sleep(100)
    }
    t.diagnostic(`down: 503 ${down.body.code} in ${down.ms} ms; back after ${Date.now() - t0} ms` +
      (seen.length ? ` (${seen.length} more 503s: ${[...new Set(seen)].join(', ')})` : ''))
    const later = await Promise.all(Array.from({ length: 20 }, (_, i) => get(`${server.url}/series?n=${i + 1}`)))
    assert.deepStrictEqual(later.map((r) => r.status), Array(20).fill(200))
    assert.deepStrictEqual(later.map((r) => r.body.length), Array.from({ length: 20 }, (_, i) => i + 1))
    assert.notStrictEqual((await get(server.url + '/')).body.backend, first.body.backend, 'a new server process serves it')

    server.child.kill('SIGTERM')
    const { code, signal } = await Promise.race([server.exited, sleep(10000).then(() => ({ code: 'still running' }))])
    assert.strictEqual(code, 0, `after SIGTERM: exit ${code ?? signal}\n${server.output()}`)
    assert.match(server.output(), /closed/)
    const password = decodeURIComponent(new URL(pg.url).password)
    assert.ok(password && !server.output().includes(password), 'the password appeared in the output')
  } catch (err) {
    err.message += `\n--- the server's output\n${server.output()}`
    throw err
  } finally {
    if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGKILL')
    await ensurePgRunning()
  }
}

test('examples/http-server.mjs (node:http) answers 503 while PostgreSQL is down and recovers', async (t) => {
  await survivesRestart(t, process.execPath, [path.join('examples', 'http-server.mjs')])
})

test('examples/bun-server.mjs (Bun.serve) answers 503 while PostgreSQL is down and recovers', { skip: bunSkip }, async (t) => {
  await survivesRestart(t, bun, [path.join('examples', 'bun-server.mjs')])
})
