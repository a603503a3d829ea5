'use strict'
// Fault scenario F2 on MySQL (RELIABILITY.md F9-F11): MariaDB kills every member of a warm pool
// (KILL CONNECTION) while the event loop is blocked, then 50 queries arrive at once. Each may
// fail only with a connection-level error; the next round must fully succeed; the server never
// sees more than `max` connections of the pool; close() leaves nothing behind.

const { test } = require('node:test')
const assert = require('node:assert')
const { performance } = require('node:perf_hooks')
const { SQL } = require('../..')
const { mysql } = require('../helpers/env.js')
const { killUserSync, countUserSync, mysqlSync } = require('../helpers/my-admin.js')
const {
  tracker, assertNotWedged, assertConnectionLevel, assertStatsConsistent, quiesce, withTimeout, describeError,
} = require('../helpers/wedge.js')

const ROUNDS = Number(process.env.UVSQL_FAULT_KILL_ROUNDS || 30)
const MAX = 10
const BURST = 50
const USER = 'uvsql_kill'

// A user of its own, so the kills and counts see only this pool.
function createUser() {
  mysqlSync(`CREATE USER IF NOT EXISTS '${USER}'@'%' IDENTIFIED BY 'kill_secret'; GRANT ALL ON ${mysql.database}.* TO '${USER}'@'%';`)
}

// A killed query fails with 'connection closed' (the socket died under it) or with the server's
// 1927 "Connection was killed" / 2013-style reasons; a query sent into a dying connection may
// also see 1053 "Server shutdown in progress" on some versions.
const CONNECTION_LEVEL = { codes: ['ERR_MYSQL_CONNECTION_CLOSED'], errnos: [] }
const isKilled = (e) => e && (e.code === 'ERR_MYSQL_CONNECTION_CLOSED' || [1927, 1053, 1317].includes(e.errno))

test(`KILL CONNECTION on every pool member while the loop is blocked, then ${BURST} queries; ${ROUNDS} rounds`, async (t) => {
  createUser()
  const url = mysql.url.replace('uvsql:uvsql_secret', `${USER}:kill_secret`)
  const sql = new SQL(url, { max: MAX })
  const track = tracker()
  const t0 = performance.now()
  let killed = 0
  let failed = 0
  let serverMax = 0
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const warm = await withTimeout(Promise.all(Array.from({ length: MAX }, () => track(sql`select sleep(0.01)`))), 10000, `round ${r} warm-up`)
      for (const o of warm) if (!o.ok) assert.ok(isKilled(o.error), `round ${r} warm-up: ${describeError(o.error)}`)
      serverMax = Math.max(serverMax, countUserSync(USER))
      const n = killUserSync(USER) // blocks the loop until the server lists none of them
      assert.ok(n >= 1, `round ${r}: nothing to kill`)
      killed += n
      const burst = await withTimeout(
        Promise.all(Array.from({ length: BURST }, (_, i) => track(sql`select ${r * 1000 + i} as x`))),
        10000, `round ${r}: the burst after the kill`)
      burst.forEach((o, i) => {
        if (o.ok) {
          assert.strictEqual(o.value[0].x, r * 1000 + i, `round ${r}: query ${i} got another query's value`)
          return
        }
        failed++
        if (o.error.code !== 'ERR_MYSQL_CONNECTION_CLOSED') assert.ok(isKilled(o.error), `round ${r} query ${i}: ${describeError(o.error)}`)
        else assertConnectionLevel(o.error, CONNECTION_LEVEL, `round ${r} query ${i}: `)
      })
      const next = await withTimeout(
        Promise.all(Array.from({ length: BURST }, (_, i) => track(sql`select ${-i} as x`))), 10000, `round ${r}: the round after`)
      next.forEach((o, i) => {
        assert.ok(o.ok, `round ${r}: query ${i} after recovery failed: ${describeError(o.error)}`)
        assert.strictEqual(o.value[0].x, -i || 0)
      })
      serverMax = Math.max(serverMax, countUserSync(USER))
      await quiesce(sql)
      assertStatsConsistent(sql)
      assert.ok(serverMax <= MAX, `round ${r}: the server saw ${serverMax} connections (max ${MAX})`)
    }
    t.diagnostic(`${ROUNDS} rounds in ${(performance.now() - t0).toFixed(0)} ms; connections killed ${killed}; ` +
      `burst failures ${failed} of ${ROUNDS * BURST}; server max ${serverMax}; stats ${JSON.stringify(sql._stats())}`)
    await assertNotWedged(sql, { track: null, healthyQuery: true })
    const deadline = Date.now() + 2000
    while (countUserSync(USER) > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20))
    assert.strictEqual(countUserSync(USER), 0, 'server connections left after close()')
  } finally {
    await sql.close({ timeout: 0 })
  }
})
