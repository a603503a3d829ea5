'use strict'
// A query: a Promise that runs lazily. It is sent synchronously on the first then/catch/
// finally/execute(), so queries go to the server in the order the code awaited them.

const { newResult, finishResult } = require('./result.js')
const { decodeBatch } = require('./rows.js')
const { kOnRows, kOnBatch, kOnError, kOnResult, kMode } = require('./sinks.js')

const kRun = Symbol('run')

// payload[at..at+3] = [command, shape, batch | null, rowCount], a batch being an offset in the
// call's row buffer (`views`). `partial` holds the rows of the first result set that arrived
// before the end ({ result, shape }).
function buildResult(pool, payload, at, views, mode, options, partial) {
  const result = partial !== null ? partial.result : newResult()
  const batch = payload[at + 2]
  // The shape is read even without rows: C sends its columns only the first time, so a result
  // with no rows must still register them for the next one (else "unknown row shape").
  const shape = partial !== null ? partial.shape : pool.shapeOf(payload[at + 1])
  if (batch !== null) decodeBatch(result, views, batch, shape, mode, options)
  return finishResult(result, payload[at], pool.dialect.name === 'mysql')
}

// One result set, or (simple protocol, several statements) an array of them.
function buildResults(pool, payload, views, mode, options, partial) {
  if (payload.length <= 4) return buildResult(pool, payload, 0, views, mode, options, partial)
  const all = []
  for (let at = 0; at < payload.length; at += 4) {
    all.push(buildResult(pool, payload, at, views, mode, options, at === 0 ? partial : null))
  }
  return all
}

class Query extends Promise {
  #pool
  #text
  #params
  #types
  #error
  #unsafeText
  #lease
  #resolve
  #reject
  #mode = 'objects'
  #simple = false
  #started = false
  #id = 0
  #active = false
  #cancelled = false
  #partial = null // rows of a long result that arrived before its end
  #runMode = 'objects' // #mode when it was sent (a later .values() changes nothing)

  // error: a binding error found while building the query; it rejects when the query runs.
  // unsafeText: sql.unsafe() text, sent with the simple protocol when it has no parameters.
  // lease: run on that reserved connection only (transactions, reserve()).
  constructor(pool, text, params, types, error, unsafeText = false, lease = undefined) {
    let resolve, reject
    super((res, rej) => {
      resolve = res
      reject = rej
    })
    this.#pool = pool
    this.#text = text
    this.#params = params
    this.#types = types
    this.#error = error
    this.#unsafeText = unsafeText
    this.#lease = lease
    this.#resolve = resolve
    this.#reject = reject
  }

  // then() of a derived promise must make a plain Promise, not another lazy Query.
  static get [Symbol.species]() {
    return Promise
  }

  get [Symbol.toStringTag]() {
    return 'Query'
  }

  get active() {
    return this.#active
  }

  get cancelled() {
    return this.#cancelled
  }

  [kRun]() {
    if (this.#started) return
    this.#started = true
    if (this.#error) {
      this.#reject(this.#error)
      return
    }
    this.#active = true
    this.#runMode = this.#mode
    const simple = this.#simple || (this.#params !== null && this.#params.length === 0 && this.#unsafeText)
    // The query is its own sink (the [kOn*] methods below): no object or closures per query.
    this.#id = this.#pool.send(this.#text, this.#params, this.#types, simple, this.#mode === 'raw', this, this.#lease)
  }

  // Rows of a long result, before its end: decoded as they come.
  [kOnBatch]([shape, batch], views) {
    try {
      if (this.#partial === null) this.#partial = { result: newResult(), shape: this.#pool.shapeOf(shape) }
      decodeBatch(this.#partial.result, views, batch, this.#partial.shape, this.#runMode, this.#pool.options)
    } catch (err) {
      this.#partial = { failed: err }
    }
  }

  [kOnRows](payload, views) {
    this.#active = false
    const partial = this.#partial
    let result
    try {
      if (partial !== null && partial.failed) throw partial.failed
      result = buildResults(this.#pool, payload, views, this.#runMode, this.#pool.options, partial)
    } catch (err) {
      this.#reject(err)
      return
    }
    this.#resolve(result)
  }

  // A result built in JS (the sqlite adapter).
  [kOnResult](result) {
    this.#active = false
    this.#resolve(result)
  }

  get [kMode]() {
    return this.#runMode
  }

  [kOnError](err) {
    this.#active = false
    if (this.#cancelled && this.#pool.dialect.isCancelError(err)) err.code = this.#pool.dialect.error('QUERY_CANCELLED', '').code
    this.#reject(err)
  }

  then(onFulfilled, onRejected) {
    this[kRun]()
    return super.then(onFulfilled, onRejected)
  }

  catch(onRejected) {
    this[kRun]()
    return super.catch(onRejected)
  }

  finally(onFinally) {
    this[kRun]()
    return super.finally(onFinally)
  }

  // Cancels the query: one not yet sent never is; a running one is interrupted by a
  // CancelRequest or KILL QUERY (it then rejects with code ERR_POSTGRES_QUERY_CANCELLED or
  // ERR_MYSQL_QUERY_CANCELLED).
  cancel() {
    if (this.#cancelled) return this
    this.#cancelled = true
    if (!this.#started) {
      this.#started = true
      this.#reject(this.#pool.dialect.error('QUERY_CANCELLED', 'Query cancelled'))
      super.then(undefined, () => {}) // cancelled before use: not an unhandled rejection
    } else if (this.#active) {
      this.#pool.cancel(this.#id)
    }
    return this
  }

  execute() {
    this[kRun]()
    return this
  }

  // Bun's undocumented run(): sends the query; the promise resolves with its result.
  async run() {
    this[kRun]()
    return this
  }

  // Sends the text with the simple protocol: several statements, no parameters.
  simple() {
    this.#simple = true
    return this
  }

  values() {
    this.#mode = 'values'
    return this
  }

  raw() {
    this.#mode = 'raw'
    return this
  }
}

module.exports = { Query }
