'use strict'
// What differs between PostgreSQL and MySQL above the wire: error classes and codes,
// identifier quoting, placeholders, parameter encoding, transaction statements. Everything
// else in lib/ is shared.

const {
  PostgresError, MySQLError, SQLiteError, postgresServerError, postgresClientError, mysqlServerError, mysqlClientError,
} = require('./errors.js')
const { encodeParams } = require('./params.js')
const { encodeMysqlParams, rewritePlaceholders } = require('./mysql-params.js')
const { encodeSqliteParams, sqliteBegin, clientError: sqliteClientError } = require('./sqlite.js')

// "a.b" -> quoted parts; the quote character is doubled inside a name.
function quoter(q) {
  const doubled = q + q
  return (part) => q + part.split(q).join(doubled) + q
}

const postgres = {
  name: 'postgres',
  ErrorClass: PostgresError,
  // A client-side error: code is Bun's label without the ERR_POSTGRES_ prefix.
  error: (code, message) => new PostgresError(message, { code: 'ERR_POSTGRES_' + code }),
  serverError: postgresServerError,
  clientError: postgresClientError,
  quotePart: quoter('"'),
  placeholder: (n) => '$' + n,
  encodeParams,
  // sql.unsafe(text, values): PostgreSQL reads $n itself.
  prepareUnsafe: (text, values) => ({ text, values }),
  begin: (mode) => (mode ? 'BEGIN ' + mode : 'BEGIN'),
  // Two-phase commit: statements around fn for beginDistributed(name, fn).
  distributed: {
    begin: () => 'BEGIN',
    prepare: (name) => [`PREPARE TRANSACTION '${name}'`],
    rollback: () => ['ROLLBACK'],
    commit: (name) => `COMMIT PREPARED '${name}'`,
    abort: (name) => `ROLLBACK PREPARED '${name}'`,
    discardAfterPrepare: false,
  },
  listen: true,
  // sql.unsafe(text, values) takes an array only.
  namedParams: false,
}

// BEGIN options for MySQL: an isolation level is set for the next transaction (SET
// TRANSACTION), the rest (READ ONLY, READ WRITE, WITH CONSISTENT SNAPSHOT) goes to START
// TRANSACTION. Both run as one text query, before anything else in the transaction.
function mysqlBegin(mode) {
  if (!mode) return 'BEGIN'
  const parts = mode.split(',').map((p) => p.trim()).filter(Boolean)
  const isolation = parts.filter((p) => /^isolation\s+level\b/i.test(p))
  const rest = parts.filter((p) => !/^isolation\s+level\b/i.test(p))
  const start = 'START TRANSACTION' + (rest.length > 0 ? ' ' + rest.join(', ') : '')
  return isolation.length > 0 ? `SET TRANSACTION ${isolation[0]}; ${start}` : start
}

const mysql = {
  name: 'mysql',
  ErrorClass: MySQLError,
  error: (code, message) => new MySQLError(message, { code: 'ERR_MYSQL_' + code }),
  serverError: mysqlServerError,
  clientError: mysqlClientError,
  quotePart: quoter('`'),
  placeholder: () => '?',
  encodeParams: encodeMysqlParams,
  prepareUnsafe: rewritePlaceholders,
  // KILL QUERY makes the server fail the statement with ER_QUERY_INTERRUPTED (1317).
  begin: mysqlBegin,
  // XA: the branch is ended and prepared; commit/rollback of the prepared branch comes later.
  distributed: {
    begin: (name) => `XA START '${name}'`,
    prepare: (name) => [`XA END '${name}'`, `XA PREPARE '${name}'`],
    rollback: (name) => [`XA END '${name}'`, `XA ROLLBACK '${name}'`],
    commit: (name) => `XA COMMIT '${name}'`,
    abort: (name) => `XA ROLLBACK '${name}'`,
    // MariaDB keeps a prepared XA branch attached to its session: the connection can run
    // nothing else until the branch ends, and only a disconnect detaches it (it then waits for
    // XA COMMIT/ROLLBACK from any connection). So the connection is closed, never reused.
    discardAfterPrepare: true,
  },
  listen: false,
  namedParams: false,
}

// SQLite (lib/sqlite.js runs it): ? placeholders, "quoted" identifiers, named parameters in
// sql.unsafe()/sql.file() ({ $a: 1 }), no two-phase commit, no LISTEN, no arrays (sql.array throws).
const sqlite = {
  name: 'sqlite',
  ErrorClass: SQLiteError,
  error: sqliteClientError,
  quotePart: quoter('"'),
  placeholder: () => '?',
  encodeParams: encodeSqliteParams,
  prepareUnsafe: (text, values) => ({ text, values }),
  begin: sqliteBegin,
  distributed: null,
  listen: false,
  namedParams: true,
}

const dialects = { postgres, mysql, sqlite }

module.exports = { dialects }
