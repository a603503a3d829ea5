'use strict'
// Fault suite, scenario F1 (RELIABILITY.md): the seed of this project (Bun #30947 / PR #30950).
// A fake server completes the handshake and, in the SAME write, says FATAL 57P01 and closes.
// The pool must never turn such a connection into a ready slot ("ghost"), every query must fail
// with a connection-level error, and the pool must keep working once the server behaves.

const { test } = require('node:test')
const assert = require('node:assert')
const { performance } = require('node:perf_hooks')
const { SQL } = require('../..')
const { fakePg, serveQueries } = require('../helpers/fake-pg.js')
const f = require('../helpers/frames.js')
const {
  tracker, assertNotWedged, assertConnectionLevel, assertStatsConsistent, quiesce, withTimeout, describeError,
} = require('../helpers/wedge.js')

const ROUNDS = Number(process.env.UVSQL_FAULT_SEED_ROUNDS || 200)
const PER_ROUND = 20
// The pool retries failed dials with backoff until connectionTimeout, so a round against a
// server that never works lasts about connectionTimeout: keep it short.
const CONNECT_TIMEOUT_S = 0.05
const ROUND_DEADLINE_MS = CONNECT_TIMEOUT_S * 1000 + 3000
// Dials one round may cost: max (10) at first plus a backoff schedule's retries. A pool that
// redials in a loop (a reconnect storm) makes hundreds per round.
const MAX_DIALS_PER_ROUND = 100

// AuthOk + ten ParameterStatus + BackendKeyData + ReadyForQuery + FATAL 57P01: the bytes of
// Bun's regression test, sent in one write and followed by FIN.
function seedBytes() {
  const params = [
    ['application_name', ''], ['client_encoding', 'UTF8'], ['DateStyle', 'ISO, MDY'],
    ['default_transaction_read_only', 'off'], ['in_hot_standby', 'off'], ['integer_datetimes', 'on'],
    ['IntervalStyle', 'postgres'], ['is_superuser', 'off'], ['server_encoding', 'UTF8'],
    ['server_version', '15.18'], ['session_authorization', 'fake'], ['standard_conforming_strings', 'on'],
    ['TimeZone', 'UTC'],
  ]
  return Buffer.concat([
    f.authOk(),
    ...params.map(([k, v]) => f.parameterStatus(k, v)),
    f.backendKeyData(4242, 1234567),
    f.readyForQuery('I'),
    f.errorResponse({ S: 'FATAL', V: 'FATAL', C: '57P01', M: 'terminating connection due to administrator command' }),
  ])
}

async function misbehave(c) {
  await c.startup()
  c.send(seedBytes())
  c.end()
}

// Fires PER_ROUND queries; all must settle within the deadline, without a dial storm.
async function round(sql, track, r, server) {
  const dials0 = server.connections.length
  const outcomes = await withTimeout(
    Promise.all(Array.from({ length: PER_ROUND }, (_, i) => track(sql`select ${r * 1000 + i}::int as x`))),
    ROUND_DEADLINE_MS, `round ${r} (${PER_ROUND} queries)`,
  ).catch((err) => {
    err.message += `; the server saw ${server.connections.length - dials0} dials meanwhile; stats ${JSON.stringify(sql._stats())}`
    throw err
  })
  const dials = server.connections.length - dials0
  assert.ok(dials <= MAX_DIALS_PER_ROUND, `round ${r}: ${dials} dials for ${PER_ROUND} queries (reconnect storm)`)
  return outcomes
}

// 57P01 / CONNECTION_CLOSED; CONNECTION_TIMEOUT only once connectionTimeout has passed.
function assertSeedError(o, where, ct = CONNECT_TIMEOUT_S) {
  if (o.error && o.error.code === 'ERR_POSTGRES_CONNECTION_TIMEOUT') {
    assertConnectionLevel(o.error, { codes: ['ERR_POSTGRES_CONNECTION_TIMEOUT'] }, where)
    assert.ok(o.ms >= ct * 1000 * 0.8, `${where}CONNECTION_TIMEOUT after ${o.ms.toFixed(0)} ms, before connectionTimeout`)
    return
  }
  assertConnectionLevel(o.error, undefined, where)
}

test(`seed: handshake + FATAL 57P01 + FIN in one write on every connection, max 10, ${PER_ROUND} queries x ${ROUNDS} rounds`, async (t) => {
  const server = await fakePg(misbehave)
  const sql = new SQL(server.url, { max: 10, connectionTimeout: CONNECT_TIMEOUT_S })
  const track = tracker()
  const t0 = performance.now()
  let ghosts = 0
  const codes = new Map()
  try {
    for (let r = 0; r < ROUNDS; r++) {
      const outcomes = await round(sql, track, r, server)
      for (const o of outcomes) {
        assert.strictEqual(o.ok, false, `round ${r}: a query succeeded against a server that answers none`)
        const k = o.error.errno ? `${o.error.code}/${o.error.errno}` : o.error.code
        codes.set(k, (codes.get(k) || 0) + 1)
        assertSeedError(o, `round ${r}: `)
      }
      // After the round: nothing connecting, no slot READY (every connection the server gave
      // was dead on arrival, so a READY slot is a ghost), counters consistent.
      const s = await quiesce(sql, 2000)
      if (s.ready !== 0) ghosts++
      assert.strictEqual(s.ready, 0, `round ${r}: ghost ready slot: ${JSON.stringify(s)}`)
      assertStatsConsistent(sql)
    }
    const s = sql._stats()
    t.diagnostic(`${ROUNDS} rounds in ${(performance.now() - t0).toFixed(0)} ms; server saw ${server.connections.length} connections; ` +
      `errors ${JSON.stringify(Object.fromEntries(codes))}; stats ${JSON.stringify(s)}; ghost rounds ${ghosts}`)
    assert.ok(server.connections.length >= ROUNDS, 'every round dialled at least once')
    assert.strictEqual(s.opened, server.connections.length, 'opened counts every dial the server saw')
    await assertNotWedged(sql, { track })
  } finally {
    await sql.close({ timeout: 0 })
    await server.close()
  }
})

test('seed then healthy: the first 25 connections misbehave, every later query succeeds', async (t) => {
  const BAD = 25
  const server = await fakePg(async (c, index) => {
    if (index < BAD) return misbehave(c)
    return serveQueries(c)
  })
  const sql = new SQL(server.url, { max: 10, connectionTimeout: 1 })
  const track = tracker()
  try {
    // Phase 1: rounds until the server has handed out all its bad connections.
    let r = 0
    let failed = 0
    for (; server.connections.length < BAD; r++) {
      assert.ok(r < 100, `the pool stopped dialling after ${server.connections.length} connections`)
      const outcomes = await round(sql, track, r, server)
      outcomes.forEach((o, i) => {
        if (o.ok) {
          assert.strictEqual(String(o.value[0].x), String(r * 1000 + i), `phase 1 round ${r} query ${i} got another query's value`)
          return
        }
        failed++
        assertSeedError(o, `phase 1 round ${r}: `, 1)
      })
    }
    // Every bad connection is closed on the server side and the pool is not dialling.
    const deadline = Date.now() + 2000
    while (server.connections.slice(0, BAD).some((c) => !c.closed) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5))
    }
    assert.ok(server.connections.slice(0, BAD).every((c) => c.closed), 'the bad connections are closed')
    await quiesce(sql)
    assertStatsConsistent(sql)
    // Phase 2: every query succeeds with its own value.
    for (let k = 0; k < 20; k++, r++) {
      const outcomes = await round(sql, track, r, server)
      outcomes.forEach((o, i) => {
        assert.ok(o.ok, `phase 2 round ${k} query ${i} failed: ${describeError(o.error)}`)
        assert.strictEqual(String(o.value[0].x), String(r * 1000 + i), `phase 2 round ${k} query ${i} got another query's value`)
      })
    }
    t.diagnostic(`phase 1: ${r - 20} rounds, ${failed} connection-level failures; phase 2: 20 rounds ok; ` +
      `server connections ${server.connections.length}; stats ${JSON.stringify(sql._stats())}`)
    await assertNotWedged(sql, { track, healthyQuery: async (db) => {
      const rows = await db`select ${7}::int as x`
      assert.strictEqual(String(rows[0].x), '7')
    } })
  } finally {
    await sql.close({ timeout: 0 })
    await server.close()
    assert.deepStrictEqual(server.errors, [])
  }
})
