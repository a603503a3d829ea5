'use strict'
// A scripted PostgreSQL server on loopback, for faults a real server will not produce on demand.
//
//   const server = await fakePg(async (c) => {
//     await c.startup()                       // reads the StartupMessage
//     c.send(frames.startupOk())
//     const msgs = await c.expect('P', 'B', 'D', 'E', 'S')
//     c.send(bytes, { chunk: 1 })             // byte by byte, or { chunk: 'random', seed }
//   })
//   ... server.url, server.connections, await server.close()

const net = require('node:net')
const frames = require('./frames.js')
const { FakeClientConn } = require('./fake-conn.js')

class FakeConn extends FakeClientConn {
  constructor(socket) {
    super(socket)
    this.statements = new Map() // prepared statement name -> parameter type OIDs (serveQueries)
  }

  // Reads the untyped StartupMessage; returns its parameters.
  async startup() {
    await this.need(4)
    const len = this.buf.readUInt32BE(0)
    await this.need(len)
    const body = this.buf.subarray(8, len)
    this.buf = this.buf.subarray(len)
    const parts = body.toString('utf8').split('\0')
    const params = {}
    for (let i = 0; i + 1 < parts.length; i += 2) if (parts[i]) params[parts[i]] = parts[i + 1]
    return params
  }

  // Reads one typed message: { type, body }.
  async message() {
    await this.need(5)
    const len = this.buf.readUInt32BE(1)
    await this.need(len + 1)
    const msg = { type: String.fromCharCode(this.buf[0]), body: this.buf.subarray(5, len + 1) }
    this.buf = this.buf.subarray(len + 1)
    return msg
  }

  // Reads messages and checks their types in order.
  async expect(...types) {
    const out = []
    for (const t of types) {
      const m = await this.message()
      if (m.type !== t) throw new Error(`fake server expected '${t}', got '${m.type}'`)
      out.push(m)
    }
    return out
  }

  // Reads messages up to and including the next Sync; returns them. null when the client sent
  // Terminate or closed first.
  async readUntilSync() {
    const out = []
    for (;;) {
      let m
      try {
        m = await this.message()
      } catch {
        return null
      }
      if (m.type === 'X') return null
      out.push(m)
      if (m.type === 'S') return out
    }
  }

  // chunk: undefined (one write), a number (bytes per write), or 'random' with a seed.
  // pace: yield to the event loop between writes (returns a promise), so that each piece
  // really arrives in its own read on the client side (client and server share this process).
  send(bytes, { chunk, seed = 1, pace = false } = {}) {
    if (this.closed) return
    if (!chunk) {
      this.socket.write(bytes)
      return
    }
    if (pace) return this.sendPaced(bytes, chunk, seed)
    let rnd = seed >>> 0
    const next = () => {
      rnd = (rnd * 1103515245 + 12345) >>> 0
      return rnd
    }
    for (let off = 0; off < bytes.length;) {
      const n = chunk === 'random' ? 1 + (next() % 17) : chunk
      // cork/uncork does not split; setNoDelay + separate writes usually arrive separately,
      // and the client must be correct for any split anyway.
      this.socket.write(bytes.subarray(off, off + n))
      off += n
    }
  }

  async sendPaced(bytes, chunk, seed) {
    let rnd = seed >>> 0
    for (let off = 0; off < bytes.length;) {
      rnd = (rnd * 1103515245 + 12345) >>> 0
      const n = chunk === 'random' ? 1 + (rnd % 17) : chunk
      if (this.closed) return
      this.socket.write(bytes.subarray(off, off + n))
      off += n
      await new Promise((resolve) => setImmediate(resolve))
    }
  }

  end() {
    this.socket.end()
  }

  destroy() {
    this.socket.destroy()
  }
}

async function fakePg(script) {
  const connections = []
  const errors = []
  const server = net.createServer((socket) => {
    socket.setNoDelay(true)
    const c = new FakeConn(socket)
    connections.push(c)
    Promise.resolve()
      .then(() => script(c, connections.length - 1))
      .catch((err) => {
        if (!c.closed) errors.push(err)
        socket.destroy()
      })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address()
  return {
    port,
    url: `postgres://fake@127.0.0.1:${port}/fake`,
    connections,
    errors,
    close: () => new Promise((resolve) => {
      for (const c of connections) c.destroy()
      server.close(() => resolve())
    }),
  }
}

// The correct answer to one Sync-terminated group of extended-protocol messages, as a server
// would give it. Each query answers one row that echoes its parameters: column 'x' for one
// parameter ('x1', 'x2'... for more; 'x' = 1 when there are none), typed by the Parse OIDs
// (0 -> text). `c` keeps named statements' types across groups.
function answerFor(group, c = null) {
  const statements = c ? c.statements : new Map()
  const parts = []
  let types = []
  let values = []
  const fields = () => {
    if (values.length === 0) return [{ name: 'x', oid: 23 }]
    return values.map((_, i) => ({ name: values.length === 1 ? 'x' : 'x' + (i + 1), oid: types[i] || 25 }))
  }
  const cells = () => (values.length === 0 ? ['1'] : values.map((v) => (v === null ? null : v.toString('utf8'))))
  for (const m of group) {
    switch (m.type) {
      case 'P': {
        const p = frames.parseParseMessage(m.body)
        statements.set(p.name, p.types)
        types = p.types
        parts.push(frames.parseComplete())
        break
      }
      case 'B': {
        const b = frames.parseBindMessage(m.body)
        types = statements.get(b.statement) || types
        values = b.values
        parts.push(frames.bindComplete())
        break
      }
      case 'D':
        if (m.body[0] === 0x53 /* 'S' */) {
          const [name] = m.body.subarray(1).toString('utf8').split('\0')
          types = statements.get(name) || types
          parts.push(frames.parameterDescription(types))
        }
        parts.push(frames.rowDescription(fields()))
        break
      case 'E':
        parts.push(frames.dataRow(cells()), frames.commandComplete('SELECT 1'))
        break
      case 'C':
        parts.push(frames.closeComplete())
        break
      case 'S':
        parts.push(frames.readyForQuery('I'))
        break
      default: // Flush and anything else: no answer
        break
    }
  }
  return Buffer.concat(parts)
}

// A well-behaved server on connection `c`: startup without a password, then answerFor() for
// every Sync group until the client sends Terminate or closes. sendOptions as for c.send().
async function serveQueries(c, { sendOptions = {}, startup = true } = {}) {
  if (startup) {
    await c.startup()
    await c.send(frames.startupOk(), sendOptions)
  }
  for (;;) {
    const group = await c.readUntilSync()
    if (group === null) return
    await c.send(answerFor(group, c), sendOptions)
  }
}

module.exports = { fakePg, answerFor, serveQueries }
