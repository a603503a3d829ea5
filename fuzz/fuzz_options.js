#!/usr/bin/env node
// Fuzz target `options`: the URL and options parser (lib/options.js + lib/tls-options.js).
// JavaScript, so not libFuzzer: a mutation fuzzer with libFuzzer's command line, driven by
// scripts/fuzz.js like the C targets (`node scripts/fuzz.js --seconds 60 options`).
//
//   node fuzz/fuzz_options.js -max_total_time=60 [-artifact_prefix=DIR/options-] [corpus dirs]
//   node fuzz/fuzz_options.js -runs=1 <input.json>        # replay one input (exit 0 = passes)
//
// An input is JSON {a, b, env}: the arguments of new SQL(a, b) (a URL string or an options
// object) and the environment. Inputs come from the seed files (fuzz/corpus/options/*.json),
// from a generator that assembles URLs from parts (schemes, user names, hosts, ports, paths,
// query parameters incl. sslmode / ssl-mode / host / path, percent escapes, IPv6, unicode,
// NULs) and options objects (every option name with values of every JSON type), and from
// byte/char mutations of both.
//
// Checks, for every input:
//   1. parseOptions either returns or throws an Error carrying a string `code` (a TypeError or
//      RangeError from our validation, ERR_POSTGRES_TLS_CONFIG) — never a bare internal error
//      (URIError, "cannot read properties of undefined", ...).
//   2. The sentinel password (placed in the URL's password, in `password`, or in PGPASSWORD /
//      MYSQL_PASSWORD) never appears, raw or percent-encoded, in an error's message or stack,
//      in util.inspect(options, {showHidden: true}), in JSON.stringify(options) or in
//      String(error) — unless the input also put it somewhere that is not a password.
//   3. Returned options are usable: sqlite options name a file; otherwise nativeConfig() does
//      not throw, the port is an integer in
//      1..65535, max a positive integer, the mode a known one, and the password reaches the
//      native config intact when it came from the URL's password.
//   4. Each call takes < 250 ms (no super-linear regex or loop on long input).
// A failing input is written to <artifact_prefix>crash-<sha1> and the run exits 1, printing
// "artifact written to <path>" (what scripts/fuzz.js looks for).
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const util = require('node:util')
const crypto = require('node:crypto')
const { parseOptions, nativeConfig } = require('../lib/options.js')

const SENTINEL = 'Sntl-7f3a9c-pw'
const ENC = encodeURIComponent(SENTINEL)

// ------------------------------------------------------------------------------ randomness

let seed = Number(process.env.FUZZ_SEED || Date.now()) >>> 0
function rand () { // xorshift32: reproducible with FUZZ_SEED
  seed ^= seed << 13; seed >>>= 0
  seed ^= seed >>> 17
  seed ^= seed << 5; seed >>>= 0
  return seed / 4294967296
}
const ri = (n) => Math.floor(rand() * n)
const pickOne = (a) => a[ri(a.length)]
const maybe = (p = 0.5) => rand() < p

const SCHEMES = ['postgres', 'postgresql', 'mysql', 'mysql2', 'mariadb', 'mysqls', 'unix', 'sqlite', 'file', 'http', 'POSTGRES', 'MySQL', '']
const USERS = ['', 'u', 'postgres', 'root', 'us%40er', 'ü', '%00', '%zz', '%', 'a:b', 'x%3Ay', '💥']
const HOSTS = ['', 'h', 'localhost', '127.0.0.1', '[::1]', '[fe80::1%25eth0]', '%2Ftmp', '%2Fvar%2Frun%2Fpostgresql', 'xn--nxasmq6b', 'ho%zzst', 'a.b.c', '[::1', '🙂', 'h,h2']
const PORTS = ['', '0', '1', '5432', '65535', '65536', '-1', '99999999999', '1e3', 'x', '080']
const PATHS = ['', '/', '/d', '/db%2Fx', '/%zz', '/%', '/ü', '/a/b', '/%00']
const PARAM_KEYS = ['sslmode', 'ssl-mode', 'sslrootcert', 'sslcert', 'sslkey', 'host', 'path', 'socket', 'application_name', 'options', 'search_path', 'user', 'password', 'x', '', '%zz', '__proto__', 'constructor']
const PARAM_VALS = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full', 'REQUIRED', 'VERIFY_IDENTITY', 'disabled', 'bogus', '', '%zz', '/tmp', '%2Ftmp', '/nonexistent/x.pem', '1', 'ü']
const OPT_KEYS = ['url', 'adapter', 'hostname', 'host', 'port', 'username', 'user', 'password', 'pass', 'database', 'db', 'max', 'idleTimeout', 'idle_timeout', 'maxLifetime', 'max_lifetime', 'connectionTimeout', 'connection_timeout', 'connectTimeout', 'connect_timeout', 'bigint', 'prepare', 'tls', 'ssl', 'sslmode', 'path', 'connection', 'driver', 'allowPublicKeyRetrieval', '__proto__']
const ENV_KEYS = ['POSTGRES_URL', 'DATABASE_URL', 'TLS_DATABASE_URL', 'PGURL', 'MYSQL_URL', 'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE', 'MYSQL_HOST', 'MYSQL_PORT', 'MYSQL_PASSWORD', 'UVSQL_DRIVER', 'NODE_TLS_REJECT_UNAUTHORIZED']
const CHARS = ['%', '@', ':', '/', '?', '&', '=', '#', '[', ']', '\\', ' ', '\0', '\n', 'ü', '💥', '\ud800', 'a', '0', '.', ',', ';', '+', '%2', '%zz', '%40', '%3A']

function randomValue (depth = 0) {
  switch (ri(depth > 1 ? 8 : 10)) {
    case 0: return ri(70000) - 5
    case 1: return pickOne([0, -1, 1.5, 1e308, NaN, Infinity, 2 ** 31, 2 ** 53])
    case 2: return maybe() // boolean
    case 3: return null
    case 4: return pickOne(PARAM_VALS)
    case 5: return pickOne([...HOSTS, ...USERS])
    case 6: return randomString()
    case 7: return pickOne(['disable', 'prefer', 'require', 'verify-ca', 'verify-full', 'js', 'uv', 'postgres', 'mysql', 'mariadb', 'sqlite', 'pg', 'x'])
    case 8: return [randomValue(depth + 1), randomValue(depth + 1)]
    default: {
      const o = {}
      for (let i = ri(4); i > 0; i--) own(o, pickOne([...OPT_KEYS, 'ca', 'cert', 'key', 'rejectUnauthorized', 'servername', 'caFile']), randomValue(depth + 1))
      return o
    }
  }
}

// An own data property even for '__proto__' (as JSON.parse makes it), so every input survives
// the JSON round trip of a saved artifact.
function own (o, k, v) {
  Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true })
}

function randomString () {
  let s = ''
  for (let i = ri(12); i > 0; i--) s += pickOne(CHARS)
  return s
}

function randomUrl () {
  const scheme = pickOne(SCHEMES)
  const user = pickOne(USERS)
  const pw = pickOne([ENC, ENC, SENTINEL, '', 'p'])
  let s = scheme ? `${scheme}://` : ''
  if (user || pw) s += user + (pw ? ':' + pw : '') + '@'
  s += pickOne(HOSTS)
  const port = pickOne(PORTS)
  if (port) s += ':' + port
  s += pickOne(PATHS)
  const n = ri(4)
  for (let i = 0; i < n; i++) s += (i ? '&' : '?') + pickOne(PARAM_KEYS) + '=' + pickOne(PARAM_VALS)
  return s
}

function mutateString (s) {
  const cps = Array.from(s)
  for (let k = 1 + ri(3); k > 0; k--) {
    const at = ri(cps.length + 1)
    switch (ri(4)) {
      case 0: cps.splice(at, 0, pickOne(CHARS)); break
      case 1: cps.splice(at, 1); break
      case 2: cps.splice(at, 1, pickOne(CHARS)); break
      default: { // repeat a short run (long inputs for the time check), up to 8k code points
        const from = ri(cps.length)
        const run = cps.slice(from, from + 1 + ri(4))
        for (let r = ri(200); r > 0 && cps.length < 8192; r--) cps.splice(at, 0, ...run)
      }
    }
  }
  return cps.join('')
}

function envString (v) {
  return typeof v === 'string' ? v : String(JSON.stringify(v))
}

function randomEnv () {
  const env = {}
  for (let i = ri(3); i > 0; i--) {
    const k = pickOne(ENV_KEYS)
    env[k] = k.endsWith('PASSWORD') ? SENTINEL : /URL$/.test(k) ? randomUrl() : envString(randomValue())
  }
  return env
}

function generate (corpus) {
  if (corpus.length && maybe(0.3)) return mutateInput(pickOne(corpus))
  const input = { env: randomEnv() }
  const r = ri(4)
  if (r === 0) input.a = randomUrl()
  else if (r === 1) input.a = mutateString(randomUrl())
  else if (r === 2) { input.a = randomUrl(); input.b = randomOptions() }
  else input.a = randomOptions()
  return input
}

function randomOptions () {
  const o = {}
  for (let i = ri(6); i > 0; i--) own(o, pickOne(OPT_KEYS), randomValue())
  if (maybe(0.4)) o.password = SENTINEL
  if (maybe(0.3)) o.url = randomUrl()
  return o
}

function mutateInput (inp) {
  const out = JSON.parse(JSON.stringify(inp))
  if (typeof out.a === 'string') out.a = mutateString(out.a)
  else if (out.a && typeof out.a === 'object') own(out.a, pickOne(OPT_KEYS), randomValue())
  if (maybe(0.2)) out.env = randomEnv()
  return out
}

// ------------------------------------------------------------------------------ the check

class Finding extends Error {}
const fail = (msg) => { throw new Finding(msg) }

// Where the sentinel is allowed to show up: only when the input placed it in a password.
function sentinelOnlyInPassword (input) {
  // The URL parser drops tabs and newlines, so a mutated sentinel may come back whole.
  const s = JSON.stringify({ a: input.a, b: input.b }).replace(/\\[tnr]/g, '')
  const n = s.split(SENTINEL).length - 1
  if (n === 0) return !s.includes('Sntl') // only in *PASSWORD variables (not a broken copy)
  if (n !== 1) return false
  if (typeof input.a === 'string' && !input.b) {
    try {
      const u = new URL(input.a.includes('://') ? input.a : 'postgres://' + input.a)
      return u.password === ENC || u.password === SENTINEL
    } catch { return true /* unparseable: the error must not show it either */ }
  }
  const objs = [input.a, input.b].filter((x) => x && typeof x === 'object')
  return objs.some((o) => o.password === SENTINEL || o.pass === SENTINEL)
}

function checkNoSentinel (text, where) {
  if (typeof text !== 'string') return
  if (text.includes(SENTINEL) || text.includes(ENC)) fail(`the password shows in ${where}: ${text.slice(0, 300)}`)
}

function runOne (input) {
  const env = { ...(input.env || {}) }
  const t0 = process.hrtime.bigint()
  let options
  let error
  try {
    options = parseOptions(input.a, input.b, env)
  } catch (e) {
    error = e
  }
  const ms = Number(process.hrtime.bigint() - t0) / 1e6
  if (ms > 250) fail(`parseOptions took ${ms.toFixed(0)} ms`)
  const secretOnly = sentinelOnlyInPassword(input)
  if (error) {
    if (error instanceof Finding) throw error
    if (!(error instanceof Error) || typeof error.code !== 'string') {
      fail(`threw an error without a code: ${error && error.name}: ${error && error.message}`)
    }
    if (secretOnly) {
      checkNoSentinel(error.message, 'the error message')
      checkNoSentinel(error.stack, 'the error stack')
      checkNoSentinel(util.inspect(error, { showHidden: true, depth: 5 }), 'inspect(error)')
    }
    return
  }
  if (options.adapter === 'sqlite') {
    // The sqlite adapter (lib/sqlite.js) has no server and no password: a file name (or
    // :memory:) is all it uses, and everything after sqlite:// is that name, as in Bun.
    if (typeof options.filename !== 'string') fail(`sqlite filename ${options.filename}`)
    return
  }
  if (secretOnly) {
    checkNoSentinel(util.inspect(options, { showHidden: true, depth: 8, getters: true }), 'inspect(options)')
    checkNoSentinel(JSON.stringify(options), 'JSON.stringify(options)')
  }
  if (!Number.isInteger(options.port) || options.port < 1 || options.port > 65535) fail(`port ${options.port}`)
  if (!Number.isInteger(options.max) || options.max < 1) fail(`max ${options.max}`)
  if (!['postgres', 'mysql'].includes(options.adapter)) fail(`adapter ${options.adapter}`)
  let cfg
  try {
    cfg = nativeConfig(options)
  } catch (e) {
    fail(`nativeConfig threw: ${e.stack}`)
  }
  if (![0, 1, 2].includes(cfg.sslMode)) fail(`native sslMode ${cfg.sslMode}`)
  if (typeof input.a === 'string' && !input.b && !/[?&](?:user|password)=/.test(input.a)) {
    let u
    try { u = new URL(input.a.includes('://') ? input.a : 'postgres://' + input.a) } catch {}
    if (u && (u.password === ENC || u.password === SENTINEL) && cfg.password !== SENTINEL) {
      fail(`the URL password became ${JSON.stringify(cfg.password)}`)
    }
  }
}

// ------------------------------------------------------------------------------ main

function loadCorpus (dirs) {
  const out = []
  for (const d of dirs) {
    if (!fs.existsSync(d) || !fs.statSync(d).isDirectory()) continue
    for (const f of fs.readdirSync(d)) {
      try { out.push(JSON.parse(fs.readFileSync(path.join(d, f), 'utf8'))) } catch {}
    }
  }
  return out
}

function main () {
  const flags = {}
  const rest = []
  for (const a of process.argv.slice(2)) {
    const m = /^-(\w+)=(.*)$/.exec(a)
    if (m) flags[m[1]] = m[2]
    else rest.push(a)
  }
  if (flags.runs === '1') { // replay files
    for (const f of rest) {
      const input = JSON.parse(fs.readFileSync(f, 'utf8'))
      try { runOne(input) } catch (e) {
        console.error(`==options== FAILED on ${f}: ${e.message}`)
        process.exitCode = 1
      }
    }
    if (!process.exitCode) console.error(`replayed ${rest.length} input(s): ok`)
    return
  }
  const seconds = Number(flags.max_total_time || 60)
  const prefix = flags.artifact_prefix || './options-'
  const corpus = loadCorpus(rest)
  console.error(`INFO: seed ${seed}; ${corpus.length} corpus inputs`)
  const t0 = Date.now()
  const deadline = t0 + seconds * 1000
  let execs = 0
  for (const input of corpus) { runGuarded(input); execs++ }
  while (Date.now() < deadline) {
    for (let i = 0; i < 200; i++) {
      runGuarded(generate(corpus))
      execs++
    }
  }
  const secs = (Date.now() - t0) / 1000
  console.error(`#${execs}\tDONE   cov: 0 ft: 0 corp: ${corpus.length}/0b exec/s: ${Math.round(execs / secs)}`)
  console.error(`stat::number_of_executed_units: ${execs}`)
  console.error(`stat::average_exec_per_sec:     ${Math.round(execs / secs)}`)
  console.error(`stat::peak_rss_mb:              ${Math.round(process.memoryUsage().rss / 1048576)}`)

  function runGuarded (input) {
    try {
      runOne(input)
    } catch (e) {
      const text = JSON.stringify(input)
      const file = `${prefix}crash-${crypto.createHash('sha1').update(text).digest('hex')}`
      fs.mkdirSync(path.dirname(file), { recursive: true })
      fs.writeFileSync(file, text + '\n')
      console.error(`==options== ERROR: ${e instanceof Finding ? '' : 'harness: '}${e.message}`)
      console.error(`input: ${text.slice(0, 500)}`)
      console.error(`artifact written to ${file}`)
      process.exit(1)
    }
  }
}

main()
