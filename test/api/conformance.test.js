'use strict'
// Behaviours found by running Bun's own SQL test files against uvsql (docs/CONFORMANCE.md):
// each test pins one place where uvsql differed from Bun.SQL 1.4 and was changed to match.

const { test } = require('node:test')
const assert = require('node:assert')
const net = require('node:net')
const { pg, mysql } = require('../helpers/env.js')

// The default `sql` reads its URL from the environment on first use.
delete process.env.POSTGRES_URL
delete process.env.TLS_POSTGRES_DATABASE_URL
process.env.DATABASE_URL = pg.url
const { SQL, sql } = require('../..')

const rejection = (p) => Promise.resolve(p).then(() => assert.fail('expected a rejection'), (e) => e)

test('default sql: a whole SQL instance (begin, reserve, file, array, connect...), not only unsafe/close', async () => {
  for (const m of ['unsafe', 'file', 'array', 'begin', 'transaction', 'beginDistributed', 'distributed',
    'commitDistributed', 'rollbackDistributed', 'reserve', 'connect', 'close', 'end', 'flush', 'listen', 'notify']) {
    assert.strictEqual(typeof sql[m], 'function', m)
  }
  try {
    const rows = await sql.begin(async (tx) => {
      await tx`select set_config('conformance.x', 'inside', true)`
      return tx`select current_setting('conformance.x') as x`
    })
    assert.strictEqual(rows[0].x, 'inside')
    const reserved = await sql.reserve()
    assert.strictEqual((await reserved`select 2 as y`)[0].y, 2)
    reserved.release()
    assert.deepStrictEqual(Array.from((await sql`select ${sql.array([1, 2], 'INT')} as a`)[0].a), [1, 2])
    assert.strictEqual(await sql.connect() !== undefined, true)
  } finally {
    await sql.close()
  }
})

for (const [name, url, prefix] of [['PostgreSQL', () => pg.url, 'ERR_POSTGRES_'], ['MySQL', () => mysql.url, 'ERR_MYSQL_']]) {
  test(`${name}: a lone BEGIN on a pool of max > 1 is ${prefix}UNSAFE_TRANSACTION; max 1, reserve() and begin() allow it`, async () => {
    const db = new SQL(url(), { max: 2 })
    const one = new SQL(url(), { max: 1 })
    try {
      for (const q of [db`begin`, db.unsafe('  BEGIN ;'), db.unsafe('start transaction read only'), db.unsafe('Begin Work')]) {
        const e = await rejection(q)
        assert.strictEqual(e.code, prefix + 'UNSAFE_TRANSACTION')
        assert.match(e.message, /Only use sql\.begin, sql\.reserved or max: 1/)
      }
      // Nothing reached the server: the pool's connections are not inside a transaction.
      assert.strictEqual((await db`select 1 as x`)[0].x, 1)
      // A text that also ends the transaction, and statements that merely start with "begin".
      const multi = name === 'MySQL' ? null : await db.unsafe('begin; select 1; commit')
      if (multi !== null) assert.strictEqual(multi.length, 3)
      await one`begin`
      await one`rollback`
      const reserved = await db.reserve()
      try {
        await reserved`begin`
        await reserved`rollback`
      } finally {
        reserved.release()
      }
      assert.strictEqual((await db.begin((tx) => tx`select 3 as z`))[0].z, 3)
    } finally {
      await Promise.all([db.close(), one.close()])
    }
  })

  test(`${name}: a password function's error reaches the query unchanged`, async () => {
    for (const password of [() => Promise.reject(new Error('password error')), () => { throw new Error('password error') }]) {
      const db = new SQL(url(), { max: 1, password })
      try {
        const e = await rejection(db`select 1`)
        assert.strictEqual(e.message, 'password error')
      } finally {
        await db.close()
      }
    }
  })

  test(`${name}: connection timeout message in Bun's words ("Connection timeout after 200ms" / "after 1s")`, async () => {
    const sockets = []
    const server = net.createServer((s) => sockets.push(s)).listen(0, '127.0.0.1') // accepts, never answers
    await new Promise((resolve) => server.once('listening', resolve))
    const adapter = name === 'MySQL' ? 'mysql' : 'postgres'
    try {
      for (const [seconds, words] of [[0.2, 'after 200ms'], [1, 'after 1s']]) {
        const db = new SQL({ adapter, hostname: '127.0.0.1', port: server.address().port, max: 1, connectionTimeout: seconds })
        try {
          const e = await rejection(db`select 1`)
          assert.strictEqual(e.code, prefix + 'CONNECTION_TIMEOUT')
          assert.ok(e.message.includes('Connection timeout ' + words), e.message)
        } finally {
          await db.close()
        }
      }
    } finally {
      for (const s of sockets) s.destroy()
      server.close()
    }
  })

  test(`${name}: helper.catch()/.finally() throw ${prefix}NOT_TAGGED_CALL at once; sql.file() rejects with the fs error`, async () => {
    const db = new SQL(url(), { max: 1 })
    try {
      assert.throws(() => db('select 1').catch(() => {}), { code: prefix + 'NOT_TAGGED_CALL' })
      assert.throws(() => db('select 1').finally(() => {}), { code: prefix + 'NOT_TAGGED_CALL' })
      assert.strictEqual((await rejection(db('select 1'))).code, prefix + 'NOT_TAGGED_CALL')
      const e = await rejection(db.file('/nonexistent/uvsql-conformance.sql'))
      assert.strictEqual(e.code, 'ENOENT')
    } finally {
      await db.close()
    }
  })
}

test('MySQL: BIT(1) is a boolean and BIT(n > 1) bytes, on the binary and the text protocol', async () => {
  const db = new SQL(mysql.url, { max: 1 })
  try {
    await db`create temporary table conf_bits (a bit(1), b bit(2), c bit(1))`
    await db`insert into conf_bits values (1, 1, null), (0, 2, 1)`
    for (const rows of [await db`select * from conf_bits`, await db`select * from conf_bits`.simple()]) {
      assert.deepStrictEqual(rows.map((r) => [r.a, r.b, r.c]),
        [[true, Buffer.from([1]), null], [false, Buffer.from([2]), true]])
    }
  } finally {
    await db.close()
  }
})

test('PostgreSQL: int4[]/float4[] are Int32Array/Float32Array when Bun.SQL reads them in binary (prepared, with parameters, 1-D, no NULL)', async () => {
  const db = new SQL(pg.url, { max: 1 })
  const unprepared = new SQL(pg.url, { max: 1, prepare: false })
  const kind = (v) => `${v.constructor.name}${JSON.stringify(Array.from(v, (e) => (Array.isArray(e) ? 'nested' : e)))}`
  try {
    const [r] = await db`select '{1,2}'::int4[] as a, ${'{1.5,2}'}::float4[] as b, '{1,null}'::int4[] as c,
      '{{1,2},{3,4}}'::int4[] as d, '{}'::int4[] as e, '{1,2}'::int2[] as f, '{1,2}'::float8[] as g, ${1}::int as p`
    assert.deepStrictEqual([r.a, r.b, r.c, r.d, r.e, r.f, r.g].map(kind),
      ['Int32Array[1,2]', 'Float32Array[1.5,2]', 'Array[1,null]', 'Array["nested","nested"]', 'Int32Array[]', 'Array[1,2]', 'Array[1,2]'])
    // Rows Bun reads as text: no parameters, the simple protocol, prepare: false.
    const text = [
      (await db`select '{1,2}'::int4[] as a`)[0].a,
      (await db.unsafe("select '{1,2}'::int4[] as a"))[0].a,
      (await unprepared`select '{1,2}'::int4[] as a, ${1}::int as p`)[0].a,
    ]
    assert.deepStrictEqual(text.map(kind), ['Array[1,2]', 'Array[1,2]', 'Array[1,2]'])
    // values() and transactions decode the same way as objects on the pool.
    assert.strictEqual(kind((await db`select '{3}'::int4[] as a, ${1}::int as p`.values())[0][0]), 'Int32Array[3]')
    assert.strictEqual(kind((await db.begin((tx) => tx`select '{4}'::int4[] as a, ${1}::int as p`))[0].a), 'Int32Array[4]')
  } finally {
    await Promise.all([db.close(), unprepared.close()])
  }
})

test('PostgreSQL: 0A000/26000 raised by the running query are its answer, not a stale plan: it is not run again', async () => {
  const db = new SQL(pg.url, { max: 1 })
  const id = String(process.pid) + Date.now()
  try {
    await db.unsafe(`create sequence conf_runs_${id}`)
    // Raises on row 3 of its first run only; nextval survives the error, so it counts runs.
    await db.unsafe(`create function conf_raise_${id}(i int, code text) returns int as $$
      begin
        if i = 3 and nextval('conf_runs_${id}') = 1 then raise exception 'boom' using errcode = code; end if;
        return i;
      end $$ language plpgsql`)
    for (const code of ['26000', '0A000']) {
      await db.unsafe(`select setval('conf_runs_${id}', 1, false)`)
      const e = await rejection(db`select ${db('conf_raise_' + id)}(i::int, ${code}) as v from generate_series(1, ${5}) as i`)
      assert.strictEqual(e.errno, code)
      const [{ runs }] = await db.unsafe(`select last_value::int as runs from conf_runs_${id}`)
      assert.strictEqual(runs, 1, `${code}: the query ran once`)
    }
    // A statement the server really lost (DEALLOCATE ALL: 26000 answering the Bind) still
    // re-prepares and runs once more.
    const q = (n) => db`select ${n}::int as v`
    assert.strictEqual((await q(1))[0].v, 1)
    await db`deallocate all`.simple()
    assert.strictEqual((await q(2))[0].v, 2)
  } finally {
    await db.unsafe(`drop function if exists conf_raise_${id}(int, text)`)
    await db.unsafe(`drop sequence if exists conf_runs_${id}`)
    await db.close()
  }
})

test('PostgreSQL: begin() rejects with ERR_POSTGRES_COMMIT_ROLLED_BACK when COMMIT is answered ROLLBACK (a caught error aborted the transaction)', async () => {
  const db = new SQL(pg.url, { max: 2 })
  const table = `conf_rb_${process.pid}`
  try {
    await db.unsafe(`create table ${table} (a int)`)
    const body = async (tx) => {
      await tx.unsafe(`insert into ${table} values (1)`)
      await tx.unsafe('select * from conf_no_such_table').catch(() => {}) // swallowed: the transaction is aborted
      return 'ok'
    }
    for (const run of [() => db.begin(body), async () => {
      const reserved = await db.reserve()
      try {
        return await reserved.begin(body)
      } finally {
        reserved.release()
      }
    }, () => db.beginDistributed(`conf_rb_${process.pid}`, body)]) {
      const e = await rejection(run())
      assert.strictEqual(e.code, 'ERR_POSTGRES_COMMIT_ROLLED_BACK')
      assert.ok(e instanceof SQL.PostgresError)
    }
    assert.deepStrictEqual([...await db.unsafe(`select a from ${table}`)], [])
    // A transaction that did not fail still commits.
    await db.begin((tx) => tx.unsafe(`insert into ${table} values (2)`))
    assert.deepStrictEqual([...await db.unsafe(`select a from ${table}`)], [{ a: 2 }])
  } finally {
    await db.unsafe(`drop table if exists ${table}`)
    await db.close()
  }
})

for (const [name, url] of [['PostgreSQL', () => pg.url], ['MySQL', () => mysql.url]]) {
  test(`${name}: a result with no rows, then the same columns with rows (C sends the columns once)`, async () => {
    const db = new SQL(url(), { max: 1 })
    const t = `conf_shape_${process.pid}`
    try {
      await db.unsafe(`create temporary table ${t} (a int)`)
      assert.deepStrictEqual([...await db.unsafe(`select a from ${t}`)], []) // simple protocol
      assert.deepStrictEqual([...await db`select a, 1 as b from ${db(t)} where a = ${5}`], []) // prepared
      await db.unsafe(`insert into ${t} values (2)`)
      assert.deepStrictEqual([...await db.unsafe(`select a from ${t}`)], [{ a: 2 }])
      assert.deepStrictEqual([...await db`select a, 1 as b from ${db(t)} where a = ${2}`], [{ a: 2, b: 1 }])
    } finally {
      await db.close()
    }
  })
}

test('PostgreSQL: a reserved connection released inside a transaction (open or aborted) does not serve the next pooled query', async () => {
  const db = new SQL(pg.url, { max: 1 })
  const check = new SQL(pg.url, { max: 1 })
  const t = `conf_txleak_${process.pid}`
  try {
    await db.unsafe(`create table ${t} (v int)`)
    const r = await db.reserve()
    await r`begin`
    await r.unsafe(`insert into ${t} values (100)`)
    r.release()
    await db.unsafe(`insert into ${t} values (1)`) // autocommitted, not inside the leaked transaction
    await db.unsafe('rollback')
    assert.deepStrictEqual([...await check.unsafe(`select v from ${t} order by v`)], [{ v: 1 }])

    const aborted = await db.reserve()
    await aborted`begin`
    await rejection(aborted`select no_such_column`)
    aborted.release()
    assert.deepStrictEqual([...await db`select 1 as x`], [{ x: 1 }]) // not 25P02
    // With max 1, BEGIN ... COMMIT as separate pooled queries still runs as one transaction.
    await db`begin`
    await db.unsafe(`insert into ${t} values (2)`)
    await db`commit`
    assert.deepStrictEqual([...await check.unsafe(`select v from ${t} order by v`)], [{ v: 1 }, { v: 2 }])
  } finally {
    await db.unsafe(`drop table if exists ${t}`)
    await Promise.all([db.close(), check.close()])
  }
})

test('env: a URL variable that names its adapter (PGURL, MYSQL_URL...) decides the adapter over the URL scheme', () => {
  const { parseOptions } = require('../../lib/options.js')
  const pgFromMysqlScheme = parseOptions(undefined, undefined, { PGURL: 'mysql://host:3306/db' })
  assert.deepStrictEqual([pgFromMysqlScheme.adapter, pgFromMysqlScheme.hostname, pgFromMysqlScheme.port], ['postgres', 'host', 3306])
  const mysqlFromPgScheme = parseOptions(undefined, undefined, { MYSQL_URL: 'postgres://host:5432/db' })
  assert.deepStrictEqual([mysqlFromPgScheme.adapter, mysqlFromPgScheme.port], ['mysql', 5432])
  assert.strictEqual(parseOptions({ adapter: 'mysql' }, undefined, { MYSQL_URL: 'postgres://host/db' }).adapter, 'mysql')
  // DATABASE_URL names no adapter: its scheme decides; an explicit URL is still read by its scheme.
  assert.strictEqual(parseOptions(undefined, undefined, { DATABASE_URL: 'mysql://host/db' }).adapter, 'mysql')
  assert.strictEqual(parseOptions('mysql://host/db', undefined, { PGURL: 'postgres://x/y' }).adapter, 'mysql')
})

test('an explicit adapter wins over the URL scheme: its server, the URL\'s host, user, database and parameters, its default port (Bun 1.4.5)', async () => {
  const { parseOptions } = require('../../lib/options.js')
  const my = parseOptions('postgres://u:p@h.example/db?sslmode=require', { adapter: 'mysql' }, {})
  assert.deepStrictEqual([my.adapter, my.hostname, my.port, my.username, my.database, my.tlsMode], ['mysql', 'h.example', 3306, 'u', 'db', 'require'])
  const pgo = parseOptions('mysql://u@h.example/db', { adapter: 'postgres' }, {})
  assert.deepStrictEqual([pgo.adapter, pgo.port], ['postgres', 5432])
  assert.strictEqual(parseOptions('postgres://u@h.example:1234/db', { adapter: 'mariadb' }, {}).port, 1234)
  // And it connects: a postgres:// URL naming the MariaDB server, a mysql:// one naming PostgreSQL.
  for (const [url, adapter, q] of [[mysql.url.replace(/^mysql:/, 'postgres:'), 'mysql', 'select @@version as v'],
    [pg.url.replace(/^postgres:/, 'mysql:'), 'postgres', 'select version() as v']]) {
    const db = new SQL(url, { adapter, max: 1 })
    try {
      assert.strictEqual(db.options.adapter, adapter)
      assert.match((await db.unsafe(q))[0].v, adapter === 'mysql' ? /MariaDB/ : /PostgreSQL/)
    } finally {
      await db.close()
    }
  }
})

test('close({ timeout }): NaN, negative, over 2^31 and Infinity are a TypeError ERR_INVALID_ARG_VALUE (Bun 1.4.5 wording); numbers, numeric strings and null close', async () => {
  for (const bad of [NaN, -1, 'abc', 2 ** 32, 2 ** 31 + 1, Infinity, {}]) {
    const db = new SQL(pg.url, { max: 1 })
    const e = await rejection(db.close({ timeout: bad }))
    assert.ok(e instanceof TypeError)
    assert.strictEqual(e.code, 'ERR_INVALID_ARG_VALUE')
    assert.strictEqual(e.message, `The property 'options.timeout' must be a non-negative integer less than 2^31. Received ${Number(bad)}`)
    // Nothing was closed: the pool still answers.
    assert.strictEqual((await db`select 1 as x`)[0].x, 1)
    await db.close({ timeout: 0 })
  }
  for (const good of [null, undefined, '0', 0.5, 2, 2 ** 31]) {
    const db = new SQL(pg.url, { max: 1 })
    await db`select 1`
    await db.close({ timeout: good })
    assert.strictEqual((await rejection(db`select 1`)).code, 'ERR_POSTGRES_CONNECTION_CLOSED')
  }
  const db = new SQL(pg.url, { max: 1 })
  try {
    const reserved = await db.reserve()
    assert.strictEqual((await rejection(reserved.close({ timeout: NaN }))).code, 'ERR_INVALID_ARG_VALUE')
    await reserved.close({ timeout: 0 })
    assert.strictEqual((await db`select 2 as y`)[0].y, 2) // the connection went back
  } finally {
    await db.close()
  }
})

test('MySQL BIGINT as Bun 1.4.5: a number when it fits int32 (UNSIGNED: uint32), else a string or (bigint: true) a BigInt; integer parameters above 2^31-1 go UNSIGNED', async () => {
  for (const bigint of [false, true]) {
    const db = new SQL(mysql.url, { max: 1, bigint })
    const big = (s) => (bigint ? BigInt(s) : s)
    try {
      await db`create temporary table conf_big (s bigint, u bigint unsigned)`
      await db`insert into conf_big values (2147483648, 4294967295), (-5, 4294967296)`
      const rows = await db`select s, u, count(*) over () as c from conf_big order by s`
      assert.deepStrictEqual(rows.map((r) => [r.s, r.u, r.c]), [[-5, big('4294967296'), 2], [big('2147483648'), 4294967295, 2]])
      const [p] = await db`select ${2 ** 31 + 1} as a, ${2 ** 32} as b, ${-(2 ** 31) - 1} as c, ${7} as d`
      assert.deepStrictEqual([p.a, p.b, p.c, p.d], [2147483649, big('4294967296'), big('-2147483649'), 7])
    } finally {
      await db.close()
    }
  }
})

for (const [name, url] of [['PostgreSQL', () => pg.url], ['MySQL', () => mysql.url]]) {
  test(`${name}: an UPDATE helper skips undefined values; with none left it is Bun's SyntaxError`, async () => {
    const db = new SQL(url(), { max: 1 })
    try {
      await db`create temporary table conf_upd (id int, name text, age int)`
      await db`insert into conf_upd ${db([{ id: 1, name: 'John', age: 30 }, { id: 2, name: undefined, age: 25 }])}`
      await db`update conf_upd set ${db({ name: 'Mary', age: undefined })} where id = ${1}`
      assert.deepStrictEqual([...await db`select id, name, age from conf_upd order by id`],
        [{ id: 1, name: 'Mary', age: 30 }, { id: 2, name: null, age: 25 }]) // INSERT: undefined is NULL
      const e = await rejection(db`update conf_upd set ${db({ name: undefined })} where id = ${1}`)
      assert.ok(e instanceof SyntaxError)
      assert.strictEqual(e.message, 'Update needs to have at least one column')
    } finally {
      await db.close()
    }
  })
}

test('MySQL: a helper after ON DUPLICATE KEY UPDATE is col = value pairs', async () => {
  const db = new SQL(mysql.url, { max: 1 })
  try {
    await db`create temporary table conf_ups (id int primary key, foo text, n int)`
    const row = { id: 1, foo: 'a', n: 1 }
    await db`insert into conf_ups ${db(row)} on duplicate key update ${db(row)}`
    await db`insert into conf_ups ${db({ ...row, foo: 'b' })} on duplicate key update ${db({ foo: 'b', n: undefined })}`
    assert.deepStrictEqual([...await db`select * from conf_ups`], [{ id: 1, foo: 'b', n: 1 }])
  } finally {
    await db.close()
  }
})

for (const [name, url, sleep] of [['PostgreSQL', () => pg.url, 'select pg_sleep(0.5)'], ['MySQL', () => mysql.url, 'select sleep(0.5)']]) {
  test(`${name}: tx.close() (Bun's transaction close): later queries are CONNECTION_CLOSED, the work is rolled back, begin() rejects`, async () => {
    const db = new SQL(url(), { max: 2 })
    const table = 'conf_txc_' + process.pid
    const count = async () => Number((await db.unsafe(`select count(*) as n from ${table}`))[0].n)
    try {
      await db.unsafe(`create table ${table} (x int)`)
      for (const sp of [false, true]) {
        const seen = {}
        const e = await rejection(db.begin(async (tx) => {
          seen.methods = [typeof tx.close, typeof tx.end, typeof tx.flush, typeof tx[Symbol.asyncDispose]]
          await tx.unsafe(`insert into ${table} values (1)`)
          // Closed inside a savepoint, the savepoint rejects too (nothing to release).
          seen.closed = sp ? (await rejection(tx.savepoint(async (s) => s.close()))).code : await tx.close()
          seen.again = await tx.close() // a second close resolves as well
          seen.after = (await rejection(tx`select 1`)).code
          seen.savepoint = (await rejection(tx.savepoint(async () => {}))).code
          return 'not committed'
        }))
        const closedCode = `ERR_${name === 'MySQL' ? 'MYSQL' : 'POSTGRES'}_CONNECTION_CLOSED`
        assert.deepStrictEqual(seen, { methods: ['function', 'function', 'function', 'function'], closed: sp ? closedCode : undefined,
          again: undefined, after: closedCode, savepoint: closedCode })
        assert.strictEqual(e.code, seen.after)
        assert.strictEqual(await count(), 0) // rolled back
      }
      // A running query: without a timeout it is cancelled; with one it may finish first.
      for (const timeout of [undefined, 5]) {
        const t0 = Date.now()
        let slow
        await rejection(db.begin(async (tx) => {
          await tx.unsafe(`insert into ${table} values (2)`)
          const q = tx.unsafe(sleep).execute()
          slow = q.then(() => 'finished', (err) => err.errno)
          // A cancel that reaches the server before the query starts is dropped (best effort).
          await new Promise((resolve) => setTimeout(resolve, 100))
          await tx.close(timeout === undefined ? undefined : { timeout })
          return 'not committed'
        }))
        assert.strictEqual(await slow, timeout === undefined ? (name === 'MySQL' ? 1317 : '57014') : 'finished')
        assert.ok(timeout === undefined ? Date.now() - t0 < 450 : Date.now() - t0 >= 450)
        assert.strictEqual(await count(), 0)
      }
      const bad = await rejection(db.begin(async (tx) => tx.close({ timeout: NaN })))
      assert.ok(bad instanceof TypeError)
      assert.strictEqual(bad.code, 'ERR_INVALID_ARG_VALUE')
      assert.strictEqual(Number((await db`select 3 as y`)[0].y), 3) // the pool still serves
    } finally {
      await db.unsafe(`drop table if exists ${table}`)
      await db.close()
    }
  })

  test(`${name}: close({ timeout }) while begin() starts lets the transaction's queries run until the deadline`, async () => {
    const table = 'conf_txd_' + process.pid
    const admin = new SQL(url(), { max: 1 })
    await admin.unsafe(`create table ${table} (x int)`)
    try {
      const a = new SQL(url(), { max: 2 })
      process.nextTick(() => a.close({ timeout: 1 }))
      // Bun's sql.test.ts "Uncaught transaction request errors bubbles to transaction".
      const e = await rejection(a.begin((tx) => [tx`select wat`, tx`select 1 as x`]))
      assert.strictEqual(e.code, `ERR_${name === 'MySQL' ? 'MYSQL' : 'POSTGRES'}_SERVER_ERROR`)
      const b = new SQL(url(), { max: 2 })
      const closed = new Promise((resolve) => process.nextTick(() => resolve(b.close({ timeout: 2 }))))
      const v = await b.begin(async (tx) => {
        await tx.unsafe(sleep.replace('0.5', '0.2'))
        await tx.unsafe(`insert into ${table} values (5)`)
        return (await tx`select 7 as v`)[0].v
      })
      assert.strictEqual(Number(v), 7)
      await closed
      assert.strictEqual(Number((await admin.unsafe(`select count(*) as n from ${table}`))[0].n), 1) // committed
      assert.strictEqual((await rejection(b`select 1`)).code, e.code.replace('SERVER_ERROR', 'CONNECTION_CLOSED'))
      // Past the deadline its next query fails, and close() has resolved.
      const c = new SQL(url(), { max: 2 })
      process.nextTick(() => c.close({ timeout: 0.3 }))
      const late = await rejection(c.begin(async (tx) => {
        await tx`select 1`
        await new Promise((resolve) => setTimeout(resolve, 600))
        return tx`select 2`
      }))
      assert.strictEqual(late.code, e.code.replace('SERVER_ERROR', 'CONNECTION_CLOSED'))
    } finally {
      await admin.unsafe(`drop table if exists ${table}`)
      await admin.close()
    }
  })
}

test('PostgreSQL cancel() as Bun 1.4.5: a running query rejects with the server error (SERVER_ERROR, 57014); one waiting for a connection or pipelined behind another rejects at once with QUERY_CANCELLED "Query cancelled"', async () => {
  const db = new SQL(pg.url, { max: 1 })
  try {
    await db`select 1` // connected: the cancel below does not race the handshake
    const running = db`select pg_sleep(5)`.execute()
    await new Promise((resolve) => setTimeout(resolve, 300)) // running on the server
    running.cancel()
    const e1 = await rejection(running)
    assert.deepStrictEqual([e1.code, e1.errno, e1.message], ['ERR_POSTGRES_SERVER_ERROR', '57014', 'canceling statement due to user request'])

    const reserved = await db.reserve() // the only connection: a pooled query waits in the pool
    const waiting = db`select 1`.execute()
    waiting.cancel()
    const e2 = await rejection(waiting)
    assert.deepStrictEqual([e2.code, e2.message, e2.errno], ['ERR_POSTGRES_QUERY_CANCELLED', 'Query cancelled', undefined])
    reserved.release()

    const head = db`select pg_sleep(0.3), 1 as x`.execute()
    const behind = db`select pg_sleep(5)`.execute()
    await new Promise((resolve) => setTimeout(resolve, 50))
    behind.cancel()
    const e3 = await Promise.race([rejection(behind), head.then(() => 'the head ended first')])
    assert.strictEqual(e3.code, 'ERR_POSTGRES_QUERY_CANCELLED')
    assert.strictEqual((await head)[0].x, 1)
    const t0 = Date.now()
    assert.strictEqual((await db`select 2 as y`)[0].y, 2) // `behind` was interrupted on the server
    assert.ok(Date.now() - t0 < 3000)
  } finally {
    await db.close()
  }
})

test('PostgreSQL: a cancel connection the server answers (instead of closing it) is closed at once and the query gets its 57014 (Bun postgres-query-cancel.test.ts)', async () => {
  const { fakePg } = require('../helpers/fake-pg.js')
  const frames = require('../helpers/frames.js')
  let cancelArrived
  const arrived = new Promise((resolve) => { cancelArrived = resolve })
  let cancelConn = null
  const server = await fakePg(async (c, index) => {
    await c.startup()
    if (index === 1) { // the CancelRequest: answered like the start of a session, left open
      cancelConn = c
      c.send(Buffer.concat([frames.authOk(), frames.readyForQuery()]))
      cancelArrived()
      return
    }
    c.send(frames.startupOk())
    await c.readUntilSync() // the query: unanswered until the cancel came
    await arrived
    c.send(Buffer.concat([frames.errorResponse({ S: 'ERROR', C: '57014', M: 'canceling statement due to user request' }), frames.readyForQuery()]))
    await c.readUntilSync()
  })
  const db = new SQL({ url: server.url, max: 1, connectionTimeout: 5 })
  try {
    const q = db`select pg_sleep(10)`.execute()
    while (server.connections.length === 0) await new Promise((resolve) => setTimeout(resolve, 10))
    await new Promise((resolve) => setTimeout(resolve, 100))
    const t0 = Date.now()
    q.cancel()
    const e = await rejection(q)
    assert.deepStrictEqual([e.code, e.errno], ['ERR_POSTGRES_SERVER_ERROR', '57014'])
    for (let i = 0; i < 100 && !(cancelConn && cancelConn.closed); i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.ok(cancelConn.closed, 'the client closed the answered cancel connection')
    assert.ok(Date.now() - t0 < 2000, 'not after the 5 s deadline')
  } finally {
    await db.close({ timeout: 0 })
    await server.close()
  }
})

test('PostgreSQL: `path` may name the socket file itself, not only its directory (Bun.SQL takes both)', async () => {
  const fs = require('node:fs')
  const os = require('node:os')
  const path = require('node:path')
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvsql-sock-'))
  const link = path.join(dir, 'pg.sock')
  fs.symlinkSync(path.join(pg.socketDir, '.s.PGSQL.' + pg.port), link)
  try {
    for (const p of [link, pg.socketDir]) {
      const db = new SQL({ adapter: 'postgres', path: p, port: pg.port, username: 'uvsql_trust', database: pg.database, max: 1 })
      try {
        assert.strictEqual((await db`select 1 as x`)[0].x, 1, p)
      } finally {
        await db.close()
      }
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('PostgreSQL: ReservedSQL.close() closes its connection, as Bun.SQL (release() gives it back)', async () => {
  const db = new SQL(pg.url, { max: 1 })
  try {
    const pid = async (s) => (await s`select pg_backend_pid() as p`)[0].p
    const r1 = await db.reserve()
    const first = await pid(r1)
    r1.release()
    const r2 = await db.reserve()
    assert.strictEqual(await pid(r2), first, 'release() gave the same connection back')
    await r2.close()
    assert.strictEqual((await rejection(r2`select 1`)).code, 'ERR_POSTGRES_CONNECTION_CLOSED')
    assert.notStrictEqual(await pid(db), first, 'close() closed it: the pool opened another')
  } finally {
    await db.close()
  }
})

test('listen() as Bun.SQL: a connection of its own (notify and reserve work with max 1), closed with the last subscription; channels are one identifier; tx.notify() is delivered on commit', async () => {
  const closes = []
  const db = new SQL(pg.url, { max: 1, onclose: (e) => closes.push(e.message) })
  const listening = async (channel) => Number((await db`select count(*) as n from pg_stat_activity where query = ${'LISTEN "' + channel + '"'}`)[0].n)
  // A subscription does not keep Node's event loop alive (README); the test waits for its
  // notifications, so something else must.
  const alive = setInterval(() => {}, 1000)
  try {
    const got = []
    let arrived = null
    const next = () => new Promise((resolve) => { arrived = resolve })
    const onnotify = (p) => { got.push(p); if (arrived) arrived() }
    const weird = 'wat-;.ø.§' // a dot is part of the name, not schema.name
    const sub = await db.listen(weird, onnotify)
    assert.strictEqual(sub.channel, weird)
    let wait = next()
    await db.notify(weird, 'one') // with max 1: the pool's only connection is free for it
    await wait
    const reserved = await db.reserve() // and for reserve()
    wait = next()
    await reserved.notify(weird, 'two')
    await wait
    reserved.release()
    await rejection(db.begin(async (tx) => {
      await tx.notify(weird, 'rolled back')
      throw new Error('abort')
    }))
    wait = next()
    await db.begin((tx) => tx.notify(weird, 'committed'))
    await wait
    assert.deepStrictEqual(got, ['one', 'two', 'committed'])
    assert.strictEqual(await listening(weird), 1)
    await sub.unlisten()
    await sub.unlisten() // a second time is a no-op
    for (let i = 0; i < 100 && await listening(weird) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
    assert.strictEqual(await listening(weird), 0, 'the last unlisten() closed the LISTEN connection')
    assert.ok(closes.includes('Connection closed'), JSON.stringify(closes))
  } finally {
    clearInterval(alive)
    await db.close()
  }
})

test('listen()/notify() arguments as Bun.SQL: checked before any I/O (listen rejects, notify throws), whatever the adapter', async () => {
  let lite = () => new SQL('sqlite://:memory:')
  try {
    if (!process.versions.bun) require('node:sqlite')
  } catch {
    lite = null // node:sqlite: Node >= 22.5
  }
  for (const db of [new SQL('postgres://u@127.0.0.1:1/db', { max: 1 }), ...(lite ? [lite()] : [])]) {
    const cb = () => {}
    try {
      assert.match((await rejection(db.listen('', cb))).message, /non-empty/)
      assert.match((await rejection(db.listen('a\0b', cb))).message, /null bytes/)
      assert.match((await rejection(db.listen('c'.repeat(64), cb))).message, /63 bytes/)
      assert.match((await rejection(db.listen('字'.repeat(22), cb))).message, /63 bytes/)
      assert.match((await rejection(db.listen('ch', 1))).message, /onnotify/)
      assert.match((await rejection(db.listen('ch', cb, 1))).message, /onlisten/)
      assert.throws(() => db.notify('', 'p'), /non-empty/)
      assert.throws(() => db.notify('ch', null), /payload/)
      assert.throws(() => db.notify('ch', 1), /payload/)
      assert.ok(!('unlisten' in db))
    } finally {
      await db.close()
    }
  }
  if (lite === null) return
  const db = lite()
  assert.match((await rejection(db.listen('ch', () => {}))).message, /PostgreSQL only/)
  assert.match((await rejection(db.notify('ch'))).message, /PostgreSQL only/)
  await db.close()
})

test('listen(): a listener added by a callback gets the next notification, not the current one; one removed by a callback gets nothing more', async () => {
  const db = new SQL(pg.url, { max: 2 })
  try {
    const calls = []
    let done
    const finished = new Promise((resolve) => { done = resolve })
    let b = null
    await db.listen('conf_order', (p) => {
      calls.push('a:' + p)
      if (p === '1') {
        db.listen('conf_order', (q) => { calls.push('late:' + q); if (q === '2') done() })
        b.unlisten()
      }
    })
    b = await db.listen('conf_order', (p) => calls.push('b:' + p))
    await db.notify('conf_order', '1')
    await db.notify('conf_order', '2')
    const alive = setInterval(() => {}, 1000) // see above
    await finished
    clearInterval(alive)
    assert.deepStrictEqual(calls, ['a:1', 'a:2', 'late:2'])
  } finally {
    await db.close()
  }
})

test('PostgreSQL arrays of text search, range, multirange, reg*, pg_lsn, snapshot, xid8 types are arrays of strings, as Bun.SQL reads them (were their array text)', async () => {
  const db = new SQL(pg.url, { max: 1 })
  try {
    const [r] = await db`select array['a fat cat'::tsvector, null] as tv, array['fat & rat'::tsquery] as tq,
      array['[1,5)'::int4range] as r4, array['[2024-01-01,2024-02-01)'::tsrange] as tr, array['{[1,2]}'::int4multirange] as mr,
      array['pg_class'::regclass] as rc, array['int4'::regtype] as rt, array['16/B374D848'::pg_lsn] as lsn,
      array['10:20:10,14,15'::txid_snapshot] as ts, '{1,2}'::xid8[] as x8, array[]::int8range[] as empty`
    assert.deepStrictEqual({ ...r }, {
      tv: ["'a' 'cat' 'fat'", null], tq: ["'fat' & 'rat'"], r4: ['[1,5)'], tr: ['["2024-01-01 00:00:00","2024-02-01 00:00:00")'],
      mr: ['{[1,3)}'], rc: ['pg_class'], rt: ['integer'], lsn: ['16/B374D848'], ts: ['10:20:10,14,15'], x8: ['1', '2'], empty: [],
    })
  } finally {
    await db.close()
  }
})

test('PostgreSQL float4 in rows Bun.SQL reads in binary (a query with parameters) is the float32 value; read as text it is the text\'s', async () => {
  const db = new SQL(pg.url, { max: 1 })
  try {
    const [b] = await db`select ${0.1}::float4 as f, array[0.1::float4, null] as a, array[0.1::float4] as t`
    assert.deepStrictEqual([b.f, b.a], [Math.fround(0.1), [Math.fround(0.1), null]])
    assert.ok(b.t instanceof Float32Array && b.t[0] === Math.fround(0.1))
    const [t] = await db.unsafe('select 0.1::float4 as f, array[0.1::float4, null] as a')
    assert.deepStrictEqual([t.f, t.a], [0.1, [0.1, null]])
  } finally {
    await db.close()
  }
})

test('one row shape read with and without parameters: float4 still decodes by format (PostgreSQL); the rest share a decoder', async () => {
  const db = new SQL(pg.url, { max: 1 })
  try {
    // The same columns, so the same row shape: binary first (a parameter), then text; then the
    // other way round under other names.
    const [b] = await db`select 0.1::float4 as f, 7::int4 as i where ${1}::int = 1`
    const [t] = await db`select 0.1::float4 as f, 7::int4 as i`
    assert.deepStrictEqual([b.f, t.f, b.i, t.i], [Math.fround(0.1), 0.1, 7, 7])
    const [t2] = await db`select 0.1::float4 as g`
    const [b2] = await db`select 0.1::float4 as g where ${1}::int = 1`
    assert.deepStrictEqual([t2.g, b2.g], [0.1, Math.fround(0.1)])
    const q = (p) => p
      ? db`select 5::int4 as i, 'x'::text as s, null::text as n, '{"a": [1]}'::jsonb as j, 't'::bool as b where ${1}::int = 1`
      : db`select 5::int4 as i, 'x'::text as s, null::text as n, '{"a": [1]}'::jsonb as j, 't'::bool as b`
    const want = [{ i: 5, s: 'x', n: null, j: { a: [1] }, b: true }]
    assert.deepStrictEqual([...await q(true)], want)
    assert.deepStrictEqual([...await q(false)], want)
  } finally {
    await db.close()
  }
  const my = new SQL(mysql.url, { max: 1 })
  try {
    const q = (p) => p
      ? my`select cast(5 as signed) as i, cast(1e15 as signed) as big, 'x' as s, null as n where ${1} = 1`
      : my`select cast(5 as signed) as i, cast(1e15 as signed) as big, 'x' as s, null as n`
    const want = [{ i: 5, big: '1000000000000000', s: 'x', n: null }]
    assert.deepStrictEqual([...await q(false)], want)
    assert.deepStrictEqual([...await q(true)], want)
  } finally {
    await my.close()
  }
})

test('a sqlite URL with another adapter is Bun.SQL\'s "Invalid URL ... Did you mean to specify { adapter: "sqlite" }?"', () => {
  for (const adapter of ['postgres', 'mysql']) {
    assert.throws(() => new SQL('sqlite://:memory:', { adapter }), (e) => e instanceof Error &&
      e.message === `Invalid URL 'sqlite://:memory:' for ${adapter}. Did you mean to specify \`{ adapter: "sqlite" }\`?`)
  }
})

test('PostgreSQL: a BINARY cursor\'s FETCH (columns in binary format) rejects with ERR_POSTGRES_UNKNOWN_FORMAT_CODE, as in Bun 1.4.5, instead of reading the bytes as text', async () => {
  const db = new SQL(pg.url, { max: 1 })
  try {
    const e = await rejection(db.begin(async (tx) => {
      await tx.unsafe('declare conf_c binary cursor for select 1.5::numeric as n, 42 as i')
      return tx.unsafe('fetch all from conf_c')
    }))
    assert.strictEqual(e.code, 'ERR_POSTGRES_UNKNOWN_FORMAT_CODE')
    assert.match(e.message, /binary format/)
    const ok = await db.begin(async (tx) => {
      await tx.unsafe('declare conf_t cursor for select 1.5::numeric as n, 42 as i')
      return tx.unsafe('fetch all from conf_t')
    })
    assert.deepStrictEqual([...ok], [{ n: '1.5', i: 42 }]) // a text cursor reads, and the connection went on
  } finally {
    await db.close()
  }
})

// Bun's sql-close-pending-connection: "close({ timeout: 0.01 }) closes a pool that waits in
// close({ timeout: 30 })". A later close() with a shorter timeout brings the deadline forward;
// the running query fails with Bun's "Connection closed" (it said "connection closed", and a
// query made past the deadline "the connection pool is closed").
for (const [name, url, sleep, prefix] of [['PostgreSQL', () => pg.url, 'select pg_sleep(5)', 'ERR_POSTGRES_'],
  ['MySQL', () => mysql.url, 'select sleep(5)', 'ERR_MYSQL_']]) {
  test(`${name}: a later close() with a shorter timeout ends a close() that waits longer; the queries fail with "Connection closed"`, async () => {
    const db = new SQL(url(), { max: 1 })
    await db`select 1`
    const running = rejection(db.unsafe(sleep))
    await new Promise((resolve) => setTimeout(resolve, 50)) // on the wire
    const t0 = Date.now()
    const first = db.close({ timeout: 30 })
    await db.close({ timeout: 0.05 })
    const e = await running
    assert.ok(Date.now() - t0 < 3000, `closed after ${Date.now() - t0} ms`)
    assert.deepStrictEqual([e.code, e.message], [prefix + 'CONNECTION_CLOSED', 'Connection closed'])
    await first
    // A longer later timeout does not put the deadline back.
    const db2 = new SQL(url(), { max: 1 })
    await db2`select 1`
    const running2 = rejection(db2.unsafe(sleep))
    await new Promise((resolve) => setTimeout(resolve, 50))
    const t1 = Date.now()
    const early = db2.close({ timeout: 0.05 })
    await db2.close({ timeout: 30 })
    await early
    assert.ok(Date.now() - t1 < 3000, `closed after ${Date.now() - t1} ms`)
    assert.strictEqual((await running2).message, 'Connection closed')
    // A transaction query made after the deadline: the same words.
    const db3 = new SQL(url(), { max: 1 })
    const tx = rejection(db3.begin(async (t) => {
      await new Promise((resolve) => setTimeout(resolve, 300))
      return t`select 3`
    }))
    await new Promise((resolve) => setTimeout(resolve, 50))
    await db3.close({ timeout: 0.1 })
    const te = await tx
    assert.deepStrictEqual([te.code, te.message], [prefix + 'CONNECTION_CLOSED', 'Connection closed'])
  })
}

// Bun's postgres-datarow-overrun: a DataRow or RowDescription whose counts or cell lengths
// overrun its own length is ERR_POSTGRES_INVALID_MESSAGE (was UNEXPECTED_MESSAGE); an unknown
// message type stays UNEXPECTED_MESSAGE. A scripted server: a real one never sends these.
test('PostgreSQL: a DataRow / RowDescription that overruns its length is ERR_POSTGRES_INVALID_MESSAGE; an unknown message stays UNEXPECTED_MESSAGE', async () => {
  const { fakePg } = require('../helpers/fake-pg.js')
  const f = require('../helpers/frames.js')
  const raw = (type, ...parts) => f.frame(type, Buffer.concat(parts))
  const field = (name) => Buffer.concat([Buffer.from(name + '\0'), f.u32(0), f.u16(0), f.u32(25), f.u16(65535), f.i32(-1), f.u16(0)])
  const end = Buffer.concat([f.commandComplete('SELECT 1'), f.readyForQuery('I')])
  const cases = [
    [raw('T', f.u16(1), field('n')), raw('D', f.u16(1), f.i32(100), Buffer.from('ab')), 'ERR_POSTGRES_INVALID_MESSAGE'],
    [raw('T', f.u16(1), field('n')), raw('D', f.u16(3), f.i32(2), Buffer.from('ab')), 'ERR_POSTGRES_INVALID_MESSAGE'],
    [raw('T', f.u16(1), field('n')), raw('D', f.u16(1), f.i32(-2), Buffer.from('ab')), 'ERR_POSTGRES_INVALID_MESSAGE'],
    [raw('T', f.u16(2), field('n')), Buffer.alloc(0), 'ERR_POSTGRES_INVALID_MESSAGE'],
    [raw('T', f.u16(1), field('n')), raw('!', Buffer.from('hello\0')), 'ERR_POSTGRES_UNEXPECTED_MESSAGE'],
  ]
  for (const [desc, row, code] of cases) {
    const server = await fakePg(async (c) => {
      await c.startup()
      c.send(f.startupOk())
      await c.expect('Q')
      c.send(Buffer.concat([desc, row, end]))
    })
    const db = new SQL(server.url, { max: 1 })
    try {
      const e = await rejection(db`select n`.simple())
      assert.ok(e instanceof SQL.PostgresError)
      assert.strictEqual(e.code, code, e.message)
    } finally {
      await db.close({ timeout: 0 })
      await server.close()
    }
  }
})

// Bun's postgres-query-cancel TLS tests: the CancelRequest of a TLS session went in the clear
// (its 16 bytes, with the backend's cancel key, right after the TCP connect). It now goes the
// way the session went: SSLRequest, TLS handshake with the session's settings, the request
// inside TLS. A scripted TLS-only backend, which reads only TLS after its 'S'.
test('PostgreSQL: a TLS session\'s cancel() sends the CancelRequest through TLS (an SSLRequest first, nothing else in the clear)', async () => {
  const tls = require('node:tls')
  const fs = require('node:fs')
  const f = require('../helpers/frames.js')
  const cert = { cert: fs.readFileSync(process.env.UVSQL_TEST_TLS_CERT), key: fs.readFileSync(process.env.UVSQL_TEST_TLS_KEY) }
  const SSL_REQUEST = Buffer.from([0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f])
  const plaintext = [] // what each connection sent before TLS
  let held = null
  let gotPacket
  const cancelPacket = new Promise((resolve) => { gotPacket = resolve })
  const sockets = new Set()
  const server = net.createServer((raw) => {
    sockets.add(raw)
    const n = plaintext.length
    plaintext.push(Buffer.alloc(0))
    raw.on('error', () => {})
    raw.on('data', function first(d) {
      plaintext[n] = Buffer.concat([plaintext[n], d])
      if (plaintext[n].length < 8) return
      raw.removeListener('data', first)
      if (!plaintext[n].subarray(0, 8).equals(SSL_REQUEST)) return void gotPacket(null) // in the clear
      raw.write('S')
      const s = new tls.TLSSocket(raw, { isServer: true, ...cert })
      s.on('error', () => {})
      let buf = Buffer.alloc(0)
      let started = false
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d])
        if (n > 0) { // the cancel connection: 16 bytes, then it hangs up
          if (buf.length >= 16) { gotPacket(buf); s.end() }
          return
        }
        if (!started) {
          started = true
          buf = Buffer.alloc(0)
          s.write(Buffer.concat([f.authOk(), f.backendKeyData(4242, 13371337), f.readyForQuery('I')]))
        } else if (buf.includes(0x53) || buf[0] === 0x51) {
          held = s // the query: no answer until the cancel arrives
        }
      })
    })
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  const db = new SQL({ url: `postgres://postgres@127.0.0.1:${server.address().port}/postgres?sslmode=verify-full`,
    tls: { ca: fs.readFileSync(process.env.UVSQL_TEST_TLS_CA, 'utf8') }, max: 1, connectionTimeout: 5 })
  try {
    const q = db.unsafe('select pg_sleep(10)').simple().execute()
    const settled = q.then((r) => r, (e) => e)
    while (held === null) await new Promise((resolve) => setTimeout(resolve, 5))
    q.cancel()
    const packet = await cancelPacket
    assert.ok(packet !== null, 'the CancelRequest went in the clear: ' + plaintext[1].toString('hex'))
    assert.deepStrictEqual(packet, Buffer.from([0, 0, 0, 16, 0x04, 0xd2, 0x16, 0x2e, 0, 0, 0x10, 0x92, 0, 0xcc, 0x07, 0xc9]))
    assert.deepStrictEqual(plaintext.map((b) => b.toString('hex')), [SSL_REQUEST.toString('hex'), SSL_REQUEST.toString('hex')])
    held.write(Buffer.concat([f.errorResponse({ S: 'ERROR', C: '57014', M: 'canceling statement due to user request' }), f.readyForQuery('I')]))
    assert.strictEqual((await settled).errno, '57014')
  } finally {
    await db.close({ timeout: 0 })
    for (const s of sockets) s.destroy()
    await new Promise((resolve) => server.close(resolve))
  }
})
