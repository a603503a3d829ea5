'use strict'
// Fault suite, scenario F1 continued: the server closes (FIN) at every other point of the
// startup: before any byte, after 'N' to an SSLRequest, right after the StartupMessage, after
// AuthenticationSASL, after SASLContinue, after AuthenticationOk, and with ReadyForQuery cut in
// half. Every query must reject with a clear connection code, in bounded time, without a
// reconnect storm, and the pool must stay usable (never wedge).

const { test } = require('node:test')
const assert = require('node:assert')
const { performance } = require('node:perf_hooks')
const { SQL } = require('../..')
const { fakePg, serveQueries } = require('../helpers/fake-pg.js')
const f = require('../helpers/frames.js')
const { tracker, assertNotWedged, assertConnectionLevel, assertStatsConsistent, quiesce, withTimeout } = require('../helpers/wedge.js')

const ROUNDS = Number(process.env.UVSQL_FAULT_HANDSHAKE_ROUNDS || 5)
const PER_ROUND = 10
const MAX = 4
// Failed dials are retried with backoff until connectionTimeout: a round lasts about that long.
const CONNECT_TIMEOUT_S = 0.2
const ROUND_DEADLINE_MS = CONNECT_TIMEOUT_S * 1000 + 3000
const MAX_DIALS_PER_ROUND = 60
const SSL_REQUEST_CODE = 80877103

function serverFirst(clientFirst) {
  // client-first-message-bare: n=,r=<nonce>; the server's nonce must extend the client's.
  const nonce = /r=([^,]+)/.exec(clientFirst)[1]
  return `r=${nonce}c2VydmVyLW5vbmNl,s=${Buffer.from('0123456789abcdef').toString('base64')},i=4096`
}

// name -> { url suffix / user, script(c) that ends with FIN at that point }
const CASES = {
  'before any byte': {
    async script(c) { c.end() },
  },
  "after 'N' to the SSLRequest": {
    query: '?sslmode=prefer',
    async script(c) {
      await c.need(8)
      assert.strictEqual(c.buf.readUInt32BE(4), SSL_REQUEST_CODE, 'the client asked for TLS first')
      c.buf = c.buf.subarray(8)
      c.send(Buffer.from('N'))
      c.end()
    },
  },
  'right after the StartupMessage': {
    async script(c) {
      await c.startup()
      c.end()
    },
  },
  'after AuthenticationSASL': {
    password: true,
    async script(c) {
      await c.startup()
      c.send(f.authSasl('SCRAM-SHA-256'))
      c.end()
    },
  },
  'after SASLContinue (mid-SASL)': {
    password: true,
    async script(c) {
      await c.startup()
      c.send(f.authSasl('SCRAM-SHA-256'))
      const [m] = await c.expect('p')
      const init = f.parseSaslInitialResponse(m.body)
      assert.strictEqual(init.mechanism, 'SCRAM-SHA-256')
      c.send(f.authSaslContinue(serverFirst(init.data.toString('utf8'))))
      c.end()
    },
  },
  'after AuthenticationOk': {
    async script(c) {
      await c.startup()
      c.send(f.authOk())
      c.end()
    },
  },
  'ReadyForQuery split by FIN': {
    async script(c) {
      await c.startup()
      const ok = f.startupOk()
      // Everything up to 'Z' plus half of its length field.
      c.send(ok.subarray(0, ok.length - 6 + 3))
      c.end()
    },
  },
}

function urlFor(server, kase) {
  let url = server.url
  if (kase.password) url = url.replace('fake@', 'fake:secret@')
  return url + (kase.query || '')
}

for (const [name, kase] of Object.entries(CASES)) {
  test(`FIN ${name}: every query rejects with a connection code, ${PER_ROUND} queries x ${ROUNDS} rounds`, async (t) => {
    const server = await fakePg(kase.script)
    const sql = new SQL(urlFor(server, kase), { max: MAX, connectionTimeout: CONNECT_TIMEOUT_S })
    const track = tracker()
    const seen = new Map()
    const t0 = performance.now()
    try {
      for (let r = 0; r < ROUNDS; r++) {
        const dials0 = server.connections.length
        const outcomes = await withTimeout(
          Promise.all(Array.from({ length: PER_ROUND }, (_, i) => track(sql`select ${i}::int as x`))),
          ROUND_DEADLINE_MS, `round ${r}`,
        ).catch((err) => {
          err.message += `; ${server.connections.length - dials0} dials meanwhile; stats ${JSON.stringify(sql._stats())}`
          throw err
        })
        const dials = server.connections.length - dials0
        assert.ok(dials >= 1, 'the pool dialled')
        assert.ok(dials <= MAX_DIALS_PER_ROUND, `round ${r}: ${dials} dials (reconnect storm)`)
        for (const o of outcomes) {
          assert.strictEqual(o.ok, false, 'a query succeeded without a server')
          const e = o.error
          seen.set(`${e.code}${e.errno ? '/' + e.errno : ''}`, (seen.get(`${e.code}${e.errno ? '/' + e.errno : ''}`) || 0) + 1)
          if (e.code === 'ERR_POSTGRES_CONNECTION_TIMEOUT') {
            // Only legitimate once connectionTimeout has passed (retries until then).
            assert.ok(o.ms >= CONNECT_TIMEOUT_S * 1000 * 0.8, `CONNECTION_TIMEOUT after ${o.ms.toFixed(0)} ms`)
            assertConnectionLevel(e, { codes: ['ERR_POSTGRES_CONNECTION_TIMEOUT'] }, `round ${r}: `)
          } else {
            assertConnectionLevel(e, undefined, `round ${r}: `)
          }
        }
        const s = await quiesce(sql)
        assert.strictEqual(s.ready, 0, `ghost ready slot: ${JSON.stringify(s)}`)
        assertStatsConsistent(sql)
      }
      assert.deepStrictEqual(server.errors, [], 'the fake server script saw what it expected')
      const slowest = Math.max(...track.records.map((r) => r.ms))
      t.diagnostic(`${(performance.now() - t0).toFixed(0)} ms; ${server.connections.length} dials; errors ${JSON.stringify(Object.fromEntries(seen))}; slowest ${slowest.toFixed(0)} ms`)
      await assertNotWedged(sql, { track })
    } finally {
      await sql.close({ timeout: 0 })
      await server.close()
    }
  })
}

test('after a handshake fault the same pool recovers once the server behaves', async () => {
  // Connections alternate between a FIN point and a correct server, so the pool meets faults
  // and healthy connections in the same run.
  const faults = Object.values(CASES).filter((k) => !k.password && !k.query)
  const server = await fakePg(async (c, index) => {
    if (index >= faults.length * 2) return serveQueries(c)
    if (index % 2 === 0) return faults[index / 2].script(c)
    // A healthy connection that the server closes after one query (an idle reaper).
    await c.startup()
    c.send(f.startupOk())
    const group = await c.readUntilSync()
    if (group !== null) c.send(require('../helpers/fake-pg.js').answerFor(group, c))
    c.end()
  })
  const sql = new SQL(server.url, { max: 2, connectionTimeout: 2 })
  const track = tracker()
  try {
    for (let r = 0; server.connections.length < faults.length * 2; r++) {
      assert.ok(r < 60, `the pool stopped dialling after ${server.connections.length} connections`)
      const outcomes = await withTimeout(Promise.all([track(sql`select ${r}::int as x`), track(sql`select ${r + 100}::int as x`)]), 5000, `round ${r}`)
      outcomes.forEach((o, i) => {
        if (o.ok) assert.strictEqual(String(o.value[0].x), String(r + 100 * i))
        else assertConnectionLevel(o.error, undefined, `round ${r}: `)
      })
    }
    await withTimeout((async () => {
      while (server.connections.slice(0, faults.length * 2).some((c) => !c.closed)) await new Promise((resolve) => setTimeout(resolve, 5))
    })(), 2000, 'the fault connections closing')
    await quiesce(sql)
    // Every fault connection has been used up: from here on everything succeeds.
    const rows = await Promise.all(Array.from({ length: 20 }, (_, i) => track(sql`select ${i}::int as x`)))
    rows.forEach((o, i) => {
      assert.ok(o.ok, `query ${i} failed: ${o.error && o.error.message}`)
      assert.strictEqual(String(o.value[0].x), String(i))
    })
    await assertNotWedged(sql, { track, healthyQuery: async (db) => assert.strictEqual(String((await db`select ${5}::int as x`)[0].x), '5') })
  } finally {
    await sql.close({ timeout: 0 })
    await server.close()
  }
})
