'use strict'
// Malformed backend frames (RELIABILITY.md F8-F12): every case runs with the server's bytes in
// one write and one byte per write. Each must fail (or be accepted) within a deadline with the
// right code, the bad connection must be dropped, and the next query on the same SQL instance
// must succeed on a fresh, well-behaved connection of the fake server (the pool heals).

const { test } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { fakePg, serveQueries, answerFor } = require('../helpers/fake-pg.js')
const f = require('../helpers/frames.js')

const DEADLINE_MS = 3000
const MODES = [
  { label: 'whole', opts: {} },
  { label: 'one byte per write', opts: { chunk: 1, pace: true } },
]

const LENGTH = 'ERR_POSTGRES_INVALID_MESSAGE_LENGTH'
const UNEXPECTED = 'ERR_POSTGRES_UNEXPECTED_MESSAGE'
const CLOSED = 'ERR_POSTGRES_CONNECTION_CLOSED'
const INVALID = 'ERR_POSTGRES_INVALID_MESSAGE' // a DataRow/RowDescription overrun, as Bun.SQL names it
const PROTOCOL = [LENGTH, UNEXPECTED, INVALID] // a body that disagrees with its frame: any is fair

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// Settles like `promise`, or rejects with a HANG error after `ms`.
function within(promise, ms, what) {
  let timer
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => {
      timer = setTimeout(() => reject(new Error(`HANG: ${what} did not settle within ${ms} ms`)), ms)
    }),
  ])
}

async function waitFor(cond, ms, what) {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out after ${ms} ms waiting for: ${what}`)
    await sleep(5)
  }
}

const settle = (p) => p.then((value) => ({ value }), (error) => ({ error }))
const plain = (rows) => rows.map((r) => ({ ...r }))

// ---- server-side building blocks -------------------------------------------------------------

// ParseComplete / BindComplete for what the client sent (the start of any correct answer).
function acks(group) {
  const out = []
  for (const m of group) {
    if (m.type === 'P') out.push(f.parseComplete())
    if (m.type === 'B') out.push(f.bindComplete())
  }
  return Buffer.concat(out)
}

const XY = [{ name: 'x', oid: 23 }, { name: 'y', oid: 25 }]
const XY_ROWS = [{ x: 1, y: 'a' }, { x: 2, y: 'b' }]
const tail = (n = 1) => Buffer.concat([f.commandComplete(`SELECT ${n}`), f.readyForQuery('I')])

// Frame with a hand-made body (length computed from the body).
const raw = (type, ...parts) => f.frame(type, Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : p))))

// Connection 0: normal startup, wait for the first query, answer with build(group), then keep
// serving (so that a client that wrongly keeps the connection is caught by the assertions,
// not by a hang).
const afterQuery = (build) => async (c, send) => {
  await c.startup()
  await send(f.startupOk())
  const group = await c.readUntilSync()
  if (group === null) return
  answerFor(group, c) // only to note the prepared statement's types, for the queries after
  await send(build(group))
  await serveQueries(c, { startup: false })
}

// Connection 0: the given bytes answer the StartupMessage.
const duringStartup = (bytes) => async (c, send) => {
  await c.startup()
  await send(bytes)
  await serveQueries(c, { startup: false })
}

const startupUpTo = () => Buffer.concat([
  f.authOk(), f.parameterStatus('server_version', '15.0'), f.parameterStatus('client_encoding', 'UTF8'),
])

// ---- the cases -------------------------------------------------------------------------------
// expect: { codes: [...] }            the first query rejects with one of these codes, the
//                                     connection is dropped, the next query uses connection 1
//         { rows: [...] }             accepted: resolves with these rows; connection reused
//         { serverError: 'SQLSTATE', reuse } rejects with the server's error

const cases = []
const add = (name, first, expect) => cases.push({ name, first, expect })

// Impossible lengths on each type: only the 5 header bytes are sent, so a client that waits for
// the body hangs (and fails the deadline) instead of failing.
const BAD_LENGTHS = [[0, '0'], [3, '3'], [0xffffffff, '-1 (0xFFFFFFFF)'], [0x40000001, '1 GiB + 1'], [0x7fffffff, '2 GiB - 1']]
const LENGTH_TYPES = [['Z', 'ReadyForQuery'], ['S', 'ParameterStatus'], ['A', 'NotificationResponse'], ['N', 'NoticeResponse'],
  ['E', 'ErrorResponse'], ['D', 'DataRow'], ['T', 'RowDescription'], ['!', 'unknown type 0x21']]
for (const [type, tname] of LENGTH_TYPES) {
  for (const [len, lname] of BAD_LENGTHS) {
    add(`length ${lname} on ${tname} mid-query`, afterQuery((g) => Buffer.concat([acks(g), f.rawFrame(type, len)])), { codes: [LENGTH] })
  }
}
for (const [len, lname] of BAD_LENGTHS) {
  add(`length ${lname} on Authentication during startup`, duringStartup(f.rawFrame('R', len)), { codes: [LENGTH] })
}
// Longer than any message of that type can be: refused from the header, before buffering it.
for (const [type, tname] of [['Z', 'ReadyForQuery'], ['C', 'CommandComplete'], ['1', 'ParseComplete'], ['K', 'BackendKeyData']]) {
  const bytes = Buffer.concat([f.rawFrame(type, 40004), Buffer.alloc(64, 0x41)])
  if (type === 'K') add(`length 40004 on ${tname} during startup`, duringStartup(Buffer.concat([startupUpTo(), bytes])), { codes: [LENGTH] })
  else add(`length 40004 on ${tname} mid-query`, afterQuery((g) => Buffer.concat([acks(g), bytes])), { codes: [LENGTH] })
}

// Exactly 4 (empty body) is valid for empty-bodied types.
add('length exactly 4 on NoData/ParseComplete/BindComplete is accepted', afterQuery(() => Buffer.concat([
  f.rawFrame('1', 4), f.rawFrame('2', 4), f.rawFrame('n', 4), f.commandComplete('SET'), f.readyForQuery('I'),
])), { rows: [] })
add('length exactly 4 on EmptyQueryResponse is accepted', afterQuery(() => Buffer.concat([
  f.rawFrame('1', 4), f.rawFrame('2', 4), f.rawFrame('n', 4), f.rawFrame('I', 4), f.readyForQuery('I'),
])), { rows: [] })
add('length 5 on NoData (a body where none is allowed)', afterQuery((g) => Buffer.concat([
  acks(g), raw('n', '\x00'), f.commandComplete('SET'), f.readyForQuery('I'),
])), { codes: PROTOCOL })

// Unknown message types with a valid length; the rest of a valid answer follows, so a client
// that silently skips them resolves instead of failing.
add('unknown type with a valid length before authentication', duringStartup(Buffer.concat([
  raw('!', 'hello\0'), f.startupOk(),
])), { codes: [UNEXPECTED] })
add('unknown type with a valid length after AuthenticationOk', duringStartup(Buffer.concat([
  f.authOk(), raw('!', 'hello\0'), f.backendKeyData(1, 2), f.readyForQuery('I'),
])), { codes: [UNEXPECTED] })
add('unknown type with a valid length mid-query', afterQuery((g) => Buffer.concat([
  acks(g), f.rowDescription(XY), raw('!', 'hello\0'), f.dataRow(['1', 'a']), tail(),
])), { codes: [UNEXPECTED] })
add('CopyInResponse (a valid type this client never asked for) mid-query', afterQuery((g) => Buffer.concat([
  acks(g), raw('G', '\x00', f.u16(0)), tail(),
])), { codes: [UNEXPECTED] })

// DataRow overruns and mismatches (each followed by a valid rest of answer).
const rowsAround = (badRow) => afterQuery((g) => Buffer.concat([acks(g), f.rowDescription(XY), badRow, tail()]))
add('DataRow: cell length beyond the frame', rowsAround(raw('D', f.u16(2), f.i32(1), '1', f.i32(100), 'abc')), { codes: PROTOCOL })
add('DataRow: cell length 0x7fffffff', rowsAround(raw('D', f.u16(2), f.i32(1), '1', f.i32(0x7fffffff), 'a')), { codes: PROTOCOL })
add('DataRow: column count beyond the frame', rowsAround(raw('D', f.u16(5), f.i32(1), '1', f.i32(1), 'a')), { codes: PROTOCOL })
add('DataRow: column count 65535 with an empty rest', rowsAround(raw('D', f.u16(65535))), { codes: PROTOCOL })
add('DataRow: negative cell length other than -1', rowsAround(raw('D', f.u16(2), f.i32(-2), f.i32(1), 'a')), { codes: PROTOCOL })
add('DataRow: body shorter than its column count field', rowsAround(raw('D', '\x00')), { codes: PROTOCOL })
add('DataRow: fewer cells than RowDescription has fields', rowsAround(f.dataRow(['1'])), { codes: PROTOCOL })
add('DataRow: more cells than RowDescription has fields', rowsAround(f.dataRow(['1', 'a', 'b'])), { codes: PROTOCOL })
add('DataRow: trailing bytes after the last cell', rowsAround(raw('D', f.u16(2), f.i32(1), '1', f.i32(1), 'a', 'xyz')), { codes: PROTOCOL })
add('DataRow without any RowDescription', afterQuery((g) => Buffer.concat([acks(g), f.dataRow(['1', 'a']), tail()])), { codes: PROTOCOL })

// RowDescription overruns.
const FIELD_REST = Buffer.concat([f.u32(0), f.u16(0), f.u32(23), f.u16(4), f.i32(-1), f.u16(0)])
add('RowDescription: field count overrunning the frame', afterQuery((g) => Buffer.concat([
  acks(g), raw('T', f.u16(3), 'x\0', FIELD_REST), f.dataRow(['1', 'a']), tail(),
])), { codes: PROTOCOL })
add('RowDescription: field name without NUL', afterQuery((g) => Buffer.concat([
  acks(g), raw('T', f.u16(1), 'xxxxxxxxxxxxxxxxxxxxxxxx'), f.dataRow(['1']), tail(),
])), { codes: PROTOCOL })
add('RowDescription: trailing bytes after the last field', afterQuery((g) => Buffer.concat([
  acks(g), raw('T', f.u16(1), 'x\0', FIELD_REST, 'zz'), f.dataRow(['1']), tail(),
])), { codes: PROTOCOL })

// ErrorResponse / CommandComplete / ReadyForQuery bodies.
add('ErrorResponse: missing final NUL', afterQuery((g) => Buffer.concat([
  acks(g), raw('E', 'SERROR\0', 'C22012\0', 'Mdivision by zero\0'), f.readyForQuery('I'),
])), { codes: PROTOCOL })
add('ErrorResponse: field value without NUL', afterQuery((g) => Buffer.concat([
  acks(g), raw('E', 'SERROR\0', 'C22012\0', 'Mdivision by zero'), f.readyForQuery('I'),
])), { codes: PROTOCOL })
add('NoticeResponse: field value without NUL mid-rows', rowsAround(Buffer.concat([
  f.dataRow(['1', 'a']), raw('N', 'SNOTICE\0', 'Mhello'),
])), { codes: PROTOCOL })
add('CommandComplete without NUL', afterQuery((g) => Buffer.concat([
  acks(g), f.rowDescription(XY), f.dataRow(['1', 'a']), raw('C', 'SELECT 1'), f.readyForQuery('I'),
])), { codes: PROTOCOL })
add('CommandComplete with bytes after the NUL', afterQuery((g) => Buffer.concat([
  acks(g), f.rowDescription(XY), f.dataRow(['1', 'a']), raw('C', 'SELECT 1\0junk'), f.readyForQuery('I'),
])), { codes: PROTOCOL })
add('ReadyForQuery with a bad status byte mid-query', afterQuery((g) => Buffer.concat([
  acks(g), f.rowDescription(XY), f.dataRow(['1', 'a']), f.commandComplete('SELECT 1'), raw('Z', 'X'),
])), { codes: PROTOCOL })
add('ReadyForQuery with length 6 mid-query', afterQuery((g) => Buffer.concat([
  acks(g), f.rowDescription(XY), f.dataRow(['1', 'a']), f.commandComplete('SELECT 1'), raw('Z', 'II'),
])), { codes: PROTOCOL })
add('ReadyForQuery with a bad status byte during startup', duringStartup(Buffer.concat([
  startupUpTo(), f.backendKeyData(1, 2), raw('Z', 'X'),
])), { codes: PROTOCOL })
add('ReadyForQuery with length 6 during startup', duringStartup(Buffer.concat([
  startupUpTo(), f.backendKeyData(1, 2), raw('Z', 'II'),
])), { codes: PROTOCOL })
add('ReadyForQuery with length 4 (no status) during startup', duringStartup(Buffer.concat([
  startupUpTo(), f.backendKeyData(1, 2), f.rawFrame('Z', 4),
])), { codes: PROTOCOL })

// BackendKeyData.
add('BackendKeyData shorter than 8 bytes', duringStartup(Buffer.concat([
  startupUpTo(), raw('K', f.u32(1)), f.readyForQuery('I'),
])), { codes: PROTOCOL })
add('BackendKeyData longer than 8 bytes (protocol 3.0)', duringStartup(Buffer.concat([
  startupUpTo(), raw('K', f.u32(1), f.u32(2), f.u32(3)), f.readyForQuery('I'),
])), { codes: PROTOCOL })

// F12: an error in the middle of a result.
add('N DataRows then ErrorResponse then ReadyForQuery: the server error, connection reusable', afterQuery((g) => Buffer.concat([
  acks(g), f.rowDescription(XY), f.dataRow(['1', 'a']), f.dataRow(['2', 'b']), f.dataRow(['3', 'c']),
  f.errorResponse({ S: 'ERROR', V: 'ERROR', C: '22012', M: 'division by zero' }), f.readyForQuery('I'),
])), { serverError: '22012', reuse: true })
add('ErrorResponse then DataRow: fails and the connection is not reused', afterQuery((g) => Buffer.concat([
  acks(g), f.rowDescription(XY), f.errorResponse({ S: 'ERROR', V: 'ERROR', C: '22012', M: 'division by zero' }),
  f.dataRow(['1', 'a']), f.commandComplete('SELECT 1'), f.readyForQuery('I'),
])), { codes: PROTOCOL, orServerError: '22012' })
add('ErrorResponse then ReadyForQuery then an unsolicited DataRow', afterQuery((g) => Buffer.concat([
  acks(g), f.errorResponse({ S: 'ERROR', V: 'ERROR', C: '22012', M: 'division by zero' }), f.readyForQuery('I'),
  f.dataRow(['1', 'a']),
])), { serverError: '22012' }) // the idle connection that got the DataRow must be dropped

// Asynchronous messages in the middle of rows are accepted.
const rowsWith = (middle) => afterQuery((g) => Buffer.concat([
  acks(g), f.rowDescription(XY), f.dataRow(['1', 'a']), middle, f.dataRow(['2', 'b']), tail(2),
]))
add('ParameterStatus in the middle of rows is accepted', rowsWith(f.parameterStatus('application_name', 'changed')), { rows: XY_ROWS })
add('NoticeResponse in the middle of rows is accepted', rowsWith(f.noticeResponse({ S: 'NOTICE', V: 'NOTICE', C: '00000', M: 'just saying' })), { rows: XY_ROWS })
add('NotificationResponse in the middle of rows is accepted', rowsWith(f.notificationResponse(42, 'chan', 'payload')), { rows: XY_ROWS })
add('an empty NoticeResponse (just the terminator) is accepted', rowsWith(raw('N', '\0')), { rows: XY_ROWS })

// ---- the runner ------------------------------------------------------------------------------

async function runCase(kase, mode) {
  const server = await fakePg(async (c, i) => {
    if (i === 0) return kase.first(c, (bytes) => c.send(bytes, mode.opts))
    return serveQueries(c, { sendOptions: mode.opts })
  })
  const sql = new SQL(server.url, { max: 1 })
  let failure = null
  try {
    const first = await within(settle(sql`select ${1}::int as x`), DEADLINE_MS, 'the first query')
    const e = kase.expect
    if (e.rows) {
      assert.ok(!first.error, `expected the query to be accepted, got ${first.error && first.error.code}: ${first.error && first.error.message}`)
      assert.deepStrictEqual(plain(first.value), e.rows)
    } else {
      assert.ok(first.error, `expected the query to fail, it resolved with ${JSON.stringify(first.value && plain(first.value))}`)
      const err = first.error
      assert.ok(err instanceof SQL.PostgresError, `a PostgresError, got ${err && err.stack}`)
      assert.doesNotMatch(err.message, /invalid connection state|DB_E[A-Z]+/, 'no internal-state error reaches the user')
      if (e.serverError) {
        assert.strictEqual(err.code, 'ERR_POSTGRES_SERVER_ERROR', `${err.code}: ${err.message}`)
        assert.strictEqual(err.errno, e.serverError)
      } else if (e.orServerError && err.errno === e.orServerError) {
        assert.strictEqual(err.code, 'ERR_POSTGRES_SERVER_ERROR')
      } else {
        assert.ok(e.codes.includes(err.code), `code ${err.code} (${err.message}) is not one of ${e.codes.join(', ')}`)
      }
    }
    const reuse = e.rows !== undefined || e.reuse
    if (!reuse) {
      // The broken connection is dropped by the client, not left to the server.
      await waitFor(() => server.connections[0].closed, 1000, 'the client to close the bad connection')
    }
    const second = await within(settle(sql`select ${7}::int as x`), DEADLINE_MS, 'the second query')
    assert.ok(!second.error, `the second query failed: ${second.error && second.error.code}: ${second.error && second.error.message}`)
    assert.deepStrictEqual(plain(second.value), [{ x: 7 }])
    assert.strictEqual(server.connections.length, reuse ? 1 : 2,
      reuse ? 'the healthy connection is reused' : 'the second query ran on a new connection')
    const stats = sql._stats()
    assert.ok(stats.live <= 1 && stats.badTransitions === 0, JSON.stringify(stats))
  } catch (err) {
    failure = err
  } finally {
    await within(sql.close({ timeout: 0 }), 2000, 'sql.close()').catch((err) => { failure = failure || err })
    await server.close()
  }
  if (failure) throw failure
  assert.deepStrictEqual(server.errors.map(String), [], 'the fake server saw what it expected')
}

for (const kase of cases) {
  for (const mode of MODES) {
    test(`${kase.name} [${mode.label}]`, { timeout: 15000 }, () => runCase(kase, mode))
  }
}

// 100 queries in flight; all 100 answers arrive in one write (or byte by byte).
for (const mode of MODES) {
  test(`100 pipelined answers in one write: each query gets its own value [${mode.label}]`, { timeout: 30000 }, async () => {
    const batches = []
    const server = await fakePg(async (c) => {
      await c.startup()
      await c.send(f.startupOk(), mode.opts)
      const QUIET = Symbol('quiet')
      let groups = []
      let next = c.readUntilSync()
      for (;;) {
        const g = groups.length === 0 ? await next : await Promise.race([next, sleep(30).then(() => QUIET)])
        if (g === null) return
        if (g !== QUIET) {
          groups.push(g)
          next = c.readUntilSync()
        }
        // Answer when all 100 are in, or when the client stops sending (it does not pipeline).
        if (groups.length === 100 || (g === QUIET && groups.length)) {
          batches.push(groups.length)
          await c.send(Buffer.concat(groups.map((x) => answerFor(x, c))), mode.opts)
          groups = []
        }
      }
    })
    const sql = new SQL(server.url, { max: 1 })
    try {
      const results = await within(Promise.all(Array.from({ length: 100 }, (_, i) => sql`select ${i}::int as x`)), 20000, '100 queries')
      assert.deepStrictEqual(results.map((r) => plain(r)), Array.from({ length: 100 }, (_, i) => [{ x: i }]))
      assert.strictEqual(server.connections.length, 1)
      assert.strictEqual(batches[0], 100,
        `the client should pipeline: all 100 queries on the wire before any answer (server answer batches: ${batches.slice(0, 5).join(',')}...)`)
      const again = await within(sql`select ${7}::int as x`, DEADLINE_MS, 'the query after')
      assert.deepStrictEqual(plain(again), [{ x: 7 }])
    } finally {
      await within(sql.close({ timeout: 0 }), 2000, 'sql.close()').catch(() => {})
      await server.close()
    }
  })
}
