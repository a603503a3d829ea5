'use strict'
// JS values -> PostgreSQL text-format parameters and their type OIDs.
// A type of 0 lets the server infer it from the query (strings, JSON, unknown objects), which
// is what makes `where id = ${"42"}` work on an int column.
//
//   string                     -> as is, OID 0 (inferred)
//   number                     -> int4 (23) when an int32; int8 (20) when another safe integer
//                                 (as Bun does); otherwise float8 (701): fractions, NaN,
//                                 ±Infinity, -0, integers beyond 2^53
//   bigint                     -> int8 (20)
//   boolean                    -> bool (16) 't'/'f'
//   null, undefined            -> NULL (OID 0)
//   Date                       -> timestamptz (1184) ISO text; an Invalid Date is a binding error
//   Buffer, TypedArray, DataView, ArrayBuffer -> bytea (17) hex
//   Array                      -> a PostgreSQL array literal typed by its elements (see
//                                 encodeArray); with a plain object inside, JSON text (OID 0)
//   plain object               -> JSON text, OID 0 (json/jsonb columns accept it)
//   other object               -> its toJSON() (a string is sent as is, anything else as JSON);
//                                 else its own toString() if it has one; else JSON text; OID 0
//   String object              -> its string; Number/Boolean/BigInt/Symbol objects, functions
//                                 and symbols -> binding error (Bun bans boxed numbers/booleans)
// Any throw while converting (toJSON/toString/valueOf, a cycle, a BigInt inside JSON) becomes a
// PostgresError with code ERR_POSTGRES_INVALID_QUERY_BINDING, before anything is sent.
//
// Deliberate differences from Bun.SQL, which sends OID 0 for everything but
// bool/int4/int8/float8/bytea and then binds with the types the server inferred (Describe first):
//  - Date is sent as timestamptz (1184) rather than inferred, so `date_trunc('day', ${d})`,
//    `${d} + interval '1 day'` and `select ${d}` work. Into a `timestamp without time zone`
//    column the server converts it with the session TimeZone: with a non-UTC TimeZone the
//    stored wall-clock time is local, not UTC (Bun stores UTC). Use timestamptz or a UTC session.
//  - Arrays are array literals with an element-derived OID (int4[], int8[], float8[], numeric[],
//    bool[], timestamptz[], bytea[]), so `unnest(${[1, 2]})` works. Bun sends JSON unless the
//    server inferred an array type. Arrays of strings (or mixed types) keep OID 0 so the server
//    infers uuid[], varchar[], enum arrays... (`where id = any(${ids})` on a uuid column).
//    An array meant for a json/jsonb column must hold objects, or be passed as JSON.stringify().
//  - Number/Boolean objects and values whose conversion throws are PostgresErrors with
//    ERR_POSTGRES_INVALID_QUERY_BINDING (Bun: a TypeError with ERR_INVALID_ARG_TYPE).
//  - An object with a toJSON() that returns a string (Decimal.js, Luxon, URL...) is sent as that
//    string, not as a JSON string literal; an object with its own toString() and no toJSON()
//    (URLSearchParams...) is sent as String(value). Bun JSON-encodes both.

const { types: utilTypes } = require('node:util')
const { OID, formatTimestamptz, byteaHex, quoteArrayElement } = require('./types.js')

const objectToString = Object.prototype.toString
const stringValueOf = String.prototype.valueOf
const dateGetTime = Date.prototype.getTime

function bindingError(message, cause) {
  const { PostgresError } = require('./errors.js')
  const err = new PostgresError(message, { code: 'ERR_POSTGRES_INVALID_QUERY_BINDING' })
  if (cause !== undefined) err.cause = cause
  return err
}

function isBytes(value) {
  return ArrayBuffer.isView(value) || utilTypes.isAnyArrayBuffer(value)
}

function isPlainObject(value) {
  const proto = Object.getPrototypeOf(value)
  return proto === Object.prototype || proto === null
}

// String(±Infinity) is already "Infinity"; String(-0) is "0".
function numberText(value) {
  if (value !== value) return 'NaN'
  return value === 0 && 1 / value < 0 ? '-0' : String(value)
}

// An int32 other than -0 (which goes as float8 '-0', as in Bun).
function isInt32(value) {
  return (value | 0) === value && (value !== 0 || 1 / value > 0)
}

function dateText(value) {
  if (dateGetTime.call(value) !== dateGetTime.call(value)) throw bindingError('cannot bind an Invalid Date')
  return formatTimestamptz(value)
}

function jsonText(value) {
  const text = JSON.stringify(value)
  return text === undefined ? null : text
}

// A non-plain, non-special object -> its text (OID 0).
function objectText(value) {
  // Bun's URLSearchParams has a toJSON() (an object of entries) that Node's lacks: its text is
  // the query string in both runtimes.
  if (value instanceof URLSearchParams) return String(value)
  if (typeof value.toJSON === 'function') {
    const json = value.toJSON()
    return typeof json === 'string' ? json : jsonText(json)
  }
  if (typeof value.toString === 'function' && value.toString !== objectToString) return String(value)
  return jsonText(value)
}

// Scalar OID / text for one value; `oid` is set through the out-parameter object to avoid an
// allocation per parameter.
const out = { oid: 0 }

function encodeValue(value) {
  switch (typeof value) {
    case 'string':
      out.oid = 0
      return value
    case 'number':
      if (isInt32(value)) {
        out.oid = OID.int4
        return String(value)
      }
      if (Number.isSafeInteger(value) && value !== 0) {
        out.oid = OID.int8
        return String(value)
      }
      out.oid = OID.float8
      return numberText(value)
    case 'bigint':
      out.oid = OID.int8
      return value.toString()
    case 'boolean':
      out.oid = OID.bool
      return value ? 't' : 'f'
    case 'undefined':
      out.oid = 0
      return null
    case 'object':
      return encodeObject(value)
    default:
      throw bindingError(`cannot bind a value of type ${typeof value}`)
  }
}

function encodeObject(value) {
  out.oid = 0
  if (value === null) return null
  if (Array.isArray(value)) return encodeArray(value)
  if (utilTypes.isDate(value)) {
    out.oid = OID.timestamptz
    return dateText(value)
  }
  if (isBytes(value)) {
    out.oid = OID.bytea
    return byteaHex(value)
  }
  if (isPlainObject(value)) return jsonText(value)
  if (utilTypes.isBoxedPrimitive(value)) {
    if (utilTypes.isStringObject(value)) return stringValueOf.call(value)
    throw bindingError('a boxed Number, Boolean, BigInt or Symbol is ambiguous and cannot be bound; pass the primitive')
  }
  return objectText(value)
}

// --- arrays -----------------------------------------------------------------------------------
// The element kinds of an array (all levels), as bit flags.
const K_INT4 = 1 // number, int32
const K_INT8 = 2 // number, safe integer outside int32
const K_FLOAT = 4 // any other number (fraction, NaN, ±Infinity, unsafe integer)
const K_BIGINT = 8
const K_BOOL = 16
const K_STRING = 32
const K_DATE = 64
const K_BYTES = 128
const K_JSON = 256 // a plain object: the whole array goes as JSON
const K_OTHER = 512 // another object, sent as its text

function kindsOf(array, depth) {
  if (depth > 64) throw bindingError('array nesting is too deep (more than 64 levels)')
  let kinds = 0
  for (let i = 0; i < array.length; i++) {
    const v = array[i]
    switch (typeof v) {
      case 'number':
        kinds |= isInt32(v) ? K_INT4 : Number.isSafeInteger(v) && v !== 0 ? K_INT8 : K_FLOAT
        break
      case 'string':
        kinds |= K_STRING
        break
      case 'boolean':
        kinds |= K_BOOL
        break
      case 'bigint':
        kinds |= K_BIGINT
        break
      case 'undefined':
        break
      case 'object':
        if (v === null) break
        if (Array.isArray(v)) kinds |= kindsOf(v, depth + 1)
        else if (utilTypes.isDate(v)) kinds |= K_DATE
        else if (isBytes(v)) kinds |= K_BYTES
        else if (isPlainObject(v)) kinds |= K_JSON
        else if (utilTypes.isBoxedPrimitive(v) && !utilTypes.isStringObject(v)) {
          throw bindingError('a boxed Number, Boolean, BigInt or Symbol is ambiguous and cannot be bound; pass the primitive')
        } else kinds |= utilTypes.isStringObject(v) ? K_STRING : K_OTHER
        break
      default:
        throw bindingError(`cannot bind an array element of type ${typeof v}`)
    }
  }
  return kinds
}

const NUMERIC_KINDS = K_INT4 | K_INT8 | K_FLOAT | K_BIGINT

function arrayOid(kinds) {
  if (kinds === 0) return 0 // empty, or only NULLs: let the server infer
  if ((kinds & ~NUMERIC_KINDS) === 0) {
    if (kinds === K_INT4) return OID.int4_array
    if ((kinds & K_FLOAT) === 0) return OID.int8_array
    return kinds & K_BIGINT ? OID.numeric_array : OID.float8_array
  }
  if (kinds === K_BOOL) return OID.bool_array
  if (kinds === K_DATE) return OID.timestamptz_array
  if (kinds === K_BYTES) return OID.bytea_array
  return 0 // strings (uuid[], varchar[], enums... are inferred) and mixed arrays
}

// One array level -> `{e1,e2,...}`. Numbers and booleans go bare in typed arrays; everything
// else, and everything in an untyped (OID 0) array, is quoted.
function arrayLiteral(array, typed) {
  let s = '{'
  for (let i = 0; i < array.length; i++) {
    if (i > 0) s += ','
    const v = array[i]
    switch (typeof v) {
      case 'number':
        s += typed ? numberText(v) : '"' + numberText(v) + '"'
        break
      case 'bigint':
        s += typed ? v.toString() : '"' + v.toString() + '"'
        break
      case 'boolean':
        s += typed ? (v ? 't' : 'f') : v ? '"true"' : '"false"'
        break
      case 'string':
        s += quoteArrayElement(v)
        break
      case 'undefined':
        s += 'NULL'
        break
      default: // object (kindsOf rejected everything else)
        if (v === null) s += 'NULL'
        else if (Array.isArray(v)) s += arrayLiteral(v, typed)
        else if (utilTypes.isDate(v)) s += '"' + dateText(v) + '"'
        else if (isBytes(v)) s += '"\\' + byteaHex(v) + '"'
        else if (utilTypes.isStringObject(v)) s += quoteArrayElement(stringValueOf.call(v))
        else {
          const text = objectText(v)
          s += text === null ? 'NULL' : quoteArrayElement(text)
        }
    }
  }
  return s + '}'
}

function encodeArray(array) {
  const kinds = kindsOf(array, 0)
  if (kinds & K_JSON) {
    out.oid = 0
    return jsonText(array)
  }
  const oid = arrayOid(kinds)
  out.oid = oid
  return arrayLiteral(array, oid !== 0)
}

// ---------------------------------------------------------------------------------------------

function describe(err) {
  const message = err && typeof err.message === 'string' ? err.message : String(err)
  // One wording in both runtimes (Bun's JSON.stringify says "cyclic structures").
  return /cyclic structure/i.test(message) ? 'Converting circular structure to JSON' : message
}

// A value already encoded, with its type: what sql.array(values, type) makes.
class TypedValue {
  constructor(text, oid) {
    this.text = text
    this.oid = oid
  }
}

// Array type OIDs by element type name (Bun.SQL's sql.array(values, "INT") and friends).
const ARRAY_OIDS = {
  bool: 1000, boolean: 1000, bytea: 1001, int2: 1005, smallint: 1005, int: 1007, int4: 1007,
  integer: 1007, text: 1009, varchar: 1015, 'character varying': 1015, bpchar: 1014, char: 1014,
  int8: 1016, bigint: 1016, float4: 1021, real: 1021, float8: 1022, 'double precision': 1022,
  numeric: 1231, decimal: 1231, json: 199, jsonb: 3807, uuid: 2951, date: 1182, time: 1183,
  timestamp: 1115, timestamptz: 1185, interval: 1187, oid: 1028, name: 1003,
}

// sql.array(values, type?): a PostgreSQL array parameter of that element type (a name or an
// array type OID); without a type, the type follows the values as for any JS array.
function typedArray(values, type) {
  if (!Array.isArray(values)) throw bindingError('sql.array() expects an array')
  if (type === undefined) {
    const text = encodeArray(values)
    return new TypedValue(text, out.oid)
  }
  const oid = typeof type === 'number' ? type : ARRAY_OIDS[String(type).trim().toLowerCase()]
  if (oid === undefined) throw bindingError(`sql.array(): unknown element type ${JSON.stringify(type)}`)
  encodeArray(values) // validates the elements (and throws the binding errors)
  return new TypedValue(arrayLiteral(values, true), oid)
}

// values -> { params: (string | null)[], types: number[] }; throws a binding PostgresError.
function encodeParams(values) {
  const n = values.length
  const params = new Array(n)
  const types = new Array(n)
  for (let i = 0; i < n; i++) {
    const v = values[i]
    if (v instanceof TypedValue) {
      params[i] = v.text
      types[i] = v.oid
      continue
    }
    let text
    try {
      text = encodeValue(values[i])
    } catch (err) {
      if (err && err.code === 'ERR_POSTGRES_INVALID_QUERY_BINDING') throw err
      throw bindingError(`cannot bind parameter $${i + 1}: ${describe(err)}`, err)
    }
    params[i] = text
    types[i] = out.oid
  }
  return { params, types }
}

module.exports = { encodeParams, bindingError, typedArray, objectText, jsonText, isBytes, isPlainObject, describe }
