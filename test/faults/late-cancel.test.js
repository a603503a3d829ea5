'use strict'
// Fault suite, scenario F15 (RELIABILITY.md): a cancel that arrives late must never cancel
// another query. query.cancel() reaches the server on a connection of its own (PostgreSQL:
// CancelRequest with the backend's key; MySQL: KILL QUERY <thread id> from a "killer"
// connection), and the server applies it to whatever that backend runs when it arrives. Here
// that connection is stalled by a proxy (test/helpers/hold-proxy.js) until the cancelled query
// has ended and the next one was asked for: the next query on the same pooled connection must
// wait for the cancel to be resolved, and succeed. A cancel that never resolves must not wedge
// the slot: the connection is discarded after the cancel's deadline (connectionTimeout).

const { test } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const env = require('../helpers/env.js')
const { holdProxy } = require('../helpers/hold-proxy.js')
const { closeBounded } = require('../helpers/wedge.js')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const settle = (q) => q.then((v) => ({ ok: true, v }), (e) => ({ ok: false, e }))

const PROTOCOLS = [
  {
    name: 'PostgreSQL',
    url: () => env.pg.url,
    port: () => env.pg.port,
    sleepQuery: (sql, s) => sql`select pg_sleep(${s}) as s`,
    // A query that takes `s` seconds and says whether it ran to its end.
    probe: (sql, s, x) => sql`select pg_sleep(${s})::text as s, ${x}::int as x`,
    finished: (row) => row.s === '',
  },
  {
    name: 'MySQL',
    url: () => env.mysql.url,
    port: () => env.mysql.port,
    sleepQuery: (sql, s) => sql`select sleep(${s}) as s`,
    probe: (sql, s, x) => sql`select sleep(${s}) as s, ${x} as x`,
    // MariaDB ends an interrupted SLEEP() with 1, or fails it with 1317.
    finished: (row) => Number(row.s) === 0,
    // The killer authenticates and sets its session up (greeting, OK, OK of SET time_zone),
    // then its KILL QUERY is what stalls.
    holdKill: { afterServerWrites: 3 },
  },
]

function describeOutcome(o) {
  return o.ok ? JSON.stringify([...o.v]) : `${o.e.code} ${o.e.errno} ${o.e.message}`
}

// Starts a 0.3 s query on `sql`, stalls the cancel connection (`hold` arms the proxy) and
// cancels the query 50 ms in; resolves once the query ran to its end: the cancel was too late.
async function cancelTooLate(P, sql, hold) {
  hold()
  const q1 = P.sleepQuery(sql, 0.3)
  const s1 = settle(q1)
  await sleep(50)
  q1.cancel()
  const o1 = await s1
  assert.ok(o1.ok, `the stalled cancel cannot have reached the server: ${describeOutcome(o1)}`)
}

for (const P of PROTOCOLS) {
  test(`${P.name}: a late cancel (stalled until its query ended) never hits the next query on that connection`, async () => {
    const proxy = await holdProxy({ port: P.port() })
    const sql = new SQL(proxy.rewrite(P.url()), { max: 1 })
    try {
      await sql`select 1 as one` // the pool's connection, not held
      await cancelTooLate(P, sql, () => proxy.hold())
      assert.strictEqual(proxy.accepted, 2, 'the cancel opened a connection of its own')
      // The next query: without the fix it is sent and running when the cancel arrives.
      const s2 = settle(P.probe(sql, 0.4, 2))
      await sleep(150)
      const releasedAt = Date.now()
      proxy.release()
      const o2 = await s2
      assert.ok(o2.ok, `the next query was cancelled by the late cancel: ${describeOutcome(o2)}`)
      assert.ok(P.finished(o2.v[0]), `the next query was interrupted: ${describeOutcome(o2)}`)
      assert.strictEqual(Number(o2.v[0].x), 2)
      assert.ok(Date.now() - releasedAt >= 350, 'the next query waited for the cancel to resolve')
      const st = sql._stats()
      assert.strictEqual(st.opened, 1, 'the connection was kept')
    } finally {
      proxy.release()
      await closeBounded(sql, { ms: 2000, cpuMs: 200 })
      await proxy.close()
    }
  })

  test(`${P.name}: a reserved connection's next query also waits for a late cancel`, async () => {
    const proxy = await holdProxy({ port: P.port() })
    const sql = new SQL(proxy.rewrite(P.url()), { max: 2 })
    try {
      const r = await sql.reserve()
      await cancelTooLate(P, r, () => proxy.hold())
      const s2 = settle(P.probe(r, 0.4, 3))
      await sleep(150)
      proxy.release()
      const o2 = await s2
      assert.ok(o2.ok && P.finished(o2.v[0]), `the lease's next query was hit: ${describeOutcome(o2)}`)
      assert.strictEqual(Number(o2.v[0].x), 3)
      r.release()
    } finally {
      proxy.release()
      await closeBounded(sql, { ms: 2000, cpuMs: 200 })
      await proxy.close()
    }
  })

  test(`${P.name}: a cancel that never resolves does not wedge the slot: its connection is discarded after the deadline`, async () => {
    const proxy = await holdProxy({ port: P.port() })
    const sql = new SQL(proxy.rewrite(P.url()), { max: 1, connectionTimeout: 1 })
    try {
      await sql`select 1 as one`
      await cancelTooLate(P, sql, () => proxy.hold(1, P.holdKill)) // never released: the request hangs
      const t0 = Date.now()
      const o2 = await settle(P.probe(sql, 0, 4))
      const waited = Date.now() - t0
      assert.ok(o2.ok, `the next query failed: ${describeOutcome(o2)}`)
      assert.strictEqual(Number(o2.v[0].x), 4)
      assert.ok(waited >= 500 && waited < 5000, `the next query waited ${waited} ms (the cancel's deadline is 1 s)`)
      const st = sql._stats()
      assert.strictEqual(st.opened, 2, `the connection with an unresolved cancel was replaced: ${JSON.stringify(st)}`)
    } finally {
      proxy.release()
      await closeBounded(sql, { ms: 2000, cpuMs: 200 })
      await proxy.close()
    }
  })

  if (P.holdKill) {
    test(`${P.name}: a killer stalled before its KILL left is harmless: the connection is kept after the deadline`, async () => {
      const proxy = await holdProxy({ port: P.port() })
      const sql = new SQL(proxy.rewrite(P.url()), { max: 1, connectionTimeout: 1 })
      try {
        await sql`select 1 as one`
        await cancelTooLate(P, sql, () => proxy.hold(1)) // the killer's handshake hangs: no KILL
        const t0 = Date.now()
        const o2 = await settle(P.probe(sql, 0, 5))
        assert.ok(o2.ok, `the next query failed: ${describeOutcome(o2)}`)
        assert.ok(Date.now() - t0 >= 500, 'the next query waited for the killer to give up')
        assert.strictEqual(sql._stats().opened, 1, 'the connection was kept')
      } finally {
        proxy.release()
        await closeBounded(sql, { ms: 2000, cpuMs: 200 })
        await proxy.close()
      }
    })
  }
}
