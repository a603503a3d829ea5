'use strict'
// Proves the servers started by test/run.js work, with the psql and mariadb
// CLIs only (no uvsql code). Every check has a negative twin where it matters,
// so a misconfigured server (wrong auth method, no TLS, open access) fails.
const test = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const { existsSync, mkdtempSync, rmSync } = require('node:fs')
const { join } = require('node:path')
const { tmpdir } = require('node:os')
const { makeCerts } = require('../helpers/certs.js')

const E = process.env
const REQUIRED = [
  'UVSQL_TEST_SERVERS', 'UVSQL_TEST_PG_HOST', 'UVSQL_TEST_PG_PORT', 'UVSQL_TEST_PG_SOCKET_DIR',
  'UVSQL_TEST_PG_DATABASE', 'UVSQL_TEST_PG_URL', 'UVSQL_TEST_PG_URL_TRUST', 'UVSQL_TEST_PG_URL_MD5',
  'UVSQL_TEST_PG_URL_SCRAM', 'UVSQL_TEST_PG_URL_CLEARTEXT', 'UVSQL_TEST_PG_ADMIN_URL',
  'UVSQL_TEST_PG_BIN', 'UVSQL_TEST_PG_DATA', 'UVSQL_TEST_TLS_CA', 'UVSQL_TEST_TLS_CERT', 'UVSQL_TEST_TLS_KEY',
  'UVSQL_TEST_MYSQL_HOST', 'UVSQL_TEST_MYSQL_PORT', 'UVSQL_TEST_MYSQL_SOCKET', 'UVSQL_TEST_MYSQL_URL',
  'UVSQL_TEST_MYSQL_URL_NOPASS', 'UVSQL_TEST_MYSQL_URL_TLS'
]

function exec (cmd, args, env) {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 20000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout: stdout.trim(), stderr: stderr.trim() })
    })
  })
}

// ---- PostgreSQL via psql
const psqlBin = () => existsSync(join(E.UVSQL_TEST_PG_BIN || '', 'psql')) ? join(E.UVSQL_TEST_PG_BIN, 'psql') : 'psql'
function psqlEnv (extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(E)) if (!k.startsWith('PG')) env[k] = v
  return { ...env, PGCONNECT_TIMEOUT: '5', PGPASSFILE: join(tmpdir(), 'uvsql-no-such-pgpass'), ...extra }
}
const psql = (conninfo, sql, extra = { PGSSLMODE: 'disable' }) =>
  exec(psqlBin(), ['-X', '-At', '-v', 'ON_ERROR_STOP=1', '-d', conninfo, '-c', sql], psqlEnv(extra))
const withPassword = (url, password) => { const u = new URL(url); u.password = password; return u.href }

// ---- MariaDB via the mariadb client
function mariadb (url, sql, extraArgs = ['--skip-ssl']) {
  const u = new URL(url)
  const args = ['--no-defaults', '--protocol=tcp', '-h', u.hostname, '-P', u.port, '-u', decodeURIComponent(u.username),
    '--connect-timeout=5', '-N', '-B', ...extraArgs]
  if (u.password) args.push(`--password=${decodeURIComponent(u.password)}`)
  args.push('-D', u.pathname.slice(1), '-e', sql)
  return exec('mariadb', args, E)
}

test('the UVSQL_TEST_* environment is exported', () => {
  const missing = REQUIRED.filter((k) => !E[k])
  assert.deepEqual(missing, [], 'missing env vars (run through `node test/run.js`)')
  assert.equal(E.UVSQL_TEST_SERVERS, '1')
  assert.equal(E.UVSQL_TEST_PG_HOST, '127.0.0.1')
  assert.equal(E.UVSQL_TEST_MYSQL_HOST, '127.0.0.1')
  assert.equal(E.UVSQL_TEST_PG_DATABASE, 'uvsql_test')
  assert.match(E.UVSQL_TEST_PG_PORT, /^\d+$/)
  assert.match(E.UVSQL_TEST_MYSQL_PORT, /^\d+$/)
  assert.notEqual(E.UVSQL_TEST_PG_PORT, E.UVSQL_TEST_MYSQL_PORT)
  assert.equal(E.UVSQL_TEST_PG_URL, `postgres://uvsql:uvsql_secret@127.0.0.1:${E.UVSQL_TEST_PG_PORT}/uvsql_test`)
  assert.equal(E.UVSQL_TEST_MYSQL_URL, `mysql://uvsql:uvsql_secret@127.0.0.1:${E.UVSQL_TEST_MYSQL_PORT}/uvsql_test`)
  for (const k of ['UVSQL_TEST_TLS_CA', 'UVSQL_TEST_TLS_CERT', 'UVSQL_TEST_TLS_KEY', 'UVSQL_TEST_PG_SOCKET_DIR',
    'UVSQL_TEST_PG_DATA', 'UVSQL_TEST_MYSQL_SOCKET']) {
    assert.ok(existsSync(E[k]), `${k}=${E[k]} does not exist`)
  }
  assert.ok(existsSync(join(E.UVSQL_TEST_PG_SOCKET_DIR, `.s.PGSQL.${E.UVSQL_TEST_PG_PORT}`)), 'no PG unix socket')
  for (const k of ['DATABASE_URL', 'POSTGRES_URL', 'PGHOST', 'PGPORT', 'PGUSER', 'PGDATABASE', 'MYSQL_URL']) {
    // May come from the caller's shell, but must not point at the harness servers.
    const v = E[k] || ''
    assert.ok(!v.includes(E.UVSQL_TEST_PG_PORT) && !v.includes(E.UVSQL_TEST_MYSQL_PORT), `${k} was set by the harness`)
  }
})

test('PostgreSQL: SCRAM role over plain TCP', async () => {
  const ok = await psql(E.UVSQL_TEST_PG_URL_SCRAM, "select 1, current_user, (select ssl from pg_stat_ssl where pid = pg_backend_pid())")
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(ok.stdout, '1|uvsql_scram|f')
  const bad = await psql(withPassword(E.UVSQL_TEST_PG_URL_SCRAM, 'wrong'), 'select 1')
  assert.notEqual(bad.code, 0)
  assert.match(bad.stderr, /password authentication failed for user "uvsql_scram"/)
})

test('PostgreSQL: md5 role works with its password and fails with a wrong one', async () => {
  const ok = await psql(E.UVSQL_TEST_PG_URL_MD5, 'select current_user')
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(ok.stdout, 'uvsql_md5')
  const bad = await psql(withPassword(E.UVSQL_TEST_PG_URL_MD5, 'not_the_password'), 'select current_user')
  assert.notEqual(bad.code, 0, 'wrong md5 password was accepted')
  assert.match(bad.stderr, /password authentication failed for user "uvsql_md5"/)
})

test('PostgreSQL: cleartext, trust and general roles', async () => {
  for (const [k, user] of [['UVSQL_TEST_PG_URL_CLEARTEXT', 'uvsql_clear'], ['UVSQL_TEST_PG_URL_TRUST', 'uvsql_trust'],
    ['UVSQL_TEST_PG_URL', 'uvsql']]) {
    const r = await psql(E[k], 'select current_user, current_database()')
    assert.equal(r.code, 0, `${k}: ${r.stderr}`)
    assert.equal(r.stdout, `${user}|uvsql_test`)
  }
  const bad = await psql(withPassword(E.UVSQL_TEST_PG_URL_CLEARTEXT, 'nope'), 'select 1')
  assert.notEqual(bad.code, 0)
  const sock = await psql(`host=${E.UVSQL_TEST_PG_SOCKET_DIR} port=${E.UVSQL_TEST_PG_PORT} user=postgres dbname=uvsql_test`, 'select 1')
  assert.equal(sock.code, 0, sock.stderr)
})

test('PostgreSQL: stored passwords and pg_hba methods are the ones each role is named for', async () => {
  const r = await psql(E.UVSQL_TEST_PG_ADMIN_URL, `
    select string_agg(rolname || '=' || coalesce(split_part(rolpassword, '$', 1), 'none'), ',' order by rolname)
    from pg_authid where rolname like 'uvsql%'`)
  assert.equal(r.code, 0, r.stderr)
  const stored = Object.fromEntries(r.stdout.split(',').map((kv) => kv.split('=')))
  assert.match(stored.uvsql_md5, /^md5[0-9a-f]{32}$/)
  assert.equal(stored.uvsql_scram, 'SCRAM-SHA-256')
  assert.equal(stored.uvsql_clear, 'SCRAM-SHA-256')
  assert.equal(stored.uvsql, 'SCRAM-SHA-256')
  assert.equal(stored.uvsql_trust, 'none')
  const hba = await psql(E.UVSQL_TEST_PG_ADMIN_URL, `
    select string_agg(distinct array_to_string(user_name, '') || '=' || auth_method, ',')
    from pg_hba_file_rules where type = 'host' and user_name <> '{all}'`)
  assert.equal(hba.code, 0, hba.stderr)
  assert.deepEqual(hba.stdout.split(',').sort(), [
    'postgres=trust', 'uvsql=scram-sha-256', 'uvsql_clear=password', 'uvsql_md5=md5',
    'uvsql_scram=scram-sha-256', 'uvsql_trust=trust'
  ])
  const settings = await psql(E.UVSQL_TEST_PG_ADMIN_URL,
    "select current_setting('max_connections') || ',' || current_setting('max_prepared_transactions') || ',' || current_setting('fsync') || ',' || current_setting('ssl')")
  assert.equal(settings.stdout, '300,20,off,on')
})

test('PostgreSQL: hostssl with sslmode=verify-full against the test CA', async () => {
  const conn = (host, ca) => `host=${host} port=${E.UVSQL_TEST_PG_PORT} dbname=uvsql_test user=uvsql_scram ` +
    `password=scram_secret sslmode=verify-full sslrootcert=${ca}`
  const sql = 'select ssl, version from pg_stat_ssl where pid = pg_backend_pid()'
  for (const host of ['localhost', '127.0.0.1']) {
    const r = await psql(conn(host, E.UVSQL_TEST_TLS_CA), sql, {})
    assert.equal(r.code, 0, `${host}: ${r.stderr}`)
    assert.match(r.stdout, /^t\|TLSv1\.[23]$/)
  }
  // A different CA must not verify the server certificate.
  const dir = mkdtempSync(join(tmpdir(), 'uvsql-otherca-'))
  try {
    const other = await makeCerts(dir, { caName: 'some other CA' })
    const r = await psql(conn('localhost', other.ca), sql, {})
    assert.notEqual(r.code, 0, 'server cert verified against an unrelated CA')
    assert.match(r.stderr, /certificate verify failed/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('MariaDB: uvsql over TCP', async () => {
  const ok = await mariadb(E.UVSQL_TEST_MYSQL_URL, 'select 1, current_user(), database()')
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(ok.stdout, '1\tuvsql@%\tuvsql_test')
  const bad = await mariadb(withPassword(E.UVSQL_TEST_MYSQL_URL, 'wrong'), 'select 1')
  assert.notEqual(bad.code, 0, 'wrong password accepted')
  assert.match(bad.stderr, /Access denied for user 'uvsql'/)
  const vars = await mariadb(E.UVSQL_TEST_MYSQL_URL, "select @@max_connections, @@have_ssl, (select plugin from mysql.user where user = 'uvsql' and host = '%')")
  assert.equal(vars.stdout, '300\tYES\tmysql_native_password')
})

test('MariaDB: no-password user', async () => {
  const ok = await mariadb(E.UVSQL_TEST_MYSQL_URL_NOPASS, 'select current_user()')
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(ok.stdout, 'uvsql_nopass@%')
})

test('MariaDB: REQUIRE SSL user needs TLS, and the server cert verifies', async () => {
  const plain = await mariadb(E.UVSQL_TEST_MYSQL_URL_TLS, 'select 1')
  assert.notEqual(plain.code, 0, 'REQUIRE SSL user got in without TLS')
  assert.match(plain.stderr, /Access denied/)
  const tls = await mariadb(E.UVSQL_TEST_MYSQL_URL_TLS, "show status like 'Ssl_version'",
    ['--ssl', `--ssl-ca=${E.UVSQL_TEST_TLS_CA}`, '--ssl-verify-server-cert'])
  assert.equal(tls.code, 0, tls.stderr)
  assert.match(tls.stdout, /^Ssl_version\tTLSv1\.[23]$/)
})

test('MariaDB: ed25519 user', { skip: !E.UVSQL_TEST_MYSQL_URL_ED25519 && 'ed25519 plugin not available' }, async () => {
  const ok = await mariadb(E.UVSQL_TEST_MYSQL_URL_ED25519, 'select current_user()')
  assert.equal(ok.code, 0, ok.stderr)
  assert.equal(ok.stdout, 'uvsql_ed@%')
  const plugin = await mariadb(E.UVSQL_TEST_MYSQL_URL, "select plugin from mysql.user where user = 'uvsql_ed' and host = '%'")
  assert.equal(plugin.stdout, 'ed25519')
  const bad = await mariadb(withPassword(E.UVSQL_TEST_MYSQL_URL_ED25519, 'wrong'), 'select 1')
  assert.notEqual(bad.code, 0)
})
