'use strict'
// Transactions on MariaDB: commit, rollback on throw, pipelined arrays, options, savepoints,
// XA (beginDistributed), reserve(), and sequential transactions on a pool of several
// connections (Bun issues 26030 and 26235 hung there).

const { test, before, after } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { mysql } = require('../helpers/env.js')

let sql
before(async () => {
  sql = new SQL(mysql.url, { max: 4 })
  await sql`drop table if exists tx_t`
  await sql`create table tx_t (id int primary key, v varchar(20)) engine = InnoDB`
})
after(() => sql.close())

const count = async () => (await sql`select count(*) as c from tx_t`)[0].c

test('begin commits; a throw rolls back and rejects with the error', async () => {
  await sql`delete from tx_t`
  const out = await sql.begin(async (tx) => {
    await tx`insert into tx_t values (1, 'a')`
    return tx`select v from tx_t where id = 1`
  })
  assert.strictEqual(out[0].v, 'a')
  const boom = new Error('boom')
  const err = await sql.begin(async (tx) => {
    await tx`insert into tx_t values (2, 'b')`
    throw boom
  }).then(() => null, (e) => e)
  assert.strictEqual(err, boom)
  assert.strictEqual(await count(), 1)
})

test('an array returned from the callback runs pipelined and commits together', async () => {
  await sql`delete from tx_t`
  const results = await sql.begin((tx) => [tx`insert into tx_t values (1, 'x')`, tx`insert into tx_t values (2, 'y')`, tx`select count(*) as c from tx_t`])
  assert.strictEqual(results[2][0].c, 2)
  assert.strictEqual(await count(), 2)
})

test('begin options: isolation level and read only reach the server', async () => {
  const [row] = await sql.begin('isolation level serializable', (tx) => tx`select @@session.tx_isolation as iso, @@in_transaction as t`)
  assert.strictEqual(row.t, 1)
  const err = await sql.begin('read only', (tx) => tx`insert into tx_t values (9, 'no')`).then(() => null, (e) => e)
  assert.strictEqual(err.errno, 1792, String(err)) // ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
  assert.ok(row.iso === 'REPEATABLE-READ' || row.iso === 'SERIALIZABLE')
})

test('savepoints roll back only their part', async () => {
  await sql`delete from tx_t`
  await sql.begin(async (tx) => {
    await tx`insert into tx_t values (1, 'keep')`
    await tx.savepoint(async (sp) => {
      await sp`insert into tx_t values (2, 'drop')`
      throw new Error('undo the savepoint')
    }).catch(() => {})
    await tx.savepoint('named', (sp) => sp`insert into tx_t values (3, 'keep too')`)
  })
  assert.deepStrictEqual((await sql`select id from tx_t order by id`).map((r) => r.id), [1, 3])
})

test('XA: beginDistributed prepares; commitDistributed and rollbackDistributed finish it later', async () => {
  await sql`delete from tx_t`
  await sql.beginDistributed('uvsql_xa_1', (tx) => tx`insert into tx_t values (1, 'xa')`)
  assert.strictEqual(await count(), 0, 'prepared, not committed')
  await sql.commitDistributed('uvsql_xa_1')
  assert.strictEqual(await count(), 1)
  await sql.beginDistributed('uvsql_xa_2', (tx) => tx`insert into tx_t values (2, 'xa')`)
  await sql.rollbackDistributed('uvsql_xa_2')
  assert.strictEqual(await count(), 1)
})

test('reserve(): one connection until release, and it goes back to the pool', async () => {
  const r = await sql.reserve()
  await r`set @mine := 42`
  assert.strictEqual((await r`select @mine as m`)[0].m, 42)
  r.release()
  assert.strictEqual(sql.stats().reserved, 0)
})

test('100 sequential transactions on max 4 all finish', async () => {
  await sql`delete from tx_t`
  for (let i = 0; i < 100; i++) {
    await sql.begin(async (tx) => {
      await tx`insert into tx_t values (${i}, ${'v' + i})`
    })
  }
  assert.strictEqual(await count(), 100)
})
