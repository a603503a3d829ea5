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
const { closeBounded, withTimeout } = require('../helpers/wedge.js')

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
    // Its first row leaves before it sleeps: a cancel then interrupts it after a DataRow.
    rowThenSleep: (sql, s, x) => sql`select g, ${x}::int as x, case when g = 2 then pg_sleep(${s})::text end as s from generate_series(1, 2) g`,
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

// A query pipelined behind a cancelled one that ends before its stalled cancel arrives: the
// cancel is released while the pipelined query (x, 0.4 s) runs. Its outcome.
async function pipelinedBehindLateCancel(P, sql, proxy, x, probe = P.probe) {
  // Both statements prepared once already: MySQL then sends the probe's EXECUTE at once (not
  // after a PREPARE answer, which would be held with everything else).
  await P.sleepQuery(sql, 0)
  await probe(sql, 0, 0)
  proxy.hold()
  const q1 = P.sleepQuery(sql, 0.3)
  const s1 = settle(q1)
  // Sent at once behind q1 (max: 1, so the pool pipelines), before the cancel exists.
  const s2 = settle(probe(sql, 0.4, x))
  await sleep(50)
  q1.cancel()
  assert.ok((await s1).ok, 'the stalled cancel cannot have reached the server')
  await sleep(150) // the probe runs on the server now
  proxy.release() // ...and the late cancel interrupts it
  return s2
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

  test(`${P.name}: a query already pipelined behind the cancelled one, hit by the late cancel, is run once more`, async () => {
    const proxy = await holdProxy({ port: P.port() })
    const sql = new SQL(proxy.rewrite(P.url()), { max: 1 })
    try {
      const o2 = await pipelinedBehindLateCancel(P, sql, proxy, 6)
      assert.ok(o2.ok && P.finished(o2.v[0]), `the pipelined query was hit: ${describeOutcome(o2)}`)
      assert.strictEqual(Number(o2.v[0].x), 6)
      assert.strictEqual(sql._stats().opened, 1)
    } finally {
      proxy.release()
      await closeBounded(sql, { ms: 2000, cpuMs: 200 })
      await proxy.close()
    }
  })

  if (P.rowThenSleep) {
    test(`${P.name}: a pipelined query hit by the late cancel after its first rows is run once more, its rows not doubled`, async () => {
      const proxy = await holdProxy({ port: P.port() })
      const sql = new SQL(proxy.rewrite(P.url()), { max: 1 })
      try {
        const o2 = await pipelinedBehindLateCancel(P, sql, proxy, 8, P.rowThenSleep)
        assert.ok(o2.ok, `the pipelined query was hit: ${describeOutcome(o2)}`)
        assert.deepStrictEqual([...o2.v].map((r) => [r.g, r.x]), [[1, 8], [2, 8]])
        assert.ok(P.finished(o2.v[1]), 'the second run slept to its end')
        assert.strictEqual(sql._stats().opened, 1)
      } finally {
        proxy.release()
        await closeBounded(sql, { ms: 2000, cpuMs: 200 })
        await proxy.close()
      }
    })
  }

  test(`${P.name}: a lease's query pipelined behind the cancelled one and hit is reported, never run again`, async () => {
    const proxy = await holdProxy({ port: P.port() })
    const sql = new SQL(proxy.rewrite(P.url()), { max: 1 })
    try {
      const r = await sql.reserve()
      const o2 = await pipelinedBehindLateCancel(P, r, proxy, 7)
      // A lease's queries never move to another connection, and inside a lease the session may
      // hold state the interruption changed: the error is the answer.
      assert.ok(!o2.ok, `expected the late cancel to interrupt it: ${describeOutcome(o2)}`)
      assert.match(o2.e.code, /QUERY_CANCELLED|SERVER_ERROR/)
      assert.ok(o2.e.errno === '57014' || o2.e.errno === 1317, describeOutcome(o2))
      assert.strictEqual(Number((await P.probe(r, 0, 8))[0].x), 8, 'the lease works on')
      r.release()
    } finally {
      proxy.release()
      await closeBounded(sql, { ms: 2000, cpuMs: 200 })
      await proxy.close()
    }
  })

  test(`${P.name}: a cancel waiting for its query's turn never holds back the queries before it`, async () => {
    // MySQL sends an EXECUTE only once its PREPARE is answered: a hold on writes from the
    // cancel request on (instead of from its sending) kept q2's EXECUTE back, so q3's turn
    // never came and the connection wedged (found by the soak).
    const sql = new SQL(P.url(), { max: 1 })
    try {
      await P.sleepQuery(sql, 0)
      const s1 = settle(P.sleepQuery(sql, 0.2))
      const fresh = `select ${P.name === 'MySQL' ? '?' : '$1::int'} + ${Date.now() % 100000} as x` // never prepared before
      const s2 = settle(sql.unsafe(fresh, [1]))
      const q3 = P.sleepQuery(sql, 1)
      const s3 = settle(q3)
      await sleep(50)
      q3.cancel() // q3 runs after q1 and q2: the cancel waits for its turn
      const [o1, o2, o3] = await withTimeout(Promise.all([s1, s2, s3]), 5000, 'the three queries')
      assert.ok(o1.ok && o2.ok, `${describeOutcome(o1)} / ${describeOutcome(o2)}`)
      // q3 rejected at once (as in Bun.SQL); on the server it is usually interrupted, but a
      // CancelRequest that lands while the server still reads q3's messages is dropped and q3
      // runs its second (cancel stays best effort). Either way the connection serves on.
      assert.ok(!o3.ok && /QUERY_CANCELLED$/.test(o3.e.code), describeOutcome(o3))
      const o4 = await withTimeout(settle(P.probe(sql, 0, 4)), 5000, 'the next query')
      assert.ok(o4.ok && Number(o4.v[0].x) === 4, describeOutcome(o4))
    } finally {
      await closeBounded(sql, { ms: 2000, cpuMs: 200 })
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
