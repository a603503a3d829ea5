'use strict'
// Error classes with Bun.SQL's names, codes and fields.
//
// A PostgreSQL server error: PostgresError with code 'ERR_POSTGRES_SERVER_ERROR' (or
// 'ERR_POSTGRES_SYNTAX_ERROR' for SQLSTATE 42601) and the SQLSTATE in `errno`, as Bun does.
// A client-side failure (connection closed, refused, protocol violation...): PostgresError with
// an ERR_POSTGRES_* code and no errno.

class SQLError extends Error {
  constructor(message, options) {
    super(message, options)
    this.name = 'SQLError'
  }
}

// Copies the defined fields (code, errno, detail, ...) onto the error.
function assignFields(err, fields) {
  if (!fields) return
  for (const key of Object.keys(fields)) {
    if (fields[key] !== undefined) err[key] = fields[key]
  }
}

class PostgresError extends SQLError {
  constructor(message, fields) {
    super(message)
    this.name = 'PostgresError'
    assignFields(this, fields)
  }
}

class MySQLError extends SQLError {
  constructor(message, fields) {
    super(message)
    this.name = 'MySQLError'
    assignFields(this, fields)
  }
}

// A SQLite error, with bun:sqlite's fields: code ('SQLITE_CONSTRAINT_UNIQUE', or a client code
// such as 'ERR_SQLITE_CONNECTION_CLOSED'), errno (the extended result code, 0 for client
// codes) and byteOffset (where in the SQL text, when SQLite knows; -1 otherwise).
class SQLiteError extends SQLError {
  constructor(message, fields) {
    super(message)
    this.name = 'SQLiteError'
    assignFields(this, fields)
  }
}

// Names of the C layer's error codes (src/base/base_err.c) -> Bun.SQL codes.
const clientCodes = {
  DB_ECLOSED: 'CONNECTION_CLOSED',
  ECONNRESET: 'CONNECTION_CLOSED',
  EPIPE: 'CONNECTION_CLOSED',
  EOF: 'CONNECTION_CLOSED',
  ECONNREFUSED: 'CONNECTION_REFUSED',
  DB_ETIMEDOUT: 'CONNECTION_TIMEOUT',
  ETIMEDOUT: 'CONNECTION_TIMEOUT',
  DB_EPROTO: 'UNEXPECTED_MESSAGE',
  DB_ESYNC: 'INVALID_MESSAGE_LENGTH',
  DB_EAUTH: 'SASL_SIGNATURE_MISMATCH',
  DB_EAUTHMETHOD: 'UNSUPPORTED_AUTHENTICATION_METHOD',
  DB_EARG: 'INVALID_QUERY_BINDING',
  DB_ECANCELED: 'QUERY_CANCELLED',
  DB_ETLS: 'TLS_UPGRADE_FAILED',
  DB_ETLSVERIFY: 'TLS_UPGRADE_FAILED',
  DB_ETLSUNAVAILABLE: 'TLS_NOT_AVAILABLE',
  DB_EIDLE: 'IDLE_TIMEOUT',
  DB_ELIFETIME: 'LIFETIME_TIMEOUT',
}

// C's words for a connection that close() (or its deadline) ended, with no reason of its own:
// Bun.SQL says "Connection closed" there, whatever the driver. A specific reason ("the server
// closed the connection", a cancel request that got no answer) is kept: it says more.
const GENERIC_CLOSED = new Set(['connection closed', 'the pool was closed'])
function clientMessage(name, message) {
  return name === 'DB_ECLOSED' && GENERIC_CLOSED.has(message) ? 'Connection closed' : message
}

// A DataRow or RowDescription whose counts or cell lengths overrun its own length: Bun.SQL's
// ERR_POSTGRES_INVALID_MESSAGE (its postgres-datarow-overrun test); C names both DB_EPROTO, and
// every other protocol violation stays UNEXPECTED_MESSAGE.
const OVERRUN = new Set(['malformed DataRow', 'malformed RowDescription'])
// A binary-format cell whose length does not fit its type (src/pg/pg_conn.c): Bun.SQL's
// ERR_POSTGRES_INVALID_BINARY_DATA (its postgres-binary-datum-validation test).
const BINARY_DATUM = 'malformed binary datum'

function serverErrorCode(sqlstate) {
  return sqlstate === '42601' ? 'ERR_POSTGRES_SYNTAX_ERROR' : 'ERR_POSTGRES_SERVER_ERROR'
}

// A server's message is shown as it came, up to this length (a misbehaving server could send
// megabytes before authentication).
const MESSAGE_MAX = 4096

// fields: the ErrorResponse fields from C ({ errno, message, severity, detail, ... }).
function postgresServerError(fields) {
  let { message, ...rest } = fields // eslint-disable-line prefer-const
  if (typeof message === 'string' && message.length > MESSAGE_MAX) message = message.slice(0, MESSAGE_MAX) + '...'

  return new PostgresError(message || 'server error', { code: serverErrorCode(fields.errno), ...rest })
}

// [errorName, message, serverFields | null] from C.
function postgresClientError(name, message, serverFields) {
  if (serverFields && serverFields.errno) {
    // The connection ended because of a server error (bad password, no such database...).
    return postgresServerError(serverFields)
  }
  const code = 'ERR_POSTGRES_' + (name !== 'DB_EPROTO' ? clientCodes[name] || 'CONNECTION_FAILED'
    : OVERRUN.has(message) ? 'INVALID_MESSAGE'
      : message.startsWith(BINARY_DATUM) ? 'INVALID_BINARY_DATA' : clientCodes[name])
  return new PostgresError(clientMessage(name, message), { code })
}

// A MySQL server error, as Bun.SQL 1.4 fills it: code 'ERR_MYSQL_SERVER_ERROR', errno the
// server's error number (1062), sqlState the SQLSTATE ('23000'). fields: { number, errno
// (the SQLSTATE, as C names it for both protocols), message }.
function mysqlServerError(fields) {
  let message = fields.message
  if (typeof message === 'string' && message.length > MESSAGE_MAX) message = message.slice(0, MESSAGE_MAX) + '...'
  // Bun 1.4.5: ER_PARSE_ERROR (1064) is ERR_MYSQL_SYNTAX_ERROR, every other one SERVER_ERROR.
  return new MySQLError(message || 'server error', {
    code: fields.number === 1064 ? 'ERR_MYSQL_SYNTAX_ERROR' : 'ERR_MYSQL_SERVER_ERROR',
    errno: fields.number,
    sqlState: fields.errno,
  })
}

const mysqlClientCodes = {
  ...clientCodes,
  DB_EAUTH: 'AUTHENTICATION_FAILED',
  DB_ENOPASSWORD: 'MISSING_PASSWORD',
}

function mysqlClientError(name, message, serverFields) {
  if (serverFields && serverFields.number) return mysqlServerError(serverFields)
  let code = mysqlClientCodes[name] || 'CONNECTION_FAILED'
  // The engine names the option a user must set to allow this (allowPublicKeyRetrieval).
  if (/allowPublicKeyRetrieval/.test(message)) code = 'PUBLIC_KEY_RETRIEVAL_NOT_ALLOWED'
  return new MySQLError(clientMessage(name, message), { code: 'ERR_MYSQL_' + code })
}

// Calls a user callback (onconnect, onclose, onnotice...): a throw from it must not break what
// the caller is doing; it surfaces as an uncaught exception, as in Node.
function callUser(fn, arg) {
  if (typeof fn !== 'function') return
  try {
    fn(arg)
  } catch (err) {
    process.nextTick(() => { throw err })
  }
}

module.exports = {
  callUser,
  SQLError, PostgresError, MySQLError, SQLiteError, postgresServerError, postgresClientError, mysqlServerError, mysqlClientError,
}
