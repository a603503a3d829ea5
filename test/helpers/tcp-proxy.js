'use strict'
// A counting TCP proxy on loopback: every accepted client is piped to the target. When the
// target cannot be reached, the client socket is destroyed at once (the client sees its
// connection closed without a byte). Counts accepts, so a test can see how often a pool dials.
//
//   const proxy = await tcpProxy({ host: '127.0.0.1', port: 5432 })
//   proxy.port, proxy.accepts, proxy.upstreamFailures, proxy.log ([{ t, ok }]), await proxy.close()

const net = require('node:net')
const { performance } = require('node:perf_hooks')

async function tcpProxy({ host = '127.0.0.1', port }) {
  const sockets = new Set()
  const p = { accepts: 0, upstreamFailures: 0, log: [] }
  const server = net.createServer((client) => {
    p.accepts++
    const entry = { t: performance.now(), ok: null }
    p.log.push(entry)
    sockets.add(client)
    client.on('close', () => sockets.delete(client))
    client.on('error', () => {})
    client.pause()
    const upstream = net.connect({ host, port })
    sockets.add(upstream)
    upstream.on('close', () => { sockets.delete(upstream); client.destroy() })
    client.on('close', () => upstream.destroy())
    upstream.on('error', () => {
      if (entry.ok === null) {
        entry.ok = false
        p.upstreamFailures++
      }
      client.destroy()
    })
    upstream.on('connect', () => {
      entry.ok = true
      upstream.setNoDelay(true)
      client.setNoDelay(true)
      client.pipe(upstream)
      upstream.pipe(client)
      client.resume()
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  p.port = server.address().port
  p.host = '127.0.0.1'
  // Accepts in [t0, t1) (performance.now() times).
  p.acceptsBetween = (t0, t1) => p.log.filter((e) => e.t >= t0 && e.t < t1).length
  p.close = () => new Promise((resolve) => {
    for (const s of sockets) s.destroy()
    server.close(() => resolve())
  })
  return p
}

module.exports = { tcpProxy }
