'use strict'
// Fault suite, scenario F15 (RELIABILITY.md): a cancel that the server acted on while its
// query had not started yet is dropped by the server (PostgreSQL ignores a SIGINT that lands
// while it reads the next message; MariaDB resets KILL QUERY when its next command starts).
// The pool sends it once more while the query still runs (src/pool/pool_cancel.c), so cancel()
// always interrupts its query. On MySQL a statement never prepared before makes the race
// certain: its EXECUTE waits for the PREPARE answer, and no write leaves while the KILL is
// out, so the first KILL always lands before the query runs (without the re-send, every
// query below ran its full 2 s).

const { test } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const env = require('../helpers/env.js')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const PROTOCOLS = [
  // As Bun 1.4.5: a query the server interrupted rejects with the server's own error.
  { name: 'PostgreSQL', url: () => env.pg.url, text: (tag) => `select pg_sleep($1) as ${tag}`, code: 'ERR_POSTGRES_SERVER_ERROR', errno: '57014' },
  // MariaDB ends an interrupted SLEEP() with 1, or fails it with 1317.
  { name: 'MySQL', url: () => env.mysql.url, text: (tag) => `select sleep(?) as ${tag}`, code: null, errno: 1317 },
]

for (const P of PROTOCOLS) {
  test(`${P.name}: cancel() right after a never-prepared query was sent interrupts it, every time`, async () => {
    const sql = new SQL(P.url(), { max: 1 })
    try {
      await sql`select 1`
      for (let i = 0; i < 5; i++) {
        const q = sql.unsafe(P.text(`c${i}_${process.pid}_${Date.now()}`), [2])
        const settled = q.then((rows) => ({ rows }), (err) => ({ err }))
        const started = Date.now()
        q.cancel()
        const o = await settled
        const took = Date.now() - started
        assert.ok(took < 1500, `round ${i}: the query ran ${took} ms: the cancel missed it`)
        if (o.err) {
          assert.strictEqual(o.err.code, P.code || o.err.code)
          assert.strictEqual(o.err.errno, P.errno, o.err.message)
        } else {
          assert.strictEqual(P.code, null, 'PostgreSQL fails a cancelled query')
        }
        assert.deepStrictEqual([...(await sql`select 1 as ok`)], [{ ok: 1 }], 'the connection stays usable')
        await sleep(20)
      }
      const resends = sql._stats().cancelResends
      assert.strictEqual(typeof resends, 'number')
      if (P.name === 'MySQL') assert.ok(resends >= 5, `each KILL went once more (${resends})`)
    } finally {
      await sql.close()
    }
  })

  test(`${P.name}: a cancel that hit its query is not sent again, and nothing else is hit`, async () => {
    const sql = new SQL(P.url(), { max: 1 })
    try {
      const q = P.name === 'MySQL' ? sql`select sleep(5) as s` : sql`select pg_sleep(5) as s`
      const settled = q.then(() => null, (e) => e)
      await sleep(200) // it runs now
      q.cancel()
      await settled
      await sleep(150) // longer than the first re-send delay
      assert.strictEqual(sql._stats().cancelResends, 0)
      assert.deepStrictEqual([...(await sql`select 2 as ok`)], [{ ok: 2 }])
    } finally {
      await sql.close()
    }
  })
}
