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

class FakeConn {
  constructor(socket) {
    this.socket = socket
    this.buf = Buffer.alloc(0)
    this.waiters = []
    this.closed = false
    socket.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d])
      this.wake()
    })
    socket.on('close', () => {
      this.closed = true
      this.wake()
    })
    socket.on('error', () => {})
  }

  wake() {
    const w = this.waiters
    this.waiters = []
    for (const fn of w) fn()
  }

  async need(n) {
    while (this.buf.length < n) {
      if (this.closed) throw new Error('client closed the connection')
      await new Promise((resolve) => this.waiters.push(resolve))
    }
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

module.exports = { fakePg }
