'use strict'
// The SQL class: `new SQL(url | options)` returns a tagged-template function with methods.

const { parseOptions, closeTimeout } = require('./options.js')
const { NativePool } = require('./pool.js')
const { SqlitePool } = require('./sqlite.js')
const { dialects } = require('./dialect.js')
const { Query, kSetFragment } = require('./query.js')
const fs = require('node:fs')
const { typedArray } = require('./params.js')
const { isTemplateStrings, compileTemplate, makeHelper } = require('./template.js')
const { Listener, notify, checkListenArgs, checkNotifyArgs } = require('./listen.js')

// sql.stats(): connections by state, waiting queries, and the pool's lifetime counters.
function poolStats(raw, options) {
  const r = raw || {}
  const n = (k) => r[k] || 0
  return {
    max: options.max,
    total: n('connecting') + n('pending') + n('ready') + n('busy') + n('reserved') + n('closing'),
    idle: n('ready'),
    busy: n('busy'),
    reserved: n('reserved'),
    connecting: n('connecting') + n('pending'),
    closing: n('closing'),
    waiting: n('waiting'),
    connects: n('opened'),
    connected: n('connected'),
    connectFailures: n('connectFailures'),
    retries: n('retries'),
    closes: { total: n('closed'), idle: n('closedIdle'), lifetime: n('closedLifetime'), byPool: n('closedByPool'), byError: n('closedByError') },
    staleNotificationsDropped: n('staleEvents'),
    queries: n('queries'),
    waitMs: n('waiterMs'),
  }
}

const NO_VALUES = Object.freeze([])

const UNSAFE_BEGIN = 'Only use sql.begin, sql.reserved or max: 1 (a BEGIN on the shared pool runs on one connection of several)'
// One BEGIN / START TRANSACTION statement and nothing after it (a multi-statement text that
// also commits is left alone). Asked of every query on a pool with max > 1: a text that starts
// with neither "be", "st" nor ASCII white space is answered without the regex (24 -> 8 ns per
// call on S2's texts). Other white space before BEGIN is a syntax error at the server anyway.
const LONE_BEGIN = /^\s*(?:begin|start\s+transaction)\b[^;]*;?\s*$/i
function isLoneBegin(text) {
  const a = text.charCodeAt(0)
  if (a > 0x20) {
    const pair = ((a | 0x20) << 8) | (text.charCodeAt(1) | 0x20)
    if (pair !== 0x6265 && pair !== 0x7374) return false // "be", "st" in any case
  }
  return LONE_BEGIN.test(text)
}

// A tagged-template function with unsafe(), running on the whole pool or, with a lease, on
// one reserved connection only (a transaction or reserve()).
function makeScopedSql(pool, lease) {
  const dialect = pool.dialect
  const bindingError = (message) => dialect.error('INVALID_QUERY_BINDING', message)
  // A lone BEGIN on the shared pool would leave one pooled connection inside a transaction
  // that the next queries may or may not reach: Bun.SQL refuses it when max > 1.
  const guardBegin = lease === undefined && pool.options !== undefined && pool.options.max > 1
  function makeQuery(text, values, unsafe = false) {
    if (guardBegin && isLoneBegin(text)) {
      return new Query(pool, text, null, null, dialect.error('UNSAFE_TRANSACTION', UNSAFE_BEGIN), false, lease)
    }
    // No values (S1's `select 1`): nothing to encode, and no arrays or object made per query.
    if (Array.isArray(values) && values.length === 0) {
      return new Query(pool, text, NO_VALUES, NO_VALUES, null, unsafe, lease)
    }
    let encoded
    try {
      encoded = dialect.encodeParams(values)
    } catch (err) {
      // Surfaces when the query is awaited, like a server error; nothing is sent.
      return new Query(pool, text, null, null, err, false, lease)
    }
    return new Query(pool, text, encoded.params, encoded.types, null, unsafe, lease)
  }

  // sql`...` makes a query (usable as a fragment inside another template until it runs);
  // sql(value, ...columns) makes a helper: an identifier, rows to insert, a list.
  function sql(strings, ...values) {
    if (!isTemplateStrings(strings)) {
      if (strings === undefined || (Array.isArray(strings) && Array.isArray(strings.raw))) {
        throw dialect.error('NOT_TAGGED_CALL', 'sql was called with something that is not a tagged template')
      }
      return makeHelper(strings, values, dialect)
    }
    let q
    try {
      const compiled = compileTemplate(strings, values, dialect)
      q = makeQuery(compiled.text, compiled.values)
    } catch (err) {
      // A misused helper rejects when the query is awaited, like a binding error.
      q = new Query(pool, strings.join('?'), null, null, err, false, lease)
    }
    return q[kSetFragment](strings, values)
  }

  sql.unsafe = (text, values = []) => {
    if (typeof text !== 'string') throw bindingError('sql.unsafe() expects the query text as a string')
    // SQLite also takes named parameters: sql.unsafe('select $a', { $a: 1 }).
    const named = dialect.namedParams && values !== null && typeof values === 'object' && !Array.isArray(values)
    let params = Array.isArray(values) || named ? values : []
    let q
    try {
      ({ text, values: params } = dialect.prepareUnsafe(text, params))
      q = makeQuery(text, params, true)
    } catch (err) {
      return new Query(pool, text, null, null, err, false, lease)
    }
    // Without parameters it can also be spliced into a template, as raw SQL text.
    if (params.length === 0) q[kSetFragment]([text], [])
    return q
  }
  // The file's text as a query (several statements when there are no parameters).
  sql.file = (path, values = []) => {
    let text
    try {
      text = fs.readFileSync(path, 'utf8')
    } catch (err) {
      // The file system's own error (code ENOENT, EACCES...), as Bun.SQL rejects with it.
      return new Query(pool, '', null, null, err, false, lease)
    }
    return sql.unsafe(text, values)
  }
  sql.array = (values, type) => {
    if (dialect.name === 'sqlite') throw dialect.error('NOT_SUPPORTED', "SQLite doesn't support arrays")
    return typedArray(values, type)
  }
  // listen() is the SQL instance's (one LISTEN connection for all its handles); notify() runs
  // on this handle, so inside a transaction it is delivered on COMMIT.
  sql.listen = (channel, onnotify, onlisten) => listenOf.get(pool)(channel, onnotify, onlisten)
  sql.notify = (channel, payload) => {
    checkNotifyArgs(channel, payload)
    return dialect.listen ? notify(sql, channel, payload) : notSupported(dialect, LISTEN_ONLY_PG)
  }
  return sql
}

const notSupported = (dialect, what) => Promise.reject(dialect.error('NOT_SUPPORTED', what))
const LISTEN_ONLY_PG = 'LISTEN/NOTIFY is not supported by this adapter (PostgreSQL only)'
const listenOf = new WeakMap() // pool -> its SQL instance's listen()

function SQL(a, b) {
  if (!new.target) return new SQL(a, b)
  const options = parseOptions(a, b)
  const pool = options.adapter === 'sqlite' ? new SqlitePool(options, dialects.sqlite) : new NativePool(options)
  const sql = makeScopedSql(pool, undefined)

  Object.setPrototypeOf(sql, SQL.prototype)
  Object.defineProperty(sql, 'options', { value: options, enumerable: false })

  const dialect = pool.dialect
  sql.begin = (mode, fn) => runTransaction(pool, mode, fn)
  sql.transaction = sql.begin
  sql.beginDistributed = (name, fn) => (dialect.distributed === null
    ? notSupported(dialect, "SQLite doesn't support distributed transactions.")
    : runTransaction(pool, undefined, fn, distributedName(name, dialect)))
  sql.distributed = sql.beginDistributed
  sql.commitDistributed = (name) => sql.unsafe(dialect.distributed.commit(distributedName(name, dialect)))
  sql.rollbackDistributed = (name) => sql.unsafe(dialect.distributed.abort(distributedName(name, dialect)))
  sql.reserve = (opts) => reserveConnection(pool, opts && opts.signal)
  let listener = null
  listenOf.set(pool, (channel, onnotify, onlisten) => {
    try {
      checkListenArgs(channel, onnotify, onlisten)
    } catch (err) {
      return Promise.reject(err)
    }
    if (!dialect.listen) return notSupported(dialect, LISTEN_ONLY_PG)
    if (pool.closed) return Promise.reject(dialect.error('CONNECTION_CLOSED', 'Connection closed'))
    // A connection of its own, outside the pool (as Bun.SQL): a pool of one.
    if (listener === null) listener = new Listener(new NativePool(options, 1))
    return listener.listen(channel, onnotify, onlisten)
  })
  // Opens a connection now instead of on the first query; resolves to sql, as in Bun.
  sql.connect = async () => {
    const lease = await pool.reserve()
    pool.release(lease)
    return sql
  }
  // Queries are written as they are made; nothing waits in JS to be flushed.
  sql.flush = () => {}
  sql.close = (opts = {}) => {
    let timeout
    try {
      timeout = closeTimeout(opts)
    } catch (err) {
      return Promise.reject(err)
    }
    const closed = pool.close(timeout)
    return listener === null ? closed : Promise.all([closed, listener.close()]).then(() => undefined)
  }
  sql.end = sql.close
  sql[Symbol.asyncDispose] = () => sql.close()
  // Not in Bun.SQL: what the pool is doing (documented in the README).
  sql.stats = () => poolStats(pool.rawStats(), options)
  // Undocumented: the raw native counters, for tests and diagnostics.
  Object.defineProperty(sql, '_stats', { value: () => pool.rawStats(), enumerable: false })
  return sql
}

Object.setPrototypeOf(SQL.prototype, Function.prototype)

// ---- transactions and reserved connections ------------------------------------------------

// BEGIN options as Bun.SQL takes them ("read write", "isolation level serializable", ...):
// keywords only, never values, so nothing can be smuggled into the statement.
function beginStatement(mode, dialect) {
  if (mode === undefined || mode === null || mode === '') return dialect.begin('')
  if (typeof mode !== 'string' || !/^[a-zA-Z ,]+$/.test(mode)) {
    throw dialect.error('INVALID_TRANSACTION_STATE', `invalid transaction options: ${JSON.stringify(mode)}`)
  }
  return dialect.begin(mode)
}

// A two-phase transaction's name goes into PREPARE TRANSACTION '...' as a literal: allow only
// names that need no quoting.
function distributedName(name, dialect) {
  if (typeof name !== 'string' || !/^[a-zA-Z0-9_.:-]{1,64}$/.test(name)) {
    throw dialect.error('INVALID_TRANSACTION_STATE', `invalid distributed transaction name: ${JSON.stringify(name)}`)
  }
  return name
}

function savepointName(name, counter, dialect) {
  if (name === undefined) return 's' + counter
  if (typeof name !== 'string' || !/^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name)) {
    throw dialect.error('INVALID_TRANSACTION_STATE', `invalid savepoint name: ${JSON.stringify(name)}`)
  }
  return name
}

// Runs fn(tx) inside BEGIN ... COMMIT on one reserved connection; ROLLBACK when it throws. An
// array returned by fn (of queries) is awaited as a whole: its queries were pipelined.
// With `prepared`, the transaction ends with PREPARE TRANSACTION instead of COMMIT (2PC).
// With `held`, the transaction runs on that lease (ReservedSQL.begin()), which stays reserved.
async function runTransaction(pool, mode, fn, prepared, held) {
  if (typeof mode === 'function') {
    fn = mode
    mode = undefined
  }
  if (typeof fn !== 'function') throw new TypeError('begin() expects a callback')
  const dialect = pool.dialect
  const begin = prepared ? dialect.distributed.begin(prepared) : beginStatement(mode, dialect)
  const lease = held !== undefined ? held : await pool.reserve(undefined, true)
  // The callback's queries carry a copy of the lease that tx.close() can close; BEGIN, COMMIT
  // and ROLLBACK go on the lease itself.
  const txLease = { slot: lease.slot, seq: lease.seq, tx: lease.tx, closed: false, sent: [], sentLimit: 64 }
  const tx = makeScopedSql(pool, txLease)
  const own = makeScopedSql(pool, lease)
  const closedError = () => dialect.error('CONNECTION_CLOSED', 'Connection closed')
  // As in Bun: no nested begin (use savepoint()); reserve() takes another connection.
  tx.begin = () => {
    throw dialect.error('INVALID_TRANSACTION_STATE', 'cannot call begin inside a transaction use savepoint() instead')
  }
  tx.transaction = tx.begin
  tx.reserve = (opts) => reserveConnection(pool, opts && opts.signal)
  let savepoints = 0
  tx.savepoint = async (name, inner) => {
    if (typeof name === 'function') {
      inner = name
      name = undefined
    }
    const sp = savepointName(name, ++savepoints, dialect)
    await tx.unsafe('SAVEPOINT ' + sp)
    try {
      let result = await inner(tx)
      if (Array.isArray(result)) result = await Promise.all(result)
      if (txLease.closed) throw closedError() // rolled back by tx.close(): nothing to release
      await own.unsafe('RELEASE SAVEPOINT ' + sp)
      return result
    } catch (err) {
      if (!txLease.closed) await own.unsafe('ROLLBACK TO SAVEPOINT ' + sp)
      throw err
    }
  }
  const rollback = async () => {
    // The connection may be gone: then the server already rolled back.
    for (const statement of prepared ? dialect.distributed.rollback(prepared) : ['ROLLBACK']) {
      await own.unsafe(statement).catch(() => {})
    }
  }
  // Bun's transaction close(): no more queries; the running ones are cancelled (with a
  // timeout > 0: after at most that long) and the transaction rolled back. begin() then
  // rejects with CONNECTION_CLOSED; the connection goes back to the pool.
  let closing = null
  tx.close = async (opts) => {
    const timeout = closeTimeout(opts)
    if (closing !== null) return closing
    txLease.closed = true
    closing = (async () => {
      const running = () => txLease.sent.filter((id) => pool.waiting !== undefined && pool.waiting.has(id))
      if (timeout > 0 && running().length > 0) {
        const sinks = running().map((id) => pool.waiting.get(id))
        let timer
        await Promise.race([
          Promise.allSettled(sinks),
          new Promise((resolve) => { timer = setTimeout(resolve, timeout * 1000) }),
        ])
        clearTimeout(timer)
      }
      for (const id of running()) pool.cancel(id)
      await rollback()
    })()
    return closing
  }
  tx.end = tx.close
  tx.flush = () => {}
  tx[Symbol.asyncDispose] = () => tx.close()
  try {
    await own.unsafe(begin)
    let result
    try {
      result = await fn(tx)
      if (Array.isArray(result)) result = await Promise.all(result)
    } catch (err) {
      // After tx.close(), its ROLLBACK must be done before the lease goes back.
      await (txLease.closed ? closing : rollback())
      throw err
    }
    // Closed by tx.close(): rolled back, nothing to commit.
    if (txLease.closed) {
      await closing
      throw closedError()
    }
    for (const statement of prepared ? dialect.distributed.prepare(prepared) : ['COMMIT']) {
      // PostgreSQL answers COMMIT (and PREPARE TRANSACTION) of a transaction an error aborted
      // with the tag ROLLBACK: nothing was committed, so begin() must not resolve.
      if ((await own.unsafe(statement)).command === 'ROLLBACK') {
        throw dialect.error('COMMIT_ROLLED_BACK', `${statement.split(' ')[0]} was answered with ROLLBACK: a statement of the transaction failed (its error was caught), so the server rolled the transaction back`)
      }
    }
    return result
  } finally {
    if (held === undefined) pool.release(lease, Boolean(prepared) && dialect.distributed.discardAfterPrepare)
  }
}

// A reserved connection forgotten without release() goes back to the pool: GC is one more way
// a lease returns, through the same pool.release(). What is watched is the lease object, not
// the handle: the handle's queries not yet sent and a transaction on it (reserved.begin()) hold
// the lease, and may outlive the handle (`const q = reserved\`...\``, or `reserved.begin(fn)`
// as the handle's last use); the record holds only its slot and seq.
const forgottenLeases = new FinalizationRegistry(({ pool, ticket, state }) => {
  if (!state.released) pool.release(ticket)
})

// A tagged-template function on one connection of the pool, until release().
async function reserveConnection(pool, signal) {
  const lease = await pool.reserve(signal)
  const reserved = makeScopedSql(pool, lease)
  const state = { released: false }
  forgottenLeases.register(lease, { pool, ticket: { slot: lease.slot, seq: lease.seq }, state }, state)
  reserved.release = () => {
    if (!state.released) {
      state.released = true
      // The registry's record holds the pool: once released, it must not keep it (lib/pool.js
      // Keeper) for as long as this handle lives.
      forgottenLeases.unregister(state)
      pool.release(lease)
    }
  }
  reserved[Symbol.dispose] = reserved.release
  // Bun's ReservedSQL.close(): the connection itself is closed (once its running queries are
  // done); the pool opens another when it needs one. It never blocks sql.close().
  reserved.close = async (opts) => {
    closeTimeout(opts) // checked as sql.close() checks it
    if (!state.released) {
      state.released = true
      pool.release(lease, true)
    }
  }
  // A transaction on this connection: no new lease; the connection stays reserved after it.
  reserved.begin = (mode, fn) => {
    if (state.released) return Promise.reject(pool.dialect.error('CONNECTION_CLOSED', 'this reserved connection was released'))
    return runTransaction(pool, mode, fn, undefined, lease)
  }
  reserved.transaction = reserved.begin
  reserved.reserve = (opts) => reserveConnection(pool, opts && opts.signal)
  reserved.flush = () => {}
  return reserved
}

module.exports = { SQL }
