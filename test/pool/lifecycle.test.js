'use strict'
// Pool lifecycle against the real PostgreSQL and MariaDB (the same tests for both protocols) and
// scripted servers: onconnect/onclose, idle and
// lifetime expiry, close() with and without a deadline, retries with backoff, stats().

const { test } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { protocols } = require('../helpers/protocols.js')
const { fakePg } = require('../helpers/fake-pg.js')
const f = require('../helpers/frames.js')

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

async function waitFor(fn, ms = 3000) {
  const until = Date.now() + ms
  while (Date.now() < until) {
    if (fn()) return true
    await sleep(10)
  }
  return fn()
}

for (const p of protocols) {
  test(`${p.name}: onconnect(null) once per established connection, onclose(err) once per connection that connected`, async () => {
    const connects = []
    const closes = []
    const sql = new SQL(p.url, { max: 3, onconnect: (e) => connects.push(e), onclose: (e) => closes.push(e) })
    await Promise.all(Array.from({ length: 30 }, () => p.sleep(sql, 0.02)))
    const opened = sql.stats().connected
    assert.ok(opened >= 1 && opened <= 3)
    assert.strictEqual(connects.length, opened)
    assert.ok(connects.every((e) => e === null))
    await sql.close()
    assert.strictEqual(closes.length, opened)
    assert.ok(closes.every((e) => e.name === p.ErrorName && e.code === p.code('CONNECTION_CLOSED')))
  })

  test(`${p.name}: onclose is not called for connections that never connected`, async () => {
    const closes = []
    const sql = new SQL(p.refusedUrl, { onclose: (e) => closes.push(e) })
    await sql`select 1`.catch(() => {})
    await sql.close()
    assert.strictEqual(closes.length, 0)
  })

  test(`${p.name}: idleTimeout closes idle connections (IDLE_TIMEOUT) and the next query reconnects`, async () => {
    const closes = []
    const sql = new SQL(p.url, { max: 2, idleTimeout: 0.1, onclose: (e) => closes.push(e.code) })
    try {
      await Promise.all([p.sleep(sql, 0.05), p.sleep(sql, 0.05)])
      assert.ok(await waitFor(() => sql.stats().total === 0), JSON.stringify(sql.stats()))
      assert.ok(closes.length >= 1 && closes.every((c) => c === p.code('IDLE_TIMEOUT')), String(closes))
      assert.strictEqual(sql.stats().closes.idle, closes.length)
      assert.deepStrictEqual([...(await sql`select 1 as ok`)], [{ ok: 1 }])
    } finally {
      await sql.close()
    }
  })

  test(`${p.name}: idleTimeout never kills a running query`, async () => {
    const sql = new SQL(p.url, { max: 1, idleTimeout: 0.05 })
    try {
      const [row] = await p.sleep(sql, 0.3)
      assert.strictEqual(Object.keys(row).length, 1)
      assert.strictEqual((await p.int(sql, 7))[0].n, 7)
    } finally {
      await sql.close()
    }
  })

  test(`${p.name}: maxLifetime retires connections under load without failing a query (LIFETIME_TIMEOUT)`, async () => {
    const closes = []
    const sql = new SQL(p.url, { max: 2, maxLifetime: 0.05, onclose: (e) => closes.push(e.code) })
    try {
      const until = Date.now() + 500
      let done = 0
      while (Date.now() < until) {
        await Promise.all([p.sleep(sql, 0.01), p.int(sql, done)])
        done++
      }
      assert.ok(sql.stats().connected >= 3, JSON.stringify(sql.stats()))
      assert.ok(closes.includes(p.code('LIFETIME_TIMEOUT')), String(closes))
    } finally {
      await sql.close()
    }
  })

  test(`${p.name}: close() waits for running and queued queries; new ones reject at once`, async () => {
    const sql = new SQL(p.url, { max: 1 })
    const running = p.sleep(sql, 0.1).then(() => 1)
    const queued = sql`select 2 as b`.then((r) => r[0].b)
    await sleep(10)
    const closing = sql.close()
    const late = await sql`select 3`.then(() => null, (e) => e.code)
    assert.strictEqual(late, p.code('CONNECTION_CLOSED'))
    assert.deepStrictEqual(await Promise.all([running, queued]), [1, 2])
    await closing
  })

  test(`${p.name}: close({ timeout }) waits at most that long, then fails what is left`, async () => {
    const sql = new SQL(p.url, { max: 1 })
    const running = p.sleep(sql, 5).then(() => null, (e) => e)
    await sleep(50)
    const started = Date.now()
    const cpu = process.cpuUsage()
    await sql.close({ timeout: 0.2 })
    const elapsed = Date.now() - started
    const used = process.cpuUsage(cpu)
    assert.ok(elapsed >= 150 && elapsed < 1500, `took ${elapsed} ms`)
    assert.ok(used.user + used.system < 200000, 'no busy loop while waiting')
    assert.strictEqual((await running).code, p.code('CONNECTION_CLOSED'))
  })

  test(`${p.name}: stats() reports states and counters`, async () => {
    const sql = new SQL(p.url, { max: 4 })
    try {
      assert.strictEqual(sql.stats().total, 0)
      await Promise.all(Array.from({ length: 8 }, () => p.sleep(sql, 0.02)))
      // The queries may all be served before the last connection opened (a loaded machine): that
      // one counts in total as connecting until it is ready, then as idle.
      let s = sql.stats()
      for (let i = 0; i < 100 && s.connecting > 0; i++) {
        await sleep(20)
        s = sql.stats()
      }
      assert.strictEqual(s.max, 4)
      assert.ok(s.total >= 1 && s.total <= 4)
      assert.strictEqual(s.connecting, 0, 'every connection opened within 2 s')
      assert.strictEqual(s.idle, s.total)
      assert.strictEqual(s.busy, 0)
      assert.strictEqual(s.waiting, 0)
      assert.strictEqual(s.queries, 8)
      assert.strictEqual(s.connects, s.connected)
      assert.strictEqual(s.connectFailures, 0)
    } finally {
      await sql.close()
    }
    assert.strictEqual(sql.stats().total, 0)
  })

  test(`${p.name}: close() called again while the first close finishes (with and without a timeout) is safe`, async () => {
    for (let i = 0; i < 20; i++) {
      const sql = new SQL(p.url, { max: 2, idleTimeout: 5 })
      await sql`select 1`
      const a = sql.close()
      await new Promise((r) => setImmediate(r))
      const b = sql.close({ timeout: 1 })
      const c = sql.close({ timeout: 0 })
      await Promise.all([a, b, c])
    }
  })
}

test('a transient startup failure is retried with backoff; a refused one is not', async () => {
  let n = 0
  const server = await fakePg(async (c) => {
    n++
    await c.startup()
    if (n <= 2) {
      c.send(f.errorResponse({ S: 'FATAL', V: 'FATAL', C: '57P03', M: 'the database system is starting up' }))
      c.end()
      return
    }
    c.send(f.startupOk())
    for (;;) {
      const m = await c.message()
      if (m.type === 'X') return
      if (m.type === 'E') {
        c.send(Buffer.concat([f.parseComplete(), f.bindComplete(), f.rowDescription([{ name: 'x', oid: 23 }]), f.dataRow(['5']), f.commandComplete('SELECT 1'), f.readyForQuery()]))
      }
    }
  })
  const sql = new SQL(server.url, { max: 1 })
  try {
    assert.deepStrictEqual([...(await sql`select 5 as x`)], [{ x: 5 }])
    assert.strictEqual(n, 3)
    assert.strictEqual(sql.stats().retries, 2)
  } finally {
    await sql.close()
    await server.close()
  }
  const refused = new SQL('postgres://nobody@127.0.0.1:1/x')
  const started = Date.now()
  const err = await refused`select 1`.then(() => null, (e) => e)
  assert.strictEqual(err.code, 'ERR_POSTGRES_CONNECTION_REFUSED')
  assert.strictEqual(refused.stats().retries, 0)
  assert.ok(Date.now() - started < 1000)
  await refused.close()
})

test('a server that keeps failing transiently is retried only until connectionTimeout', async () => {
  let attempts = 0
  const server = await fakePg(async (c) => {
    attempts++
    await c.startup()
    c.send(f.errorResponse({ S: 'FATAL', V: 'FATAL', C: '53300', M: 'sorry, too many clients already' }))
    c.end()
  })
  const sql = new SQL(server.url, { connectionTimeout: 0.5 })
  try {
    const started = Date.now()
    const err = await sql`select 1`.then(() => null, (e) => e)
    const elapsed = Date.now() - started
    assert.strictEqual(err.errno, '53300')
    assert.ok(elapsed >= 400 && elapsed < 2000, `gave up after ${elapsed} ms`)
    assert.ok(attempts >= 3 && attempts < 30, `${attempts} attempts: backoff, not a storm`)
  } finally {
    await sql.close()
    await server.close()
  }
})

test('MySQL: "Too many connections" (1040, SQLSTATE 08004) in place of the greeting is retried with backoff', async () => {
  const { fakeMysql } = require('../helpers/fake-mysql.js')
  let n = 0
  const server = await fakeMysql(async (c) => {
    n++
    if (n <= 2) {
      c.resetSeq()
      c.send(c.err(1040, '08004', 'Too many connections'))
      c.end()
      return
    }
    await c.login()
    await c.answerOneQuery(['x'], [['5']])
  })
  const sql = new SQL(server.url(), { max: 1 })
  try {
    const rows = await sql.unsafe('select 5 as x').simple()
    assert.strictEqual(rows[0].x, '5')
    assert.strictEqual(n, 3)
    assert.strictEqual(sql.stats().retries, 2)
  } finally {
    await sql.close()
    await server.close()
  }
})
