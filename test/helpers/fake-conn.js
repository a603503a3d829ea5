'use strict'
// What every scripted server connection shares (fake-pg.js, fake-mysql.js): the bytes the client
// sent, buffered until a script reads them, and a wait for "n bytes are here".

class FakeClientConn {
  constructor(socket) {
    this.socket = socket
    this.buf = Buffer.alloc(0)
    this.waiters = []
    this.closed = false
    this.received = [] // every chunk the client sent, in order (see receivedBytes())
    socket.on('data', (d) => {
      this.received.push(d)
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

  // Everything the client sent so far, in one Buffer.
  receivedBytes() {
    return Buffer.concat(this.received)
  }
}

module.exports = { FakeClientConn }
