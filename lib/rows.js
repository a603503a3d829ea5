'use strict'
// Turns the row batches that C hands over into JS rows.
//
// C gives the DataRow bodies back to back in one Buffer (u16 column count, then per cell an
// int32 length, -1 for NULL, and the text-format bytes). For each row shape (column names and
// type OIDs) we generate, once, a function that builds the row as an object literal: V8 and
// JSC then create rows with one hidden class and no per-property calls. Column names come from
// the server, so every key is emitted with JSON.stringify (no code injection) and `__proto__`
// as a computed key (a data property, never the prototype).

const { SQLResultArray } = require('./result.js')

const parsers = new Map([
  [16, (s) => s === 't'], // bool
  [21, Number], // int2
  [23, Number], // int4
  [26, Number], // oid
  [700, Number], // float4 ("NaN", "Infinity" parse too)
  [701, Number], // float8
  [114, JSON.parse], // json
  [3802, JSON.parse], // jsonb
  [17, parseBytea], // bytea (hex format, PostgreSQL >= 9.0 default)
])

function parseBytea(s) {
  return s.startsWith('\\x') ? Buffer.from(s.slice(2), 'hex') : Buffer.from(s, 'latin1')
}

function parserFor(oid, options) {
  if (oid === 20 && options.bigint) return BigInt // int8
  return parsers.get(oid) || null
}

function keyLiteral(name) {
  return name === '__proto__' ? '["__proto__"]' : JSON.stringify(name)
}

function makeBuilder(names) {
  const body = 'return {' + names.map((n, i) => keyLiteral(n) + ': v[' + i + ']').join(', ') + '}'
  try {
    return new Function('v', body) // eslint-disable-line no-new-func
  } catch {
    // Code generation disabled (--disallow-code-generation-from-strings): define properties.
    return (v) => {
      const row = {}
      for (let i = 0; i < names.length; i++) {
        Object.defineProperty(row, names[i], { value: v[i], enumerable: true, writable: true, configurable: true })
      }
      return row
    }
  }
}

const shapeCache = new Map()
const SHAPE_CACHE_MAX = 1000

function shapeFor(names, oids, options) {
  const key = names.join('\u0000') + '\u0001' + oids.join(',') + (options.bigint ? 'b' : '')
  let shape = shapeCache.get(key)
  if (shape === undefined) {
    shape = {
      names,
      parsers: oids.map((oid) => parserFor(oid, options)),
      build: makeBuilder(names),
    }
    if (shapeCache.size >= SHAPE_CACHE_MAX) shapeCache.clear()
    shapeCache.set(key, shape)
  }
  return shape
}

const hasUtf8Slice = typeof Buffer.prototype.utf8Slice === 'function'
function text(buf, start, end) {
  return hasUtf8Slice ? buf.utf8Slice(start, end) : buf.toString('utf8', start, end)
}

// mode: 'objects' (default), 'values' (arrays of parsed values), 'raw' (arrays of Buffers).
function decodeRows(result, buf, nrows, names, oids, mode, options) {
  if (buf === null || nrows === 0) return result
  const shape = shapeFor(names, oids, options)
  const ncols = names.length
  const cellParsers = shape.parsers
  let off = 0
  for (let r = 0; r < nrows; r++) {
    off += 2 // column count: C checked it against the frame
    const v = new Array(ncols)
    for (let c = 0; c < ncols; c++) {
      const len = buf.readInt32BE(off)
      off += 4
      if (len < 0) {
        v[c] = null
      } else if (mode === 'raw') {
        v[c] = Buffer.from(buf.subarray(off, off + len))
        off += len
      } else {
        const s = text(buf, off, off + len)
        off += len
        const parse = cellParsers[c]
        v[c] = parse === null ? s : parse(s)
      }
    }
    result.push(mode === 'objects' ? shape.build(v) : v)
  }
  return result
}

module.exports = { decodeRows, SQLResultArray }
