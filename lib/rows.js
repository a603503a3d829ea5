'use strict'
// Turns the row batches that C hands over into JS rows.
//
// A batch (layout in src/base/base_rowbatch.h) sits at an offset in the ArrayBuffer that C
// hands over with every call (one per call, read through the two views of rowViews): numbers,
// booleans and times
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
// Not from C: a PostgreSQL float4 number in rows Bun.SQL reads in binary, where it is the
// float32's exact value (0.1::float4 is 0.10000000149011612); C parsed the text as a double.
const KIND_FLOAT4 = 5
const PG_FLOAT4 = 700
// The only PostgreSQL types whose rows decode differently in the format Bun.SQL reads them in
// (float4, int4[], float4[]: lib/types.js parserFor). A shape with none of them (and every
// MySQL shape) decodes alike in both formats.
const FORMAT_OIDS = new Set([PG_FLOAT4, 1007, 1021])

function keyLiteral(name) {
  return name === '__proto__' ? '["__proto__"]' : JSON.stringify(name)
}

const rawText = (s) => Buffer.from(s, 'utf8')

// Source for cell c: tag 0 null, tag 1 a value from vals (by column kind), tag 2 text, tag 3
// the next document of the batch's JSON array (parsed one by one from `json` when the array as
// a whole did not parse: docs === null).
// vals/tags are views of the whole buffer: cell i is vals[vb + i] and tags[tb + i].
// Only the branches a column can take are emitted (C gives a text column tags 0 and 2 only, a
// json column 0, 3 and 2, the others 0, 1 and 2), and a column without parser has no parser
// test: TurboFan compiles the decoder 2-6 times per S4 query (its first optimization, OSR, the
// deopts when V8 decides to pretenure the row literal), each time in proportion to its size.
function cellSource(c, kind, hasParser) {
  const textValue = hasParser ? `P${c}(text.substring(p, e))` : 'text.substring(p, e)'
  const value = kind === KIND_NUMBER ? `vals[vb + i]` : kind === KIND_FLOAT4 ? `Math.fround(vals[vb + i])` : kind === KIND_BOOL ? `vals[vb + i] === 1` : kind === KIND_TIME ? `new Date(vals[vb + i])` : null
  const valueCase = value !== null ? `  else if (t === 1) c${c} = ${value}\n` : ''
  const jsonCase = kind === KIND_JSON
    ? `  else if (t === 3) { e = vals[vb + i]; c${c} = docs !== null ? docs[d++] : P${c}(json.substring(j, e)); j = e + 1 }\n`
    : ''
  return `  t = tags[tb + i]
  if (t === 0) c${c} = null
${valueCase}${jsonCase}  else { e = vals[vb + i]; c${c} = ${textValue}; p = e }
  i++
`
}

function compileDecoder(names, kinds, parsers, mode) {
  const n = names.length
  let src = ''
  for (let c = 0; c < n; c++) src += `const P${c} = P[${c}]\n`
  src += 'return function decode(vals, vb, tags, tb, text, nrows, out, json, docs) {\n'
  src += '  let i = 0, p = 0, t = 0, e = 0, d = 0, j = 1, k = out.length\n'
  src += '  ' + (n > 0 ? 'let ' + names.map((_, c) => `c${c}`).join(', ') : '') + '\n'
  src += '  for (let r = 0; r < nrows; r++) {\n'
  for (let c = 0; c < n; c++) src += cellSource(c, kinds[c], parsers[c] !== null)
  const cells = names.map((_, c) => `c${c}`)
  // A store at the end rather than push(): `out` is an Array subclass, which V8 does not inline
  // push() for, so every row went through the C++ Builtin_ArrayPush (about 30 ns a row).
  src += mode === 'objects'
    ? '    out[k++] = {' + names.map((name, c) => `${keyLiteral(name)}: ${cells[c]}`).join(', ') + '}\n'
    : '    out[k++] = [' + cells.join(', ') + ']\n'
  src += '  }\n}\n'
  // eslint-disable-next-line no-new-func
  return new Function('P', src)(parsers)
}

// Where code generation is disabled (--disallow-code-generation-from-strings): the same work
// in a loop, rows made with define semantics (safe for any column name).
function genericDecoder(names, kinds, parsers, mode) {
  const n = names.length
  return function decode(vals, vb, tags, tb, text, nrows, out, json, docs) {
    let i = 0
    let p = 0
    let d = 0
    let j = 1
    for (let r = 0; r < nrows; r++) {
      const row = mode === 'objects' ? {} : new Array(n)
      for (let c = 0; c < n; c++, i++) {
        const t = tags[tb + i]
        let v = null
        if (t === 1) {
          v = kinds[c] === KIND_NUMBER ? vals[vb + i] : kinds[c] === KIND_FLOAT4 ? Math.fround(vals[vb + i]) : kinds[c] === KIND_BOOL ? vals[vb + i] === 1 : new Date(vals[vb + i])
        } else if (t === 2) {
          const e = vals[vb + i]
          v = text.substring(p, e)
          p = e
          if (parsers[c] !== null) v = parsers[c](v)
        } else if (t === 3) {
          const e = vals[vb + i]
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

// A decoder for this row shape and mode, generated once and kept on the shape. `decoders` is
// the shape's cache for the format Bun.SQL would read the rows in (text: shape.textDecoders).
function decoderFor(shape, decoders, kinds, mode, options) {
  const cached = decoders[mode]
  if (cached !== undefined) return cached
  const textFormat = decoders === shape.textDecoders
  const mysql = options !== undefined && options.adapter === 'mysql'
  // Where the format makes no difference, both formats share one decoder: a statement with
  // parameters (binary format) and one without (text) that return the same columns then run
  // the same function, already optimized by V8 for the first. Each `new Function` is compiled
  // on its own: S4's timed query (no parameters) used to start in the interpreter and pay
  // TurboFan again (13-24 ms a compile, 2-4 compiles) after its warm-up (with a parameter).
  const shared = mysql || !shape.oids.some((oid) => FORMAT_OIDS.has(oid))
  if (shared) {
    const other = textFormat ? shape.decoders[mode] : shape.textDecoders[mode]
    if (other !== undefined) {
      decoders[mode] = other
      return other
    }
  }
  const typeParser = mysql ? mysqlParserFor : parserFor
  const cellKinds = textFormat || mysql || !shape.oids.includes(PG_FLOAT4) ? kinds
    : Array.from(kinds, (k, c) => (k === KIND_NUMBER && shape.oids[c] === PG_FLOAT4 ? KIND_FLOAT4 : k))
  const parsers = shape.oids.map((oid) => (mode === 'raw' ? rawText : typeParser(oid, options, textFormat)))
  const shapeMode = mode === 'objects' ? 'objects' : 'arrays'
  let decoder
  try {
    decoder = compileDecoder(shape.names, cellKinds, parsers, shapeMode)
  } catch {
    decoder = genericDecoder(shape.names, cellKinds, parsers, shapeMode)
  }
  decoders[mode] = decoder
  return decoder
}

// Reads one batch (an ArrayBuffer) into `out`. `shape` is the result set's row shape
// ({ names, oids, decoders }), shared by every result with the same columns.
const u32 = (b, o) => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0

// The two views a call's row buffer is read through: its Float64 sections and its bytes.
function rowViews(ab) {
  return { f64: new Float64Array(ab, 0, ab.byteLength >> 3), bytes: Buffer.from(ab) }
}

// Reads the batch at byte offset `at` of the call's row buffer (`views`, from rowViews) into
// `out`. `shape` is the result set's row shape ({ names, oids, decoders }), shared by every
// result with the same columns.
function decodeBatch(out, views, at, shape, mode, options) {
  const bytes = views.bytes
  const nrows = u32(bytes, at)
  const ncols = u32(bytes, at + 4)
  const textBytes = u32(bytes, at + 8)
  const flags = u32(bytes, at + 12)
  const jsonBytes = u32(bytes, at + 16)
  let off = at + 24
  // Bit 2: rows Bun.SQL reads as text (simple protocol, no parameters, or prepare: false):
  // their int4[] and float4[] stay plain arrays (types.js).
  const decoders = (flags & 4) === 0 ? shape.decoders : shape.textDecoders
  const decoder = decoders[mode] || decoderFor(shape, decoders, Array.from(bytes.subarray(off, off + ncols)), mode, options)
  off += (ncols + 7) & ~7
  const vb = off >> 3
  const cells = nrows * ncols
  off += cells * 8
  const tb = off
  off += (cells + 7) & ~7
  const text = textBytes === 0 ? '' : (flags & 1) === 1 ? latin1(bytes, off, off + textBytes) : utf8(bytes, off, off + textBytes)
  off += textBytes
  let json = ''
  let docs = null
  if (jsonBytes !== 0) {
    json = (flags & 2) === 2 ? latin1(bytes, off, off + jsonBytes) : utf8(bytes, off, off + jsonBytes)
    try {
      docs = JSON.parse(json)
    } catch {
      docs = null // one invalid document (MySQL keeps it as a string): parse them one by one
    }
  }
  decoder(views.f64, vb, bytes, tb, text, nrows, out, json, docs)
  return out
}

// Buffer's own slice methods skip the argument checks of toString(); both runtimes have them.
const latin1 = typeof Buffer.prototype.latin1Slice === 'function'
  ? (b, s, e) => b.latin1Slice(s, e) : (b, s, e) => b.toString('latin1', s, e)
const utf8 = typeof Buffer.prototype.utf8Slice === 'function'
  ? (b, s, e) => b.utf8Slice(s, e) : (b, s, e) => b.toString('utf8', s, e)

function newShape(names, oids) {
  return {
    names,
    oids,
    decoders: { objects: undefined, values: undefined, raw: undefined },
    textDecoders: { objects: undefined, values: undefined, raw: undefined },
  }
}

module.exports = { decodeBatch, newShape, rowViews }
