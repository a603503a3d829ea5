'use strict'
// Options with Bun.SQL's names, aliases, units and precedence:
// explicit option > URL > environment > default. Timeouts are in seconds.

const path = require('node:path')
const { resolveTls } = require('./tls-options.js')

const URL_ENV_VARS = ['POSTGRES_URL', 'TLS_POSTGRES_DATABASE_URL', 'DATABASE_URL', 'TLS_DATABASE_URL', 'PGURL', 'PG_URL']

function pick(...values) {
  for (const v of values) if (v !== undefined && v !== null && v !== '') return v
  return undefined
}

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

function invalid(message) {
  const err = new TypeError(message)
  err.code = 'ERR_INVALID_ARG_VALUE'
  return err
}

// The I/O driver: 'uv' (libuv sockets on the runtime's loop) or 'js' (node:net sockets feeding
// the same C engine). Bun's libuv socket functions abort the process, so Bun only gets 'js'.
function pickDriver(value, env) {
  const onBun = Boolean(process.versions.bun)
  const driver = pick(value, env.UVSQL_DRIVER, onBun ? 'js' : 'uv')
  if (driver !== 'js' && driver !== 'uv') throw invalid(`option 'driver' must be "js" or "uv", got ${driver}`)
  if (driver === 'uv' && onBun) throw invalid(`the "uv" driver cannot run under Bun (its libuv sockets are stubs); use "js"`)
  return driver
}

function parseUrl(url) {
  if (url === ':memory:' || /^(sqlite|file):/i.test(url)) checkAdapter('sqlite')
  let u
  try {
    u = new URL(url.includes('://') ? url : 'postgres://' + url)
  } catch {
    throw invalid('invalid connection URL')
  }
  const protocol = u.protocol.replace(/:$/, '')
  if (['sqlite', 'file'].includes(protocol)) checkAdapter('sqlite')
  if (!['postgres', 'postgresql', 'unix'].includes(protocol)) {
    const err = new TypeError(`unsupported URL scheme '${protocol}:' (this version of uvsql speaks PostgreSQL only)`)
    err.code = 'ERR_INVALID_ARG_VALUE'
    throw err
  }
  const params = {}
  for (const [k, v] of u.searchParams) params[k] = v
  return {
    hostname: u.hostname ? decodeURIComponent(u.hostname.replace(/^\[|\]$/g, '')) : undefined,
    port: u.port ? Number(u.port) : undefined,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    database: u.pathname && u.pathname.length > 1 ? decodeURIComponent(u.pathname.slice(1)) : undefined,
    params,
  }
}

// new SQL(url), new SQL(url, options), new SQL(options)
function normalizeArgs(a, b) {
  if (typeof a === 'string' || a instanceof URL) return { ...(b || {}), url: String(a) }
  if (a && typeof a === 'object') return { ...a }
  if (a === undefined || a === null) return { ...(b || {}) }
  throw invalid('SQL() expects a URL string or an options object')
}

// Bun.SQL's adapter names. Only PostgreSQL is implemented so far (MySQL/MariaDB: issue 6).
const ADAPTERS = { postgres: 'postgres', postgresql: 'postgres', pg: 'postgres', mysql: 'mysql', mysql2: 'mysql', mariadb: 'mysql', sqlite: 'sqlite' }

function checkAdapter(adapter) {
  if (adapter === undefined) return
  const name = ADAPTERS[String(adapter).toLowerCase()]
  if (name === undefined) throw invalid(`unknown adapter '${adapter}' (postgres, mysql, mariadb or sqlite)`)
  if (name === 'sqlite') {
    const err = new TypeError('the sqlite adapter is not available here: uvsql maps it to node:sqlite (Node >= 22.5) or bun:sqlite, and this runtime has neither wired up yet')
    err.code = 'ERR_INVALID_ARG_VALUE'
    throw err
  }
  if (name !== 'postgres') {
    const err = new TypeError(`the ${name} adapter is not supported by this version of uvsql yet; only PostgreSQL is`)
    err.code = 'ERR_INVALID_ARG_VALUE'
    throw err
  }
}

const secrets = new WeakMap() // options -> { password, tlsKey }

function parseOptions(a, b, env = process.env) {
  const o = normalizeArgs(a, b)
  checkAdapter(o.adapter)
  const explicitTarget = ['hostname', 'host', 'port', 'username', 'user', 'password', 'pass', 'database', 'db']
    .some((k) => o[k] !== undefined)
  let url = o.url
  let fromTlsEnv = false
  if (url === undefined && !explicitTarget) {
    const name = URL_ENV_VARS.find((k) => env[k])
    if (name) {
      url = env[name]
      fromTlsEnv = name.startsWith('TLS_')
    }
  }
  const fromUrl = url !== undefined ? parseUrl(String(url)) : { params: {} }
  const urlParams = { ...fromUrl.params }

  const sslmode = pick(o.sslmode, urlParams.sslmode, env.PGSSLMODE)
  const urlFiles = { sslrootcert: urlParams.sslrootcert, sslcert: urlParams.sslcert, sslkey: urlParams.sslkey }
  for (const k of ['sslmode', 'sslrootcert', 'sslcert', 'sslkey']) delete urlParams[k]
  const tls = o.tls !== undefined ? o.tls : o.ssl

  const hostOpt = pick(o.hostname, o.host)
  let socketPath = pick(o.path, urlParams.path)
  let hostname = pick(hostOpt, urlParams.host, fromUrl.hostname, env.PGHOST, 'localhost')
  delete urlParams.path
  delete urlParams.host
  if (typeof hostname === 'string' && hostname.startsWith('/')) {
    socketPath = socketPath || hostname
  }
  const port = Number(pick(o.port, fromUrl.port, env.PGPORT, 5432))
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw invalid(`invalid port: ${port}`)
  if (socketPath && !/\.s\.PGSQL\.\d+$/.test(socketPath)) {
    socketPath = path.join(socketPath, '.s.PGSQL.' + port)
  }
  const username = pick(o.username, o.user, fromUrl.username, env.PGUSERNAME, env.PGUSER, env.USER, env.USERNAME, 'postgres')
  const password = pick(o.password, o.pass, fromUrl.password, env.PGPASSWORD)
  const database = pick(o.database, o.db, fromUrl.database, env.PGDATABASE, username)
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
    adapter: 'postgres',
    hostname: socketPath ? undefined : String(hostname),
    port,
    path: socketPath,
    username: String(username),
    database: String(database),
    max,
    idleTimeout: seconds('idleTimeout', pick(o.idleTimeout, o.idle_timeout), 0),
    maxLifetime: seconds('maxLifetime', pick(o.maxLifetime, o.max_lifetime), 0),
    connectionTimeout: seconds('connectionTimeout',
      pick(o.connectionTimeout, o.connection_timeout, o.connectTimeout, o.connect_timeout), 30),
    bigint: Boolean(o.bigint),
    prepare: o.prepare !== false,
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
  return options
}

// What the native pool needs.
function nativeConfig(options) {
  return {
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
    passwordFunction: options.passwordFunction !== undefined,
  }
}

module.exports = { parseOptions, nativeConfig }
