'use strict'
// The I/O drivers at their edges, on every runtime: the uv driver under Node, the js driver
// under Node (node:net sockets) and under Bun (Bun.connect sockets, lib/driver-bun.js). Writes
// bigger than the kernel takes at once (the rest waits for `drain`, and later writes queue
// behind it), many queued writes that must leave in order, a value bigger than one read, many connections opening at once, host
// names that do not resolve, and a server that drops the connection in the middle of a query.

const { test } = require('node:test')
const assert = require('node:assert')
const crypto = require('node:crypto')
const { SQL } = require('../..')
const { pg, mysql } = require('../helpers/env.js')
const { slicingProxy } = require('../helpers/proxy.js')

const md5 = (s) => crypto.createHash('md5').update(s).digest('hex')

// A string of n bytes that differs from every other (seed) and at both ends.
function text(n, seed) {
  const unit = `<${seed}:` + 'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(3) + '>'
  return (unit.repeat(Math.ceil(n / unit.length)) + `#${seed}`).slice(-n)
}

const protocols = [
  ['PostgreSQL', () => pg.url, (sql, v) => sql`select md5(${v}::text) as h, length(${v}::text) as n`],
  ['MySQL', () => mysql.url, (sql, v) => sql`select md5(${v}) as h, length(${v}) as n`]
]

for (const [name, url, hashOf] of protocols) {
  test(`${name}: 24 queries of 1 MiB each, issued at once on one connection, go out in order`, async () => {
    const sql = new SQL(url(), { max: 1 })
    try {
      const values = Array.from({ length: 24 }, (_, i) => text(1024 * 1024, i))
      const rows = await Promise.all(values.map((v) => hashOf(sql, v)))
      for (let i = 0; i < values.length; i++) {
        assert.strictEqual(rows[i][0].h, md5(values[i]), `query ${i} got the bytes of another`)
        assert.strictEqual(Number(rows[i][0].n), values[i].length)
      }
    } finally {
      await sql.close()
    }
  })

  // Under Bun, C writes to the socket itself while JS holds none of its bytes; what the kernel
  // does not take goes to JS, which waits for `drain`, and queries made meanwhile must queue
  // behind it until JS reports it all written. The proxy (in this process, so on the same loop)
  // takes the big write a slice at a time: the kernel keeps getting room while JS still holds
  // the rest, which is when a write that jumped the queue would get through.
  test(`${name}: queries made on later turns while a big write waits for drain go out after it, in order`, async () => {
    const proxy = await slicingProxy({ port: new URL(url()).port, toClient: 0, toServer: 64 * 1024 })
    const sql = new SQL(proxy.rewrite(url()), { max: 1 })
    try {
      await sql`select 1` // connected: the big query leaves on its own turn
      const big = text(6 * 1024 * 1024, 'drain')
      const pending = [hashOf(sql, big).then((r) => r)] // then(): a query leaves only once awaited
      for (let i = 0; i < 40; i++) {
        await new Promise((resolve) => setTimeout(resolve, 1))
        pending.push(sql`select ${i} as i`.then((r) => r))
      }
      const [first, ...rest] = await Promise.all(pending)
      assert.strictEqual(first[0].h, md5(big))
      assert.deepStrictEqual(rest.map((r) => Number(r[0].i)), Array.from({ length: 40 }, (_, i) => i))
      const [after] = await sql`select 7 as seven` // direct writes again, in step
      assert.strictEqual(Number(after.seven), 7)
    } finally {
      await sql.close()
      await proxy.close()
    }
  })

  test(`${name}: a host name that does not resolve fails with a connection error naming ENOTFOUND`, async () => {
    const u = new URL(url())
    u.hostname = 'no-such-host.invalid'
    const sql = new SQL(u.toString(), { connectionTimeout: 10 })
    try {
      const err = await sql`select 1`.then(() => null, (e) => e)
      assert.ok(err instanceof Error, 'the query failed')
      assert.match(err.code, /^ERR_(POSTGRES|MYSQL)_CONNECTION_FAILED$/)
      assert.match(err.message, /no-such-host\.invalid.*ENOTFOUND/)
    } finally {
      await sql.close()
    }
  })
}

test('PostgreSQL: a 20 MiB parameter goes out and a 20 MiB value comes back', async () => {
  const sql = new SQL(pg.url, { max: 1 })
  try {
    const big = text(20 * 1024 * 1024, 'big')
    const [r] = await sql`select md5(${big}::text) as h, ${big}::text as back`
    assert.strictEqual(r.h, md5(big))
    assert.strictEqual(r.back.length, big.length)
    assert.ok(r.back === big, 'the value came back unchanged')
    const [again] = await sql`select 1 as one` // the connection is still in step
    assert.strictEqual(again.one, 1)
  } finally {
    await sql.close()
  }
})

test('PostgreSQL: ten connections opened at once (one batch of ops too long for arguments) all answer', async () => {
  const sql = new SQL(pg.url, { max: 10 })
  try {
    const rows = await Promise.all(Array.from({ length: 10 }, (_, i) => sql`select ${i}::int as i, pg_sleep(0.05)`))
    assert.deepStrictEqual(rows.map((r) => r[0].i), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9])
  } finally {
    await sql.close()
  }
})

test('PostgreSQL: the server dropping the connection mid-query fails that query only', async () => {
  const sql = new SQL(pg.url, { max: 1 })
  try {
    const err = await sql`select pg_terminate_backend(pg_backend_pid()), pg_sleep(5)`.then(() => null, (e) => e)
    assert.ok(err instanceof Error, 'the query failed')
    assert.ok(!(err instanceof SQL.PostgresError) || err.errno === '57P01', `${err.code}: ${err.message}`)
    const [r] = await sql`select 2 as two` // a new connection
    assert.strictEqual(r.two, 2)
  } finally {
    await sql.close()
  }
})
