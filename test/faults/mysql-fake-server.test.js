'use strict'
// MySQL behaviours MariaDB 10.11 cannot show, against a scripted server: caching_sha2_password
// (fast path, full auth over RSA with a fetched key, and its refusal without
// allowPublicKeyRetrieval), sha256-style key exchange, TLS stripping, malformed packets, wrong
// sequence ids, and a whole session delivered one byte at a time.

const { test } = require('node:test')
const assert = require('node:assert')
const crypto = require('node:crypto')
const util = require('node:util')
const { SQL } = require('../..')
const { fakeMysql, sha2Scramble, DEFAULT_CAPS, CAPS } = require('../helpers/fake-mysql.js')

const PASSWORD = 'Sentinel-Pa55word-7f3a'

async function withServer(script, fn) {
  const server = await fakeMysql(script)
  try {
    return await fn(server)
  } finally {
    await server.close()
  }
}

async function firstResult(sql) {
  try {
    return await sql.unsafe('select 1').simple()
  } finally {
    await sql.close({ timeout: 0 })
  }
}

// After authentication: the session setup, then one COM_QUERY answered with a=1.
const serveOneQuery = (c) => c.answerOneQuery(['a'], [['1']])

test('caching_sha2_password fast path: the scramble checks out and the query runs', async () => {
  let seen = null
  let nonce = null
  await withServer(async (c) => {
    c.greet({ plugin: 'caching_sha2_password' })
    const hello = await c.handshakeResponse()
    seen = hello
    nonce = c.nonce
    c.send(Buffer.from([0x01, 0x03])) // fast auth success
    c.send(c.ok())
    await serveOneQuery(c)
  }, async (server) => {
    const rows = await firstResult(new SQL(server.url('u', PASSWORD)))
    assert.deepStrictEqual(rows.map((r) => ({ ...r })), [{ a: '1' }])
  })
  assert.strictEqual(seen.plugin, 'caching_sha2_password')
  assert.ok(seen.auth.equals(sha2Scramble(PASSWORD, nonce)), 'the fast-path scramble is wrong')
  assert.strictEqual(seen.user, 'u')
  assert.strictEqual(seen.caps & 0x80, 0, 'CLIENT_LOCAL_FILES is never asked for')
})

function keyPair() {
  return crypto.generateKeyPairSync('rsa', { modulusLength: 2048, publicKeyEncoding: { type: 'spki', format: 'pem' }, privateKeyEncoding: { type: 'pkcs8', format: 'pem' } })
}

test('caching_sha2_password full auth over plaintext: refused without allowPublicKeyRetrieval, no password byte sent', async () => {
  let mark = null
  await withServer(async (c) => {
    c.greet({ plugin: 'caching_sha2_password' })
    await c.handshakeResponse()
    mark = c.receivedBytes().length
    c.send(Buffer.from([0x01, 0x04])) // perform full authentication
  }, async (server) => {
    const err = await firstResult(new SQL(server.url('u', PASSWORD))).then(() => null, (e) => e)
    assert.ok(err instanceof SQL.MySQLError, String(err))
    assert.strictEqual(err.code, 'ERR_MYSQL_PUBLIC_KEY_RETRIEVAL_NOT_ALLOWED')
    assert.ok(!util.inspect(err).includes(PASSWORD))
    const c = server.connections[0]
    assert.ok(await c.waitClosed(), 'the client did not close the connection')
    assert.strictEqual(c.receivedBytes().length - mark, 0, 'the client sent bytes after the server asked for full authentication')
  })
})

test('caching_sha2_password full auth with allowPublicKeyRetrieval: fetches the key, sends RSA-OAEP, the server reads the password', async () => {
  const { publicKey, privateKey } = keyPair()
  let recovered = null
  await withServer(async (c) => {
    c.greet({ plugin: 'caching_sha2_password' })
    await c.handshakeResponse()
    c.send(Buffer.from([0x01, 0x04]))
    const ask = await c.packet()
    assert.deepStrictEqual([...ask.payload], [0x02], 'the client asks for the public key')
    c.send(Buffer.concat([Buffer.from([0x01]), Buffer.from(publicKey)]))
    const enc = await c.packet()
    const plain = crypto.privateDecrypt({ key: privateKey, padding: crypto.constants.RSA_PKCS1_OAEP_PADDING }, enc.payload)
    recovered = Buffer.from(plain.map((b, i) => b ^ c.nonce[i % c.nonce.length])).toString()
    c.send(c.ok())
    await serveOneQuery(c)
  }, async (server) => {
    const rows = await firstResult(new SQL(server.url('u', PASSWORD), { allowPublicKeyRetrieval: true }))
    assert.strictEqual(rows.length, 1)
  })
  assert.strictEqual(recovered, PASSWORD + '\0')
})

test('TLS stripping: tls required and a greeting without CLIENT_SSL fails before anything is sent', async () => {
  await withServer(async (c) => {
    c.greet({ caps: DEFAULT_CAPS & ~CAPS.SSL })
  }, async (server) => {
    const err = await firstResult(new SQL(server.url('u', PASSWORD), { tls: true })).then(() => null, (e) => e)
    assert.ok(err instanceof SQL.MySQLError, String(err))
    assert.strictEqual(err.code, 'ERR_MYSQL_TLS_NOT_AVAILABLE')
    const c = server.connections[0]
    assert.ok(await c.waitClosed(), 'the client did not close the connection')
    assert.strictEqual(c.receivedBytes().length, 0, 'bytes were sent to a server that cannot do TLS')
  })
})

for (const [what, script] of [
  ['a wrong sequence id', async (c) => {
    c.greet()
    await c.handshakeResponse()
    c.send(c.ok(), { seq: 7 })
  }],
  ['a truncated greeting', async (c) => {
    c.resetSeq()
    c.send(Buffer.from([10, 0x35, 0x2e]))
  }],
  ['a result set whose row has too many cells', async (c) => {
    await c.login()
    await c.answerOneQuery(['a'], [['1', '2']])
  }],
]) {
  test(`malformed input fails the connection with a protocol error and the pool heals: ${what}`, async () => {
    await withServer(async (c, i) => {
      if (i === 0) return script(c)
      await c.login()
      await serveOneQuery(c)
    }, async (server) => {
      const sql = new SQL(server.url('u', PASSWORD), { max: 1 })
      try {
        const err = await sql.unsafe('select 1').simple().then(() => null, (e) => e)
        assert.ok(err instanceof SQL.MySQLError, String(err))
        assert.ok(['ERR_MYSQL_UNEXPECTED_MESSAGE', 'ERR_MYSQL_CONNECTION_CLOSED', 'ERR_MYSQL_INVALID_MESSAGE_LENGTH'].includes(err.code), err.code + ': ' + err.message)
        const rows = await sql.unsafe('select 1').simple()
        assert.strictEqual(rows[0].a, '1')
      } finally {
        await sql.close({ timeout: 0 })
      }
    })
  })
}

test('a whole session delivered one byte at a time', async () => {
  await withServer(async (c) => {
    c.resetSeq()
    c.send(c.greeting(), { chunk: 1 })
    await c.handshakeResponse()
    c.send(c.ok(), { chunk: 1 })
    const setup = await c.packet()
    assert.strictEqual(setup.payload[0], 0x03)
    c.send(c.ok(), { chunk: 1 })
    await c.command()
    c.resetSeq()
    c.seq = 1
    c.sendResultSet(['a', 'b'], [['1', null], ['x', 'y']], { chunk: 1 })
  }, async (server) => {
    const rows = await firstResult(new SQL(server.url('u', PASSWORD)))
    assert.deepStrictEqual(rows.map((r) => ({ ...r })), [{ a: '1', b: null }, { a: 'x', b: 'y' }])
  })
})
