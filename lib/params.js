'use strict'
// JS values -> PostgreSQL text-format parameters and their type OIDs.
// A type of 0 lets the server infer it from the query (strings, JSON, unknown objects), which
// is what makes `where id = ${"42"}` work on an int column.

const OID = { bool: 16, bytea: 17, int8: 20, int4: 23, float8: 701, timestamptz: 1184, unknown: 0 }

function encodeParam(value) {
  switch (typeof value) {
    case 'string':
      return [value, OID.unknown]
    case 'number':
      if (Number.isInteger(value) && value >= -2147483648 && value <= 2147483647) return [String(value), OID.int4]
      if (Number.isNaN(value)) return ['NaN', OID.float8]
      if (value === Infinity) return ['Infinity', OID.float8]
      if (value === -Infinity) return ['-Infinity', OID.float8]
      return [String(value), OID.float8]
    case 'bigint':
      return [value.toString(), OID.int8]
    case 'boolean':
      return [value ? 't' : 'f', OID.bool]
    case 'undefined':
      return [null, OID.unknown]
    case 'object':
      if (value === null) return [null, OID.unknown]
      if (value instanceof Date) {
        if (Number.isNaN(value.getTime())) throw bindingError('cannot bind an invalid Date')
        return [value.toISOString(), OID.timestamptz]
      }
      if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
        return ['\\x' + Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('hex'), OID.bytea]
      }
      return [JSON.stringify(value), OID.unknown]
    default:
      throw bindingError(`cannot bind a value of type ${typeof value}`)
  }
}

function bindingError(message) {
  const { PostgresError } = require('./errors.js')
  return new PostgresError(message, { code: 'ERR_POSTGRES_INVALID_QUERY_BINDING' })
}

function encodeParams(values) {
  const params = new Array(values.length)
  const types = new Array(values.length)
  for (let i = 0; i < values.length; i++) {
    const [text, oid] = encodeParam(values[i])
    params[i] = text
    types[i] = oid
  }
  return { params, types }
}

module.exports = { encodeParams, encodeParam, bindingError }
