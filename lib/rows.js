'use strict'
// Turns the row batches that C hands over into JS rows.
//
// A batch (layout in src/pg/pg_rowbatch.h) is one ArrayBuffer: numbers, booleans and times
// already decoded by C into a Float64 section, a tag per cell (null / value / text / json) and
// every text cell in one UTF-8 area that becomes ONE JS string per batch; each text cell is then
// a substring. json/jsonb cells come as one JSON array per batch: one JSON.parse per batch. For each row shape (column names, type OIDs, modes) a decoder is generated once:
// it builds rows as object literals, so V8 and JSC give them one hidden class and no property
// is set through a call. Column names come from the server: every key is emitted with
// JSON.stringify (no code injection) and `__proto__` as a computed key (a data property, never
// the prototype).

// Type -> text value parser (null: keep the string); the mappings live in lib/types.js
// (PostgreSQL OIDs) and lib/mysql-types.js (MySQL type codes).
const { parserFor } = require('./types.js')
const { mysqlParserFor } = require('./mysql-types.js')

const KIND_TEXT = 0
const KIND_NUMBER = 1
const KIND_BOOL = 2
const KIND_TIME = 3
const KIND_JSON = 4

function keyLiteral(name) {
  return name === '__proto__' ? '["__proto__"]' : JSON.stringify(name)
}

const rawText = (s) => Buffer.from(s, 'utf8')

// Source for cell c: tag 0 null, tag 1 a value from vals (by column kind), tag 2 text, tag 3
// the next document of the batch's JSON array (parsed one by one from `json` when the array as
// a whole did not parse: docs === null).
function cellSource(c, kind) {
  const value = kind === KIND_NUMBER ? `vals[i]` : kind === KIND_BOOL ? `vals[i] === 1` : kind === KIND_TIME ? `new Date(vals[i])` : `null`
  const jsonCase = kind === KIND_JSON
    ? `  else if (t === 3) { e = vals[i]; c${c} = docs !== null ? docs[d++] : P${c}(json.substring(j, e)); j = e + 1 }\n`
    : ''
  return `  t = tags[i]
  if (t === 0) c${c} = null
  else if (t === 1) c${c} = ${value}
${jsonCase}  else { e = vals[i]; c${c} = P${c} === null ? text.substring(p, e) : P${c}(text.substring(p, e)); p = e }
  i++
`
}

function compileDecoder(names, kinds, parsers, mode) {
  const n = names.length
  let src = ''
  for (let c = 0; c < n; c++) src += `const P${c} = P[${c}]\n`
  src += 'return function decode(vals, tags, text, nrows, out, json, docs) {\n'
  src += '  let i = 0, p = 0, t = 0, e = 0, d = 0, j = 1\n'
  src += '  ' + (n > 0 ? 'let ' + names.map((_, c) => `c${c}`).join(', ') : '') + '\n'
  src += '  for (let r = 0; r < nrows; r++) {\n'
  for (let c = 0; c < n; c++) src += cellSource(c, kinds[c])
  const cells = names.map((_, c) => `c${c}`)
  src += mode === 'objects'
    ? '    out.push({' + names.map((name, c) => `${keyLiteral(name)}: ${cells[c]}`).join(', ') + '})\n'
    : '    out.push([' + cells.join(', ') + '])\n'
  src += '  }\n}\n'
  // eslint-disable-next-line no-new-func
  return new Function('P', src)(parsers)
}

// Where code generation is disabled (--disallow-code-generation-from-strings): the same work
// in a loop, rows made with define semantics (safe for any column name).
function genericDecoder(names, kinds, parsers, mode) {
  const n = names.length
  return function decode(vals, tags, text, nrows, out, json, docs) {
    let i = 0
    let p = 0
    let d = 0
    let j = 1
    for (let r = 0; r < nrows; r++) {
      const row = mode === 'objects' ? {} : new Array(n)
      for (let c = 0; c < n; c++, i++) {
        const t = tags[i]
        let v = null
        if (t === 1) {
          v = kinds[c] === KIND_NUMBER ? vals[i] : kinds[c] === KIND_BOOL ? vals[i] === 1 : new Date(vals[i])
        } else if (t === 2) {
          const e = vals[i]
          v = text.substring(p, e)
          p = e
          if (parsers[c] !== null) v = parsers[c](v)
        } else if (t === 3) {
          const e = vals[i]
          v = docs !== null ? docs[d++] : parsers[c](json.substring(j, e))
          j = e + 1
        }
        if (mode === 'objects') Object.defineProperty(row, names[c], { value: v, enumerable: true, writable: true, configurable: true })
        else row[c] = v
      }
      out.push(row)
    }
  }
}

// A decoder for this row shape and mode, generated once and kept on the shape.
function decoderFor(shape, kinds, mode, options) {
  const cached = shape.decoders[mode]
  if (cached !== undefined) return cached
  const typeParser = options !== undefined && options.adapter === 'mysql' ? mysqlParserFor : parserFor
  const parsers = shape.oids.map((oid) => (mode === 'raw' ? rawText : typeParser(oid, options)))
  const shapeMode = mode === 'objects' ? 'objects' : 'arrays'
  let decoder
  try {
    decoder = compileDecoder(shape.names, kinds, parsers, shapeMode)
  } catch {
    decoder = genericDecoder(shape.names, kinds, parsers, shapeMode)
  }
  shape.decoders[mode] = decoder
  return decoder
}

// Reads one batch (an ArrayBuffer) into `out`. `shape` is the result set's row shape
// ({ names, oids, decoders }), shared by every result with the same columns.
function decodeBatch(out, ab, shape, mode, options) {
  const head = new Uint32Array(ab, 0, 6)
  const nrows = head[0]
  const ncols = head[1]
  const textBytes = head[2]
  const flags = head[3]
  const jsonBytes = head[4]
  const kindsBytes = (ncols + 7) & ~7
  let off = 24
  const decoder = shape.decoders[mode] || decoderFor(shape, Array.from(new Uint8Array(ab, off, ncols)), mode, options)
  off += kindsBytes
  const cells = nrows * ncols
  const vals = new Float64Array(ab, off, cells)
  off += cells * 8
  const tags = new Uint8Array(ab, off, cells)
  off += (cells + 7) & ~7
  const bytes = Buffer.from(ab, off, textBytes + jsonBytes)
  const text = textBytes === 0 ? '' : (flags & 1) === 1 ? latin1(bytes, 0, textBytes) : utf8(bytes, 0, textBytes)
  let json = ''
  let docs = null
  if (jsonBytes !== 0) {
    json = (flags & 2) === 2 ? latin1(bytes, textBytes, textBytes + jsonBytes) : utf8(bytes, textBytes, textBytes + jsonBytes)
    try {
      docs = JSON.parse(json)
    } catch {
      docs = null // one invalid document (MySQL keeps it as a string): parse them one by one
    }
  }
  decoder(vals, tags, text, nrows, out, json, docs)
  return out
}

// Buffer's own slice methods skip the argument checks of toString(); both runtimes have them.
const latin1 = typeof Buffer.prototype.latin1Slice === 'function'
  ? (b, s, e) => b.latin1Slice(s, e) : (b, s, e) => b.toString('latin1', s, e)
const utf8 = typeof Buffer.prototype.utf8Slice === 'function'
  ? (b, s, e) => b.utf8Slice(s, e) : (b, s, e) => b.toString('utf8', s, e)

function newShape(names, oids) {
  return { names, oids, decoders: { objects: undefined, values: undefined, raw: undefined } }
}

module.exports = { decodeBatch, newShape }
