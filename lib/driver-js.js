'use strict'
// The JS half of the `js` I/O driver (src/net/net_js.h, src/napi/js_sock.c): JS owns the
// sockets, C owns the protocol, TLS, the pool and every deadline. Used under Bun, whose libuv
// socket functions abort the process; selectable under Node (driver: 'js', UVSQL_DRIVER=js).
// The sockets are node:net ones under Node and Bun's own (Bun.connect, lib/driver-bun.js)
// under Bun.
//
// C hands over ops in batches, run(op, id, arg, op, id, arg, ...) (one array of them when there
// are many: src/napi/js_sock.c). Running them never calls into C: socket events reach C later,
// one per event, through binding.driverEvent(), and each socket id gets exactly one CLOSED
// event, its last.

const net = require('node:net')
const os = require('node:os')
const { binding } = require('./binding.js')
const { makeBunRun } = require('./driver-bun.js')

// Shared with src/net/net_js.h.
const OP_OPEN = 1
const OP_WRITE = 2
const OP_END = 3
const OP_DESTROY = 4
const OP_REF = 5
const EV_CONNECT = 1
const EV_DATA = 2
const EV_END = 3
const EV_ERROR = 4
const EV_CLOSED = 5
const EV_DRAINED = 6 // lib/driver-bun.js only: node:net keeps its own queue, C never writes directly

// DNS failures as libuv numbers them (UV_EAI_*), which is how C names them (base_err.c).
const EAI = { ENOTFOUND: -3008, EAI_AGAIN: -3001, EAI_FAIL: -3004, EAI_NODATA: -3007 }
const EIO = -(os.constants.errno.EIO || 5)

let handle = null
const sockets = new Map() // id -> net.Socket

function errnoOf(err) {
  const code = err && err.code
  if (code in EAI) return EAI[code]
  const n = os.constants.errno[code]
  if (typeof n === 'number') return -n
  return typeof (err && err.errno) === 'number' && err.errno < 0 ? err.errno : EIO
}

function emit(id, ev, data) {
  binding().driverEvent(handle, id, ev, data)
}

function open(id, [host, port, path, ref]) {
  let sock
  try {
    sock = path !== null ? net.connect({ path }) : net.connect({ host, port, noDelay: true })
  } catch (err) {
    // Bad arguments throw at once; C hears of it later, as of any failed connect.
    process.nextTick(() => { emit(id, EV_ERROR, errnoOf(err)); emit(id, EV_CLOSED) })
    return
  }
  sockets.set(id, sock)
  if (!ref) sock.unref()
  sock.on('connect', () => emit(id, EV_CONNECT))
  sock.on('data', (chunk) => emit(id, EV_DATA, chunk))
  sock.on('end', () => emit(id, EV_END))
  sock.on('error', (err) => emit(id, EV_ERROR, errnoOf(err)))
  sock.on('close', () => {
    if (sockets.get(id) === sock) sockets.delete(id)
    emit(id, EV_CLOSED)
  })
}

// An END waits for the bytes to go out, then lets go of the socket at once (a peer that never
// closes its side cannot keep it, or the pool's close(), waiting).
function end(sock) {
  sock.end(() => sock.destroy())
}

function run(...ops) {
  if (ops.length === 1) ops = ops[0]
  for (let i = 0; i < ops.length; i += 3) {
    const op = ops[i]
    const id = ops[i + 1]
    if (op === OP_OPEN) {
      open(id, ops[i + 2])
      continue
    }
    const sock = sockets.get(id)
    if (sock === undefined) continue // closed meanwhile; C learns it from CLOSED
    if (op === OP_WRITE) sock.write(ops[i + 2])
    else if (op === OP_END) end(sock)
    else if (op === OP_DESTROY) sock.destroy()
    else if (op === OP_REF) ops[i + 2] ? sock.ref() : sock.unref()
  }
}

const OP = { OPEN: OP_OPEN, WRITE: OP_WRITE, END: OP_END, DESTROY: OP_DESTROY, REF: OP_REF }
const EV = { CONNECT: EV_CONNECT, DATA: EV_DATA, END: EV_END, ERROR: EV_ERROR, CLOSED: EV_CLOSED, DRAINED: EV_DRAINED }

// The one driver handle of this JS environment.
function jsDriver() {
  if (handle === null) {
    const useBun = typeof Bun === 'object' && typeof Bun.connect === 'function'
    handle = binding().driverCreate(useBun ? makeBunRun(emit, errnoOf, OP, EV) : run, useBun)
  }
  return handle
}

module.exports = { jsDriver }
