'use strict'
// JS values -> MySQL binary-protocol parameters: { params: (string | number | Buffer | null)[],
// types } (a number only when finite, typed LONGLONG or DOUBLE).
// A type is a MySQL type byte (| 0x8000 for UNSIGNED); the engine encodes the text into the
// binary form of that type (src/mysql), so JS never builds protocol bytes.
//
//   string                -> VAR_STRING
//   number                -> LONGLONG when a safe integer (UNSIGNED above 2^31-1, so that
//                            `select ${2 ** 31}` comes back as a number, as in Bun.SQL), else
//                            DOUBLE (NaN/±Infinity: the server refuses them)
//   bigint                -> LONGLONG (UNSIGNED above 2^63-1); outside 64 bits: binding error
//   boolean               -> TINY 1/0
//   null, undefined       -> NULL
//   Date                  -> DATETIME in UTC (the session runs at time_zone '+00:00')
//   Buffer, TypedArray, DataView, ArrayBuffer -> BLOB, bytes as they are
//   Array, plain object   -> JSON text (VAR_STRING)
//   other object          -> its toJSON() / own toString() / JSON text, as for PostgreSQL

const { types: utilTypes } = require('node:util')
const { objectText, jsonText, isBytes, isPlainObject, describe } = require('./params.js')
const { T, formatDateTime, I64_MAX } = require('./mysql-types.js')

const UNSIGNED_PARAM = 0x8000
const stringValueOf = String.prototype.valueOf
const dateGetTime = Date.prototype.getTime

function mysqlBindingError(message, cause) {
  const { MySQLError } = require('./errors.js')
  const err = new MySQLError(message, { code: 'ERR_MYSQL_INVALID_QUERY_BINDING' })
  if (cause !== undefined) err.cause = cause
  return err
}

function bytesOf(value) {
  if (Buffer.isBuffer(value)) return value
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  return Buffer.from(value)
}

const out = { type: 0 }

function encodeValue(value) {
  switch (typeof value) {
    case 'string':
      out.type = T.VAR_STRING
      return value
    case 'number':
      out.type = !Number.isSafeInteger(value) ? T.DOUBLE : value > 2147483647 ? T.LONGLONG | UNSIGNED_PARAM : T.LONGLONG
      // A finite number stays a number: it goes to C as a double, which sends its 8 wire
      // bytes (lib/pool.js packParams). NaN and ±Infinity go as text, which the engine refuses.
      return Number.isFinite(value) ? value : String(value)
    case 'bigint':
      if (value < -(I64_MAX + 1n) || value > 2n * I64_MAX + 1n) throw mysqlBindingError(`a BigInt outside 64 bits cannot be bound: ${value}`)
      out.type = value > I64_MAX ? T.LONGLONG | UNSIGNED_PARAM : T.LONGLONG
      return value.toString()
    case 'boolean':
      out.type = T.TINY
      return value ? '1' : '0'
    case 'undefined':
      out.type = T.NULL
      return null
    case 'object':
      return encodeObject(value)
    default:
      throw mysqlBindingError(`cannot bind a value of type ${typeof value}`)
  }
}

function encodeObject(value) {
  out.type = T.VAR_STRING
  if (value === null) {
    out.type = T.NULL
    return null
  }
  if (utilTypes.isDate(value)) {
    if (dateGetTime.call(value) !== dateGetTime.call(value)) throw mysqlBindingError('cannot bind an Invalid Date')
    out.type = T.DATETIME
    return formatDateTime(value)
  }
  if (isBytes(value)) {
    out.type = T.BLOB
    return bytesOf(value)
  }
  if (Array.isArray(value) || isPlainObject(value)) return jsonText(value)
  if (utilTypes.isBoxedPrimitive(value)) {
    if (utilTypes.isStringObject(value)) return stringValueOf.call(value)
    throw mysqlBindingError('a boxed Number, Boolean, BigInt or Symbol is ambiguous and cannot be bound; pass the primitive')
  }
  return objectText(value)
}

function encodeMysqlParams(values) {
  const n = values.length
  const params = new Array(n)
  const types = new Array(n)
  for (let i = 0; i < n; i++) {
    try {
      params[i] = encodeValue(values[i])
    } catch (err) {
      if (err && err.code === 'ERR_MYSQL_INVALID_QUERY_BINDING') throw err
      throw mysqlBindingError(`cannot bind parameter ${i + 1}: ${describe(err)}`, err)
    }
    types[i] = out.type
  }
  return { params, types }
}

// `$n` placeholders (Bun.SQL's, also what sql.unsafe() users write for PostgreSQL) -> `?`, in
// the order they appear; a `$n` used twice binds its value twice. Quoted strings, quoted
// identifiers and comments are left alone. Text without `$n` is returned as it is (it may use
// `?` itself).
function rewritePlaceholders(text, values) {
  if (!text.includes('$')) return { text, values }
  let out = ''
  const bound = []
  let i = 0
  let last = 0
  let used = false
  const n = text.length
  while (i < n) {
    const c = text[i]
    if (c === "'" || c === '"' || c === '`') {
      i++
      while (i < n && text[i] !== c) i += text[i] === '\\' && c !== '`' ? 2 : 1
      i++
    } else if ((c === '-' && text[i + 1] === '-') || c === '#') {
      while (i < n && text[i] !== '\n') i++
    } else if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      i = end < 0 ? n : end + 2
    } else if (c === '$' && /[1-9]/.test(text[i + 1] || '')) {
      let j = i + 1
      while (j < n && text[j] >= '0' && text[j] <= '9') j++
      const k = Number(text.slice(i + 1, j))
      if (k > values.length) throw mysqlBindingError(`the query uses $${k} but only ${values.length} value(s) were given`)
      out += text.slice(last, i) + '?'
      bound.push(values[k - 1])
      last = i = j
      used = true
    } else {
      i++
    }
  }
  if (!used) return { text, values }
  return { text: out + text.slice(last), values: bound }
}

module.exports = { encodeMysqlParams, rewritePlaceholders, mysqlBindingError }
