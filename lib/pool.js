'use strict'
// The JS face of one native pool. It holds no connections, counters, timers or retries (those
// live in C); only the map from query id to the promise that waits for it.

const { binding } = require('./binding.js')
const { nativeConfig } = require('./options.js')
const { dialects } = require('./dialect.js')
const { callUser } = require('./errors.js')
const { newShape, rowViews } = require('./rows.js')
const { jsDriver } = require('./driver-js.js')
const { SinkTable } = require('./sink-table.js')


// Parameters go to C packed: every non-NULL value in one string and a Uint32Array of
// [type, UTF-16 length or NULL_LEN] per parameter; two Node-API reads per query instead of four
// calls per parameter (src/napi/js_pool.c read_packed_params). The array is reused: C reads it
// before poolQuery returns. Buffers (MySQL BLOB parameters) go as arrays.
const NULL_LEN = 0xffffffff
// A MySQL number (lib/mysql-params.js): its length is this, and packNums[i] holds it.
const NUMBER_LEN = 0xfffffffe
let packMeta = new Uint32Array(64)
let packNums = new Float64Array(32)
let packedNumbers = false // the last packParams put a number in packNums
// packMeta.subarray(0, 2 * n) by n, made once: a typed array object per query otherwise.
let metaViews = []

function metaView(n) {
  let view = metaViews[n]
  if (view === undefined) {
    view = packMeta.subarray(0, 2 * n)
    if (n < 256) metaViews[n] = view
  }
  return view
}

function packParams(params, types) {
  const n = params.length
  if (packMeta.length < 2 * n) {
    packMeta = new Uint32Array(Math.max(2 * n, 2 * packMeta.length))
    packNums = new Float64Array(packMeta.length >> 1)
    metaViews = []
  }
  packedNumbers = false
  let joined = ''
  let high = false // the text so far ends in a lone high surrogate
  for (let i = 0; i < n; i++) {
    const v = params[i]
    packMeta[2 * i] = types === null || types === undefined ? 0 : types[i] || 0
    if (v === null || v === undefined) {
      packMeta[2 * i + 1] = NULL_LEN
    } else if (typeof v === 'string') {
      const len = v.length
      if (len > 0) {
        // Joined, a lone high surrogate and a lone low one would make one character that
        // straddles two parameters: send such (odd) values as an array instead.
        if (high && (v.charCodeAt(0) & 0xfc00) === 0xdc00) return null
        high = (v.charCodeAt(len - 1) & 0xfc00) === 0xd800
      }
      packMeta[2 * i + 1] = len
      joined += v
    } else if (typeof v === 'number') {
      packMeta[2 * i + 1] = NUMBER_LEN
      packNums[i] = v
      packedNumbers = true
    } else {
      return null
    }
  }
  return joined
}

// Parameters that go as an array (some value is a Buffer): MySQL numbers as their text, which
// the engine parses.
function textNumbers(params) {
  for (let i = 0; i < params.length; i++) {
    if (typeof params[i] === 'number') return params.map((v) => (typeof v === 'number' ? String(v) : v))
  }
  return params
}

const { kOnRows, kOnBatch, kOnError, kOnReserved } = require('./sinks.js')

const KIND_ROWS = 0
const KIND_SERVER_ERROR = 1
const KIND_CLIENT_ERROR = 2
const KIND_NOTICE = 3
const KIND_NOTIFICATION = 4
const KIND_PASSWORD = 5
const KIND_PARTIAL_ROWS = 6
const KIND_DISCONNECTED = 7
const KIND_CONNECTED = 8
const KIND_RESERVED = 9
const KIND_LEASE_LOST = 10
const KIND_ROWS_FLAT = 11 // [id, 11, command, shape, batch, rowCount]: a query's only result set

// The keeper: C holds the pool's callbacks for as long as the pool lives, so they must not
// hold the pool itself, or a forgotten SQL would keep its connections forever. They reach it
// through a keeper instead, which holds it strongly only while something is pending that
// nothing else may hold: queries waiting or running (their promises are held only by the pool)
// and listeners (their callbacks too). Otherwise only weakly: an idle pool that the program no
// longer reaches is collected, and `forgottenPools` closes its native pool (from JS, so the js
// driver's sockets close too). A lease needs no keeping: its reserved handle or transaction
// holds the pool, and a forgotten one is released (lib/sql.js forgottenLeases).
class Keeper {
  constructor(pool) {
    this.strong = null
    this.weak = new WeakRef(pool)
  }

  get() {
    return this.strong !== null ? this.strong : this.weak.deref()
  }
}

const forgottenPools = new FinalizationRegistry((handle) => {
  binding().poolClose(handle, 0) // idle: nothing is failed; the connections close
})

// A transaction's queries that may still run, by id, for tx.close() (lib/sql.js): the finished
// ones are dropped whenever the list has doubled, so a long transaction keeps only a few.
function noteSent(lease, id, waiting) {
  const sent = lease.sent
  if (sent.length >= lease.sentLimit) {
    let k = 0
    for (let i = 0; i < sent.length; i++) if (waiting.has(sent[i])) sent[k++] = sent[i]
    sent.length = k
    lease.sentLimit = Math.max(64, 2 * k)
  }
  sent.push(id)
}

class NativePool {
  // max: a size other than options.max (the LISTEN connection's pool of one, lib/listen.js).
  constructor(options, max) {
    this.options = options
    this.max = max
    this.dialect = dialects[options.adapter]
    this.handle = null // created on first use
    this.waiting = new SinkTable() // id -> sink ([kOnRows], [kOnError], [kOnBatch], [kOnReserved])
    this.nextId = 1
    this.closed = false
    this.closePromise = null
    this.resolveClose = null // set while close() waits for C's onClosed: only the pool holds it
    this.onNotification = null // set by listen() (pid, channel, payload)
    this.onLeaseLost = null // set by listen() ({ slot, seq })
    this.shapes = new Map() // row shape id (from C) -> { names, oids, decoders }
    this.keeper = new Keeper(this)
    this.listening = null // set by listen(): () => whether a channel is listened to
    this.keptRows = null // the row buffer C reuses, and its views (onResults)
    this.keptViews = null
  }

  // Nothing pending that only this pool holds (see Keeper): C may let go of it.
  loosen() {
    if (this.waiting.isEmpty() && this.resolveClose === null && (this.listening === null || !this.listening())) {
      this.keeper.strong = null
    }
  }

  // A row shape from C: null, a known id, or [id, names, oids] the first time.
  shapeOf(spec) {
    if (spec === null) return null
    if (typeof spec === 'number') {
      const shape = this.shapes.get(spec)
      if (shape === undefined) throw this.dialect.error('INVALID_MESSAGE', 'internal error: unknown row shape ' + spec)
      return shape
    }
    const shape = newShape(spec[1], spec[2])
    if (spec[0] !== 0) this.shapes.set(spec[0], shape)
    return shape
  }

  ensureHandle() {
    if (this.handle === null) {
      const config = nativeConfig(this.options)
      if (this.max !== undefined) config.max = this.max
      if (this.options.driver === 'js') config.driver = jsDriver()
      const keeper = this.keeper // never `this`: see Keeper
      this.handle = binding().poolCreate(
        config,
        // The flush's row buffer, then the records as arguments (one array when there are very
        // many: src/napi/js_outbox.c). A pool already collected has nothing left to tell.
        (rows, ...batch) => {
          const pool = keeper.get()
          if (pool !== undefined) pool.onResults(rows, batch.length === 1 ? batch[0] : batch)
        },
        () => {
          const pool = keeper.get()
          if (pool !== undefined) pool.onClosed()
        },
      )
      forgottenPools.register(this, this.handle, this)
    }
    return this.handle
  }

  // Ids of queries and reservations: positive, exact as doubles (C keeps them as such).
  takeId() {
    const id = this.nextId++
    if (this.nextId > Number.MAX_SAFE_INTEGER) this.nextId = 1
    return id
  }

  // Sends at once; `sink` gets exactly one of [kOnRows](results, at, count, views) /
  // [kOnError](err) (lib/query.js). Returns the
  // query's id (for cancel), or 0 when it failed at once.
  // lease: { slot, seq } from reserve() to run on that connection only, or undefined.
  send(text, params, types, simple, raw, sink, lease) {
    // A transaction's lease (reserve(_, true)) still runs its queries through a graceful close;
    // C decides when its connection is gone. A closed transaction (tx.close()) takes none.
    if (lease !== undefined ? lease.closed === true || (this.closed && lease.tx !== true) : this.closed) {
      sink[kOnError](this.dialect.error('CONNECTION_CLOSED', 'Connection closed'))
      return 0
    }
    const id = this.takeId()
    // Registered first: the native call may already deliver results (a failed connection).
    this.waiting.set(id, sink)
    this.keeper.strong = this
    if (lease !== undefined && lease.sent !== undefined) noteSent(lease, id, this.waiting)
    try {
      const handle = this.ensureHandle()
      let p = params
      let t = types
      let nums
      if (params !== null && params !== undefined && params.length > 0) {
        const joined = packParams(params, types)
        if (joined !== null) {
          p = joined
          t = metaView(params.length)
          if (packedNumbers) nums = packNums
        } else {
          p = textNumbers(params) // as arrays: numbers go as text there
        }
      }
      if (lease === undefined && nums === undefined) {
        binding().poolQuery(handle, id, text, p, t, simple, raw)
      } else if (lease === undefined) {
        binding().poolQuery(handle, id, text, p, t, simple, raw, undefined, undefined, nums)
      } else {
        binding().poolQuery(handle, id, text, p, t, simple, raw, lease.slot, lease.seq, nums)
      }
    } catch (err) {
      this.waiting.delete(id)
      this.loosen()
      sink[kOnError](this.nativeError(err))
      return 0
    }
    return id
  }

  // An exclusive lease on one connection: { slot, seq }. FIFO with the queries. An AbortSignal
  // takes a request that still waits out of the queue (it rejects with the signal's reason).
  // forTransaction: begin()'s lease, which a graceful close() lets finish (lease.tx).
  reserve(signal, forTransaction = false) {
    if (this.closed) {
      return Promise.reject(this.dialect.error('CONNECTION_CLOSED', 'Connection closed'))
    }
    if (signal && signal.aborted) return Promise.reject(signal.reason)
    return new Promise((resolve, reject) => {
      const id = this.takeId()
      let onAbort = null
      const done = () => {
        if (onAbort !== null) signal.removeEventListener('abort', onAbort)
      }
      this.waiting.set(id, {
        [kOnReserved]: (lease) => {
          done()
          if (signal && signal.aborted) {
            this.release(lease) // aborted while the lease was on its way: give it back
            reject(signal.reason)
          } else {
            if (forTransaction) lease.tx = true
            resolve(lease)
          }
        },
        [kOnError]: (err) => {
          done()
          reject(signal && signal.aborted ? signal.reason : err)
        },
        [kOnRows]: () => {},
      })
      this.keeper.strong = this
      if (signal) {
        onAbort = () => { if (this.handle !== null) binding().poolCancel(this.handle, id) }
        signal.addEventListener('abort', onAbort, { once: true })
      }
      try {
        binding().poolReserve(this.ensureHandle(), id, forTransaction)
      } catch (err) {
        done()
        this.waiting.delete(id)
        this.loosen()
        reject(this.nativeError(err))
      }
    })
  }

  // A synchronous throw from the addon (ERR_POSTGRES_* codes: pool closed, bad arguments) as
  // this pool's error class.
  nativeError(err) {
    if (!err || typeof err.code !== 'string' || !err.code.startsWith('ERR_POSTGRES_')) return err
    return this.dialect.error(err.code.slice('ERR_POSTGRES_'.length), err.message)
  }

  // Gives a lease back (a second release, or one after the connection died, does nothing).
  // With `discard`, the connection is closed rather than reused.
  release(lease, discard = false) {
    if (this.handle !== null) binding().poolRelease(this.handle, lease.slot, lease.seq, discard)
  }

  // A waiting query fails at once; a running one gets a CancelRequest. 1: the query is
  // pipelined behind others, and its cancel waits for its turn.
  cancel(id) {
    if (this.handle === null || !this.waiting.has(id)) return -1
    return binding().poolCancel(this.handle, id)
  }

  // rows: the ArrayBuffer that holds every row batch of this call (a batch is an offset in it),
  // or null; read through two views made here, once per call.
  onResults(rows, batch) {
    let views = null
    if (rows !== null) {
      // C passes the same buffer to every flush up to rowsKeepMax bytes (src/napi/js_outbox.c
      // rows_buffer): its views are made once. A larger one is used once and not kept here.
      if (rows === this.keptRows) {
        views = this.keptViews
      } else {
        views = rowViews(rows)
        if (rows.byteLength <= binding().rowsKeepMax) {
          this.keptRows = rows
          this.keptViews = views
        }
      }
    }
    for (let i = 0; i < batch.length; i += 3) {
      const kind = batch[i + 1]
      if (kind === KIND_ROWS_FLAT) {
        const sink = this.waiting.take(batch[i])
        if (sink !== undefined) sink[kOnRows](batch, i + 2, 1, views)
        i += 3
        continue
      }
      const payload = batch[i + 2]
      if (kind === KIND_NOTICE) {
        this.deliverNotice(payload)
        continue
      }
      if (kind === KIND_CONNECTED) {
        this.callUser(this.options.onconnect, null)
        continue
      }
      if (kind === KIND_DISCONNECTED) {
        const err = this.dialect.clientError(payload[0], payload[1], null)
        // Bun.SQL's onclose says "Connection closed" whatever ended it (server, close()).
        if (err.code.endsWith('_CONNECTION_CLOSED')) err.message = 'Connection closed'
        this.callUser(this.options.onclose, err)
        continue
      }
      if (kind === KIND_LEASE_LOST) {
        if (this.onLeaseLost !== null) this.onLeaseLost({ slot: payload[0], seq: payload[1] })
        continue
      }
      if (kind === KIND_PASSWORD) {
        this.supplyPassword(payload[0], payload[1])
        continue
      }
      if (kind === KIND_NOTIFICATION) {
        if (this.onNotification !== null) this.onNotification(payload[0], payload[1], payload[2])
        continue
      }
      const sink = this.waiting.get(batch[i])
      if (sink === undefined) continue
      if (kind === KIND_PARTIAL_ROWS) {
        sink[kOnBatch](payload, views)
        continue
      }
      this.waiting.delete(batch[i])
      if (kind === KIND_RESERVED) {
        sink[kOnReserved]({ slot: payload[0], seq: payload[1] })
      } else if (kind === KIND_ROWS) {
        sink[kOnRows](payload, 0, payload.length >> 2, views)
      } else if (kind === KIND_SERVER_ERROR) {
        sink[kOnError](this.dialect.serverError(payload))
      } else if (kind === KIND_CLIENT_ERROR) {
        sink[kOnError](this.dialect.clientError(payload[0], payload[1], payload[2]))
      }
    }
    if (this.keeper.strong !== null) this.loosen()
  }

  // A new connection needs the password: call the user's (sync or async) function, once per
  // connection. Its failure fails that connection (and the queries waiting for it).
  supplyPassword(slot, gen) {
    const answer = (password, error) => {
      if (this.handle !== null) binding().poolPassword(this.handle, slot, gen, password, error)
    }
    let value
    try {
      value = this.options.passwordFunction()
    } catch (err) {
      answer(null, String((err && err.message) || err))
      return
    }
    Promise.resolve(value).then(
      (pw) => answer(pw === undefined || pw === null ? null : String(pw), pw === undefined || pw === null ? 'the password function returned no password' : null),
      (err) => answer(null, String((err && err.message) || err)),
    )
  }

  // The user's onnotice gets { severity, errno (SQLSTATE), message, detail, hint, ... }.
  deliverNotice(notice) {
    this.callUser(this.options.onnotice, notice)
  }

  // A user callback (onconnect, onclose, onnotice): a throw from it must not break the delivery
  // of the other results of this batch; it surfaces as an uncaught exception, as in Node.
  callUser(fn, arg) {
    callUser(fn, arg)
  }

  onClosed() {
    const resolve = this.resolveClose
    this.resolveClose = null
    if (resolve !== null) resolve()
    if (this.keeper.strong !== null) this.loosen()
  }

  // timeout (seconds): undefined = wait for running and queued queries; 0 = fail them at
  // once; > 0 = wait at most that long. Every case resolves in bounded time: the deadline
  // and the connect deadlines are timers in C.
  close(timeout) {
    this.closed = true
    if (this.handle === null) return Promise.resolve()
    forgottenPools.unregister(this)
    if (this.closePromise !== null && this.resolveClose === null) return this.closePromise // closed
    if (this.closePromise === null) {
      this.closePromise = new Promise((resolve) => { this.resolveClose = resolve })
    }
    const ms = timeout === undefined || timeout === null ? -1 : Math.max(0, Number(timeout) * 1000)
    // Kept until C reports the close: `await sql.close()` is often the last use of `sql`, and a
    // pool collected meanwhile would never resolve the promise its caller awaits.
    this.keeper.strong = this
    const done = binding().poolClose(this.handle, Number.isFinite(ms) ? ms : -1)
    if (done) this.onClosed()
    return this.closePromise
  }

  // The native counters, raw (slot states and pool_stats_t).
  rawStats() {
    return this.handle === null ? null : binding().poolStats(this.handle)
  }
}

module.exports = { NativePool }
