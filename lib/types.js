'use strict'
// PostgreSQL <-> JS type mapping, text format, in both directions.
//
// Results (type OID -> JS), as Bun.SQL returns them:
//   bool -> boolean; int2/int4/oid/xid/cid, float4/float8 -> number (NaN, ±Infinity);
//   int8 -> string, or BigInt with the `bigint: true` option; numeric, money -> string;
//   json/jsonb -> parsed; bytea -> Buffer; date -> Date at UTC midnight; timestamp (without time
//   zone) -> Date read as UTC; timestamptz -> Date; time/timetz/interval/uuid/text/... -> string;
//   arrays of all of these -> (nested) JS arrays with null elements; anything else -> string.
// Parameters (JS -> text + type OID): see lib/params.js, which uses the helpers at the bottom.
//
// Deliberate differences from Bun.SQL (Bun 1.4 src/sql/postgres/{DataCell,Tag,Signature}.zig):
//  - date/timestamp/timestamptz `infinity` and `-infinity` -> Invalid Date, as in Bun (its binary
//    path yields a time value out of Date's range). Not a difference, but worth knowing: a Date
//    cannot hold ±Infinity, and an Invalid Date cannot be bound back (binding error).
//  - BC dates and years > 9999 decode correctly (Bun's text date parser does not handle ` BC`).
//  - bytea in the legacy escape format (bytea_output = escape) decodes; Bun rejects it
//    (ERR_POSTGRES_UNSUPPORTED_BYTEA_FORMAT).
//  - Arrays with explicit bounds (`[0:1]={1,2}`) decode to plain JS arrays (the bounds are
//    dropped); Bun rejects them.
//  - Every parser is total: a malformed value never rejects the query; Bun raises
//    ERR_POSTGRES_UNSUPPORTED_ARRAY_FORMAT and similar.
//  - Parameter differences are listed at the top of lib/params.js.

const { PostgresError } = require('./errors.js')

// ---------------------------------------------------------------------------------------------
// Type OIDs (pg_type.oid), scalars and their arrays.

const OID = {
  bool: 16, bytea: 17, char: 18, name: 19, int8: 20, int2: 21, int2vector: 22, int4: 23,
  text: 25, oid: 26, tid: 27, xid: 28, cid: 29, oidvector: 30, json: 114, xml: 142,
  point: 600, lseg: 601, path: 602, box: 603, polygon: 604, line: 628, cidr: 650,
  float4: 700, float8: 701, unknown: 705, circle: 718, macaddr8: 774, money: 790, macaddr: 829,
  inet: 869, aclitem: 1033, bpchar: 1042, varchar: 1043, date: 1082, time: 1083,
  timestamp: 1114, timestamptz: 1184, interval: 1186, timetz: 1266, bit: 1560, varbit: 1562,
  numeric: 1700, refcursor: 1790, uuid: 2950, jsonb: 3802, jsonpath: 4072,

  bool_array: 1000, bytea_array: 1001, char_array: 1002, name_array: 1003, int2_array: 1005,
  int2vector_array: 1006, int4_array: 1007, text_array: 1009, tid_array: 1010, xid_array: 1011,
  cid_array: 1012, oidvector_array: 1013, bpchar_array: 1014, varchar_array: 1015,
  int8_array: 1016, point_array: 1017, lseg_array: 1018, path_array: 1019, box_array: 1020,
  float4_array: 1021, float8_array: 1022, polygon_array: 1027, oid_array: 1028,
  aclitem_array: 1034, macaddr_array: 1040, inet_array: 1041, cidr_array: 651, line_array: 629,
  circle_array: 719, macaddr8_array: 775, money_array: 791, json_array: 199, xml_array: 143,
  date_array: 1182, time_array: 1183, timestamp_array: 1115, timestamptz_array: 1185,
  interval_array: 1187, timetz_array: 1270, bit_array: 1561, varbit_array: 1563,
  numeric_array: 1231, refcursor_array: 2201, uuid_array: 2951, jsonb_array: 3807,
  jsonpath_array: 4073,
}

// Array type OID -> element type OID. Only these decode into JS arrays; every element type that
// has no parser below decodes as a string.
const ARRAY_ELEMENT = new Map([
  [OID.bool_array, OID.bool], [OID.bytea_array, OID.bytea], [OID.char_array, OID.char],
  [OID.name_array, OID.name], [OID.int2_array, OID.int2], [OID.int2vector_array, OID.int2vector],
  [OID.int4_array, OID.int4], [OID.text_array, OID.text], [OID.tid_array, OID.tid],
  [OID.xid_array, OID.xid], [OID.cid_array, OID.cid], [OID.oidvector_array, OID.oidvector],
  [OID.bpchar_array, OID.bpchar], [OID.varchar_array, OID.varchar], [OID.int8_array, OID.int8],
  [OID.point_array, OID.point], [OID.lseg_array, OID.lseg], [OID.path_array, OID.path],
  [OID.box_array, OID.box], [OID.float4_array, OID.float4], [OID.float8_array, OID.float8],
  [OID.polygon_array, OID.polygon], [OID.oid_array, OID.oid], [OID.aclitem_array, OID.aclitem],
  [OID.macaddr_array, OID.macaddr], [OID.inet_array, OID.inet], [OID.cidr_array, OID.cidr],
  [OID.line_array, OID.line], [OID.circle_array, OID.circle], [OID.macaddr8_array, OID.macaddr8],
  [OID.money_array, OID.money], [OID.json_array, OID.json], [OID.xml_array, OID.xml],
  [OID.date_array, OID.date], [OID.time_array, OID.time], [OID.timestamp_array, OID.timestamp],
  [OID.timestamptz_array, OID.timestamptz], [OID.interval_array, OID.interval],
  [OID.timetz_array, OID.timetz], [OID.bit_array, OID.bit], [OID.varbit_array, OID.varbit],
  [OID.numeric_array, OID.numeric], [OID.refcursor_array, OID.refcursor],
  [OID.uuid_array, OID.uuid], [OID.jsonb_array, OID.jsonb], [OID.jsonpath_array, OID.jsonpath],
])

// Arrays of the other built-in types whose elements stay strings (as Bun.SQL reads them, 1.4.5):
// text search, ranges and multiranges, reg* (object names), pg_lsn, snapshots, xid8, cstring.
// Measured against PostgreSQL 15's pg_type. record[] and arrays of user-defined types (enums,
// domains) keep their text, as in Bun.
const STRING_ELEMENT_ARRAYS = [
  271, // xid8
  1008, 2207, 2208, 2209, 2210, 2211, 3735, 3770, 4090, 4097, 4192, // regproc ... regcollation
  1263, // cstring
  2949, 5039, // txid_snapshot, pg_snapshot
  3221, // pg_lsn
  3643, 3644, 3645, // tsvector, gtsvector, tsquery
  3905, 3907, 3909, 3911, 3913, 3927, // int4range, numrange, tsrange, tstzrange, daterange, int8range
  6150, 6151, 6152, 6153, 6155, 6157, // the multiranges
]
for (const oid of STRING_ELEMENT_ARRAYS) ARRAY_ELEMENT.set(oid, OID.text)

// ---------------------------------------------------------------------------------------------
// Scalar parsers. Each takes the text-format value (never NULL) and is kept small and
// monomorphic: they run once per cell.

function parseBool(s) {
  return s === 't'
}

// int2/int4/oid/xid/cid/float4/float8. Number() also reads "NaN", "Infinity" and "-Infinity".
function parseNumber(s) {
  return +s
}

function parseBigInt(s) {
  return BigInt(s)
}

function parseJson(s) {
  return JSON.parse(s)
}

// bytea: hex format (`\x0aff`, the default since 9.0) or the legacy escape format, where bytes
// are themselves, `\\` or a 3-digit octal escape `\ooo`.
function parseBytea(s) {
  if (s.charCodeAt(0) === 92 && s.charCodeAt(1) === 120) return Buffer.from(s.substring(2), 'hex')
  if (s.indexOf('\\') === -1) return Buffer.from(s, 'latin1')
  return parseByteaEscape(s)
}

function parseByteaEscape(s) {
  const out = Buffer.allocUnsafe(s.length)
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c !== 92) {
      out[n++] = c
    } else if (s.charCodeAt(i + 1) === 92) {
      out[n++] = 92
      i++
    } else {
      out[n++] = ((s.charCodeAt(i + 1) - 48) << 6) | ((s.charCodeAt(i + 2) - 48) << 3) | (s.charCodeAt(i + 3) - 48)
      i += 3
    }
  }
  return out.subarray(0, n)
}

// --- date / timestamp / timestamptz ---------------------------------------------------------
// DateStyle ISO output: `YYYY-MM-DD[ HH:MM:SS[.ffffff]][+HH[:MM[:SS]]][ BC]`, with 4 or more
// year digits. Parsed by hand (several times faster than new Date(string)), into a time value
// computed from the proleptic Gregorian calendar, as PostgreSQL and JS both use. Fractions
// below a millisecond are truncated, as new Date(string) does. Any other layout (another
// DateStyle) falls back to new Date(string); `infinity`/`-infinity` -> Invalid Date.

const MS_PER_DAY = 86400000

// Days from 1970-01-01 to y-m-d (y may be 0 or negative: astronomical years).
function daysFromCivil(y, m, d) {
  if (m <= 2) y -= 1
  const era = Math.floor(y / 400)
  const yoe = y - era * 400
  const doy = (((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) | 0) + d - 1
  return era * 146097 + yoe * 365 + ((yoe / 4) | 0) - ((yoe / 100) | 0) + doy - 719468
}

function digits2(s, i) {
  return (s.charCodeAt(i) - 48) * 10 + s.charCodeAt(i + 1) - 48
}

// -> time value in ms, or NaN when `s` is not in the ISO layout.
function parseIsoTime(s) {
  const n = s.length
  let i = 4
  let year
  if (s.charCodeAt(4) === 45) {
    year = digits2(s, 0) * 100 + digits2(s, 2)
  } else {
    year = 0
    i = 0
    for (let c = s.charCodeAt(0); c >= 48 && c <= 57; c = s.charCodeAt(++i)) year = year * 10 + c - 48
    if (i < 4 || s.charCodeAt(i) !== 45) return NaN
  }
  if (s.charCodeAt(i + 3) !== 45) return NaN
  const month = digits2(s, i + 1)
  const day = digits2(s, i + 4)
  i += 6
  let ms = 0
  if (i < n) {
    if (s.charCodeAt(i) !== 32 || s.charCodeAt(i + 3) !== 58 || s.charCodeAt(i + 6) !== 58) return tail(s, i, year, month, day, 0)
    ms = digits2(s, i + 1) * 3600000 + digits2(s, i + 4) * 60000 + digits2(s, i + 7) * 1000
    i += 9
    if (i < n && s.charCodeAt(i) === 46) {
      let f = 0
      let k = 0
      let c = 0
      while (++i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
        if (k < 3) f = f * 10 + c - 48
        k++
      }
      ms += k >= 3 ? f : k === 2 ? f * 10 : f * 100
    }
    if (i < n) {
      const sign = s.charCodeAt(i)
      if (sign === 43 || sign === 45) {
        let offset = digits2(s, i + 1) * 3600000
        i += 3
        if (i < n && s.charCodeAt(i) === 58) {
          offset += digits2(s, i + 1) * 60000
          i += 3
          if (i < n && s.charCodeAt(i) === 58) {
            offset += digits2(s, i + 1) * 1000
            i += 3
          }
        }
        ms = sign === 43 ? ms - offset : ms + offset
      }
      if (i < n) return tail(s, i, year, month, day, ms)
    }
  }
  return daysFromCivil(year, month, day) * MS_PER_DAY + ms
}

// The rest of a value after its fields: only ` BC` (year N BC is astronomical year 1 - N).
function tail(s, i, year, month, day, ms) {
  if (i + 3 !== s.length || s.charCodeAt(i) !== 32 || s.charCodeAt(i + 1) !== 66 || s.charCodeAt(i + 2) !== 67) return NaN
  return daysFromCivil(1 - year, month, day) * MS_PER_DAY + ms
}

function parseTimestampSlow(s) {
  // infinity / -infinity: the numbers ±Infinity, as Bun.SQL 1.4 (and node-postgres) return
  // them (a Date cannot hold them; Invalid Date would lose the sign). Else a DateStyle other
  // than ISO.
  if (s === 'infinity') return Infinity
  if (s === '-infinity') return -Infinity
  const c = s.charCodeAt(0)
  if (c === 105 || (c === 45 && s.charCodeAt(1) === 105)) return new Date(NaN)
  return new Date(s)
}

// timestamptz: the text carries its offset. timestamp: no offset, so it reads as UTC (as Bun
// does). date: UTC midnight. All three share the parser.
function parseTimestamp(s) {
  const t = parseIsoTime(s)
  return t === t ? new Date(t) : parseTimestampSlow(s)
}

// ---------------------------------------------------------------------------------------------
// Arrays: `{a,"b c",NULL,{1,2}}`, optionally preceded by bounds (`[0:1]={1,2}`). Elements that
// need it are double-quoted with `\"` and `\\` escapes; an unquoted NULL (any case) is SQL NULL
// (array_out quotes any element that spells NULL). box[] is the only built-in array whose
// delimiter is `;`. `parse` is the element parser, or null to keep strings.

function parseArray(s, parse, delim) {
  let i = 0
  if (s.charCodeAt(0) === 91) {
    i = s.indexOf('=') + 1 // drop the bounds decoration
    if (i === 0) return s
  }
  if (s.charCodeAt(i) !== 123) return s
  const n = s.length
  const stack = []
  let cur = []
  for (i++; i < n; i++) {
    const c = s.charCodeAt(i)
    if (c === delim) continue
    if (c === 123) {
      const sub = []
      cur.push(sub)
      stack.push(cur)
      cur = sub
    } else if (c === 125) {
      if (stack.length === 0) return cur
      cur = stack.pop()
    } else if (c === 34) {
      let start = ++i
      let text = ''
      for (let d = s.charCodeAt(i); d !== 34 && i < n; d = s.charCodeAt(i)) {
        if (d === 92) {
          text += s.substring(start, i)
          start = i + 1
          i += 2
        } else {
          i++
        }
      }
      text = start === i ? text : text + s.substring(start, i)
      cur.push(parse === null ? text : parse(text))
    } else {
      const start = i
      let d = c
      while (d !== delim && d !== 125 && i < n) d = s.charCodeAt(++i)
      const text = s.substring(start, i)
      i--
      if (i - start === 3 && (text === 'NULL' || text.toUpperCase() === 'NULL')) cur.push(null)
      else cur.push(parse === null ? text : parse(text))
    }
  }
  return cur // unterminated: return what was read
}

// ---------------------------------------------------------------------------------------------
// OID -> parser (null = keep the string).

function scalarParser(oid, bigint) {
  switch (oid) {
    case OID.bool:
      return parseBool
    case OID.int2:
    case OID.int4:
    case OID.oid:
    case OID.xid:
    case OID.cid:
    case OID.float4:
    case OID.float8:
      return parseNumber
    case OID.int8:
      return bigint ? parseBigInt : null
    case OID.json:
    case OID.jsonb:
      return parseJson
    case OID.bytea:
      return parseBytea
    case OID.date:
    case OID.timestamp:
    case OID.timestamptz:
      return parseTimestamp
    default:
      return null
  }
}

const arrayParsers = new Map() // (oid * 2 + bigint) -> parser

function arrayParser(oid, elementOid, bigint) {
  const key = oid * 2 + (bigint ? 1 : 0)
  let parser = arrayParsers.get(key)
  if (parser === undefined) {
    const element = scalarParser(elementOid, bigint)
    const delim = elementOid === OID.box ? 59 : 44
    parser = (s) => parseArray(s, element, delim)
    arrayParsers.set(key, parser)
  }
  return parser
}

// Bun.SQL reads int4[] and float4[] in binary when a prepared query has parameters and
// returns a 1-D one without NULLs as an Int32Array / Float32Array; any other shape, and rows
// it reads as text (simple protocol, no parameters, prepare: false), as a plain Array.
// Measured on Bun 1.4.5.
function typedArrayParser(parse, TypedArray) {
  return (s) => {
    const a = parse(s)
    if (!Array.isArray(a)) return a
    for (let i = 0; i < a.length; i++) if (typeof a[i] !== 'number') return a
    return TypedArray.from(a)
  }
}
// In binary a float4 is the float32's exact value (0.1 reads 0.10000000149011612), also in
// a plain array (with NULLs).
const parseFloat4Binary = (s) => Math.fround(parseNumber(s))
const parseInt4Array = typedArrayParser((s) => parseArray(s, parseNumber, 44), Int32Array)
const parseFloat4Array = typedArrayParser((s) => parseArray(s, parseFloat4Binary, 44), Float32Array)

// A column the server sent in binary format (a BINARY cursor's FETCH) of a type C does not
// decode (src/pg/pg_binary.h gives it this type): Bun 1.4.5 fails such a query with
// ERR_POSTGRES_UNKNOWN_FORMAT_CODE too. The types it decodes come from C as their text format
// would, with their own OIDs, except int4[] and float4[] (BINARY_INT4_ARRAY, _FLOAT4_ARRAY): an
// Int32Array / Float32Array as Bun.SQL reads them in binary, whatever the protocol of the query.
const BINARY_COLUMN = 0xFFFFFFFF
const BINARY_INT4_ARRAY = 0xFFFFFFFE
const BINARY_FLOAT4_ARRAY = 0xFFFFFFFD
function failBinaryColumn() {
  throw new PostgresError('a column came in binary format (DECLARE ... BINARY CURSOR), which is not decoded; declare the cursor without BINARY',
    { code: 'ERR_POSTGRES_UNKNOWN_FORMAT_CODE' })
}

// textFormat: rows Bun.SQL reads as text (sql.unsafe() without parameters, .simple(), a query
// with no parameters, prepare: false).
function parserFor(oid, options, textFormat = false) {
  const bigint = options !== undefined && options !== null && options.bigint === true
  if (oid === BINARY_COLUMN) return failBinaryColumn
  if (oid === BINARY_INT4_ARRAY) return parseInt4Array
  if (oid === BINARY_FLOAT4_ARRAY) return parseFloat4Array
  if (!textFormat && oid === OID.int4_array) return parseInt4Array
  if (!textFormat && oid === OID.float4_array) return parseFloat4Array
  if (!textFormat && oid === OID.float4) return parseFloat4Binary // when C left it as text
  const element = ARRAY_ELEMENT.get(oid)
  if (element !== undefined) return arrayParser(oid, element, bigint)
  return scalarParser(oid, bigint)
}

// ---------------------------------------------------------------------------------------------
// JS -> text helpers for parameters (lib/params.js).

const MIN_ISO = -62135596800000 // 0001-01-01T00:00:00.000Z
const MAX_ISO = 253402300800000 // 10000-01-01T00:00:00.000Z
const dateToISOString = Date.prototype.toISOString
const dateGetTime = Date.prototype.getTime

function pad(n, width) {
  let s = String(n)
  while (s.length < width) s = '0' + s
  return s
}

// A valid Date -> timestamptz text. Years 1..9999 use toISOString; others are written with
// ` BC` or 5+ year digits, which toISOString's `+010000`/`-000001` forms would not parse as.
function formatTimestamptz(date) {
  const t = dateGetTime.call(date)
  if (t >= MIN_ISO && t < MAX_ISO) return dateToISOString.call(date)
  const d = new Date(t)
  const y = d.getUTCFullYear()
  return pad(y > 0 ? y : 1 - y, 4) + '-' + pad(d.getUTCMonth() + 1, 2) + '-' + pad(d.getUTCDate(), 2) + ' ' +
    pad(d.getUTCHours(), 2) + ':' + pad(d.getUTCMinutes(), 2) + ':' + pad(d.getUTCSeconds(), 2) + '.' +
    pad(d.getUTCMilliseconds(), 3) + '+00' + (y > 0 ? '' : ' BC')
}

// Bytes of a Buffer, any TypedArray or DataView, or an (Shared)ArrayBuffer -> bytea hex text.
function byteaHex(value) {
  const buf = ArrayBuffer.isView(value)
    ? Buffer.from(value.buffer, value.byteOffset, value.byteLength)
    : Buffer.from(value)
  return '\\x' + buf.toString('hex')
}

// Array element text -> its double-quoted, escaped form.
function quoteArrayElement(s) {
  let out = '"'
  let start = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 34 || c === 92) {
      out += s.substring(start, i) + '\\'
      start = i
    }
  }
  return out + s.substring(start) + '"'
}

module.exports = {
  OID,
  ARRAY_ELEMENT,
  parserFor,
  parseBool,
  parseNumber,
  parseBigInt,
  parseJson,
  parseBytea,
  parseTimestamp,
  parseIsoTime,
  parseArray,
  formatTimestamptz,
  byteaHex,
  quoteArrayElement,
}
