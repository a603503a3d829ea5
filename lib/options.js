'use strict'
// Options with Bun.SQL's names, aliases, units and precedence:
// explicit option > URL > environment > default. Timeouts are in seconds.

const fs = require('node:fs')
const path = require('node:path')
const { resolveTls } = require('./tls-options.js')
const { isSqliteUrl, parseSqliteOptions } = require('./sqlite.js')
const { takePgAuthOptions } = require('./pg-auth-options.js')
const { pick, invalid } = require('./option-values.js')

// Bun.SQL's order. With an explicit adapter only the variables that can name it are read.
const URL_ENV_VARS = ['POSTGRES_URL', 'TLS_POSTGRES_DATABASE_URL', 'DATABASE_URL', 'TLS_DATABASE_URL', 'PGURL', 'PG_URL', 'MYSQL_URL', 'TLS_MYSQL_DATABASE_URL']
const URL_ENV_ADAPTER = { POSTGRES_URL: 'postgres', TLS_POSTGRES_DATABASE_URL: 'postgres', PGURL: 'postgres', PG_URL: 'postgres', MYSQL_URL: 'mysql', TLS_MYSQL_DATABASE_URL: 'mysql' }

// Per-adapter defaults and the environment variables of each field.
const ADAPTER_DEFAULTS = {
  postgres: {
    port: 5432, user: 'postgres',
    env: { host: ['PGHOST'], port: ['PGPORT'], user: ['PGUSERNAME', 'PGUSER', 'USER', 'USERNAME'], password: ['PGPASSWORD'], database: ['PGDATABASE'] },
  },
  mysql: {
    port: 3306, user: 'root', database: 'mysql',
    env: { host: ['MYSQL_HOST'], port: ['MYSQL_PORT'], user: ['MYSQL_USER'], password: ['MYSQL_PASSWORD'], database: ['MYSQL_DATABASE'] },
  },
}

const SCHEME_ADAPTER = { postgres: 'postgres', postgresql: 'postgres', unix: 'postgres', mysql: 'mysql', mysql2: 'mysql', mariadb: 'mysql', mysqls: 'mysql' }

function seconds(name, value, fallback) {
  if (value === undefined || value === null) return fallback
  const n = Number(value)
  if (!Number.isFinite(n) || n < 0 || n > 2 ** 31) {
    const err = new RangeError(`option '${name}' must be a number of seconds between 0 and 2^31, got ${value}`)
    err.code = 'ERR_INVALID_ARG_VALUE'
    throw err
  }
  return n
}

// The I/O driver: 'uv' (libuv sockets on the runtime's loop) or 'js' (JS sockets feeding the
// same C engine: Bun.connect under Bun, node:net under Node). Bun's libuv socket functions abort the process, so Bun only gets 'js'.
function pickDriver(value, env) {
  const onBun = Boolean(process.versions.bun)
  const driver = pick(value, env.UVSQL_DRIVER, onBun ? 'js' : 'uv')
  if (driver !== 'js' && driver !== 'uv') throw invalid(`option 'driver' must be "js" or "uv", got ${driver}`)
  if (driver === 'uv' && onBun) throw invalid(`the "uv" driver cannot run under Bun (its libuv sockets are stubs); use "js"`)
  return driver
}

// decodeURIComponent that fails like the rest of the parser: a malformed escape ('%zz', a lone
// '%') in a URL part is a bad argument with a code, never a bare URIError (fuzz target `options`,
// fuzz/crashes/options-uri-malformed.json). The part's text is not quoted: it may be the password.
function decodePart(text, what) {
  try {
    return decodeURIComponent(text)
  } catch {
    throw invalid(`invalid percent-encoding in the connection URL's ${what}`)
  }
}

function parseUrl(url) {
  let u
  try {
    u = new URL(url.includes('://') ? url : 'postgres://' + url)
  } catch {
    throw invalid('invalid connection URL')
  }
  const protocol = u.protocol.replace(/:$/, '').toLowerCase()
  if (SCHEME_ADAPTER[protocol] === undefined) {
    throw invalid(`unsupported URL scheme '${protocol}:' (postgres://, postgresql://, mysql://, mysqls://, mariadb://)`)
  }
  const params = {}
  for (const [k, v] of u.searchParams) params[k] = v
  return {
    hostname: u.hostname ? decodePart(u.hostname.replace(/^\[|\]$/g, ''), 'host') : undefined,
    port: u.port ? Number(u.port) : undefined,
    username: u.username ? decodePart(u.username, 'user name') : undefined,
    password: u.password ? decodePart(u.password, 'password') : undefined,
    database: u.pathname && u.pathname.length > 1 ? decodePart(u.pathname.slice(1), 'database') : undefined,
    params,
    adapter: SCHEME_ADAPTER[protocol],
    tlsScheme: protocol === 'mysqls',
  }
}

// new SQL(url), new SQL(url, options), new SQL(options)
function normalizeArgs(a, b) {
  if (typeof a === 'string' || a instanceof URL) return { ...(b || {}), url: String(a) }
  if (a && typeof a === 'object') return { ...a }
  if (a === undefined || a === null) return { ...(b || {}) }
  throw invalid('SQL() expects a URL string or an options object')
}

// Bun.SQL's adapter names.
const ADAPTERS = { postgres: 'postgres', postgresql: 'postgres', pg: 'postgres', mysql: 'mysql', mysql2: 'mysql', mariadb: 'mysql', sqlite: 'sqlite' }

function checkAdapter(adapter) {
  if (adapter === undefined || adapter === null) return undefined
  const name = ADAPTERS[String(adapter).toLowerCase()]
  if (name === undefined) throw invalid(`unknown adapter '${adapter}' (postgres, mysql, mariadb or sqlite)`)
  return name
}

// MySQL's ssl-mode names (DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY) -> libpq's.
function mysqlSslMode(mode) {
  if (mode === undefined) return undefined
  const map = { disabled: 'disable', preferred: 'prefer', required: 'require', verify_ca: 'verify-ca', verify_identity: 'verify-full' }
  return map[String(mode).toLowerCase()] || mode
}

const secrets = new WeakMap() // options -> { password, tlsKey }

// SQLite, as Bun picks it: adapter "sqlite", a filename option, or a :memory:, sqlite: or file:
// URL. Its options are Bun's sqlite ones (lib/sqlite.js); no environment variable is read.
function sqliteOptions(o, explicitAdapter) {
  const url = o.url !== undefined ? String(o.url) : undefined
  const sqliteUrl = url !== undefined && isSqliteUrl(url)
  if (explicitAdapter === undefined && !sqliteUrl && o.filename === undefined) return null
  if (explicitAdapter !== undefined && explicitAdapter !== 'sqlite') {
    // Bun.SQL's words (a sqlite URL holds no password to leak).
    if (sqliteUrl) throw invalid(`Invalid URL '${url}' for ${o.adapter}. Did you mean to specify \`{ adapter: "sqlite" }\`?`)
    return null
  }
  if (url !== undefined && !sqliteUrl && o.filename === undefined && url.includes('://')) {
    throw invalid(`the URL is not a sqlite URL (sqlite://, sqlite:, file:, :memory:) but the adapter option says ${o.adapter}`)
  }
  const options = parseSqliteOptions(o)
  Object.defineProperty(options, 'tlsMode', { value: 'disable', enumerable: false })
  return options
}

function parseOptions(a, b, env = process.env) {
  const o = normalizeArgs(a, b)
  const explicitAdapter = checkAdapter(o.adapter)
  const sqlite = sqliteOptions(o, explicitAdapter)
  if (sqlite !== null) {
    // new SQL(":memory:") shows no url, new SQL({ url }) does (as in Bun).
    if (typeof a === 'string' || a instanceof URL) delete sqlite.url
    return sqlite
  }
  const explicitTarget = ['hostname', 'host', 'port', 'username', 'user', 'password', 'pass', 'database', 'db']
    .some((k) => o[k] !== undefined)
  let url = o.url
  let fromTlsEnv = false
  let envAdapter
  if (url === undefined && !explicitTarget) {
    const name = URL_ENV_VARS.find((k) => env[k] && (explicitAdapter === undefined || [undefined, explicitAdapter].includes(URL_ENV_ADAPTER[k])))
    if (name) {
      url = env[name]
      fromTlsEnv = name.startsWith('TLS_')
      envAdapter = URL_ENV_ADAPTER[name]
    }
  }
  const fromUrl = url !== undefined ? parseUrl(String(url)) : { params: {} }
  const urlParams = { ...fromUrl.params }
  // A scheme-less URL counts as PostgreSQL only when nothing else names the adapter. A URL from
  // a variable that names its adapter (PGURL, MYSQL_URL...) is that adapter whatever its scheme
  // says (measured on Bun 1.4.5: MYSQL_URL=postgres://... is MySQL). So is a URL given with an
  // explicit `adapter`: Bun 1.4.5 connects a postgres:// URL with adapter "mysql" to MySQL, with
  // the URL's host, user, database and parameters and MySQL's default port.
  const schemeAdapter = envAdapter === undefined && url !== undefined && String(url).includes('://') ? fromUrl.adapter : undefined
  const adapter = explicitAdapter || envAdapter || schemeAdapter || fromUrl.adapter || 'postgres'
  const defaults = ADAPTER_DEFAULTS[adapter]
  const fromEnv = (field) => pick(...defaults.env[field].map((k) => env[k]))
  if (adapter === 'mysql' && o.prepare === false) {
    throw invalid("prepare: false is not supported with MySQL (every query with parameters is a prepared statement); use sql.unsafe() for text queries")
  }

  const sslmode = pick(o.sslmode, urlParams.sslmode, mysqlSslMode(urlParams['ssl-mode']), adapter === 'postgres' ? env.PGSSLMODE : undefined,
    fromUrl.tlsScheme ? 'require' : undefined)
  const urlFiles = { sslrootcert: urlParams.sslrootcert, sslcert: urlParams.sslcert, sslkey: urlParams.sslkey }
  for (const k of ['sslmode', 'ssl-mode', 'sslrootcert', 'sslcert', 'sslkey']) delete urlParams[k]
  const tls = o.tls !== undefined ? o.tls : o.ssl
  const pgAuth = takePgAuthOptions(o, urlParams, env, adapter)

  const hostOpt = pick(o.hostname, o.host)
  let socketPath = pick(o.path, urlParams.path, urlParams.socket)
  let hostname = pick(hostOpt, urlParams.host, fromUrl.hostname, fromEnv('host'), 'localhost')
  delete urlParams.path
  delete urlParams.host
  delete urlParams.socket
  if (typeof hostname === 'string' && hostname.startsWith('/')) {
    socketPath = socketPath || hostname
  }
  const port = Number(pick(o.port, fromUrl.port, fromEnv('port'), defaults.port))
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`invalid port: ${port}`)
  // PostgreSQL names a socket directory (libpq), or, as Bun.SQL also takes, the socket itself:
  // a path that exists and is not a directory is used as it is. MySQL names the socket file.
  if (socketPath && adapter === 'postgres' && !/\.s\.PGSQL\.\d+$/.test(socketPath) && !isNonDirectory(socketPath)) {
    socketPath = path.join(socketPath, '.s.PGSQL.' + port)
  }
  const username = pick(o.username, o.user, fromUrl.username, fromEnv('user'), defaults.user)
  const password = pick(o.password, o.pass, fromUrl.password, fromEnv('password'))
  const database = pick(o.database, o.db, fromUrl.database, fromEnv('database'), defaults.database, username)
  const max = Number(pick(o.max, 10))
  if (!Number.isInteger(max) || max < 1) throw invalid(`option 'max' must be a positive integer, got ${o.max}`)

  const connection = { ...urlParams, ...(o.connection || {}) }
  const params = []
  for (const [k, v] of Object.entries(connection)) {
    if (v === undefined || v === null) continue
    params.push(String(k), String(v))
  }

  const tlsResolved = resolveTls({
    tls, urlMode: sslmode, urlFiles, fromTlsEnv, hostname: String(hostname), socketPath, env,
  })

  const options = {
    adapter,
    hostname: socketPath ? undefined : String(hostname),
    port,
    path: socketPath,
    username: String(username),
    database: String(database),
    max,
    idleTimeout: seconds('idleTimeout', pick(o.idleTimeout, o.idle_timeout), 0),
    maxLifetime: seconds('maxLifetime', pick(o.maxLifetime, o.max_lifetime), 0),
    connectionTimeout: seconds('connectionTimeout',
      pick(o.connectionTimeout, o.connection_timeout, o.connectTimeout, o.connect_timeout, pgAuth.connectTimeout), 30),
    bigint: Boolean(o.bigint),
    prepare: o.prepare !== false,
    allowPublicKeyRetrieval: o.allowPublicKeyRetrieval === true,
    connection,
    onconnect: typeof o.onconnect === 'function' ? o.onconnect : undefined,
    onclose: typeof o.onclose === 'function' ? o.onclose : undefined,
    // NoticeResponse messages (RAISE NOTICE, warnings): quiet unless a callback is given.
    onnotice: typeof o.onnotice === 'function' ? o.onnotice : undefined,
    driver: pickDriver(o.driver, env),
  }
  // Secrets (password, TLS key) live in a WeakMap beside the options, never on them: no
  // util.inspect (even with showHidden), JSON or property walk can reach them.
  // show it.
  const passwordFunction = typeof password === 'function' ? password : undefined
  const secret = password === undefined || passwordFunction ? undefined : String(password)
  secrets.set(options, { password: secret, tlsKey: tlsResolved.native ? tlsResolved.native.key : undefined })
  if (tlsResolved.native) delete tlsResolved.native.key
  // Bun keeps `options.password`; here it is redacted.
  Object.defineProperty(options, 'password', { get: () => (secret === undefined ? undefined : '[redacted]'), enumerable: false })
  Object.defineProperty(options, 'passwordFunction', { value: passwordFunction, enumerable: false })
  Object.defineProperty(options, 'startupParams', { value: params, enumerable: false })
  Object.defineProperty(options, 'tlsMode', { value: tlsResolved.mode, enumerable: true })
  Object.defineProperty(options, 'tlsNative', { value: tlsResolved, enumerable: false })
  Object.defineProperty(options, 'pgAuth', { value: pgAuth, enumerable: false })
  return options
}

// What the native pool needs.
function nativeConfig(options) {
  return {
    protocol: options.adapter === 'mysql' ? 'mysql' : 'postgres',
    allowPublicKeyRetrieval: options.allowPublicKeyRetrieval,
    host: options.path ? undefined : options.hostname,
    port: options.port,
    path: options.path,
    user: options.username,
    password: secrets.get(options).password,
    database: options.database,
    params: options.startupParams,
    max: options.max,
    connectTimeoutMs: Math.round(options.connectionTimeout * 1000),
    idleTimeoutMs: Math.round(options.idleTimeout * 1000),
    maxLifetimeMs: Math.round(options.maxLifetime * 1000),
    // Named statements cached per connection; prepare: false uses unnamed ones only.
    statementCacheSize: options.prepare ? 256 : 0,
    sslMode: options.tlsNative.nativeMode,
    tls: options.tlsNative.native && { ...options.tlsNative.native, key: secrets.get(options).tlsKey },
    notices: options.onnotice !== undefined,
    channelBinding: options.pgAuth.channelBinding,
    authAllowed: options.pgAuth.authAllowed,
    passwordFunction: options.passwordFunction !== undefined,
  }
}

function isNonDirectory(p) {
  try {
    return !fs.statSync(p).isDirectory()
  } catch {
    return false
  }
}

// close({ timeout }) in seconds, as Bun.SQL 1.4.5 checks it: null/undefined = no timeout; a value
// that is not a number in [0, 2^31] (NaN, negative, 2 ** 32, Infinity) is a TypeError with Bun's
// wording. An over-long one must not be taken: it would make the close wait for ever.
function closeTimeout(opts) {
  const value = opts === undefined || opts === null ? undefined : opts.timeout
  if (value === undefined || value === null) return undefined
  const n = Number(value)
  if (!(n >= 0 && n <= 2 ** 31)) {
    throw invalid(`The property 'options.timeout' must be a non-negative integer less than 2^31. Received ${n}`)
  }
  return n
}

module.exports = { parseOptions, nativeConfig, closeTimeout }
