'use strict'
// Scripted fake servers: faults a real PostgreSQL will not produce on demand.

const { test } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { fakePg } = require('../helpers/fake-pg.js')
const f = require('../helpers/frames.js')

// One answer to `select`: three columns, two rows (one with a NULL and non-ASCII text).
function answer() {
  return Buffer.concat([
    f.parseComplete(),
    f.bindComplete(),
    f.rowDescription([{ name: 'id', oid: 23 }, { name: 'name', oid: 25 }, { name: 'ok', oid: 16 }]),
    f.dataRow(['1', 'zoë ✓', 't']),
    f.dataRow(['-2', null, 'f']),
    f.commandComplete('SELECT 2'),
    f.readyForQuery('I'),
  ])
}

async function runWith(sendOptions) {
  const server = await fakePg(async (c) => {
    await c.startup()
    await c.send(f.startupOk(), sendOptions)
    await c.expect('P', 'B', 'D', 'E', 'S')
    await c.send(answer(), sendOptions)
    await c.message() // Terminate
  })
  const sql = new SQL(server.url)
  try {
    const rows = await sql`select whatever`
    return { rows: rows.map((r) => ({ ...r })), count: rows.count, command: rows.command }
  } finally {
    await sql.close()
    await server.close()
    assert.deepStrictEqual(server.errors, [])
  }
}

test('identical results when the server bytes arrive whole, one at a time, or in random chunks', async () => {
  const whole = await runWith({})
  assert.deepStrictEqual(whole, {
    rows: [{ id: 1, name: 'zoë ✓', ok: true }, { id: -2, name: null, ok: false }],
    count: 2,
    command: 'SELECT',
  })
  assert.deepStrictEqual(await runWith({ chunk: 1, pace: true }), whole)
  for (const seed of [1, 2, 3]) {
    assert.deepStrictEqual(await runWith({ chunk: 'random', seed, pace: true }), whole)
  }
})

test('the server closes right after ReadyForQuery in the same write (the Bun #30947 shape)', async () => {
  // AuthOk, parameters, BackendKeyData, ReadyForQuery, then FATAL 57P01 and FIN, in ONE write.
  let n = 0
  const server = await fakePg(async (c) => {
    n++
    await c.startup()
    if (n === 1) {
      c.send(Buffer.concat([
        f.startupOk(),
        f.errorResponse({ S: 'FATAL', V: 'FATAL', C: '57P01', M: 'terminating connection due to administrator command' }),
      ]))
      c.end()
      return
    }
    c.send(f.startupOk())
    for (;;) {
      // answer every query until Terminate
      const m = await c.message()
      if (m.type === 'X') return
      if (m.type === 'E') c.send(answer())
    }
  })
  const sql = new SQL(server.url, { max: 1 })
  try {
    const first = await sql`select 1`.then(() => null, (e) => e)
    // The query may have been sent before the FATAL arrived; either way it fails with the
    // server's reason or a connection-closed code, never an internal-state error.
    if (first !== null) {
      assert.ok(first instanceof SQL.PostgresError)
      assert.ok(first.errno === '57P01' || first.code === 'ERR_POSTGRES_CONNECTION_CLOSED', String(first.code))
    }
    const rows = await sql`select 1`
    assert.strictEqual(rows.length, 2, 'the next query gets a fresh connection')
    const stats = sql._stats()
    assert.ok(stats.live <= 1 && stats.badTransitions === 0, JSON.stringify(stats))
  } finally {
    await sql.close()
    await server.close()
  }
})

test('an impossible message length fails the connection with a protocol code; the next query reconnects', async () => {
  let n = 0
  const server = await fakePg(async (c) => {
    n++
    await c.startup()
    c.send(f.startupOk())
    await c.expect('P', 'B', 'D', 'E', 'S')
    if (n === 1) {
      c.send(Buffer.from([0x5a, 0, 0, 0, 3])) // 'Z' with length 3
      return
    }
    c.send(answer())
    await c.message()
  })
  const sql = new SQL(server.url, { max: 1 })
  try {
    const err = await sql`select 1`.then(() => null, (e) => e)
    assert.ok(err instanceof SQL.PostgresError)
    assert.strictEqual(err.code, 'ERR_POSTGRES_INVALID_MESSAGE_LENGTH')
    const rows = await sql`select 1`
    assert.strictEqual(rows[0].id, 1)
  } finally {
    await sql.close()
    await server.close()
  }
})

test('a server that drops the connection mid-row fails the query with CONNECTION_CLOSED', async () => {
  const server = await fakePg(async (c) => {
    await c.startup()
    c.send(f.startupOk())
    await c.expect('P', 'B', 'D', 'E', 'S')
    const bytes = answer()
    c.send(bytes.subarray(0, bytes.length - 20))
    c.destroy()
  })
  const sql = new SQL(server.url, { max: 1 })
  try {
    const err = await sql`select 1`.then(() => null, (e) => e)
    assert.ok(err instanceof SQL.PostgresError)
    assert.strictEqual(err.code, 'ERR_POSTGRES_CONNECTION_CLOSED')
  } finally {
    await sql.close()
    await server.close()
  }
})

test('an AuthenticationOk in the middle of SCRAM is refused (the server never proved itself)', async () => {
  const server = await fakePg(async (c) => {
    await c.startup()
    c.send(f.authSasl('SCRAM-SHA-256'))
    await c.expect('p') // SASLInitialResponse
    c.send(f.startupOk())
    await c.message().catch(() => {})
  })
  const sql = new SQL(server.url.replace('fake@', 'fake:pw@'))
  try {
    const err = await sql`select 1`.then(() => null, (e) => e)
    assert.ok(err instanceof SQL.PostgresError)
    assert.match(err.message, /AuthenticationOk before SCRAM finished/)
  } finally {
    await sql.close()
    await server.close()
  }
})
