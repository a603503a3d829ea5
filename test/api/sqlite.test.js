'use strict'
// The sqlite adapter (lib/sqlite.js). Under Bun it runs on bun:sqlite and every test below runs;
// under Node.js it needs node:sqlite (>= 22.5): without it, making a sqlite SQL throws one clear
// ERR_UVSQL_SQLITE_UNAVAILABLE, and that is what is tested. Expected values were measured on
// Bun 1.4.5's own `new SQL(":memory:")`.

const { test } = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const util = require('node:util')
const { SQL } = require('../..')

function sqliteAvailable() {
  if (process.versions.bun) return true
  try {
    require('node:sqlite')
    return true
  } catch {
    return false
  }
}
const available = sqliteAvailable()
const rejection = (p) => Promise.resolve(p).then(() => assert.fail('expected a rejection'), (e) => e)
const meta = (r) => [r.count, r.command, r.lastInsertRowid, r.affectedRows]

test('options: URL forms, filename, mode, adapter conflicts (no database opened)', () => {
  const { parseOptions } = require('../../lib/options.js')
  const f = (a, b) => {
    const o = parseOptions(a, b, {})
    return [o.adapter, o.filename, o.readonly, o.create]
  }
  assert.deepStrictEqual(f(':memory:'), ['sqlite', ':memory:', undefined, undefined])
  for (const u of ['sqlite://:memory:', 'sqlite::memory:', 'file::memory:', 'sqlite:', 'file:', 'sqlite://']) {
    assert.deepStrictEqual(f(u), ['sqlite', ':memory:', undefined, undefined], u)
  }
  assert.deepStrictEqual(f('sqlite:///tmp/x.db'), ['sqlite', '/tmp/x.db', undefined, undefined])
  assert.deepStrictEqual(f('file:///tmp/x.db'), ['sqlite', '/tmp/x.db', undefined, undefined])
  assert.deepStrictEqual(f('file://localhost/tmp/x.db'), ['sqlite', '/tmp/x.db', undefined, undefined])
  assert.deepStrictEqual(f('sqlite://relative.db'), ['sqlite', 'relative.db', undefined, undefined])
  assert.deepStrictEqual(f('file:relative.db'), ['sqlite', 'relative.db', undefined, undefined])
  assert.deepStrictEqual(f('sqlite:/tmp/y.db?mode=ro'), ['sqlite', '/tmp/y.db', true, undefined])
  assert.deepStrictEqual(f('sqlite:/tmp/y.db?mode=rw'), ['sqlite', '/tmp/y.db', false, false])
  assert.deepStrictEqual(f('file:/tmp/y.db?mode=rwc'), ['sqlite', '/tmp/y.db', false, true])
  assert.deepStrictEqual(f({ adapter: 'sqlite' }), ['sqlite', ':memory:', undefined, undefined])
  assert.deepStrictEqual(f({ filename: '/tmp/z.db' }), ['sqlite', '/tmp/z.db', undefined, undefined])
  assert.deepStrictEqual(f({ adapter: 'sqlite', filename: new URL('file:///tmp/u.db') }), ['sqlite', '/tmp/u.db', undefined, undefined])
  assert.deepStrictEqual(f('/tmp/abs.db', { adapter: 'sqlite' }), ['sqlite', '/tmp/abs.db', undefined, undefined])
  assert.deepStrictEqual(f({ adapter: 'sqlite', readonly: true }), ['sqlite', ':memory:', true, undefined])
  assert.deepStrictEqual(parseOptions(':memory:', undefined, {}), { adapter: 'sqlite', filename: ':memory:' }, 'the options Bun shows')
  assert.strictEqual(parseOptions({ adapter: 'sqlite', bigint: true }, undefined, {}).safeIntegers, true, 'bigint is safeIntegers')
  assert.throws(() => parseOptions(':memory:', { adapter: 'postgres' }, {}), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => parseOptions('postgres://h/d', { adapter: 'sqlite' }, {}), { code: 'ERR_INVALID_ARG_VALUE' })
  // Env URLs never turn into SQLite, and SQLite reads no env.
  assert.strictEqual(parseOptions(':memory:', undefined, { DATABASE_URL: 'postgres://h/d' }).filename, ':memory:')
})

test('without node:sqlite (Node < 22.5): one clear error when the SQL is made', { skip: available }, () => {
  for (const args of [[':memory:'], ['sqlite://x.db'], ['file:x.db'], [{ adapter: 'sqlite' }], [{ filename: 'x.db' }]]) {
    assert.throws(() => new SQL(...args), (e) => {
      assert.strictEqual(e.code, 'ERR_UVSQL_SQLITE_UNAVAILABLE')
      assert.match(e.message, /node:sqlite/)
      assert.match(e.message, /22\.5/)
      assert.match(e.message, new RegExp(process.version.replace(/\./g, '\\.')))
      return true
    }, JSON.stringify(args))
  }
})

test('queries, helpers, result metadata and types', { skip: !available }, async () => {
  const db = new SQL(':memory:')
  try {
    assert.deepStrictEqual(meta(await db`create table t (id integer primary key, name text unique, b blob, r real)`), [0, 'CREATE', 0, 0])
    const ins = await db`insert into ${db('t')} ${db({ name: 'a', b: Buffer.from('hi'), r: 1.5 })}`
    assert.deepStrictEqual(meta(ins), [1, 'INSERT', 1, 1])
    await db`insert into t ${db([{ name: 'b', b: null, r: 2 }, { name: 'c', b: new Uint8Array([1]), r: undefined }])}`
    const rows = await db`select * from t where id in ${db([1, 3])} order by id`
    assert.deepStrictEqual(meta(rows), [2, 'SELECT', null, 0])
    assert.strictEqual(Object.prototype.toString.call(rows), '[object SQLResults]')
    assert.deepStrictEqual(Object.keys(rows), ['0', '1'])
    assert.strictEqual(rows[0].name, 'a')
    assert.ok(rows[0].b instanceof Uint8Array, 'BLOB is a Uint8Array')
    assert.deepStrictEqual([...rows[0].b], [104, 105])
    assert.deepStrictEqual([rows[0].r, rows[1].r], [1.5, null])
    assert.deepStrictEqual(meta(await db`update t set ${db({ r: 3 })} where id = ${2}`), [1, 'UPDATE', 3, 1])
    assert.deepStrictEqual(meta(await db`delete from t where id > ${1}`), [2, 'DELETE', 3, 2])
    const [v] = await db`select ${1} as i, ${1.25} as f, ${'s'} as s, ${true} as t, ${null} as n, ${undefined} as u, ${2n} as bi`
    assert.deepStrictEqual({ ...v }, { i: 1, f: 1.25, s: 's', t: 1, n: null, u: null, bi: 2 })
    const bad = await rejection(db`select ${new Date(0)}`)
    assert.ok(bad instanceof TypeError, 'Bun binds no Date')
    assert.deepStrictEqual([...await db`select 1 as a, 'x' as b`.values()], [[1, 'x']])
    const [raw] = await db`select 1.5 as f, -1 as i, 'x' as s, x'0102' as b, null as n`.raw()
    assert.deepStrictEqual(raw.map((x) => (x === null ? null : [...x])), [[0, 0, 0, 0, 0, 0, 248, 63], [255, 255, 255, 255, 255, 255, 255, 255], [120], [1, 2], null])
    assert.deepStrictEqual([...await db`select 1 as x`.run()], [{ x: 1 }])
    assert.strictEqual((await db`select ${db('a.b')} from (select 1 as ${db('a.b')})`.catch((e) => e)).code, 'SQLITE_ERROR', '"a"."b" is a qualified name')
    assert.strictEqual((await rejection(db('t'))).code, 'ERR_SQLITE_NOT_TAGGED_CALL')
    assert.throws(() => db.array([1]), { code: 'ERR_SQLITE_NOT_SUPPORTED' })
  } finally {
    await db.close()
  }
})

test('unsafe (? and named params), file, simple() with several statements', { skip: !available }, async () => {
  const db = new SQL(':memory:')
  const file = path.join(os.tmpdir(), `uvsql-sqlite-${process.pid}.sql`)
  try {
    assert.deepStrictEqual([...await db.unsafe('select ? as a, ? as b', [1, 'z'])], [{ a: 1, b: 'z' }])
    assert.deepStrictEqual([...await db.unsafe('select $x as a', { $x: 5 })], [{ a: 5 }])
    const multi = await db`create table u (a); insert into u values (1); insert into u values (2)`.simple()
    assert.strictEqual(multi.command, 'CREATE')
    assert.strictEqual(multi.lastInsertRowid, 2)
    assert.deepStrictEqual((await db.unsafe('select a from u order by a')).map((r) => r.a), [1, 2])
    fs.writeFileSync(file, 'select count(*) as n from u where a > ?')
    assert.strictEqual((await db.file(file, [1]))[0].n, 1)
    assert.strictEqual((await db`select * from u ${db.unsafe('order by a desc')}`)[0].a, 2, 'unsafe text as a fragment')
  } finally {
    fs.rmSync(file, { force: true })
    await db.close()
  }
})

test('SQLiteError: code, errno, byteOffset as bun:sqlite gives them', { skip: !available }, async () => {
  const db = new SQL(':memory:')
  try {
    await db`create table e (id integer primary key, name text unique not null)`
    await db`insert into e (name) values (${'a'})`
    const unique = await rejection(db`insert into e (name) values (${'a'})`)
    assert.ok(unique instanceof SQL.SQLiteError && unique instanceof SQL.SQLError)
    assert.deepStrictEqual([unique.name, unique.code, unique.errno], ['SQLiteError', 'SQLITE_CONSTRAINT_UNIQUE', 2067])
    assert.strictEqual(typeof unique.byteOffset, 'number')
    const notnull = await rejection(db`insert into e (name) values (${null})`)
    assert.deepStrictEqual([notnull.code, notnull.errno], ['SQLITE_CONSTRAINT_NOTNULL', 1299])
    const pk = await rejection(db`insert into e (id, name) values (${1}, ${'z'})`)
    assert.deepStrictEqual([pk.code, pk.errno], ['SQLITE_CONSTRAINT_PRIMARYKEY', 1555])
    const syntax = await rejection(db`selec 1`)
    assert.deepStrictEqual([syntax.code, syntax.errno], ['SQLITE_ERROR', 1])
    assert.match(syntax.message, /syntax error/)
  } finally {
    await db.close()
  }
})

test('result code names: the table for node:sqlite matches SQLite', () => {
  const { resultCodeName } = require('../../lib/sqlite.js')
  assert.deepStrictEqual([1, 5, 14, 19, 2067, 1299, 1555, 787, 275, 517, 3082, 8, 264, 999].map(resultCodeName), [
    'SQLITE_ERROR', 'SQLITE_BUSY', 'SQLITE_CANTOPEN', 'SQLITE_CONSTRAINT', 'SQLITE_CONSTRAINT_UNIQUE',
    'SQLITE_CONSTRAINT_NOTNULL', 'SQLITE_CONSTRAINT_PRIMARYKEY', 'SQLITE_CONSTRAINT_FOREIGNKEY',
    'SQLITE_CONSTRAINT_CHECK', 'SQLITE_BUSY_SNAPSHOT', 'SQLITE_IOERR_NOMEM', 'SQLITE_READONLY',
    'SQLITE_READONLY_RECOVERY', 'SQLITE_ERROR'])
})

test('transactions, savepoints, modes; no 2PC, no listen', { skip: !available }, async () => {
  const db = new SQL(':memory:')
  try {
    await db`create table x (a integer)`
    const [one, two] = await db.begin((tx) => [tx`select 1 as v`, tx`select 2 as v`])
    assert.deepStrictEqual([one[0].v, two[0].v], [1, 2])
    await rejection(db.begin(async (tx) => {
      await tx`insert into x values (1)`
      throw new Error('boom')
    }))
    await db.begin('immediate', async (tx) => {
      await tx`insert into x values (2)`
      await rejection(tx.savepoint(async (sp) => {
        await sp`insert into x values (3)`
        throw new Error('inner')
      }))
      await tx.savepoint('named', (sp) => sp`insert into x values (4)`)
      assert.throws(() => tx.begin(async () => 1), { code: 'ERR_SQLITE_INVALID_TRANSACTION_STATE' })
    })
    assert.deepStrictEqual((await db`select a from x order by a`).map((r) => r.a), [2, 4])
    assert.strictEqual((await rejection(db.begin('readonly', async () => 1))).code, 'ERR_SQLITE_INVALID_TRANSACTION_STATE')
    assert.strictEqual((await rejection(db.begin('read write; drop table x', async () => 1))).code, 'ERR_SQLITE_INVALID_TRANSACTION_STATE')
    assert.match((await rejection(db.beginDistributed('t1', async () => 1))).message, /distributed/)
    assert.match((await rejection(db.listen('c', () => {}))).message, /PostgreSQL only/)
    assert.match((await rejection(db.notify('c', 'p'))).message, /PostgreSQL only/)
  } finally {
    await db.close()
  }
})

test('one connection: a transaction or reserve() holds it, other queries wait their turn', { skip: !available }, async () => {
  const db = new SQL(':memory:')
  try {
    await db`create table q (a integer)`
    const order = []
    const tx = db.begin(async (t) => {
      await t`insert into q values (1)`
      await new Promise((r) => setTimeout(r, 20))
      order.push('tx')
      await t`insert into q values (2)`
    })
    await new Promise((r) => setTimeout(r, 5))
    const outside = db`select count(*) as n from q`.then((r) => {
      order.push('outside')
      return r[0].n
    })
    await tx
    assert.strictEqual(await outside, 2, 'the outside query saw the committed transaction, not half of it')
    assert.deepStrictEqual(order, ['tx', 'outside'])

    const r = await db.reserve()
    assert.strictEqual(db.stats().reserved, 1)
    const waiting = db`select 'later' as w`
    waiting.execute()
    assert.strictEqual(db.stats().waiting, 1)
    assert.strictEqual((await r`select 'mine' as m`)[0].m, 'mine')
    assert.strictEqual(await r.begin(async (t) => (await t`select 3 as v`)[0].v), 3, 'ReservedSQL.begin on the connection it holds')
    const cancelled = db`select 'cancelled' as c`.execute()
    cancelled.cancel()
    assert.strictEqual((await rejection(cancelled)).code, 'ERR_SQLITE_QUERY_CANCELLED')
    r.release()
    assert.strictEqual((await waiting)[0].w, 'later')
    assert.strictEqual((await rejection(r`select 1`)).code, 'ERR_SQLITE_CONNECTION_CLOSED', 'a released handle is dead')
    assert.strictEqual(await db.connect(), db)
    assert.strictEqual(db.flush(), undefined)
  } finally {
    await db.close()
  }
})

test('files, readonly, create:false, safeIntegers/bigint, onconnect/onclose, close', { skip: !available }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvsql-sqlite-'))
  const file = path.join(dir, 'db.sqlite')
  try {
    const events = []
    const rw = new SQL(`sqlite://${file}`, { onconnect: (e) => events.push(['connect', e]), onclose: (e) => events.push(['close', e.code]) })
    assert.deepStrictEqual(events, [['connect', null]], 'onconnect(null) when the SQL is made')
    await rw`create table f (a integer)`
    await rw`insert into f values (${9007199254740993n})`
    await rw.close()
    await rw.close()
    assert.deepStrictEqual(events, [['connect', null], ['close', 'ERR_SQLITE_CONNECTION_CLOSED']])
    assert.strictEqual((await rejection(rw`select 1`)).code, 'ERR_SQLITE_CONNECTION_CLOSED')

    const big = new SQL({ filename: file, safeIntegers: true })
    assert.strictEqual((await big`select a from f`)[0].a, 9007199254740993n)
    await big.close()
    const big2 = new SQL(`file:${file}`, { bigint: true })
    assert.strictEqual((await big2`select 1 as one`)[0].one, 1n)
    await big2.close()

    const ro = new SQL(`sqlite:${file}?mode=ro`)
    assert.strictEqual((await ro`select count(*) as n from f`)[0].n, 1)
    const e = await rejection(ro`insert into f values (1)`)
    assert.ok(e instanceof SQL.SQLiteError && /^SQLITE_READONLY/.test(e.code), e.code)
    await ro.close()

    let openErr = null
    const missing = new SQL({ adapter: 'sqlite', filename: path.join(dir, 'nope.sqlite'), create: false, onconnect: (err) => { openErr = err } })
    assert.strictEqual(openErr && openErr.code, 'SQLITE_CANTOPEN')
    const q = await rejection(missing`select 1`)
    assert.deepStrictEqual([q.code, q.errno], ['SQLITE_CANTOPEN', 14])
    assert.strictEqual((await rejection(missing.connect())).code, 'SQLITE_CANTOPEN')
    await missing.close()
    assert.ok(!fs.existsSync(path.join(dir, 'nope.sqlite')))
    assert.ok(!util.inspect(new SQL(':memory:').options).includes('password'))
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
