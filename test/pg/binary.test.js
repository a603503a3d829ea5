'use strict'
// Columns the server sends in binary format although uvsql asks for text: the FETCH of a
// BINARY cursor (src/pg/pg_binary.c). The types Bun.SQL 1.4.5 decodes there read as their text
// format reads (float4: the float32's exact value, int4[] / float4[]: an Int32Array /
// Float32Array, as in Bun); the
// others fail with ERR_POSTGRES_UNKNOWN_FORMAT_CODE; a datum of the wrong length is
// ERR_POSTGRES_INVALID_BINARY_DATA (a scripted server: PostgreSQL never sends one).

const { test, before, after } = require('node:test')
const assert = require('node:assert')
const net = require('node:net')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')

let db
before(() => {
  db = new SQL(pg.url, { max: 1 })
})
after(() => db.close())

// The rows of `select` through a cursor, BINARY or not.
function fetch(select, binary) {
  return db.begin(async (tx) => {
    await tx.unsafe(`declare bin_c ${binary ? 'binary ' : ''}cursor for ${select}`)
    return [...await tx.unsafe('fetch all from bin_c')]
  })
}

const utc = (...a) => new Date(Date.UTC(...a))

// [SQL expression, the value read in binary]; the text cursor must read the same value unless
// the third item gives its own.
const CASES = [
  ['42::int4', 42],
  ['(-2147483648)::int4', -2147483648],
  ['1.5::float8', 1.5],
  ["'-Infinity'::float8", -Infinity],
  ["'NaN'::float8", NaN],
  ['0.1::float4', Math.fround(0.1), 0.1],
  ["'Infinity'::float4", Infinity],
  ['true', true],
  ['false', false],
  ["'héllo ✓'::text", 'héllo ✓'],
  ["'ab'::varchar(5)", 'ab'],
  ["'ab'::char(4)", 'ab  '],
  ["'nm'::name", 'nm'],
  ["'x'::\"char\"", 'x'],
  ["'\\x00ff41'::bytea", Buffer.from([0, 255, 65])],
  ["''::bytea", Buffer.alloc(0)],
  ["'2024-01-02 03:04:05.678901'::timestamp", utc(2024, 0, 2, 3, 4, 5, 678)],
  ["'1960-01-01 00:00:00.0005'::timestamp", utc(1960, 0, 1)], // floored below the ms, as the text
  ["'2024-01-02 03:04:05.678+02'::timestamptz", utc(2024, 0, 2, 1, 4, 5, 678)],
  ["'infinity'::timestamp", Infinity],
  ["'-infinity'::timestamptz", -Infinity],
  ['\'{"a":[1,"x"],"b":null}\'::json', { a: [1, 'x'], b: null }],
  ["'{1,2,-3}'::int4[]", Int32Array.from([1, 2, -3]), [1, 2, -3]],
  ["'{}'::int4[]", new Int32Array(0), []],
  ["'{1,NULL}'::int4[]", [1, null]],
  ["'{{1,2},{3,4}}'::int4[]", [[1, 2], [3, 4]]],
  ["'{1.5,NaN,-Infinity,NULL}'::float8[]", [1.5, NaN, -Infinity, null]],
  ["'{{0.1},{2}}'::float8[]", [[0.1], [2]]],
  ["'{1,NULL,-32768}'::int2[]", [1, null, -32768]],
  ["'{{1},{2}}'::int2[]", [[1], [2]]],
  ["'{0.1,-Infinity}'::float4[]", Float32Array.from([0.1, -Infinity]), [0.1, -Infinity]],
  ["'{0.1,NULL}'::float4[]", [Math.fround(0.1), null], [0.1, null]],
  ['null::int4', null],
]

test('a BINARY cursor reads every type Bun.SQL decodes in binary as the text cursor does', async () => {
  const select = 'select ' + CASES.map(([e], i) => `${e} as c${i}`).join(', ')
  const [bin] = await fetch(select, true)
  const [text] = await fetch(select, false)
  CASES.forEach(([expr, value, textValue], i) => {
    assert.deepStrictEqual(bin[`c${i}`], value, `${expr} in binary`)
    assert.deepStrictEqual(text[`c${i}`], textValue === undefined ? value : textValue, `${expr} as text`)
  })
})

test('a BINARY cursor of many rows with NULLs reads every row', async () => {
  const select = 'select i::int4 as i, (i * 0.5)::float8 as f, case when i % 3 = 0 then null else i::text end as t, ' +
    "timestamp '2000-01-01' + i * interval '1 second' as ts from generate_series(-500, 1500) i"
  const [bin, text] = [await fetch(select, true), await fetch(select, false)]
  assert.strictEqual(bin.length, 2001)
  assert.deepStrictEqual(bin, text)
})

test('a BINARY cursor of a type not decoded in binary fails with ERR_POSTGRES_UNKNOWN_FORMAT_CODE, and the connection goes on', async () => {
  for (const expr of ['1::int2', '1::int8', '1.5::numeric', "'2024-01-02'::date", "'01:02:03'::time",
    "'1 day'::interval", "'{}'::jsonb", "'00000000-0000-0000-0000-000000000000'::uuid", '1::oid',
    "'127.0.0.1'::inet", "'{a}'::text[]", "'{t}'::bool[]", "'{1}'::int8[]", "'{1}'::oid[]"]) {
    await assert.rejects(fetch(`select 1::int4 as ok, ${expr} as v`, true),
      (e) => e.code === 'ERR_POSTGRES_UNKNOWN_FORMAT_CODE', expr)
    assert.deepStrictEqual(await fetch('select 7::int4 as i', true), [{ i: 7 }], `after ${expr}`)
  }
})

// A server that answers every simple query with one binary column of `oid` holding `datum`.
async function scripted(oid, datum) {
  const frame = (type, body) => {
    const h = Buffer.alloc(5)
    h[0] = type.charCodeAt(0)
    h.writeUInt32BE(body.length + 4, 1)
    return Buffer.concat([h, body])
  }
  const desc = Buffer.alloc(2 + 2 + 18)
  desc.writeUInt16BE(1, 0)
  desc.write('c\0', 2)
  desc.writeUInt32BE(oid, 2 + 2 + 6)
  desc.writeInt16BE(-1, 2 + 2 + 10)
  desc.writeInt32BE(-1, 2 + 2 + 12)
  desc.writeUInt16BE(1, 2 + 2 + 16)
  const cell = Buffer.alloc(6)
  cell.writeUInt16BE(1, 0)
  cell.writeInt32BE(datum.length, 2)
  const ready = frame('Z', Buffer.from('I'))
  const server = net.createServer((s) => {
    let started = false
    s.on('error', () => {})
    s.on('data', (d) => {
      if (!started) {
        started = true
        return s.write(Buffer.concat([frame('R', Buffer.alloc(4)), ready]))
      }
      if (d[0] === 0x51) {
        s.write(Buffer.concat([frame('T', desc.subarray(0, 2 + 2 + 18)), frame('D', Buffer.concat([cell, datum])),
          frame('C', Buffer.from('SELECT 1\0')), ready]))
      }
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const client = new SQL({ url: `postgres://u@127.0.0.1:${server.address().port}/d`, max: 1 })
  try {
    return await client`select c`.simple()
  } finally {
    await client.close()
    await new Promise((resolve) => server.close(resolve))
  }
}

test('a binary datum of the wrong length for its type is ERR_POSTGRES_INVALID_BINARY_DATA, never read past', async () => {
  const i32 = (n) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b }
  const bad = [
    [701, i32(0)], [700, Buffer.alloc(8)], [23, Buffer.alloc(3)], [1114, i32(0)], [1184, Buffer.alloc(9)],
    [16, Buffer.alloc(0)], [16, Buffer.from([2])],
    // int4[]: an element of 8 bytes; a dimension longer than the datum; bytes after the last element
    [1007, Buffer.concat([i32(1), i32(0), i32(23), i32(1), i32(1), i32(8), Buffer.alloc(8)])],
    [1007, Buffer.concat([i32(1), i32(0), i32(23), i32(1000000), i32(1), i32(4), i32(5)])],
    [1007, Buffer.concat([i32(1), i32(0), i32(23), i32(1), i32(1), i32(4), i32(5), Buffer.alloc(1)])],
    [1022, Buffer.concat([i32(1), i32(0), i32(23), i32(1), i32(1), i32(8), Buffer.alloc(8)])], // int4 elements
    [1022, Buffer.concat([i32(7), i32(0), i32(701)])], // 7 dimensions
    [1005, Buffer.concat([i32(1), i32(0), i32(21), i32(1), i32(1), i32(4), i32(5)])], // int2 of 4 bytes
    [1021, Buffer.concat([i32(1), i32(0), i32(700), i32(1 << 20), i32(1)])],
  ]
  for (const [oid, datum] of bad) {
    await assert.rejects(scripted(oid, datum), (e) => e.code === 'ERR_POSTGRES_INVALID_BINARY_DATA', `${oid} ${datum.toString('hex')}`)
  }
  const f = Buffer.alloc(8)
  f.writeDoubleBE(3.5)
  assert.deepStrictEqual([...await scripted(701, f)], [{ c: 3.5 }])
  assert.ok(Number.isNaN((await scripted(701, Buffer.from('fffe000000000007', 'hex')))[0].c))
  assert.deepStrictEqual([...await scripted(1007, Buffer.concat([i32(1), i32(0), i32(23), i32(2), i32(0), i32(4), i32(-7), i32(-1)]))],
    [{ c: [-7, null] }])
})
