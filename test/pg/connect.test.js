'use strict'
// Connecting to the real PostgreSQL with each auth method, over TCP and a unix socket.

const { test } = require('node:test')
const assert = require('node:assert')
const net = require('node:net')
const util = require('node:util')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')

async function whoami(sql) {
  const [row] = await sql`select current_user as user, ${'bound'}::text as p`
  return row
}

for (const [method, role] of [['trust', 'uvsql_trust'], ['md5', 'uvsql_md5'], ['scram', 'uvsql_scram'], ['cleartext', 'uvsql_clear']]) {
  test(`connects with ${method} authentication`, async () => {
    const sql = new SQL(pg[method])
    try {
      assert.deepStrictEqual(await whoami(sql), { user: role, p: 'bound' })
    } finally {
      await sql.close()
    }
  })
}

for (const method of ['md5', 'scram', 'cleartext']) {
  test(`a wrong ${method} password fails with the server's SQLSTATE and no password in the error`, async () => {
    const url = new URL(pg[method])
    url.password = 'wrong-password-xyz'
    const sql = new SQL(url.toString())
    try {
      const err = await whoami(sql).then(() => null, (e) => e)
      assert.ok(err instanceof SQL.PostgresError, 'a PostgresError')
      assert.strictEqual(err.errno, '28P01')
      assert.strictEqual(err.code, 'ERR_POSTGRES_SERVER_ERROR')
      assert.match(err.message, /password authentication failed/)
      assert.ok(!util.inspect(err).includes('wrong-password-xyz'))
    } finally {
      await sql.close()
    }
  })
}

test('a server that asks for a password when none was given gets a clear error', async () => {
  const url = new URL(pg.scram)
  url.password = ''
  const sql = new SQL({ url: url.toString(), password: undefined })
  try {
    const err = await whoami(sql).then(() => null, (e) => e)
    assert.ok(err instanceof SQL.PostgresError)
    assert.match(err.message, /requested SCRAM-SHA-256 authentication but no password was given/)
  } finally {
    await sql.close()
  }
})

test('options object form with hostname/username/password/database', async () => {
  const sql = new SQL({
    hostname: pg.host, port: pg.port, username: 'uvsql_scram', password: 'scram_secret', database: pg.database,
  })
  try {
    assert.strictEqual((await whoami(sql)).user, 'uvsql_scram')
  } finally {
    await sql.close()
  }
})

test('connects over a unix socket (path option and ?host= URL form)', async () => {
  const a = new SQL({ path: pg.socketDir, port: pg.port, username: 'uvsql_trust', database: pg.database })
  const b = new SQL(`postgres://uvsql_trust@localhost:${pg.port}/${pg.database}?host=${encodeURIComponent(pg.socketDir)}`)
  try {
    const [ra] = await a`select inet_server_addr() is null as local`
    const [rb] = await b`select inet_server_addr() is null as local`
    assert.deepStrictEqual([ra, rb], [{ local: true }, { local: true }])
  } finally {
    await Promise.all([a.close(), b.close()])
  }
})

test('startup parameters from connection options and URL query', async () => {
  const sql = new SQL(pg.url + '?application_name=uvsql-url-test', { connection: { search_path: 'pg_catalog' } })
  try {
    const [row] = await sql`select current_setting('application_name') as app, current_setting('search_path') as sp`
    assert.deepStrictEqual(row, { app: 'uvsql-url-test', sp: 'pg_catalog' })
  } finally {
    await sql.close()
  }
})

test('connection refused rejects with ERR_POSTGRES_CONNECTION_REFUSED', async () => {
  const port = await new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port
      s.close(() => resolve(p))
    })
  })
  const sql = new SQL(`postgres://nobody@127.0.0.1:${port}/x`)
  try {
    const err = await sql`select 1`.then(() => null, (e) => e)
    assert.ok(err instanceof SQL.PostgresError)
    assert.strictEqual(err.code, 'ERR_POSTGRES_CONNECTION_REFUSED')
    assert.match(err.message, /ECONNREFUSED/)
  } finally {
    await sql.close()
  }
})

test('connection timeout is a deadline for a server that never answers', async () => {
  const sockets = []
  const silent = net.createServer((s) => sockets.push(s))
  await new Promise((resolve) => silent.listen(0, '127.0.0.1', resolve))
  const sql = new SQL(`postgres://nobody@127.0.0.1:${silent.address().port}/x`, { connectionTimeout: 0.3 })
  const started = Date.now()
  try {
    const err = await sql`select 1`.then(() => null, (e) => e)
    const elapsed = Date.now() - started
    assert.ok(err instanceof SQL.PostgresError)
    assert.strictEqual(err.code, 'ERR_POSTGRES_CONNECTION_TIMEOUT')
    assert.ok(elapsed >= 250 && elapsed < 3000, `took ${elapsed} ms`)
  } finally {
    await sql.close()
    for (const s of sockets) s.destroy()
    silent.close()
  }
})

test('the password never shows in util.inspect of the instance or its options', async () => {
  const sql = new SQL(pg.scram)
  try {
    assert.ok(!util.inspect(sql, { showHidden: false, depth: 5 }).includes('scram_secret'))
    assert.ok(!util.inspect(sql.options, { depth: 5 }).includes('scram_secret'))
    assert.ok(!JSON.stringify(sql.options).includes('scram_secret'))
  } finally {
    await sql.close()
  }
})

test('password as a sync or async function, called once per connection', async () => {
  let calls = 0
  const sync = new SQL({ url: pg.scram.replace(':scram_secret@', '@'), password: () => { calls++; return 'scram_secret' } })
  const slow = new SQL({ url: pg.md5.replace(':md5_secret@', '@'), password: async () => { calls++; await new Promise((r) => setTimeout(r, 20)); return 'md5_secret' } })
  try {
    assert.strictEqual((await whoami(sync)).user, 'uvsql_scram')
    assert.strictEqual((await whoami(slow)).user, 'uvsql_md5')
    await whoami(sync)
    assert.strictEqual(calls, 2, 'not called again for a reused connection')
  } finally {
    await Promise.all([sync.close(), slow.close()])
  }
})

test('a password function that throws or rejects fails the connection with its message', async () => {
  const throws = new SQL({ url: pg.scram.replace(':scram_secret@', '@'), password: () => { throw new Error('vault down') } })
  const rejects = new SQL({ url: pg.scram.replace(':scram_secret@', '@'), password: () => Promise.reject(new Error('token expired')) })
  try {
    const a = await whoami(throws).then(() => null, (e) => e)
    const b = await whoami(rejects).then(() => null, (e) => e)
    assert.ok(a instanceof SQL.PostgresError && /vault down/.test(a.message), String(a && a.message))
    assert.ok(b instanceof SQL.PostgresError && /token expired/.test(b.message), String(b && b.message))
  } finally {
    await Promise.all([throws.close(), rejects.close()])
  }
})
