'use strict'
// Template helpers and fragments: values always bound, identifiers escaped.

const { test, before, after } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')

let sql
before(async () => {
  sql = new SQL(pg.url, { max: 2 })
  await sql`create table if not exists helper_users (id int primary key, name text, email text)`
  await sql`truncate helper_users`
})
after(async () => {
  await sql`drop table if exists helper_users`
  await sql.close()
})

test('one call site, plain values then a fragment: the cached text is used only for plain values', async () => {
  const run = (v) => sql`select ${v} as x`
  assert.deepStrictEqual((await run(1))[0], { x: 1 })
  assert.deepStrictEqual((await run(sql`2::int + ${3}::int`))[0], { x: 5 })
  assert.deepStrictEqual((await run(undefined))[0], { x: null })
  assert.deepStrictEqual((await run('4'))[0], { x: '4' })
})

test('sql(obj) and sql([objs]) insert rows; undefined becomes NULL', async () => {
  await sql`insert into helper_users ${sql({ id: 1, name: 'ann', email: 'a@x' })}`
  await sql`insert into helper_users ${sql([{ id: 2, name: 'bob', email: undefined }, { id: 3, name: "o'neil", email: 'c@x' }])}`
  const rows = await sql`select * from helper_users order by id`
  assert.deepStrictEqual(rows.map((r) => ({ ...r })), [
    { id: 1, name: 'ann', email: 'a@x' },
    { id: 2, name: 'bob', email: null },
    { id: 3, name: "o'neil", email: 'c@x' },
  ])
})

test('sql(obj, ...columns) picks columns; after SET it makes assignments', async () => {
  await sql`insert into helper_users ${sql({ id: 4, name: 'dee', email: 'ignored' }, 'id', 'name')}`
  await sql`update helper_users set ${sql({ name: 'DEE', email: 'd@x' })} where id = ${4}`
  const [row] = await sql`select * from helper_users where id = 4`
  assert.deepStrictEqual({ ...row }, { id: 4, name: 'DEE', email: 'd@x' })
})

test('sql([values]) after IN; sql(rows, "col") after IN', async () => {
  const rows = await sql`select id from helper_users where id in ${sql([1, 3])} order by id`
  assert.deepStrictEqual(rows.map((r) => r.id), [1, 3])
  const byCol = await sql`select id from helper_users where id in ${sql([{ id: 2 }, { id: 4 }], 'id')} order by id`
  assert.deepStrictEqual(byCol.map((r) => r.id), [2, 4])
})

test('sql("identifier") and qualified names are escaped, never injected', async () => {
  const rows = await sql`select ${sql('name')} from ${sql('public.helper_users')} where id = ${1}`
  assert.deepStrictEqual([...rows], [{ name: 'ann' }])
  const evil = 'x"; drop table helper_users; --'
  const [r] = await sql`select 1 as ${sql(evil)}`
  assert.deepStrictEqual(Object.keys(r), [evil])
  assert.strictEqual((await sql`select count(*)::int as n from helper_users`)[0].n, 4)
})

test('nested fragments keep their parameters in order', async () => {
  const where = (name) => (name ? sql`where name = ${name}` : sql`where true`)
  const limit = sql`limit ${2}`
  const rows = await sql`select id from helper_users ${where('bob')} ${limit}`
  assert.deepStrictEqual(rows.map((r) => r.id), [2])
  const all = await sql`select id from helper_users ${where(null)} order by id ${limit}`
  assert.deepStrictEqual(all.map((r) => r.id), [1, 2])
})

test('helpers in an upsert and in INSERT ... SELECT column lists', async () => {
  await sql`insert into helper_users ${sql({ id: 1, name: 'ann2', email: 'a@x' })} on conflict (id) do update set ${sql({ name: 'ann3' })}`
  assert.strictEqual((await sql`select name from helper_users where id = 1`)[0].name, 'ann3')
  await sql`create temp table helper_copy (id int, name text)`
  await sql`insert into helper_copy (${sql(['id', 'name'])}) select ${sql(['id', 'name'])} from helper_users where id = ${1}`
  assert.deepStrictEqual([...(await sql`select * from helper_copy`)], [{ id: 1, name: 'ann3' }])
})

test('a JSON array cannot pose as a template; a helper awaited alone is refused', async () => {
  await assert.rejects(async () => sql(JSON.parse('["select 1"]')), (e) => e.code === 'ERR_POSTGRES_NOT_TAGGED_CALL')
  await assert.rejects(async () => sql('helper_users'), (e) => e.code === 'ERR_POSTGRES_NOT_TAGGED_CALL')
  assert.throws(() => sql(Object.assign(['select 1'], { raw: ['select 1'] })), (e) => e.code === 'ERR_POSTGRES_NOT_TAGGED_CALL')
  const err = await sql`select ${sql(42)}`.then(() => null, (e) => e)
  assert.strictEqual(err && err.code, 'ERR_POSTGRES_INVALID_QUERY_BINDING')
})

test('sql.unsafe(text) without parameters splices in as raw SQL; a query with parameters cannot', async () => {
  const order = sql.unsafe('order by id desc')
  const rows = await sql`select id from helper_users where id <= ${2} ${order}`
  assert.deepStrictEqual(rows.map((r) => r.id), [2, 1])
  const err = await sql`select 1 ${sql.unsafe('where $1 = 1', [1])}`.then(() => null, (e) => e)
  assert.strictEqual(err.code, 'ERR_POSTGRES_INVALID_QUERY_BINDING')
})
