'use strict'
// Tagged templates -> (text with $n placeholders, parameters). Values are always bound
// parameters; only objects minted here (fragments and helpers) ever become SQL text.
//
//   sql`... ${value} ...`        a parameter
//   sql`... ${sql`frag ${v}`}`   a fragment, inlined with its parameters renumbered
//   sql("name"), sql("a.b")      an identifier ("a"."b"); sql(["a", "b"]) a list of them
//   sql(obj | objs, ...cols)     by position: after INSERT INTO t -> (cols) values (...), (...)
//                                after SET -> "col" = $n, ...; after VALUES -> (...), (...)
//                                otherwise (cols) values (...) as well (upserts, INSERT SELECT)
//   sql([1, 2, 3])               after IN -> ($1, $2, $3); elsewhere the same list
// Recognising a real tagged template needs a frozen strings array with `raw`: a parsed JSON
// value can never pose as one.

const kFragment = Symbol('uvsql.fragment')
const kHelper = Symbol('uvsql.helper')

function isTemplateStrings(strings) {
  return Array.isArray(strings) && Object.isFrozen(strings) && Array.isArray(strings.raw)
}

function helperError(message) {
  const { PostgresError } = require('./errors.js')
  return new PostgresError(message, { code: 'ERR_POSTGRES_INVALID_QUERY_BINDING' })
}

// "users" -> "users"; "public.users" -> "public"."users"; embedded quotes doubled.
function escapeIdentifier(name) {
  if (typeof name !== 'string' || name.length === 0) throw helperError('an identifier must be a non-empty string')
  if (name.includes('\0')) throw helperError('an identifier cannot contain a NUL byte')
  return name.split('.').map((part) => '"' + part.replace(/"/g, '""') + '"').join('.')
}

// A helper is only meaningful inside a template: awaiting one directly is a mistake (Bun.SQL's
// ERR_POSTGRES_NOT_TAGGED_CALL), never a silent no-op.
const helperProto = {
  then(resolve, reject) {
    const { PostgresError } = require('./errors.js')
    const err = new PostgresError('a sql() helper must be used inside a tagged template: sql`... ${sql(value)} ...`', { code: 'ERR_POSTGRES_NOT_TAGGED_CALL' })
    return Promise.reject(err).then(resolve, reject)
  },
}

function makeHelper(value, columns) {
  const h = Object.create(helperProto)
  h[kHelper] = true
  h.value = value
  h.columns = columns
  return h
}

function isHelper(v) {
  return v !== null && typeof v === 'object' && v[kHelper] === true
}

// Columns of a row helper: the ones named, else the keys of the first object (undefined values
// become NULL, as in Bun).
function helperColumns(rows, columns) {
  if (columns.length > 0) return columns.flat()
  const first = rows[0]
  if (first === null || typeof first !== 'object') throw helperError('sql(rows) expects objects')
  return Object.keys(first)
}

class Builder {
  constructor() {
    this.text = ''
    this.values = []
  }

  param(value) {
    this.values.push(value === undefined ? null : value)
    return '$' + this.values.length
  }

  // The SQL keyword right before the helper decides its form.
  context() {
    const m = /(\bin|\bset|\bvalues|\binto\s+[^\s(]+(?:\s*\([^)]*\))?|\bselect|,)\s*$/i.exec(this.text)
    if (!m) return 'other'
    const k = m[1].toLowerCase()
    if (k === 'in') return 'in'
    if (k === 'set') return 'set'
    if (k === 'values') return 'values'
    if (k.startsWith('into')) return /\(/.test(k) ? 'values-after-columns' : 'insert'
    return 'list'
  }

  rowsSql(rows, cols) {
    return rows.map((row) => '(' + cols.map((c) => this.param(row[c])).join(', ') + ')').join(', ')
  }

  helper(h) {
    const { value, columns } = h
    if (typeof value === 'string') return escapeIdentifier(value)
    const ctx = this.context()
    if (Array.isArray(value)) {
      if (value.length === 0) throw helperError('sql([]) needs at least one value')
      const objects = value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v))
      if (!objects) {
        // A list: values after IN or VALUES; elsewhere a list of strings is a column list.
        if (ctx !== 'in' && ctx !== 'values' && columns.length === 0 && value.every((v) => typeof v === 'string')) {
          return value.map(escapeIdentifier).join(', ')
        }
        return '(' + value.map((v) => this.param(v)).join(', ') + ')'
      }
      if (ctx === 'in') {
        const cols = helperColumns(value, columns)
        if (cols.length !== 1) throw helperError('sql(rows, column) after IN needs exactly one column')
        return '(' + value.map((row) => this.param(row[cols[0]])).join(', ') + ')'
      }
      const cols = helperColumns(value, columns)
      if (ctx === 'values' || ctx === 'values-after-columns') return this.rowsSql(value, cols)
      if (ctx === 'set') {
        if (value.length !== 1) throw helperError('sql(rows) after SET takes a single object')
        return cols.map((c) => escapeIdentifier(c) + ' = ' + this.param(value[0][c])).join(', ')
      }
      return '(' + cols.map(escapeIdentifier).join(', ') + ') values ' + this.rowsSql(value, cols)
    }
    if (value !== null && typeof value === 'object') {
      return this.helper(makeHelper([value], columns))
    }
    throw helperError(`sql(${typeof value}) is not a helper; pass a value inside the template instead`)
  }

  append(strings, values) {
    this.text += strings[0]
    for (let i = 1; i < strings.length; i++) {
      const v = values[i - 1]
      if (v !== null && typeof v === 'object' && v[kFragment] !== undefined) {
        const frag = v[kFragment]
        this.append(frag.strings, frag.values)
      } else if (isHelper(v)) {
        this.text += this.helper(v)
      } else if (v instanceof Promise && typeof v.execute === 'function') {
        throw helperError('this query cannot be used inside another one (sql.unsafe() with parameters); inline its text or pass its values')
      } else {
        this.text += this.param(v)
      }
      this.text += strings[i]
    }
    return this
  }
}

function compileTemplate(strings, values) {
  const b = new Builder().append(strings, values)
  return { text: b.text, values: b.values }
}

module.exports = { kFragment, isTemplateStrings, compileTemplate, makeHelper, escapeIdentifier }
