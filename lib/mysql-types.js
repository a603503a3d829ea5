'use strict'
// MySQL/MariaDB <-> JS type mapping (the PostgreSQL one is lib/types.js + lib/params.js).
//
// Results, as Bun.SQL returns them. C (src/mysql/my_rowbatch.c) already turns integers that fit
// a double, FLOAT/DOUBLE and DATE/DATETIME/TIMESTAMP (read as UTC: the session runs at
// time_zone '+00:00') into numbers and Dates; what reaches these parsers is text:
//   BIGINT       -> number when it fits int32/uint32 (C decides), else string; BigInt with `bigint: true`
//   DECIMAL      -> string (exact)
//   TIME         -> string ('-838:59:59.000000' .. '838:59:59.000000')
//   zero dates   -> Invalid Date ('0000-00-00' cannot be a Date)
//   JSON         -> parsed (MySQL's JSON type; MariaDB stores JSON as LONGTEXT: a string)
//   BIT(1)       -> boolean (as Bun.SQL)
//   binary strings, BLOB, BIT(n > 1), GEOMETRY -> Buffer (C carries their bytes as latin1 text)
//   everything else (CHAR, VARCHAR, TEXT, ENUM, SET) -> string
//
// The type code JS gets per column is the MySQL type byte, plus 0x100 when the column is
// UNSIGNED, 0x200 when its collation is `binary` (63) and 0x400 for BIT(1): see
// my_field_js_type() in C.

const T = {
  DECIMAL: 0, TINY: 1, SHORT: 2, LONG: 3, FLOAT: 4, DOUBLE: 5, NULL: 6, TIMESTAMP: 7,
  LONGLONG: 8, INT24: 9, DATE: 10, TIME: 11, DATETIME: 12, YEAR: 13, VARCHAR: 15, BIT: 16,
  JSON: 245, NEWDECIMAL: 246, ENUM: 247, SET: 248, TINY_BLOB: 249, MEDIUM_BLOB: 250,
  LONG_BLOB: 251, BLOB: 252, VAR_STRING: 253, STRING: 254, GEOMETRY: 255,
}
const UNSIGNED = 0x100
const BINARY = 0x200
const BIT1 = 0x400

// BIGINT as Bun.SQL 1.4.5 returns it: a number when it fits int32 (BIGINT UNSIGNED: uint32),
// else a string, or a BigInt with `bigint: true`. C decides (put_bigint_cell in
// src/mysql/my_rowbatch.c): the values that fit come as numbers, only the others as text.

const parseNumber = (s) => Number(s)
const bytes = (s) => Buffer.from(s, 'latin1')
const bit1 = (s) => s.charCodeAt(0) !== 0

// 'YYYY-MM-DD[ HH:MM:SS[.ffffff]]' as UTC; the zero date and anything malformed -> Invalid Date.
function parseDateTime(s) {
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?)?$/.exec(s)
  if (m === null || m[2] === '00' || m[3] === '00') return new Date(NaN)
  const ms = m[7] === undefined ? 0 : Math.floor(Number((m[7] + '00000').slice(0, 6)) / 1000)
  const d = new Date(Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0), ms))
  if (+m[1] < 100) d.setUTCFullYear(+m[1])
  return d
}

function parseJson(s) {
  try {
    return JSON.parse(s)
  } catch {
    return s
  }
}

// Column code -> text parser (null: keep the string).
function mysqlParserFor(code, options) {
  const type = code & 0xff
  switch (type) {
    case T.LONGLONG:
      return options && options.bigint === true ? BigInt : null
    case T.TINY: case T.SHORT: case T.LONG: case T.INT24: case T.YEAR: case T.FLOAT: case T.DOUBLE:
      return parseNumber
    case T.DATE: case T.DATETIME: case T.TIMESTAMP:
      return parseDateTime
    case T.JSON:
      return parseJson
    case T.BIT:
      return (code & BIT1) !== 0 ? bit1 : bytes
    case T.GEOMETRY:
      return bytes
    case T.VARCHAR: case T.VAR_STRING: case T.STRING: case T.TINY_BLOB: case T.MEDIUM_BLOB:
    case T.LONG_BLOB: case T.BLOB:
      return (code & BINARY) !== 0 ? bytes : null
    default:
      return null
  }
}

// ---------------------------------------------------------------------------------------------
// Parameters: JS value -> [text or bytes, type code]. The engine encodes the text into the
// binary protocol's form for the type (src/mysql): integers, doubles, DATETIME; strings and
// bytes go as they are.

const pad = (n, w) => String(n).padStart(w, '0')

// A Date as DATETIME text in UTC (the session's time zone).
function formatDateTime(d) {
  return pad(d.getUTCFullYear(), 4) + '-' + pad(d.getUTCMonth() + 1, 2) + '-' + pad(d.getUTCDate(), 2) + ' ' +
    pad(d.getUTCHours(), 2) + ':' + pad(d.getUTCMinutes(), 2) + ':' + pad(d.getUTCSeconds(), 2) + '.' +
    pad(d.getUTCMilliseconds(), 3)
}

const I64_MAX = 9223372036854775807n

module.exports = { T, UNSIGNED, BINARY, mysqlParserFor, parseDateTime, formatDateTime, I64_MAX }
