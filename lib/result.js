'use strict'
// The result of a query: an Array of rows with Bun.SQL's non-enumerable metadata.

class SQLResultArray extends Array {
  static get [Symbol.species]() {
    return Array
  }
  get [Symbol.toStringTag]() {
    return 'SQLResults'
  }
}

// The metadata is own and non-enumerable, as in Bun.SQL: rows are all that Object.keys,
// JSON.stringify and for...in see. Defined once per result, always in the same order, so every
// result shares one hidden class.
function hide(obj, key, value) {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: false, configurable: true })
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

function finishResult(result, tag) {
  const { command, count } = parseCommandTag(tag)
  const dml = command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE' ||
    command === 'COPY'
  hide(result, 'count', count !== null ? count : result.length)
  hide(result, 'command', command)
  hide(result, 'lastInsertRowid', null)
  hide(result, 'affectedRows', dml ? count : null)
  return result
}

module.exports = { SQLResultArray, newResult, finishResult, parseCommandTag }
