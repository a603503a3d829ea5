'use strict'
// The sqlite adapter: Bun.SQL's `new SQL(":memory:")`, `sqlite://`, `file:` and
// `{ adapter: "sqlite", filename }`, on the runtime's own SQLite: bun:sqlite under Bun,
// node:sqlite under Node.js >= 22.5. Pure JS, no native pool: one database handle, opened when
// the SQL instance is made (as Bun does; onconnect fires then), statements run synchronously.
//
// SqlitePool has the NativePool methods that lib/sql.js and lib/query.js use (send, reserve,
// release, cancel, close, rawStats), so templates, helpers, transactions, savepoints and
// reserve() are the shared code. The one connection is a lease: while a transaction or a
// reserve() holds it, other queries wait in a FIFO here and run when it is released.
//
// Results follow Bun 1.4.5's sqlite adapter, measured: a statement with result columns gives
// its rows (count = rows, lastInsertRowid null, affectedRows 0); any other statement runs
// whole, several statements too, and gives count = affectedRows = changes and lastInsertRowid.
// `command` is the first keyword. BLOBs are Uint8Array. Integers are numbers, or BigInt with
// `safeIntegers` (alias `bigint`). `.raw()` gives each value as bytes: integers as 8-byte
// little-endian int64, reals as float64, text as UTF-8, NULL as null.

const fs = require('node:fs')
const { SQLiteError, callUser } = require('./errors.js')
const { newResult } = require('./result.js')
const { kOnError, kOnResult, kMode } = require('./sinks.js')

// Loaded on first use: requiring node:sqlite prints an ExperimentalWarning on Node 22.
let engine = null
function loadEngine() {
  if (engine !== null) return engine
  if (process.versions.bun) {
    engine = { kind: 'bun', mod: require('bun:sqlite') }
    return engine
  }
  let mod
  try {
    mod = require('node:sqlite')
  } catch (err) {
    const [major, minor] = process.versions.node.split('.').map(Number)
    const old = major < 22 || (major === 22 && minor < 5)
    const e = new Error(old
      ? `the sqlite adapter needs node:sqlite, which Node.js ${process.version} does not have (it needs Node.js >= 22.5, or Bun); use PostgreSQL or MySQL here, or upgrade Node.js`
      : `the sqlite adapter needs node:sqlite, which Node.js ${process.version} did not load (${err.code || err.message}); on Node.js 22.5 to 22.12 start node with --experimental-sqlite`)
    e.code = 'ERR_UVSQL_SQLITE_UNAVAILABLE'
    throw e
  }
  engine = { kind: 'node', mod }
  return engine
}

// SQLite result codes (sqlite3.h): primary codes, and extended ones as primary | n << 8.
// node:sqlite reports only the number (errcode); Bun's SQLiteError.code is its name.
const PRIMARY = ['OK', 'ERROR', 'INTERNAL', 'PERM', 'ABORT', 'BUSY', 'LOCKED', 'NOMEM', 'READONLY', 'INTERRUPT',
  'IOERR', 'CORRUPT', 'NOTFOUND', 'FULL', 'CANTOPEN', 'PROTOCOL', 'EMPTY', 'SCHEMA', 'TOOBIG', 'CONSTRAINT',
  'MISMATCH', 'MISUSE', 'NOLFS', 'AUTH', 'FORMAT', 'RANGE', 'NOTADB', 'NOTICE', 'WARNING']
const EXTENDED = {
  ERROR: ['MISSING_COLLSEQ', 'RETRY', 'SNAPSHOT'],
  IOERR: ['READ', 'SHORT_READ', 'WRITE', 'FSYNC', 'DIR_FSYNC', 'TRUNCATE', 'FSTAT', 'UNLOCK', 'RDLOCK', 'DELETE',
    'BLOCKED', 'NOMEM', 'ACCESS', 'CHECKRESERVEDLOCK', 'LOCK', 'CLOSE', 'DIR_CLOSE', 'SHMOPEN', 'SHMSIZE',
    'SHMLOCK', 'SHMMAP', 'SEEK', 'DELETE_NOENT', 'MMAP', 'GETTEMPPATH', 'CONVPATH', 'VNODE', 'AUTH',
    'BEGIN_ATOMIC', 'COMMIT_ATOMIC', 'ROLLBACK_ATOMIC', 'DATA', 'CORRUPTFS'],
  LOCKED: ['SHAREDCACHE', 'VTAB'],
  BUSY: ['RECOVERY', 'SNAPSHOT', 'TIMEOUT'],
  CANTOPEN: ['NOTEMPDIR', 'ISDIR', 'FULLPATH', 'CONVPATH', 'DIRTYWAL', 'SYMLINK'],
  CORRUPT: ['VTAB', 'SEQUENCE', 'INDEX'],
  READONLY: ['RECOVERY', 'CANTLOCK', 'ROLLBACK', 'DBMOVED', 'CANTINIT', 'DIRECTORY'],
  ABORT: ['ROLLBACK'],
  CONSTRAINT: ['CHECK', 'COMMITHOOK', 'FOREIGNKEY', 'FUNCTION', 'NOTNULL', 'PRIMARYKEY', 'TRIGGER', 'UNIQUE',
    'VTAB', 'ROWID', 'PINNED', 'DATATYPE'],
  NOTICE: ['RECOVER_WAL', 'RECOVER_ROLLBACK'],
  WARNING: ['AUTOINDEX'],
  AUTH: ['USER'],
}

function resultCodeName(errno) {
  const primary = PRIMARY[errno & 0xff]
  if (primary === undefined) return 'SQLITE_ERROR'
  const ext = errno >> 8
  const names = EXTENDED[primary]
  if (ext > 0 && names !== undefined && names[ext - 1] !== undefined) return `SQLITE_${primary}_${names[ext - 1]}`
  return 'SQLITE_' + primary
}

// An engine's error -> SQLiteError { code, errno, byteOffset? } as Bun makes it. Anything else
// (a TypeError for a bad binding) is passed on as it is.
function toSQLiteError(err) {
  if (err === null || typeof err !== 'object') return err
  if (err.name === 'SQLiteError' && !(err instanceof SQLiteError)) {
    return new SQLiteError(String(err.message), {
      code: err.code !== undefined ? String(err.code) : 'SQLITE_ERROR',
      errno: err.errno !== undefined ? Number(err.errno) : 1,
      byteOffset: err.byteOffset !== undefined ? Number(err.byteOffset) : undefined,
    })
  }
  if (err.code === 'ERR_SQLITE_ERROR' && typeof err.errcode === 'number') {
    return new SQLiteError(String(err.message), { code: resultCodeName(err.errcode), errno: err.errcode, byteOffset: -1 })
  }
  return err
}

function clientError(code, message) {
  return new SQLiteError(message, { code: 'ERR_SQLITE_' + code, errno: 0 })
}

// The first keyword of the statement, upper-cased (comments skipped): the result's `command`.
function firstKeyword(text) {
  let i = 0
  const n = text.length
  while (i < n) {
    const c = text[i]
    if (c === '-' && text[i + 1] === '-') {
      while (i < n && text[i] !== '\n') i++
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      i = end < 0 ? n : end + 2
    } else if (/\s|;|\(/.test(c)) {
      i++
    } else {
      const m = /^[A-Za-z_][A-Za-z0-9_$]*/.exec(text.slice(i, i + 64))
      return m ? m[0].toUpperCase() : ''
    }
  }
  return ''
}

// Values bun:sqlite binds; anything else fails as it does in Bun (a TypeError, when run).
function bindValue(v) {
  if (v === null || v === undefined) return null
  const t = typeof v
  if (t === 'string' || t === 'number' || t === 'bigint') return v
  if (t === 'boolean') return v ? 1 : 0
  if (ArrayBuffer.isView(v)) return v instanceof Uint8Array ? v : new Uint8Array(v.buffer, v.byteOffset, v.byteLength)
  if (v instanceof ArrayBuffer) return new Uint8Array(v)
  throw new TypeError('Binding expected string, TypedArray, boolean, number, bigint or null')
}

// values: an array (? placeholders) or, from sql.unsafe()/sql.file(), an object of named
// parameters ($a, :a, @a).
function encodeSqliteParams(values) {
  if (Array.isArray(values)) return { params: values.map(bindValue), types: null }
  const named = {}
  for (const k of Object.keys(values)) named[k] = bindValue(values[k])
  return { params: named, types: null }
}

const i64 = new DataView(new ArrayBuffer(8))
function rawValue(v) {
  if (v === null) return null
  if (v instanceof Uint8Array) return v
  if (typeof v === 'string') return new Uint8Array(Buffer.from(v, 'utf8'))
  const out = new Uint8Array(8)
  if (typeof v === 'bigint') i64.setBigInt64(0, v, true)
  else i64.setFloat64(0, v, true)
  out.set(new Uint8Array(i64.buffer))
  return out
}

// A database handle behind one small interface: prepare a statement and run it.
function openDatabase(options) {
  const { kind, mod } = loadEngine()
  const filename = options.filename
  const memory = filename === ':memory:' || filename === ''
  if (kind === 'bun') {
    const o = {}
    if (options.readonly) {
      o.readonly = true
    } else {
      o.create = options.create !== false
      o.readwrite = true
    }
    if (options.safeIntegers !== undefined) o.safeIntegers = options.safeIntegers
    if (options.strict !== undefined) o.strict = options.strict
    return bunDatabase(new mod.Database(filename, o))
  }
  // node:sqlite has no `create`: a missing file is refused here, with SQLite's own error.
  if (!memory && options.create === false && !options.readonly && !fs.existsSync(filename)) {
    throw new SQLiteError('unable to open database file', { code: 'SQLITE_CANTOPEN', errno: 14, byteOffset: -1 })
  }
  // Foreign keys off and double-quoted strings as SQLite's defaults, as in bun:sqlite.
  const o = { enableForeignKeyConstraints: false }
  if (options.readonly) o.readOnly = true
  return nodeDatabase(new mod.DatabaseSync(filename, o), Boolean(options.safeIntegers))
}

function bunDatabase(db) {
  const apply = (fn, self, values) => (Array.isArray(values) ? fn.apply(self, values) : fn.call(self, values))
  return {
    // { rows } for a statement with result columns; else { changes, lastInsertRowid }.
    run(text, values, mode) {
      let stmt = null
      try {
        stmt = db.prepare(text)
      } catch (err) {
        if (err && err.name === 'SQLiteError') throw err
        // No statement at all (empty or only comments): db.run() reports it.
      }
      if (stmt !== null && stmt.columnNames.length > 0) {
        try {
          if (mode === 'values') return { rows: apply(stmt.values, stmt, values) }
          if (mode === 'raw') return { rows: apply(stmt.raw, stmt, values) }
          return { rows: apply(stmt.all, stmt, values) }
        } finally {
          stmt.finalize()
        }
      }
      if (stmt !== null) stmt.finalize()
      const r = Array.isArray(values) ? db.run(text, ...values) : db.run(text, values)
      return { changes: r.changes, lastInsertRowid: r.lastInsertRowid }
    },
    close: () => db.close(),
  }
}

function nodeDatabase(db, bigints) {
  let counters = null
  const apply = (fn, self, values) => (Array.isArray(values) ? fn.apply(self, values) : fn.call(self, values))
  function changes(before) {
    if (counters === null) counters = db.prepare('select total_changes() as t, last_insert_rowid() as id')
    counters.setReadBigInts(bigints)
    const c = counters.get()
    return { changes: before === null ? null : Number(c.t) - before, lastInsertRowid: c.id }
  }
  function totalChanges() {
    if (counters === null) counters = db.prepare('select total_changes() as t, last_insert_rowid() as id')
    counters.setReadBigInts(false)
    return counters.get().t
  }
  const readsRows = (stmt, text) => (typeof stmt.columns === 'function'
    ? stmt.columns().length > 0
    : /^(SELECT|WITH|VALUES|PRAGMA|EXPLAIN)$/.test(firstKeyword(text)) || /\breturning\b/i.test(text))
  return {
    run(text, values, mode) {
      const simple = Array.isArray(values) && values.length === 0
      const stmt = db.prepare(text)
      if (readsRows(stmt, text)) {
        stmt.setReadBigInts(bigints || mode === 'raw')
        const rows = apply(stmt.all, stmt, values)
        for (const row of rows) if (Object.getPrototypeOf(row) === null) Object.setPrototypeOf(row, Object.prototype)
        if (mode === 'values') return { rows: rows.map((r) => Object.values(r)) }
        if (mode === 'raw') return { rows: rows.map((r) => Object.values(r).map(rawValue)) }
        return { rows }
      }
      // exec() runs every statement of the text (it takes no parameters).
      const before = totalChanges()
      if (simple) db.exec(text)
      else apply(stmt.run, stmt, values)
      return changes(before)
    },
    close: () => db.close(),
  }
}

class SqlitePool {
  constructor(options, dialect) {
    this.options = options
    this.dialect = dialect
    this.closed = false
    this.db = null
    this.openError = null
    this.owner = null // the lease holding the connection (a transaction, reserve()), or null
    this.queue = [] // { id, run } waiting for the connection: queries and reserve() calls
    this.nextId = 1
    this.seq = 0
    this.queries = 0
    try {
      this.db = openDatabase(options)
    } catch (err) {
      if (err && err.code === 'ERR_UVSQL_SQLITE_UNAVAILABLE') throw err
      this.openError = toSQLiteError(err)
    }
    callUser(options.onconnect, this.openError)
  }

  unavailable() {
    if (this.closed) return clientError('CONNECTION_CLOSED', 'Connection closed')
    return this.openError
  }

  // Runs the statement now when the connection is free (or held by this lease); else queues it.
  send(text, params, types, simple, raw, sink, lease) {
    const id = this.nextId++
    const mode = raw ? 'raw' : sink[kMode] || 'objects'
    const run = () => this.execute(text, params, mode, sink)
    if (lease !== undefined) {
      // By seq: a transaction's queries carry a copy of its lease (lib/sql.js, tx.close()).
      if (lease.closed === true) sink[kOnError](clientError('CONNECTION_CLOSED', 'Connection closed'))
      else if (this.owner === null || this.owner.seq !== lease.seq) sink[kOnError](clientError('CONNECTION_CLOSED', 'this reserved connection was released'))
      else run()
      return id
    }
    if (this.owner === null && this.queue.length === 0) run()
    else this.queue.push({ id, run, fail: (err) => sink[kOnError](err) })
    return id
  }

  execute(text, params, mode, sink) {
    const down = this.unavailable()
    if (down !== null) {
      sink[kOnError](down)
      return
    }
    this.queries++
    let out
    try {
      out = this.db.run(text, params === null ? [] : params, mode)
    } catch (err) {
      sink[kOnError](toSQLiteError(err))
      return
    }
    const result = newResult()
    result.command = firstKeyword(text) || null
    if (out.rows !== undefined) {
      for (let i = 0; i < out.rows.length; i++) result.push(out.rows[i])
      result.count = out.rows.length
      result.lastInsertRowid = null
      result.affectedRows = 0
    } else {
      result.count = out.changes
      result.affectedRows = out.changes
      result.lastInsertRowid = out.lastInsertRowid
    }
    sink[kOnResult](result)
  }

  // The connection, exclusively, until release(lease). FIFO with the queued queries.
  reserve(signal) {
    const down = this.unavailable()
    if (down !== null) return Promise.reject(down)
    if (signal && signal.aborted) return Promise.reject(signal.reason)
    return new Promise((resolve, reject) => {
      const grant = () => {
        if (signal) signal.removeEventListener('abort', onAbort)
        const lease = { slot: 0, seq: ++this.seq }
        this.owner = lease
        resolve(lease)
      }
      const entry = { id: this.nextId++, reserve: true, run: grant, fail: reject }
      const onAbort = () => {
        const at = this.queue.indexOf(entry)
        if (at >= 0) this.queue.splice(at, 1)
        reject(signal.reason)
      }
      if (signal) signal.addEventListener('abort', onAbort, { once: true })
      if (this.owner === null && this.queue.length === 0) grant()
      else this.queue.push(entry)
    })
  }

  release(lease) {
    if (this.owner !== lease) return
    this.owner = null
    this.drain()
  }

  // Runs queued queries in order until one takes the connection (a reserve()).
  drain() {
    while (this.owner === null && this.queue.length > 0) this.queue.shift().run()
  }

  // A query still in the queue is taken out and fails; a running one cannot be (it is
  // synchronous, so by the time cancel() can run it has finished).
  cancel(id) {
    const at = this.queue.findIndex((e) => e.id === id)
    if (at < 0) return
    const [entry] = this.queue.splice(at, 1)
    entry.fail(clientError('QUERY_CANCELLED', 'Query cancelled'))
  }

  // Closes at once, as Bun's sqlite adapter does: queued queries fail with
  // ERR_SQLITE_CONNECTION_CLOSED, and onclose gets that error.
  close() {
    if (this.closed) return Promise.resolve()
    this.closed = true
    const err = clientError('CONNECTION_CLOSED', 'Connection closed')
    const queued = this.queue
    this.queue = []
    for (const entry of queued) entry.fail(err)
    if (this.db !== null) {
      try {
        this.db.close()
      } catch {}
      this.db = null
    }
    if (this.openError === null) callUser(this.options.onclose, err)
    return Promise.resolve()
  }

  rawStats() {
    const open = this.db !== null
    return {
      ready: open && this.owner === null ? 1 : 0,
      reserved: open && this.owner !== null ? 1 : 0,
      waiting: this.queue.length,
      opened: this.openError === null && (open || this.closed) ? 1 : 0,
      connected: this.openError === null && (open || this.closed) ? 1 : 0,
      connectFailures: this.openError !== null ? 1 : 0,
      closed: this.closed && this.openError === null ? 1 : 0,
      closedByPool: this.closed && this.openError === null ? 1 : 0,
      queries: this.queries,
    }
  }
}

// sqlite://, sqlite:, file: URLs and bare paths -> { filename, readonly?, create? } as Bun
// 1.4.5 reads them: '' and ':memory:' are in memory; ?mode=ro|rw|rwc; no percent-decoding.
function parseSqliteUrl(url) {
  let rest = url
  const scheme = /^(sqlite|file):/i.exec(rest)
  if (scheme) {
    rest = rest.slice(scheme[0].length)
    if (rest.startsWith('//')) {
      rest = rest.slice(2)
      if (rest.startsWith('localhost/')) rest = rest.slice('localhost'.length)
    }
  }
  const q = rest.indexOf('?')
  const query = q >= 0 ? new URLSearchParams(rest.slice(q + 1)) : new URLSearchParams()
  if (q >= 0) rest = rest.slice(0, q)
  const out = { filename: rest === '' ? ':memory:' : rest }
  const mode = query.get('mode')
  if (mode === 'ro') out.readonly = true
  else if (mode === 'rw') Object.assign(out, { readonly: false, create: false })
  else if (mode === 'rwc') Object.assign(out, { readonly: false, create: true })
  return out
}

function isSqliteUrl(url) {
  return url === ':memory:' || /^(sqlite|file):/i.test(url)
}

// Bun's sqlite options: what was given, plus adapter and filename (the URL's mode filled in).
function parseSqliteOptions(o) {
  const options = {}
  for (const [k, v] of Object.entries(o)) if (v !== undefined) options[k] = v
  let filename = o.filename
  if (filename instanceof URL) filename = filename.toString()
  let fromUrl = {}
  if (filename === undefined && o.url !== undefined) fromUrl = parseSqliteUrl(String(o.url))
  else if (typeof filename === 'string' && /^(sqlite|file):/i.test(filename)) fromUrl = parseSqliteUrl(filename)
  else if (filename !== undefined) fromUrl = { filename: String(filename) }
  Object.assign(options, { adapter: 'sqlite' }, fromUrl)
  if (options.filename === undefined) options.filename = ':memory:'
  if (o.bigint !== undefined && o.safeIntegers === undefined) options.safeIntegers = Boolean(o.bigint)
  for (const k of ['onconnect', 'onclose']) if (options[k] !== undefined && typeof options[k] !== 'function') delete options[k]
  // Read by sql.stats() (one connection), hidden like the other internal fields.
  Object.defineProperty(options, 'max', { value: 1, enumerable: false })
  return options
}

// BEGIN options: DEFERRED, IMMEDIATE, EXCLUSIVE; a read-only transaction does not exist in SQLite.
function sqliteBegin(mode) {
  if (!mode) return 'BEGIN'
  const upper = mode.toUpperCase()
  if (upper === 'READONLY' || upper === 'READ') {
    throw clientError('INVALID_TRANSACTION_STATE', `SQLite doesn't support '${mode}' transaction mode. Use DEFERRED, IMMEDIATE, or EXCLUSIVE.`)
  }
  return 'BEGIN ' + upper
}

module.exports = {
  SqlitePool, parseSqliteOptions, isSqliteUrl, encodeSqliteParams, sqliteBegin, resultCodeName, clientError, loadEngine,
}
