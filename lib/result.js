'use strict'
// The result of a query: an Array of rows with Bun.SQL's non-enumerable metadata.

// The metadata lives in private fields behind accessors: rows are all that Object.keys,
// JSON.stringify and for...in see, as with Bun.SQL's non-enumerable properties, and a result
// costs no property definitions (Object.defineProperty on arrays is slow in V8).
// It is worked out from the command tag only when first read: most code reads the rows alone,
// and S3 keeps 50k results alive at once (each parsed tag was an object and a substring more).
let finish // (result, tag, mysql) -> result, set in the class body below

class SQLResultArray extends Array {
  #tag = null // the command tag as it came
  #rows = 0 // result.length when it was finished; -1 - that for a MySQL result
  #meta = null // the parsed metadata (Meta), or null until read or set

  static get [Symbol.species]() {
    return Array
  }
  get [Symbol.toStringTag]() {
    return 'SQLResults'
  }
  get count() { return this.#parsed().count }
  set count(v) { this.#parsed().count = v }
  get command() { return this.#parsed().command }
  set command(v) { this.#parsed().command = v }
  get lastInsertRowid() { return this.#parsed().lastInsertRowid }
  set lastInsertRowid(v) { this.#parsed().lastInsertRowid = v }
  get affectedRows() { return this.#parsed().affectedRows }
  set affectedRows(v) { this.#parsed().affectedRows = v }

  #parsed() {
    if (this.#meta === null) {
      this.#meta = this.#rows < 0 ? mysqlMeta(this.#tag, -1 - this.#rows) : pgMeta(this.#tag, this.#rows)
    }
    return this.#meta
  }

  // finish(): internal, so neither on the results nor on their class (rows.constructor).
  static {
    finish = (result, tag, mysql) => {
      result.#tag = tag
      result.#rows = mysql ? -1 - result.length : result.length
      result.#meta = null
      return result
    }
  }
}

class Meta {
  constructor(command, count, affectedRows, lastInsertRowid) {
    this.command = command
    this.count = count
    this.affectedRows = affectedRows
    this.lastInsertRowid = lastInsertRowid
  }
}

// "SELECT 3", "INSERT 0 5", "UPDATE 2", "CREATE TABLE" -> the number at the end, or -1.
function tagCount(tag) {
  let n = 0
  let scale = 1
  let i = tag.length - 1
  for (; i >= 0; i--) {
    const c = tag.charCodeAt(i)
    if (c === 32) break
    if (c < 48 || c > 57) return -1
    n += (c - 48) * scale
    scale *= 10
  }
  return i > 0 && i < tag.length - 1 ? n : -1
}

// PostgreSQL: count is the tag's number, or the rows returned when it has none.
function pgMeta(tag, rows) {
  if (!tag) return new Meta(null, rows, 0, null)
  const count = tagCount(tag)
  if (count < 0) return new Meta(tag, rows, 0, null)
  const command = tag.substring(0, tag.indexOf(' '))
  const dml = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE' ||
    command === 'COPY'
  return new Meta(command, count, dml ? count : 0, null) // Bun 1.4.5: affectedRows 0 for SELECT, DDL...
}

// MySQL: the tag is "<KEYWORD> <affected rows> <last insert id>" (made in src/pool/pool_engine.c
// from the OK packet). count is the rows returned, or the rows changed when none are returned.
function mysqlMeta(tag, rows) {
  const [command, affected, insertId] = (tag || '').split(' ')
  const changed = Number(affected || 0)
  const dml = rows === 0 && command !== 'SELECT' && command !== 'SHOW'
  const id = Number(insertId || 0)
  return new Meta(command || null, dml ? changed : rows, changed, Number.isSafeInteger(id) ? id : BigInt(insertId))
}

// A new result starts with object elements: the first row pushed into an empty array would
// change its elements kind, which for an Array subclass goes through the C++ push and a map
// search (Builtin_ArrayPush, MapUpdater::FindTargetMap) on every result: 330 -> 150 ns per
// one-row result in a micro-benchmark.
const SEED = Object.freeze({})

function newResult() {
  const result = new SQLResultArray(SEED)
  result.length = 0
  return result
}

function finishResult(result, tag, mysql = false) {
  return finish(result, tag, mysql)
}

module.exports = { newResult, finishResult }
