'use strict'
// F8: the real PostgreSQL through a re-slicing proxy (test/helpers/proxy.js). Every server
// byte reaches the client in its own write (and, in some tests, every client byte reaches the
// server in its own write). The transcript of a session (rows, command tags, errors with all
// their fields, notices, parameter changes, 50 pipelined queries) must be identical to the same
// session over a direct connection.

const { test } = require('node:test')
const assert = require('node:assert')
const { SQL } = require('../..')
const { pg } = require('../helpers/env.js')
const { slicingProxy } = require('../helpers/proxy.js')

const T = { timeout: 60000 }

function target(url) {
  const u = new URL(url)
  return { host: u.hostname, port: Number(u.port || 5432) }
}

const settle = (p) => p.then((value) => ({ value }), (error) => ({ error }))

// A comparable picture of a result or an error.
function picture(r) {
  if (r.error) {
    const e = r.error
    const fields = {}
    for (const k of Object.keys(e).sort()) fields[k] = e[k]
    return { error: { name: e.name, message: e.message, ...fields } }
  }
  const rows = r.value
  return { rows: [...rows].map((row) => (Array.isArray(row) ? [...row] : { ...row })), count: rows.count, command: rows.command }
}

const run = async (q) => picture(await settle(q))

async function whoami(sql) {
  return [
    await run(sql`select current_user as u, session_user as s, ${'bound'}::text as p, ${42}::int as n`),
    await run(sql`select 1/0 as boom`),
    await run(sql`select ${'still usable'}::text as after`),
  ]
}

async function fullSession(sql, notices) {
  const out = {}
  out.who = await run(sql`select current_user as u, ${'bound ✓'}::text as p`)
  out.multiRow = await run(sql`
    select g as i, g::text || 'é✓' as t,
           case when g % 3 = 0 then null else g * 1.5 end::float8 as f,
           (g % 2 = 0) as b, g::int8 * 1000000007 as big,
           json_build_object('g', g, 's', repeat('j', g % 7)) as j,
           decode(lpad(to_hex(g), 4, '0'), 'hex') as by,
           timestamptz '2020-01-01 00:00:00+00' + g * interval '61 minutes' as ts,
           array[g, g + 1, null] as arr
      from generate_series(1, 300) g`)
  out.empty = await run(sql`select 1 as x where false`)
  out.bigValue = await run(sql`select repeat('ab', 40000) as big, length(repeat('ab', 40000)) as n`)
  out.divByZero = await run(sql`select 1/0 as boom`)
  out.syntax = await run(sql`selec ${1}`)
  out.badInput = await run(sql`select ${'abc'}::int as x`)
  out.noRelation = await run(sql`select * from no_such_table_${'x'}`)
  out.setParam = await run(sql.unsafe(`set application_name = 'sliced-test'`))
  out.showParam = await run(sql`select current_setting('application_name') as app`)
  out.notices = await run(sql`do $$ begin raise notice 'hello %', 42; raise warning 'careful'; end $$`)
  out.noticeList = notices.map((n) => [n.severity, n.message, n.errno])
  out.pipelined = await Promise.all(Array.from({ length: 50 }, (_, i) =>
    run(i % 10 === 7 ? sql`select ${i}::int / 0 as q` : sql`select ${i}::int as i, repeat(${String.fromCharCode(97 + (i % 26))}, ${i * 13}) as s`)))
  out.after = await run(sql`select ${'still usable'}::text as after`)
  return out
}

async function compare({ url, toClient = 1, toServer = 0, session, options = {} }) {
  const noticesDirect = []
  const direct = new SQL(url, { max: 1, ...options, onnotice: (n) => noticesDirect.push(n) })
  let expected
  try {
    expected = await session(direct, noticesDirect)
  } finally {
    await direct.close()
  }
  const proxy = await slicingProxy({ ...target(url), toClient, toServer })
  const noticesSliced = []
  const sliced = new SQL(proxy.rewrite(url), { max: 1, ...options, onnotice: (n) => noticesSliced.push(n) })
  let actual
  try {
    actual = await session(sliced, noticesSliced)
  } finally {
    await sliced.close()
    await proxy.close()
  }
  assert.deepStrictEqual(actual, expected)
  // The proxy really was in the path, and really sliced.
  const { stats } = proxy
  assert.strictEqual(stats.connections, 1, 'one connection through the proxy')
  assert.ok(stats.toClient.bytes > 0 && stats.toServer.bytes > 0, JSON.stringify(stats))
  // Each read is cut on its own, so there are at least bytes/chunk writes.
  if (toClient > 0) assert.ok(stats.toClient.writes >= Math.ceil(stats.toClient.bytes / toClient),
    `server->client in ${toClient}-byte writes: ${JSON.stringify(stats.toClient)}`)
  if (toServer > 0) assert.ok(stats.toServer.writes >= Math.ceil(stats.toServer.bytes / toServer),
    `client->server in ${toServer}-byte writes: ${JSON.stringify(stats.toServer)}`)
  if (toClient === 1) assert.strictEqual(stats.toClient.writes, stats.toClient.bytes)
  if (toServer === 1) assert.strictEqual(stats.toServer.writes, stats.toServer.bytes)
  return { expected, stats }
}

for (const method of ['trust', 'md5', 'scram', 'cleartext']) {
  test(`connects with ${method} authentication through a 1-byte slicer; same answers as direct`, T, async () => {
    const { expected } = await compare({ url: pg[method], session: whoami })
    // The direct transcript is what it should be (so equality means something).
    assert.strictEqual(expected[0].rows[0].p, 'bound')
    assert.strictEqual(expected[1].error.errno, '22012')
    assert.deepStrictEqual(expected[2].rows, [{ after: 'still usable' }])
  })
}

test('a full session through a 1-byte server->client slicer is identical to direct', T, async () => {
  const { expected } = await compare({ url: pg.url, session: fullSession })
  assert.strictEqual(expected.multiRow.rows.length, 300)
  assert.strictEqual(expected.divByZero.error.errno, '22012')
  assert.strictEqual(expected.syntax.error.errno, '42601')
  assert.deepStrictEqual(expected.showParam.rows, [{ app: 'sliced-test' }])
  assert.deepStrictEqual(expected.noticeList, [['NOTICE', 'hello 42', '00000'], ['WARNING', 'careful', '01000']])
  assert.strictEqual(expected.pipelined.length, 50)
  assert.strictEqual(expected.pipelined.filter((p) => p.error).length, 5)
  expected.pipelined.forEach((p, i) => {
    if (i % 10 === 7) assert.strictEqual(p.error.errno, '22012')
    else assert.deepStrictEqual(p.rows, [{ i, s: String.fromCharCode(97 + (i % 26)).repeat(i * 13) }])
  })
})

test('SCRAM + a full session with both directions sliced to 1 byte is identical to direct', T, async () => {
  await compare({ url: pg.scram, toClient: 1, toServer: 1, session: fullSession })
})

test('a full session with both directions sliced to 3 bytes is identical to direct', T, async () => {
  await compare({ url: pg.md5, toClient: 3, toServer: 3, session: fullSession })
})
