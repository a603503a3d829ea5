'use strict'
// MariaDB JSON columns (known through the extended metadata): through prepared statements
// (binary rows) and .simple() (text rows), the value must be JSON.parse's of the same text.

const { test, before, after } = require('node:test')
const { SQL } = require('../..')
const assert = require('node:assert')
const { mysql } = require('../helpers/env.js')
const { DOCS, assertSameAsParse } = require('../helpers/json-docs.js')

let sql
before(async () => {
  sql = new SQL(mysql.url, { max: 1 })
  await sql`drop table if exists json_flat_t`
  await sql`create table json_flat_t (id int primary key, d json, t longtext, after_d int)`
  for (let i = 0; i < DOCS.length; i++) await sql`insert into json_flat_t values (${i}, ${DOCS[i]}, ${DOCS[i]}, ${i * 2})`
})
after(async () => {
  await sql`drop table if exists json_flat_t`
  await sql.close()
})

test('JSON documents decode as JSON.parse decodes their text, binary and text rows', async () => {
  const binary = await sql`select id, d, t, after_d from json_flat_t where id >= ${0} order by id`
  const text = await sql`select id, d, t, after_d from json_flat_t order by id`.simple()
  for (const [how, rows] of [['binary', binary], ['text', text]]) {
    assert.strictEqual(rows.length, DOCS.length, how)
    for (const r of rows) {
      assertSameAsParse(r.d, r.t, `${how} doc ${r.id}: ${r.t}`)
      assert.strictEqual(r.after_d, r.id * 2, how)
    }
  }
})
