'use strict'
// A re-slicing TCP proxy on loopback (RELIABILITY.md H3 "slicer"): sits between the client and
// a real server and re-cuts the byte stream into writes of `chunk` bytes, so the client sees
// every message boundary at every possible offset.
//
//   const proxy = await slicingProxy({ host, port, toClient: 1, toServer: 0 })
//   new SQL(proxy.rewrite(url))          // same URL, host:port replaced by the proxy's
//   proxy.stats  -> { connections, toClient: { bytes, writes }, toServer: { bytes, writes } }
//   await proxy.close()
//
// toClient / toServer: bytes per write; 0 (or undefined) = forward each read as it came.
// pace (default true): yield to the event loop (setImmediate) after every sliced write, so each
// piece lands in its own read on the client side even though client and proxy share a process.

const net = require('node:net')

function slicer(src, dst, chunk, pace, stat) {
  const queue = []
  const state = { busy: () => pumping || queue.length > 0 }
  let queued = 0
  let pumping = false
  let ended = false
  const HIGH_WATER = 256 * 1024

  const waitDrain = () => new Promise((resolve) => {
    const done = () => { dst.off('drain', done); dst.off('close', done); resolve() }
    dst.on('drain', done)
    dst.on('close', done)
  })

  async function pump() {
    pumping = true
    try {
      while (queue.length > 0) {
        const buf = queue.shift()
        queued -= buf.length
        if (queued < HIGH_WATER && src.isPaused()) src.resume()
        const step = chunk > 0 ? chunk : buf.length
        for (let off = 0; off < buf.length; off += step) {
          if (dst.destroyed) return
          const ok = dst.write(buf.subarray(off, off + step))
          stat.writes++
          if (!ok) await waitDrain()
          if (pace && chunk > 0) await new Promise((resolve) => setImmediate(resolve))
        }
      }
    } finally {
      pumping = false
    }
    if (ended && !dst.destroyed) dst.end()
  }

  src.on('data', (d) => {
    stat.bytes += d.length
    queue.push(d)
    queued += d.length
    if (queued >= HIGH_WATER) src.pause()
    if (!pumping) pump()
  })
  const finish = () => {
    ended = true
    if (!pumping && !dst.destroyed) dst.end()
  }
  src.on('end', finish)
  src.on('close', finish)
  return state
}

async function slicingProxy({ host = '127.0.0.1', port, toClient = 1, toServer = 0, pace = true }) {
  const sockets = new Set()
  const slicers = new Set()
  const stats = {
    connections: 0,
    toClient: { bytes: 0, writes: 0 },
    toServer: { bytes: 0, writes: 0 },
  }
  const server = net.createServer((client) => {
    stats.connections++
    const upstream = net.connect({ host, port })
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.setNoDelay(true)
      s.on('error', () => {})
      // Either side gone: the other goes too, once the slicer toward it has written what it
      // still holds (ending it here would cut a paced tail short, e.g. a client's Terminate
      // written just before it closed its socket).
      s.on('close', () => sockets.delete(s))
    }
    slicers.add(slicer(upstream, client, toClient, pace, stats.toClient))
    slicers.add(slicer(client, upstream, toServer, pace, stats.toServer))
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const proxyPort = server.address().port
  return {
    host: '127.0.0.1',
    port: proxyPort,
    stats,
    // The same URL with host:port replaced by the proxy's.
    rewrite(url) {
      const u = new URL(url)
      u.hostname = '127.0.0.1'
      u.port = String(proxyPort)
      return u.toString()
    },
    // Lets the slicers write what they still hold (a paced tail: a client that wrote its
    // Terminate and closed at once) for up to a second, then destroys every socket.
    close: async () => {
      const until = Date.now() + 1000
      while ([...slicers].some((s) => s.busy()) && Date.now() < until) {
        await new Promise((resolve) => setImmediate(resolve))
      }
      await new Promise((resolve) => {
        for (const s of sockets) s.destroy()
        server.close(() => resolve())
      })
    },
  }
}

module.exports = { slicingProxy }
