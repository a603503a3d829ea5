'use strict'
// A query: a Promise that runs lazily. It is sent synchronously on the first then/catch/
// finally/execute(), so queries go to the server in the order the code awaited them.
//
// S3 keeps tens of thousands of these alive at once, and every scavenge copies them: a query
// holds few fields (the flags in one integer, rarely used state in one object made only when
// needed) and no closure of its own.

const { newResult, finishResult } = require('./result.js')
const { decodeBatch } = require('./rows.js')
const { kOnRows, kOnBatch, kOnError, kOnResult, kMode } = require('./sinks.js')
const { kFragment } = require('./template.js')

const kRun = Symbol('run')
const kSetFragment = Symbol('setFragment')

// #flags bits. The modes: 0 objects, 1 values, 2 raw (MODE as set, RUN_MODE when sent).
const STARTED = 1
const ACTIVE = 2
const CANCELLED = 4
const SIMPLE = 8
const UNSAFE_TEXT = 16
const MODE_SHIFT = 5 // 2 bits
const RUN_MODE_SHIFT = 7 // 2 bits
const MODE_MASK = 3
const MODES = ['objects', 'values', 'raw']

// One executor for every query: it hands the resolving functions over through these two
// variables (the Promise constructor calls it synchronously), so a query makes no closure.
let takenResolve = null
let takenReject = null
function takeResolvers(resolve, reject) {
  takenResolve = resolve
  takenReject = reject
}

// results[at..at + 4 * count) = [command, shape, batch | null, rowCount] per result set, a batch
// being an offset in the call's row buffer (`views`). `partial` holds the rows of the first
// result set that arrived before the end ({ result, shape }).
function buildResult(pool, results, at, views, mode, options, partial) {
  const result = partial !== null ? partial.result : newResult()
  const batch = results[at + 2]
  // The shape is read even without rows: C sends its columns only the first time, so a result
  // with no rows must still register them for the next one (else "unknown row shape").
  const shape = partial !== null ? partial.shape : pool.shapeOf(results[at + 1])
  if (batch !== null) decodeBatch(result, views, batch, shape, mode, options)
  return finishResult(result, results[at], pool.dialect.name === 'mysql')
}

// One result set, or (simple protocol, several statements) an array of them.
function buildResults(pool, results, at, count, views, mode, options, partial) {
  if (count <= 1) return buildResult(pool, results, at, views, mode, options, partial)
  const all = []
  for (let k = 0; k < count; k++) {
    all.push(buildResult(pool, results, at + 4 * k, views, mode, options, k === 0 ? partial : null))
  }
  return all
}

// What few queries need: a binding error, a lease, rows that came before the end.
class Extra {
  constructor() {
    this.error = null
    this.lease = undefined
    this.partial = null // { result, shape } or { failed }
  }
}

class Query extends Promise {
  #pool
  #text
  #params
  #types
  #resolve
  #reject
  #flags
  #id = 0
  #extra = null
  #strings = null // as a fragment inside another template: its strings and values
  #fragValues = null

  // error: a binding error found while building the query; it rejects when the query runs.
  // unsafeText: sql.unsafe() text, sent with the simple protocol when it has no parameters.
  // lease: run on that reserved connection only (transactions, reserve()).
  constructor(pool, text, params, types, error, unsafeText = false, lease = undefined) {
    super(takeResolvers)
    this.#resolve = takenResolve
    this.#reject = takenReject
    takenResolve = takenReject = null
    this.#pool = pool
    this.#text = text
    this.#params = params
    this.#types = types
    this.#flags = unsafeText ? UNSAFE_TEXT : 0
    if (error || lease !== undefined) {
      const extra = this.#more()
      extra.error = error || null
      extra.lease = lease
    }
  }

  #more() {
    if (this.#extra === null) this.#extra = new Extra()
    return this.#extra
  }

  // then() of a derived promise must make a plain Promise, not another lazy Query.
  static get [Symbol.species]() {
    return Promise
  }

  // `await q`, Promise.resolve(q) and Promise.all take a promise as it is only when its
  // `constructor` is Promise; for anything else V8 and JSC queue a PromiseResolveThenableJob,
  // which makes a second promise and calls our then() a microtask later (Node: 530 -> 310 ns
  // per await, Promise.all 2.08 -> 1.40 us per query in a micro-benchmark). So a query's
  // `constructor` is a getter answering Promise, and since the engine then attaches its
  // reaction without calling then(), the getter starts the query as then() does. Nothing in
  // lib/ reads it (fragments are found through kFragment), nor does util.inspect (it reads
  // the property descriptors); reading q.constructor yourself sends the query. On
  // Query.prototype itself it answers Query.
  static {
    Object.defineProperty(this.prototype, 'constructor', {
      get() {
        if (!(#flags in this)) return Query
        this[kRun]()
        return Promise
      },
      configurable: true,
      enumerable: false,
    })
  }

  get [Symbol.toStringTag]() {
    return 'Query'
  }

  get active() {
    return (this.#flags & ACTIVE) !== 0
  }

  get cancelled() {
    return (this.#flags & CANCELLED) !== 0
  }

  // { strings, values } when this query can be spliced into another template (lib/template.js).
  get [kFragment]() {
    return this.#strings === null ? undefined : { strings: this.#strings, values: this.#fragValues }
  }

  [kSetFragment](strings, values) {
    this.#strings = strings
    this.#fragValues = values
    return this
  }

  [kRun]() {
    let flags = this.#flags
    if ((flags & STARTED) !== 0) return
    const extra = this.#extra
    if (extra !== null && extra.error !== null) {
      this.#flags = flags | STARTED
      this.#reject(extra.error)
      return
    }
    const mode = (flags >> MODE_SHIFT) & MODE_MASK
    flags |= STARTED | ACTIVE | (mode << RUN_MODE_SHIFT)
    this.#flags = flags
    const params = this.#params
    const simple = (flags & SIMPLE) !== 0 || (params !== null && params.length === 0 && (flags & UNSAFE_TEXT) !== 0)
    // The query is its own sink (the [kOn*] methods below): no object or closures per query.
    this.#id = this.#pool.send(this.#text, params, this.#types, simple, mode === 2, this,
      extra === null ? undefined : extra.lease)
    // C has copied them: garbage now rather than copied by every scavenge until the answer.
    this.#params = null
    this.#types = null
    // A query that ran no longer holds its lease: a dropped reserved handle's lease goes back
    // once nothing that may still run holds it (lib/sql.js forgottenLeases), however long the
    // program keeps this query.
    if (extra !== null) extra.lease = undefined
  }

  #runMode() {
    return MODES[(this.#flags >> RUN_MODE_SHIFT) & MODE_MASK]
  }

  // Rows of a long result, before its end: decoded as they come.
  [kOnBatch]([shape, batch], views) {
    const extra = this.#more()
    try {
      if (extra.partial === null) extra.partial = { result: newResult(), shape: this.#pool.shapeOf(shape) }
      decodeBatch(extra.partial.result, views, batch, extra.partial.shape, this.#runMode(), this.#pool.options)
    } catch (err) {
      extra.partial = { failed: err }
    }
  }

  // results[at..]: `count` result sets of four values each (see buildResult).
  [kOnRows](results, at, count, views) {
    this.#flags &= ~ACTIVE
    const partial = this.#extra === null ? null : this.#extra.partial
    let result
    try {
      if (partial !== null && partial.failed) throw partial.failed
      const pool = this.#pool
      result = buildResults(pool, results, at, count, views, this.#runMode(), pool.options, partial)
    } catch (err) {
      this.#reject(err)
      return
    }
    this.#resolve(result)
  }

  // A result built in JS (the sqlite adapter).
  [kOnResult](result) {
    this.#flags &= ~ACTIVE
    this.#resolve(result)
  }

  get [kMode]() {
    return this.#runMode()
  }

  // A query the server interrupted after cancel() keeps the server's error (SERVER_ERROR,
  // errno 57014 / 1317), as in Bun.SQL; QUERY_CANCELLED is for one the client failed itself.
  [kOnError](err) {
    this.#flags &= ~ACTIVE
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

  // Cancels the query: one not yet sent never is (ERR_*_QUERY_CANCELLED); a running one is
  // interrupted by a CancelRequest or KILL QUERY (the server's error); one pipelined behind
  // others rejects at once, as in Bun.SQL, and is interrupted when its turn comes.
  cancel() {
    const flags = this.#flags
    if ((flags & CANCELLED) !== 0) return this
    this.#flags = flags | CANCELLED
    if ((flags & STARTED) === 0) {
      this.#flags |= STARTED
      this.#reject(this.#pool.dialect.error('QUERY_CANCELLED', 'Query cancelled'))
      super.then(undefined, () => {}) // cancelled before use: not an unhandled rejection
    } else if ((flags & ACTIVE) !== 0 && this.#pool.cancel(this.#id) === 1) {
      const err = this.#pool.dialect.error('QUERY_CANCELLED', 'Query cancelled')
      err.hint = 'The server already received this query; it is interrupted when its turn comes, or runs if it ends first. Its result is discarded.'
      this.#reject(err)
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
    this.#flags |= SIMPLE
    return this
  }

  values() {
    this.#flags = (this.#flags & ~(MODE_MASK << MODE_SHIFT)) | (1 << MODE_SHIFT)
    return this
  }

  raw() {
    this.#flags = (this.#flags & ~(MODE_MASK << MODE_SHIFT)) | (2 << MODE_SHIFT)
    return this
  }
}

module.exports = { Query, kSetFragment }
