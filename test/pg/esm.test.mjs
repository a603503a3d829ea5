// The ESM entry point exposes the same API as the CommonJS one.
import { test } from 'node:test'
import assert from 'node:assert'
import { createRequire } from 'node:module'
import uvsql, { SQL, sql, postgres, PostgresError, SQLError } from 'uvsql'

const require = createRequire(import.meta.url)

test('ESM and CommonJS entries are the same objects', () => {
  const cjs = require('uvsql')
  assert.strictEqual(SQL, cjs.SQL)
  assert.strictEqual(uvsql, cjs.SQL)
  assert.strictEqual(postgres, SQL)
  assert.strictEqual(PostgresError, SQL.PostgresError)
  assert.ok(new PostgresError('x') instanceof SQLError)
  assert.strictEqual(typeof sql, 'function')
})

test('a query through the ESM entry, with SQL called without new', async () => {
  const db = SQL(process.env.UVSQL_TEST_PG_URL)
  try {
    assert.ok(db instanceof SQL)
    assert.deepStrictEqual([...(await db`select ${1}::int as x`)], [{ x: 1 }])
  } finally {
    await db.close()
  }
})
