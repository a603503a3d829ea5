'use strict'
// The TLS security matrix (RELIABILITY.md §3.2, issue 9): TLS mode × server behaviour, for
// PostgreSQL (SSLRequest answered 'S', 'N', 'E', garbage, 'S' + buffered bytes, or 'S' with a
// bad / wrong-host / expired certificate) and for MySQL (a greeting with CLIENT_SSL, without it
// (stripping), an ERR instead of a greeting, garbage, CLIENT_SSL with plaintext bytes glued after
// the greeting, bad / wrong-host / expired certificate). Each cell has one expected outcome and an
// event trace, in the style of libpq's 005_negotiate_encryption.pl:
//
//   tls    connects over TLS; the credential goes out only inside TLS
//   plain  connects without TLS (disable, or prefer against a server without TLS)
//   fail   the query fails with the listed error code, and NO credential byte left the client on
//          any connection: PostgreSQL: no StartupMessage/password in plaintext, nothing sent after
//          the TLS handshake failed; MySQL: nothing but the 32-byte SSLRequest after the greeting
//
// Every cell uses one sentinel password, which must never appear in an error message, stack,
// util.inspect of the error or of the client, and (for fail cells) never in any byte the server
// received, plaintext or decrypted. The PostgreSQL server asks for the cleartext password (the
// most revealing method) so the trace shows exactly where it went. The MySQL server uses
// mysql_native_password; its credential bytes are the user name and the 20-byte scramble.
//
// Certificates: a CA made at test start; a good server certificate (SAN localhost, 127.0.0.1), one
// from another CA (bad), one for wrong.example (wrong host) and one that expired in 2020, all made
// with the openssl CLI (`openssl ca` for the back-dated one).

const { test, before, after } = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const net = require('node:net')
const tls = require('node:tls')
const path = require('node:path')
const util = require('node:util')
const crypto = require('node:crypto')
const { execFileSync } = require('node:child_process')
const { Duplex } = require('node:stream')
const { SQL } = require('../..')
const { makeCerts } = require('../helpers/certs.js')
const { answerFor } = require('../helpers/fake-pg.js')
const f = require('../helpers/frames.js')
const { lenenc, DEFAULT_CAPS, CAPS, greetingPayload } = require('../helpers/fake-mysql.js')

const PASSWORD = 'Sntl-matrix-7d2e-pw'
const MY_USER = 'matrix_user_41'

let dir
let certs // { ca, good: {cert,key}, bad, wrongHost, expired }

function opensslSync(args, cwd) {
  execFileSync('openssl', args, { cwd, env: { ...process.env, OPENSSL_CONF: '/dev/null' }, stdio: 'pipe' })
}

// A certificate signed by the CA in `d` with `openssl ca` (which can back-date).
function caSign(d, name, { cn, san, start, end, days }) {
  fs.writeFileSync(path.join(d, 'ca.conf'), ['[ca]', 'default_ca=d', '[d]', 'database=index.txt', 'new_certs_dir=.',
    'serial=serial', 'default_md=sha256', 'policy=p', 'copy_extensions=copy', 'unique_subject=no', '[p]', 'commonName=supplied', ''].join('\n'))
  if (!fs.existsSync(path.join(d, 'index.txt'))) fs.writeFileSync(path.join(d, 'index.txt'), '')
  if (!fs.existsSync(path.join(d, 'serial'))) fs.writeFileSync(path.join(d, 'serial'), '1000\n')
  opensslSync(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${cn}`, '-addext', `subjectAltName=${san}`,
    '-keyout', `${name}.key`, '-out', `${name}.csr`], d)
  const dates = start ? ['-startdate', start, '-enddate', end] : ['-days', String(days)]
  opensslSync(['ca', '-batch', '-config', 'ca.conf', '-cert', 'ca.crt', '-keyfile', 'ca.key', '-in', `${name}.csr`,
    '-out', `${name}.crt`, ...dates], d)
  return { cert: fs.readFileSync(path.join(d, `${name}.crt`)), key: fs.readFileSync(path.join(d, `${name}.key`)) }
}

before(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvsql-matrix-'))
  const mine = path.join(dir, 'ca')
  const evil = path.join(dir, 'evil')
  fs.mkdirSync(mine)
  fs.mkdirSync(evil)
  const [a, b] = await Promise.all([makeCerts(mine), makeCerts(evil, { caName: 'some other CA' })])
  certs = {
    caFile: a.ca,
    good: { cert: fs.readFileSync(a.cert), key: fs.readFileSync(a.key) },
    bad: { cert: fs.readFileSync(b.cert), key: fs.readFileSync(b.key) },
    wrongHost: caSign(mine, 'wrong', { cn: 'wrong.example', san: 'DNS:wrong.example', days: 30 }),
    expired: caSign(mine, 'expired', { cn: 'localhost', san: 'DNS:localhost,IP:127.0.0.1', start: '20200101000000Z', end: '20200102000000Z' }),
  }
})

after(() => {
  if (dir) fs.rmSync(dir, { recursive: true, force: true })
})

// ---- a byte reader over a stream (plain or TLS) ----------------------------------------------

class Reader {
  constructor(stream, log) {
    this.buf = Buffer.alloc(0)
    this.waiters = []
    this.closed = false
    stream.on('data', (d) => {
      if (log) log.push(d)
      this.buf = Buffer.concat([this.buf, d])
      this.wake()
    })
    stream.on('close', () => { this.closed = true; this.wake() })
    stream.on('end', () => { this.closed = true; this.wake() })
    stream.on('error', () => {})
  }

  wake() {
    const w = this.waiters
    this.waiters = []
    for (const fn of w) fn()
  }

  async take(n) {
    while (this.buf.length < n) {
      if (this.closed) throw new Error('closed')
      await new Promise((resolve) => this.waiters.push(resolve))
    }
    const out = this.buf.subarray(0, n)
    this.buf = this.buf.subarray(n)
    return out
  }

  detach(stream) {
    stream.removeAllListeners('data')
  }
}

// A TLS server socket over an accepted TCP socket (after 'S' / the MySQL SSLRequest).
// `pending`: bytes the Reader already took off the socket (a MySQL client sends its ClientHello
// right behind the SSLRequest, without waiting): they go to TLS first, through a Duplex.
function upgrade(socket, cert, log, events, pending) {
  const duplex = new Duplex({
    read() {},
    write(chunk, enc, cb) { socket.write(chunk, cb) },
    final(cb) { socket.end(); cb() },
    destroy(err, cb) { socket.destroy(); cb(err) },
  })
  if (pending && pending.length) duplex.push(pending)
  socket.on('data', (d) => duplex.push(d))
  socket.on('end', () => duplex.push(null))
  socket.on('close', () => duplex.destroy())
  const s = new tls.TLSSocket(duplex, { isServer: true, ...cert })
  s.on('secure', () => events.push('tls'))
  s.on('error', () => events.push('tls-error'))
  const r = new Reader(s, log)
  return { s, r }
}

// One fake server for a whole matrix row; `conns` records each connection's trace.
async function listen(onConn) {
  const conns = []
  const sockets = new Set()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    socket.on('close', () => sockets.delete(socket))
    const c = { raw: [], inner: [], events: [] }
    conns.push(c)
    onConn(socket, c).catch(() => socket.destroy())
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    conns,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy()
      server.close(() => resolve())
    }),
  }
}

// ---- PostgreSQL ------------------------------------------------------------------------------

const PG_BEHAVIOURS = ['S', 'N', 'E', 'garbage', 'S+extra', 'bad-cert', 'wrong-host', 'expired']
const PG_CERT = { S: 'good', 'S+extra': 'good', 'bad-cert': 'bad', 'wrong-host': 'wrongHost', expired: 'expired' }

async function pgPlainSession(r, w, c) {
  const head = await r.take(4)
  const len = head.readUInt32BE(0)
  await r.take(len - 4)
  c.events.push('startup')
  w.write(f.authCleartext())
  const t = await r.take(5)
  await r.take(t.readUInt32BE(1) - 4)
  c.events.push('password')
  w.write(f.startupOk())
  for (;;) {
    const group = []
    for (;;) {
      const h = await r.take(5)
      const body = await r.take(h.readUInt32BE(1) - 4)
      const type = String.fromCharCode(h[0])
      if (type === 'X') return
      group.push({ type, body })
      if (type === 'S') break
    }
    c.events.push('query')
    w.write(answerFor(group))
  }
}

function pgServer(behaviour) {
  return listen(async (socket, c) => {
    const r = new Reader(socket, c.raw)
    const first = await r.take(8)
    if (first.readUInt32BE(4) !== 80877103) { // no SSLRequest: a StartupMessage (disable)
      r.buf = Buffer.concat([first, r.buf])
      return pgPlainSession(r, socket, c)
    }
    c.events.push('sslrequest')
    switch (behaviour) {
      case 'N':
        socket.write('N')
        return pgPlainSession(r, socket, c)
      case 'E':
        socket.end(f.errorResponse({ S: 'FATAL', C: '0A000', M: 'no TLS here: see evil.example' }))
        return
      case 'garbage':
        socket.end('HTTP/1.1 400 Bad Request\r\n\r\n')
        return
      default: {
        // 'S' + extra: an AuthOk + ReadyForQuery buffered right behind the 'S' (CVE-2021-23222)
        socket.write(behaviour === 'S+extra' ? Buffer.concat([Buffer.from('S'), f.authOk(), f.readyForQuery()]) : 'S')
        r.detach(socket)
        const { s, r: tr } = upgrade(socket, certs[PG_CERT[behaviour]], c.inner, c.events, r.buf)
        return pgPlainSession(tr, s, c)
      }
    }
  })
}

// mode -> behaviour -> [outcome, error code for fail]
const NA = 'ERR_POSTGRES_TLS_NOT_AVAILABLE'
const UP = 'ERR_POSTGRES_TLS_UPGRADE_FAILED'
const UX = 'ERR_POSTGRES_UNEXPECTED_MESSAGE'
const PG_EXPECT = {
  disable: { S: ['plain'], N: ['plain'], E: ['plain'], garbage: ['plain'], 'S+extra': ['plain'], 'bad-cert': ['plain'], 'wrong-host': ['plain'], expired: ['plain'] },
  prefer: { S: ['tls'], N: ['plain'], E: ['fail', NA], garbage: ['fail', UX], 'S+extra': ['fail', UX], 'bad-cert': ['tls'], 'wrong-host': ['tls'], expired: ['tls'] },
  require: { S: ['tls'], N: ['fail', NA], E: ['fail', NA], garbage: ['fail', UX], 'S+extra': ['fail', UX], 'bad-cert': ['tls'], 'wrong-host': ['tls'], expired: ['tls'] },
  'verify-ca': { S: ['tls'], N: ['fail', NA], E: ['fail', NA], garbage: ['fail', UX], 'S+extra': ['fail', UX], 'bad-cert': ['fail', UP], 'wrong-host': ['tls'], expired: ['fail', UP] },
  'verify-full': { S: ['tls'], N: ['fail', NA], E: ['fail', NA], garbage: ['fail', UX], 'S+extra': ['fail', UX], 'bad-cert': ['fail', UP], 'wrong-host': ['fail', UP], expired: ['fail', UP] },
}

function checkNoSentinel(err, sql, where) {
  for (const text of [err && err.message, err && err.stack, err && util.inspect(err, { showHidden: true, depth: 6 }),
    util.inspect(sql, { showHidden: true, depth: 6 }), err && JSON.stringify(err)]) {
    if (typeof text === 'string') assert.ok(!text.includes(PASSWORD), `${where}: the password shows: ${text.slice(0, 200)}`)
  }
}

// One cell: a query through a fresh client; what the server saw (plaintext bytes, bytes inside
// TLS, the event trace of every connection). MATRIX_TRACE=1 prints each cell.
async function runCell(server, url, cell) {
  const t0 = Date.now()
  // connectionTimeout 2: a MySQL ERR greeting is retried until the connect deadline (see README)
  const sql = new SQL(url, { max: 1, connectionTimeout: 2 })
  let err = null
  let rows = null
  try {
    rows = await sql`select ${1}::int as x`
  } catch (e) {
    err = e
  }
  checkNoSentinel(err, sql, url)
  await sql.close()
  await new Promise((resolve) => setTimeout(resolve, 20)) // let the server see the last bytes
  const raw = Buffer.concat(server.conns.flatMap((c) => c.raw)).toString('latin1')
  const inner = Buffer.concat(server.conns.flatMap((c) => c.inner)).toString('latin1')
  const trace = server.conns.map((c) => c.events.join(',')).join(' | ')
  if (process.env.MATRIX_TRACE) process.stderr.write(`${cell}: ${Date.now() - t0} ms ${err ? err.code : 'ok'} [${trace}]\n`)
  return { err, rows, raw, inner, trace }
}

const matrix = { pg: 0, mysql: 0 }

for (const mode of Object.keys(PG_EXPECT)) {
  test(`PostgreSQL TLS matrix: sslmode=${mode} × ${PG_BEHAVIOURS.join(', ')}`, async () => {
    const failures = []
    for (const behaviour of PG_BEHAVIOURS) {
      const [want, code] = PG_EXPECT[mode][behaviour]
      const server = await pgServer(behaviour)
      const cell = `${mode} × ${behaviour}`
      try {
        const ca = mode.startsWith('verify') ? `&sslrootcert=${encodeURIComponent(certs.caFile)}` : ''
        const url = `postgres://fake:${PASSWORD}@127.0.0.1:${server.port}/fake?sslmode=${mode}${ca}`
        const { err, rows, raw, inner, trace } = await runCell(server, url, cell)
        if (want === 'fail') {
          assert.ok(err, `${cell}: expected ${code}, connected (trace ${trace})`)
          assert.strictEqual(err.code, code, `${cell}: ${err.message} (trace ${trace})`)
          assert.ok(!raw.includes(PASSWORD) && !inner.includes(PASSWORD), `${cell}: the password left the client`)
          for (const c of server.conns) {
            assert.ok(!c.events.includes('startup'), `${cell}: a StartupMessage was sent (trace ${trace})`)
          }
          assert.ok(!err.message.includes('evil.example'), `${cell}: server text from a pre-auth error is shown`)
        } else {
          assert.ok(!err, `${cell}: ${err && err.code} ${err && err.message} (trace ${trace})`)
          assert.strictEqual(rows[0].x, 1)
          const c = server.conns[0]
          if (want === 'tls') {
            assert.deepStrictEqual(c.events.slice(0, 4), ['sslrequest', 'tls', 'startup', 'password'], `${cell}: trace ${trace}`)
            assert.ok(!raw.includes(PASSWORD), `${cell}: the password went out in plaintext`)
            assert.ok(inner.includes(PASSWORD), `${cell}: the password inside TLS`)
          } else {
            const expected = mode === 'disable' ? ['startup', 'password'] : ['sslrequest', 'startup', 'password']
            assert.deepStrictEqual(c.events.slice(0, expected.length), expected, `${cell}: trace ${trace}`)
          }
        }
        matrix.pg++
      } catch (e) {
        failures.push(e.message.split('\n')[0])
      } finally {
        await server.close()
      }
    }
    assert.deepStrictEqual(failures, [])
  })
}

// ---- MySQL -----------------------------------------------------------------------------------

const MY_BEHAVIOURS = ['ssl', 'no-ssl', 'err', 'garbage', 'ssl+extra', 'bad-cert', 'wrong-host', 'expired']
const MY_CERT = { ssl: 'good', 'ssl+extra': 'good', 'bad-cert': 'bad', 'wrong-host': 'wrongHost', expired: 'expired' }
const NONCE = Buffer.from('abcdefghij0123456789')

function myPacket(seq, payload) {
  const h = Buffer.alloc(4)
  h.writeUIntLE(payload.length, 0, 3)
  h[3] = seq
  return Buffer.concat([h, payload])
}

const myGreeting = (caps) => greetingPayload({ caps, version: '10.11.99-matrix', threadId: 1, nonce: NONCE })

const myOk = (eof = false) => Buffer.concat([Buffer.from([eof ? 0xfe : 0]), lenenc(0), lenenc(0), Buffer.from([2, 0, 0, 0])])

// What a correct client sends for mysql_native_password: the credential bytes to look for.
function nativeScramble(password) {
  const sha1 = (...b) => { const h = crypto.createHash('sha1'); for (const x of b) h.update(x); return h.digest() }
  const p1 = sha1(password)
  const p2 = sha1(sha1(p1))
  const x = sha1(NONCE, p2)
  return Buffer.from(p1.map((v, i) => v ^ x[i]))
}

async function myPackets(r) {
  const h = await r.take(4)
  return { seq: h[3], payload: await r.take(h.readUIntLE(0, 3)) }
}

async function mySession(r, w, c, seq) {
  const hello = await myPackets(r)
  c.events.push('response')
  assert.ok(hello.payload.includes(Buffer.from(MY_USER)))
  w.write(myPacket(seq + 2, myOk()))
  for (;;) {
    const { payload } = await myPackets(r)
    const cmd = payload[0]
    if (cmd === 0x01) return // COM_QUIT
    c.events.push('cmd' + cmd)
    if (cmd === 0x03) { // COM_QUERY (the session setup): OK
      w.write(myPacket(1, myOk()))
    } else if (cmd === 0x16) { // COM_STMT_PREPARE "select ?": 1 column, 1 parameter
      const col = (name) => Buffer.concat([lenenc(3), Buffer.from('def'), lenenc(0), lenenc(0), lenenc(0), lenenc(name.length), Buffer.from(name), lenenc(name.length), Buffer.from(name),
        Buffer.from([0x0c, 63, 0, 20, 0, 0, 0, 8, 0x80, 0, 0, 0, 0])])
      w.write(Buffer.concat([myPacket(1, Buffer.from([0, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0])), myPacket(2, col('?')), myPacket(3, col('x'))]))
      c.col = col
    } else if (cmd === 0x17) { // COM_STMT_EXECUTE: one LONGLONG row, 1
      const row = Buffer.concat([Buffer.from([0, 0]), Buffer.from([1, 0, 0, 0, 0, 0, 0, 0])])
      w.write(Buffer.concat([myPacket(1, lenenc(1)), myPacket(2, c.col('x')), myPacket(3, row), myPacket(4, myOk(true))]))
    } else if (cmd === 0x19) { // COM_STMT_CLOSE: no answer
    } else {
      w.write(myPacket(1, myOk()))
    }
  }
}

function myServer(behaviour) {
  return listen(async (socket, c) => {
    const r = new Reader(socket, c.raw)
    switch (behaviour) {
      case 'no-ssl': // a greeting stripped of CLIENT_SSL (BACKRONYM)
        socket.write(myPacket(0, myGreeting(DEFAULT_CAPS)))
        return mySession(r, socket, c, 0)
      case 'err':
        socket.end(myPacket(0, Buffer.concat([Buffer.from([0xff, 0x10, 0x04]), Buffer.from('#08004see evil.example')])))
        return
      case 'garbage':
        socket.end('SSH-2.0-OpenSSH_9.2\r\n')
        return
      default: {
        const greet = myPacket(0, myGreeting(DEFAULT_CAPS | CAPS.SSL))
        // ssl+extra: a fake OK glued to the greeting, in plaintext (Bun's mysql-tls-handshake)
        socket.write(behaviour === 'ssl+extra' ? Buffer.concat([greet, myPacket(1, myOk())]) : greet)
        const first = await myPackets(r)
        const caps = first.payload.readUInt32LE(0)
        if (!(caps & CAPS.SSL)) { // the client went on without TLS (disable): a HandshakeResponse
          c.events.push('response')
          r.buf = Buffer.concat([myPacket(first.seq, first.payload), r.buf])
          c.events.pop()
          return mySession(r, socket, c, 0)
        }
        c.events.push('sslrequest')
        assert.strictEqual(first.payload.length, 32, 'the SSLRequest is 32 bytes')
        r.detach(socket)
        const { s, r: tr } = upgrade(socket, certs[MY_CERT[behaviour]], c.inner, c.events, r.buf)
        return mySession(tr, s, c, 1)
      }
    }
  })
}

const MNA = 'ERR_MYSQL_TLS_NOT_AVAILABLE'
const MUP = 'ERR_MYSQL_TLS_UPGRADE_FAILED'
// Filled in below from what each mode must do; 'proto' = any protocol-level failure code.
const MY_EXPECT = {
  disable: { ssl: ['plain'], 'no-ssl': ['plain'], err: ['fail', 'server'], garbage: ['fail', 'proto'], 'ssl+extra': ['fail', 'proto'], 'bad-cert': ['plain'], 'wrong-host': ['plain'], expired: ['plain'] },
  prefer: { ssl: ['tls'], 'no-ssl': ['plain'], err: ['fail', 'server'], garbage: ['fail', 'proto'], 'ssl+extra': ['fail', 'proto'], 'bad-cert': ['tls'], 'wrong-host': ['tls'], expired: ['tls'] },
  require: { ssl: ['tls'], 'no-ssl': ['fail', MNA], err: ['fail', 'server'], garbage: ['fail', 'proto'], 'ssl+extra': ['fail', 'proto'], 'bad-cert': ['tls'], 'wrong-host': ['tls'], expired: ['tls'] },
  'verify-ca': { ssl: ['tls'], 'no-ssl': ['fail', MNA], err: ['fail', 'server'], garbage: ['fail', 'proto'], 'ssl+extra': ['fail', 'proto'], 'bad-cert': ['fail', MUP], 'wrong-host': ['tls'], expired: ['fail', MUP] },
  'verify-full': { ssl: ['tls'], 'no-ssl': ['fail', MNA], err: ['fail', 'server'], garbage: ['fail', 'proto'], 'ssl+extra': ['fail', 'proto'], 'bad-cert': ['fail', MUP], 'wrong-host': ['fail', MUP], expired: ['fail', MUP] },
}

for (const mode of Object.keys(MY_EXPECT)) {
  test(`MySQL TLS matrix: ssl mode ${mode} × ${MY_BEHAVIOURS.join(', ')}`, async () => {
    const scramble = nativeScramble(PASSWORD).toString('latin1')
    const failures = []
    for (const behaviour of MY_BEHAVIOURS) {
      const [want, code] = MY_EXPECT[mode][behaviour]
      const server = await myServer(behaviour)
      const cell = `${mode} × ${behaviour}`
      try {
        const ca = mode.startsWith('verify') ? `&sslrootcert=${encodeURIComponent(certs.caFile)}` : ''
        const url = `mysql://${MY_USER}:${PASSWORD}@127.0.0.1:${server.port}/db?sslmode=${mode}${ca}`
        const { err, rows, raw, inner, trace } = await runCell(server, url, cell)
        if (want === 'fail') {
          assert.ok(err, `${cell}: expected a failure, connected (trace ${trace})`)
          if (code === 'server') assert.ok(err instanceof SQL.MySQLError && /^ERR_MYSQL_/.test(err.code), `${cell}: ${err.code}`)
          else if (code === 'proto') assert.ok(/^ERR_MYSQL_/.test(err.code), `${cell}: ${err.code} ${err.message}`)
          else assert.strictEqual(err.code, code, `${cell}: ${err.message} (trace ${trace})`)
          for (const text of [raw, inner]) {
            assert.ok(!text.includes(MY_USER) && !text.includes(scramble) && !text.includes(PASSWORD), `${cell}: credential bytes left the client (trace ${trace})`)
          }
          assert.ok(!err.message.includes('evil.example') || code === 'server', `${cell}: ${err.message}`)
        } else {
          assert.ok(!err, `${cell}: ${err && err.code} ${err && err.message} (trace ${trace})`)
          assert.strictEqual(Number(rows[0].x), 1)
          if (want === 'tls') {
            assert.deepStrictEqual(server.conns[0].events.slice(0, 3), ['sslrequest', 'tls', 'response'], `${cell}: trace ${trace}`)
            assert.ok(!raw.includes(MY_USER) && !raw.includes(scramble), `${cell}: credential bytes in plaintext`)
            assert.ok(inner.includes(MY_USER), `${cell}: the HandshakeResponse inside TLS`)
          } else {
            assert.strictEqual(server.conns[0].events[0], 'response', `${cell}: trace ${trace}`)
          }
        }
        matrix.mysql++
      } catch (e) {
        failures.push(e.message.split('\n')[0])
      } finally {
        await server.close()
      }
    }
    assert.deepStrictEqual(failures, [])
  })
}

test('matrix cells passing (printed for the README)', () => {
  const total = Object.keys(PG_EXPECT).length * PG_BEHAVIOURS.length + Object.keys(MY_EXPECT).length * MY_BEHAVIOURS.length
  process.stdout.write(`# security matrix: ${matrix.pg} PostgreSQL + ${matrix.mysql} MySQL cells passing of ${total}\n`)
})
