'use strict'
// The result of a query: an Array of rows with Bun.SQL's non-enumerable metadata.

// The metadata lives in private fields behind accessors: rows are all that Object.keys,
// JSON.stringify and for...in see, as with Bun.SQL's non-enumerable properties, and a result
// costs no property definitions (Object.defineProperty on arrays is slow in V8).
class SQLResultArray extends Array {
  #count = null
  #command = null
  #lastInsertRowid = null
  #affectedRows = null

  static get [Symbol.species]() {
    return Array
  }
  get [Symbol.toStringTag]() {
    return 'SQLResults'
  }
  get count() { return this.#count }
  set count(v) { this.#count = v }
  get command() { return this.#command }
  set command(v) { this.#command = v }
  get lastInsertRowid() { return this.#lastInsertRowid }
  set lastInsertRowid(v) { this.#lastInsertRowid = v }
  get affectedRows() { return this.#affectedRows }
  set affectedRows(v) { this.#affectedRows = v }
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

function parseCommandTag(tag) {
  if (!tag) return { command: null, count: null }
  const count = tagCount(tag)
  if (count < 0) return { command: tag, count: null }
  return { command: tag.substring(0, tag.indexOf(' ')), count }
}

function newResult() {
  return new SQLResultArray()
}

// MySQL: the tag is "<KEYWORD> <affected rows> <last insert id>" (made in src/pool/pool_engine.c
// from the OK packet). count is the rows returned, or the rows changed when none are returned.
function finishMysqlResult(result, tag) {
  const [command, affected, insertId] = (tag || '').split(' ')
  const changed = Number(affected || 0)
  const dml = result.length === 0 && command !== 'SELECT' && command !== 'SHOW'
  result.command = command || null
  result.count = dml ? changed : result.length
  result.affectedRows = changed
  const id = Number(insertId || 0)
  result.lastInsertRowid = Number.isSafeInteger(id) ? id : BigInt(insertId)
  return result
}

function finishResult(result, tag, mysql = false) {
  if (mysql) return finishMysqlResult(result, tag)
  const { command, count } = parseCommandTag(tag)
  const dml = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE' ||
    command === 'COPY'
  result.count = count !== null ? count : result.length
  result.command = command
  result.affectedRows = dml ? count : 0 // Bun 1.4.5: 0 for SELECT, DDL...
  return result
}

module.exports = { newResult, finishResult }
