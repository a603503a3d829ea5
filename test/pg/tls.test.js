'use strict'
// TLS modes against the real PostgreSQL (ssl=on with a CA made at test start) and against
// scripted servers for the refusals a real server will not produce on demand.

const { test } = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const util = require('node:util')
const { SQL } = require('../..')
const { pg, need } = require('../helpers/env.js')
const { fakePg } = require('../helpers/fake-pg.js')
const f = require('../helpers/frames.js')

const ca = () => fs.readFileSync(need('UVSQL_TEST_TLS_CA'), 'utf8')
const viaLocalhost = (url) => url.replace('127.0.0.1', 'localhost')

async function sslInfo(sql) {
  const [row] = await sql`select ssl, version, current_user as who from pg_stat_ssl where pid = pg_backend_pid()`
  return row
}

async function using(sql, fn) {
  try {
    return await fn(sql)
  } finally {
    await sql.close()
  }
}

for (const [method, role] of [['trust', 'uvsql_trust'], ['md5', 'uvsql_md5'], ['scram', 'uvsql_scram'], ['cleartext', 'uvsql_clear']]) {
  test(`${method} authentication over TLS (sslmode=require)`, async () => {
    const info = await using(new SQL(pg[method] + '?sslmode=require'), sslInfo)
    assert.strictEqual(info.ssl, true)
    assert.match(info.version, /^TLSv1\.[23]$/)
    assert.strictEqual(info.who, role)
  })
}

test('verify-full with the CA accepts the server by name and by IP', async () => {
  const byName = await using(new SQL(viaLocalhost(pg.scram), { tls: { ca: ca() } }), sslInfo)
  const byIp = await using(new SQL(pg.scram, { tls: { ca: ca(), rejectUnauthorized: true } }), sslInfo)
  assert.strictEqual(byName.ssl, true)
  assert.strictEqual(byIp.ssl, true)
})

test('verify-full refuses a wrong host name before any credential is sent', async () => {
  const sql = new SQL(pg.scram, { tls: { ca: ca(), servername: 'not-the-server.example' } })
  const err = await using(sql, (s) => sslInfo(s).then(() => null, (e) => e))
  assert.ok(err instanceof SQL.PostgresError)
  assert.strictEqual(err.code, 'ERR_POSTGRES_TLS_UPGRADE_FAILED')
  assert.match(err.message, /hostname mismatch/)
  assert.ok(!util.inspect(err).includes('scram_secret'))
})

test('verify-ca accepts a wrong host name but checks the chain', async () => {
  const ok = await using(new SQL(pg.scram + '?sslmode=verify-ca', { tls: { ca: ca(), servername: 'other.example', rejectUnauthorized: true } }), sslInfo)
  assert.strictEqual(ok.ssl, true)
})

test('verify-full against the system CAs refuses our self-made CA', async () => {
  const err = await using(new SQL(pg.scram + '?sslmode=verify-full'), (s) => sslInfo(s).then(() => null, (e) => e))
  assert.strictEqual(err.code, 'ERR_POSTGRES_TLS_UPGRADE_FAILED')
  assert.match(err.message, /unable to get local issuer certificate|self.signed/)
})

test('rejectUnauthorized: false turns verification off; tls: true means require', async () => {
  const a = await using(new SQL(pg.scram, { tls: { rejectUnauthorized: false, servername: 'x.example' } }), sslInfo)
  const b = await using(new SQL(pg.scram, { tls: true }), sslInfo)
  const c = await using(new SQL(pg.scram, { ssl: 'require' }), sslInfo)
  assert.deepStrictEqual([a.ssl, b.ssl, c.ssl], [true, true, true])
})

test('the default is no TLS; unix sockets ignore TLS', async () => {
  const plain = await using(new SQL(pg.scram), sslInfo)
  assert.strictEqual(plain.ssl, false)
  const unix = await using(new SQL({ path: pg.socketDir, port: pg.port, username: 'uvsql_trust', database: pg.database, tls: 'require' }), (s) => s`select 1 as ok`)
  assert.strictEqual(unix[0].ok, 1)
})

test('an unknown TLS mode is refused with a clear error', () => {
  assert.throws(() => new SQL(pg.scram, { tls: 'maybe' }), /must be one of disable, allow, prefer, require, verify-ca, verify-full/)
  assert.throws(() => new SQL(pg.scram + '?sslmode=strict'), (e) => e.code === 'ERR_INVALID_ARG_VALUE')
})

// ---- scripted servers -------------------------------------------------------------------

// Reads the SSLRequest (8 bytes: length 8, code 80877103) and answers with `answer`.
async function sslServer(answer, after) {
  const received = []
  const server = await fakePg(async (c) => {
    c.socket.on('data', (d) => received.push(d))
    await c.need(8)
    const code = c.buf.readUInt32BE(4)
    c.buf = c.buf.subarray(8)
    assert.strictEqual(code, 80877103, 'an SSLRequest first')
    c.socket.write(answer)
    if (after) await after(c)
  })
  return { server, received: () => Buffer.concat(received) }
}

test('require: a server without TLS is refused and no startup or password is sent', async () => {
  const { server, received } = await sslServer(Buffer.from('N'))
  const sql = new SQL(server.url.replace('fake@', 'fake:sentinel-pw@') + '?sslmode=require')
  try {
    const err = await sql`select 1`.then(() => null, (e) => e)
    assert.strictEqual(err.code, 'ERR_POSTGRES_TLS_NOT_AVAILABLE')
    await new Promise((r) => setTimeout(r, 20))
    assert.strictEqual(received().length, 8, 'only the SSLRequest left the client')
  } finally {
    await sql.close()
    await server.close()
  }
})

test('prefer: on N the startup goes out in plaintext on the same connection', async () => {
  const { server } = await sslServer(Buffer.from('N'), async (c) => {
    const params = await c.startup()
    assert.strictEqual(params.user, 'fake')
    c.send(f.startupOk())
    await c.expect('P', 'B', 'D', 'E', 'S')
    c.send(Buffer.concat([f.parseComplete(), f.bindComplete(), f.rowDescription([{ name: 'x', oid: 23 }]), f.dataRow(['7']), f.commandComplete('SELECT 1'), f.readyForQuery()]))
    await c.message().catch(() => {})
  })
  const sql = new SQL(server.url + '?sslmode=prefer')
  try {
    assert.deepStrictEqual([...(await sql`select 7 as x`)], [{ x: 7 }])
  } finally {
    await sql.close()
    await server.close()
  }
})

test('require: bytes after the S answer are refused (CVE-2021-23222)', async () => {
  const { server } = await sslServer(Buffer.concat([Buffer.from('S'), f.authOk(), f.readyForQuery()]))
  const sql = new SQL(server.url + '?sslmode=require')
  try {
    const err = await sql`select 1`.then(() => null, (e) => e)
    assert.ok(err instanceof SQL.PostgresError)
    assert.strictEqual(err.code, 'ERR_POSTGRES_UNEXPECTED_MESSAGE')
    assert.match(err.message, /unencrypted data/)
  } finally {
    await sql.close()
    await server.close()
  }
})

test('require: an error answer is refused without echoing the server text (CVE-2024-10977)', async () => {
  const { server } = await sslServer(f.errorResponse({ S: 'FATAL', C: '0A000', M: 'click here: evil.example' }))
  const sql = new SQL(server.url + '?sslmode=require')
  try {
    const err = await sql`select 1`.then(() => null, (e) => e)
    assert.strictEqual(err.code, 'ERR_POSTGRES_TLS_NOT_AVAILABLE')
    assert.ok(!err.message.includes('evil.example'))
  } finally {
    await sql.close()
    await server.close()
  }
})

test('require: garbage instead of a TLS handshake fails the connection cleanly', async () => {
  const { server } = await sslServer(Buffer.from('S'), async (c) => {
    await c.need(1) // the ClientHello
    c.socket.write(Buffer.from('this is not TLS at all, just bytes\n'))
  })
  const sql = new SQL(server.url + '?sslmode=require')
  try {
    const err = await sql`select 1`.then(() => null, (e) => e)
    assert.strictEqual(err.code, 'ERR_POSTGRES_TLS_UPGRADE_FAILED')
  } finally {
    await sql.close()
    await server.close()
  }
})
