'use strict'
// Transactions and reserved connections: exclusive leases on one connection of the pool.

const { test } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')

test('begin() commits on success and runs every statement on one connection', async () => {
  const sql = new SQL(pg.url, { max: 4 })
  try {
    await sql`create table if not exists tx_commit(id int)`
    await sql`truncate tx_commit`
    const pids = await sql.begin(async (tx) => {
      const a = await tx`select pg_backend_pid() as pid, txid_current() as x`
      await tx`insert into tx_commit values (1), (2)`
      const b = await tx`select pg_backend_pid() as pid, txid_current() as x`
      return [a[0], b[0]]
    })
    assert.strictEqual(pids[0].pid, pids[1].pid)
    assert.strictEqual(pids[0].x, pids[1].x, 'one transaction')
    assert.strictEqual((await sql`select count(*)::int as n from tx_commit`)[0].n, 2)
  } finally {
    await sql`drop table if exists tx_commit`
    await sql.close()
  }
})

test('begin() rolls back when the callback throws, and rethrows', async () => {
  const sql = new SQL(pg.url, { max: 2 })
  try {
    await sql`create table if not exists tx_rollback(id int)`
    await sql`truncate tx_rollback`
    const err = await sql.begin(async (tx) => {
      await tx`insert into tx_rollback values (1)`
      throw new Error('boom')
    }).then(() => null, (e) => e)
    assert.strictEqual(err.message, 'boom')
    assert.strictEqual((await sql`select count(*)::int as n from tx_rollback`)[0].n, 0)
    const serverErr = await sql.begin(async (tx) => {
      await tx`insert into tx_rollback values (1)`
      await tx`select 1/0`
    }).then(() => null, (e) => e)
    assert.strictEqual(serverErr.errno, '22012')
    assert.strictEqual((await sql`select count(*)::int as n from tx_rollback`)[0].n, 0)
    assert.strictEqual(sql.stats().reserved, 0)
  } finally {
    await sql`drop table if exists tx_rollback`
    await sql.close()
  }
})

test('an array returned from begin() runs pipelined and resolves to the results', async () => {
  const sql = new SQL(pg.url, { max: 1 })
  try {
    const results = await sql.begin((tx) => [tx`select 1 as a`, tx`select 2 as b`])
    assert.deepStrictEqual(results.map((r) => ({ ...r[0] })), [{ a: 1 }, { b: 2 }])
  } finally {
    await sql.close()
  }
})

test('begin("isolation level serializable") passes options; bad options are refused', async () => {
  const sql = new SQL(pg.url, { max: 1 })
  try {
    const level = await sql.begin('isolation level serializable', async (tx) => (await tx`show transaction_isolation`)[0].transaction_isolation)
    assert.strictEqual(level, 'serializable')
    await assert.rejects(sql.begin("read write; drop table x", async () => {}), (e) => e.code === 'ERR_POSTGRES_INVALID_TRANSACTION_STATE')
  } finally {
    await sql.close()
  }
})

test('savepoints roll back only their part', async () => {
  const sql = new SQL(pg.url, { max: 1 })
  try {
    await sql`create table if not exists tx_sp(id int)`
    await sql`truncate tx_sp`
    await sql.begin(async (tx) => {
      await tx`insert into tx_sp values (1)`
      await tx.savepoint(async (sp) => {
        await sp`insert into tx_sp values (2)`
        throw new Error('undo 2')
      }).catch((e) => assert.strictEqual(e.message, 'undo 2'))
      await tx.savepoint('named', async (sp) => sp`insert into tx_sp values (3)`)
    })
    assert.deepStrictEqual((await sql`select id from tx_sp order by id`).map((r) => r.id), [1, 3])
  } finally {
    await sql`drop table if exists tx_sp`
    await sql.close()
  }
})

test('concurrent transactions never interleave on one connection (max: 1)', async () => {
  const sql = new SQL(pg.url, { max: 1 })
  try {
    const order = []
    await Promise.all([1, 2, 3].map((n) => sql.begin(async (tx) => {
      order.push('begin' + n)
      await tx`select pg_sleep(0.02)`
      order.push('end' + n)
    })))
    assert.deepStrictEqual(order, ['begin1', 'end1', 'begin2', 'end2', 'begin3', 'end3'])
  } finally {
    await sql.close()
  }
})

test('plain queries keep flowing on other connections while one is reserved', async () => {
  const sql = new SQL(pg.url, { max: 2 })
  try {
    const reserved = await sql.reserve()
    const [{ pid }] = await reserved`select pg_backend_pid() as pid`
    const others = await Promise.all(Array.from({ length: 10 }, () => sql`select pg_backend_pid() as pid`))
    assert.ok(others.every((r) => r[0].pid !== pid), 'no plain query ran on the reserved connection')
    assert.strictEqual(sql.stats().reserved + sql.stats().idle + sql.stats().busy, sql.stats().total)
    reserved.release()
    reserved.release() // twice is harmless
    const late = await reserved`select 1`.then(() => null, (e) => e)
    assert.strictEqual(late.code, 'ERR_POSTGRES_CONNECTION_CLOSED', 'a released lease runs nothing')
  } finally {
    await sql.close()
  }
})

test('a transaction whose connection dies never runs its later statements elsewhere', async () => {
  const sql = new SQL(pg.url, { max: 2 })
  const admin = new SQL(pg.admin)
  try {
    const err = await sql.begin(async (tx) => {
      const [{ pid }] = await tx`select pg_backend_pid() as pid`
      await admin`select pg_terminate_backend(${pid})`
      await new Promise((r) => setTimeout(r, 50))
      await tx`select 1`
    }).then(() => null, (e) => e)
    assert.ok(err instanceof SQL.PostgresError)
    assert.ok(err.errno === '57P01' || err.code === 'ERR_POSTGRES_CONNECTION_CLOSED', String(err.code))
    assert.deepStrictEqual([...(await sql`select 1 as ok`)], [{ ok: 1 }])
  } finally {
    await Promise.all([sql.close(), admin.close()])
  }
})

test('close() does not hang on a forgotten reserve(), and resolves after release', async () => {
  const sql = new SQL(pg.url, { max: 2 })
  const reserved = await sql.reserve()
  await reserved`select 1`
  const started = Date.now()
  await sql.close()
  assert.ok(Date.now() - started < 1000)
  const err = await reserved`select 1`.then(() => null, (e) => e)
  assert.strictEqual(err.code, 'ERR_POSTGRES_CONNECTION_CLOSED')
})

test('beginDistributed + commitDistributed / rollbackDistributed (two-phase commit)', async () => {
  const sql = new SQL(pg.url, { max: 2 })
  try {
    await sql`create table if not exists tx_2pc(id int)`
    await sql`truncate tx_2pc`
    await sql.beginDistributed('uvsql_2pc_a', async (tx) => { await tx`insert into tx_2pc values (1)` })
    await sql.beginDistributed('uvsql_2pc_b', async (tx) => { await tx`insert into tx_2pc values (2)` })
    assert.strictEqual((await sql`select count(*)::int as n from tx_2pc`)[0].n, 0, 'not visible before commit')
    await sql.commitDistributed('uvsql_2pc_a')
    await sql.rollbackDistributed('uvsql_2pc_b')
    assert.deepStrictEqual((await sql`select id from tx_2pc`).map((r) => r.id), [1])
    assert.throws(() => sql.commitDistributed("x'; drop table tx_2pc; --"), (e) => e.code === 'ERR_POSTGRES_INVALID_TRANSACTION_STATE')
  } finally {
    await sql`drop table if exists tx_2pc`
    await sql.close()
  }
})

test('sql.array(values, type), sql.file(path), sql.connect()', async () => {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const sql = new SQL(pg.url, { max: 1 })
  try {
    await sql.connect()
    assert.strictEqual(sql.stats().total, 1)
    const [r] = await sql`select ${sql.array([1, 2, 3], 'INT')} as a, pg_typeof(${sql.array(['x', null], 'text')})::text as t`
    assert.deepStrictEqual(r, { a: new Int32Array([1, 2, 3]), t: 'text[]' }) // int4[] with parameters, as Bun
    const file = path.join(os.tmpdir(), `uvsql-file-${process.pid}.sql`)
    fs.writeFileSync(file, 'select 1 as one; select 2 as two')
    const results = await sql.file(file)
    assert.deepStrictEqual(results.map((x) => ({ ...x[0] })), [{ one: 1 }, { two: 2 }])
    fs.rmSync(file)
    const missing = await sql.file('/nonexistent/file.sql').then(() => null, (e) => e)
    assert.strictEqual(missing.code, 'ENOENT') // the fs error itself, as Bun.SQL rejects
  } finally {
    await sql.close()
  }
})

test('a reserved connection that is garbage-collected without release() returns to the pool', async () => {
  if (typeof global.gc !== 'function') {
    const { spawnSync } = require('node:child_process')
    const r = spawnSync(process.execPath, ['--expose-gc', '-e', `
      const { SQL } = require(${JSON.stringify(require.resolve('../..'))})
      const sql = new SQL(process.env.UVSQL_TEST_PG_URL, { max: 1 })
      ;(async () => {
        await (async () => { const r = await sql.reserve(); await r\`select 1\` })()
        for (let i = 0; i < 20 && sql.stats().reserved > 0; i++) { global.gc(); await new Promise((x) => setTimeout(x, 20)) }
        const [row] = await sql\`select 2 as ok\`
        console.log(JSON.stringify({ reserved: sql.stats().reserved, ok: row.ok }))
        await sql.close()
      })()`], { encoding: 'utf8', timeout: 20000, env: process.env })
    assert.strictEqual(r.status, 0, r.stderr)
    assert.deepStrictEqual(JSON.parse(r.stdout.trim()), { reserved: 0, ok: 2 })
  }
})

test('a query waiting for a reserved connection keeps the process alive until it runs', () => {
  const { spawnSync } = require('node:child_process')
  const r = spawnSync(process.execPath, ['-e', `
    const { SQL } = require(${JSON.stringify(require.resolve('../..'))})
    const sql = new SQL(process.env.UVSQL_TEST_PG_URL, { max: 1 })
    ;(async () => {
      const reserved = await sql.reserve()
      sql\`select 3 as n\`.then((rows) => { console.log('ran', rows[0].n); return sql.close() })
      setTimeout(() => reserved.release(), 200).unref() // only the waiting query keeps us alive
    })()`], { encoding: 'utf8', timeout: 20000, env: process.env })
  assert.strictEqual(r.status, 0, r.stderr)
  assert.strictEqual(r.stdout.trim(), 'ran 3')
})

test('reserve({ signal }): aborting takes a waiting request out of the queue', async () => {
  const sql = new SQL(pg.url, { max: 1 })
  try {
    const holder = await sql.reserve()
    const ac = new AbortController()
    const waiting = sql.reserve({ signal: ac.signal })
    setTimeout(() => ac.abort(new Error('gave up')), 30)
    await assert.rejects(waiting, /gave up/)
    assert.strictEqual(sql.stats().waiting, 0)
    await assert.rejects(sql.reserve({ signal: AbortSignal.abort(new Error('already')) }), /already/)
    await holder.close()
    const again = await sql.reserve()
    assert.deepStrictEqual([...(await again`select 1 as ok`)], [{ ok: 1 }])
    again.release()
  } finally {
    await sql.close()
  }
})
