'use strict'
// Tagged templates -> (text with placeholders, parameters): $n for PostgreSQL, ? for MySQL
// (lib/dialect.js says which, and how identifiers are quoted). Values are always bound
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

// A call site passes the same frozen array every time, and a frozen array stays so: checked once.
// (JSC's Object.isFrozen walks every element: for S5's 4001 strings it was half of the client's
// CPU under Bun.)
const seenTemplates = new WeakSet()
function isTemplateStrings(strings) {
  if (seenTemplates.has(strings)) return true
  const ok = Array.isArray(strings) && Object.isFrozen(strings) && Array.isArray(strings.raw)
  if (ok) seenTemplates.add(strings)
  return ok
}

const { dialects } = require('./dialect.js')

function helperError(message, dialect = dialects.postgres) {
  return dialect.error('INVALID_QUERY_BINDING', message)
}

// Bun.SQL's own error for an UPDATE helper with nothing to set: a SyntaxError (its helper
// misuse errors are), with the binding code as well.
function noColumnToUpdate(dialect) {
  const err = new SyntaxError('Update needs to have at least one column')
  err.code = dialect.error('INVALID_QUERY_BINDING', '').code
  return err
}

// "users" -> "users"; "public.users" -> "public"."users"; embedded quotes doubled. MySQL uses
// backticks the same way.
function escapeIdentifier(name, dialect = dialects.postgres) {
  if (typeof name !== 'string' || name.length === 0) throw helperError('an identifier must be a non-empty string', dialect)
  if (name.includes('\0')) throw helperError('an identifier cannot contain a NUL byte', dialect)
  return name.split('.').map(dialect.quotePart).join('.')
}

// A helper is only meaningful inside a template: awaiting one directly is a mistake (Bun.SQL's
// ERR_POSTGRES_NOT_TAGGED_CALL), never a silent no-op.
// As in Bun, .catch() and .finally() throw at once (there is no query to settle).
const notTagged = (dialect) => dialect.error('NOT_TAGGED_CALL', 'a sql() helper must be used inside a tagged template: sql`... ${sql(value)} ...`')
const helperProto = {
  then(resolve, reject) {
    return Promise.reject(notTagged(this.dialect)).then(resolve, reject)
  },
  catch() {
    throw notTagged(this.dialect)
  },
  finally() {
    throw notTagged(this.dialect)
  },
}

function makeHelper(value, columns, dialect = dialects.postgres) {
  const h = Object.create(helperProto)
  h[kHelper] = true
  h.value = value
  h.columns = columns
  h.dialect = dialect
  return h
}

function isHelper(v) {
  return v !== null && typeof v === 'object' && v[kHelper] === true
}

// Columns of a row helper: the ones named, else the keys of the first object (undefined values
// become NULL, as in Bun).
function helperColumns(rows, columns, dialect) {
  if (columns.length > 0) return columns.flat()
  const first = rows[0]
  if (first === null || typeof first !== 'object') throw helperError('sql(rows) expects objects', dialect)
  return Object.keys(first)
}

class Builder {
  constructor(dialect) {
    this.dialect = dialect
    this.text = ''
    this.values = []
  }

  param(value) {
    this.values.push(value === undefined ? null : value)
    return this.dialect.placeholder(this.values.length)
  }

  ident(name) {
    return escapeIdentifier(name, this.dialect)
  }

  fail(message) {
    return helperError(message, this.dialect)
  }

  // The SQL keyword right before the helper decides its form.
  context() {
    const m = /(\bin|\bset|\bduplicate\s+key\s+update|\bvalues|\binto\s+[^\s(]+(?:\s*\([^)]*\))?|\bselect|,)\s*$/i.exec(this.text)
    if (!m) return 'other'
    const k = m[1].toLowerCase()
    if (k === 'in') return 'in'
    // MySQL's upsert (ON DUPLICATE KEY UPDATE) takes col = value pairs, as SET does.
    if (k === 'set' || k.startsWith('duplicate')) return 'set'
    if (k === 'values') return 'values'
    if (k.startsWith('into')) return /\(/.test(k) ? 'values-after-columns' : 'insert'
    return 'list'
  }

  rowsSql(rows, cols) {
    return rows.map((row) => '(' + cols.map((c) => this.param(row[c])).join(', ') + ')').join(', ')
  }

  helper(h) {
    const { value, columns } = h
    if (typeof value === 'string') return this.ident(value)
    const ctx = this.context()
    if (Array.isArray(value)) {
      if (value.length === 0) throw this.fail('sql([]) needs at least one value')
      const objects = value.every((v) => v !== null && typeof v === 'object' && !Array.isArray(v) && !(v instanceof Date) && !Buffer.isBuffer(v))
      if (!objects) {
        // A list: values after IN or VALUES; elsewhere a list of strings is a column list.
        if (ctx !== 'in' && ctx !== 'values' && columns.length === 0 && value.every((v) => typeof v === 'string')) {
          return value.map((v) => this.ident(v)).join(', ')
        }
        return '(' + value.map((v) => this.param(v)).join(', ') + ')'
      }
      if (ctx === 'in') {
        const cols = helperColumns(value, columns, this.dialect)
        if (cols.length !== 1) throw this.fail('sql(rows, column) after IN needs exactly one column')
        return '(' + value.map((row) => this.param(row[cols[0]])).join(', ') + ')'
      }
      const cols = helperColumns(value, columns, this.dialect)
      if (ctx === 'values' || ctx === 'values-after-columns') return this.rowsSql(value, cols)
      if (ctx === 'set') {
        if (value.length !== 1) throw this.fail('sql(rows) after SET takes a single object')
        // As in Bun.SQL, an undefined value leaves its column as it is (INSERT makes it NULL).
        const set = cols.filter((c) => value[0][c] !== undefined)
        if (set.length === 0) throw noColumnToUpdate(this.dialect)
        return set.map((c) => this.ident(c) + ' = ' + this.param(value[0][c])).join(', ')
      }
      return '(' + cols.map((c) => this.ident(c)).join(', ') + ') values ' + this.rowsSql(value, cols)
    }
    if (value !== null && typeof value === 'object') {
      return this.helper(makeHelper([value], columns, this.dialect))
    }
    throw this.fail(`sql(${typeof value}) is not a helper; pass a value inside the template instead`)
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
        throw this.fail('this query cannot be used inside another one (sql.unsafe() with parameters); inline its text or pass its values')
      } else {
        this.text += this.param(v)
      }
      this.text += strings[i]
    }
    return this
  }
}

// strings array -> { [dialect name]: text } for templates whose values are all plain
// parameters: their text depends on nothing else, so it is built once per call site and
// dialect rather than by string concatenation on every call (S5: 4000 parameters).
const textCache = new WeakMap()

// A value that changes the text (a fragment, a helper, a query: the Builder decides what).
function shapesText(v) {
  return v !== null && typeof v === 'object' && (v[kFragment] !== undefined || v[kHelper] === true || v instanceof Promise)
}

// compileTemplate's answer, read at once by the caller: one object for every call instead of
// one per query.
const compiled = { text: '', values: null }

// -> { text, values } (the same object every call: read it before the next call). The
// values of a template without fragments or helpers are the call's own array, undefined
// included (every dialect's encoder binds undefined as NULL): no copy per query.
function compileTemplate(strings, values, dialect = dialects.postgres) {
  const n = values.length
  for (let i = 0; i < n; i++) {
    if (shapesText(values[i])) {
      const b = new Builder(dialect).append(strings, values)
      compiled.text = b.text
      compiled.values = b.values
      return compiled
    }
  }
  let texts = textCache.get(strings)
  if (texts === undefined) {
    texts = {}
    textCache.set(strings, texts)
  }
  let text = texts[dialect.name]
  if (text === undefined) {
    text = new Builder(dialect).append(strings, values).text
    texts[dialect.name] = text
  }
  compiled.text = text
  compiled.values = values
  return compiled
}

module.exports = { kFragment, isTemplateStrings, compileTemplate, makeHelper, escapeIdentifier }
