'use strict'
// The Bun.SQL surface (API-PARITY.md section 2) that exists today, checked by name and shape.

const { test } = require('node:test')
const assert = require('node:assert')
const util = require('node:util')
const uvsql = require('../..')
const { SQL, sql, postgres } = uvsql
const { pg } = require('../helpers/env.js')

test('exports: SQL (callable with and without new), sql, postgres alias, error classes', () => {
  assert.strictEqual(typeof SQL, 'function')
  assert.strictEqual(postgres, SQL)
  assert.strictEqual(typeof sql, 'function')
  const a = new SQL(pg.url)
  const b = SQL(pg.url)
  assert.ok(a instanceof SQL && b instanceof SQL)
  assert.ok(new SQL.PostgresError('x') instanceof SQL.SQLError)
  assert.ok(new SQL.MySQLError('x') instanceof SQL.SQLError)
  assert.ok(new SQL.SQLError('x') instanceof Error)
  return Promise.all([a.close(), b.close()])
})

test('instance methods', () => {
  const db = new SQL(pg.url)
  for (const m of ['unsafe', 'file', 'array', 'begin', 'transaction', 'beginDistributed', 'distributed',
    'commitDistributed', 'rollbackDistributed', 'reserve', 'connect', 'close', 'end', 'flush', 'listen', 'notify']) {
    assert.strictEqual(typeof db[m], 'function', m)
  }
  assert.strictEqual(typeof db[Symbol.asyncDispose], 'function')
  assert.strictEqual(typeof db.options, 'object')
  return db.close()
})

test("Query: lazy thenable with Bun's methods and flags", async () => {
  const db = new SQL(pg.url)
  try {
    const q = db`select 1 as x`
    assert.ok(q instanceof Promise)
    assert.strictEqual(Object.prototype.toString.call(q), '[object Query]')
    for (const m of ['execute', 'values', 'raw', 'simple', 'cancel']) assert.strictEqual(typeof q[m], 'function', m)
    assert.strictEqual(q.active, false)
    assert.strictEqual(q.cancelled, false)
    assert.strictEqual(db.stats().connects, 0, 'nothing sent before it is awaited')
    const rows = await q
    assert.strictEqual(Object.prototype.toString.call(rows), '[object SQLResults]')
    assert.deepStrictEqual(Object.keys(rows), ['0'])
    assert.deepStrictEqual([rows.count, rows.command, rows.lastInsertRowid, rows.affectedRows], [1, 'SELECT', null, 0])
    assert.ok(rows.map((r) => r) instanceof Array && !(rows.map((r) => r) instanceof uvsql.SQL))
  } finally {
    await db.close()
  }
})

test("errors carry Bun's code and the SQLSTATE in errno", async () => {
  const db = new SQL(pg.url)
  try {
    const e = await db`select * from nope_nope`.then(() => null, (x) => x)
    assert.ok(e instanceof SQL.PostgresError)
    assert.deepStrictEqual([e.code, e.errno, e.name], ['ERR_POSTGRES_SERVER_ERROR', '42P01', 'PostgresError'])
  } finally {
    await db.close()
  }
})

test('no password in util.inspect of sql, sql.options or errors', async () => {
  const url = new URL(pg.scram)
  url.password = 'sentinel-Zq7'
  const db = new SQL(url.toString())
  try {
    const e = await db`select 1`.then(() => null, (x) => x)
    for (const v of [db, db.options, e]) assert.ok(!util.inspect(v, { depth: 6, showHidden: true }).includes('sentinel-Zq7'))
  } finally {
    await db.close()
  }
})

test('Symbol.asyncDispose closes the pool', async () => {
  const db = new SQL(pg.url)
  await db`select 1`
  await db[Symbol.asyncDispose]()
  const e = await db`select 1`.then(() => null, (x) => x)
  assert.strictEqual(e.code, 'ERR_POSTGRES_CONNECTION_CLOSED')
})
