'use strict'
// Fault suite, scenario F2 (RELIABILITY.md): the real server terminates every member of a warm
// pool while the event loop is blocked (the original Bun #30947 repro: a pooler's idle reaper,
// a network blip), then 50 queries arrive at once. Each may fail only with a connection-level
// error; the next round must fully succeed; the server never sees more than `max` connections.

const { test, after } = require('node:test')
const assert = require('node:assert')
const { performance } = require('node:perf_hooks')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')
const { uniqueApp, psqlSync, countByApp, sampler, closeAdmin } = require('../helpers/pg-admin.js')
const {
  tracker, assertNotWedged, assertConnectionLevel, assertStatsConsistent, quiesce, withTimeout, describeError,
} = require('../helpers/wedge.js')

const ROUNDS = Number(process.env.UVSQL_FAULT_TERMINATE_ROUNDS || 100)
const MAX = 10
const BURST = 50

after(() => closeAdmin())

// Terminates every backend of `app` and waits (in the same blocking psql run) until they are
// gone from pg_stat_activity, so the server-side count never includes dying backends.
function terminateAllSync(app) {
  const out = psqlSync(
    `select count(*) from (select pg_terminate_backend(pid) from pg_stat_activity where application_name='${app}') t;` +
    ` do $$ begin for i in 1..400 loop perform pg_stat_clear_snapshot();` +
    ` exit when not exists (select 1 from pg_stat_activity where application_name='${app}'); perform pg_sleep(0.005); end loop; end $$;`)
  return Number(out.trim().split('\n')[0])
}

test(`pg_terminate_backend on every pool member while the loop is blocked, then ${BURST} queries; ${ROUNDS} rounds`, async (t) => {
  const app = uniqueApp('t')
  const sql = new SQL(pg.url, { max: MAX, connection: { application_name: app } })
  const track = tracker()
  const sample = sampler(app, 10)
  const t0 = performance.now()
  let killed = 0
  let failed = 0
  let warmTotal = 0
  const codes = new Map()
  try {
    for (let r = 0; r < ROUNDS; r++) {
      // Warm: a burst of short sleeps; a pool with no live connection dials one per query.
      const warm = await withTimeout(Promise.all(Array.from({ length: MAX }, () => track(sql`select pg_sleep(0.01)`))), 10000, `round ${r} warm-up`)
      for (const o of warm) {
        if (!o.ok) assertConnectionLevel(o.error, undefined, `round ${r} warm-up: `) // a leftover dead connection
      }
      warmTotal += sql._stats().live
      // Block the loop, kill every backend of the pool, then fire the burst right away.
      const n = terminateAllSync(app)
      assert.ok(n >= 1, `round ${r}: no backend to terminate (the pool held no connection)`)
      killed += n
      const burst = await withTimeout(
        Promise.all(Array.from({ length: BURST }, (_, i) => track(sql`select ${r * 1000 + i}::int as x`))),
        10000, `round ${r}: the burst after the kill`)
      burst.forEach((o, i) => {
        if (o.ok) {
          assert.strictEqual(o.value[0].x, r * 1000 + i, `round ${r}: query ${i} got another query's value`)
          return
        }
        failed++
        const k = o.error.errno ? `${o.error.code}/${o.error.errno}` : o.error.code
        codes.set(k, (codes.get(k) || 0) + 1)
        assertConnectionLevel(o.error, undefined, `round ${r} query ${i}: `)
      })
      // The next round fully succeeds.
      const next = await withTimeout(
        Promise.all(Array.from({ length: BURST }, (_, i) => track(sql`select ${-i}::int as x`))), 10000, `round ${r}: the round after`)
      next.forEach((o, i) => {
        assert.ok(o.ok, `round ${r}: query ${i} after recovery failed: ${describeError(o.error)}`)
        assert.strictEqual(o.value[0].x, -i || 0)
      })
      await quiesce(sql)
      assertStatsConsistent(sql)
      assert.ok(sample.max <= MAX, `round ${r}: the server saw ${sample.max} connections of this pool (max ${MAX})`)
    }
    await sample.stop()
    const s = sql._stats()
    t.diagnostic(`${ROUNDS} rounds in ${(performance.now() - t0).toFixed(0)} ms; backends killed ${killed} ` +
      `(avg warm pool ${(warmTotal / ROUNDS).toFixed(1)}); burst failures ${failed} of ${ROUNDS * BURST} ` +
      `(${(failed / Math.max(killed, 1)).toFixed(2)} per killed connection) ${JSON.stringify(Object.fromEntries(codes))}; ` +
      `server max ${sample.max} over ${sample.samples} samples; stats ${JSON.stringify(s)}`)
    assert.ok(sample.samples > ROUNDS, `too few pg_stat_activity samples (${sample.samples}) to trust the bound`)
    assert.ok(sample.max <= MAX, `the server saw ${sample.max} connections (max ${MAX})`)
    await assertNotWedged(sql, { track, healthyQuery: true })
    // After close() the server side is empty too.
    const deadline = Date.now() + 2000
    let left = await countByApp(app)
    while (left > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20))
      left = await countByApp(app)
    }
    assert.strictEqual(left, 0, 'server connections left after close()')
  } finally {
    await sample.stop()
    await sql.close({ timeout: 0 })
  }
})
