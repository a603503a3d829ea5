'use strict'
// The PostgreSQL <-> JS type mapping (lib/types.js, lib/params.js) against the real server:
// values written as SQL literals, bound as parameters, and read back from table columns.

const { test, before, after } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')

let sql // a pool
let one // one connection: session settings (SET) and temp tables stay on it
before(() => {
  sql = new SQL(pg.url, { max: 3 })
  one = new SQL(pg.url, { max: 1 })
})
after(() => Promise.all([sql.close(), one.close()]))

async function row(query) {
  const rows = await query
  assert.strictEqual(rows.length, 1)
  return rows[0]
}

const utc = (...args) => new Date(Date.UTC(...args))

// Date.UTC maps years 0..99 to 1900..1999; this does not.
function utcYear(year, month, day, h = 0, m = 0, s = 0, ms = 0) {
  const d = new Date(Date.UTC(2000, month - 1, day, h, m, s, ms))
  d.setUTCFullYear(year)
  return d
}

function assertDate(actual, expected, label) {
  assert.ok(actual instanceof Date, `${label}: a Date, got ${typeof actual} ${actual}`)
  assert.strictEqual(actual.getTime(), expected.getTime(), `${label}: ${actual.toISOString?.()} vs ${expected.toISOString()}`)
}

// --- results: scalars --------------------------------------------------------------------------

test('integers: int2/int4/oid are numbers, int8 is a string', async () => {
  const r = await row(sql`select 32767::int2 as i2, (-32768)::int2 as i2n, 2147483647::int4 as i4,
    (-2147483648)::int4 as i4n, 4294967295::oid as o, 9223372036854775807::int8 as i8,
    (-9223372036854775808)::int8 as i8n, 0::int8 as zero`)
  assert.deepStrictEqual(r, {
    i2: 32767, i2n: -32768, i4: 2147483647, i4n: -2147483648, o: 4294967295,
    i8: '9223372036854775807', i8n: '-9223372036854775808', zero: '0',
  })
})

test('int8 is a BigInt with { bigint: true }, also inside arrays', async () => {
  const big = new SQL(pg.url, { bigint: true, max: 1 })
  try {
    const r = await row(big`select 9223372036854775807::int8 as a, (-9223372036854775808)::int8 as b,
      ${'12'}::int8 as c, array[1, null, -9223372036854775808]::int8[] as arr, 5::int4 as i4`)
    assert.deepStrictEqual(r, { a: 9223372036854775807n, b: -9223372036854775808n, c: 12n, arr: [1n, null, -9223372036854775808n], i4: 5 })
    const bound = await row(big`select ${9223372036854775807n} as v, ${-5n}::int8 as w`)
    assert.deepStrictEqual(bound, { v: 9223372036854775807n, w: -5n })
  } finally {
    await big.close()
  }
  // ... and the option does not leak into other instances sharing the same row shape.
  const r = await row(sql`select 9223372036854775807::int8 as a, (-9223372036854775808)::int8 as b,
      ${'12'}::int8 as c, array[1, null, -9223372036854775808]::int8[] as arr, 5::int4 as i4`)
  assert.deepStrictEqual(r.arr, ['1', null, '-9223372036854775808'])
  assert.strictEqual(r.a, '9223372036854775807')
})

test('floats: float4/float8 numbers, NaN and ±Infinity; numeric stays an exact string', async () => {
  const r = await row(sql`select 1.5::float4 as f4, 0.1::float8 as f8, 1e300::float8 as huge,
    5e-324::float8 as tiny, 'NaN'::float8 as nan, 'Infinity'::float8 as inf, '-Infinity'::float4 as ninf,
    '-0'::float8 as negzero, 12345678901234567890.123456789::numeric as num, 'NaN'::numeric as nnan,
    1.50::numeric(10,2) as scaled, 12.34::money as cash`)
  assert.strictEqual(r.f4, 1.5)
  assert.strictEqual(r.f8, 0.1)
  assert.strictEqual(r.huge, 1e300)
  assert.strictEqual(r.tiny, 5e-324)
  assert.ok(Number.isNaN(r.nan))
  assert.strictEqual(r.inf, Infinity)
  assert.strictEqual(r.ninf, -Infinity)
  assert.ok(Object.is(r.negzero, -0))
  assert.strictEqual(r.num, '12345678901234567890.123456789')
  assert.strictEqual(r.nnan, 'NaN')
  assert.strictEqual(r.scaled, '1.50')
  assert.strictEqual(r.cash, '$12.34')
})

test('bool, and the string types: text/varchar/bpchar/name/"char"/citext/enum', async () => {
  await sql`create extension if not exists citext`
  const r = await row(one`select true as t, false as f, 'héllo ✓ 𝄞'::text as txt, 'v'::varchar(5) as vc,
    'ab'::char(4) as bp, 'nm'::name as nm, 'c'::"char" as ch, 'MiXeD'::citext as ci, ''::text as empty`)
  assert.deepStrictEqual(r, { t: true, f: false, txt: 'héllo ✓ 𝄞', vc: 'v', bp: 'ab  ', nm: 'nm', ch: 'c', ci: 'MiXeD', empty: '' })
  await one`create type pg_temp.mood as enum ('happy', 'sad')`
  const e = await row(one`select 'sad'::pg_temp.mood as m, array['happy', null]::pg_temp.mood[] as ms`)
  assert.strictEqual(e.m, 'sad')
  assert.strictEqual(e.ms, '{happy,NULL}', 'an array of a type unknown to the client stays its text')
})

test('json and jsonb are parsed (objects, arrays, scalars, null, unicode)', async () => {
  const r = await row(sql`select '{"a":[1,2,{"b":null}],"s":"é\\u00e9","n":1.5e3}'::jsonb as jb,
    '[1,"x",true]'::json as j, '"str"'::jsonb as s, '42'::json as n, 'null'::jsonb as jn, null::jsonb as sqlnull`)
  assert.deepStrictEqual(r, { jb: { a: [1, 2, { b: null }], s: 'éé', n: 1500 }, j: [1, 'x', true], s: 'str', n: 42, jn: null, sqlnull: null })
})

test('json over many batches: one JSON array per batch keeps every document in its row', async () => {
  // Enough rows for several partial batches (src/napi/js_outbox.c), with NULLs, non-ASCII and
  // text cells between the documents.
  const rows = await sql`select i, case when i % 7 = 0 then null else jsonb_build_object('i', i, 's', 'é' || i) end as d,
    'x' || i as t, json_build_array(i, 'ü') as a from generate_series(1, 5000) as i`
  assert.strictEqual(rows.length, 5000)
  for (const r of rows) {
    assert.deepStrictEqual(r.d, r.i % 7 === 0 ? null : { i: r.i, s: 'é' + r.i })
    assert.strictEqual(r.t, 'x' + r.i)
    assert.deepStrictEqual(r.a, [r.i, 'ü'])
  }
  const v = await sql`select '{"k":1}'::jsonb as a, null::json as b, '[2]'::json as c`.values()
  assert.deepStrictEqual(Array.from(v), [[{ k: 1 }, null, [2]]])
})

test('bytea decodes to a Buffer in the hex and in the legacy escape output format', async () => {
  const all = Buffer.from(Array.from({ length: 256 }, (_, i) => i))
  const r = await row(one`select ${all}::bytea as b, ''::bytea as e, '\\x'::bytea as e2`)
  assert.ok(Buffer.isBuffer(r.b))
  assert.deepStrictEqual(r.b, all)
  assert.deepStrictEqual(r.e, Buffer.alloc(0))
  assert.deepStrictEqual(r.e2, Buffer.alloc(0))
  await one`set bytea_output = 'escape'`
  try {
    const esc = await row(one`select ${all}::bytea as b, 'a\\\\b'::bytea as bs, 'plain'::bytea as p, array[${Buffer.from([0, 92, 255])}::bytea, null] as arr`)
    assert.deepStrictEqual(esc.b, all)
    assert.deepStrictEqual(esc.bs, Buffer.from('a\\b'))
    assert.deepStrictEqual(esc.p, Buffer.from('plain'))
    assert.deepStrictEqual(esc.arr, [Buffer.from([0, 92, 255]), null])
  } finally {
    await one`set bytea_output = 'hex'`
  }
})

test('date is a Date at UTC midnight; timestamp (without time zone) is read as UTC', async () => {
  const r = await row(sql`select '2024-02-29'::date as d, '1900-01-01'::date as old, '0044-03-15 BC'::date as bc,
    '12345-06-07'::date as far, '2024-01-02 03:04:05.123456'::timestamp as ts, '2024-01-02 03:04:05'::timestamp as whole,
    '2024-01-02 03:04:05.5'::timestamp as half, '0001-01-01 00:00:00 BC'::timestamp as tsbc`)
  assertDate(r.d, utc(2024, 1, 29), 'date')
  assertDate(r.old, utc(1900, 0, 1), 'date 1900')
  assertDate(r.bc, utcYear(-43, 3, 15), 'date BC')
  assertDate(r.far, utcYear(12345, 6, 7), 'date 12345')
  assertDate(r.ts, utc(2024, 0, 2, 3, 4, 5, 123), 'timestamp micros truncated to ms')
  assertDate(r.whole, utc(2024, 0, 2, 3, 4, 5), 'timestamp whole seconds')
  assertDate(r.half, utc(2024, 0, 2, 3, 4, 5, 500), 'timestamp .5')
  assertDate(r.tsbc, utcYear(0, 1, 1), 'timestamp 1 BC')
})

test('timestamptz: offsets, fractions, BC, in any session TimeZone', async () => {
  const expected = utc(2024, 0, 1, 21, 34, 5, 123) // 2024-01-02 03:04:05.123456+05:30
  for (const tz of ['UTC', 'Asia/Kolkata', 'America/St_Johns', 'America/Los_Angeles', 'Pacific/Chatham']) {
    await one`select set_config('TimeZone', ${tz}, false)`
    const r = await row(one`select '2024-01-02 03:04:05.123456+05:30'::timestamptz as a,
      '2024-06-30 23:59:59.999999-07'::timestamptz as b, '1900-01-01 00:00:00+00'::timestamptz as old,
      '0044-03-15 12:00:00+00 BC'::timestamptz as bc, '2000-01-01 00:00:00.1+00'::timestamptz as tenth,
      '2000-01-01 00:00:00.12+00'::timestamptz as hundredth, current_setting('TimeZone') as zone,
      ('2024-01-02 03:04:05.123456+05:30'::timestamptz)::text as text`)
    assert.strictEqual(r.zone, tz)
    assertDate(r.a, expected, `+05:30 in ${tz} (${r.text})`)
    assertDate(r.b, utc(2024, 6, 1, 6, 59, 59, 999), `-07 in ${tz}`)
    assertDate(r.old, utc(1900, 0, 1), `1900 in ${tz} (LMT offsets with seconds)`)
    assertDate(r.bc, utcYear(-43, 3, 15, 12), `BC in ${tz}`)
    assertDate(r.tenth, utc(2000, 0, 1, 0, 0, 0, 100), `.1 in ${tz}`)
    assertDate(r.hundredth, utc(2000, 0, 1, 0, 0, 0, 120), `.12 in ${tz}`)
  }
  await one`set TimeZone = 'Europe/Amsterdam'`
  const lmt = await row(one`select '1900-01-01 00:00:00+00'::timestamptz as t, '1900-01-01 00:00:00+00'::timestamptz::text as s`)
  assert.match(lmt.s, /\+00:19:32$/, 'an offset with seconds is really exercised')
  assertDate(lmt.t, utc(1900, 0, 1), 'offset with seconds')
  await one`set TimeZone = 'UTC'`
})

test('±infinity dates and timestamps are the numbers ±Infinity (measured on Bun 1.4.5), in arrays too', async () => {
  for (const simple of [false, true]) {
    const q = sql`select 'infinity'::timestamptz as a, '-infinity'::timestamptz as b,
      'infinity'::timestamp as c, '-infinity'::date as d, array['infinity'::date, '2024-01-01', '-infinity'] as arr`
    const r = await row(simple ? q.simple() : q)
    assert.deepStrictEqual([r.a, r.b, r.c, r.d], [Infinity, -Infinity, Infinity, -Infinity])
    assert.deepStrictEqual([r.arr[0], r.arr[2]], [Infinity, -Infinity])
    assertDate(r.arr[1], utc(2024, 0, 1), 'finite element')
  }
})

test('a non-ISO DateStyle still decodes (slow path)', async () => {
  await one`set DateStyle = 'SQL, MDY'`
  try {
    const r = await row(one`select '2024-01-02 03:04:05.678+00'::timestamptz as t, '2024-01-02'::date as d, '2024-01-02'::date::text as s`)
    assert.strictEqual(r.s, '01/02/2024')
    assertDate(r.t, utc(2024, 0, 2, 3, 4, 5, 678), 'SQL DateStyle timestamptz')
  } finally {
    await one`set DateStyle = 'ISO, MDY'`
  }
})

test('time, timetz, interval, uuid and other types are strings', async () => {
  const r = await row(sql`select '03:04:05.123456'::time as t, '03:04:05+05:30'::timetz as tz,
    '1 year 2 mons 3 days 04:05:06'::interval as i, 'A0EEBC99-9C0B-4EF8-BB6D-6BB9BD380A11'::uuid as u,
    '192.168.0.1/24'::inet as ip, '(1,2)'::point as pt, '<(1,2),3>'::circle as c, B'101'::bit(3) as bits,
    '1 2 3'::int2vector as iv, 'a=>1'::text as ht`)
  assert.deepStrictEqual(r, {
    t: '03:04:05.123456', tz: '03:04:05+05:30', i: '1 year 2 mons 3 days 04:05:06',
    u: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', ip: '192.168.0.1/24', pt: '(1,2)', c: '<(1,2),3>', bits: '101',
    iv: '1 2 3', ht: 'a=>1',
  })
})

// --- results: arrays ---------------------------------------------------------------------------

test('arrays of every mapped type, with NULL elements', async () => {
  const r = await row(sql`select
    array[1, null, -3]::int4[] as i4, array[1, null]::int2[] as i2, array['9223372036854775807', null]::int8[] as i8,
    array[1.5, null, 'NaN', 'Infinity', '-Infinity']::float8[] as f8, array[0.5, null]::float4[] as f4,
    array[1.10, null, 'NaN']::numeric[] as num, array[true, null, false] as b, array['a', null]::text[] as t,
    array['v', null]::varchar[] as vc, array['x', null]::char(2)[] as bp, array['n', null]::name[] as nm,
    array[1, null]::oid[] as o, array['{"a":1}', null, '[1,2]', '"s"', 'null']::json[] as j,
    array['{"b":[true]}', null, '3']::jsonb[] as jb,
    array['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', null]::uuid[] as u,
    array['2024-02-29', null]::date[] as d, array['2024-01-02 03:04:05.5', null]::timestamp[] as ts,
    array['2024-01-02 03:04:05.123+05:30', null]::timestamptz[] as tz, array['\\x00ff'::bytea, null, ''] as by,
    array['03:04:05', null]::time[] as tm, array['1 day', null]::interval[] as iv`)
  assert.deepStrictEqual(r.i4, [1, null, -3])
  assert.deepStrictEqual(r.i2, [1, null])
  assert.deepStrictEqual(r.i8, ['9223372036854775807', null])
  assert.strictEqual(r.f8.length, 5)
  assert.deepStrictEqual(r.f8.slice(0, 2), [1.5, null])
  assert.ok(Number.isNaN(r.f8[2]))
  assert.deepStrictEqual(r.f8.slice(3), [Infinity, -Infinity])
  assert.deepStrictEqual(r.f4, [0.5, null])
  assert.deepStrictEqual(r.num, ['1.10', null, 'NaN'])
  assert.deepStrictEqual(r.b, [true, null, false])
  assert.deepStrictEqual(r.t, ['a', null])
  assert.deepStrictEqual(r.vc, ['v', null])
  assert.deepStrictEqual(r.bp, ['x ', null])
  assert.deepStrictEqual(r.nm, ['n', null])
  assert.deepStrictEqual(r.o, [1, null])
  assert.deepStrictEqual(r.j, [{ a: 1 }, null, [1, 2], 's', null])
  assert.deepStrictEqual(r.jb, [{ b: [true] }, null, 3])
  assert.deepStrictEqual(r.u, ['a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', null])
  assert.strictEqual(r.d.length, 2)
  assertDate(r.d[0], utc(2024, 1, 29), 'date[]')
  assert.strictEqual(r.d[1], null)
  assertDate(r.ts[0], utc(2024, 0, 2, 3, 4, 5, 500), 'timestamp[]')
  assert.strictEqual(r.ts[1], null)
  assertDate(r.tz[0], utc(2024, 0, 1, 21, 34, 5, 123), 'timestamptz[]')
  assert.strictEqual(r.tz[1], null)
  assert.deepStrictEqual(r.by, [Buffer.from([0, 255]), null, Buffer.alloc(0)])
  assert.deepStrictEqual(r.tm, ['03:04:05', null])
  assert.deepStrictEqual(r.iv, ['1 day', null])
})

const NASTY = ['a b', 'c"d', 'e\\f', 'g,h', '{i}', 'NULL', 'null', '', ' lead', 'trail ', 'tab\there', 'new\nline',
  'ünï©ødé 𝄞', '\\"', '"', '\\', '}', '{', ',', 'semi;colon']

test('text[] quoting: commas, quotes, backslashes, braces, "NULL", empty strings, unicode', async () => {
  // Built by the server from individual values, then decoded by the client.
  const r = await row(sql`select array[${NASTY[0]}::text, ${NASTY[1]}, ${NASTY[2]}, ${NASTY[3]}, ${NASTY[4]},
    ${NASTY[5]}, ${NASTY[6]}, ${NASTY[7]}, ${NASTY[8]}, ${NASTY[9]}, ${NASTY[10]}, ${NASTY[11]}, ${NASTY[12]},
    ${NASTY[13]}, ${NASTY[14]}, ${NASTY[15]}, ${NASTY[16]}, ${NASTY[17]}, ${NASTY[18]}, ${NASTY[19]}, null] as a`)
  assert.deepStrictEqual(r.a, [...NASTY, null])
  // Encoded by the client as one array literal, checked element by element by the server.
  const checked = await sql`select i, v, v = (${NASTY}::text[])[i] as same
    from unnest(${NASTY}::text[]) with ordinality as u(v, i)`
  assert.strictEqual(checked.length, NASTY.length)
  for (const c of checked) assert.strictEqual(c.v, NASTY[c.i - 1], `element ${c.i}`)
  // And round-tripped whole, with a real NULL next to the string 'NULL'.
  const back = await row(sql`select ${[...NASTY, null]}::text[] as a, ${['NULL', null]}::varchar[] as b`)
  assert.deepStrictEqual(back.a, [...NASTY, null])
  assert.deepStrictEqual(back.b, ['NULL', null])
})

test('multi-dimensional arrays, explicit bounds, empty arrays, box[]', async () => {
  const r = await row(sql`select '{{1,2},{3,NULL}}'::int[] as two, '{{{1},{2}},{{3},{4}}}'::int[] as three,
    '[0:1]={7,8}'::int[] as bounded, '[1:2][3:4]={{1,2},{3,4}}'::int[] as bounded2, '{}'::int[] as empty,
    '{{"a,b","c"},{NULL,"}"}}'::text[] as text2, array['(1,2),(3,4)'::box, '(0,0),(1,1)'::box] as boxes,
    '{}'::box[] as noboxes`)
  assert.deepStrictEqual(r.two, [[1, 2], [3, null]])
  assert.deepStrictEqual(r.three, [[[1], [2]], [[3], [4]]])
  assert.deepStrictEqual(r.bounded, [7, 8])
  assert.deepStrictEqual(r.bounded2, [[1, 2], [3, 4]])
  assert.deepStrictEqual(r.empty, [])
  assert.deepStrictEqual(r.text2, [['a,b', 'c'], [null, '}']])
  assert.deepStrictEqual(r.boxes, ['(3,4),(1,2)', '(1,1),(0,0)'])
  assert.deepStrictEqual(r.noboxes, [])
})

// --- parameters --------------------------------------------------------------------------------

test('parameter types chosen for JS values (checked with pg_typeof)', async () => {
  const r = await row(sql`select pg_typeof(${1})::text as int, pg_typeof(${-2147483648})::text as int32min,
    pg_typeof(${2 ** 31})::text as big, pg_typeof(${1.5})::text as frac, pg_typeof(${2 ** 60})::text as unsafe,
    pg_typeof(${NaN})::text as nan, pg_typeof(${5n})::text as bigint, pg_typeof(${true})::text as bool,
    pg_typeof(${new Date(0)})::text as date, pg_typeof(${Buffer.from('x')})::text as buf,
    pg_typeof(${new Uint16Array(1)})::text as u16, pg_typeof(${new ArrayBuffer(2)})::text as ab,
    pg_typeof(${[1, null]})::text as ints, pg_typeof(${[1, 2 ** 40]})::text as int8s,
    pg_typeof(${[1, 1.5]})::text as floats, pg_typeof(${[1n, 2]})::text as bigints,
    pg_typeof(${[1n, 0.5]})::text as mixednum, pg_typeof(${[true, null]})::text as bools,
    pg_typeof(${[new Date(0)]})::text as dates, pg_typeof(${[Buffer.from('a')]})::text as bufs,
    pg_typeof(${[[1, 2], [3, 4]]})::text as nested`)
  assert.deepStrictEqual(r, {
    int: 'integer', int32min: 'integer', big: 'bigint', frac: 'double precision', unsafe: 'double precision',
    nan: 'double precision', bigint: 'bigint', bool: 'boolean', date: 'timestamp with time zone', buf: 'bytea',
    u16: 'bytea', ab: 'bytea', ints: 'integer[]', int8s: 'bigint[]', floats: 'double precision[]',
    bigints: 'bigint[]', mixednum: 'numeric[]', bools: 'boolean[]', dates: 'timestamp with time zone[]',
    bufs: 'bytea[]', nested: 'integer[]',
  })
})

test('strings, string arrays, empty arrays and objects are left for the server to infer', async () => {
  await sql`create extension if not exists citext`
  const id = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'
  const r = await row(sql`select ${'42'} + 1 as n, ${id}::uuid = any(${[id, '00000000-0000-0000-0000-000000000000']}) as inuuid,
    'MiXeD'::citext = any(${['mixed']}) as inci, ${[]}::int[] as empty, array_length(${[]}::text[], 1) as emptylen,
    ${{ a: 1 }}::jsonb as obj, ${'x'} as s`)
  // An int4[] read with parameters is an Int32Array, as Bun.SQL reads it in binary.
  assert.deepStrictEqual(r, { n: 43, inuuid: true, inci: true, empty: new Int32Array(0), emptylen: null, obj: { a: 1 }, s: 'x' })
})

test('numbers round-trip: int4 limits, int8-sized integers, fractions, NaN, ±Infinity, -0', async () => {
  const values = [0, -0, 1, -1, 2147483647, -2147483648, 2147483648, -2147483649, 2 ** 53 - 1, -(2 ** 53 - 1),
    0.1, -1.5, 1e300, 5e-324, 2 ** 60, 1e21, NaN, Infinity, -Infinity]
  for (const v of values) {
    const r = await row(sql`select ${v}::float8 as f, ${v}::text as t`)
    assert.ok(Object.is(r.f, v), `${v} as float8: ${r.f}`)
    assert.ok(Object.is(Number(r.t), v), `${v} as text: ${r.t}`)
  }
  const ints = await row(sql`select ${2147483647}::int4 as a, ${-2147483648} as b, ${2 ** 53 - 1} as c, ${-0}::float8 as z, pg_typeof(${-0})::text as zt`)
  assert.deepStrictEqual(ints, { a: 2147483647, b: -2147483648, c: String(2 ** 53 - 1), z: -0, zt: 'double precision' })
  const finite = values.filter(Number.isFinite)
  const all = await row(sql`select ${finite}::float8[] as a, ${[NaN, Infinity, -Infinity, null]} as b`)
  assert.deepStrictEqual(all.a, finite)
  assert.ok(Number.isNaN(all.b[0]))
  assert.deepStrictEqual(all.b.slice(1), [Infinity, -Infinity, null])
})

test('scalar parameters round-trip through `select ${v}::type`', async () => {
  const bytes = Buffer.from([0, 1, 2, 253, 254, 255, 92, 34])
  const view = new Uint8Array([9, 8, 7, 6]).subarray(1, 3)
  const r = await row(sql`select ${'héllo ✓ 𝄞 \\ " \''}::text as txt, ${''}::text as empty, ${true}::bool as t,
    ${false} as f, ${null}::int as n, ${undefined}::text as u, ${'12345678901234567890.0000000001'}::numeric as num,
    ${0.25}::float4 as f4, ${32767}::int2 as i2, ${bytes} as by, ${view}::bytea as sub,
    ${new Float32Array([1])}::bytea as f32, ${{ a: [1, 'x', null], b: { c: true } }}::jsonb as jb,
    ${{ s: 'q"\\' }}::json as j, ${[1, { x: 2 }]}::jsonb as jarr, ${'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'}::uuid as uuid,
    ${'03:04:05'}::time as tm, ${'1 day 02:00'}::interval as iv, ${'9223372036854775807'}::int8 as i8`)
  assert.deepStrictEqual(r, {
    txt: 'héllo ✓ 𝄞 \\ " \'', empty: '', t: true, f: false, n: null, u: null, num: '12345678901234567890.0000000001',
    f4: 0.25, i2: 32767, by: bytes, sub: Buffer.from([8, 7]), f32: Buffer.from(new Float32Array([1]).buffer),
    jb: { a: [1, 'x', null], b: { c: true } }, j: { s: 'q"\\' }, jarr: [1, { x: 2 }],
    uuid: 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', tm: '03:04:05', iv: '1 day 02:00:00', i8: '9223372036854775807',
  })
})

test('Dates round-trip as timestamptz, timestamp and date (compare getTime)', async () => {
  const dates = [utc(2024, 0, 2, 3, 4, 5, 678), new Date(0), new Date(-1), utc(1969, 11, 31, 23, 59, 59, 999),
    utc(1900, 0, 1), utcYear(1, 1, 1), utcYear(-43, 3, 15, 12, 0, 0, 1), utcYear(9999, 12, 31, 23, 59, 59, 999),
    utcYear(10000, 1, 1), utcYear(250000, 6, 1, 1, 2, 3, 4)]
  for (const d of dates) {
    const r = await row(one`select ${d} as tz, ${d}::timestamp as ts, ${d}::date as day, ${d}::text as text`)
    assertDate(r.tz, d, `timestamptz ${r.text}`)
    assertDate(r.ts, d, `timestamp ${r.text}`)
    const midnight = new Date(d.getTime() - (((d.getTime() % 86400000) + 86400000) % 86400000))
    assertDate(r.day, midnight, `date ${r.text}`)
  }
  const arr = await row(one`select ${dates} as a, ${[dates[0], null]}::timestamp[] as b, ${[dates[0]]}::date[] as c`)
  assert.strictEqual(arr.a.length, dates.length)
  arr.a.forEach((d, i) => assertDate(d, dates[i], `timestamptz[] element ${i}`))
  assertDate(arr.b[0], dates[0], 'timestamp[]')
  assert.strictEqual(arr.b[1], null)
  assertDate(arr.c[0], utc(2024, 0, 2), 'date[]')
})

test('a Date is an instant: the session TimeZone does not change what comes back', async () => {
  const d = utc(2024, 6, 1, 12, 30, 0, 250)
  try {
    await one`set TimeZone = 'Asia/Kathmandu'`
    const r = await row(one`select ${d} as tz, ${d}::timestamptz::text as local`)
    assert.strictEqual(r.local, '2024-07-01 18:15:00.25+05:45')
    assertDate(r.tz, d, 'timestamptz under +05:45')
  } finally {
    await one`set TimeZone = 'UTC'`
  }
})

test('array parameters: nested, NULLs, every element type, checked by the server', async () => {
  const r = await row(sql`select ${[[1, 2], [3, null]]}::int[] as two, array_dims(${[[1, 2], [3, 4], [5, 6]]}) as dims,
    ${[[[1.5]], [[null]]]} as three, cardinality(${[1, 2, 3]}) as card, ${[true, false, null]} as b,
    ${[1n, null, -9223372036854775808n]} as i8, ${[Buffer.from([1, 2]), null, Buffer.alloc(0)]} as by,
    ${[['a', null], ['"', '\\']]}::text[] as t2, ${[null, null]}::int[] as nulls, ${[undefined]}::text[] as undef,
    ${[1, 'two', true]}::text[] as mixed, ${[{ a: 1 }, { b: [2] }]}::jsonb as objs`)
  assert.deepStrictEqual(r, {
    two: [[1, 2], [3, null]], dims: '[1:3][1:2]', three: [[[1.5]], [[null]]], card: 3, b: [true, false, null],
    i8: ['1', null, '-9223372036854775808'], by: [Buffer.from([1, 2]), null, Buffer.alloc(0)],
    t2: [['a', null], ['"', '\\']], nulls: [null, null], undef: [null], mixed: ['1', 'two', 'true'],
    objs: [{ a: 1 }, { b: [2] }],
  })
  const un = await sql`select x from unnest(${[3, 1, 2]}) as u(x) order by x`
  assert.deepStrictEqual(un.map((x) => x.x), [1, 2, 3])
  const ragged = await sql`select ${[[1, 2], [3]]} as r`.then(() => null, (e) => e)
  assert.ok(ragged instanceof SQL.PostgresError, 'a ragged array is refused by the server')
  assert.strictEqual(ragged.code, 'ERR_POSTGRES_SERVER_ERROR')
})

// --- table columns -----------------------------------------------------------------------------

test('every type through a table column: inserted as parameters, read back', async () => {
  await one`create extension if not exists citext`
  await one`create temp table types_rt (
    i2 int2, i4 int4, i8 int8, f4 float4, f8 float8, num numeric, b bool, t text, vc varchar(20), bp char(3),
    ci citext, by bytea, j json, jb jsonb, d date, ts timestamp, tz timestamptz, tm time, ttz timetz, iv interval,
    u uuid, ai4 int4[], ai8 int8[], af8 float8[], anum numeric[], ab bool[], at text[], avc varchar[], aby bytea[],
    ajb jsonb[], au uuid[], ad date[], ats timestamp[], atz timestamptz[], a2 int4[][])`
  const d = utc(2023, 11, 31, 23, 59, 58, 765)
  const uuid = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'
  const values = {
    i2: -7, i4: 2147483647, i8: 9007199254740991n, f4: 1.25, f8: -0.1, num: '3.14159265358979323846', b: true,
    t: 'line1\nline2 \\ "q"', vc: 'NULL', bp: 'ab', ci: 'CaSe', by: Buffer.from('\x00bytes\xff', 'latin1'),
    j: { k: [1, 2] }, jb: { nested: { ok: true }, n: null }, d, ts: d, tz: d, tm: '23:59:58.765', ttz: '10:00:00-03',
    iv: '2 days', u: uuid, ai4: [1, null, 3], ai8: [1n, 2n ** 62n], af8: [0.5, -Infinity], anum: ['1.5', null],
    ab: [false, true], at: NASTY, avc: ['x', null, 'NULL'], aby: [Buffer.from([255]), null], au: [uuid, null],
    ajb: ['{"a":1}', null], ad: [d], ats: [d, null], atz: [d], a2: [[1, 2], [3, 4]],
  }
  const cols = Object.keys(values)
  await one.unsafe(`insert into types_rt (${cols.join(', ')}) values (${cols.map((_, i) => '$' + (i + 1)).join(', ')})`,
    cols.map((c) => values[c]))
  // Also a row of NULLs, and the same row written by the server from SQL literals.
  await one`insert into types_rt (i4) values (null)`
  await one`insert into types_rt (i4, at, a2, atz) values (1, '{"a b",NULL,"NULL",""}', '{{1,2},{3,4}}', '{"2024-01-02 03:04:05.5+01"}')`
  const rows = await one`select * from types_rt order by i4 nulls first`
  assert.strictEqual(rows.length, 3)
  for (const c of cols) assert.strictEqual(rows[0][c], null, `NULL ${c}`)
  const r = rows[2]
  assert.deepStrictEqual({ i2: r.i2, i4: r.i4, i8: r.i8, f4: r.f4, f8: r.f8, num: r.num, b: r.b },
    { i2: -7, i4: 2147483647, i8: '9007199254740991', f4: 1.25, f8: -0.1, num: '3.14159265358979323846', b: true })
  assert.deepStrictEqual({ t: r.t, vc: r.vc, bp: r.bp, ci: r.ci, by: r.by, j: r.j, jb: r.jb },
    { t: values.t, vc: 'NULL', bp: 'ab ', ci: 'CaSe', by: values.by, j: values.j, jb: values.jb })
  assertDate(r.d, utc(2023, 11, 31), 'date column')
  assertDate(r.ts, d, 'timestamp column')
  assertDate(r.tz, d, 'timestamptz column')
  assert.deepStrictEqual({ tm: r.tm, ttz: r.ttz, iv: r.iv, u: r.u },
    { tm: '23:59:58.765', ttz: '10:00:00-03', iv: '2 days', u: uuid })
  assert.deepStrictEqual({ ai4: r.ai4, ai8: r.ai8, af8: r.af8, anum: r.anum, ab: r.ab, at: r.at, avc: r.avc, aby: r.aby, au: r.au, ajb: r.ajb, a2: r.a2 },
    { ai4: [1, null, 3], ai8: ['1', String(2n ** 62n)], af8: [0.5, -Infinity], anum: ['1.5', null], ab: [false, true],
      at: NASTY, avc: ['x', null, 'NULL'], aby: [Buffer.from([255]), null], au: [uuid, null], ajb: [{ a: 1 }, null], a2: [[1, 2], [3, 4]] })
  assertDate(r.ad[0], utc(2023, 11, 31), 'date[] column')
  assertDate(r.ats[0], d, 'timestamp[] column')
  assert.strictEqual(r.ats[1], null)
  assertDate(r.atz[0], d, 'timestamptz[] column')
  const lit = rows[1]
  assert.deepStrictEqual(lit.at, ['a b', null, 'NULL', ''])
  assert.deepStrictEqual(lit.a2, [[1, 2], [3, 4]])
  assertDate(lit.atz[0], utc(2024, 0, 2, 2, 4, 5, 500), 'timestamptz[] literal')
  // The same columns read with .values() go through the same parsers.
  const [vals] = await one`select ai4, tz from types_rt where i4 = 2147483647`.values()
  assert.deepStrictEqual(vals[0], [1, null, 3])
  assertDate(vals[1], d, 'values() mode')
})

test('where-clause parameters match columns of the inferred type', async () => {
  await one`create temp table types_where (id int8 primary key, u uuid, name varchar(10), at timestamptz)`
  const u = 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'
  const at = utc(2024, 0, 1, 12)
  await one`insert into types_where values (${2 ** 40}, ${u}, ${'x'}, ${at}), (${1}, ${null}, ${'y'}, ${null})`
  const r = await one`select id from types_where where id = ${2 ** 40} and u = ${u} and name = any(${['x', 'z']})
    and at = ${at} and at > ${new Date(at.getTime() - 1)} and id = any(${[2 ** 40, 5]})`
  assert.deepStrictEqual([...r], [{ id: String(2 ** 40) }])
  const byString = await one`select name from types_where where id = ${'1'}`
  assert.deepStrictEqual([...byString], [{ name: 'y' }])
})

// --- binding errors ----------------------------------------------------------------------------

test('values that cannot be bound fail with ERR_POSTGRES_INVALID_QUERY_BINDING before anything is sent', async () => {
  await one`create temp table types_sent (v text)`
  class ThrowingToString { toString() { throw new Error('toString boom') } }
  class ThrowingValueOf { toString() { return {} } valueOf() { throw new Error('valueOf boom') } }
  const cyclic = { a: 1 }
  cyclic.self = cyclic
  const bad = [
    ['throwing toString', new ThrowingToString(), /toString boom/],
    ['throwing valueOf', new ThrowingValueOf(), /valueOf boom/],
    ['throwing toJSON', { toJSON() { throw new Error('toJSON boom') } }, /toJSON boom/],
    ['throwing toJSON in an array', [{ toJSON() { throw new Error('nested boom') } }], /nested boom/],
    ['throwing toString in a mixed array', ['ok', new ThrowingToString()], /toString boom/],
    ['cyclic object', cyclic, /circular/i],
    ['BigInt inside JSON', { n: 1n }, /BigInt/],
    ['Invalid Date', new Date(NaN), /Invalid Date/],
    ['Invalid Date in an array', [new Date(NaN)], /Invalid Date/],
    ['symbol', Symbol('s'), /symbol/],
    ['function', () => 1, /function/],
    ['boxed Number', Object(5), /boxed/],
    ['symbol in an array', [Symbol('s')], /symbol/],
  ]
  for (const [label, value, message] of bad) {
    const q = one`insert into types_sent values (${'marker'}), (${value})`
    const err = await q.then(() => null, (e) => e)
    assert.ok(err instanceof SQL.PostgresError, `${label}: ${err}`)
    assert.strictEqual(err.code, 'ERR_POSTGRES_INVALID_QUERY_BINDING', label)
    assert.match(err.message, message, label)
  }
  const unsafeErr = await one.unsafe('insert into types_sent values ($1)', [new ThrowingToString()]).then(() => null, (e) => e)
  assert.strictEqual(unsafeErr && unsafeErr.code, 'ERR_POSTGRES_INVALID_QUERY_BINDING')
  const [{ n }] = await one`select count(*)::int as n from types_sent`
  assert.strictEqual(n, 0, 'no statement with a bad value reached the server')
  // The pool and the connection still work afterwards.
  assert.deepStrictEqual([...(await sql`select ${'still'} || ${'fine'} as v`)], [{ v: 'stillfine' }])
  await one`insert into types_sent values (${'good'})`
  assert.deepStrictEqual([...(await one`select v from types_sent`)], [{ v: 'good' }])
})

test('objects with toJSON or their own toString are sent as their text', async () => {
  class Money { constructor(c) { this.cents = c } toString() { return (this.cents / 100).toFixed(2) } }
  const decimalLike = { __proto__: { toJSON() { return '12.50' } } }
  const r = await row(sql`select ${new Money(1234)}::numeric as m, ${decimalLike}::numeric as d,
    ${new URL('https://example.com/a?b=1')} as url, ${new URLSearchParams({ a: '1', b: 'x y' })} as qs,
    ${Object('boxed string')} as str, ${{ toJSON() { return { k: 1 } } }}::jsonb as plain`)
  assert.deepStrictEqual(r, { m: '12.34', d: '12.50', url: 'https://example.com/a?b=1', qs: 'a=1&b=x+y', str: 'boxed string', plain: { k: 1 } })
})
