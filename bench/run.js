#!/usr/bin/env node
'use strict'
// uvsql against postgres.js and pg on scenarios S1-S5 (see bench/README.md).
//
//   node bench/run.js [--scenarios S1,S4] [--runs 3] [--drivers uvsql,postgres,pg]
//                     [--url postgres://...] [--json out.json] [--pin] [--timeout 180]
//
// Without --url / DATABASE_URL it starts a throwaway PostgreSQL 15 (test/helpers/servers.js)
// and stops it at the end. Every measurement is a fresh `node bench/worker.js <driver>
// <scenario>` process; drivers are interleaved and their order rotates every run. Prints a
// Markdown report on stdout (progress goes to stderr).

const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

const ALL_SCENARIOS = ['S1', 'S2', 'S3', 'S4', 'S5']
const ALL_DRIVERS = ['uvsql', 'postgres', 'pg']
const WIDE_ROWS = Number(process.env.BENCH_S4_ROWS || 200000)

const SCENARIO_TEXT = {
  S1: '20k × `select 1`, one at a time, pool max 1 (q/s)',
  S2: '100k × `select $1::int`, 256 in flight, pool max 10 (q/s)',
  S3: '50k × `select $1::int` all issued at once, pool max 1 (q/s)',
  S4: `one query, ${WIDE_ROWS / 1000}k rows × 8 cols from bench_wide (rows/s)`,
  S5: '100 × INSERT of 1000 rows × 4 cols (4000 params), one at a time, pool max 1 (rows/s)'
}

function parseArgs (argv) {
  const a = { scenarios: ALL_SCENARIOS, drivers: ALL_DRIVERS, runs: 3, url: process.env.DATABASE_URL || null, json: null, pin: false, timeout: 180 }
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]
    const v = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`)
      return argv[++i]
    }
    if (k === '--scenarios') a.scenarios = v().split(',').map((s) => s.trim().toUpperCase()).filter(Boolean)
    else if (k === '--drivers') a.drivers = v().split(',').map((s) => s.trim()).filter(Boolean)
    else if (k === '--runs') a.runs = Number(v())
    else if (k === '--url') a.url = v()
    else if (k === '--json') a.json = v()
    else if (k === '--timeout') a.timeout = Number(v())
    else if (k === '--pin') a.pin = true
    else if (k === '--no-pin') a.pin = false
    else if (k === '-h' || k === '--help') {
      process.stdout.write(fs.readFileSync(__filename, 'utf8').split('\n').slice(2, 12).map((l) => l.replace(/^\/\/ ?/, '')).join('\n') + '\n')
      process.exit(0)
    } else throw new Error(`unknown argument ${k}`)
  }
  for (const s of a.scenarios) if (!ALL_SCENARIOS.includes(s)) throw new Error(`unknown scenario ${s}`)
  for (const d of a.drivers) if (!ALL_DRIVERS.includes(d)) throw new Error(`unknown driver ${d}`)
  if (!(a.runs >= 1)) throw new Error('--runs must be >= 1')
  return a
}

const say = (m) => process.stderr.write(`[bench] ${m}\n`)

// ------------------------------------------------------------------ setup (with pg)

async function prepare (url) {
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

// ------------------------------------------------------------------ children

function runChild (driver, scenario, url, opts) {
  return new Promise((resolve) => {
    const worker = path.join(__dirname, 'worker.js')
    const env = { ...process.env, BENCH_URL: url }
    let cmd = process.execPath
    let args = [...(process.env.BENCH_NODE_ARGS ? process.env.BENCH_NODE_ARGS.split(' ').filter(Boolean) : []), worker, driver, scenario]
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
        try { return resolve(JSON.parse(line)) } catch {}
      }
      const why = signal === 'SIGKILL' ? `timeout after ${opts.timeout} s` : `exit ${signal || code}`
      const tail = err.trim().split('\n').filter(Boolean).slice(-1)[0] || ''
      resolve({ driver, scenario, ok: false, error: `${why}${tail ? ': ' + tail : ''}` })
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

function summarize (results, drivers, scenarios) {
  const sum = {}
  for (const s of scenarios) {
    sum[s] = {}
    for (const d of drivers) {
      const all = results.filter((r) => r.scenario === s && r.driver === d)
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

function report (sum, drivers, scenarios, meta) {
  const L = []
  const peers = drivers.filter((d) => d !== 'uvsql')
  const hasU = drivers.includes('uvsql')
  L.push(`## uvsql bench: ${meta.date}`)
  L.push('')
  L.push(`${process.versions.bun ? 'Bun ' + process.versions.bun : 'Node ' + process.version}, ${os.cpus().length} vCPU (${os.cpus()[0] && os.cpus()[0].model.trim()}), PostgreSQL ${meta.pgVersion}, ` +
    `${meta.runs} run(s), median (min–max) of the runs, each a fresh process, drivers interleaved. ` +
    `uvsql ${meta.uvsql}, postgres.js ${meta.versions.postgres || '-'}, pg ${meta.versions.pg || '-'}.`)
  L.push('')
  const head = ['scenario', ...drivers.map((d) => d === 'postgres' ? 'postgres.js' : d), ...(hasU ? peers.map((p) => `uvsql / ${p === 'postgres' ? 'postgres.js' : p}`) : [])]
  L.push('| ' + head.join(' | ') + ' |')
  L.push('|' + head.map(() => '---').join('|') + '|')
  for (const s of scenarios) {
    const row = [`${s} ${SCENARIO_TEXT[s]}`]
    for (const d of drivers) row.push(cell(sum[s][d]))
    if (hasU) {
      for (const p of peers) {
        const u = sum[s].uvsql.median
        const q = sum[s][p].median
        row.push(u && q ? (u / q).toFixed(2) + '×' : '-')
      }
    }
    L.push('| ' + row.join(' | ') + ' |')
  }
  if (scenarios.includes('S4')) {
    const row = ['S4 peak RSS (MB, child maxRSS)']
    for (const d of drivers) {
      const c = sum.S4[d]
      row.push(c.rss === null ? '-' : `${c.rss.toFixed(0)} (${c.rssMin.toFixed(0)}–${c.rssMax.toFixed(0)})`)
    }
    if (hasU) {
      for (const p of peers) {
        const u = sum.S4.uvsql.rss
        const q = sum.S4[p].rss
        row.push(u && q ? (u / q).toFixed(2) + '×' : '-')
      }
    }
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
        L.push(`| ${d === 'postgres' ? 'postgres.js' : d} | ` + cols.map((c) => t ? (t[c] || '-') : '-').join(' | ') + ' |')
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

async function main () {
  const args = parseArgs(process.argv.slice(2))
  let servers = null
  let url = args.url
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
    if (!url) {
      say('starting throwaway PostgreSQL (test/helpers/servers.js)...')
      const { startServers } = require('../test/helpers/servers.js')
      servers = await startServers()
      url = servers.env.UVSQL_TEST_PG_URL
      say(`servers up in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
    }
    const pgVersion = await prepare(url)

    let pinCpu = null
    if (args.pin && args.scenarios.includes('S1')) {
      const ok = spawnSync('taskset', ['-c', '0', 'true']).status === 0
      if (ok) pinCpu = os.cpus().length > 1 ? 1 : 0
      else say('taskset not available: S1 runs unpinned')
    }

    const results = []
    const total = args.runs * args.scenarios.length * args.drivers.length
    let done = 0
    for (let run = 0; run < args.runs; run++) {
      for (let si = 0; si < args.scenarios.length; si++) {
        const s = args.scenarios[si]
        const n = args.drivers.length
        const order = args.drivers.map((_, i) => args.drivers[(i + run + si) % n])
        for (const d of order) {
          const r = await runChild(d, s, url, { pinCpu, timeout: args.timeout })
          r.run = run + 1
          results.push(r)
          done++
          say(`${done}/${total} run ${run + 1} ${s} ${d}: ${r.ok ? fmt(r.rate) + ' ' + r.unit + (s === 'S4' ? `, maxRSS ${r.maxRSS_MB.toFixed(0)} MB` : '') : 'ERROR ' + r.error}`)
        }
      }
    }
    const meta = {
      date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
      pgVersion,
      runs: args.runs,
      pin: args.pin,
      versions: { postgres: versionOf('postgres'), pg: versionOf('pg') },
      uvsql: uvsqlRevision()
    }
    const sum = summarize(results, args.drivers, args.scenarios)
    process.stdout.write(report(sum, args.drivers, args.scenarios, meta))
    if (args.json) {
      fs.writeFileSync(args.json, JSON.stringify({ meta: { ...meta, node: process.version, cpus: os.cpus().length }, summary: sum, results }, null, 2) + '\n')
      say(`raw results written to ${args.json}`)
    }
    say(`total ${((Date.now() - t0) / 1000).toFixed(0)} s`)
  } finally {
    await stopServers()
  }
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(`[bench] failed: ${err && err.stack ? err.stack : err}\n${err && err.logTail ? err.logTail + '\n' : ''}`)
  process.exit(1)
})
