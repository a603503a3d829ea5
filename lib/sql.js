'use strict'
// The SQL class: `new SQL(url | options)` returns a tagged-template function with methods.

const { parseOptions } = require('./options.js')
const { NativePool } = require('./pool.js')
const { Query } = require('./query.js')
const { encodeParams, bindingError } = require('./params.js')
const { PostgresError } = require('./errors.js')

// A call counts as a tagged template only when its strings array is frozen and has `raw`, so a
// parsed-JSON array cannot pose as one.
function isTemplateStrings(strings) {
  return Array.isArray(strings) && Object.isFrozen(strings) && Array.isArray(strings.raw)
}

function compileTemplate(strings, values) {
  let text = strings[0]
  for (let i = 1; i < strings.length; i++) text += '$' + i + strings[i]
  return { text, values }
}

// sql.stats(): connections by state, waiting queries, and the pool's lifetime counters.
function poolStats(raw, options) {
  const r = raw || {}
  const n = (k) => r[k] || 0
  return {
    max: options.max,
    total: n('connecting') + n('pending') + n('ready') + n('busy') + n('closing'),
    idle: n('ready'),
    busy: n('busy'),
    reserved: 0,
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

function SQL(a, b) {
  if (!new.target) return new SQL(a, b)
  const options = parseOptions(a, b)
  const pool = new NativePool(options)

  function makeQuery(text, values, unsafe = false) {
    let encoded
    try {
      encoded = encodeParams(values)
    } catch (err) {
      // Surfaces when the query is awaited, like a server error; nothing is sent.
      return new Query(pool, text, null, null, err)
    }
    return new Query(pool, text, encoded.params, encoded.types, null, unsafe)
  }

  function sql(strings, ...values) {
    if (!isTemplateStrings(strings)) {
      throw new PostgresError(
        'sql() helpers are not supported by this version of uvsql yet; use sql`...` with ${values}',
        { code: 'ERR_POSTGRES_NOT_TAGGED_CALL' })
    }
    const { text } = compileTemplate(strings, values)
    return makeQuery(text, values)
  }

  Object.setPrototypeOf(sql, SQL.prototype)
  Object.defineProperty(sql, 'options', { value: options, enumerable: false })

  sql.unsafe = (text, values = []) => {
    if (typeof text !== 'string') throw bindingError('sql.unsafe() expects the query text as a string')
    return makeQuery(text, Array.isArray(values) ? values : [], true)
  }
  sql.close = (opts = {}) => pool.close(opts && opts.timeout)
  sql.end = sql.close
  sql[Symbol.asyncDispose] = () => pool.close()
  // Not in Bun.SQL: what the pool is doing (documented in the README).
  sql.stats = () => poolStats(pool.rawStats(), options)
  // Undocumented: the raw native counters, for tests and diagnostics.
  Object.defineProperty(sql, '_stats', { value: () => pool.rawStats(), enumerable: false })
  return sql
}

Object.setPrototypeOf(SQL.prototype, Function.prototype)

module.exports = { SQL }
