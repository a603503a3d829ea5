'use strict'
// The Bun.SQL surface (API-PARITY.md section 2), item by item: exports, constructor and adapter
// resolution, options (names, aliases, defaults, units, env precedence), instance methods,
// Query, results, TransactionSQL/SavepointSQL/ReservedSQL, errors and codes, callbacks,
// listen, inspect. Expected values were measured on Bun 1.4.5 itself where the docs are vague.
// The sqlite adapter has its own suite (sqlite.test.js).

const { test } = require('node:test')
const assert = require('node:assert')
const util = require('node:util')
const uvsql = require('../..')
const { SQL, sql, postgres } = uvsql
const { pg, mysql } = require('../helpers/env.js')
const { parseOptions } = require('../../lib/options.js')

const rejection = (p) => Promise.resolve(p).then(() => assert.fail('expected a rejection'), (e) => e)
const waitFor = async (fn, ms = 5000) => {
  const until = Date.now() + ms
  while (Date.now() < until && !fn()) await new Promise((r) => setTimeout(r, 10))
  return fn()
}

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
  assert.ok(new SQL.SQLiteError('x', { code: 'SQLITE_ERROR', errno: 1 }) instanceof SQL.SQLError)
  assert.deepStrictEqual([uvsql.SQLiteError, uvsql.SQLError, uvsql.PostgresError, uvsql.MySQLError],
    [SQL.SQLiteError, SQL.SQLError, SQL.PostgresError, SQL.MySQLError])
  for (const [C, name] of [[SQL.SQLError, 'SQLError'], [SQL.PostgresError, 'PostgresError'], [SQL.MySQLError, 'MySQLError'], [SQL.SQLiteError, 'SQLiteError']]) {
    assert.strictEqual(new C('m').name, name)
  }
  assert.strictEqual(uvsql.default, SQL)
  return Promise.all([a.close(), b.close()])
})

test('ESM entry exports the same objects', async () => {
  const esm = await import('../../lib/index.mjs')
  for (const k of ['SQL', 'sql', 'postgres', 'SQLError', 'PostgresError', 'MySQLError', 'SQLiteError']) assert.strictEqual(esm[k], uvsql[k], k)
  assert.strictEqual(esm.default, SQL)
})

test('constructor forms: (url), (URL), (url, options), (options); options without url', async () => {
  const forms = [new SQL(pg.url), new SQL(new URL(pg.url)), new SQL(pg.url, { max: 3 }), new SQL({ url: pg.url, max: 4 }), SQL(pg.url)]
  try {
    assert.deepStrictEqual(forms.map((f) => f.options.max), [10, 10, 3, 4, 10])
    for (const f of forms) assert.strictEqual((await f`select 1 as x`)[0].x, 1)
  } finally {
    await Promise.all(forms.map((f) => f.close()))
  }
})

test('adapter resolution: explicit adapter, then URL scheme, then env var name, then postgres', () => {
  const env = {}
  const adapter = (a, b, e = env) => parseOptions(a, b, e).adapter
  for (const a of ['postgres', 'postgresql']) assert.strictEqual(adapter({ adapter: a }), 'postgres')
  for (const a of ['mysql', 'mysql2', 'mariadb']) assert.strictEqual(adapter({ adapter: a }), 'mysql')
  assert.strictEqual(adapter({ adapter: 'sqlite' }), 'sqlite')
  for (const u of ['postgres://h/d', 'postgresql://h/d', 'unix:///tmp/.s.PGSQL.5432']) assert.strictEqual(adapter(u), 'postgres', u)
  for (const u of ['mysql://h/d', 'mysql2://h/d', 'mariadb://h/d', 'mysqls://h/d']) assert.strictEqual(adapter(u), 'mysql', u)
  for (const u of [':memory:', 'sqlite://x.db', 'sqlite:x.db', 'file:x.db', 'file:///tmp/x.db']) assert.strictEqual(adapter(u), 'sqlite', u)
  assert.strictEqual(adapter('h/d'), 'postgres', 'no scheme: PostgreSQL')
  assert.strictEqual(adapter({ filename: 'x.db' }), 'sqlite', 'filename implies sqlite')
  assert.strictEqual(adapter(undefined, undefined, { MYSQL_URL: 'h:3306/d' }), 'mysql', 'the env var name decides')
  assert.strictEqual(adapter(undefined, undefined, {}), 'postgres')
  // Between PostgreSQL and MySQL the explicit adapter wins over the scheme (Bun 1.4.5 measured).
  assert.strictEqual(adapter('postgres://h/d', { adapter: 'mysql' }), 'mysql')
  assert.strictEqual(adapter('mysql://h/d', { adapter: 'postgres' }), 'postgres')
  for (const [a, b] of [[':memory:', { adapter: 'mysql' }], ['postgres://h/d', { adapter: 'sqlite' }]]) {
    assert.throws(() => parseOptions(a, b, env), { code: 'ERR_INVALID_ARG_VALUE' }, `${a} + ${b.adapter}`)
  }
  assert.throws(() => parseOptions({ adapter: 'oracle' }, undefined, env), { code: 'ERR_INVALID_ARG_VALUE' })
})

test('options: defaults, units (seconds), deprecated aliases, range checks', () => {
  const env = {}
  const pgo = parseOptions('postgres://h', undefined, env)
  assert.deepStrictEqual([pgo.hostname, pgo.port, pgo.username, pgo.database, pgo.max, pgo.idleTimeout, pgo.maxLifetime, pgo.connectionTimeout, pgo.bigint, pgo.prepare, pgo.allowPublicKeyRetrieval, pgo.tlsMode],
    ['h', 5432, 'postgres', 'postgres', 10, 0, 0, 30, false, true, false, 'disable'])
  const myo = parseOptions('mysql://h', undefined, env)
  assert.deepStrictEqual([myo.port, myo.username, myo.database], [3306, 'root', 'mysql'])
  assert.strictEqual(parseOptions({}, undefined, env).hostname, 'localhost')
  const aliased = parseOptions({ host: 'a', user: 'u', pass: 'p', db: 'd', idle_timeout: 1, max_lifetime: 2, connection_timeout: 3 }, undefined, env)
  assert.deepStrictEqual([aliased.hostname, aliased.username, aliased.password, aliased.database, aliased.idleTimeout, aliased.maxLifetime, aliased.connectionTimeout],
    ['a', 'u', '[redacted]', 'd', 1, 2, 3])
  assert.strictEqual(parseOptions({ connectTimeout: 4 }, undefined, env).connectionTimeout, 4)
  assert.strictEqual(parseOptions({ connect_timeout: 5 }, undefined, env).connectionTimeout, 5)
  assert.strictEqual(parseOptions({ hostname: 'x', host: 'y' }, undefined, env).hostname, 'x', 'the new name wins')
  for (const k of ['idleTimeout', 'maxLifetime', 'connectionTimeout']) {
    assert.throws(() => parseOptions({ [k]: -1 }, undefined, env), { code: 'ERR_INVALID_ARG_VALUE' }, k)
    assert.throws(() => parseOptions({ [k]: 2 ** 31 + 1 }, undefined, env), { code: 'ERR_INVALID_ARG_VALUE' }, k)
    assert.strictEqual(parseOptions({ [k]: 2 ** 31 }, undefined, env)[k], 2 ** 31)
  }
  assert.throws(() => parseOptions('mysql://h', { prepare: false }, env), { code: 'ERR_INVALID_ARG_VALUE' }, 'prepare:false throws on MySQL')
  assert.strictEqual(parseOptions('postgres://h', { prepare: false }, env).prepare, false)
  assert.strictEqual(parseOptions('mysql://h', { allowPublicKeyRetrieval: true }, env).allowPublicKeyRetrieval, true)
})

test('env: URL variables in Bun order, TLS_* forces require, explicit fields ignore env URLs', () => {
  const order = ['POSTGRES_URL', 'TLS_POSTGRES_DATABASE_URL', 'DATABASE_URL', 'TLS_DATABASE_URL', 'PGURL', 'PG_URL', 'MYSQL_URL', 'TLS_MYSQL_DATABASE_URL']
  for (let i = 0; i < order.length; i++) {
    const env = {}
    for (let j = i; j < order.length; j++) env[order[j]] = `${order[j].includes('MYSQL') ? 'mysql' : 'postgres'}://u@host${j}/d`
    const o = parseOptions(undefined, undefined, env)
    assert.strictEqual(o.hostname, 'host' + i, order[i])
    assert.strictEqual(o.tlsMode, order[i].startsWith('TLS_') ? 'require' : 'disable', order[i])
  }
  // An explicit adapter reads only the variables that can name it.
  const both = { POSTGRES_URL: 'postgres://u@pghost/d', MYSQL_URL: 'mysql://u@myhost/d' }
  assert.strictEqual(parseOptions({ adapter: 'mysql' }, undefined, both).hostname, 'myhost')
  assert.strictEqual(parseOptions({ adapter: 'postgres' }, undefined, both).hostname, 'pghost')
  const tlsMy = parseOptions({ adapter: 'mysql' }, undefined, { TLS_MYSQL_DATABASE_URL: 'mysql://u@tlshost/d' })
  assert.deepStrictEqual([tlsMy.adapter, tlsMy.hostname, tlsMy.tlsMode], ['mysql', 'tlshost', 'require'])
  // Explicit host/port/user/password/db: env URLs are ignored, per-field variables fill gaps.
  const fieldEnv = { DATABASE_URL: 'postgres://urluser@urlhost:1111/urldb', PGUSER: 'envuser', PGDATABASE: 'envdb', PGPORT: '6543' }
  const f = parseOptions({ hostname: 'explicit' }, undefined, fieldEnv)
  assert.deepStrictEqual([f.hostname, f.username, f.database, f.port], ['explicit', 'envuser', 'envdb', 6543])
  const pgVars = parseOptions(undefined, undefined, { PGHOST: 'ph', PGPORT: '1', PGUSERNAME: 'pun', PGUSER: 'pu', PGPASSWORD: 'pw', PGDATABASE: 'pd' })
  assert.deepStrictEqual([pgVars.hostname, pgVars.port, pgVars.username, pgVars.password, pgVars.database], ['ph', 1, 'pun', '[redacted]', 'pd'])
  assert.strictEqual(parseOptions(undefined, undefined, { USER: 'osuser' }).username, 'osuser')
  assert.strictEqual(parseOptions(undefined, undefined, { PGSSLMODE: 'require' }).tlsMode, 'require')
  const myVars = { MYSQL_HOST: 'mh', MYSQL_PORT: '3307', MYSQL_USER: 'mu', MYSQL_PASSWORD: 'mp', MYSQL_DATABASE: 'md', PGHOST: 'not-this' }
  const m = parseOptions({ adapter: 'mysql' }, undefined, myVars)
  assert.deepStrictEqual([m.hostname, m.port, m.username, m.password, m.database], ['mh', 3307, 'mu', '[redacted]', 'md'])
  const mUrl = parseOptions(undefined, undefined, { MYSQL_URL: 'mysql://a@urlhost/x', MYSQL_USER: 'ignored-by-url' })
  assert.deepStrictEqual([mUrl.adapter, mUrl.hostname, mUrl.username], ['mysql', 'urlhost', 'a'], 'the URL beats the per-field vars')
  const mGap = parseOptions('mysql://urlhost', undefined, { MYSQL_USER: 'gapuser', MYSQL_DATABASE: 'gapdb' })
  assert.deepStrictEqual([mGap.username, mGap.database], ['gapuser', 'gapdb'], 'per-field vars fill what the URL lacks')
  assert.strictEqual(parseOptions('mysql://h', { user: 'opt' }, { MYSQL_USER: 'env' }).username, 'opt', 'an option beats env')
})

test('instance methods', () => {
  const db = new SQL(pg.url)
  for (const m of ['unsafe', 'file', 'array', 'begin', 'transaction', 'beginDistributed', 'distributed',
    'commitDistributed', 'rollbackDistributed', 'reserve', 'connect', 'close', 'end', 'flush', 'listen', 'notify']) {
    assert.strictEqual(typeof db[m], 'function', m)
  }
  assert.strictEqual(typeof db[Symbol.asyncDispose], 'function')
  assert.strictEqual(typeof db.options, 'object')
  assert.strictEqual(db.transaction, db.begin)
  assert.strictEqual(db.end, db.close)
  assert.strictEqual(db.distributed, db.beginDistributed)
  assert.strictEqual(db.flush(), undefined)
  return db.close()
})

test('default instance: configured from env on first use; close() before use is a no-op', async () => {
  assert.strictEqual(typeof sql.unsafe, 'function')
  await sql.close()
})

test('connect() opens a connection now and resolves to the sql instance', async () => {
  const db = new SQL(pg.url)
  try {
    assert.strictEqual(db.stats().connects, 0)
    assert.strictEqual(await db.connect(), db)
    assert.strictEqual(db.stats().connected, 1)
  } finally {
    await db.close()
  }
})

test('call forms: identifiers, rows, lists; awaiting a helper is ERR_POSTGRES_NOT_TAGGED_CALL', async () => {
  const db = new SQL(pg.url)
  try {
    await db`create temp table parity_t (id int, name text)`
    await db`insert into ${db('parity_t')} ${db([{ id: 1, name: 'a' }, { id: 2, name: 'b' }, { id: 3, name: undefined }])}`
    await db`update parity_t set ${db({ name: 'z' }, 'name')} where id = ${3}`
    const rows = await db`select ${db('id')}, name from parity_t where id in ${db([1, 3])} order by id`
    assert.deepStrictEqual(rows.map((r) => [r.id, r.name]), [[1, 'a'], [3, 'z']])
    assert.strictEqual((await db`select * from parity_t where id in ${db([{ id: 2 }], 'id')}`)[0].name, 'b')
    const e = await rejection(db('parity_t'))
    assert.strictEqual(e.code, 'ERR_POSTGRES_NOT_TAGGED_CALL')
    assert.throws(() => db(), { code: 'ERR_POSTGRES_NOT_TAGGED_CALL' })
  } finally {
    await db.close()
  }
})

test("Query: lazy thenable with Bun's methods and flags", async () => {
  const db = new SQL(pg.url)
  try {
    const q = db`select 1 as x`
    assert.ok(q instanceof Promise)
    assert.strictEqual(Object.prototype.toString.call(q), '[object Query]')
    for (const m of ['execute', 'values', 'raw', 'simple', 'cancel', 'run']) assert.strictEqual(typeof q[m], 'function', m)
    // (Read on the prototype: a query's own `constructor` sends it, see the next test.)
    assert.strictEqual(Object.getPrototypeOf(q).constructor[Symbol.species], Promise)
    assert.strictEqual(q.active, false)
    assert.strictEqual(q.cancelled, false)
    assert.strictEqual(db.stats().connects, 0, 'nothing sent before it is awaited')
    const derived = q.then((r) => r)
    assert.ok(!(derived instanceof Object.getPrototypeOf(q).constructor), 'then() makes a plain Promise')
    const rows = await derived
    assert.strictEqual(Object.prototype.toString.call(rows), '[object SQLResults]')
    assert.deepStrictEqual(Object.keys(rows), ['0'])
    assert.deepStrictEqual([rows.count, rows.command, rows.lastInsertRowid, rows.affectedRows], [1, 'SELECT', null, 0])
    assert.ok(rows.map((r) => r) instanceof Array && !(rows.map((r) => r) instanceof uvsql.SQL))
    assert.strictEqual(rows.constructor[Symbol.species], Array)
    assert.strictEqual(JSON.stringify(rows), '[{"x":1}]')
    // run(): sends the query and resolves with its result (Bun's undocumented method).
    assert.deepStrictEqual([...await db`select 2 as y`.run()], [{ y: 2 }])
    assert.deepStrictEqual([...await db`select 1 as a, 2 as b`.values()], [[1, 2]])
    const raw = await db`select 'x'::text as a`.raw()
    assert.ok(Buffer.isBuffer(raw[0][0]) && raw[0][0].toString() === 'x')
    const many = await db`select 1 as a; select 2 as b`.simple()
    assert.deepStrictEqual(many.map((r) => [...r]), [[{ a: 1 }], [{ b: 2 }]])
    const running = db`select pg_sleep(5)`.execute()
    assert.strictEqual(running.active, true)
    running.cancel()
    assert.strictEqual(running.cancelled, true)
    const interrupted = await rejection(running) // the server's error, as in Bun.SQL
    assert.deepStrictEqual([interrupted.code, interrupted.errno], ['ERR_POSTGRES_SERVER_ERROR', '57014'])
    const never = db`select 1`
    never.cancel()
    assert.strictEqual((await rejection(never)).code, 'ERR_POSTGRES_QUERY_CANCELLED')
  } finally {
    await db.close()
  }
})

// Not Bun's surface (there q.constructor is Query) but what lets await adopt a query without a
// second promise and a then() call a microtask later (lib/query.js).
test('await, Promise.resolve and Promise.all take a Query as it is, sending it; inspecting or splicing one does not', async () => {
  const db = new SQL(pg.url, { max: 1 })
  try {
    const q = db`select 1 as x`
    assert.match(util.inspect(q), /Query/)
    assert.strictEqual(q.active, false, 'util.inspect does not send it')
    assert.strictEqual(Promise.resolve(q), q, 'adopted, not wrapped')
    assert.strictEqual(q.active, true, 'sent by the adoption itself')
    assert.deepStrictEqual([...await q], [{ x: 1 }])
    assert.strictEqual(await q, await q, 'awaited again: the same result')
    const [a, b] = await Promise.all([db`select ${1}::int as a`, db`select ${2}::int as b`])
    assert.deepStrictEqual([a[0].a, b[0].b], [1, 2])
    // A fragment is only spliced into the query that uses it: never sent on its own.
    const before = db.stats().queries
    const inner = db`${3}::int as y`
    util.inspect(inner)
    assert.deepStrictEqual([...await db`select ${inner}, ${4}::int as z`], [{ y: 3, z: 4 }])
    assert.strictEqual(inner.active, false)
    assert.strictEqual(db.stats().queries - before, 1, 'one query reached the pool')
    // Reading a query's constructor is what the engine does before adopting it: it sends it.
    const read = db`select 5 as v`
    assert.strictEqual(read.constructor, Promise)
    assert.strictEqual(read.active, true)
    assert.strictEqual((await read)[0].v, 5)
  } finally {
    await db.close()
  }
})

test('result metadata: DML count/affectedRows, DDL command, as Bun 1.4.5 reports them', async () => {
  const db = new SQL(pg.url, { max: 1 })
  try {
    const meta = (r) => [r.count, r.command, r.lastInsertRowid, r.affectedRows]
    assert.deepStrictEqual(meta(await db`create temp table parity_m (a int)`), [0, 'CREATE TABLE', null, 0])
    assert.deepStrictEqual(meta(await db`insert into parity_m values (1), (2)`), [2, 'INSERT', null, 2])
    assert.deepStrictEqual(meta(await db`update parity_m set a = a + 1`), [2, 'UPDATE', null, 2])
    assert.deepStrictEqual(meta(await db`delete from parity_m where a = 2`), [1, 'DELETE', null, 1])
    const r = await db`select 1 as x`
    for (const k of ['count', 'command', 'lastInsertRowid', 'affectedRows']) assert.ok(!Object.keys(r).includes(k), k + ' is not enumerable')
  } finally {
    await db.close()
  }
})

test('transactions: begin options, array pipelining, rollback on throw, savepoints, nested begin throws, tx.reserve() is another connection', async () => {
  const db = new SQL(pg.url, { max: 3 })
  try {
    const [a, b] = await db.begin('read write', (tx) => [tx`select 1 as x`, tx`select 2 as x`])
    assert.deepStrictEqual([a[0].x, b[0].x], [1, 2])
    assert.strictEqual((await db.transaction(async (tx) => (await tx`show transaction_read_only`)[0].transaction_read_only)), 'off')
    assert.strictEqual(await db.begin('read only', async (tx) => (await tx`show transaction_read_only`)[0].transaction_read_only), 'on')
    await rejection(db.begin('read write; drop table x', async () => 1))
    await db`create table if not exists parity_tx (a int)`
    await db`truncate parity_tx`
    const boom = await rejection(db.begin(async (tx) => {
      await tx`insert into parity_tx values (1)`
      throw new Error('boom')
    }))
    assert.strictEqual(boom.message, 'boom')
    await db.begin(async (tx) => {
      await tx`insert into parity_tx values (2)`
      await rejection(tx.savepoint('sp_one', async (sp) => {
        await sp`insert into parity_tx values (3)`
        throw new Error('inner')
      }))
      await tx.savepoint(async (sp) => sp`insert into parity_tx values (4)`)
      assert.throws(() => tx.begin(async () => 1), { code: 'ERR_POSTGRES_INVALID_TRANSACTION_STATE' })
      const other = await tx.reserve()
      try {
        const [[mine], [theirs]] = await Promise.all([tx`select pg_backend_pid() as p`, other`select pg_backend_pid() as p`])
        assert.notStrictEqual(mine.p, theirs.p)
      } finally {
        other.release()
      }
    })
    assert.deepStrictEqual((await db`select a from parity_tx order by a`).map((r) => r.a), [2, 4])
    await db`drop table parity_tx`
  } finally {
    await db.close()
  }
})

test('ReservedSQL: release/close/dispose, begin() on the same connection with no new lease', async () => {
  const db = new SQL(pg.url, { max: 2 })
  try {
    const r = await db.reserve()
    for (const m of ['release', 'close', 'begin', 'transaction', 'unsafe', 'file', 'array']) assert.strictEqual(typeof r[m], 'function', m)
    assert.strictEqual(typeof r[Symbol.dispose], 'function')
    const pid = (await r`select pg_backend_pid() as p`)[0].p
    const leases = db.stats().reserved
    const inTx = await r.begin(async (tx) => {
      assert.strictEqual(db.stats().reserved, leases, 'no new lease for the transaction')
      return (await tx`select pg_backend_pid() as p, now() = statement_timestamp() as fresh`)[0]
    })
    assert.strictEqual(inTx.p, pid)
    await rejection(r.begin(async (tx) => {
      await tx`create temp table parity_rtx (a int)`
      throw new Error('rolled back')
    }))
    assert.strictEqual((await r`select to_regclass('pg_temp.parity_rtx') as t`)[0].t, null, 'rolled back')
    assert.strictEqual((await r`select pg_backend_pid() as p`)[0].p, pid, 'still reserved after begin()')
    r.release()
    assert.strictEqual(db.stats().reserved, 0)
    assert.strictEqual((await rejection(r.begin(async () => 1))).code, 'ERR_POSTGRES_CONNECTION_CLOSED')
    const r2 = await db.reserve()
    await r2.close()
    assert.strictEqual(db.stats().reserved, 0)
    const r3 = await db.reserve()
    r3[Symbol.dispose]()
    assert.strictEqual(db.stats().reserved, 0)
    const ac = new AbortController()
    ac.abort(new Error('gave up'))
    assert.strictEqual((await rejection(db.reserve({ signal: ac.signal }))).message, 'gave up')
  } finally {
    await db.close()
  }
})

test('two-phase commit: beginDistributed + commitDistributed / rollbackDistributed', async () => {
  const db = new SQL(pg.url, { max: 2 })
  try {
    const prepared = (await db`show max_prepared_transactions`)[0].max_prepared_transactions
    if (prepared === '0') {
      assert.ok((await rejection(db.beginDistributed('parity_2pc', async (tx) => tx`select 1`))) instanceof SQL.PostgresError)
      return
    }
    await db.beginDistributed('parity_2pc', async (tx) => tx`select 1`)
    await db.commitDistributed('parity_2pc')
    await db.distributed('parity_2pc_b', async (tx) => tx`select 1`)
    await db.rollbackDistributed('parity_2pc_b')
  } finally {
    await db.close()
  }
})

test('MySQL errors: ERR_MYSQL_SERVER_ERROR with errno/sqlState, ERR_MYSQL_SYNTAX_ERROR for 1064, client codes', async () => {
  const db = new SQL(mysql.url, { max: 1 })
  try {
    await db`create temporary table parity_my (id int primary key)`
    await db`insert into parity_my values (1)`
    const dup = await rejection(db`insert into parity_my values (1)`)
    assert.ok(dup instanceof SQL.MySQLError && dup instanceof SQL.SQLError)
    assert.deepStrictEqual([dup.name, dup.code, dup.errno, dup.sqlState], ['MySQLError', 'ERR_MYSQL_SERVER_ERROR', 1062, '23000'])
    const syntax = await rejection(db`selec 1`)
    assert.deepStrictEqual([syntax.code, syntax.errno, syntax.sqlState], ['ERR_MYSQL_SYNTAX_ERROR', 1064, '42000'])
    assert.strictEqual((await rejection(db('x'))).code, 'ERR_MYSQL_NOT_TAGGED_CALL')
    assert.strictEqual((await rejection(db.listen('x', () => {}))).code, 'ERR_MYSQL_NOT_SUPPORTED')
    const ins = await db`insert into parity_my values (2), (3)`
    assert.deepStrictEqual([ins.count, ins.command, ins.affectedRows], [2, 'INSERT', 2])
  } finally {
    await db.close()
  }
  assert.strictEqual((await rejection(db`select 1`)).code, 'ERR_MYSQL_CONNECTION_CLOSED')
  const refused = new SQL('mysql://root@127.0.0.1:1/x', { connectionTimeout: 2 })
  const e = await rejection(refused`select 1`)
  assert.ok(e instanceof SQL.MySQLError && /^ERR_MYSQL_CONNECTION_(REFUSED|FAILED)$/.test(e.code), e.code)
  await refused.close()
})

test('PostgreSQL error codes: SYNTAX_ERROR (42601), CONNECTION_REFUSED, INVALID_QUERY_BINDING; server fields', async () => {
  const db = new SQL(pg.url)
  try {
    const syntax = await rejection(db`selec 1`)
    assert.deepStrictEqual([syntax.code, syntax.errno], ['ERR_POSTGRES_SYNTAX_ERROR', '42601'])
    await db`create temp table parity_e (id int primary key)`
    await db`insert into parity_e values (1)`
    const dup = await rejection(db`insert into parity_e values (1)`)
    assert.deepStrictEqual([dup.code, dup.errno, dup.table, dup.constraint, dup.severity], ['ERR_POSTGRES_SERVER_ERROR', '23505', 'parity_e', 'parity_e_pkey', 'ERROR'])
    assert.ok(typeof dup.detail === 'string' && typeof dup.routine === 'string')
    assert.strictEqual((await rejection(db`select ${Symbol('x')}`)).code, 'ERR_POSTGRES_INVALID_QUERY_BINDING')
  } finally {
    await db.close()
  }
  const refused = new SQL('postgres://x@127.0.0.1:1/x', { connectionTimeout: 2 })
  assert.strictEqual((await rejection(refused`select 1`)).code, 'ERR_POSTGRES_CONNECTION_REFUSED')
  await refused.close()
})

test('onconnect(null) once per connection; onclose(err) once per connected one, with CONNECTION_CLOSED on close()', async () => {
  const connects = []
  const closes = []
  const db = new SQL(pg.url, { max: 2, onconnect: (e) => connects.push(e), onclose: (e) => closes.push(e) })
  await Promise.all([db`select pg_sleep(0.05)`, db`select pg_sleep(0.05)`])
  assert.deepStrictEqual(connects, [null, null])
  await db.close()
  assert.strictEqual(closes.length, 2)
  for (const e of closes) assert.strictEqual(e.code, 'ERR_POSTGRES_CONNECTION_CLOSED')
})

test('listen(): a ListenSubscription { channel, unlisten }, onlisten; LISTEN again after the connection is lost', async () => {
  const db = new SQL(pg.url, { max: 2, connection: { application_name: 'uvsql-parity-listen' } })
  const admin = new SQL(pg.admin)
  try {
    const got = []
    let listened = 0
    const sub = await db.listen('parity_chan', (p) => got.push(p), () => listened++)
    assert.deepStrictEqual(Object.keys(sub), ['channel'])
    assert.strictEqual(sub.channel, 'parity_chan')
    assert.strictEqual(typeof sub.unlisten, 'function')
    assert.strictEqual(typeof sub[Symbol.asyncDispose], 'function')
    assert.strictEqual(listened, 1)
    await admin`select pg_terminate_backend(pid) from pg_stat_activity where application_name = 'uvsql-parity-listen'`
    assert.ok(await waitFor(() => listened === 2), `onlisten called ${listened} times`)
    await db.notify('parity_chan', 'after')
    assert.ok(await waitFor(() => got.includes('after')), JSON.stringify(got))
    await sub.unlisten()
  } finally {
    await Promise.all([db.close(), admin.close()])
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

test('no password in util.inspect of sql, sql.options or errors (PostgreSQL, MySQL, options and env)', async () => {
  const seen = (v) => util.inspect(v, { depth: 6, showHidden: true }) + JSON.stringify(v) + String(v && v.stack)
  for (const base of [pg.scram, mysql.url]) {
    const url = new URL(base)
    url.password = 'sentinel-Zq7'
    for (const db of [new SQL(url.toString()), new SQL({ url: base, password: 'sentinel-Zq7' }), new SQL(base, { password: () => 'sentinel-Zq7-fn' })]) {
      try {
        const e = await db`select 1`.then(() => null, (x) => x)
        for (const v of [db, db.options, e]) assert.ok(!seen(v).includes('sentinel-Zq7'), base)
      } finally {
        await db.close()
      }
    }
  }
  const fromEnv = parseOptions(undefined, undefined, { PGPASSWORD: 'sentinel-Zq7', MYSQL_PASSWORD: 'sentinel-Zq7' })
  assert.ok(!seen(fromEnv).includes('sentinel-Zq7'))
})

test('Symbol.asyncDispose closes the pool', async () => {
  const db = new SQL(pg.url)
  await db`select 1`
  await db[Symbol.asyncDispose]()
  const e = await db`select 1`.then(() => null, (x) => x)
  assert.strictEqual(e.code, 'ERR_POSTGRES_CONNECTION_CLOSED')
})
