'use strict'
// uvsql: Bun.SQL's API on a native PostgreSQL client and pool.

const { binding } = require('./binding.js')
const { SQL } = require('./sql.js')
const { SQLError, PostgresError, MySQLError, SQLiteError } = require('./errors.js')

// Load the native addon now, so a missing or unloadable binary fails at require()/import with
// one clear error (ERR_UVSQL_NO_BINARY: where it looked, how to build from source), not later.
binding()

SQL.SQLError = SQLError
SQL.PostgresError = PostgresError
SQL.MySQLError = MySQLError
SQL.SQLiteError = SQLiteError

// The default instance, configured from the environment on first use (like Bun's `sql`).
let defaultInstance = null
function getDefault() {
  if (defaultInstance === null) defaultInstance = new SQL()
  return defaultInstance
}

function sql(strings, ...values) {
  return getDefault()(strings, ...values)
}
// Bun's `sql` is a whole SQL instance: every method forwards to the default one. Closing an
// instance that was never made resolves at once (there is nothing to close).
const FORWARDED = ['unsafe', 'file', 'array', 'begin', 'transaction', 'beginDistributed', 'distributed',
  'commitDistributed', 'rollbackDistributed', 'reserve', 'connect', 'flush', 'listen', 'notify', 'stats']
for (const method of FORWARDED) sql[method] = (...args) => getDefault()[method](...args)
for (const method of ['close', 'end']) {
  sql[method] = (...args) => (defaultInstance === null ? Promise.resolve() : getDefault()[method](...args))
}
sql[Symbol.asyncDispose] = () => sql.close()
Object.defineProperty(sql, 'options', { get: () => getDefault().options, enumerable: false })

module.exports = { SQL, sql, postgres: SQL, SQLError, PostgresError, MySQLError, SQLiteError, default: SQL }
