'use strict'
// Fault suite, scenario F3 (RELIABILITY.md): the real server restarts (`pg_ctl restart -m fast`
// and `-m immediate`) with queries in flight, and goes down for ~2 s behind a counting proxy.
// Queries in flight fail with connection errors; the pool recovers soon after the server is
// back; while it is down the pool does not storm it with dials.
//
// The server is the one every later suite uses: each test leaves it running (finally blocks),
// on the same port and socket (pg_ctl keeps the configuration).

const { test, after } = require('node:test')
const assert = require('node:assert')
const { performance } = require('node:perf_hooks')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')
const { uniqueApp, adminQuery, pgCtl, ensurePgRunning, closeAdmin } = require('../helpers/pg-admin.js')
const { tcpProxy } = require('../helpers/tcp-proxy.js')
const { tracker, assertNotWedged, assertConnectionLevel, withTimeout, describeError, sleep } = require('../helpers/wedge.js')

const MAX = 10
// Errors a query may get while the server restarts: shutdown notices and closed connections,
// "the database system is starting up/shutting down" (57P03), refused dials.
const RESTART_ERRORS = {
  codes: ['ERR_POSTGRES_CONNECTION_CLOSED', 'ERR_POSTGRES_CONNECTION_REFUSED', 'ERR_POSTGRES_CONNECTION_TIMEOUT'],
  errnos: ['57P01', '57P02', '57P03'],
}

after(async () => {
  await ensurePgRunning()
  await closeAdmin()
})

async function activeSleeps(app) {
  const r = await adminQuery(
    "select count(*)::int as n from pg_stat_activity where application_name = $1 and state = 'active' and query like '%pg_sleep(5)%'", [app])
  return r.rows[0].n
}

// Runs `select 1` until it succeeds; returns { ms, attempts, errors }.
async function recover(sql, deadlineMs) {
  const t0 = performance.now()
  const errors = []
  for (let attempts = 1; ; attempts++) {
    const left = deadlineMs - (performance.now() - t0)
    assert.ok(left > 0, `no successful query within ${deadlineMs} ms after the restart; errors: ${errors.map(describeError).join('; ')}`)
    try {
      const rows = await withTimeout(Promise.resolve(sql`select ${attempts}::int as x`), left, 'a recovery query')
      assert.strictEqual(rows[0].x, attempts)
      return { ms: performance.now() - t0, attempts, errors }
    } catch (err) {
      if (/wedged/.test(err.message)) throw err
      assertConnectionLevel(err, RESTART_ERRORS, 'recovery: ')
      errors.push(err)
      await sleep(50)
    }
  }
}

for (const mode of ['fast', 'immediate']) {
  test(`pg_ctl restart -m ${mode} with ${MAX} queries in flight`, async (t) => {
    const app = uniqueApp(`r${mode[0]}`)
    const sql = new SQL(pg.url, { max: MAX, connection: { application_name: app }, connectionTimeout: 10 })
    const track = tracker()
    try {
      // Warm every slot, then put a long query on each connection.
      const warm = await Promise.all(Array.from({ length: MAX }, () => track(sql`select pg_sleep(0.01)`)))
      assert.ok(warm.every((o) => o.ok), 'warm-up: ' + warm.filter((o) => !o.ok).map((o) => describeError(o.error)).join('; '))
      const live = sql._stats().live
      const inflight = Array.from({ length: MAX }, () => track(sql`select pg_sleep(5)`))
      await withTimeout((async () => { while ((await activeSleeps(app)) < Math.min(live, MAX)) await sleep(10) })(), 3000, 'the long queries starting')

      const t0 = performance.now()
      await pgCtl(['restart', '-m', mode])
      const restartMs = performance.now() - t0
      const outcomes = await withTimeout(Promise.all(inflight), 10000, 'the queries in flight')
      for (const o of outcomes) {
        assert.strictEqual(o.ok, false, 'a query survived the restart of its server')
        assertConnectionLevel(o.error, { codes: ['ERR_POSTGRES_CONNECTION_CLOSED'], errnos: ['57P01', '57P02'] }, 'in flight: ')
        assert.ok(o.ms < 4500, `a query in flight took ${o.ms.toFixed(0)} ms to fail (it would have finished by then)`)
      }
      const codes = [...new Set(outcomes.map((o) => `${o.error.code}${o.error.errno ? '/' + o.error.errno : ''}`))]
      const rec = await recover(sql, 5000)
      t.diagnostic(`restart took ${restartMs.toFixed(0)} ms (${live} connections warm); in-flight errors ${codes.join(', ')}; ` +
        `first good query ${rec.ms.toFixed(0)} ms after pg_ctl returned, on attempt ${rec.attempts}` +
        `${rec.errors.length ? ' (before: ' + [...new Set(rec.errors.map((e) => e.errno || e.code))].join(', ') + ')' : ''}; ` +
        `stats ${JSON.stringify(sql._stats())}`)
      assert.ok(rec.ms < 3000, `recovery took ${rec.ms.toFixed(0)} ms`)
      // Every slot works again: a burst succeeds with each its own value.
      const burst = await withTimeout(Promise.all(Array.from({ length: 50 }, (_, i) => track(sql`select ${i}::int as x`))), 5000, 'the burst after recovery')
      burst.forEach((o, i) => {
        assert.ok(o.ok, `query ${i} after recovery: ${describeError(o.error)}`)
        assert.strictEqual(o.value[0].x, i)
      })
      // Tracked errors: only the restart's.
      for (const e of track.errors()) assertConnectionLevel(e, RESTART_ERRORS)
      await assertNotWedged(sql, { track, healthyQuery: true })
    } finally {
      await ensurePgRunning()
      await sql.close({ timeout: 0 })
    }
  })
}

test('server down for ~2 s behind a counting proxy: no dial storm, recovery soon after', async (t) => {
  const DOWN_MS = 2000
  const STORM = 20
  const app = uniqueApp('down')
  const proxy = await tcpProxy({ host: pg.host, port: pg.port })
  const url = new URL(pg.url)
  url.port = String(proxy.port)
  const CONNECT_TIMEOUT_S = 5
  const sql = new SQL(url.toString(), { max: MAX, connection: { application_name: app }, connectionTimeout: CONNECT_TIMEOUT_S })
  const track = tracker()
  try {
    const warm = await Promise.all(Array.from({ length: MAX }, () => track(sql`select pg_sleep(0.01)`)))
    assert.ok(warm.every((o) => o.ok), 'warm-up through the proxy: ' + warm.filter((o) => !o.ok).map((o) => describeError(o.error)).join('; '))
    const warmAccepts = proxy.accepts

    await pgCtl(['stop', '-m', 'fast'])
    const tDown = performance.now()
    // While it is down: a burst at once, then one query every 200 ms.
    const during = Array.from({ length: 20 }, (_, i) => track(sql`select ${i}::int as x`))
    while (performance.now() - tDown < DOWN_MS) {
      during.push(track(sql`select ${during.length}::int as x`))
      await sleep(200)
    }
    const tUp = performance.now()
    const downAccepts = proxy.acceptsBetween(tDown, tUp)
    await pgCtl(['start'])
    const tStarted = performance.now()

    const outcomes = await withTimeout(Promise.all(during), CONNECT_TIMEOUT_S * 1000 + 5000, 'the queries made while the server was down')
    let ok = 0
    outcomes.forEach((o, i) => {
      if (o.ok) {
        ok++
        assert.strictEqual(o.value[0].x, i)
      } else {
        assertConnectionLevel(o.error, RESTART_ERRORS, `query ${i} during the downtime: `)
      }
    })
    const rec = await recover(sql, 5000)
    const firstOk = outcomes.filter((o) => o.ok).map((o) => o.t0 + o.ms)
    const firstOkAfterStart = firstOk.length ? Math.min(...firstOk) - tStarted : null
    const codes = [...new Set(outcomes.filter((o) => !o.ok).map((o) => o.error.errno || o.error.code))]
    t.diagnostic(`down ${(tUp - tDown).toFixed(0)} ms: ${downAccepts} dials reached the proxy (warm-up took ${warmAccepts}); ` +
      `${ok}/${outcomes.length} queries made during the downtime succeeded after it` +
      `${firstOkAfterStart !== null ? ` (first ${firstOkAfterStart.toFixed(0)} ms after pg_ctl start returned)` : ''}, the rest failed with ${codes.join(', ') || '-'}; ` +
      `recovery query ${rec.ms.toFixed(0)} ms / attempt ${rec.attempts}; total dials ${proxy.accepts}; stats ${JSON.stringify(sql._stats())}`)
    assert.ok(downAccepts <= STORM, `${downAccepts} dials in ${(tUp - tDown).toFixed(0)} ms of downtime (reconnect storm; at most ${STORM})`)
    assert.ok(downAccepts >= 1, 'the pool never tried while the server was down')
    assert.ok(rec.ms < 3000, `recovery took ${rec.ms.toFixed(0)} ms`)
    await assertNotWedged(sql, { track, healthyQuery: true })
  } finally {
    await ensurePgRunning()
    await sql.close({ timeout: 0 })
    await proxy.close()
  }
})
