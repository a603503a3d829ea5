#!/usr/bin/env node
'use strict'
// uvsql against postgres.js and pg (also with `pipeline: true`) (PostgreSQL), against mysql2 and
// mariadb (MySQL/MariaDB), and, when the `bun` devDependency is installed, uvsql under Bun and
// Bun.SQL under Bun, on scenarios S1-S5 (see bench/README.md).
//
//   node bench/run.js [--db pg,mysql] [--scenarios S1,S4] [--runs 3] [--drivers uvsql,pg,mysql2]
//                     [--url postgres://... --url mysql://...] [--json out.json] [--pin] [--timeout 180]
//                     [--chart out.svg | --no-chart]   (default chart: bench/results/latest.svg)
//   node bench/run.js --from results.json [--chart out.svg]   (the report and chart of a saved --json run)
//
// --db defaults to both protocols, or to the protocols of the --url / DATABASE_URL given. A protocol
// without a URL gets a throwaway server (test/helpers/servers.js: PostgreSQL 15, MariaDB 10.11),
// stopped at the end. Every measurement is a fresh `node bench/worker.js <driver> <scenario>`
// process; drivers are interleaved and their order rotates every run. Prints a Markdown report
// on stdout (progress goes to stderr).

const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { renderChart } = require('./chart.js')

const ALL_SCENARIOS = ['S1', 'S2', 'S3', 'S4', 'S5']
const ALL_DBS = ['pg', 'mysql']
// bunsql: Bun.SQL, run under Bun (the devDependency's binary), the issue's reference, and
// uvsql-bun: uvsql under that same Bun; only when that binary is there.
const BUN = path.join(__dirname, '..', 'node_modules', '.bin', 'bun')
const HAVE_BUN = fs.existsSync(BUN)
const UNDER_BUN = new Set(['bunsql', 'uvsql-bun'])
const BUN_DRIVERS = HAVE_BUN ? ['uvsql-bun', 'bunsql'] : []
const DRIVERS = {
  pg: ['uvsql', 'postgres', 'pg', 'pg-pipeline', ...BUN_DRIVERS],
  mysql: ['uvsql', 'mysql2', 'mariadb', ...BUN_DRIVERS]
}
const DB_NAME = { pg: 'PostgreSQL', mysql: 'MySQL/MariaDB' }
const DRIVER_NAME = { postgres: 'postgres.js', 'pg-pipeline': 'pg (pipeline)', bunsql: 'Bun.SQL (Bun)', 'uvsql-bun': 'uvsql (Bun)' }
const WIDE_ROWS = Number(process.env.BENCH_S4_ROWS || 200000)
const DEFAULT_CHART = path.join(__dirname, 'results', 'latest.svg')

const SCENARIO_TEXT = {
  pg: {
    S1: '20k × `select 1`, one at a time, pool max 1 (q/s)',
    S2: '100k × `select $1::int`, 256 in flight, pool max 10 (q/s)',
    S3: '50k × `select $1::int` all issued at once, pool max 1 (q/s)',
    S4: `one query, ${WIDE_ROWS / 1000}k rows × 8 cols from bench_wide (rows/s)`,
    S5: '100 × INSERT of 1000 rows × 4 cols (4000 params), one at a time, pool max 1 (rows/s)'
  },
  mysql: {
    S1: '20k × `select 1`, one at a time, pool max 1 (q/s)',
    S2: '100k × `select ?`, 256 in flight, pool max 10 (q/s)',
    S3: '50k × `select ?` all issued at once, one connection (q/s)',
    S4: `one query, ${WIDE_ROWS / 1000}k rows × 8 cols from bench_wide (rows/s)`,
    S5: '100 × INSERT of 1000 rows × 4 cols (4000 params), one at a time, pool max 1 (rows/s)'
  }
}

const dbOfUrl = (u) => /^postgres(ql)?:/i.test(u) ? 'pg' : /^(mysql|mariadb):/i.test(u) ? 'mysql' : null
const driverName = (d) => DRIVER_NAME[d] || d

function parseArgs (argv) {
  const a = { dbs: null, scenarios: ALL_SCENARIOS, drivers: null, runs: 3, urls: {}, json: null, chart: DEFAULT_CHART, pin: false, timeout: 180 }
  const addUrl = (u) => {
    const db = dbOfUrl(u)
    if (!db) throw new Error(`--url ${u}: expected a postgres:// or mysql:// URL`)
    a.urls[db] = u
  }
  if (process.env.DATABASE_URL) addUrl(process.env.DATABASE_URL)
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`)
      return argv[++i]
    }
    if (k === '--db') a.dbs = v().split(',').map((s) => s.trim().toLowerCase().replace(/^(postgres(ql)?)$/, 'pg').replace(/^mariadb$/, 'mysql')).filter(Boolean)
    else if (k === '--scenarios') a.scenarios = v().split(',').map((s) => s.trim().toUpperCase()).filter(Boolean)
    else if (k === '--drivers') a.drivers = v().split(',').map((s) => s.trim()).filter(Boolean)
    else if (k === '--runs') a.runs = Number(v())
    else if (k === '--url') addUrl(v())
    else if (k === '--json') a.json = v()
    else if (k === '--chart') a.chart = v()
    else if (k === '--no-chart') a.chart = null
    else if (k === '--from') a.from = v()
    else if (k === '--timeout') a.timeout = Number(v())
    else if (k === '--pin') a.pin = true
    else if (k === '--no-pin') a.pin = false
    else if (k === '-h' || k === '--help') {
      const lines = fs.readFileSync(__filename, 'utf8').split('\n').slice(2)
      process.stdout.write(lines.slice(0, lines.findIndex((l) => !l.startsWith('//'))).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n')
      process.exit(0)
    } else throw new Error(`unknown argument ${k}`)
  }
  if (!a.dbs) a.dbs = Object.keys(a.urls).length ? ALL_DBS.filter((db) => a.urls[db]) : ALL_DBS
  for (const db of a.dbs) if (!ALL_DBS.includes(db)) throw new Error(`unknown --db ${db} (pg, mysql)`)
  for (const s of a.scenarios) if (!ALL_SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}`)
  const known = new Set(a.dbs.flatMap((db) => DRIVERS[db]))
  for (const d of a.drivers || []) if (!known.has(d)) throw new Error(`unknown driver ${d} for --db ${a.dbs.join(',')}`)
  // Per protocol: the drivers asked for (all by default) that exist for it.
  a.driversOf = Object.fromEntries(a.dbs.map((db) => [db, DRIVERS[db].filter((d) => !a.drivers || a.drivers.includes(d))]))
  if (!(a.runs >= 1)) throw new Error('--runs must be >= 1')
  return a
}

const say = (m) => process.stderr.write(`[bench] ${m}\n`)

// ------------------------------------------------------------------ setup (with pg and mysql2)

async function preparePg (url) {
  const pg = require('pg')
  const c = new pg.Client({ connectionString: url })
  await c.connect()
  try {
    const t0 = Date.now()
    await c.query('drop table if exists bench_wide')
    await c.query(`
      create table bench_wide as
      select i::int4                                                   as id,
             (1000000000000000 + i::int8 * 7919)::int8                 as big,
             'label-' || lpad(i::text, 15, '0')                        as label,
             i * 1.25::float8                                          as score,
             i % 3 = 0                                                 as flag,
             timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second' as at,
             case when i % 64 = 0 then null else (i * 13.37)::numeric(12,2) end as amount,
             jsonb_build_object('id', i, 'tag', 't' || (i % 1000), 'ok', i % 2 = 0, 'v', i * 0.5) as doc
      from generate_series(1, $1::int) as i`, [WIDE_ROWS])
    await c.query('vacuum analyze bench_wide')
    await c.query('drop table if exists bench_insert')
    await c.query('create unlogged table bench_insert (id int4, label text, score float8, flag bool)')
    const { rows } = await c.query(`select current_setting('server_version') as v,
      pg_size_pretty(pg_total_relation_size('bench_wide')) as size,
      (select avg(length(doc::text))::int from bench_wide) as doclen`)
    say(`bench_wide: ${WIDE_ROWS} rows, ${rows[0].size}, doc ~${rows[0].doclen} B; PostgreSQL ${rows[0].v} (${Date.now() - t0} ms)`)
    return rows[0].v
  } finally {
    await c.end()
  }
}

// The same data as bench_wide on PostgreSQL, in MariaDB/MySQL types: flag is BOOLEAN (tinyint(1)),
// at is DATETIME (no time zone) and doc is JSON (MariaDB: LONGTEXT with a JSON check).
async function prepareMysql (url) {
  const mysql = require('mysql2/promise')
  const c = await mysql.createConnection({ uri: url, multipleStatements: false })
  try {
    const t0 = Date.now()
    const [[{ v, seq }]] = await c.query(`select version() as v,
      (select support from information_schema.engines where engine = 'SEQUENCE') as seq`)
    await c.query('drop table if exists bench_wide')
    await c.query(`create table bench_wide (
      id int not null primary key, big bigint not null, label varchar(32) not null, score double not null,
      flag boolean not null, at datetime not null, amount decimal(12,2) null, doc json not null) engine=InnoDB`)
    // MariaDB's SEQUENCE engine (seq_1_to_N); elsewhere a recursive CTE.
    const numbers = seq === 'YES'
      ? `select seq as i from seq_1_to_${WIDE_ROWS}`
      : `with recursive n (i) as (select 1 union all select i + 1 from n where i < ${WIDE_ROWS}) select i from n`
    if (seq !== 'YES') await c.query(`set session cte_max_recursion_depth = ${WIDE_ROWS + 1}`)
    await c.query(`insert into bench_wide
      select i, 1000000000000000 + i * 7919, concat('label-', lpad(i, 15, '0')), i * 1.25e0, i % 3 = 0,
             timestamp '2024-01-01 00:00:00' + interval i second,
             case when i % 64 = 0 then null else cast(i * 13.37 as decimal(12,2)) end,
             json_object('id', i, 'tag', concat('t', i % 1000), 'ok', json_extract(if(i % 2 = 0, 'true', 'false'), '$'), 'v', i * 0.5)
      from (${numbers}) as numbers`)
    await c.query('analyze table bench_wide')
    await c.query('drop table if exists bench_insert')
    await c.query('create table bench_insert (id int, label varchar(64), score double, flag boolean) engine=InnoDB')
    const [[info]] = await c.query(`select round((data_length + index_length) / 1048576) as mb,
      (select avg(length(doc)) from bench_wide) as doclen from information_schema.tables
      where table_schema = database() and table_name = 'bench_wide'`)
    say(`bench_wide: ${WIDE_ROWS} rows, ${info.mb} MB, doc ~${Math.round(info.doclen)} B; ${v} (${Date.now() - t0} ms)`)
    return v
  } finally {
    await c.end()
  }
}

const prepare = { pg: preparePg, mysql: prepareMysql }

// ------------------------------------------------------------------ children

function runChild (db, driver, scenario, url, opts) {
  return new Promise((resolve) => {
    const worker = path.join(__dirname, 'worker.js')
    const env = { ...process.env, BENCH_URL: url }
    let cmd = UNDER_BUN.has(driver) ? BUN : process.execPath
    const runtimeArgs = UNDER_BUN.has(driver) ? [] : (process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean) : [])
    let args = [...runtimeArgs, worker, driver, scenario]
    if (scenario === 'S1' && opts.pinCpu !== null) {
      // Client and server backend on one CPU: on a 2-vCPU VM a cross-CPU wake-up costs ~40 us
      // and makes one-at-a-time numbers bimodal.
      args = ['-c', String(opts.pinCpu), cmd, ...args]
      cmd = 'taskset'
      env.BENCH_PIN_CPU = String(opts.pinCpu)
    }
    const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (d) => { out += d })
    child.stderr.setEncoding('utf8').on('data', (d) => { err += d })
    const timer = setTimeout(() => {
      try { child.kill('SIGKILL') } catch {}
    }, opts.timeout * 1000)
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop()
      if (line) {
        try { return resolve({ db, ...JSON.parse(line) }) } catch {}
      }
      const why = signal === 'SIGKILL' ? `timeout after ${opts.timeout} s` : `exit ${signal || code}`
      const tail = err.trim().split('\n').filter(Boolean).slice(-1)[0] || ''
      resolve({ db, driver, scenario, ok: false, error: `${why}${tail ? ': ' + tail : ''}` })
    })
  })
}

// ------------------------------------------------------------------ report

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b)
  const m = s.length >> 1
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2
}

function fmt (x) {
  if (x === null || x === undefined || !Number.isFinite(x)) return '-'
  if (x >= 1e6) return (x / 1e6).toFixed(2) + 'M'
  if (x >= 1e3) return (x / 1e3).toFixed(1) + 'k'
  return x.toFixed(0)
}

function summarize (results, db, drivers, scenarios) {
  const sum = {}
  for (const s of scenarios) {
    sum[s] = {}
    for (const d of drivers) {
      const all = results.filter((r) => r.db === db && r.scenario === s && r.driver === d)
      const ok = all.filter((r) => r.ok)
      const rates = ok.map((r) => r.rate)
      const rss = ok.map((r) => r.maxRSS_MB)
      sum[s][d] = {
        runs: all.length,
        ok: ok.length,
        median: rates.length ? median(rates) : null,
        min: rates.length ? Math.min(...rates) : null,
        max: rates.length ? Math.max(...rates) : null,
        rss: rss.length ? median(rss) : null,
        rssMin: rss.length ? Math.min(...rss) : null,
        rssMax: rss.length ? Math.max(...rss) : null,
        errors: [...new Set(all.filter((r) => !r.ok).map((r) => r.error))],
        types: (ok.find((r) => r.types) || {}).types,
        pinned: [...new Set(ok.map((r) => r.pinned).filter(Boolean))]
      }
    }
  }
  return sum
}

function cell (c) {
  if (!c.ok) return `**error**: ${c.errors[0] || 'no result'}`.replace(/\|/g, '\\|')
  let s = `${fmt(c.median)} (${fmt(c.min)}–${fmt(c.max)})`
  if (c.ok < c.runs) s += ` [${c.runs - c.ok}/${c.runs} failed: ${(c.errors[0] || '').replace(/\|/g, '\\|')}]`
  return s
}

// The ratio columns: uvsql (Node) against every peer, and uvsql (Bun) against Bun.SQL (Bun).
function ratioColumns (drivers) {
  const cols = []
  if (drivers.includes('uvsql')) {
    for (const p of drivers) if (p !== 'uvsql' && p !== 'uvsql-bun') cols.push(['uvsql', p])
  }
  if (drivers.includes('uvsql-bun') && drivers.includes('bunsql')) cols.push(['uvsql-bun', 'bunsql'])
  return cols
}

const ratio = (u, q) => u && q ? (u / q).toFixed(2) + '×' : '-'

function report (sum, db, drivers, scenarios, meta) {
  const L = []
  const ratios = ratioColumns(drivers)
  L.push(`## uvsql bench, ${DB_NAME[db]}: ${meta.date}`)
  L.push('')
  L.push(`${process.versions.bun ? 'Bun ' + process.versions.bun : 'Node ' + process.version}, ${os.cpus().length} vCPU (${os.cpus()[0] && os.cpus()[0].model.trim()}), ${db === 'pg' ? 'PostgreSQL ' : ''}${meta.serverVersion[db]}, ` +
    `${meta.runs} run(s), median (min–max) of the runs, each a fresh process, drivers interleaved. ` +
    `uvsql ${meta.uvsql}, ${DRIVERS[db].filter((d) => d !== 'uvsql' && d !== 'uvsql-bun').map((d) => `${driverName(d)} ${meta.versions[d] || '-'}`).join(', ')}.`)
  L.push('')
  const head = ['scenario', ...drivers.map(driverName), ...ratios.map(([u, p]) => `${driverName(u)} / ${driverName(p)}`)]
  L.push('| ' + head.join(' | ') + ' |')
  L.push('|' + head.map(() => '---').join('|') + '|')
  for (const s of scenarios) {
    const row = [`${s} ${SCENARIO_TEXT[db][s]}`]
    for (const d of drivers) row.push(cell(sum[s][d]))
    for (const [u, p] of ratios) row.push(ratio(sum[s][u].median, sum[s][p].median))
    L.push('| ' + row.join(' | ') + ' |')
  }
  if (scenarios.includes('S4')) {
    const row = ['S4 peak RSS (MB, child maxRSS)']
    for (const d of drivers) {
      const c = sum.S4[d]
      row.push(c.rss === null ? '-' : `${c.rss.toFixed(0)} (${c.rssMin.toFixed(0)}–${c.rssMax.toFixed(0)})`)
    }
    for (const [u, p] of ratios) row.push(ratio(sum.S4[u].rss, sum.S4[p].rss))
    L.push('| ' + row.join(' | ') + ' |')
  }
  if (scenarios.includes('S1')) {
    const pins = drivers.map((d) => `${d}: ${sum.S1[d].pinned.join(', ') || 'no'}`).join('; ')
    L.push('')
    L.push(`S1 pinning (client process and its server backend): ${meta.pin ? pins : 'off (pass --pin to pin S1 to one CPU)'}.`)
  }
  if (scenarios.includes('S4')) {
    L.push('')
    L.push('S4 JS types of the first row (typeof; Date/object by constructor):')
    L.push('')
    const cols = Object.keys((drivers.map((d) => sum.S4[d].types).find(Boolean)) || {})
    if (cols.length) {
      L.push('| driver | ' + cols.join(' | ') + ' |')
      L.push('|---|' + cols.map(() => '---').join('|') + '|')
      for (const d of drivers) {
        const t = sum.S4[d].types
        L.push(`| ${driverName(d)} | ` + cols.map((c) => t ? (t[c] || '-') : '-').join(' | ') + ' |')
      }
    } else {
      L.push('(no driver returned rows)')
    }
  }
  return L.join('\n') + '\n'
}

function uvsqlRevision () {
  const git = (args) => spawnSync('git', args, { cwd: path.join(__dirname, '..'), encoding: 'utf8' })
  const head = git(['rev-parse', '--short', 'HEAD'])
  if (head.status !== 0) return 'unknown revision'
  const dirty = git(['status', '--porcelain', '--', 'src', 'lib']).stdout.trim() !== ''
  return head.stdout.trim() + (dirty ? ' + uncommitted changes in src/ or lib/' : '')
}

function versionOf (name) {
  try { return JSON.parse(fs.readFileSync(path.join(__dirname, '..', 'node_modules', name, 'package.json'), 'utf8')).version } catch { return null }
}

// ------------------------------------------------------------------ main

// The Markdown report (stdout), the chart and the JSON of a run, or of a saved one (--from).
function publish (args, results, meta) {
  const sum = {}
  const out = []
  for (const db of args.dbs) {
    sum[db] = summarize(results, db, args.driversOf[db], args.scenarios)
    out.push(report(sum[db], db, args.driversOf[db], args.scenarios, meta))
  }
  process.stdout.write(out.join('\n'))
  if (args.chart) {
    const caption = `${meta.date}, ${meta.cpus} vCPU, median of ${meta.runs} run(s), uvsql ${meta.uvsql}; uvsql = under Node ${meta.node}`
    fs.mkdirSync(path.dirname(args.chart), { recursive: true })
    fs.writeFileSync(args.chart, renderChart({ sumByDb: sum, driversOf: args.driversOf, scenarios: args.scenarios, dbName: DB_NAME, driverName, caption }))
    say(`chart written to ${args.chart}`)
  }
  if (args.json) {
    fs.writeFileSync(args.json, JSON.stringify({ meta, summary: sum, results }, null, 2) + '\n')
    say(`raw results written to ${args.json}`)
  }
}

// --from: a saved run's drivers, protocols and scenarios, as they were measured.
function republish (args) {
  const saved = JSON.parse(fs.readFileSync(args.from, 'utf8'))
  const seen = (key) => [...new Set(saved.results.map((r) => r[key]))]
  args.dbs = ALL_DBS.filter((db) => seen('db').includes(db))
  args.scenarios = ALL_SCENARIOS.filter((s) => seen('scenario').includes(s))
  args.driversOf = Object.fromEntries(args.dbs.map((db) => [db, DRIVERS[db].filter((d) => saved.results.some((r) => r.db === db && r.driver === d))]))
  args.json = null
  publish(args, saved.results, saved.meta)
}

async function main () {
  const args = parseArgs(process.argv.slice(2))
  if (args.from) return republish(args)
  let servers = null
  const urls = { ...args.urls }
  const stopServers = async () => {
    if (servers) {
      const s = servers
      servers = null
      say('stopping the throwaway servers')
      await s.stop()
    }
  }
  for (const sig of ['SIGINT', 'SIGTERM']) {
    process.once(sig, () => { stopServers().finally(() => process.exit(130)) })
  }
  const t0 = Date.now()
  try {
    if (args.dbs.some((db) => !urls[db])) {
      say('starting throwaway PostgreSQL and MariaDB (test/helpers/servers.js)...')
      const { startServers } = require('../test/helpers/servers.js')
      servers = await startServers()
      urls.pg = urls.pg || servers.env.UVSQL_TEST_PG_URL
      urls.mysql = urls.mysql || servers.env.UVSQL_TEST_MYSQL_URL
      say(`servers up in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    }
    const serverVersion = {}
    for (const db of args.dbs) serverVersion[db] = await prepare[db](urls[db])

    let pinCpu = null
    if (args.pin && args.scenarios.includes('S1')) {
      const ok = spawnSync('taskset', ['-c', '0', 'true']).status === 0
      if (ok) pinCpu = os.cpus().length > 1 ? 1 : 0
      else say('taskset not available: S1 runs unpinned')
    }

    // Runs outermost, so that a slow spell of a shared machine hits every protocol alike.
    const results = []
    const total = args.runs * args.scenarios.length * args.dbs.reduce((n, db) => n + args.driversOf[db].length, 0)
    let done = 0
    for (let run = 0; run < args.runs; run++) {
      for (const db of args.dbs) {
        const drivers = args.driversOf[db]
        for (let si = 0; si < args.scenarios.length; si++) {
          const s = args.scenarios[si]
          const order = drivers.map((_, i) => drivers[(i + run + si) % drivers.length])
          for (const d of order) {
            const r = await runChild(db, d, s, urls[db], { pinCpu, timeout: args.timeout })
            r.run = run + 1
            results.push(r)
            done++
            say(`${done}/${total} run ${run + 1} ${db} ${s} ${d}: ${r.ok ? fmt(r.rate) + ' ' + r.unit + (s === 'S4' ? `, maxRSS ${r.maxRSS_MB.toFixed(0)} MB` : '') : 'ERROR ' + r.error}`)
          }
        }
      }
    }
    const meta = {
      date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      serverVersion,
      runs: args.runs,
      pin: args.pin,
      versions: { ...Object.fromEntries(['postgres', 'pg', 'mysql2', 'mariadb'].map((d) => [d, versionOf(d)])), 'pg-pipeline': versionOf('pg'), bunsql: versionOf('bun') },
      uvsql: uvsqlRevision()
    }
    publish(args, results, { ...meta, node: process.version, cpus: os.cpus().length })
    say(`total ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  } finally {
    await stopServers()
  }
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`[bench] failed: ${err && err.stack ? err.stack : err}\n${err && err.logTail ? err.logTail + '\n' : ''}`)
  process.exit(1)
})
