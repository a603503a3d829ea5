'use strict'
// A scripted MySQL server on loopback, for what MariaDB 10.11 cannot show on demand:
// caching_sha2_password and sha256_password (MySQL 8's plugins), TLS stripping, malformed
// packets, wrong sequence ids, packets split one byte at a time.
//
//   const server = await fakeMysql(async (c) => {
//     c.greet({ plugin: 'caching_sha2_password' })   // Handshake v10 (seq 0)
//     const hello = await c.handshakeResponse()      // { user, auth, database, plugin, caps }
//     c.send(c.ok())                                 // seq follows the client's
//     await c.acceptSetup()                          // the client's SET time_zone
//     const q = await c.command()                    // { cmd, body }
//     c.resetSeq(); c.sendResultSet(['a'], [['1']], { chunk: 1 })
//   })
//   ... server.url, server.connections, await server.close()

const net = require('node:net')
const crypto = require('node:crypto')
const { FakeClientConn } = require('./fake-conn.js')

const CAPS = {
  LONG_PASSWORD: 0x1, FOUND_ROWS: 0x2, CONNECT_WITH_DB: 0x8, PROTOCOL_41: 0x200, SSL: 0x800,
  TRANSACTIONS: 0x2000, SECURE_CONNECTION: 0x8000, MULTI_STATEMENTS: 0x10000, MULTI_RESULTS: 0x20000,
  PS_MULTI_RESULTS: 0x40000, PLUGIN_AUTH: 0x80000, CONNECT_ATTRS: 0x100000, PLUGIN_AUTH_LENENC: 0x200000,
  DEPRECATE_EOF: 0x1000000,
}
const DEFAULT_CAPS = CAPS.LONG_PASSWORD | CAPS.CONNECT_WITH_DB | CAPS.PROTOCOL_41 | CAPS.TRANSACTIONS |
  CAPS.SECURE_CONNECTION | CAPS.MULTI_STATEMENTS | CAPS.MULTI_RESULTS | CAPS.PS_MULTI_RESULTS |
  CAPS.PLUGIN_AUTH | CAPS.CONNECT_ATTRS | CAPS.PLUGIN_AUTH_LENENC | CAPS.DEPRECATE_EOF

function lenenc(n) {
  if (n < 251) return Buffer.from([n])
  if (n < 0x10000) return Buffer.from([0xfc, n & 0xff, n >> 8])
  if (n < 0x1000000) return Buffer.from([0xfd, n & 0xff, (n >> 8) & 0xff, n >> 16])
  const b = Buffer.alloc(9)
  b[0] = 0xfe
  b.writeBigUInt64LE(BigInt(n), 1)
  return b
}

const lenstr = (s) => {
  const b = Buffer.isBuffer(s) ? s : Buffer.from(String(s))
  return Buffer.concat([lenenc(b.length), b])
}

const sha = (alg, ...parts) => {
  const h = crypto.createHash(alg)
  for (const p of parts) h.update(p)
  return h.digest()
}

const xor = (a, b) => Buffer.from(a.map((x, i) => x ^ b[i % b.length]))

// What a correct client answers to caching_sha2_password's fast path.
function sha2Scramble(password, nonce) {
  const p1 = sha('sha256', password)
  return xor(p1, sha('sha256', sha('sha256', p1), nonce))
}

class FakeMysqlConn extends FakeClientConn {
  constructor(socket, id) {
    super(socket)
    this.id = id
    this.seq = 0
    this.caps = DEFAULT_CAPS
    this.nonce = crypto.randomBytes(20).map((b) => (b % 94) + 33) // printable, no NUL
  }

  // One client packet: { seq, payload }. The next server packet continues its sequence.
  async packet() {
    await this.need(4)
    const len = this.buf.readUIntLE(0, 3)
    const seq = this.buf[3]
    await this.need(4 + len)
    const payload = this.buf.subarray(4, 4 + len)
    this.buf = this.buf.subarray(4 + len)
    this.seq = (seq + 1) & 0xff
    return { seq, payload }
  }

  // Resolves once the client closed (or after ms); true when it did.
  async waitClosed(ms = 2000) {
    const deadline = Date.now() + ms
    while (!this.closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5))
    return this.closed
  }

  resetSeq() {
    this.seq = 0
  }

  // Frames a payload with the running sequence id. chunk: 1 = one byte per write.
  send(payload, { seq, chunk } = {}) {
    const s = seq === undefined ? this.seq : seq
    this.seq = (s + 1) & 0xff
    const head = Buffer.alloc(4)
    head.writeUIntLE(payload.length, 0, 3)
    head[3] = s
    this.write(Buffer.concat([head, payload]), chunk)
  }

  write(bytes, chunk) {
    if (this.closed) return
    if (chunk === 1) {
      for (let i = 0; i < bytes.length; i++) this.socket.write(bytes.subarray(i, i + 1))
    } else {
      this.socket.write(bytes)
    }
  }

  greeting({ plugin = 'mysql_native_password', caps = this.caps, version = '8.0.99-fake' } = {}) {
    this.caps = caps
    return greetingPayload({ plugin, caps, version, threadId: this.id, nonce: this.nonce })
  }

  greet(opts) {
    this.resetSeq()
    this.send(this.greeting(opts))
  }

  // The HandshakeResponse41 (after an SSLRequest when the client asked for TLS, which these
  // tests never grant).
  async handshakeResponse() {
    const { payload } = await this.packet()
    const caps = payload.readUInt32LE(0)
    let at = 32
    const zero = payload.indexOf(0, at)
    const user = payload.subarray(at, zero).toString()
    at = zero + 1
    let auth
    if (caps & CAPS.PLUGIN_AUTH_LENENC) {
      const n = payload[at]
      auth = payload.subarray(at + 1, at + 1 + n)
      at += 1 + n
    } else {
      const n = payload[at]
      auth = payload.subarray(at + 1, at + 1 + n)
      at += 1 + n
    }
    let database = null
    if (caps & CAPS.CONNECT_WITH_DB) {
      const z = payload.indexOf(0, at)
      database = payload.subarray(at, z).toString()
      at = z + 1
    }
    const z = payload.indexOf(0, at)
    const plugin = payload.subarray(at, z).toString()
    return { caps, user, auth, database, plugin, payload }
  }

  ok({ affected = 0, insertId = 0, status = 2, eof = false } = {}) {
    return Buffer.concat([Buffer.from([eof ? 0xfe : 0x00]), lenenc(affected), lenenc(insertId), Buffer.from([status & 0xff, status >> 8, 0, 0])])
  }

  err(code, sqlstate, message) {
    const b = Buffer.alloc(3)
    b[0] = 0xff
    b.writeUInt16LE(code, 1)
    return Buffer.concat([b, Buffer.from('#' + sqlstate + message)])
  }

  // The session setup the client runs after authenticating (SET time_zone): answered OK.
  async acceptSetup() {
    const { payload } = await this.packet()
    if (payload[0] !== 0x03) throw new Error('expected COM_QUERY for the session setup, got ' + payload[0])
    this.send(this.ok())
    return payload.subarray(1).toString()
  }

  async command() {
    const { payload } = await this.packet()
    return { cmd: payload[0], body: payload.subarray(1) }
  }

  columnDef(name, type = 253) {
    const tail = Buffer.alloc(13)
    tail[0] = 0x0c
    tail.writeUInt16LE(45, 1)
    tail.writeUInt32LE(255, 3)
    tail[7] = type
    return Buffer.concat([lenstr('def'), lenstr(''), lenstr(''), lenstr(''), lenstr(name), lenstr(name), tail])
  }

  // A text-protocol result set (the answer to COM_QUERY), with DEPRECATE_EOF framing.
  sendResultSet(names, rows, opts = {}) {
    const packets = [lenenc(names.length), ...names.map((n) => this.columnDef(n))]
    for (const row of rows) packets.push(Buffer.concat(row.map((v) => (v === null ? Buffer.from([0xfb]) : lenstr(v)))))
    packets.push(this.ok({ eof: true }))
    for (const p of packets) this.send(p, opts)
  }

  // A plain mysql_native_password login, answered OK (whatever the client sent).
  async login(opts) {
    this.greet(opts)
    const hello = await this.handshakeResponse()
    this.send(this.ok())
    return hello
  }

  // After authentication: the session setup, then one COM_QUERY answered with this result set.
  async answerOneQuery(names, rows, opts = {}) {
    await this.acceptSetup()
    const q = await this.command()
    if (q.cmd !== 0x03) throw new Error('expected COM_QUERY, got ' + q.cmd)
    this.seq = 1
    this.sendResultSet(names, rows, opts)
    return q.body.toString()
  }

  end() {
    this.socket.end()
  }
}

async function fakeMysql(script) {
  const connections = []
  let nextId = 1
  const server = net.createServer((socket) => {
    const c = new FakeMysqlConn(socket, nextId++)
    connections.push(c)
    Promise.resolve().then(() => script(c, connections.length - 1)).catch(() => socket.destroy())
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const port = server.address().port
  return {
    port,
    url: (user = 'u', password = 'secret-pw') => `mysql://${user}:${password}@127.0.0.1:${port}/db`,
    connections,
    close: () => new Promise((resolve) => {
      for (const c of connections) c.socket.destroy()
      server.close(resolve)
    }),
  }
}

// A HandshakeV10 payload (no packet header): protocol 10, the server version, the thread id, the
// 20-byte scramble in its two parts, the capability flags, utf8mb4_general_ci, status
// SERVER_STATUS_AUTOCOMMIT, 21 bytes of auth data, the auth plugin.
function greetingPayload({ plugin = 'mysql_native_password', caps = DEFAULT_CAPS, version = '8.0.99-fake', threadId = 1, nonce }) {
  const head = Buffer.alloc(4)
  head.writeUInt32LE(threadId, 0)
  const flags = Buffer.alloc(2 + 1 + 2 + 2 + 1 + 10)
  flags.writeUInt16LE(caps & 0xffff, 0)
  flags[2] = 45
  flags.writeUInt16LE(2, 3)
  flags.writeUInt16LE(caps >>> 16, 5)
  flags[7] = 21
  return Buffer.concat([Buffer.from([10]), Buffer.from(version + '\0'), head, nonce.subarray(0, 8), Buffer.from([0]),
    flags, nonce.subarray(8), Buffer.from([0]), Buffer.from(plugin + '\0')])
}

module.exports = { fakeMysql, greetingPayload, sha2Scramble, CAPS, DEFAULT_CAPS, lenenc, lenstr }
