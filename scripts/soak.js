#!/usr/bin/env node
// Soak test (`npm run soak`; RELIABILITY.md F24, issue 9): a long run of mixed operations on both
// protocols with faults injected, watching memory, file descriptors and the pools' native
// counters.
//
//   node scripts/soak.js                       # 1,000,000 operations (the full run)
//   node scripts/soak.js --ops 150000          # the CI run (about 2-3 minutes)
//   node scripts/soak.js --ops N --concurrency 32 --faults 20 --json out.json
//
// 1. Starts the throwaway PostgreSQL and MariaDB (test/helpers/servers.js) unless UVSQL_TEST_*
//    is already set (e.g. inside `node test/run.js --servers-only`).
// 2. Puts a fault proxy in front of each server and opens one pool per protocol through it
//    (max 8, application_name uvsql-soak on PostgreSQL).
// 3. `concurrency` workers run operations until `ops` are done, half on each protocol:
//    60% extended queries with a parameter (the row must echo the worker's own value: a
//    response delivered to the wrong query fails the run), 20% simple-protocol text queries
//    (sql.unsafe), 8% server errors (division by zero / unknown table: the right code), 8%
//    transactions (sql.begin with two statements), 4% cancels of a running sleep.
// 4. `faults` times during the run (evenly spaced), in turn: pg_terminate_backend of every soak
//    backend plus KILL of every MariaDB soak connection (server-side kills); the proxy resets
//    every connection (network kill); the proxy stops forwarding for 300 ms (a stall).
//    Operations that fail around a fault must fail with a clean ERR_POSTGRES_* / ERR_MYSQL_*
//    error; any other error (or an internal-state message) fails the run.
// 5. Every 1% of the run: gc, then samples RSS, V8 external memory and array buffers, open fds,
//    active handles and both pools' sql._stats(). Warm-up is the first 20% (at most 100k ops).
// 6. Verdict: fails when RSS after warm-up drifts by more than 8 MiB (median of the last three
//    samples against the median of the first three from the middle of the run on, or after
//    warm-up if that is later: on a short run V8 still grows its heap once, in a step, during
//    the first half, which is not a leak; a leak keeps growing), when a pool's counters are
//    inconsistent once idle (bad transitions, waiters, busy slots, opened - closed != live),
//    when close() does not leave the pool with no native state, or when the open fds and active
//    handles do not return to their baseline after close(). Prints a summary, writes it to
//    .tmp/soak/last.json (and --json), exits 0 or 1.
'use strict'

const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')
const v8 = require('node:v8')
const vm = require('node:vm')
const { performance } = require('node:perf_hooks')

const ROOT = path.join(__dirname, '..')
const say = (msg) => process.stderr.write(`[soak] ${msg}\n`)
const MiB = 1 << 20
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

v8.setFlagsFromString('--expose-gc')
const gc = vm.runInNewContext('gc')

function args() {
  const a = { ops: 1_000_000, concurrency: 32, faults: 20, json: null, driftMiB: 8 }
  const argv = process.argv.slice(2)
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i].replace(/^--/, '')
    if (k === 'help' || k === 'h') {
      console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 33).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'))
      process.exit(0)
    }
    if (!(k in a)) throw new Error(`unknown option --${k}`)
    a[k] = k === 'json' ? argv[++i] : Number(argv[++i])
  }
  return a
}

// ---- the fault proxy -------------------------------------------------------------------------

async function faultProxy(port) {
  const pairs = new Set()
  let stalled = false
  const held = []
  const server = net.createServer((client) => {
    const upstream = net.connect({ host: '127.0.0.1', port })
    const pair = { client, upstream }
    pairs.add(pair)
    const forward = (from, to) => from.on('data', (d) => (stalled ? held.push([to, d]) : to.write(d)))
    forward(client, upstream)
    forward(upstream, client)
    const drop = () => { pairs.delete(pair); client.destroy(); upstream.destroy() }
    for (const s of [client, upstream]) {
      s.setNoDelay(true)
      s.on('error', drop)
      s.on('close', drop)
    }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    port: server.address().port,
    connections: () => pairs.size,
    reset() { // every connection closed at once, both ways (a network kill)
      // RST to the client. Not after the socket has ended: node 20's resetAndDestroy() on a
      // socket with a shutdown in progress fails (uv_tcp_close_reset: EINVAL), never closes the
      // handle, leaks its fd and makes the process spin at exit (found by this soak).
      for (const { client, upstream } of pairs) {
        if (client.writableEnded || client.readableEnded) client.destroy()
        else client.resetAndDestroy()
        upstream.destroy()
      }
    },
    async stall(ms) { // stop forwarding both ways, then deliver what was held, in order
      stalled = true
      await sleep(ms)
      stalled = false
      for (const [to, d] of held.splice(0)) if (!to.destroyed) to.write(d)
    },
    close: () => new Promise((resolve) => {
      for (const { client, upstream } of pairs) { client.destroy(); upstream.destroy() }
      server.close(() => resolve())
    }),
  }
}

// ---- samples ---------------------------------------------------------------------------------

const fdCount = () => { try { return fs.readdirSync('/proc/self/fd').length } catch { return -1 } }
// What each open fd is (socket:[inode], pipe:[...], a path), for the report when fds leak.
const fdList = () => {
  try {
    return fs.readdirSync('/proc/self/fd').map((fd) => { try { return `${fd}=${fs.readlinkSync(`/proc/self/fd/${fd}`)}` } catch { return `${fd}=?` } })
  } catch { return [] }
}
const activeCount = () => (process.getActiveResourcesInfo ? process.getActiveResourcesInfo().filter((r) => r !== 'Timeout').length : -1)
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]

function sample(done, pools, t0) {
  gc()
  const m = process.memoryUsage()
  return {
    ops: done, s: +((performance.now() - t0) / 1000).toFixed(1), rssMiB: +(m.rss / MiB).toFixed(1),
    externalMiB: +(m.external / MiB).toFixed(2), arrayBuffersMiB: +(m.arrayBuffers / MiB).toFixed(2),
    heapMiB: +(m.heapUsed / MiB).toFixed(1), fds: fdCount(), active: activeCount(),
    pg: pools.pg._stats(), my: pools.my._stats(),
  }
}

// ---- main ------------------------------------------------------------------------------------

async function main() {
  const opt = args()
  let servers = null
  if (!process.env.UVSQL_TEST_PG_URL || !process.env.UVSQL_TEST_MYSQL_URL) {
    say('starting PostgreSQL and MariaDB')
    servers = await require('../test/helpers/servers.js').startServers()
    Object.assign(process.env, servers.env)
  }
  const wedge = require('../test/helpers/wedge.js')
  const { SQL } = require('..')
  const env = require('../test/helpers/env.js')

  const baseFds = fdCount()
  const baseFdList = fdList()
  const baseActive = activeCount()
  const pgUrl = new URL(env.pg.scram)
  const myUrl = new URL(env.mysql.url)
  const pgProxy = await faultProxy(Number(pgUrl.port))
  const myProxy = await faultProxy(Number(myUrl.port))
  pgUrl.host = `127.0.0.1:${pgProxy.port}`
  myUrl.host = `127.0.0.1:${myProxy.port}`
  const pools = {
    pg: new SQL(pgUrl.toString(), { max: 8, connection: { application_name: 'uvsql-soak' } }),
    my: new SQL(myUrl.toString(), { max: 8 }),
  }
  const adminPg = new SQL(env.pg.admin, { max: 1 })
  const adminMy = new SQL(env.mysql.url, { max: 1 })

  const counts = { ok: 0, serverError: 0, cancelled: 0, faultError: 0, cancelHitOther: 0, byKind: {} }
  const codes = {}
  const problems = []
  const problem = (msg) => { if (problems.length < 20) problems.push(msg); if (problems.length === 1) say(`PROBLEM: ${msg}`) }

  const KINDS = [['ext', 60], ['simple', 20], ['error', 8], ['tx', 8], ['cancel', 4]]
  const pickKind = (i) => {
    let r = (i * 7919) % 100
    for (const [k, w] of KINDS) { if (r < w) return k; r -= w }
    return 'ext'
  }

  async function op(i) {
    const which = i & 1 ? 'my' : 'pg'
    const sql = pools[which]
    const kind = pickKind(i >> 1)
    const v = (i * 2654435761) % 2147483647
    try {
      switch (kind) {
        case 'ext': {
          const rows = which === 'pg' ? await sql`select ${v}::int as x` : await sql`select ${v} as x`
          if (Number(rows[0].x) !== v) problem(`${which} ext: got ${rows[0].x} for ${v} (response to the wrong query)`)
          break
        }
        case 'simple': {
          const rows = await sql.unsafe(`select ${v} as x`)
          if (Number(rows[0].x) !== v) problem(`${which} simple: got ${rows[0].x} for ${v}`)
          break
        }
        case 'error': {
          const e = await (which === 'pg' ? sql`select 1 / ${0}::int as x` : sql`select * from uvsql_soak_no_such_table`).then(() => null, (err) => err)
          if (e === null) { problem(`${which} error: the query succeeded`); break }
          wedge.assertCleanError(e, `${which} error op: `)
          const want = which === 'pg' ? e.errno === '22012' : e.errno === 1146
          if (want) { counts.serverError++; counts.byKind[kind] = (counts.byKind[kind] || 0) + 1; return }
          throw e
        }
        case 'tx': {
          const got = await sql.begin(async (tx) => {
            const [a] = which === 'pg' ? await tx`select ${v}::int as x` : await tx`select ${v} as x`
            await tx.unsafe('select 1')
            return Number(a.x)
          })
          if (got !== v) problem(`${which} tx: got ${got} for ${v}`)
          break
        }
        case 'cancel': {
          const q = which === 'pg' ? sql`select pg_sleep(0.05)` : sql`select sleep(0.05)`
          q.execute()
          setTimeout(() => q.cancel(), 5 + (i % 10))
          const e = await q.then(() => null, (err) => err)
          if (e === null) break // finished before the cancel: fine
          wedge.assertCleanError(e, `${which} cancel op: `)
          if (/CANCELLED/.test(e.code) || e.errno === '57014' || e.errno === 1317) { counts.cancelled++; return }
          throw e
        }
      }
      counts.ok++
      counts.byKind[kind] = (counts.byKind[kind] || 0) + 1
    } catch (e) {
      try {
        wedge.assertCleanError(e, `${which} ${kind}: `)
      } catch (bad) {
        problem(bad.message)
      }
      if (e.errno === '57014' || e.errno === 1317) {
        // Cancelled, yet this operation never asked for it: a late CancelRequest / KILL QUERY
        // meant for the previous query on that connection (RELIABILITY.md F15). The pool holds
        // a connection until its cancel is resolved and runs a pipelined query hit by a late
        // cancel once more (pool_cancel.c), so none of the soak's operations may see one.
        counts.cancelHitOther++
        problem(`${which} ${kind}: cancelled by a cancel meant for another query (${e.errno})`)
      }
      counts.faultError++
      codes[e.code + (e.errno ? `/${e.errno}` : '')] = (codes[e.code + (e.errno ? `/${e.errno}` : '')] || 0) + 1
    }
  }

  const FAULTS = ['server-kill', 'network-reset', 'stall']
  let faultNo = 0
  async function fault() {
    const kind = FAULTS[faultNo++ % FAULTS.length]
    if (kind === 'server-kill') {
      await adminPg`select count(pg_terminate_backend(pid)) from pg_stat_activity where application_name = 'uvsql-soak'`.catch((e) => problem(`admin pg: ${e.message}`))
      const ids = await adminMy`select id from information_schema.processlist where id <> connection_id() and user = current_user() and command <> 'Daemon'`.catch((e) => { problem(`admin my: ${e.message}`); return [] })
      for (const { id } of ids) await adminMy.unsafe(`kill ${Number(id)}`).catch(() => {}) // gone already: fine
    } else if (kind === 'network-reset') {
      pgProxy.reset()
      myProxy.reset()
    } else {
      await Promise.all([pgProxy.stall(300), myProxy.stall(300)])
    }
    return kind
  }

  const warmup = Math.min(100_000, Math.floor(opt.ops * 0.2))
  const every = Math.max(1000, Math.floor(opt.ops / 100))
  const faultEvery = opt.faults > 0 ? Math.floor(opt.ops / (opt.faults + 1)) : Infinity
  const samples = []
  const faultsDone = []
  let next = 0
  let done = 0
  let nextSample = 0
  let nextFault = faultEvery
  let faulting = null
  const t0 = performance.now()
  samples.push(sample(0, pools, t0))
  say(`${opt.ops} operations, ${opt.concurrency} in flight, ${opt.faults} faults, samples every ${every}, warm-up ${warmup}`)

  // Watchdog: a soak that stops making progress is a wedge, not a slow run. Every 10 s without
  // a finished operation prints both pools' counters; after 120 s the run fails.
  let lastDone = -1
  let stuckSince = performance.now()
  const watchdog = setInterval(() => {
    if (done !== lastDone) { lastDone = done; stuckSince = performance.now(); return }
    const secs = (performance.now() - stuckSince) / 1000
    say(`no progress for ${secs.toFixed(0)} s at ${done} ops (next ${next}, fault ${faulting ? 'running' : 'idle'}): ` +
      `pg ${JSON.stringify(pools.pg._stats())} my ${JSON.stringify(pools.my._stats())}`)
    if (secs >= 120) {
      problem(`wedged: no operation finished for ${secs.toFixed(0)} s at ${done} of ${opt.ops}`)
      console.log(`FAILED:\n  ${problems.join('\n  ')}`)
      process.exit(1)
    }
  }, 10_000)

  async function worker() {
    while (next < opt.ops) {
      const i = next++
      await op(i)
      done++
      if (done >= nextFault && faulting === null && faultNo < opt.faults) {
        nextFault += faultEvery
        const at = done
        faulting = fault().then((k) => { faultsDone.push({ at, kind: k }); faulting = null })
      }
      if (done >= nextSample + every) {
        nextSample = done - (done % every)
        const s = sample(done, pools, t0)
        samples.push(s)
        if (samples.length % 10 === 0) say(`${done} ops, ${s.s} s, rss ${s.rssMiB} MiB, external ${s.externalMiB} MiB, fds ${s.fds}`)
      }
    }
  }
  await Promise.all(Array.from({ length: opt.concurrency }, worker))
  if (faulting) await faulting
  clearInterval(watchdog)
  const elapsed = (performance.now() - t0) / 1000
  samples.push(sample(done, pools, t0))

  // ---- verdict -------------------------------------------------------------------------------
  const after = samples.filter((s) => s.ops >= warmup)
  const first = samples.filter((s) => s.ops >= Math.max(warmup, Math.floor(opt.ops / 2))).slice(0, 3).map((s) => s.rssMiB)
  const last = after.slice(-3).map((s) => s.rssMiB)
  const drift = first.length && last.length ? +(median(last) - median(first)).toFixed(1) : 0
  if (drift > opt.driftMiB) problem(`RSS drifted ${drift} MiB after warm-up (limit ${opt.driftMiB})`)
  const ext = +(median(after.slice(-3).map((s) => s.externalMiB)) - median(after.slice(0, 3).map((s) => s.externalMiB))).toFixed(2)
  const rate = (a, b) => (b.ops - a.ops) / Math.max(0.001, b.s - a.s)
  const firstTenth = samples.find((s) => s.ops >= Math.min(100_000, opt.ops / 10)) || samples[samples.length - 1]
  const throughput = { first: Math.round(rate(samples[0], firstTenth)), overall: Math.round(done / elapsed) }

  const counters = {}
  for (const [name, sql] of Object.entries(pools)) {
    try {
      await wedge.quiesce(sql, 5000)
      // The next query succeeds, after at most one connection-level failure (a connection
      // killed by the last fault may still look idle until its FIN is read).
      await wedge.healthy(sql).catch(async (e) => {
        wedge.assertCleanError(e, `${name} first query after the run: `)
        await wedge.healthy(sql)
      })
      const s = wedge.assertStatsConsistent(sql)
      if (s && s.opened - s.closed !== s.live) problem(`${name}: opened ${s.opened} - closed ${s.closed} != live ${s.live}`)
      counters[name] = s
      const cost = await wedge.closeBounded(sql, { ms: 2000, cpuMs: 200 })
      counters[name + 'Close'] = cost
      const gone = sql._stats()
      if (gone !== null && ((gone.live || 0) !== 0 || (gone.waiting || 0) !== 0)) problem(`${name}: native state left after close: ${JSON.stringify(gone)}`)
    } catch (e) {
      problem(`${name} pool: ${e.message}`)
    }
  }
  await adminPg.close()
  await adminMy.close()
  await pgProxy.close()
  await myProxy.close()
  let fds = -1
  let active = -1
  for (let k = 0; k < 50; k++) { // sockets close asynchronously
    await sleep(20)
    fds = fdCount()
    active = activeCount()
    if (fds <= baseFds && active <= baseActive) break
  }
  if (fds > baseFds) {
    const extra = fdList().filter((x) => !baseFdList.includes(x))
    problem(`open fds ${fds} after close, baseline ${baseFds}: ${extra.join(' ')}`)
  }
  if (active > baseActive) problem(`active handles ${active} after close, baseline ${baseActive}: ${process.getActiveResourcesInfo().join(',')}`)

  const summary = {
    date: new Date().toISOString(), ops: done, seconds: +elapsed.toFixed(1), concurrency: opt.concurrency,
    opsPerSec: throughput, counts, errorCodes: codes, faults: faultsDone.length,
    faultKinds: faultsDone.reduce((m, f) => ({ ...m, [f.kind]: (m[f.kind] || 0) + 1 }), {}),
    warmupOps: warmup, rssDriftMiB: drift, externalDriftMiB: ext,
    rss: { start: samples[0].rssMiB, reference: median(first), end: median(last), max: Math.max(...samples.map((s) => s.rssMiB)) },
    fds: { baseline: baseFds, end: fds, maxDuring: Math.max(...samples.map((s) => s.fds)) },
    active: { baseline: baseActive, end: active },
    pools: counters, problems, samples,
  }
  const out = path.join(ROOT, '.tmp', 'soak')
  fs.mkdirSync(out, { recursive: true })
  fs.writeFileSync(path.join(out, 'last.json'), JSON.stringify(summary, null, 1))
  if (opt.json) fs.writeFileSync(opt.json, JSON.stringify(summary, null, 1))
  console.log(`\nsoak: ${done} ops in ${summary.seconds} s (${throughput.overall}/s; first ${Math.min(100_000, opt.ops / 10)}: ${throughput.first}/s), ` +
    `${faultsDone.length} faults (${Object.entries(summary.faultKinds).map(([k, n]) => `${n} ${k}`).join(', ')})`)
  console.log(`  ok ${counts.ok}, expected server errors ${counts.serverError}, cancelled ${counts.cancelled}, failed around faults ${counts.faultError} ${JSON.stringify(codes)}; ` +
    `cancels that hit another query ${counts.cancelHitOther}`)
  console.log(`  RSS ${summary.rss.start} -> ${summary.rss.reference} (reference, from mid-run) -> ${summary.rss.end} MiB: drift ${drift} MiB (limit ${opt.driftMiB}); external drift ${ext} MiB`)
  console.log(`  fds ${baseFds} -> max ${summary.fds.maxDuring} -> ${fds} after close; active handles ${baseActive} -> ${active}`)
  for (const name of ['pg', 'my']) {
    const s = counters[name]
    if (s) console.log(`  ${name}: opened ${s.opened}, closed ${s.closed}, live ${s.live}, queries ${s.queries}, retries ${s.retries}, stale events ${s.staleEvents}, bad transitions ${s.badTransitions}; close ${Math.round(counters[name + 'Close']?.ms ?? -1)} ms`)
  }
  console.log(problems.length ? `FAILED:\n  ${problems.join('\n  ')}` : 'passed')
  if (servers) await Promise.race([servers.stop().catch(() => {}), sleep(5000)])
  return problems.length ? 1 : 0
}

main().then((rc) => { process.exitCode = rc }, (err) => { say(err.stack); process.exitCode = 2 })
