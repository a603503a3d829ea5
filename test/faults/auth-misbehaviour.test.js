'use strict'
// F20: a server that misbehaves during authentication. Each case must reject within a deadline
// with a clear error, answer each authentication request at most once (the fake server records
// every byte the client sent and counts PasswordMessages), never put a password on the wire
// that the protocol did not ask for, never dial again to the same server, and never let the
// password show up in the error (message, stack, util.inspect, JSON) or in util.inspect(sql).

const { test } = require('node:test')
const assert = require('node:assert')
const crypto = require('node:crypto')
const util = require('node:util')
const { SQL } = require('../..')
const { fakePg, serveQueries } = require('../helpers/fake-pg.js')
const f = require('../helpers/frames.js')

const DEADLINE_MS = 3000
// One distinctive password for every case, so that a leak in any form is found.
const PASSWORD = 'pw-sentinel-7Qx9'
const USER = 'fake'
const LEAK_FORMS = {
  plain: PASSWORD,
  hex: Buffer.from(PASSWORD).toString('hex'),
  base64: Buffer.from(PASSWORD).toString('base64').replace(/=+$/, ''),
}

const UNEXPECTED = 'ERR_POSTGRES_UNEXPECTED_MESSAGE'
const UNSUPPORTED = 'ERR_POSTGRES_UNSUPPORTED_AUTHENTICATION_METHOD'
const SIGNATURE = 'ERR_POSTGRES_SASL_SIGNATURE_MISMATCH'

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const settle = (p) => p.then((value) => ({ value }), (error) => ({ error }))

function within(promise, ms, what) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`HANG: ${what} did not settle within ${ms} ms`)), ms)
    }),
  ])
}

async function waitFor(cond, ms, what) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for: ${what}`)
    await sleep(5)
  }
}

// ---- SCRAM-SHA-256 server side (RFC 5802 / 7677), computed here with node:crypto ------------

const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest()
const sha256 = (data) => crypto.createHash('sha256').update(data).digest()
const xor = (a, b) => Buffer.from(a.map((x, i) => x ^ b[i]))

function scramAttrs(text) {
  const out = {}
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    if (eq === 1) out[part[0]] = part.slice(2)
  }
  return out
}

// Reads the SASLInitialResponse; returns the SCRAM state for the rest of the exchange.
async function readClientFirst(c) {
  const [m] = await c.expect('p')
  const { mechanism, data } = f.parseSaslInitialResponse(m.body)
  const text = data.toString('utf8')
  // gs2-header "n,," (or "y,,"/"p=..,,"): client-first-bare is what follows the second comma.
  const bare = text.slice(text.indexOf(',', text.indexOf(',') + 1) + 1)
  return { mechanism, clientFirst: text, clientFirstBare: bare, clientNonce: scramAttrs(bare).r }
}

function serverFirst(st, { nonce = st.clientNonce + 'SRVnonce+/abc', salt = crypto.randomBytes(16), iterations = 4096 } = {}) {
  st.salt = salt
  st.iterations = iterations
  st.serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iterations}`
  return f.authSaslContinue(st.serverFirst)
}

// Reads client-final, checks the client's proof for `password`; returns { proofOk, serverFinal }.
async function readClientFinal(c, st, password = PASSWORD) {
  const [m] = await c.expect('p')
  const clientFinal = m.body.toString('utf8')
  const withoutProof = clientFinal.slice(0, clientFinal.lastIndexOf(',p='))
  const proof = Buffer.from(scramAttrs(clientFinal).p, 'base64')
  const salted = crypto.pbkdf2Sync(password, st.salt, st.iterations, 32, 'sha256')
  const storedKey = sha256(hmac(salted, 'Client Key'))
  const authMessage = `${st.clientFirstBare},${st.serverFirst},${withoutProof}`
  const clientKey = xor(proof, hmac(storedKey, authMessage))
  const serverSignature = hmac(hmac(salted, 'Server Key'), authMessage)
  return { proofOk: sha256(clientKey).equals(storedKey), serverFinal: `v=${serverSignature.toString('base64')}` }
}

// Flips one bit of the signature, keeping it valid base64 of the right length.
function corrupt(serverFinal) {
  const sig = Buffer.from(serverFinal.slice(2), 'base64')
  sig[0] ^= 0x01
  return `v=${sig.toString('base64')}`
}

const md5hex = (s) => crypto.createHash('md5').update(s).digest('hex')

// ---- the runner ------------------------------------------------------------------------------

function assertNoPassword(what, text) {
  for (const [form, needle] of Object.entries(LEAK_FORMS)) {
    assert.ok(!String(text).includes(needle), `${what} contains the password (${form})`)
  }
}

const passwordMessages = (c) => f.splitFrontend(c.receivedBytes()).filter((m) => m.type === 'p')

// script(c): the misbehaving server (every connection gets it, so a client that dials again is
// caught by the connection count). expect: { codes, message, maxP (PasswordMessages allowed),
// cleartextOnWire (the server asked for a cleartext password once), check(c, err) }.
async function runCase(script, expect) {
  const server = await fakePg(script)
  const sql = new SQL(`postgres://${USER}:${PASSWORD}@127.0.0.1:${server.port}/fake`, { max: 1 })
  let failure = null
  try {
    const r = await within(settle(sql`select 1 as x`), DEADLINE_MS, 'the query')
    assert.ok(r.error, `expected the connection to be refused, the query resolved with ${JSON.stringify(r.value && [...r.value])}`)
    const err = r.error
    assert.ok(err instanceof SQL.PostgresError, `a PostgresError, got ${err && err.stack}`)
    if (expect.codes) assert.ok(expect.codes.includes(err.code), `code ${err.code} (${err.message}) is not one of ${expect.codes.join(', ')}`)
    if (expect.errno) assert.strictEqual(err.errno, expect.errno, `${err.code}: ${err.message}`)
    if (expect.message) assert.match(err.message, expect.message)
    assert.doesNotMatch(err.message, /invalid connection state|DB_E[A-Z]+/, 'no internal-state error reaches the user')

    assertNoPassword('err.message', err.message)
    assertNoPassword('err.stack', err.stack)
    assertNoPassword('util.inspect(err)', util.inspect(err, { depth: 5, showHidden: true }))
    assertNoPassword('JSON.stringify(err)', JSON.stringify(err))
    if (err.cause) assertNoPassword('util.inspect(err.cause)', util.inspect(err.cause, { depth: 5 }))
    assertNoPassword('util.inspect(sql)', util.inspect(sql, { depth: 5 }))
    assertNoPassword('util.inspect(sql.options)', util.inspect(sql.options, { depth: 5 }))

    // The client hangs up on the misbehaving server, and does not dial it again (a second
    // connection would send the password a second time).
    await waitFor(() => server.connections[0] && server.connections[0].closed, 1000, 'the client to close the connection')
    await sleep(50)
    assert.strictEqual(server.connections.length, 1, 'the client dialled the misbehaving server again')

    const c = server.connections[0]
    const ps = passwordMessages(c)
    assert.ok(ps.length <= expect.maxP, `${ps.length} PasswordMessages sent, at most ${expect.maxP} allowed`)
    if (!expect.cleartextOnWire) assertNoPassword('the bytes the client sent', c.receivedBytes().toString('latin1'))
    else {
      const count = c.receivedBytes().toString('latin1').split(PASSWORD).length - 1
      assert.strictEqual(count, 1, 'the cleartext password went on the wire exactly once')
    }
    if (expect.check) expect.check(c, err)
    const stats = sql._stats()
    if (stats) assert.ok(stats.badTransitions === 0, JSON.stringify(stats))
  } catch (err) {
    failure = err
  } finally {
    await within(sql.close({ timeout: 0 }), 2000, 'sql.close()').catch((err) => { failure = failure || err })
    await server.close()
  }
  if (failure) throw failure
}

// After a misbehaviour the server plays along if the client answers again, so that a client
// that wrongly continues connects (and fails the test) instead of hanging.
async function playAlong(c) {
  const m = await c.message().catch(() => null)
  if (m === null) return
  c.send(f.startupOk())
  await serveQueries(c, { startup: false })
}

const T = { timeout: 15000 }

// ---- cleartext / MD5 -------------------------------------------------------------------------

test('a repeated cleartext request after the password was sent: error, password sent once', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authCleartext())
  await c.expect('p')
  c.send(f.authCleartext())
  await playAlong(c)
}, { codes: [UNEXPECTED], maxP: 1, cleartextOnWire: true }))

test('a repeated MD5 request after the hash was sent: error, hash sent once', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authMd5(Buffer.from([1, 2, 3, 4])))
  await c.expect('p')
  c.send(f.authMd5(Buffer.from([5, 6, 7, 8])))
  await playAlong(c)
}, { codes: [UNEXPECTED], maxP: 1 }))

test('MD5 then a cleartext request: error, the cleartext password never leaves', T, () => runCase(async (c) => {
  await c.startup()
  const salt = Buffer.from([9, 8, 7, 6])
  c.send(f.authMd5(salt))
  const [m] = await c.expect('p')
  // The one answer is the right MD5 hash (so the test's server is not the thing at fault).
  const expected = 'md5' + md5hex(Buffer.concat([Buffer.from(md5hex(PASSWORD + USER)), salt]))
  assert.strictEqual(m.body.toString('latin1'), expected + '\0')
  c.send(f.authCleartext())
  await playAlong(c)
}, { codes: [UNEXPECTED], maxP: 1 }))

test('a cleartext request in the middle of SCRAM: error, the cleartext password never leaves', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  await readClientFirst(c)
  c.send(f.authCleartext())
  await playAlong(c)
}, { codes: [UNEXPECTED], maxP: 1 }))

// ---- SASL mechanism negotiation --------------------------------------------------------------

test('SASL offering only unknown mechanisms: unsupported method, nothing sent', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-1', 'X-UNKNOWN-MECH'))
  await playAlong(c)
}, { codes: [UNSUPPORTED], message: /SCRAM-SHA-256/, maxP: 0 }))

test('SASL offering only SCRAM-SHA-256-PLUS on a plaintext connection: refused, nothing sent', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256-PLUS'))
  await playAlong(c)
}, { codes: [UNSUPPORTED, UNEXPECTED], maxP: 0 }))

test('SASL with an empty mechanism list: refused, nothing sent', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl())
  await playAlong(c)
}, { codes: [UNSUPPORTED, UNEXPECTED], maxP: 0 }))

// ---- SASL message order ----------------------------------------------------------------------

test('SASLContinue before any SASL request: protocol error, nothing sent', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSaslContinue('r=abcdef,s=QUJDRA==,i=4096'))
  await playAlong(c)
}, { codes: [UNEXPECTED], maxP: 0 }))

test('SASLFinal before any SASL request: protocol error, nothing sent', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSaslFinal('v=AAAA'))
  await playAlong(c)
}, { codes: [UNEXPECTED], maxP: 0 }))

test('SASLFinal instead of SASLContinue: protocol error, only client-first sent', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  await readClientFirst(c)
  c.send(f.authSaslFinal('v=AAAA'))
  await playAlong(c)
}, { codes: [UNEXPECTED], maxP: 1 }))

test('a second AuthenticationSASL after SASLInitialResponse: protocol error, answered once', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  await readClientFirst(c)
  c.send(f.authSasl('SCRAM-SHA-256'))
  await playAlong(c)
}, { codes: [UNEXPECTED], maxP: 1 }))

test('a second SASLContinue after client-final: protocol error, client-final sent once', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  const st = await readClientFirst(c)
  const first = serverFirst(st)
  c.send(first)
  await readClientFinal(c, st)
  c.send(first)
  await playAlong(c)
}, { codes: [UNEXPECTED], maxP: 2 }))

// ---- SCRAM contents --------------------------------------------------------------------------

test('SCRAM server nonce that does not start with the client nonce (Bun #26941): refused before client-final', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  const st = await readClientFirst(c)
  assert.ok(st.clientNonce && st.clientNonce.length >= 18, `client nonce ${st.clientNonce}`)
  // Its first character changed (to one it cannot be: a random nonce may itself start with 'X').
  const first = st.clientNonce[0] === 'X' ? 'Y' : 'X'
  c.send(serverFirst(st, { nonce: first + st.clientNonce.slice(1) + 'SRVnonce' }))
  await playAlong(c)
}, { codes: [SIGNATURE, UNEXPECTED], message: /nonce/i, maxP: 1 }))

test('SCRAM server nonce equal to the client nonce (nothing added): refused before client-final', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  const st = await readClientFirst(c)
  c.send(serverFirst(st, { nonce: st.clientNonce }))
  await playAlong(c)
}, { codes: [SIGNATURE, UNEXPECTED], message: /nonce/i, maxP: 1 }))

test('SCRAM iteration count 0: refused before client-final', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  const st = await readClientFirst(c)
  c.send(serverFirst(st, { iterations: 0 }))
  await playAlong(c)
}, { codes: [SIGNATURE, UNEXPECTED], message: /iteration/i, maxP: 1 }))

test('SCRAM iteration count 2^31-1: refused at once, not computed', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  const st = await readClientFirst(c)
  c.send(serverFirst(st, { iterations: 2147483647 }))
  await playAlong(c)
}, { codes: [SIGNATURE, UNEXPECTED], message: /iteration/i, maxP: 1 }))

// A real SCRAM exchange, computed here: the control that makes the next cases meaningful.
test('SCRAM: a correct exchange with a valid server signature is accepted (control)', T, async () => {
  let proofOk = null
  const server = await fakePg(async (c) => {
    await c.startup()
    c.send(f.authSasl('SCRAM-SHA-256'))
    const st = await readClientFirst(c)
    assert.strictEqual(st.mechanism, 'SCRAM-SHA-256')
    c.send(serverFirst(st))
    const fin = await readClientFinal(c, st)
    proofOk = fin.proofOk
    c.send(Buffer.concat([f.authSaslFinal(fin.serverFinal), f.startupOk()]))
    await serveQueries(c, { startup: false })
  })
  const sql = new SQL(`postgres://${USER}:${PASSWORD}@127.0.0.1:${server.port}/fake`, { max: 1 })
  try {
    const rows = await within(sql`select ${5}::int as x`, DEADLINE_MS, 'the query')
    assert.deepStrictEqual([...rows].map((r) => ({ ...r })), [{ x: 5 }])
    assert.strictEqual(proofOk, true, 'the client proof verifies against the password')
    assert.deepStrictEqual(server.errors.map(String), [])
  } finally {
    await within(sql.close({ timeout: 0 }), 2000, 'sql.close()').catch(() => {})
    await server.close()
  }
})

test('SCRAM: a wrong server signature in SASLFinal is refused even if AuthOk follows', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  const st = await readClientFirst(c)
  c.send(serverFirst(st))
  const fin = await readClientFinal(c, st)
  assert.ok(fin.proofOk, 'the client proof verifies (so only the server signature is wrong)')
  c.send(Buffer.concat([f.authSaslFinal(corrupt(fin.serverFinal)), f.startupOk()]))
  await serveQueries(c, { startup: false })
}, { codes: [SIGNATURE], message: /signature/i, maxP: 2 }))

test('SCRAM: SASLFinal with a server error attribute (e=) is refused', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  const st = await readClientFirst(c)
  c.send(serverFirst(st))
  await readClientFinal(c, st)
  c.send(Buffer.concat([f.authSaslFinal('e=invalid-proof'), f.startupOk()]))
  await serveQueries(c, { startup: false })
}, { codes: [SIGNATURE, UNEXPECTED], message: /invalid-proof/, maxP: 2 }))

test('SCRAM: AuthenticationOk instead of SASLFinal is refused (the server never proved itself)', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  const st = await readClientFirst(c)
  c.send(serverFirst(st))
  await readClientFinal(c, st)
  c.send(f.startupOk())
  await serveQueries(c, { startup: false })
}, { message: /before SCRAM finished|SASLFinal/, maxP: 2 }))

// Downgrades in the middle of SCRAM (issue 9 gaps): the server gives up on SCRAM for a weaker
// method, or declares success before the client could check anything.

test('SCRAM: AuthenticationOk right after client-first (no SASLContinue) is refused, nothing more sent', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  await readClientFirst(c)
  c.send(f.startupOk())
  await serveQueries(c, { startup: false })
}, { maxP: 1 }))

test('SCRAM: an MD5 request after client-first is refused, no MD5 hash leaves', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  await readClientFirst(c)
  c.send(f.authMd5(Buffer.from([1, 2, 3, 4])))
  await playAlong(c)
}, {
  codes: [UNEXPECTED],
  maxP: 1,
  check: (c) => {
    const hash = 'md5' + md5hex(md5hex(PASSWORD + USER) + '\x01\x02\x03\x04')
    assert.ok(!c.receivedBytes().toString('latin1').includes(hash), 'the MD5 answer went out')
  },
}))

test('SCRAM: an MD5 request after client-final (before SASLFinal) is refused, answered once', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  const st = await readClientFirst(c)
  c.send(serverFirst(st))
  await readClientFinal(c, st)
  c.send(f.authMd5(Buffer.from([1, 2, 3, 4])))
  await playAlong(c)
}, { codes: [UNEXPECTED], maxP: 2 }))

test('SCRAM: a cleartext request after a valid SASLFinal (before AuthOk) is refused, the password never leaves', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authSasl('SCRAM-SHA-256'))
  const st = await readClientFirst(c)
  c.send(serverFirst(st))
  const { serverFinal } = await readClientFinal(c, st)
  c.send(Buffer.concat([f.authSaslFinal(serverFinal), f.authCleartext()]))
  await playAlong(c)
}, { codes: [UNEXPECTED], maxP: 2 }))

// ---- errors before authentication ------------------------------------------------------------

test('ErrorResponse before authentication with a 100 KB message: a server error, no password in it', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.errorResponse({ S: 'FATAL', V: 'FATAL', C: '28000', M: 'no pg_hba.conf entry ' + 'x'.repeat(100000), D: 'detail '.repeat(1000) }))
  await playAlong(c)
}, { codes: ['ERR_POSTGRES_SERVER_ERROR'], errno: '28000', message: /no pg_hba\.conf entry/, maxP: 0 }))

test('ErrorResponse right after the cleartext password: a server error, no password in it', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.authCleartext())
  await c.expect('p')
  c.send(f.errorResponse({ S: 'FATAL', V: 'FATAL', C: '28P01', M: 'password authentication failed for user "fake" ' + 'y'.repeat(50000) }))
  await playAlong(c)
}, { codes: ['ERR_POSTGRES_SERVER_ERROR'], errno: '28P01', maxP: 1, cleartextOnWire: true }))

test('malformed ErrorResponse before authentication: protocol error, no password in it', T, () => runCase(async (c) => {
  await c.startup()
  c.send(f.frame('E', Buffer.from('SFATAL\0C28000\0M' + 'z'.repeat(5000), 'latin1'))) // no NULs at the end
  await playAlong(c)
}, { codes: [UNEXPECTED, 'ERR_POSTGRES_INVALID_MESSAGE_LENGTH'], maxP: 0 }))
