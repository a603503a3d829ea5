'use strict'
// Fault suite, scenario F19 (RELIABILITY.md): idle and lifetime timers of 50 ms. Idle
// connections close (and the process/pool keep working); lifetime expiry replaces connections
// under load without failing a query; neither timer ever kills a running query (Bun #30646),
// a reserved connection, or a transaction.

const { test, after } = require('node:test')
const assert = require('node:assert')
const { performance } = require('node:perf_hooks')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')
const { uniqueApp, countByApp, sampler, closeAdmin } = require('../helpers/pg-admin.js')
const { tracker, assertNotWedged, withTimeout, describeError, sleep } = require('../helpers/wedge.js')

after(() => closeAdmin())

async function until(fn, ms, what, detail) {
  return withTimeout((async () => {
    for (;;) {
      const v = await fn()
      if (v) return v
      await sleep(10)
    }
  })(), ms, what, detail)
}

test('idleTimeout 0.05: idle connections close (live -> 0 within ~1 s, also on the server); the next query works', async (t) => {
  const app = uniqueApp('i')
  const sql = new SQL(pg.url, { max: 5, idleTimeout: 0.05, connection: { application_name: app } })
  const track = tracker()
  try {
    const first = await Promise.all(Array.from({ length: 5 }, (_, i) => track(sql`select pg_sleep(0.02), ${i}::int as x`)))
    first.forEach((o, i) => { assert.ok(o.ok, describeError(o.error)); assert.strictEqual(o.value[0].x, i) })
    const opened = sql._stats().opened
    assert.ok(opened >= 1 && sql._stats().live >= 1, 'the burst opened connections')
    const t0 = performance.now()
    await until(() => sql._stats().live === 0, 1000, 'live -> 0 after idling', () => JSON.stringify(sql._stats()))
    const closedAfter = performance.now() - t0
    await until(async () => (await countByApp(app)) === 0, 1000, 'the server connections closing')
    const s = sql._stats()
    t.diagnostic(`${opened} connections closed ${closedAfter.toFixed(0)} ms after the last query; stats ${JSON.stringify(s)}`)
    assert.ok(closedAfter >= 30, `closed ${closedAfter.toFixed(0)} ms after going idle (before idleTimeout)`)
    if ('closedIdle' in s) assert.ok(s.closedIdle >= opened, `closedIdle ${s.closedIdle} < ${opened}`)
    // The next query dials again and works.
    const rows = await withTimeout(Promise.resolve(sql`select ${42}::int as x`), 3000, 'the query after the idle close')
    assert.strictEqual(rows[0].x, 42)
    await assertNotWedged(sql, { track, healthyQuery: true })
  } finally {
    await sql.close({ timeout: 0 })
  }
})

test('idleTimeout 0.05 never kills a running query or a pipeline behind it', async () => {
  const sql = new SQL(pg.url, { max: 2, idleTimeout: 0.05 })
  const track = tracker()
  try {
    const outcomes = await withTimeout(Promise.all([
      track(sql`select pg_sleep(0.3), 1 as x`),
      track(sql`select pg_sleep(0.2), 2 as x`),
      track(sql`select 3 as x`),
    ]), 5000, 'the queries')
    outcomes.forEach((o, i) => {
      assert.ok(o.ok, `query ${i} failed: ${describeError(o.error)}`)
      assert.strictEqual(o.value[0].x, i + 1)
    })
    await assertNotWedged(sql, { track, healthyQuery: true })
  } finally {
    await sql.close({ timeout: 0 })
  }
})

test('maxLifetime 0.05 under continuous load: no query fails, connections get replaced', async (t) => {
  const MAX = 5
  const app = uniqueApp('l')
  const sql = new SQL(pg.url, { max: MAX, maxLifetime: 0.05, connection: { application_name: app } })
  const track = tracker()
  const sample = sampler(app, 10)
  try {
    const t0 = performance.now()
    let n = 0
    let bad = 0
    const workers = Array.from({ length: 10 }, async (_, w) => {
      while (performance.now() - t0 < 1000) {
        const i = n++
        const o = await track(i % 7 === 0 ? sql`select pg_sleep(0.02), ${i}::int as x` : sql`select ${i}::int as x`)
        if (!o.ok || o.value[0].x !== i) bad++
      }
    })
    await withTimeout(Promise.all(workers), 10000, 'the load', () => JSON.stringify(sql._stats()))
    await sample.stop()
    const failures = track.records.filter((r) => !r.ok)
    const s = sql._stats()
    t.diagnostic(`${n} queries in 1 s, ${failures.length} failed${failures.length ? ' (' + describeError(failures[0].error) + ')' : ''}; ` +
      `opened ${s.opened}; server max ${sample.max}; stats ${JSON.stringify(s)}`)
    assert.strictEqual(failures.length, 0, `queries failed under maxLifetime: ${failures.slice(0, 3).map((r) => describeError(r.error)).join('; ')}`)
    assert.strictEqual(bad, 0, 'a query got another query\'s value')
    assert.ok(n >= 100, `only ${n} queries in 1 s`)
    assert.ok(s.opened >= MAX + 5, `connections were not replaced: opened ${s.opened} in 1 s with maxLifetime 0.05`)
    if ('closedLifetime' in s) assert.ok(s.closedLifetime >= 5, `closedLifetime ${s.closedLifetime}`)
    await assertNotWedged(sql, { track, healthyQuery: true })
  } finally {
    await sample.stop()
    await sql.close({ timeout: 0 })
  }
})

test('maxLifetime 0.05 never kills a running query (Bun #30646)', async () => {
  const sql = new SQL(pg.url, { max: 1, maxLifetime: 0.05 })
  const track = tracker()
  try {
    const pid1 = (await sql`select pg_backend_pid() as pid`)[0].pid
    const o = await withTimeout(track(sql`select pg_sleep(0.3), pg_backend_pid() as pid`), 5000, 'the long query')
    assert.ok(o.ok, `the long query failed: ${describeError(o.error)}`)
    // Past its lifetime, the connection is replaced once idle.
    await sleep(100)
    const pid3 = (await sql`select pg_backend_pid() as pid`)[0].pid
    assert.notStrictEqual(pid3, pid1, 'the connection outlived maxLifetime')
    await assertNotWedged(sql, { track, healthyQuery: true })
  } finally {
    await sql.close({ timeout: 0 })
  }
})

test('idleTimeout and maxLifetime 0.05 never close a reserved connection or a transaction', async () => {
  const sql = new SQL(pg.url, { max: 2, idleTimeout: 0.05, maxLifetime: 0.05 })
  const track = tracker()
  try {
    assert.strictEqual(typeof sql.reserve, 'function', 'sql.reserve() is not implemented')
    assert.strictEqual(typeof sql.begin, 'function', 'sql.begin() is not implemented')
    // reserve(): idle gaps longer than idleTimeout, total longer than maxLifetime.
    const reserved = await withTimeout(Promise.resolve(sql.reserve()), 3000, 'reserve()')
    try {
      const pid = (await reserved`select pg_backend_pid() as pid`)[0].pid
      for (let i = 0; i < 3; i++) {
        await sleep(100)
        const o = await withTimeout(track(reserved`select pg_backend_pid() as pid`), 3000, 'a query on the reserved connection')
        assert.ok(o.ok, `reserved query ${i} failed: ${describeError(o.error)}`)
        assert.strictEqual(o.value[0].pid, pid, 'the reserved connection was replaced under it')
      }
    } finally {
      reserved.release()
    }
    // begin(): statements separated by gaps; the transaction's writes all commit together.
    const result = await withTimeout(Promise.resolve(sql.begin(async (tx) => {
      await tx`create temp table if not exists timer_tx(n int)`
      const pid = (await tx`select pg_backend_pid() as pid`)[0].pid
      for (let i = 0; i < 3; i++) {
        await sleep(100)
        await tx`insert into timer_tx values (${i})`
        assert.strictEqual((await tx`select pg_backend_pid() as pid`)[0].pid, pid, 'the transaction moved to another connection')
      }
      return (await tx`select count(*)::int as n, txid_current_if_assigned() is not null as intx from timer_tx`)[0]
    })), 5000, 'begin()')
    assert.deepStrictEqual({ ...result }, { n: 3, intx: true })
    await assertNotWedged(sql, { track, healthyQuery: true })
  } finally {
    await sql.close({ timeout: 0 })
  }
})
