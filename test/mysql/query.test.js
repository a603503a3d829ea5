'use strict'
// Queries against MariaDB: results and their metadata, errors that fail one query only,
// several statements with .simple(), $n placeholders, pipelining, cancel (KILL QUERY), long
// results, and payloads larger than one 16 MiB packet both ways.

const { test, before, after } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { mysql } = require('../helpers/env.js')

let sql
before(async () => {
  sql = new SQL(mysql.url, { max: 10 })
  await sql`drop table if exists q_t`
  await sql`create table q_t (id int auto_increment primary key, name varchar(50) unique, n int)`
})
after(() => sql.close())

test('INSERT/UPDATE/DELETE/SELECT metadata: command, count, affectedRows, lastInsertRowid', async () => {
  const ins = await sql`insert into q_t (name, n) values (${'a'}, 1), (${'b'}, 2)`
  assert.strictEqual(ins.command, 'INSERT')
  assert.strictEqual(ins.count, 2)
  assert.strictEqual(ins.affectedRows, 2)
  assert.strictEqual(ins.lastInsertRowid, 1)
  const upd = await sql`update q_t set n = n + 10 where n > ${0}`
  assert.deepStrictEqual([upd.command, upd.count, upd.affectedRows], ['UPDATE', 2, 2])
  const sel = await sql`select name, n from q_t order by id`
  assert.deepStrictEqual([sel.command, sel.count, sel.length], ['SELECT', 2, 2])
  assert.deepStrictEqual(sel.map((r) => ({ ...r })), [{ name: 'a', n: 11 }, { name: 'b', n: 12 }])
  assert.deepStrictEqual(Object.keys(sel), ['0', '1'], 'metadata is not enumerable')
  const del = await sql`delete from q_t where name = ${'b'}`
  assert.deepStrictEqual([del.command, del.count], ['DELETE', 1])
})

test('executions that skip unchanged column definitions (MariaDB CACHE_METADATA) still see a changed table', async () => {
  const one = new SQL(mysql.url, { max: 1 })
  try {
    await one`drop table if exists meta_t`
    await one`create table meta_t (a int, b varchar(10))`
    await one`insert into meta_t values (1, 'x')`
    const read = () => one`select * from meta_t where a >= ${0}`
    for (let i = 0; i < 3; i++) assert.deepStrictEqual([...await read()], [{ a: 1, b: 'x' }])
    await one`alter table meta_t add column c double default 2.5`
    for (let i = 0; i < 3; i++) assert.deepStrictEqual([...await read()], [{ a: 1, b: 'x', c: 2.5 }])
    await one`alter table meta_t drop column b`
    assert.deepStrictEqual([...await read()], [{ a: 1, c: 2.5 }])
    // Pipelined executions of one statement, each with its own value.
    const many = await Promise.all(Array.from({ length: 200 }, (_, i) => one`select ${i} as v, ${'s' + i} as s`))
    many.forEach((r, i) => assert.deepStrictEqual({ ...r[0] }, { v: i, s: 's' + i }))
  } finally {
    await one`drop table if exists meta_t`
    await one.close()
  }
})

test('a server error fails that query only, with Bun.SQL\'s fields; the connection goes on', async () => {
  const reserved = await sql.reserve()
  try {
    const dup = await reserved`insert into q_t (name) values (${'a'})`.then(() => null, (e) => e)
    assert.ok(dup instanceof SQL.MySQLError)
    assert.deepStrictEqual([dup.code, dup.errno, dup.sqlState], ['ERR_MYSQL_SERVER_ERROR', 1062, '23000'])
    const syntax = await reserved`selec 1`.then(() => null, (e) => e)
    assert.deepStrictEqual([syntax.errno, syntax.sqlState], [1064, '42000'])
    assert.strictEqual((await reserved`select ${7} as x`)[0].x, 7)
  } finally {
    reserved.release()
  }
})

test('.simple() runs several statements and returns one result per statement', async () => {
  const results = await sql.unsafe("set @v := 5; select @v as v; select 'two' as t").simple()
  assert.strictEqual(results.length, 3)
  assert.deepStrictEqual({ ...results[1][0] }, { v: 5 })
  assert.deepStrictEqual({ ...results[2][0] }, { t: 'two' })
})

test('sql.unsafe: $n placeholders become ? in the order used (repeats and reordering), ? stays', async () => {
  const [r] = await sql.unsafe('select $2 as b, $1 as a, $2 as b2, \'$1 in a string\' as s', ['one', 'two'])
  assert.deepStrictEqual({ ...r }, { b: 'two', a: 'one', b2: 'two', s: '$1 in a string' })
  const [q] = await sql.unsafe('select ? as x, ? as y', [1, 2])
  assert.deepStrictEqual({ ...q }, { x: 1, y: 2 })
  const err = await sql.unsafe('select $3', [1]).then(() => null, (e) => e)
  assert.strictEqual(err.code, 'ERR_MYSQL_INVALID_QUERY_BINDING')
})

test('identifiers are quoted with backticks; helpers build inserts, updates and IN lists', async () => {
  await sql`insert into ${sql('q_t')} ${sql([{ name: 'x`y', n: 1 }, { name: 'z', n: 2 }])}`
  await sql`update q_t set ${sql({ n: 5 })} where name = ${'z'}`
  const rows = await sql`select ${sql('name')}, n from q_t where name in ${sql(['x`y', 'z'])} order by name`
  assert.deepStrictEqual(rows.map((r) => [r.name, r.n]), [['x`y', 1], ['z', 5]])
})

test('1,000 concurrent queries on max 10, each gets its own value', async () => {
  const results = await Promise.all(Array.from({ length: 1000 }, (_, i) => sql`select ${i} as i, ${'v' + i} as s`))
  results.forEach((r, i) => {
    assert.strictEqual(r[0].i, i)
    assert.strictEqual(r[0].s, 'v' + i)
  })
  const stats = sql.stats()
  assert.ok(stats.total <= 10, `opened ${stats.total} connections`)
})

test('many distinct prepared statements pipelined on one connection keep their order', async () => {
  const one = new SQL(mysql.url, { max: 1 })
  try {
    const qs = Array.from({ length: 300 }, (_, i) => one.unsafe(`select ? + ${i} as v`, [i]))
    const rs = await Promise.all(qs)
    rs.forEach((r, i) => assert.strictEqual(r[0].v, 2 * i))
  } finally {
    await one.close()
  }
})

test('cancel: a running query is killed (KILL QUERY) and the connection stays usable', async () => {
  const one = new SQL(mysql.url, { max: 1 })
  try {
    const q = one`select sleep(10) as s`
    q.execute()
    await new Promise((resolve) => setTimeout(resolve, 200))
    const t0 = Date.now()
    q.cancel()
    const err = await q.then(() => null, (e) => e)
    // MariaDB may end SLEEP() early with a result of 1 instead of an error: both are a cancel.
    if (err !== null) assert.deepStrictEqual([err.code, err.errno], ['ERR_MYSQL_SERVER_ERROR', 1317], err.message)
    assert.ok(Date.now() - t0 < 5000, 'the query ran on')
    assert.strictEqual((await one`select ${1} as one`)[0].one, 1)
  } finally {
    await one.close()
  }
})

test('cancel: a query still waiting for a connection never runs', async () => {
  const one = new SQL(mysql.url, { max: 1 })
  try {
    const blocker = one`select sleep(0.3)`
    blocker.execute()
    const waiting = one`insert into q_t (name) values ('never')`
    waiting.execute()
    waiting.cancel()
    const err = await waiting.then(() => null, (e) => e)
    await blocker
    assert.strictEqual(err.code, 'ERR_MYSQL_QUERY_CANCELLED')
    assert.strictEqual((await one`select count(*) as c from q_t where name = 'never'`)[0].c, 0)
  } finally {
    await one.close()
  }
})

test('a long result arrives whole (100k rows, streamed in batches)', async () => {
  // seq_1_to_N: MariaDB's SEQUENCE engine. Binary rows (prepared) and text rows (simple).
  for (const rows of [await sql`select seq as i, concat('row', seq) as t from seq_1_to_100000 where seq > ${0}`,
    await sql.unsafe("select seq as i, concat('row', seq) as t from seq_1_to_100000").simple()]) {
    assert.strictEqual(rows.length, 100000)
    assert.strictEqual(rows[99999].i, 100000)
    assert.strictEqual(rows[500].t, 'row501')
  }
})

test('a 20 MiB value goes out and comes back (payloads split over 16 MiB packets)', async () => {
  const big = Buffer.alloc(20 * 1024 * 1024, 7)
  big[0] = 1
  big[big.length - 1] = 9
  const [r] = await sql`select ${big} as b, length(${big}) as n`
  assert.strictEqual(r.n, big.length)
  assert.ok(r.b.equals(big))
})

test('listen/notify are PostgreSQL only: a clear error', async () => {
  const err = await sql.listen('x', () => {}).then(() => null, (e) => e)
  assert.strictEqual(err.code, 'ERR_MYSQL_NOT_SUPPORTED')
})
