'use strict'
// libpq's channel_binding and require_auth against the real PostgreSQL (its users: trust, md5,
// scram, cleartext; TLS on): what each setting lets through, what it refuses and with which
// error, and that libpq-only URL settings never reach the server as startup parameters.

const { test } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')

const withQuery = (url, query) => url + (url.includes('?') ? '&' : '?') + query

async function whoami(url, options = {}) {
  const sql = new SQL(url, { max: 1, connectionTimeout: 10, ...options })
  try {
    const [row] = await sql`select current_user as user, (select ssl from pg_stat_ssl where pid = pg_backend_pid()) as ssl`
    return row
  } finally {
    await sql.close()
  }
}

async function refusal(url, options) {
  const err = await whoami(url, options).then(() => null, (e) => e)
  assert.ok(err, 'the connection is refused')
  assert.strictEqual(err.code, 'ERR_POSTGRES_UNSUPPORTED_AUTHENTICATION_METHOD', err.message)
  return err
}

test('channel_binding=require over TLS authenticates a SCRAM user with SCRAM-SHA-256-PLUS', async () => {
  assert.deepStrictEqual(await whoami(withQuery(pg.scram, 'sslmode=require&channel_binding=require')),
    { user: 'uvsql_scram', ssl: true })
})

test('channel_binding=disable over TLS still authenticates with plain SCRAM (the server offered -PLUS)', async () => {
  assert.deepStrictEqual(await whoami(pg.scram, { tls: true, channel_binding: 'disable' }), { user: 'uvsql_scram', ssl: true })
  assert.deepStrictEqual(await whoami(pg.scram, { tls: true, channelBinding: 'prefer' }), { user: 'uvsql_scram', ssl: true })
})

test('channel_binding=require refuses a connection without TLS, before any password is sent', async () => {
  const err = await refusal(withQuery(pg.scram, 'sslmode=disable&channel_binding=require'))
  assert.match(err.message, /channel_binding=require, but the connection does not use TLS/)
})

for (const [method, said] of [['md5', /MD5/], ['cleartext', /cleartext/], ['trust', /without authentication/]]) {
  test(`channel_binding=require refuses ${method} authentication, even over TLS`, async () => {
    const err = await refusal(withQuery(pg[method], 'sslmode=require&channel_binding=require'))
    assert.match(err.message, said)
    assert.match(err.message, /no channel binding/)
  })
}

test('require_auth lets the listed methods through and refuses the others', async () => {
  assert.strictEqual((await whoami(withQuery(pg.md5, 'require_auth=md5'))).user, 'uvsql_md5')
  assert.strictEqual((await whoami(pg.scram, { require_auth: 'scram-sha-256' })).user, 'uvsql_scram')
  assert.strictEqual((await whoami(pg.trust, { requireAuth: 'none' })).user, 'uvsql_trust')
  assert.strictEqual((await whoami(pg.cleartext, { require_auth: 'md5,password' })).user, 'uvsql_clear')

  let err = await refusal(pg.md5, { require_auth: 'scram-sha-256' })
  assert.match(err.message, /the server asked for MD5 password authentication, which require_auth does not allow/)
  err = await refusal(withQuery(pg.cleartext, 'require_auth=!password'))
  assert.match(err.message, /cleartext password/)
  err = await refusal(pg.trust, { require_auth: 'scram-sha-256' })
  assert.match(err.message, /without authentication/)
  err = await refusal(pg.scram, { require_auth: '!scram-sha-256' })
  assert.match(err.message, /SCRAM-SHA-256/)
})

test('PGCHANNELBINDING and PGREQUIREAUTH are read like libpq does; an option overrides them', async () => {
  const saved = { cb: process.env.PGCHANNELBINDING, ra: process.env.PGREQUIREAUTH }
  try {
    process.env.PGREQUIREAUTH = 'scram-sha-256'
    await refusal(pg.md5)
    assert.strictEqual((await whoami(pg.md5, { require_auth: 'md5' })).user, 'uvsql_md5')
    delete process.env.PGREQUIREAUTH
    process.env.PGCHANNELBINDING = 'require'
    await refusal(withQuery(pg.scram, 'sslmode=disable'))
  } finally {
    for (const [k, v] of [['PGCHANNELBINDING', saved.cb], ['PGREQUIREAUTH', saved.ra]]) {
      if (v === undefined) delete process.env[k]
      else process.env[k] = v
    }
  }
})

test('a libpq connection string works unchanged: its client-side settings are not sent to the server', async () => {
  const url = withQuery(pg.url, 'gssencmode=disable&target_session_attrs=any&connect_timeout=7&channel_binding=prefer&application_name=uvsql-libpq')
  const sql = new SQL(url, { max: 1 })
  try {
    assert.strictEqual(sql.options.connectionTimeout, 7)
    const [row] = await sql`select current_setting('application_name') as app`
    assert.strictEqual(row.app, 'uvsql-libpq')
  } finally {
    await sql.close()
  }
})

test('bad channel_binding / require_auth values and unsupported libpq settings fail at construction', () => {
  const bad = [
    [{ channel_binding: 'always' }, /channel_binding must be disable, prefer or require/],
    [{ require_auth: 'kerberos' }, /unknown method 'kerberos'/],
    [{ require_auth: 'md5,!password' }, /cannot mix negated and plain methods/],
    [{ require_auth: 'gss' }, /allows no method this client supports/],
    [{ require_auth: '!none,!password,!md5,!scram-sha-256' }, /allows no method/],
    [{ require_auth: 'md5', channel_binding: 'require' }, /channel_binding=require needs SCRAM-SHA-256/],
  ]
  for (const [options, message] of bad) {
    assert.throws(() => new SQL(pg.url, options), (e) => e.code === 'ERR_INVALID_ARG_VALUE' && message.test(e.message), JSON.stringify(options))
  }
  assert.throws(() => new SQL(withQuery(pg.url, 'gssencmode=require')), /gssencmode=require is not supported/)
  assert.throws(() => new SQL(withQuery(pg.url, 'target_session_attrs=read-write')), /target_session_attrs=read-write is not supported/)
  assert.throws(() => new SQL('mysql://u@127.0.0.1/db', { channel_binding: 'require' }), /PostgreSQL settings/)
})
