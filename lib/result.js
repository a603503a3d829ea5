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

function hide(obj, key, value) {
  Object.defineProperty(obj, key, { value, writable: true, enumerable: false, configurable: true })
}

// "SELECT 3", "INSERT 0 5", "UPDATE 2", "CREATE TABLE" -> { command, count }
function parseCommandTag(tag) {
  if (!tag) return { command: null, count: null }
  const parts = tag.split(' ')
  const last = parts[parts.length - 1]
  if (parts.length > 1 && /^\d+$/.test(last)) {
    return { command: parts[0], count: Number(last) }
  }
  return { command: tag, count: null }
}

function newResult() {
  const result = new SQLResultArray()
  hide(result, 'count', null)
  hide(result, 'command', null)
  hide(result, 'lastInsertRowid', null)
  hide(result, 'affectedRows', null)
  return result
}

function finishResult(result, tag) {
  const { command, count } = parseCommandTag(tag)
  result.command = command
  result.count = count !== null ? count : result.length
  if (command === 'INSERT' || command === 'UPDATE' || command === 'DELETE' || command === 'MERGE' ||
      command === 'COPY') {
    result.affectedRows = count
  }
  return result
}

module.exports = { SQLResultArray, newResult, finishResult, parseCommandTag }
