'use strict'
// Fault suite, scenarios F17/F18 (RELIABILITY.md): pool exhaustion with max 2, and 10,000
// concurrent queries on max 10: every result is its own, and the server never sees more than
// `max` connections of the pool (Bun #23215).

const { test, after } = require('node:test')
const assert = require('node:assert')
const { performance } = require('node:perf_hooks')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')
const { uniqueApp, sampler, countByApp, closeAdmin } = require('../helpers/pg-admin.js')
const { tracker, assertNotWedged, withTimeout, describeError } = require('../helpers/wedge.js')

after(() => closeAdmin())

test('max 2 with two long pg_sleep queries: a third waits and completes after them', async (t) => {
  const app = uniqueApp('x')
  const sql = new SQL(pg.url, { max: 2, connection: { application_name: app } })
  const track = tracker()
  const sample = sampler(app, 10)
  try {
    const t0 = performance.now()
    const a = track(sql`select pg_sleep(0.5), 'a' as who`)
    const b = track(sql`select pg_sleep(0.5), 'b' as who`)
    await withTimeout((async () => { while (sql._stats() === null || sql._stats().busy < 1) await new Promise((resolve) => setTimeout(resolve, 5)) })(),
      3000, 'the long queries starting', () => JSON.stringify(sql._stats()))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const c = track(sql`select 'c' as who`)
    await new Promise((resolve) => setTimeout(resolve, 50))
    const rec = track.records[track.records.length - 1]
    assert.strictEqual(rec.settled, false, 'the third query completed while the long ones held the pool')
    const [ra, rb, rc] = await withTimeout(Promise.all([a, b, c]), 5000, 'the three queries', () => JSON.stringify(sql._stats()))
    for (const o of [ra, rb, rc]) assert.ok(o.ok, describeError(o.error))
    assert.deepStrictEqual([ra.value[0].who, rb.value[0].who, rc.value[0].who], ['a', 'b', 'c'])
    const end = (o) => o.t0 + o.ms - t0
    await sample.stop()
    t.diagnostic(`a ${end(ra).toFixed(0)} ms, b ${end(rb).toFixed(0)} ms, c ${end(rc).toFixed(0)} ms; server max ${sample.max}; stats ${JSON.stringify(sql._stats())}`)
    assert.ok(end(rc) >= 450, `the third finished at ${end(rc).toFixed(0)} ms, before a connection was free`)
    assert.ok(end(rc) < 1500, `the third finished at ${end(rc).toFixed(0)} ms`)
    assert.ok(sample.samples >= 3, `only ${sample.samples} samples`)
    assert.ok(sample.max <= 2, `the server saw ${sample.max} connections (max 2)`)
    await assertNotWedged(sql, { track, healthyQuery: true })
  } finally {
    await sample.stop()
    await sql.close({ timeout: 0 })
  }
})

test('max 2: two long queries run side by side on two connections, not queued behind each other', async (t) => {
  // Started together and started one after the other (the second once the first runs): with a
  // free slot, a query must not be pipelined behind a long-running one.
  for (const staggered of [false, true]) {
    const app = uniqueApp('y')
    const sql = new SQL(pg.url, { max: 2, connection: { application_name: app } })
    const track = tracker()
    try {
      const t0 = performance.now()
      const a = track(sql`select pg_sleep(0.5)`)
      if (staggered) {
        await withTimeout((async () => { while ((await countByApp(app)) < 1) await new Promise((resolve) => setTimeout(resolve, 5)) })(), 3000, 'the first query starting')
      }
      const b = track(sql`select pg_sleep(0.5)`)
      const [ra, rb] = await withTimeout(Promise.all([a, b]), 5000, 'the two queries')
      assert.ok(ra.ok && rb.ok, `${describeError(ra.error)} ${describeError(rb.error)}`)
      const total = Math.max(ra.t0 + ra.ms, rb.t0 + rb.ms) - t0
      t.diagnostic(`${staggered ? 'staggered' : 'together'}: both done after ${total.toFixed(0)} ms; stats ${JSON.stringify(sql._stats())}`)
      assert.ok(total < 900, `${staggered ? 'staggered' : 'together'}: the two 0.5 s queries took ${total.toFixed(0)} ms (one waited behind the other)`)
      await assertNotWedged(sql, { track, healthyQuery: true })
    } finally {
      await sql.close({ timeout: 0 })
    }
  }
})

test('10,000 concurrent queries on max 10: each result its own value, never more than 10 server connections', async (t) => {
  const N = 10000
  const MAX = 10
  const app = uniqueApp('k')
  const sql = new SQL(pg.url, { max: MAX, connection: { application_name: app } })
  const track = tracker()
  const sample = sampler(app, 10)
  try {
    // Start with connections on the server so the sampler has something to see.
    await Promise.all(Array.from({ length: MAX }, () => sql`select pg_sleep(0.02)`))
    let maxLocal = 0
    const t0 = performance.now()
    const all = []
    for (let i = 0; i < N; i++) all.push(track(sql`select ${i}::int as x`))
    const poll = setInterval(() => { const s = sql._stats(); if (s.live > maxLocal) maxLocal = s.live }, 5)
    const outcomes = await withTimeout(Promise.all(all), 30000, `${N} queries`, () => JSON.stringify(sql._stats()))
    clearInterval(poll)
    const ms = performance.now() - t0
    outcomes.forEach((o, i) => {
      assert.ok(o.ok, `query ${i}: ${describeError(o.error)}`)
      assert.strictEqual(o.value.length, 1)
      assert.strictEqual(o.value[0].x, i, `query ${i} got another query's value`)
    })
    await sample.stop()
    const lat = outcomes.map((o) => o.ms).sort((x, y) => x - y)
    t.diagnostic(`${N} queries in ${ms.toFixed(0)} ms; p50 ${lat[N >> 1].toFixed(0)} ms, p99 ${lat[Math.floor(N * 0.99)].toFixed(0)} ms; ` +
      `server max ${sample.max} over ${sample.samples} samples, pool live max ${maxLocal}; stats ${JSON.stringify(sql._stats())}`)
    assert.ok(sample.samples >= 3, `only ${sample.samples} pg_stat_activity samples`)
    assert.ok(sample.max <= MAX, `the server saw ${sample.max} connections (max ${MAX})`)
    assert.ok(maxLocal <= MAX, `the pool held ${maxLocal} live connections (max ${MAX})`)
    await assertNotWedged(sql, { track, healthyQuery: true })
  } finally {
    await sample.stop()
    await sql.close({ timeout: 0 })
  }
})
