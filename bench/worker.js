'use strict'
// One driver, one scenario, one fresh process:
//
//   BENCH_URL=postgres://... node bench/worker.js <uvsql|postgres|pg|pg-pipeline> <S1..S5>
//   BENCH_URL=mysql://...    node bench/worker.js <uvsql|mysql2|mariadb> <S1..S5>
//   BENCH_URL=...            bun bench/worker.js <bunsql|uvsql-bun> <S1..S5>
//
// The URL's scheme decides the protocol (and so which drivers exist).
// Does a small warm-up, then the timed run, checks the results, and prints exactly one JSON
// line on stdout: { driver, scenario, ok, rate, unit, n, ms, maxRSS_MB, ... } or
// { ok: false, error }. bench/run.js starts one of these per measurement.

const { execFileSync } = require('node:child_process')
const path = require('node:path')

const [driverName, scenario] = process.argv.slice(2)
const url = process.env.BENCH_URL
const isMysql = /^(mysql|mariadb):/i.test(url || '')
const sizes = {
  S1: Number(process.env.BENCH_S1_N || 20000),
  S2: Number(process.env.BENCH_S2_N || 100000),
  S3: Number(process.env.BENCH_S3_N || 50000),
  S4: Number(process.env.BENCH_S4_ROWS || 200000), // informational; the table decides
  S5: Number(process.env.BENCH_S5_N || 100) // number of INSERTs of 1000 rows
}
const S2_IN_FLIGHT = 256
const S5_ROWS_PER_INSERT = 1000
const S5_COLS = 4

// ------------------------------------------------------------------ drivers
// Every adapter exposes the same small surface, written the way a user of that driver would:
//   select1(), selectInt(i), wide(limit|null), insertMany(strings, values), exec(text), close()

function templateStrings (parts) {
  // A strings array that both uvsql and postgres.js accept as a tagged-template call, for a
  // text whose number of parameters is only known at run time (S5).
  // raw is non-enumerable, as on a real template object (Bun.SQL refuses an enumerable one).
  const strings = parts.slice()
  Object.defineProperty(strings, 'raw', { value: Object.freeze(parts.slice()) })
  return Object.freeze(strings)
}

// The adapter for a tagged-template client (uvsql, postgres.js and Bun.SQL share the API).
function taggedAdapter (sql, close) {
  return {
    select1: () => sql`select 1`,
    // MySQL: `?` placeholders, and no cast (the result has the type of the bound parameter).
    selectInt: isMysql ? (i) => sql`select ${i}` : (i) => sql`select ${i}::int`,
    wide: (limit) => limit ? sql`select * from bench_wide order by id limit ${limit}` : sql`select * from bench_wide`,
    insertMany: (strings, values) => sql(strings, ...values),
    exec: (text) => sql.unsafe(text),
    scalar: async (text) => { const r = await sql.unsafe(text); return r[0][Object.keys(r[0])[0]] },
    close
  }
}

function makeUvsql (max) {
  if (driverName === 'uvsql-bun' && !process.versions.bun) throw new Error('the uvsql-bun driver runs under Bun only')
  const { SQL } = require(path.join(__dirname, '..'))
  const sql = new SQL(url, { max })
  return taggedAdapter(sql, () => sql.close())
}

function makePostgresJs (max) {
  const mod = require('postgres')
  const postgres = mod.default || mod // Bun's require() of this ESM-first package gives the module
  const sql = postgres(url, { max, onnotice: () => {} })
  return taggedAdapter(sql, () => sql.end())
}

// Bun.SQL, under Bun only (bench/run.js starts this worker with Bun's binary for it).
function makeBunSql (max) {
  if (!process.versions.bun) throw new Error('the bunsql driver runs under Bun only')
  const { SQL } = require('bun')
  const sql = new SQL(url, { max })
  return taggedAdapter(sql, () => sql.close())
}

const textCache = new WeakMap()
function placeholders (strings) {
  let text = textCache.get(strings)
  if (text === undefined) {
    text = strings[0]
    for (let i = 1; i < strings.length; i++) text += (isMysql ? '?' : '$' + i) + strings[i]
    textCache.set(strings, text)
  }
  return text
}

// `db` is anything with pg's query(text, values) and end().
function pgAdapter (db) {
  const rows = (p) => p.then((r) => r.rows)
  return {
    select1: () => rows(db.query('select 1')),
    selectInt: (i) => rows(db.query('select $1::int', [i])),
    wide: (limit) => rows(limit ? db.query('select * from bench_wide order by id limit $1', [limit]) : db.query('select * from bench_wide')),
    insertMany: (strings, values) => rows(db.query(placeholders(strings), values)),
    exec: (text) => rows(db.query(text)),
    scalar: async (text) => { const r = await db.query(text); return r.rows[0][r.fields[0].name] },
    close: () => db.end()
  }
}

function makePg (max) {
  const pg = require('pg')
  return pgAdapter(new pg.Pool({ connectionString: url, max }))
}

// pg with `pipeline: true` (pg >= 8.22): a client sends each query at once instead of waiting
// for the previous result. pg.Pool leases a client per query, which would defeat it, so this is
// `max` pipelined clients taking queries in turn.
async function makePgPipeline (max) {
  const pg = require('pg')
  const clients = []
  for (let i = 0; i < max; i++) {
    const c = new pg.Client({ connectionString: url, pipeline: true })
    await c.connect()
    clients.push(c)
  }
  let turn = 0
  return pgAdapter({
    query: (text, values) => clients[turn++ % max].query(text, values),
    end: () => Promise.all(clients.map((c) => c.end()))
  })
}

// mysql2 and mariadb: prepared statements through execute() (binary protocol, each driver's own
// statement cache), the way uvsql runs every tagged template on MySQL. Through the pool, except
// with `oneConnection` (S3): both pools lease a connection per query, so queries issued at once
// would wait for each other; on one connection mariadb pipelines them (mysql2 queues them).
// `result` turns what execute()/query() resolve to into the array of rows.
function mysqlAdapter (pool, conn, result) {
  const db = conn || pool
  const rows = (p) => p.then(result)
  return {
    select1: () => rows(db.execute('select 1')),
    selectInt: (i) => rows(db.execute('select ?', [i])),
    wide: (limit) => rows(limit ? db.execute('select * from bench_wide order by id limit ?', [limit]) : db.execute('select * from bench_wide')),
    insertMany: (strings, values) => rows(db.execute(placeholders(strings), values)),
    exec: (text) => rows(db.query(text)),
    scalar: async (text) => { const r = await rows(db.query(text)); return r[0][Object.keys(r[0])[0]] },
    close: async () => { if (conn) conn.release(); await pool.end() }
  }
}

function mysqlConfig (max) {
  const u = new URL(url)
  return {
    host: u.hostname,
    port: Number(u.port || 3306),
    user: decodeURIComponent(u.username),
    password: decodeURIComponent(u.password),
    database: decodeURIComponent(u.pathname.slice(1)),
    connectionLimit: max
  }
}

async function makeMysql2 (max, { oneConnection }) {
  const mysql = require('mysql2/promise')
  const pool = mysql.createPool({ ...mysqlConfig(max), waitForConnections: true, queueLimit: 0 })
  const conn = oneConnection ? await pool.getConnection() : null
  return mysqlAdapter(pool, conn, (r) => r[0]) // [rows, fields]
}

async function makeMariadb (max, { oneConnection }) {
  const mariadb = require('mariadb')
  const pool = mariadb.createPool({ ...mysqlConfig(max), acquireTimeout: 120000 })
  const conn = oneConnection ? await pool.getConnection() : null
  return mysqlAdapter(pool, conn, (r) => r) // rows (with a hidden meta)
}

const makers = isMysql
  ? { uvsql: makeUvsql, 'uvsql-bun': makeUvsql, mysql2: makeMysql2, mariadb: makeMariadb, bunsql: makeBunSql }
  : { uvsql: makeUvsql, 'uvsql-bun': makeUvsql, postgres: makePostgresJs, pg: makePg, 'pg-pipeline': makePgPipeline, bunsql: makeBunSql }

// ------------------------------------------------------------------ scenarios

const now = () => process.hrtime.bigint()
const msSince = (t0) => Number(now() - t0) / 1e6

function check (cond, what) {
  if (!cond) throw new Error('wrong result: ' + what)
}

function firstValue (rows) {
  const r = rows[0]
  if (Array.isArray(r)) return r[0]
  return r[Object.keys(r)[0]]
}

// Pin this connection's server backend (PostgreSQL: its process; MariaDB: its thread) to the
// CPU this process is pinned to (S1).
async function pinBackend (db) {
  const cpu = process.env.BENCH_PIN_CPU
  if (cpu === undefined || cpu === '') return 'no'
  try {
    const pid = Number(await db.scalar(isMysql
      ? 'select TID from information_schema.PROCESSLIST where ID = CONNECTION_ID()'
      : 'select pg_backend_pid()'))
    execFileSync('taskset', [...(isMysql ? [] : ['-a']), '-p', '-c', cpu, String(pid)], { stdio: 'ignore' })
    return `cpu ${cpu}`
  } catch (err) {
    return 'failed: ' + err.message.split('\n')[0]
  }
}

async function s1 (db, n) {
  let bad = 0
  for (let i = 0; i < n; i++) {
    const rows = await db.select1()
    if (Number(firstValue(rows)) !== 1) bad++
  }
  check(bad === 0, `${bad} of ${n} results are not 1`)
}

async function s2 (db, n) {
  let next = 0
  let bad = 0
  async function lane () {
    while (next < n) {
      const i = next++
      const rows = await db.selectInt(i)
      if (firstValue(rows) !== i) bad++
    }
  }
  await Promise.all(Array.from({ length: Math.min(S2_IN_FLIGHT, n) }, lane))
  check(bad === 0, `${bad} of ${n} results differ from their parameter`)
}

async function s3 (db, n) {
  const all = new Array(n)
  for (let i = 0; i < n; i++) all[i] = db.selectInt(i)
  const res = await Promise.all(all)
  let bad = 0
  for (let i = 0; i < n; i++) if (firstValue(res[i]) !== i) bad++
  check(bad === 0, `${bad} of ${n} results differ from their parameter`)
}

function s5Statement () {
  // strings[k] is the text before parameter k+1: "insert ... values (", then ", " inside a
  // row, "), (" between rows and ")" at the end: 4000 parameters, 4001 strings.
  const out = ['insert into bench_insert (id, label, score, flag) values (']
  for (let r = 0; r < S5_ROWS_PER_INSERT; r++) {
    for (let c = 0; c < S5_COLS; c++) {
      if (c < S5_COLS - 1) out.push(', ')
      else out.push(r === S5_ROWS_PER_INSERT - 1 ? ')' : '), (')
    }
  }
  return templateStrings(out)
}

function s5Values (batch) {
  const v = new Array(S5_ROWS_PER_INSERT * S5_COLS)
  for (let r = 0, k = 0; r < S5_ROWS_PER_INSERT; r++) {
    const id = batch * S5_ROWS_PER_INSERT + r
    v[k++] = id
    v[k++] = 'label-' + id + '-abcdefghij'
    v[k++] = id * 0.5 + 0.25
    v[k++] = (id & 1) === 0
  }
  return v
}

async function s5 (db, batches, strings) {
  for (let b = 0; b < batches; b++) await db.insertMany(strings, s5Values(b))
}

// bench_wide holds ids 1..n (run.js), amount NULL where id % 64 = 0; big = 10^15 + 7919 id.
function checkWide (rows, n) {
  check(rows.length === n, `bench_wide returned ${rows.length} rows, expected ${n} (BENCH_S4_ROWS must match run.js)`)
  let ids = 0
  let nulls = 0
  for (const r of rows) {
    ids += Number(r.id)
    if (r.amount === null) nulls++
  }
  check(ids === n * (n + 1) / 2, `sum of ids ${ids}, expected ${n * (n + 1) / 2}`)
  check(nulls === Math.floor(n / 64), `${nulls} NULL amounts, expected ${Math.floor(n / 64)}`)
  const last = rows[rows.length - 1]
  check(String(last.big) === String(1000000000000000 + Number(last.id) * 7919), `big ${last.big} for id ${last.id}`)
}

function typesOf (row) {
  const out = {}
  for (const [k, v] of Object.entries(row)) {
    out[k] = v === null ? 'null' : typeof v === 'object' ? (v instanceof Date ? 'Date' : v.constructor ? v.constructor.name : 'object') : typeof v
  }
  return out
}

async function main () {
  if (!url) throw new Error('BENCH_URL is not set')
  if (!makers[driverName]) throw new Error(`unknown driver ${driverName} (${Object.keys(makers).join(', ')})`)
  const max = scenario === 'S2' ? 10 : 1
  const db = await makers[driverName](max, { oneConnection: scenario === 'S3' })
  const out = { driver: driverName, scenario, ok: true }
  let t0
  let count
  let unit = 'q/s'
  let cpu0 = null // client CPU over the timed part (BENCH_CPU=1: cpu_us_per_op in the output, per row for S4 and S5)
  try {
    switch (scenario) {
      case 'S1': {
        await s1(db, 500)
        out.pinned = await pinBackend(db)
        count = sizes.S1
        cpu0 = process.cpuUsage()
        t0 = now()
        await s1(db, count)
        break
      }
      case 'S2': {
        await s2(db, 5000)
        count = sizes.S2
        cpu0 = process.cpuUsage()
        t0 = now()
        await s2(db, count)
        break
      }
      case 'S3': {
        await s3(db, 2000)
        count = sizes.S3
        cpu0 = process.cpuUsage()
        t0 = now()
        await s3(db, count)
        break
      }
      case 'S4': {
        unit = 'rows/s'
        const warm = await db.wide(2000)
        check(warm.length === 2000, `warm-up returned ${warm.length} rows`)
        cpu0 = process.cpuUsage()
        t0 = now()
        let rows = await db.wide(null)
        out.ms = msSince(t0)
        cpu0 = process.cpuUsage(cpu0) // before the checks below
        count = rows.length
        checkWide(rows, sizes.S4)
        out.types = typesOf(rows[0])
        out.sample = rows[0]
        rows = null
        break
      }
      case 'S5': {
        unit = 'rows/s'
        const strings = s5Statement()
        await db.exec('truncate bench_insert')
        await s5(db, 3, strings)
        await db.exec('truncate bench_insert')
        count = sizes.S5 * S5_ROWS_PER_INSERT
        cpu0 = process.cpuUsage()
        t0 = now()
        await s5(db, sizes.S5, strings)
        out.ms = msSince(t0)
        cpu0 = process.cpuUsage(cpu0) // before the checks below
        const n = Number(await db.scalar('select count(*) from bench_insert'))
        check(n === count, `bench_insert holds ${n} rows, expected ${count}`)
        const ids = Number(await db.scalar('select sum(id) from bench_insert'))
        check(ids === count * (count - 1) / 2, `sum of inserted ids ${ids}, expected ${count * (count - 1) / 2}`)
        break
      }
      default:
        throw new Error(`unknown scenario ${scenario}`)
    }
    if (out.ms === undefined) out.ms = msSince(t0)
    if (cpu0 !== null && process.env.BENCH_CPU) {
      const c = scenario === 'S4' || scenario === 'S5' ? cpu0 : process.cpuUsage(cpu0)
      out.cpu_us_per_op = (c.user + c.system) / count
      out.cpu_user_us_per_op = c.user / count
    }
    out.n = count
    out.unit = unit
    out.rate = count / (out.ms / 1000)
  } finally {
    const closing = db.close()
    await Promise.race([closing, new Promise((resolve) => setTimeout(resolve, 5000).unref())])
  }
  out.maxRSS_MB = process.resourceUsage().maxRSS / 1024
  return out
}

main().then((out) => {
  process.stdout.write(JSON.stringify(out, (k, v) => typeof v === 'bigint' ? v.toString() : v) + '\n')
  process.exit(0)
}, (err) => {
  const msg = (err && (err.code ? err.code + ': ' : '') + (err.message || String(err))) || String(err)
  process.stdout.write(JSON.stringify({ driver: driverName, scenario, ok: false, error: msg.split('\n')[0] }) + '\n')
  process.exit(0)
})
