'use strict'
// Fault suite, scenario F4 (RELIABILITY.md): nothing listens (refused), or something listens
// and never answers (silent), or answers too slowly to ever finish the handshake (drip). The
// connect timeout is an absolute deadline (Bun #36308), and waiting for it costs no CPU.

const { test } = require('node:test')
const assert = require('node:assert')
const net = require('node:net')
const { performance } = require('node:perf_hooks')
const { SQL } = require('../..')
const { fakePg } = require('../helpers/fake-pg.js')
const f = require('../helpers/frames.js')
const { tracker, assertNotWedged, assertCleanError, withTimeout, describeError } = require('../helpers/wedge.js')

// A port nobody listens on (bound, then released).
async function closedPort() {
  const s = net.createServer()
  await new Promise((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address()
  await new Promise((resolve) => s.close(resolve))
  return port
}

// Awaits q and returns { error, ms, cpuMs } (CPU of this whole process while waiting).
async function timed(q, deadlineMs) {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  const error = await withTimeout(Promise.resolve(q).then(() => null, (e) => e), deadlineMs, 'the query')
  const ms = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  return { error, ms, cpuMs: (cpu.user + cpu.system) / 1000 }
}

test('connection refused rejects quickly with ERR_POSTGRES_CONNECTION_REFUSED (not retried until connectionTimeout)', async (t) => {
  const port = await closedPort()
  // Default connectionTimeout (30 s): a refused dial must not be retried blindly until then.
  const sql = new SQL(`postgres://nobody@127.0.0.1:${port}/x`, { max: 3 })
  const track = tracker()
  try {
    const one = await timed(track(sql`select 1`).then((o) => { if (o.ok) return o.value; throw o.error }), 5000)
    assert.ok(one.error, 'a query against a closed port succeeded')
    assertCleanError(one.error)
    assert.strictEqual(one.error.code, 'ERR_POSTGRES_CONNECTION_REFUSED', describeError(one.error))
    assert.ok(one.ms < 1000, `refused after ${one.ms.toFixed(0)} ms`)
    // A burst: every query refused, quickly, and the pool does not hammer the port.
    const t0 = performance.now()
    const burst = await withTimeout(Promise.all(Array.from({ length: 20 }, () => track(sql`select 1`))), 5000, 'the burst', () => JSON.stringify(sql._stats()))
    for (const o of burst) {
      assert.strictEqual(o.ok, false)
      assert.strictEqual(o.error.code, 'ERR_POSTGRES_CONNECTION_REFUSED', describeError(o.error))
    }
    const ms = performance.now() - t0
    assert.ok(ms < 1000, `the burst was refused after ${ms.toFixed(0)} ms`)
    const s = sql._stats()
    t.diagnostic(`single refusal ${one.ms.toFixed(1)} ms; burst of 20 in ${ms.toFixed(1)} ms; stats ${JSON.stringify(s)}`)
    assert.ok(s.opened <= 1 + 20, `${s.opened} dials for 21 queries`)
    await assertNotWedged(sql, { track })
  } finally {
    await sql.close({ timeout: 0 })
  }
})

test('listening but silent: connectionTimeout 0.5 rejects in 0.5 s +- 0.3 with CONNECTION_TIMEOUT, no busy wait', async (t) => {
  const sockets = []
  const server = net.createServer((s) => { sockets.push(s); s.on('error', () => {}) }) // accepts, never writes
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const sql = new SQL(`postgres://nobody@127.0.0.1:${server.address().port}/x`, { max: 2, connectionTimeout: 0.5 })
  const track = tracker()
  try {
    const r = await timed(track(sql`select 1`).then((o) => { if (o.ok) return o.value; throw o.error }), 5000)
    assert.ok(r.error, 'a query against a silent server succeeded')
    assertCleanError(r.error)
    assert.strictEqual(r.error.code, 'ERR_POSTGRES_CONNECTION_TIMEOUT', describeError(r.error))
    t.diagnostic(`rejected after ${r.ms.toFixed(0)} ms using ${r.cpuMs.toFixed(1)} ms CPU; ${sockets.length} dials; stats ${JSON.stringify(sql._stats())}`)
    assert.ok(r.ms >= 200 && r.ms <= 800, `rejected after ${r.ms.toFixed(0)} ms`)
    assert.ok(r.cpuMs < 100, `waiting used ${r.cpuMs.toFixed(1)} ms of CPU (busy loop)`)
    assert.ok(sockets.length >= 1 && sockets.length <= 5, `${sockets.length} dials during 0.5 s`)
    await assertNotWedged(sql, { track })
  } finally {
    await sql.close({ timeout: 0 })
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
})

// The loop's clock is when the current turn began: a dial started late in a long turn (a query
// awaited after 250 ms of synchronous work) must still get its whole connectionTimeout.
test('listening but silent, the dial started late in a long JS turn: connectionTimeout still counts from the dial', async () => {
  const sockets = []
  const server = net.createServer((s) => { sockets.push(s); s.on('error', () => {}) }) // accepts, never writes
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const sql = new SQL(`postgres://nobody@127.0.0.1:${server.address().port}/x`, { max: 1, connectionTimeout: 0.4 })
  try {
    await new Promise((resolve) => setTimeout(resolve, 5)) // a new loop turn
    const busyUntil = performance.now() + 250
    while (performance.now() < busyUntil) { /* a long synchronous turn */ }
    const t0 = performance.now()
    const err = await sql`select 1`.then(() => null, (e) => e)
    const ms = performance.now() - t0
    assert.strictEqual(err && err.code, 'ERR_POSTGRES_CONNECTION_TIMEOUT', describeError(err))
    assert.ok(ms >= 400 * 0.8, `CONNECTION_TIMEOUT after ${ms.toFixed(0)} ms, before connectionTimeout (400 ms)`)
  } finally {
    await sql.close({ timeout: 0 })
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
})

test('a server that drips the startup (one message every 100 ms, never ReadyForQuery): the deadline is absolute', async (t) => {
  const server = await fakePg(async (c) => {
    await c.startup()
    c.send(f.authOk())
    for (let i = 0; i < 100 && !c.closed; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      c.send(f.parameterStatus(`p${i}`, 'x'))
    }
  })
  const sql = new SQL(server.url, { max: 1, connectionTimeout: 0.5 })
  const track = tracker()
  try {
    const r = await timed(track(sql`select 1`).then((o) => { if (o.ok) return o.value; throw o.error }), 5000)
    assert.ok(r.error, 'a query succeeded without ReadyForQuery')
    assertCleanError(r.error)
    assert.strictEqual(r.error.code, 'ERR_POSTGRES_CONNECTION_TIMEOUT', describeError(r.error))
    t.diagnostic(`rejected after ${r.ms.toFixed(0)} ms; ${server.connections.length} dials`)
    assert.ok(r.ms >= 200 && r.ms <= 800, `rejected after ${r.ms.toFixed(0)} ms (a deadline reset by each message would never fire)`)
    await assertNotWedged(sql, { track })
  } finally {
    await sql.close({ timeout: 0 })
    await server.close()
  }
})
