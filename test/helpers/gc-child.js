'use strict'
// Child process of test/pool/gc.test.js (run with --expose-gc on Node; Bun.gc under Bun).
// UVSQL_URL: the server; UVSQL_ROOT: the package. Each scenario makes an SQL instance that only
// the work in progress reaches, forces collections while that work runs, and reports as one
// JSON line what happened: whether the work finished right, and whether the instance's server
// connections (by backend pid / thread id) were still open during and after it.

const { SQL } = require(process.env.UVSQL_ROOT)
const BaseSQL = SQL

const url = process.env.UVSQL_URL
const my = url.startsWith('mysql')
const gc = typeof globalThis.gc === 'function' ? () => globalThis.gc() : () => Bun.gc(true)
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const admin = new SQL(url, { max: 1 })

// How many of these server connections are open.
async function open(ids) {
  if (my) {
    const rows = await admin.unsafe(`select count(*) as n from information_schema.processlist where id in (${ids.map(Number).join(',')})`)
    return Number(rows[0].n)
  }
  return (await admin`select count(*)::int as n from pg_stat_activity where pid = any(${ids}::int[])`)[0].n
}

// The churn scenario's connections still open: by application_name on PostgreSQL, by
// connection id (MySQL numbers them in order) above the last one before it on MySQL.
const CHURN_APP = 'uvsql_churn_' + process.pid
let churnFloor = 0
async function churnOpen() {
  if (my) {
    const rows = await admin.unsafe(`select count(*) as n from information_schema.processlist where id > ${churnFloor} and id <> connection_id()`)
    return Number(rows[0].n)
  }
  return (await admin`select count(*)::int as n from pg_stat_activity where application_name = ${CHURN_APP}`)[0].n
}

const idQuery = (sql) => (my ? sql`select connection_id() as id` : sql`select pg_backend_pid() as id`)
const sleepQuery = (sql, s, x) => (my ? sql`select sleep(${s}) as z, ${x} as x` : sql`select pg_sleep(${s})::text as z, ${x}::int as x`)

// Collections, with turns of the event loop between them, for `ms`.
async function collectFor(ms) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    gc()
    await sleep(25)
  }
}

// Rounds of collection until the connections are closed: the round, or -1 after 80.
async function roundsUntilClosed(ids) {
  for (let i = 0; i < 80; i++) {
    gc()
    await sleep(25)
    if ((await open(ids)) === 0) return i
  }
  return -1
}

const scenarios = {
  // Used (3 connections), idle, unreachable: collected, and its connections close.
  async idle() {
    let ids
    // Kept until its connections are counted: with collections running all the time (the
    // GC-torture mode) it would otherwise be gone before.
    let kept = null
    await (async () => {
      const sql = new SQL(url, { max: 3 })
      const rows = await Promise.all([0, 1, 2].map((x) => sql.begin(async (tx) => (await idQuery(tx))[0].id)))
      ids = [...new Set(rows.map(Number))]
      kept = sql
    })()
    const openBefore = await open(ids)
    kept = null
    return { ids: ids.length, openBefore, closedAfterRounds: await roundsUntilClosed(ids) }
  },

  // Unreachable with a query running: it finishes with its own value; only then collected.
  async inflight() {
    let ids
    const result = (async () => {
      const sql = new SQL(url, { max: 1 })
      ids = [Number((await idQuery(sql))[0].id)]
      return sleepQuery(sql, 0.6, 7).then((rows) => rows[0].x)
    })()
    await sleep(100)
    await collectFor(300)
    const openDuring = await open(ids)
    const x = Number(await result)
    return { x, openDuring, closedAfterRounds: await roundsUntilClosed(ids) }
  },

  // Unreachable but for a reserved connection the program keeps: usable; collected once it is
  // released and dropped.
  async reserved() {
    const { ids, x } = await (async () => {
      const reserved = await new SQL(url, { max: 2 }).reserve()
      const ids = [Number((await idQuery(reserved))[0].id)]
      await collectFor(200)
      const x = Number((await sleepQuery(reserved, 0, 5))[0].x)
      reserved.release()
      return { ids, x }
    })()
    return { x, closedAfterRounds: await roundsUntilClosed(ids) }
  },

  // Unreachable but for the transaction running on it, which waits between its statements:
  // it commits; collected afterwards.
  async transaction() {
    let ids
    const result = (async () => {
      const sql = new SQL(url, { max: 1 })
      return sql.begin(async (tx) => {
        ids = [Number((await idQuery(tx))[0].id)]
        await collectFor(300)
        return Number((await sleepQuery(tx, 0, 9))[0].x)
      })
    })()
    const x = await result
    return { x, closedAfterRounds: await roundsUntilClosed(ids) }
  },

  // A reserved handle dropped while things it made still run: a query made from it before (not
  // sent yet) and a transaction on it (reserved.begin() as the handle's last use). Both run on
  // the reserved connection; the lease goes back only once they are done.
  async reservedAfterHandle() {
    const sql = new SQL(url, { max: 2 })
    let ranQuery = null // a query that ran, kept: it must not keep the lease
    const { sameTx, sameLater } = await (async () => {
      let reserved = await sql.reserve()
      ranQuery = idQuery(reserved)
      const id = Number((await ranQuery)[0].id)
      const later = idQuery(reserved).then((rows) => Number(rows[0].id) === id, (err) => err.code)
      const tx = reserved.begin(async (t) => {
        await collectFor(150)
        return Number((await idQuery(t))[0].id)
      }).then((txId) => txId === id, (err) => err.code)
      reserved = null
      await collectFor(150)
      return { sameTx: await tx, sameLater: await later }
    })()
    // Everything is done and the handle is gone: the lease comes back.
    let reservedAfter = -1
    for (let i = 0; i < 80 && reservedAfter !== 0; i++) {
      gc()
      await sleep(25)
      reservedAfter = sql.stats().reserved
    }
    await sql.close()
    return { sameTx, sameLater, reservedAfter, ranKept: ranQuery !== null }
  },

  // `await sql.close()` as the last use of `sql`: unreachable while it closes, collected in the
  // middle of the close (close() is called from a timer, the collection runs in the check phase
  // of the same loop turn, before the connections' close callbacks): the promise still resolves.
  async closing() {
    let resolved = 0
    const rounds = 5
    for (let i = 0; i < rounds; i++) {
      let sql = new SQL(url, { max: 2 })
      await idQuery(sql)
      const pending = await new Promise((resolve) => setTimeout(() => {
        const closed = sql.close()
        sql = null
        setImmediate(gc)
        resolve({ closed })
      }, 1))
      const outcome = await Promise.race([pending.closed.then(() => 'closed'), sleep(2000).then(() => 'hung')])
      resolved += outcome === 'closed'
    }
    return { rounds, resolved }
  },

  // Many short-lived instances, each dropped at its last call, every operation of the API
  // that waits for C, four at a time, while collections run every few milliseconds at varied
  // points (timers, setImmediate): every promise settles, and no instance's connection stays.
  async churn() {
    if (my) churnFloor = Number((await admin.unsafe('select connection_id() as id'))[0].id)
    const SQL = function (u, o) { return new BaseSQL(u, my ? o : { ...o, connection: { application_name: CHURN_APP } }) }
    const ops = {
      query: () => idQuery(new SQL(url, { max: 2 })),
      reserve: () => new SQL(url, { max: 2 }).reserve().then((r) => idQuery(r).then(() => r.release())),
      reserveClose: () => new SQL(url, { max: 2 }).reserve().then((r) => r.close()),
      begin: () => new SQL(url, { max: 1 }).begin((tx) => idQuery(tx)),
      savepoint: () => new SQL(url, { max: 1 }).begin((tx) => tx.savepoint((sp) => idQuery(sp))),
      txClose: () => new SQL(url, { max: 1 }).begin(async (tx) => {
        const running = sleepQuery(tx, 0.05, 1).catch(() => {})
        await tx.close()
        await running
      }).catch((err) => err.code),
      close: async () => {
        const sql = new SQL(url, { max: 2 })
        await idQuery(sql)
        return sql.close()
      },
      closeNow: () => {
        const sql = new SQL(url, { max: 2 })
        const running = sleepQuery(sql, 0.05, 1).catch((err) => err.code)
        return Promise.all([running, sql.close({ timeout: 0 })])
      },
      connect: () => new SQL(url, { max: 1 }).connect().then((sql) => sql.close()),
      // Made now, sent later, when nothing else holds the instance.
      lateAwait: async () => {
        const q = idQuery(new SQL(url, { max: 1 }))
        await sleep(20)
        return q
      },
      // The handle dropped with its query running.
      reservedDropped: () => new SQL(url, { max: 1 }).reserve().then((r) => idQuery(r)),
      // A reserve() that waits behind a dropped lease, aborted: rejects with the reason.
      abortReserve: async () => {
        const sql = new SQL(url, { max: 1 })
        const held = await sql.reserve()
        const ac = new AbortController()
        const waiting = sql.reserve({ signal: ac.signal }).then((r) => r.release(), (err) => err)
        setTimeout(() => ac.abort(new Error('stop')), 10)
        const err = await waiting
        held.release()
        if (!(err instanceof Error) || err.message !== 'stop') throw new Error('the aborted reserve() did not reject with its reason')
      },
    }
    if (!my) {
      ops.listen = async () => {
        const sub = await new SQL(url, { max: 1 }).listen('uvsql_churn_' + process.pid, () => {})
        return sub.unlisten()
      }
    }
    const names = Object.keys(ops)
    const rounds = Number(process.env.UVSQL_CHURN_ROUNDS) || 60
    const hung = []
    const failed = []
    let next = 0
    let beat = 0
    const timer = setInterval(gc, 4)
    const turn = () => { if (++beat % 3 === 0) gc(); if (next < rounds) setImmediate(turn) }
    setImmediate(turn)
    await Promise.all(Array.from({ length: 4 }, async () => {
      while (next < rounds) {
        const i = next++
        const name = names[i % names.length]
        const outcome = await Promise.race([
          ops[name]().then(() => 'ok', (err) => { failed.push(`${name}: ${err.code || err.message}`); return 'failed' }),
          sleep(5000).then(() => 'hung'),
        ])
        if (outcome === 'hung') hung.push(name)
      }
    }))
    clearInterval(timer)
    // Every instance is unreachable now: collected, its connections close.
    let left = -1
    for (let i = 0; i < 80 && left !== 0; i++) {
      gc()
      await sleep(25)
      left = await churnOpen()
    }
    return { rounds, hung, failed, left }
  },

  // PostgreSQL: unreachable but for a listener: notifications still arrive after collections.
  async listener() {
    let ids
    let heard = null
    const channel = 'uvsql_gc_' + process.pid
    await (async () => {
      const sql = new SQL(url, { max: 2 })
      await sql.listen(channel, (payload) => { heard = payload })
      ids = [Number((await idQuery(sql))[0].id)]
    })()
    await collectFor(300)
    await admin`select pg_notify(${channel}, 'still here')`
    for (let i = 0; i < 40 && heard === null; i++) await sleep(25)
    return { heard }
  },
}

;(async () => {
  for (const name of process.argv.slice(2)) {
    let out
    try {
      out = await scenarios[name]()
    } catch (err) {
      out = { error: String((err && err.stack) || err) }
    }
    process.stdout.write(JSON.stringify({ name, ...out }) + '\n')
  }
  await admin.close()
})()
