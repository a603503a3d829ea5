'use strict'
// The js driver's sockets under Bun: Bun.connect, Bun's own TCP/unix sockets, instead of the
// node:net layer that Bun builds on top of them (streams, nextTicks and an EventEmitter per
// socket; twice the client CPU per query in S1). lib/driver-js.js decides which one runs and
// owns the protocol with C; this file only turns ops into socket calls and socket callbacks
// into events, with the same guarantees as the node:net half:
//   - each socket id gets exactly one CLOSED event, its last;
//   - running ops never calls into C. Bun calls `close` synchronously from end(), so events
//     that happen while ops run wait for a microtask.
//
// What Bun's sockets do differently from node:net (Bun 1.4, checked by hand):
//   - write() takes what the kernel takes now and returns that count (-1 once closed); the
//     rest is ours to keep and to write again on `drain`. Bytes are never reordered: once
//     something waits, every later write waits behind it.
//   - end() sends FIN and closes at once (allowHalfOpen is off), calling `close` before it
//     returns; terminate() would reset the connection, so it is not used.
//   - A failed connect calls `connectError` (and rejects the promise), never `close`. A
//     socket exists only from `open` on, so ops that come before it wait for it.
//   - A peer's FIN calls `end`, then `close`; a reset or read error calls `close(s, err)`.
//   - A handler that throws becomes an uncaught exception (no `error` handler here), as a
//     throwing 'data' listener does under node:net.
//   - write() is one send(fd, MSG_DONTWAIT | MSG_NOSIGNAL) with nothing buffered in front of
//     it, even inside a handler (no corking), and `sock.fd` is the descriptor. So CONNECT hands
//     C the fd and C sends directly while this side holds none of the socket's bytes; C hands
//     a WRITE op here only for what the kernel did not take (or before the connect), and
//     DRAINED (the count of WRITE ops received, all now in the kernel) tells it when it may
//     write directly again.

// `st` (socket.data): one per id. `sock` is null until `open`; `queue` holds Buffers not yet
// taken by the kernel (null when none); `writes` counts the WRITE ops received (mod 2^32);
// `closed` is set once CLOSED went to C.
function makeBunRun (emit, errnoOf, OP, EV) {
  const sockets = new Map() // id -> st, until CLOSED
  let running = 0
  let deferred = null // [id, ev, data, ...] that happened while ops ran

  function report (st, ev, data) {
    if (running > 0) {
      if (deferred === null) {
        deferred = []
        queueMicrotask(flushDeferred)
      }
      deferred.push(st.id, ev, data)
    } else {
      emit(st.id, ev, data)
    }
  }

  function flushDeferred () {
    const d = deferred
    deferred = null
    for (let i = 0; i < d.length; i += 3) emit(d[i], d[i + 1], d[i + 2])
  }

  function reportClosed (st) {
    if (st.closed) return
    st.closed = true
    sockets.delete(st.id)
    report(st, EV.CLOSED)
  }

  // Writes what waits, in order, as far as the kernel takes it; once nothing waits, ends the
  // socket when asked to, or else tells C it may write directly again.
  function pump (st) {
    if (st.closed) return // C ended it from inside an event; nothing is to go out any more
    const q = st.queue
    if (q !== null) {
      while (q.length > 0) {
        const buf = q[0]
        const n = st.sock.write(buf)
        if (n < 0) return // closed: `close` tells C
        if (n < buf.length) {
          q[0] = buf.subarray(n)
          return
        }
        q.shift()
      }
      st.queue = null
    }
    if (st.ending) st.sock.end() // C writes nothing more after an END: no DRAINED then
    else if (q !== null) report(st, EV.DRAINED, st.writes) // C may write directly again
  }

  const handlers = {
    // Chunks as ArrayBuffers: C reads their bytes in place, where a Buffer's would first be
    // moved out of the JS heap (src/napi/js_sock.c, read_chunk).
    binaryType: 'arraybuffer',
    open (sock) {
      const st = sock.data
      st.sock = sock
      if (st.closed) { // destroyed while connecting
        sock.end()
        return
      }
      if (st.tcp) sock.setNoDelay(true)
      if (!st.ref) sock.unref()
      report(st, EV.CONNECT, typeof sock.fd === 'number' && sock.fd >= 0 ? sock.fd : -1)
      if (st.queue !== null || st.ending) pump(st) // bytes queued before the connect
    },
    data (sock, chunk) {
      const st = sock.data
      if (!st.closed) report(st, EV.DATA, chunk)
    },
    drain (sock) {
      const st = sock.data
      if (!st.closed) pump(st)
    },
    end (sock) {
      const st = sock.data
      if (!st.closed) report(st, EV.END)
    },
    close (sock, err) {
      const st = sock.data
      if (st.closed) return
      if (err) report(st, EV.ERROR, errnoOf(err))
      reportClosed(st)
    },
    connectError (sock, err) {
      const st = sock.data
      if (st.closed) return
      report(st, EV.ERROR, errnoOf(err))
      reportClosed(st)
    }
  }

  function open (id, [host, port, path, ref]) {
    const st = { id, sock: null, queue: null, writes: 0, ending: false, closed: false, ref, tcp: path === null }
    try {
      const opts = path !== null
        ? { unix: path, socket: handlers, data: st }
        : { hostname: host, port, socket: handlers, data: st }
      // connectError handles the failure; the promise's rejection is only a copy of it.
      Bun.connect(opts).catch(() => {})
    } catch (err) {
      // Bad arguments throw at once; C hears of it later, as of any failed connect.
      report(st, EV.ERROR, errnoOf(err))
      st.closed = true
      report(st, EV.CLOSED)
      return
    }
    sockets.set(id, st)
  }

  function write (st, buf) {
    st.writes = (st.writes + 1) >>> 0
    if (st.sock === null || st.queue !== null) {
      if (st.queue === null) st.queue = [buf]
      else st.queue.push(buf)
      return
    }
    const n = st.sock.write(buf)
    if (n < 0) return // closed: `close` tells C
    if (n < buf.length) st.queue = [buf.subarray(n)]
    else report(st, EV.DRAINED, st.writes)
  }

  // END: once the written bytes are out. DESTROY: now, dropping what waits (a FIN all the
  // same: a reset would make the server log an error for a connection we chose to close).
  function end (st) {
    st.ending = true
    if (st.sock !== null && st.queue === null) st.sock.end()
  }

  function destroy (st) {
    st.queue = null
    if (st.sock !== null) {
      st.sock.end()
    } else {
      reportClosed(st) // still connecting: C is done with it now; `open` closes it later
    }
  }

  function setRef (st, on) {
    st.ref = on
    if (st.sock !== null) on ? st.sock.ref() : st.sock.unref()
  }

  // ops: [op, id, arg, ...], as the arguments or, when there are many, as one array.
  return function run (...ops) {
    if (ops.length === 1) ops = ops[0]
    running++
    try {
      for (let i = 0; i < ops.length; i += 3) {
        const op = ops[i]
        const id = ops[i + 1]
        if (op === OP.OPEN) {
          open(id, ops[i + 2])
          continue
        }
        const st = sockets.get(id)
        if (st === undefined) continue // closed meanwhile; C learns it from CLOSED
        if (op === OP.WRITE) write(st, ops[i + 2])
        else if (op === OP.END) end(st)
        else if (op === OP.DESTROY) destroy(st)
        else if (op === OP.REF) setRef(st, ops[i + 2])
      }
    } finally {
      running--
    }
  }
}

module.exports = { makeBunRun }
