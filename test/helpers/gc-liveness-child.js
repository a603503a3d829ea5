'use strict'
// Child process of test/pool/liveness.test.js: ONE scenario per process, because what it checks
// is the process itself. Each scenario awaits work whose only keep-alive is the library's
// (nothing of the script's own is pending), so the loop may empty only when it is all done:
// it prints `done <json>` at the end, and the parent checks that the line came (the process did
// not exit with a promise pending) and that the process then exited by itself (no forgotten
// handle kept it alive). With UVSQL_GC=1 it also collects garbage at the points where the work
// is unreachable but for the library (gc() under --expose-gc, Bun.gc under Bun).
// argv[2]: the scenario; UVSQL_URL: the server; UVSQL_ROOT: the package.

const { SQL } = require(process.env.UVSQL_ROOT)

const url = process.env.UVSQL_URL
const my = url.startsWith('mysql')
const collect = process.env.UVSQL_GC !== '1' ? () => {}
  : typeof globalThis.gc === 'function' ? () => globalThis.gc() : () => Bun.gc(true)
const sleepSql = (sql, s) => (my ? sql`select sleep(${s}) as z` : sql`select pg_sleep(${s})::text as z`)
const idQuery = (sql) => (my ? sql`select connection_id() as id` : sql`select pg_backend_pid() as id`)
// Collections while the caller awaits: unref'd, so they never keep the process alive.
function collectWhile(ms) {
  const t = setInterval(collect, ms)
  t.unref()
  return t
}

const scenarios = {
  // The SQL instance is the awaited work's only holder in each of these (no local keeps it).
  async close() {
    const sql = new SQL(url, { max: 2 })
    await idQuery(sql)
    setImmediate(collect).unref()
    await sql.close()
  },
  async closeRunning() {
    const sql = new SQL(url, { max: 2 })
    const running = sleepSql(sql, 0.3).then(() => 'ran')
    collectWhile(20)
    await sql.close()
    return { running: await running }
  },
  async closeNow() {
    const sql = new SQL(url, { max: 2 })
    await idQuery(sql)
    const running = sleepSql(sql, 0.3).then(() => 'ran', (e) => e.code)
    collectWhile(20)
    await sql.close({ timeout: 0 })
    return { running: await running }
  },
  async reserved() {
    const reserved = await new SQL(url, { max: 2 }).reserve()
    collectWhile(20)
    await sleepSql(reserved, 0.3)
    reserved.release()
  },
  async reservedClose() {
    const reserved = await new SQL(url, { max: 2 }).reserve()
    collectWhile(20)
    await sleepSql(reserved, 0.2)
    await reserved.close()
  },
  async transaction() {
    collectWhile(20)
    return { x: await new SQL(url, { max: 1 }).begin(async (tx) => {
      await sleepSql(tx, 0.2)
      return tx.savepoint(async (sp) => { await sleepSql(sp, 0.1); return 3 })
    }) }
  },
  async txClose() {
    collectWhile(20)
    const err = await new SQL(url, { max: 1 }).begin(async (tx) => {
      const running = sleepSql(tx, 0.3).catch((e) => e.code)
      await new Promise((resolve) => setTimeout(resolve, 50))
      await tx.close({ timeout: 0 })
      await running
    }).catch((e) => e.code)
    return { err }
  },
  // A reserve() waiting for the pool's only connection, held by a forgotten reserved handle:
  // the collection releases it (lib/sql.js forgottenLeases) and the waiter gets it.
  async waitForForgotten() {
    const sql = new SQL(url, { max: 1 })
    await (async () => { await sql.reserve() })()
    const waiter = sql.reserve()
    const t = setInterval(() => collect(), 20)
    const r = await waiter
    clearInterval(t)
    r.release()
    await sql.close()
  },
  // A query that waits for the pool's only connection, reserved and idle, made right where
  // reserve() resolves (inside C's callback that delivered the lease): only the pool keeps the
  // process alive until the release (an unref'd timer) lets the query run.
  async waiterKeepsAlive() {
    const sql = new SQL(url, { max: 1 })
    await idQuery(sql)
    // Served when the running query ends: the lease comes in C's read callback.
    const running = sleepSql(sql, 0.05)
    const reserved = await sql.reserve()
    const waiting = idQuery(sql).then((rows) => rows.length)
    setTimeout(() => reserved.release(), 200).unref()
    await running
    const rows = await waiting
    await sql.close()
    return { rows }
  },
  // The same with the waiter made on a later turn of the loop, outside any callback of C.
  async waiterKeepsAliveLater() {
    const sql = new SQL(url, { max: 1 })
    const reserved = await sql.reserve()
    await new Promise((resolve) => setTimeout(resolve, 10))
    const waiting = idQuery(sql).then((rows) => rows.length)
    setTimeout(() => reserved.release(), 200).unref()
    const rows = await waiting
    await sql.close()
    return { rows }
  },
  // Left behind, none of these keeps the process alive (README: an idle pool, a reserve()d
  // connection with nothing running and a listen() subscription never do): it exits by itself
  // right after `done`.
  async leftReserved() {
    const sql = new SQL(url, { max: 2 })
    globalThis.kept = [sql, await sql.reserve()]
  },
  async leftTransactionTimeout() {
    const sql = new SQL(url, { max: 2, idleTimeout: 30, maxLifetime: 60 })
    await sql.begin((tx) => idQuery(tx))
    globalThis.kept = sql
  },
  async leftCancelled() {
    const sql = new SQL(url, { max: 2 })
    await idQuery(sql)
    const q = sleepSql(sql, 1)
    const settled = q.then(() => 'ran', (e) => e.code)
    await new Promise((resolve) => setTimeout(resolve, 50))
    q.cancel()
    globalThis.kept = sql
    return { settled: await settled }
  },
  // close({ timeout }) that finishes early: its deadline must not hold the process.
  async closeTimeoutEarly() {
    const sql = new SQL(url, { max: 2 })
    const running = sleepSql(sql, 0.1).then(() => 'ran')
    await idQuery(sql)
    await sql.close({ timeout: 30 })
    return { running: await running }
  },
  async connect() {
    const sql = await new SQL(url, { max: 1 }).connect()
    collectWhile(20)
    await sql.close()
  },
  // PostgreSQL: the LISTEN connection.
  async listen() {
    const sql = new SQL(url, { max: 1 })
    let heard = null
    const sub = await sql.listen('uvsql_live_' + process.pid, (p) => { heard = p })
    collectWhile(20)
    await sql.notify('uvsql_live_' + process.pid, 'hi')
    for (let i = 0; i < 100 && heard === null; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    await sub.unlisten()
    await sql.close()
    return { heard }
  },
  // A password from an async function: the connection waits for it.
  async passwordFunction() {
    const u = new URL(url)
    const pw = decodeURIComponent(u.password)
    u.password = ''
    const sql = new SQL(u.toString(), { max: 1, password: () => new Promise((resolve) => setTimeout(() => resolve(pw), 50)) })
    collectWhile(10)
    await idQuery(sql)
    await sql.close()
  },
}

;(async () => {
  const name = process.argv[2]
  const t0 = Date.now()
  const out = (await scenarios[name]()) || {}
  process.stdout.write('done ' + JSON.stringify(out) + '\n')
  // How long the process lived on after its work was done (measured by its own clock).
  const doneAt = Date.now()
  process.on('exit', () => process.stdout.write(`exit ${Date.now() - doneAt} ms after done (${doneAt - t0} ms of work)\n`))
})().catch((err) => {
  process.stdout.write('error ' + JSON.stringify(String((err && err.stack) || err)) + '\n')
  process.exitCode = 3
})
