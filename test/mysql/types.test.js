'use strict'
// Every MySQL type both ways against MariaDB, through prepared statements (binary rows) and
// through .simple() (text rows): both decoders must give the same JS values.

const { test, before, after } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { mysql } = require('../helpers/env.js')

let sql
before(async () => {
  sql = new SQL(mysql.url, { max: 2 })
  await sql`drop table if exists types_t`
  await sql`create table types_t (
    id int primary key,
    ti tinyint, si smallint, mi mediumint, i int, bi bigint, ubi bigint unsigned, ui int unsigned,
    f float, d double, dec1 decimal(20,6), b1 bit(8), yr year,
    dt date, dtm datetime(6), ts timestamp(3) null, tm time(6),
    c char(4), vc varchar(40), tx text, bl blob, vb varbinary(16), en enum('a','b'), st set('x','y'),
    js json
  )`
})
after(() => sql.close())

const row = {
  id: 1, ti: -128, si: -32768, mi: 8388607, i: -2147483648, bi: '-9223372036854775808',
  ubi: '18446744073709551615', ui: 4294967295, f: 1.1, d: 1.7976931348623157e308,
  dec1: '12345678901234.123456', yr: 2024,
  dt: new Date('2024-02-29T00:00:00.000Z'), dtm: new Date('2024-02-29T23:59:58.123Z'),
  ts: new Date('2038-01-19T03:14:07.999Z'), tm: '-838:59:59.000000',
  c: 'abcd', vc: 'héllo wörld 🙂', tx: 'x'.repeat(10000), bl: Buffer.from([0, 1, 2, 253, 254, 255]),
  // MariaDB's JSON is a LONGTEXT on the wire; its extended metadata (format "json", asked for
  // with MARIADB_CLIENT_EXTENDED_METADATA) marks it, so it is parsed as MySQL's JSON is.
  vb: Buffer.from('00ff10', 'hex'), en: 'b', st: 'x,y', js: { k: [1, 2, null], s: 'é😀' },
}

function check(got, how) {
  for (const [k, v] of Object.entries(row)) {
    if (k === 'bi' || k === 'ubi') continue // checked below (BIGINT outside 32 bits stays a string)
    assert.deepStrictEqual(got[k], v, `${how}: column ${k}`)
  }
  assert.strictEqual(got.bi, '-9223372036854775808', `${how}: bigint`)
  assert.strictEqual(got.ubi, '18446744073709551615', `${how}: unsigned bigint`)
  assert.deepStrictEqual(got.b1, Buffer.from([0xa5]), `${how}: bit(8)`)
}

test('every type round-trips: parameters in, binary rows and text rows out', async () => {
  await sql`insert into types_t ${sql({ ...row, bi: -9223372036854775808n, ubi: 18446744073709551615n, b1: Buffer.from([0xa5]) })}`
  const [binary] = await sql`select * from types_t where id = ${1}`
  check(binary, 'prepared')
  const [text] = await sql.unsafe('select * from types_t where id = 1').simple()
  check(text, 'simple')
})

test('NULL in every column, both protocols', async () => {
  await sql`insert into types_t (id) values (${2})`
  for (const [r] of [await sql`select * from types_t where id = ${2}`, await sql.unsafe('select * from types_t where id = 2').simple()]) {
    for (const [k, v] of Object.entries(r)) if (k !== 'id') assert.strictEqual(v, null, k)
  }
})

test('BIGINT: a number when it fits 32 bits, else a string; BigInt with bigint: true', async () => {
  const [r] = await sql`select cast(${2147483647} as signed) as a, cast(4294967295 as unsigned) as b, cast(4294967296 as signed) as c, cast(-2147483648 as signed) as d`
  assert.deepStrictEqual({ ...r }, { a: 2147483647, b: 4294967295, c: '4294967296', d: -2147483648 })
  // ZEROFILL: the text protocol pads to 20 digits, so the length alone does not tell the range.
  await sql`drop table if exists types_zf`
  await sql`create table types_zf (z bigint(20) zerofill, w bigint(20) zerofill)`
  try {
    await sql`insert into types_zf values (7, 12345678901234)`
    const [text] = await sql.unsafe('select z, w from types_zf')
    const [binary] = await sql`select z, w from types_zf where z = ${7}`
    assert.deepStrictEqual({ ...text }, { z: 7, w: '00000012345678901234' }, 'text protocol')
    assert.deepStrictEqual({ ...binary }, { z: 7, w: '12345678901234' }, 'binary protocol')
  } finally {
    await sql`drop table types_zf`
  }
  const big = new SQL(mysql.url, { bigint: true, max: 1 })
  try {
    const [b] = await big`select bi as a, ubi as b, i as c from types_t where id = 1`
    assert.deepStrictEqual({ ...b }, { a: -9223372036854775808n, b: 18446744073709551615n, c: -2147483648 })
    await big`insert into types_t (id, bi) values (3, ${1})`
    const [small] = await big`select bi from types_t where id = 3`
    assert.strictEqual(small.bi, 1, 'a BIGINT that fits int32 is a number even with bigint: true (measured on Bun 1.4.5)')
  } finally {
    await big.close()
  }
})

test('parameters keep their JS type: numbers, strings, booleans, dates, bytes, JSON, null', async () => {
  const d = new Date('2001-02-03T04:05:06.789Z')
  const [r] = await sql`select ${1} + 1 as n, ${1.5} * 2 as f, ${'a'} as s, ${true} as t, ${false} as fa,
    ${d} as d, ${Buffer.from('hi')} as b, ${{ a: 1 }} as j, ${null} as z, ${[1, 'x']} as arr`
  assert.strictEqual(r.n, 2)
  assert.strictEqual(r.f, 3)
  assert.strictEqual(r.s, 'a')
  assert.strictEqual(r.t, 1)
  assert.strictEqual(r.fa, 0)
  assert.strictEqual(r.d.getTime(), d.getTime())
  assert.deepStrictEqual(r.b, Buffer.from('hi'))
  assert.deepStrictEqual(JSON.parse(r.j), { a: 1 })
  assert.strictEqual(r.z, null)
  assert.deepStrictEqual(JSON.parse(r.arr), [1, 'x'])
})

test('numbers go as BIGINT or DOUBLE wire values: extremes, -0 and fractions are exact, NaN/Infinity refused', async () => {
  const n = [0, -0, 1, -1, 2147483648, 9007199254740991, -9007199254740991, 0.1, -2.5, 1e300, 5e-324, 2 ** 53 + 2]
  // CAST(? AS CHAR) shows the value the server received, as MariaDB prints it.
  const [r] = await sql`select ${n[0]} as a, ${n[1]} as b, ${n[2]} as c, ${n[3]} as d,
    cast(${n[4]} as char) as e, cast(${n[5]} as char) as f, cast(${n[6]} as char) as g,
    ${n[7]} as h, ${n[8]} as i, ${n[9]} as j, ${n[10]} as k, ${n[11]} as l`
  assert.deepStrictEqual([r.a, r.b, r.c, r.d], [0, 0, 1, -1])
  assert.deepStrictEqual([r.e, r.f, r.g], ['2147483648', '9007199254740991', '-9007199254740991'])
  assert.deepStrictEqual([r.h, r.i, r.j, r.k, r.l], [0.1, -2.5, 1e300, 5e-324, 2 ** 53 + 2])
  // Beside a Buffer the parameters go as an array (numbers as text): the same values.
  const [m] = await sql`select ${Buffer.from('x')} as b, ${7} + 0 as n, ${0.1} as f`
  assert.deepStrictEqual([m.b, m.n, m.f], [Buffer.from('x'), 7, 0.1])
  for (const v of [NaN, Infinity, -Infinity]) {
    const err = await sql`select ${v} as x`.then(() => null, (e) => e)
    assert.strictEqual(err && err.code, 'ERR_MYSQL_INVALID_QUERY_BINDING', String(v))
  }
  // In a transaction (a lease: the numbers ride with the slot arguments).
  const [t] = await sql.begin((tx) => tx`select ${42} as v, ${1.5} as w`)
  assert.deepStrictEqual([t.v, t.w], [42, 1.5])
})

test('zero dates read as Invalid Date; TIME stays a string with its fraction', async () => {
  const [r] = await sql.unsafe("select cast('0000-00-00' as date) as z, cast('10:11:12.5' as time(1)) as t").simple()
  assert.ok(r.z === null || Number.isNaN(r.z.getTime()), String(r.z))
  assert.strictEqual(r.t, '10:11:12.5')
})

test('a BigInt outside 64 bits and an Invalid Date are binding errors, sent nowhere', async () => {
  for (const v of [2n ** 64n, new Date(NaN)]) {
    const err = await sql`select ${v} as x`.then(() => null, (e) => e)
    assert.ok(err instanceof SQL.MySQLError)
    assert.strictEqual(err.code, 'ERR_MYSQL_INVALID_QUERY_BINDING')
  }
  assert.strictEqual((await sql`select 1 as x`)[0].x, 1)
})

test('values() and raw() shapes', async () => {
  const v = await sql`select 1 as a, 'b' as b`.values()
  assert.deepStrictEqual(v.map((r) => [...r]), [[1, 'b']])
  const raw = await sql`select 1 as a, 'b' as b`.raw()
  assert.deepStrictEqual(raw[0].map(String), ['1', 'b'])
})
