'use strict'
// Queries against the real PostgreSQL: values, types, errors, pipelining, close.

const { test, before, after } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')

let sql
before(() => { sql = new SQL(pg.url, { max: 4 }) })
after(() => sql.close())

test('the first query: select ${1}::int as x', async () => {
  const rows = await sql`select ${1}::int as x`
  assert.deepStrictEqual([...rows], [{ x: 1 }])
  assert.ok(Array.isArray(rows))
  assert.strictEqual(rows.count, 1)
  assert.strictEqual(rows.command, 'SELECT')
  assert.deepStrictEqual(Object.keys(rows), ['0'], 'metadata is not enumerable')
})

test('int4, text, bool and null decode to number, string, boolean and null', async () => {
  const rows = await sql`select 42::int4 as i, -7::int4 as neg, 'héllo ✓'::text as t, true as yes, false as no, null::int as n`
  assert.deepStrictEqual(rows[0], { i: 42, neg: -7, t: 'héllo ✓', yes: true, no: false, n: null })
})

test('bound parameters round-trip (never interpolated)', async () => {
  const evil = "'; drop table users; --"
  const rows = await sql`select ${evil}::text as s, ${2147483647}::int as big, ${true}::bool as b, ${null}::text as n, ${1.5}::float8 as f`
  assert.deepStrictEqual(rows[0], { s: evil, big: 2147483647, b: true, n: null, f: 1.5 })
})

test('parameters reach C packed: NULLs, empty strings, non-ASCII, and lone surrogates that joining would pair', async () => {
  const vals = ['', null, 'é', '😀', 'a\ud83d', '\ude00b', undefined, 'x'.repeat(5000), 'ü€😀']
  const r = await sql`select ${vals[0]}::text as a, ${vals[1]}::text as b, ${vals[2]}::text as c, ${vals[3]}::text as d,
    ${vals[4]}::text as e, ${vals[5]}::text as f, ${vals[6]}::text as g, ${vals[7]}::text as h, ${vals[8]}::text as i`
  assert.deepStrictEqual({ ...r[0] }, { a: '', b: null, c: 'é', d: '😀', e: 'a\ufffd', f: '\ufffdb', g: null, h: 'x'.repeat(5000), i: 'ü€😀' })
  // 3000 parameters in one statement, every tenth NULL.
  const n = 3000
  const params = Array.from({ length: n }, (_, i) => (i % 10 === 0 ? null : 'v' + i + 'ß'))
  const strings = ['select array['].concat(Array.from({ length: n - 1 }, () => '::text, '), ['::text] as a'])
  strings.raw = strings.slice()
  const arr = (await sql(Object.freeze(strings), ...params))[0].a
  assert.deepStrictEqual(arr, params)
})

test('many rows and many columns', async () => {
  const rows = await sql`select g as id, 'row ' || g as label, g % 2 = 0 as even from generate_series(1, 5000) g`
  assert.strictEqual(rows.length, 5000)
  assert.deepStrictEqual(rows[4999], { id: 5000, label: 'row 5000', even: true })
  assert.strictEqual(rows.count, 5000)
})

test('a server error rejects with a PostgresError carrying the SQLSTATE', async () => {
  const err = await sql`select * from no_such_table_here`.then(() => null, (e) => e)
  assert.ok(err instanceof SQL.PostgresError)
  assert.ok(err instanceof SQL.SQLError)
  assert.strictEqual(err.code, 'ERR_POSTGRES_SERVER_ERROR')
  assert.strictEqual(err.errno, '42P01')
  assert.strictEqual(err.severity, 'ERROR')
  assert.match(err.message, /no_such_table_here/)
  const syntax = await sql`selec 1`.then(() => null, (e) => e)
  assert.strictEqual(syntax.code, 'ERR_POSTGRES_SYNTAX_ERROR')
  assert.strictEqual(syntax.errno, '42601')
  assert.strictEqual(syntax.position, '1')
})

test('an error fails only its own query; pipelined neighbours succeed', async () => {
  const results = await Promise.allSettled([
    sql`select 1 as a`,
    sql`select 1/0 as boom`,
    sql`select 3 as c`,
  ])
  assert.deepStrictEqual(results.map((r) => r.status), ['fulfilled', 'rejected', 'fulfilled'])
  assert.strictEqual(results[1].reason.errno, '22012')
  assert.deepStrictEqual(results[2].value[0], { c: 3 })
})

test('500 concurrent queries all answer in order with the right values', async () => {
  const n = 500
  const rows = await Promise.all(Array.from({ length: n }, (_, i) => sql`select ${i}::int as i`))
  assert.deepStrictEqual(rows.map((r) => r[0].i), Array.from({ length: n }, (_, i) => i))
  const stats = sql._stats()
  assert.ok(stats.live >= 1 && stats.live <= 4, `live connections within max: ${stats.live}`)
})

test('queries are lazy and go out in the order they were awaited', async () => {
  await sql`create temp table if not exists lazy_order(n int)`.catch(() => {})
  const q = sql`select 'never awaited'`
  assert.strictEqual(q.active, false)
  assert.strictEqual(Object.prototype.toString.call(q), '[object Query]')
  const r = await sql`select ${'x'}::text as v`
  assert.strictEqual(r[0].v, 'x')
})

test('.values() returns arrays; .raw() returns Buffers', async () => {
  const v = await sql`select 1 as a, 'b' as b`.values()
  assert.deepStrictEqual(v.map((r) => [...r]), [[1, 'b']])
  const raw = await sql`select 1 as a, null as n`.raw()
  assert.ok(Buffer.isBuffer(raw[0][0]))
  assert.strictEqual(raw[0][0].toString(), '1')
  assert.strictEqual(raw[0][1], null)
})

test('a __proto__ column is a plain data property, never the prototype', async () => {
  const rows = await sql`select 'x' as "__proto__", 1 as "constructor"`
  assert.strictEqual(Object.getPrototypeOf(rows[0]), Object.prototype)
  assert.deepStrictEqual(Object.keys(rows[0]), ['__proto__', 'constructor'])
  assert.strictEqual(Object.getOwnPropertyDescriptor(rows[0], '__proto__').value, 'x')
})

test('statements without rows report command and count', async () => {
  await sql`create temp table if not exists t_count(id int)`
  const ins = await sql`insert into t_count select generate_series(1, 3)`
  assert.strictEqual(ins.command, 'INSERT')
  assert.strictEqual(ins.count, 3)
  assert.strictEqual(ins.length, 0)
})

test('sql.unsafe with parameters', async () => {
  const rows = await sql.unsafe('select $1::int + $2::int as s', [2, 3])
  assert.deepStrictEqual(rows[0], { s: 5 })
})

test('calling sql() with a non-template array never runs it as SQL', async () => {
  await assert.rejects(async () => sql(JSON.parse('["select 1"]')), (e) => e.code === 'ERR_POSTGRES_NOT_TAGGED_CALL')
})

test('close() waits for running queries, then queries reject with CONNECTION_CLOSED', async () => {
  const own = new SQL(pg.url)
  const running = own`select pg_sleep(0.2), 1 as done`
  running.execute()
  await new Promise((r) => setTimeout(r, 20))
  const closing = own.close()
  const rows = await running
  assert.strictEqual(rows[0].done, 1)
  await closing
  const err = await own`select 1`.then(() => null, (e) => e)
  assert.strictEqual(err.code, 'ERR_POSTGRES_CONNECTION_CLOSED')
  assert.deepStrictEqual(own._stats().live ?? 0, 0)
})

test('close({ timeout: 0 }) fails running queries at once', async () => {
  const own = new SQL(pg.url)
  await own`select 1`
  const running = own`select pg_sleep(5)`.then(() => null, (e) => e)
  await new Promise((r) => setTimeout(r, 30))
  const started = Date.now()
  await own.close({ timeout: 0 })
  const err = await running
  assert.strictEqual(err.code, 'ERR_POSTGRES_CONNECTION_CLOSED')
  assert.ok(Date.now() - started < 1000)
})

test('a terminated backend fails its query with a connection error and the pool heals', async () => {
  const own = new SQL(pg.url, { max: 1 })
  const admin = new SQL(pg.admin)
  try {
    const [{ pid }] = await own`select pg_backend_pid() as pid`
    const running = own`select pg_sleep(5)`.then(() => null, (e) => e)
    await new Promise((r) => setTimeout(r, 50))
    await admin`select pg_terminate_backend(${pid})`
    const err = await running
    assert.ok(err instanceof SQL.PostgresError)
    assert.strictEqual(err.errno, '57P01')
    const [row] = await own`select 2 as ok`
    assert.strictEqual(row.ok, 2)
  } finally {
    await Promise.all([own.close(), admin.close()])
  }
})

test('prepared statements are cached per connection and reused', async () => {
  const own = new SQL(pg.url, { max: 1 })
  try {
    for (let i = 0; i < 5; i++) assert.strictEqual((await own`select ${i}::int as v`)[0].v, i)
    const [{ n }] = await own`select count(*)::int as n from pg_prepared_statements where statement = 'select $1::int as v'`
    assert.strictEqual(n, 1, 'one named statement for five executions')
  } finally {
    await own.close()
  }
})

test('prepare: false uses only unnamed statements', async () => {
  const own = new SQL(pg.url, { max: 1, prepare: false })
  try {
    for (let i = 0; i < 3; i++) assert.strictEqual((await own`select ${i}::int as v`)[0].v, i)
    const [{ n }] = await own`select count(*)::int as n from pg_prepared_statements`
    assert.strictEqual(n, 0)
  } finally {
    await own.close()
  }
})

test('a plan invalidated by DDL is prepared again and the query simply succeeds', async () => {
  const own = new SQL(pg.url, { max: 1 })
  try {
    await own`create temp table plan_change(a int)`
    await own`insert into plan_change values (1)`
    assert.deepStrictEqual([...(await own`select * from plan_change`)], [{ a: 1 }])
    await own`alter table plan_change add column b text`
    assert.deepStrictEqual([...(await own`select * from plan_change`)], [{ a: 1, b: null }])
    await own`alter table plan_change add column c int`
    // Pipelined behind another query on the same connection, too.
    const [x, rows] = await Promise.all([own`select 1 as x`, own`select * from plan_change`])
    assert.strictEqual(x[0].x, 1)
    assert.deepStrictEqual([...rows], [{ a: 1, b: null, c: null }])
  } finally {
    await own.close()
  }
})

test('inside a transaction a stale plan is the answer (the transaction is aborted), not retried', async () => {
  const own = new SQL(pg.url, { max: 1 })
  try {
    await own`create temp table plan_tx(a int)`
    await own`select * from plan_tx`
    await own`alter table plan_tx add column b int`
    const err = await own.begin((tx) => tx`select * from plan_tx`).then(() => null, (e) => e)
    assert.strictEqual(err && err.errno, '0A000')
    assert.deepStrictEqual([...(await own`select * from plan_tx`)], [])
  } finally {
    await own.close()
  }
})

test('a failed Parse is not cached: the same text fails the same way again', async () => {
  const a = await sql`selec ${1}`.then(() => null, (e) => e.errno)
  const b = await sql`selec ${1}`.then(() => null, (e) => e.errno)
  assert.deepStrictEqual([a, b], ['42601', '42601'])
})

test('.simple() and parameterless unsafe() run several statements with one result each', async () => {
  const two = await sql`select 1 as a; select 'x' as b`.simple()
  assert.strictEqual(two.length, 2)
  assert.deepStrictEqual([...two[0]], [{ a: 1 }])
  assert.deepStrictEqual([...two[1]], [{ b: 'x' }])
  const viaUnsafe = await sql.unsafe('select 1 as a; select 2 as b')
  assert.deepStrictEqual(viaUnsafe.map((r) => [...r]), [[{ a: 1 }], [{ b: 2 }]])
  const one = await sql`select 3 as c`.simple()
  assert.deepStrictEqual([...one], [{ c: 3 }])
})

test('1,000 pipelined queries on one connection return their own values in order', async () => {
  const own = new SQL(pg.url, { max: 1 })
  try {
    const all = await Promise.all(Array.from({ length: 1000 }, (_, i) => own`select ${i}::int as i, ${'v' + i}::text as s`))
    all.forEach((r, i) => assert.deepStrictEqual(r[0], { i, s: 'v' + i }))
  } finally {
    await own.close()
  }
})

test('notices reach onnotice in order with the query results; quiet by default', async () => {
  const notices = []
  const own = new SQL(pg.url, { max: 1, onnotice: (n) => notices.push(n) })
  try {
    await own`do $$ begin raise notice 'hello %', 42; raise warning 'careful'; end $$`
    assert.deepStrictEqual(notices.map((n) => [n.severity, n.message]), [['NOTICE', 'hello 42'], ['WARNING', 'careful']])
    assert.strictEqual(notices[0].errno, '00000')
  } finally {
    await own.close()
  }
  const quiet = new SQL(pg.url, { max: 1 })
  try {
    await quiet`do $$ begin raise notice 'nobody listens'; end $$`
  } finally {
    await quiet.close()
  }
})

test('cancel(): a running query is interrupted by a CancelRequest; the connection stays usable', async () => {
  const own = new SQL(pg.url, { max: 1 })
  try {
    const q = own`select pg_sleep(10)`
    const settled = q.then(() => null, (e) => e)
    await new Promise((r) => setTimeout(r, 100))
    const started = Date.now()
    q.cancel()
    assert.strictEqual(q.cancelled, true)
    const err = await settled
    assert.ok(Date.now() - started < 3000)
    assert.ok(err instanceof SQL.PostgresError)
    assert.strictEqual(err.errno, '57014')
    assert.strictEqual(err.code, 'ERR_POSTGRES_SERVER_ERROR') // the server's error, as in Bun.SQL
    assert.deepStrictEqual([...(await own`select 1 as ok`)], [{ ok: 1 }])
  } finally {
    await own.close()
  }
})

test('cancel(): a query pipelined behind another is cancelled when its turn comes', async () => {
  const own = new SQL(pg.url, { max: 1 })
  try {
    const busy = own`select pg_sleep(0.2)`.then(() => 'done')
    const follower = own`select pg_sleep(10)`
    const settled = follower.then(() => null, (e) => e)
    await new Promise((r) => setTimeout(r, 50))
    const started = Date.now()
    follower.cancel()
    // It rejects at once (Bun.SQL), before the query ahead of it ends.
    const first = await Promise.race([settled, busy])
    assert.strictEqual(first.code, 'ERR_POSTGRES_QUERY_CANCELLED')
    assert.strictEqual(first.message, 'Query cancelled')
    assert.match(first.hint, /already received this query/)
    assert.strictEqual(await busy, 'done', 'the query running first is not hit')
    // ...and the server interrupted it when its turn came: the next query does not wait 10 s.
    assert.deepStrictEqual([...await own`select 1 as x`], [{ x: 1 }])
    assert.ok(Date.now() - started < 3000)
  } finally {
    await own.close()
  }
})

test('cancel() before the query is used: it is never sent', async () => {
  const own = new SQL(pg.url, { max: 1 })
  try {
    const never = own`select 2`
    never.cancel()
    assert.strictEqual((await never.then(() => null, (e) => e)).code, 'ERR_POSTGRES_QUERY_CANCELLED')
    assert.strictEqual(own._stats(), null, 'no connection was even opened')
  } finally {
    await own.close()
  }
})

test('a long result streams in batches and every cell lands in the right row', async () => {
  const rows = await sql`
    select g as id,
           case when g % 7 = 0 then null else repeat(chr(233), g % 5) || '✓' || g::text || '𝄞' end as label,
           g % 3 = 0 as three, (g * 1.5)::float8 as f,
           timestamptz '2024-01-01 00:00:00+00' + g * interval '1 second' as at,
           case when g % 11 = 0 then null else json_build_object('g', g) end as doc
    from generate_series(1, 60000) g`
  assert.strictEqual(rows.length, 60000)
  for (const g of [1, 7, 11, 4999, 30001, 60000]) {
    const r = rows[g - 1]
    assert.strictEqual(r.id, g)
    assert.strictEqual(r.label, g % 7 === 0 ? null : 'é'.repeat(g % 5) + '✓' + g + '𝄞')
    assert.strictEqual(r.three, g % 3 === 0)
    assert.strictEqual(r.f, g * 1.5)
    assert.strictEqual(r.at.getTime(), Date.UTC(2024, 0, 1) + g * 1000)
    assert.deepStrictEqual(r.doc, g % 11 === 0 ? null : { g })
  }
})

test('server error fields: detail, schema, table, column, constraint, routine...', async () => {
  const own = new SQL(pg.url, { max: 1 })
  try {
    await own`create temp table err_fields(id int primary key, name text not null check (name <> ''))`
    await own`insert into err_fields values (1, 'a')`
    const dup = await own`insert into err_fields values (1, 'b')`.then(() => null, (e) => e)
    assert.strictEqual(dup.errno, '23505')
    assert.strictEqual(dup.code, 'ERR_POSTGRES_SERVER_ERROR')
    assert.strictEqual(dup.severity, 'ERROR')
    assert.strictEqual(dup.table, 'err_fields')
    assert.strictEqual(dup.constraint, 'err_fields_pkey')
    assert.match(dup.detail, /Key \(id\)=\(1\) already exists/)
    assert.ok(dup.schema.startsWith('pg_temp'))
    assert.ok(dup.file && dup.line && dup.routine)
    const notNull = await own`insert into err_fields values (2, ${null})`.then(() => null, (e) => e)
    assert.strictEqual(notNull.errno, '23502')
    assert.strictEqual(notNull.column, 'name')
    const hint = await own`select * from err_fields where nme = 1`.then(() => null, (e) => e)
    assert.strictEqual(hint.errno, '42703')
    assert.ok(hint.position > 0)
    const where = await own`do $$ begin perform 1/0; end $$`.then(() => null, (e) => e)
    assert.match(where.where, /PL\/pgSQL function/)
  } finally {
    await own.close()
  }
})
