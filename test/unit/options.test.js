'use strict'
// Options and environment precedence, as Bun.SQL resolves them (no server needed).

const { test } = require('node:test')
const assert = require('node:assert')
const util = require('node:util')
const { parseOptions, nativeConfig } = require('../../lib/options.js')

const opts = (a, b, env = {}) => parseOptions(a, b, env)

test('defaults', () => {
  const o = opts(undefined, undefined, {})
  assert.strictEqual(o.hostname, 'localhost')
  assert.strictEqual(o.port, 5432)
  assert.strictEqual(o.username, 'postgres')
  assert.strictEqual(o.database, 'postgres')
  assert.deepStrictEqual([o.max, o.idleTimeout, o.maxLifetime, o.connectionTimeout], [10, 0, 0, 30])
  assert.strictEqual(o.tlsMode, 'disable')
})

test('URL environment variables in Bun order', () => {
  const env = { DATABASE_URL: 'postgres://d@hd/dd', POSTGRES_URL: 'postgres://p@hp/dp', PGURL: 'postgres://g@hg/dg' }
  assert.strictEqual(opts(undefined, undefined, env).hostname, 'hp')
  delete env.POSTGRES_URL
  assert.strictEqual(opts(undefined, undefined, env).hostname, 'hd')
  delete env.DATABASE_URL
  assert.strictEqual(opts(undefined, undefined, env).hostname, 'hg')
})

test('a TLS_* URL variable means require unless a mode is named', () => {
  assert.strictEqual(opts(undefined, undefined, { TLS_DATABASE_URL: 'postgres://u@h/d' }).tlsMode, 'require')
  assert.strictEqual(opts(undefined, undefined, { TLS_DATABASE_URL: 'postgres://u@h/d?sslmode=verify-full' }).tlsMode, 'verify-full')
})

test('explicit host/user/... options ignore URL variables; PG* variables fill the gaps', () => {
  const env = { DATABASE_URL: 'postgres://d@hd/dd', PGUSER: 'envuser', PGDATABASE: 'envdb', PGPORT: '6543' }
  const o = opts({ hostname: 'explicit' }, undefined, env)
  assert.deepStrictEqual([o.hostname, o.username, o.database, o.port], ['explicit', 'envuser', 'envdb', 6543])
})

test('explicit options beat the URL, the URL beats the environment', () => {
  const o = opts('postgres://u:p@h:1234/db?application_name=x', { database: 'other', max: 3 }, { PGHOST: 'envhost' })
  assert.deepStrictEqual([o.hostname, o.port, o.username, o.database, o.max], ['h', 1234, 'u', 'other', 3])
  assert.deepStrictEqual(o.connection, { application_name: 'x' })
})

test('aliases: host, user, pass, db, idle_timeout, max_lifetime, connect_timeout', () => {
  const o = opts({ host: 'h', user: 'u', pass: 'p', db: 'd', idle_timeout: 2, max_lifetime: 3, connect_timeout: 4 })
  assert.deepStrictEqual([o.hostname, o.username, nativeConfig(o).password, o.database, o.idleTimeout, o.maxLifetime, o.connectionTimeout],
    ['h', 'u', 'p', 'd', 2, 3, 4])
})

test('timeouts out of range are refused with ERR_INVALID_ARG_VALUE', () => {
  for (const bad of [-1, 2 ** 31 + 1, NaN, 'x']) {
    assert.throws(() => opts({ idleTimeout: bad }), (e) => e.code === 'ERR_INVALID_ARG_VALUE', String(bad))
  }
  assert.throws(() => opts({ port: 70000 }), (e) => e.code === 'ERR_INVALID_ARG_VALUE')
})

test('the password never shows in inspect or JSON of the options', () => {
  const o = opts('postgres://u:sentinel-secret@h/d')
  assert.strictEqual(o.password, '[redacted]')
  assert.strictEqual(nativeConfig(o).password, 'sentinel-secret')
  assert.ok(!util.inspect(o, { depth: 5, showHidden: true }).includes('sentinel-secret'))
  assert.ok(!JSON.stringify(o).includes('sentinel-secret'))
})

test('a path or ?host=/dir URL selects a unix socket', () => {
  assert.strictEqual(opts({ path: '/run/pg', port: 5433 }).path, '/run/pg/.s.PGSQL.5433')
  assert.strictEqual(opts('postgres://u@localhost:5432/d?host=%2Ftmp').path, '/tmp/.s.PGSQL.5432')
})

test('I/O driver: js under Bun, uv on Node by default; the option and UVSQL_DRIVER choose; bad names and uv under Bun are refused', () => {
  const onBun = Boolean(process.versions.bun)
  assert.strictEqual(opts('postgres://u@h/d').driver, onBun ? 'js' : 'uv')
  assert.strictEqual(opts('postgres://u@h/d', { driver: 'js' }).driver, 'js')
  assert.strictEqual(opts('postgres://u@h/d', undefined, { UVSQL_DRIVER: 'js' }).driver, 'js')
  assert.throws(() => opts('postgres://u@h/d', { driver: 'epoll' }), (e) => e.code === 'ERR_INVALID_ARG_VALUE' && /driver/.test(e.message))
  if (onBun) {
    assert.throws(() => opts('postgres://u@h/d', { driver: 'uv' }), (e) => e.code === 'ERR_INVALID_ARG_VALUE' && /Bun/.test(e.message))
  } else {
    assert.strictEqual(opts('postgres://u@h/d', { driver: 'uv' }).driver, 'uv')
  }
})

test('MySQL options: schemes, MYSQL_* variables, defaults, ssl-mode names, socket, prepare: false refused', () => {
  const my = opts('mysql://u:p@h:3307/db?ssl-mode=REQUIRED')
  assert.deepStrictEqual([my.adapter, my.hostname, my.port, my.username, my.database, my.tlsMode], ['mysql', 'h', 3307, 'u', 'db', 'require'])
  const env = opts({ adapter: 'mariadb' }, undefined, { MYSQL_HOST: 'mh', MYSQL_PORT: '3310', MYSQL_USER: 'mu', PGHOST: 'pgh' })
  assert.deepStrictEqual([env.adapter, env.hostname, env.port, env.username, env.database], ['mysql', 'mh', 3310, 'mu', 'mysql'])
  assert.deepStrictEqual([opts({ adapter: 'mysql' }).port, opts({ adapter: 'mysql' }).username], [3306, 'root'])
  assert.strictEqual(opts('mysqls://u@h/d').tlsMode, 'require')
  assert.strictEqual(opts('mysql://u@localhost/d?socket=/run/my.sock').path, '/run/my.sock')
  assert.strictEqual(opts(undefined, undefined, { MYSQL_URL: 'mysql://a@b/c' }).adapter, 'mysql')
  assert.throws(() => opts('mysql://u@h/d', { prepare: false }), (e) => e.code === 'ERR_INVALID_ARG_VALUE')
  // The adapter option wins over the URL's scheme (Bun 1.4.5), with that adapter's default port.
  assert.deepStrictEqual(['adapter', 'hostname', 'port', 'database'].map((k) => opts('postgres://u@h/d', { adapter: 'mysql' })[k]), ['mysql', 'h', 3306, 'd'])
})

// Found by the `options` fuzz target (fuzz/crashes/options-uri-malformed.json): a malformed
// percent escape in a URL part threw a bare URIError (no code) out of decodeURIComponent.
test('a malformed percent escape in the URL is ERR_INVALID_ARG_VALUE and does not show the password', () => {
  for (const url of ['postgres://%zz@h/d', 'postgres://u:%zz-sentinel-pw@h/d', 'postgres://u@h/%zz', 'mysql://u:p@ho%zzst/d', 'postgres://u:sentinel-pw%@h/d']) {
    assert.throws(() => opts(url), (err) => {
      assert.strictEqual(err.code, 'ERR_INVALID_ARG_VALUE', url)
      assert.ok(!/sentinel/.test(err.message + err.stack), err.message)
      return true
    })
  }
})
