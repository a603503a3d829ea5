'use strict'
// LISTEN/NOTIFY on a dedicated connection, and its recovery after the connection is killed.

const { test } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')

const waitFor = async (fn, ms = 5000) => {
  const until = Date.now() + ms
  while (Date.now() < until && !fn()) await new Promise((r) => setTimeout(r, 10))
  return fn()
}

test('listen() receives notify() payloads; unlisten() stops them', async () => {
  const sql = new SQL(pg.url, { max: 3 })
  try {
    const got = []
    let listened = 0
    const sub = await sql.listen('uvsql_chan', (payload) => got.push(payload), () => listened++)
    assert.strictEqual(sub.channel, 'uvsql_chan')
    assert.strictEqual(listened, 1)
    await sql.notify('uvsql_chan', 'hello')
    await sql`select pg_notify('uvsql_chan', ${'from sql'})`
    assert.ok(await waitFor(() => got.length === 2), JSON.stringify(got))
    assert.deepStrictEqual(got, ['hello', 'from sql'])
    await sub.unlisten()
    await sql.notify('uvsql_chan', 'ignored')
    await new Promise((r) => setTimeout(r, 100))
    assert.deepStrictEqual(got, ['hello', 'from sql'])
    assert.strictEqual(sql.stats().reserved, 0, 'the listening connection went back')
  } finally {
    await sql.close()
  }
})

test('listening resumes after the listening connection is terminated', async () => {
  const sql = new SQL(pg.url, { max: 3, connection: { application_name: 'uvsql-listen-test' } })
  const admin = new SQL(pg.admin)
  try {
    const got = []
    let listened = 0
    await sql.listen('uvsql_resume', (p) => got.push(p), () => listened++)
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'uvsql-listen-test'`
    assert.ok(await waitFor(() => listened === 2, 5000), `onlisten called ${listened} times`)
    await sql.notify('uvsql_resume', 'after')
    assert.ok(await waitFor(() => got.includes('after')), JSON.stringify(got))
  } finally {
    await Promise.all([sql.close(), admin.close()])
  }
})
