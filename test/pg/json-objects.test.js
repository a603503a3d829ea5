'use strict'
// json/jsonb documents: whatever path C and lib/rows.js take (one JSON.parse per batch, one per
// document when the batch's array does not parse), the value must be JSON.parse's.

const { test, before, after } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')
const { DOCS, assertSameAsParse } = require('../helpers/json-docs.js')

let sql
before(() => {
  sql = new SQL(pg.url, { max: 1 })
})
after(() => sql.close())

test('json documents decode as JSON.parse decodes their text, with columns after them', async () => {
  // json (not jsonb) keeps the text as written: duplicate keys, -0, 1e400, whitespace.
  const rows = await sql`select i::int as i, d::json as d, d as t, i::int * 2 as after
    from unnest(${DOCS}::text[]) with ordinality as x(d, i)`
  assert.strictEqual(rows.length, DOCS.length)
  for (const r of rows) {
    assertSameAsParse(r.d, r.t, `doc ${r.i}: ${r.t}`)
    assert.strictEqual(r.after, r.i * 2)
  }
  const values = await sql`select d::json, d from unnest(${DOCS}::text[]) as x(d)`.values()
  for (const [d, t] of values) assertSameAsParse(d, t, `values(): ${t}`)
})

test('jsonb objects over many batches, with 100 different key lists', async () => {
  // 100 key lists cycling every row (a decoder that keys anything by key list must cope),
  // with NULLs, non-ASCII and text cells between the documents.
  const rows = await sql`select i, case when i % 9 = 0 then null
      else jsonb_build_object('k' || (i % 100), i, 's', 'é' || i, 'f', i * 0.5, 'b', i % 2 = 0) end as d,
      'x' || i as t from generate_series(1, 6000) as i`
  assert.strictEqual(rows.length, 6000)
  for (const r of rows) {
    const want = r.i % 9 === 0 ? null : JSON.parse(JSON.stringify({ b: r.i % 2 === 0, f: r.i * 0.5, s: 'é' + r.i, ['k' + (r.i % 100)]: r.i }))
    if (want !== null) {
      assert.deepStrictEqual(r.d, want, `row ${r.i}`)
      assert.deepStrictEqual(Object.keys(r.d).sort(), Object.keys(want).sort(), `row ${r.i}`)
    } else assert.strictEqual(r.d, null)
    assert.strictEqual(r.t, 'x' + r.i)
  }
})

test('numbers in objects: integers stay numbers, doubles keep every bit', async () => {
  const [r] = await sql`select '{"i":3,"big":123456789012345,"f":1.25,"neg":-7.5,"tiny":1e-7}'::jsonb as d`
  assert.deepStrictEqual(r.d, { i: 3, f: 1.25, big: 123456789012345, neg: -7.5, tiny: 1e-7 })
})

test('without code generation (--disallow-code-generation-from-strings) the values are the same', { skip: process.versions.bun !== undefined && 'a Node flag' }, () => {
  const script = `
    const { SQL } = require(${JSON.stringify(require.resolve('../..'))})
    const { DOCS, assertSameAsParse } = require(${JSON.stringify(require.resolve('../helpers/json-docs.js'))})
    const sql = new SQL(process.env.JSON_TEST_URL, { max: 1 })
    sql\`select d::json as d, d as t, 1 as after from unnest(\${DOCS}::text[]) as x(d)\`.then(async (rows) => {
      for (const r of rows) assertSameAsParse(r.d, r.t, r.t)
      const [o] = await sql\`select '{"__proto__":1,"b":true}'::json as d\`
      if (Object.getPrototypeOf(o.d) !== Object.prototype || o.d.b !== true) throw new Error('generic builder')
      await sql.close()
      console.log('ok', rows.length)
    }).catch((e) => { console.error(e); process.exit(1) })`
  const r = require('node:child_process').spawnSync(process.execPath, ['--disallow-code-generation-from-strings', '-e', script],
    { env: { ...process.env, JSON_TEST_URL: pg.url }, encoding: 'utf8' })
  assert.strictEqual(r.status, 0, r.stderr)
  assert.strictEqual(r.stdout.trim(), `ok ${DOCS.length}`)
})
