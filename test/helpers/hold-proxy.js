'use strict'
// A TCP proxy on loopback that can hold back what clients send: the "stalled cancel connection"
// of RELIABILITY.md F15. Every accepted connection gets a number (0, 1, ...); once hold() was
// called, the bytes that connections accepted after that send toward the server are kept until
// release() (then delivered in order) and the server's end is not forwarded either; bytes from
// the server always pass. A pool's own connection can thus keep working while its cancel
// connection (a CancelRequest, or a MySQL killer's handshake) is stalled on the way.
//
//   const proxy = await holdProxy({ port })
//   new SQL(proxy.rewrite(url))
//   proxy.hold(n = 1, { afterServerWrites = 0 })
//                           // the next n connections accepted are held; with afterServerWrites
//                           // only once the server has written that often to them (a MySQL
//                           // killer's handshake and session setup pass, and its KILL is held)
//   proxy.accepted          // connections accepted so far
//   proxy.release()         // deliver what was held; later bytes flow
//   await proxy.close()

const net = require('node:net')

async function holdProxy({ host = '127.0.0.1', port }) {
  const sockets = new Set()
  const held = [] // { upstream, chunks: [], ended }
  let holdNext = 0
  let holdAfter = 0
  const p = { accepted: 0 }
  const server = net.createServer((client) => {
    p.accepted++
    const upstream = net.connect({ host, port })
    const entry = holdNext > 0 ? { upstream, chunks: [], ended: false, serverWrites: 0, after: holdAfter } : null
    if (entry) {
      holdNext--
      held.push(entry)
    }
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.setNoDelay(true)
      s.on('error', () => {})
      s.on('close', () => {
        sockets.delete(s)
        client.destroy()
        // A client that closes while held (it wrote, then closed) still has its bytes delivered.
        if (s === client && holding()) entry.ended = true
        else upstream.destroy()
      })
    }
    upstream.on('data', (d) => {
      if (entry) entry.serverWrites++
      client.write(d)
    })
    upstream.on('end', () => client.end())
    const holding = () => entry && entry.chunks && entry.serverWrites >= entry.after
    client.on('data', (d) => (holding() ? entry.chunks.push(d) : upstream.write(d)))
    client.on('end', () => (holding() ? (entry.ended = true) : upstream.end()))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  p.port = server.address().port
  p.rewrite = (url) => { const u = new URL(url); u.host = `127.0.0.1:${p.port}`; return u.toString() }
  p.hold = (n = 1, { afterServerWrites = 0 } = {}) => { holdNext = n; holdAfter = afterServerWrites }
  p.release = () => {
    holdNext = 0
    for (const e of held.splice(0)) {
      const chunks = e.chunks
      e.chunks = null
      if (e.upstream.destroyed) continue
      for (const d of chunks) e.upstream.write(d)
      if (e.ended) e.upstream.end()
    }
  }
  p.close = () => new Promise((resolve) => {
    for (const s of sockets) s.destroy()
    server.close(() => resolve())
  })
  return p
}

module.exports = { holdProxy }
