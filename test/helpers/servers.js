// Throwaway PostgreSQL 15 and MariaDB 10.11 servers on loopback for the tests.
//
//   const { env, stop, info } = await startServers()
//   ... run tests with { ...process.env, ...env } ...
//   await stop()            // idempotent; also runs on process exit
//
// Everything lives in one mkdtemp directory that stop() removes:
//   certs/   ca.crt ca.key server.crt server.key          (UVSQL_TEST_TLS_*)
//   pg/      data/ postgres.log server.key (copy, 0600, owned by the PG user)
//   pgsock/  .s.PGSQL.<port>                              (UVSQL_TEST_PG_SOCKET_DIR)
//   my/      data/ mysql.sock mariadbd.pid error.log mariadbd.out server.key
//
// PostgreSQL refuses to run as root, so as root initdb/pg_ctl run as the
// `postgres` system user through `runuser -u postgres --` (UVSQL_TEST_PG_RUNAS);
// MariaDB runs with --user=mysql. Only Node built-ins are used.
'use strict'
const { spawn, spawnSync, execFileSync } = require('node:child_process')
const {
  mkdtempSync, mkdirSync, chmodSync, chownSync, copyFileSync, writeFileSync, appendFileSync,
  readFileSync, rmSync, existsSync, accessSync, readdirSync, statSync, openSync, closeSync, constants
} = require('node:fs')
const { join, delimiter } = require('node:path')
const { tmpdir } = require('node:os')
const net = require('node:net')
const { makeCerts } = require('./certs.js')

const IS_ROOT = typeof process.getuid === 'function' && process.getuid() === 0
const PG_USER = 'postgres'
const MY_USER = 'mysql'
const PG_VERSION = '15'

const PG_PASSWORDS = {
  uvsql: 'uvsql_secret',
  uvsql_md5: 'md5_secret',
  uvsql_scram: 'scram_secret',
  uvsql_clear: 'clear_secret'
}

const say = (msg) => process.stderr.write(`[uvsql-test] ${msg}\n`)

// ---------------------------------------------------------------- binaries

function which (name) {
  const dirs = (process.env.PATH || '').split(delimiter)
    .concat(['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'])
  for (const d of dirs) {
    if (!d) continue
    const p = join(d, name)
    try { accessSync(p, constants.X_OK); if (statSync(p).isFile()) return p } catch {}
  }
  return null
}

function findPgBin () {
  const pref = `/usr/lib/postgresql/${PG_VERSION}/bin`
  if (existsSync(join(pref, 'pg_ctl'))) return pref
  let versions = []
  try { versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => b - a) } catch {}
  for (const v of versions) {
    const d = `/usr/lib/postgresql/${v}/bin`
    if (existsSync(join(d, 'pg_ctl'))) return d
  }
  return null
}

/** Locate every program the harness needs; `missing` lists the Debian packages to install. */
function findBinaries () {
  const pgBin = findPgBin()
  const b = {
    pgBin,
    initdb: pgBin && join(pgBin, 'initdb'),
    pgCtl: pgBin && join(pgBin, 'pg_ctl'),
    psql: pgBin && existsSync(join(pgBin, 'psql')) ? join(pgBin, 'psql') : which('psql'),
    mariadbd: which('mariadbd') || which('mysqld'),
    installDb: which('mariadb-install-db') || which('mysql_install_db'),
    mariadb: which('mariadb') || which('mysql'),
    openssl: which('openssl'),
    runuser: which('runuser')
  }
  const missing = new Set()
  if (!b.pgBin || !b.psql || !existsSync(join(b.pgBin, 'postgres')) || !existsSync(join(b.pgBin, 'initdb'))) missing.add('postgresql')
  if (!b.mariadbd || !b.installDb) missing.add('mariadb-server')
  if (!b.mariadb) missing.add('mariadb-client')
  if (!b.openssl) missing.add('openssl')
  if (IS_ROOT && !b.runuser) missing.add('util-linux')
  b.missing = [...missing]
  return b
}

/**
 * Make sure the servers are installed. As root, apt-get installs what is
 * missing (services are kept from starting with a temporary policy-rc.d);
 * otherwise throws with the exact packages to install.
 */
function ensureBinaries () {
  let b = findBinaries()
  if (b.missing.length === 0) return b
  const pkgs = b.missing
  if (!IS_ROOT) {
    const e = new Error(`missing database server binaries; install the Debian packages:\n  sudo apt-get install -y ${pkgs.join(' ')}`)
    e.code = 'UVSQL_TEST_MISSING_PACKAGES'
    e.packages = pkgs
    throw e
  }
  say(`installing ${pkgs.join(' ')} with apt-get (server binaries missing)`)
  const policy = '/usr/sbin/policy-rc.d'
  const ownPolicy = !existsSync(policy)
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\n# written by uvsql test/helpers/servers.js during apt-get install\nexit 101\n', { mode: 0o755 })
  try {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    const opts = { stdio: ['ignore', 2, 2], env } // keep stdout clean for --servers-only
    let r = spawnSync('apt-get', ['update'], opts)
    if (r.status !== 0) throw new Error(`apt-get update failed (exit ${r.status})`)
    r = spawnSync('apt-get', ['install', '-y', '--no-install-recommends', ...pkgs], opts)
    if (r.status !== 0) throw new Error(`apt-get install -y ${pkgs.join(' ')} failed (exit ${r.status})`)
  } finally {
    if (ownPolicy) rmSync(policy, { force: true })
  }
  b = findBinaries()
  if (b.missing.length) throw new Error(`still missing after apt-get install: ${b.missing.join(' ')}`)
  return b
}

// ---------------------------------------------------------------- utilities

function childEnv () {
  // Nothing from the caller's PG*/MYSQL* environment may steer the admin clients.
  const env = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (/^(PG|MYSQL|MARIADB)/.test(k)) continue
    env[k] = v
  }
  env.LC_MESSAGES = 'C'
  return env
}

function userIds (name) {
  try {
    return {
      uid: Number(execFileSync('id', ['-u', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })),
      gid: Number(execFileSync('id', ['-g', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }))
    }
  } catch { return null }
}

function ensurePgUser () {
  let ids = userIds(PG_USER)
  if (ids) return ids
  say(`creating system user ${PG_USER} (PostgreSQL will not run as root)`)
  execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent',
    '--shell', '/usr/sbin/nologin', PG_USER], { stdio: ['ignore', 2, 2] })
  ids = userIds(PG_USER)
  if (!ids) throw new Error(`could not create the ${PG_USER} user`)
  return ids
}

/** [cmd, args] that runs `cmd args` as `user` when we are root (user may be null). */
function asUser (user, cmd, args) {
  return user ? ['runuser', ['-u', user, '--', cmd, ...args]] : [cmd, args]
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))
const sab = new Int32Array(new SharedArrayBuffer(4))
const sleepSync = (ms) => Atomics.wait(sab, 0, 0, ms)

function freePorts (n) {
  // Hold all listeners open at once so the ports are distinct, then release them.
  return Promise.all(Array.from({ length: n }, () => new Promise((resolve, reject) => {
    const s = net.createServer()
    s.once('error', reject)
    s.listen(0, '127.0.0.1', () => resolve(s))
  }))).then((servers) => {
    const ports = servers.map((s) => s.address().port)
    return Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve)))).then(() => ports)
  })
}

function tail (file, lines = 40) {
  try {
    const text = readFileSync(file, 'utf8').trimEnd()
    if (!text) return ''
    return `--- last lines of ${file} ---\n` + text.split('\n').slice(-lines).join('\n')
  } catch { return '' }
}

function alive (pid) {
  if (!pid) return false
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    return state !== 'Z' && state !== 'X'
  } catch {
    try { process.kill(pid, 0); return true } catch { return false }
  }
}

function readPid (file) {
  try { return Number(readFileSync(file, 'utf8').split('\n')[0].trim()) || 0 } catch { return 0 }
}

// ---------------------------------------------------------------- instances

const instances = new Set()
let exitHookInstalled = false

/** Synchronously stop every server started by this process (for signal/exit handlers). */
function stopAll () {
  for (const inst of [...instances]) inst.stopSync()
}

class Instance {
  constructor () {
    this.stopped = false
    this.procs = new Set() // in-flight helper processes (own process groups)
    this.root = null
    this.pg = null // { data, bin, user, log }
    this.my = null // { child, pidFile }
    instances.add(this)
    if (!exitHookInstalled) {
      exitHookInstalled = true
      process.on('exit', stopAll)
    }
  }

  // Run a helper program; it is killed (whole process group) if we stop meanwhile.
  run (cmd, args, { input, cwd, user, what } = {}) {
    if (this.stopped) return Promise.reject(new Error('servers are being stopped'))
    const [c, a] = asUser(user, cmd, args)
    return new Promise((resolve, reject) => {
      const child = spawn(c, a, { cwd: cwd || this.root, env: childEnv(), detached: true, stdio: ['pipe', 'pipe', 'pipe'] })
      this.procs.add(child)
      let stdout = ''
      let stderr = ''
      child.stdout.setEncoding('utf8').on('data', (d) => { stdout += d })
      child.stderr.setEncoding('utf8').on('data', (d) => { stderr += d })
      child.stdin.on('error', () => {})
      child.stdin.end(input || '')
      child.on('error', (err) => { this.procs.delete(child); reject(err) })
      child.on('close', (code, signal) => {
        this.procs.delete(child)
        if (code === 0) return resolve({ stdout, stderr })
        const err = new Error(`${what || cmd} failed (${signal || 'exit ' + code}): ${[c, ...a].join(' ')}\n${(stderr + stdout).trim()}`)
        err.stdout = stdout
        err.stderr = stderr
        err.code = code
        reject(err)
      })
    })
  }

  // Same as stopSync, then lets libuv reap mariadbd so no zombie is left behind.
  async stop () {
    const exited = this.my && this.my.child && this.my.child.exitCode === null && this.my.child.signalCode === null && this.my.exited
    this.stopSync()
    if (exited) await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 2000).unref())])
  }

  stopSync () {
    if (this.stopped && !this.root) return
    this.stopped = true
    for (const child of this.procs) {
      try { process.kill(-child.pid, 'SIGKILL') } catch { try { child.kill('SIGKILL') } catch {} }
    }
    this.procs.clear()

    const waitDead = (pids, ms) => {
      const deadline = Date.now() + ms
      while (pids.some(alive) && Date.now() < deadline) sleepSync(20)
      return pids.filter(alive)
    }

    // PostgreSQL: pg_ctl stop -m immediate, then SIGKILL whatever is left.
    if (this.pg && existsSync(join(this.pg.data, 'postmaster.pid'))) {
      const pid = readPid(join(this.pg.data, 'postmaster.pid'))
      const [c, a] = asUser(this.pg.user, join(this.pg.bin, 'pg_ctl'), ['stop', '-D', this.pg.data, '-m', 'immediate', '-w', '-t', '10', '-s'])
      spawnSync(c, a, { cwd: this.root, env: childEnv(), stdio: 'ignore', timeout: 15000 })
      for (const p of waitDead([pid], 2000)) { try { process.kill(p, 'SIGKILL') } catch {} }
      waitDead([pid], 2000)
    }

    // MariaDB: no data worth keeping, SIGKILL by pid and wait for it.
    if (this.my) {
      const pids = [this.my.child && this.my.child.pid, readPid(this.my.pidFile)].filter(Boolean)
      for (const p of pids) { try { process.kill(p, 'SIGKILL') } catch {} }
      waitDead(pids, 5000)
    }

    if (this.root) {
      for (let i = 0; i < 5; i++) {
        try { rmSync(this.root, { recursive: true, force: true }); break } catch { sleepSync(100) }
      }
      this.root = null
    }
    instances.delete(this)
  }

  // ------------------------------------------------------------ PostgreSQL

  async startPg (bins, certsP, port) {
    const user = IS_ROOT ? PG_USER : null
    const ids = IS_ROOT ? ensurePgUser() : null
    const dir = join(this.root, 'pg')
    const data = join(dir, 'data')
    const sock = join(this.root, 'pgsock')
    const log = join(dir, 'postgres.log')
    this.pg = { data, bin: bins.pgBin, user, log }
    mkdirSync(dir, { mode: 0o755 })
    mkdirSync(sock, { mode: 0o755 })
    if (ids) { chownSync(dir, ids.uid, ids.gid); chownSync(sock, ids.uid, ids.gid) }

    try {
      await this.run(bins.initdb, ['-D', data, '--auth=trust', '-U', 'postgres', '--encoding=UTF8',
        '--locale=C.UTF-8', '--lc-messages=C', '--no-sync', '--no-instructions'], { user, what: 'initdb' })

      const certs = await certsP
      const key = join(dir, 'server.key')
      copyFileSync(certs.key, key)
      chmodSync(key, 0o600)
      if (ids) chownSync(key, ids.uid, ids.gid)

      appendFileSync(join(data, 'postgresql.conf'), `
# ---- uvsql test harness ----
port = ${port}
listen_addresses = '127.0.0.1'
unix_socket_directories = '${sock}'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 300
max_prepared_transactions = 20
ssl = on
ssl_cert_file = '${certs.cert}'
ssl_key_file = '${key}'
password_encryption = 'scram-sha-256'
timezone = 'UTC'
log_timezone = 'UTC'
log_line_prefix = '%m [%p] %q%u@%d '
`)

      const hba = ['# TYPE  DATABASE USER ADDRESS METHOD   (uvsql test harness)', 'local all all trust']
      const rules = [
        ['postgres', 'trust'],
        ['uvsql_trust', 'trust'],
        ['uvsql_md5', 'md5'],
        ['uvsql_scram', 'scram-sha-256'],
        ['uvsql_clear', 'password'],
        ['uvsql', 'scram-sha-256']
      ]
      for (const type of ['hostssl', 'host']) {
        for (const [role, method] of rules) hba.push(`${type} all ${role} 127.0.0.1/32 ${method}`)
      }
      // Roles created by tests: md5 also accepts SCRAM-stored passwords.
      hba.push('host all all 127.0.0.1/32 md5')
      writeFileSync(join(data, 'pg_hba.conf'), hba.join('\n') + '\n')

      await this.run(bins.pgCtl, ['start', '-D', data, '-l', log, '-w', '-t', '60', '-s'], { user, what: 'pg_ctl start' })

      const sql = `
SET password_encryption = 'md5';
CREATE ROLE uvsql_md5 LOGIN PASSWORD '${PG_PASSWORDS.uvsql_md5}';
SET password_encryption = 'scram-sha-256';
CREATE ROLE uvsql_scram LOGIN PASSWORD '${PG_PASSWORDS.uvsql_scram}';
CREATE ROLE uvsql_clear LOGIN PASSWORD '${PG_PASSWORDS.uvsql_clear}';
CREATE ROLE uvsql_trust LOGIN;
CREATE ROLE uvsql SUPERUSER LOGIN PASSWORD '${PG_PASSWORDS.uvsql}';
CREATE DATABASE uvsql_test OWNER uvsql;
GRANT CONNECT ON DATABASE uvsql_test TO uvsql_trust, uvsql_md5, uvsql_scram, uvsql_clear, uvsql;
\\connect uvsql_test
GRANT ALL ON SCHEMA public TO PUBLIC;
SELECT current_setting('server_version');
`
      const { stdout } = await this.run(bins.psql, ['-X', '-q', '-A', '-t', '-v', 'ON_ERROR_STOP=1',
        '-h', sock, '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-f', '-'], { input: sql, what: 'PostgreSQL setup (psql)' })
      this.pg.version = stdout.trim().split('\n').pop()
      return { port, sock, data, log, user }
    } catch (err) {
      err.logTail = tail(log)
      err.server = 'PostgreSQL'
      throw err
    }
  }

  // ------------------------------------------------------------ MariaDB

  async startMy (bins, certsP, port) {
    const dir = join(this.root, 'my')
    const data = join(dir, 'data')
    const sock = join(dir, 'mysql.sock')
    const pidFile = join(dir, 'mariadbd.pid')
    const errLog = join(dir, 'error.log')
    const outLog = join(dir, 'mariadbd.out')
    let runAs = null
    let ids = null
    if (IS_ROOT) {
      ids = userIds(MY_USER)
      runAs = ids ? MY_USER : 'root'
    }
    this.my = { child: null, pidFile, errLog }
    mkdirSync(dir, { mode: 0o755 })
    if (ids) chownSync(dir, ids.uid, ids.gid)
    const sizes = ['--innodb-log-file-size=16M', '--innodb-buffer-pool-size=64M']
    const client = (args, input, what) => this.run(bins.mariadb, ['--no-defaults', '--protocol=socket', `--socket=${sock}`,
      '-uroot', '--connect-timeout=2', '--batch', '--skip-column-names', ...args], { input, what })

    try {
      await this.run(bins.installDb, ['--no-defaults', `--datadir=${data}`, '--auth-root-authentication-method=normal',
        '--skip-test-db', '--skip-name-resolve', ...(runAs ? [`--user=${runAs}`] : []), ...sizes], { what: 'mariadb-install-db' })

      const certs = await certsP
      const key = join(dir, 'server.key')
      copyFileSync(certs.key, key)
      chmodSync(key, 0o600)
      if (ids) chownSync(key, ids.uid, ids.gid)

      if (this.stopped) throw new Error('servers are being stopped')
      const out = openSync(outLog, 'a')
      const child = spawn(bins.mariadbd, ['--no-defaults', `--datadir=${data}`, `--socket=${sock}`, `--port=${port}`,
        '--bind-address=127.0.0.1', `--pid-file=${pidFile}`, `--log-error=${errLog}`, '--skip-name-resolve',
        '--innodb-flush-log-at-trx-commit=0', '--innodb-use-native-aio=0', '--innodb-doublewrite=0', ...sizes,
        '--max-connections=300', '--max-allowed-packet=64M',
        '--character-set-server=utf8mb4', '--collation-server=utf8mb4_general_ci', '--default-time-zone=+00:00',
        `--ssl-ca=${certs.ca}`, `--ssl-cert=${certs.cert}`, `--ssl-key=${key}`,
        ...(runAs ? [`--user=${runAs}`] : [])], { cwd: this.root, env: childEnv(), detached: true, stdio: ['ignore', out, out] })
      closeSync(out)
      this.my.child = child
      let exited = null
      this.my.exited = new Promise((resolve) => child.once('exit', resolve))
      child.on('exit', (code, signal) => { exited = signal || `exit ${code}` })
      child.on('error', (err) => { exited = err.message })
      child.unref()

      // Wait until it accepts connections on the socket.
      const deadline = Date.now() + 60000
      let version = null
      for (;;) {
        if (exited) throw new Error(`mariadbd stopped during startup (${exited})`)
        if (this.stopped) throw new Error('servers are being stopped')
        try {
          version = (await client(['-e', 'SELECT VERSION()'], '', 'mariadb ping')).stdout.trim()
          break
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`mariadbd did not accept connections within 60 s: ${err.message}`)
          await sleep(100)
        }
      }
      this.my.version = version

      const users = []
      for (const host of ['%', 'localhost']) {
        users.push(
          `CREATE USER 'uvsql'@'${host}' IDENTIFIED VIA mysql_native_password USING PASSWORD('uvsql_secret');`,
          `GRANT ALL PRIVILEGES ON *.* TO 'uvsql'@'${host}' WITH GRANT OPTION;`,
          `CREATE USER 'uvsql_nopass'@'${host}';`,
          `GRANT ALL PRIVILEGES ON uvsql_test.* TO 'uvsql_nopass'@'${host}';`,
          `CREATE USER 'uvsql_tls'@'${host}' IDENTIFIED VIA mysql_native_password USING PASSWORD('tls_secret') REQUIRE SSL;`,
          `GRANT ALL PRIVILEGES ON uvsql_test.* TO 'uvsql_tls'@'${host}';`)
      }
      await client([], `
SET GLOBAL max_connections = 300;
CREATE DATABASE uvsql_test CHARACTER SET utf8mb4;
${users.join('\n')}
`, 'MariaDB setup (mariadb client)')

      let ed25519 = false
      try {
        const ed = []
        for (const host of ['%', 'localhost']) {
          ed.push(`CREATE USER 'uvsql_ed'@'${host}' IDENTIFIED VIA ed25519 USING PASSWORD('ed_secret');`,
            `GRANT ALL PRIVILEGES ON uvsql_test.* TO 'uvsql_ed'@'${host}';`)
        }
        await client([], `INSTALL SONAME 'auth_ed25519';\n${ed.join('\n')}\n`, 'ed25519 setup')
        ed25519 = true
      } catch (err) {
        say(`MariaDB ed25519 auth not available, UVSQL_TEST_MYSQL_URL_ED25519 not set: ${err.message.split('\n').pop()}`)
      }
      return { port, sock, ed25519, version }
    } catch (err) {
      err.logTail = [tail(errLog), tail(outLog)].filter(Boolean).join('\n')
      err.server = 'MariaDB'
      throw err
    }
  }
}

function pickTmp () {
  // The server users must be able to traverse every parent of the temp dir.
  let base = tmpdir()
  if (IS_ROOT) {
    let d = base
    while (d && d !== '/') {
      try { if ((statSync(d).mode & 0o001) === 0) { base = '/tmp'; break } } catch { base = '/tmp'; break }
      d = join(d, '..')
    }
  }
  return base
}

/**
 * Start PostgreSQL and MariaDB in parallel. Resolves to
 * { env, stop, info } where env holds the UVSQL_TEST_* variables and
 * stop() (idempotent, synchronous work, returns a promise) stops both and
 * removes the temp dir. On failure everything started is torn down and the
 * error carries .logTail with the server log.
 */
async function startServers () {
  const t0 = Date.now()
  const bins = ensureBinaries()
  // A free port can be taken by someone else between probing and binding: retry.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(bins, t0)
    } catch (err) {
      if (attempt >= 3 || !/Address already in use|could not bind|Can't start server: Bind/i.test(`${err.message}\n${err.logTail}`)) throw err
      say(`port conflict during startup, retrying (${err.message.split('\n')[0]})`)
    }
  }
}

async function startOnce (bins, t0) {
  const inst = new Instance()
  try {
    inst.root = mkdtempSync(join(pickTmp(), 'uvsql-test-'))
    chmodSync(inst.root, 0o755)
    const certDir = join(inst.root, 'certs')
    mkdirSync(certDir, { mode: 0o755 })
    const [pgPort, myPort] = await freePorts(2)
    const certsP = makeCerts(certDir)
    certsP.catch(() => {})

    const results = await Promise.allSettled([
      inst.startPg(bins, certsP, pgPort),
      inst.startMy(bins, certsP, myPort),
      certsP
    ])
    const failed = results.filter((r) => r.status === 'rejected').map((r) => r.reason)
    if (failed.length) {
      const err = failed[0]
      const extra = failed.slice(1).map((e) => `\n(also: ${e.server ? e.server + ': ' : ''}${e.message})`).join('')
      const tails = failed.map((e) => e.logTail).filter(Boolean).join('\n')
      err.message = `${err.server ? err.server + ' startup failed: ' : ''}${err.message}${extra}`
      err.logTail = tails
      throw err
    }
    const [pg, my, certs] = results.map((r) => r.value)

    const pgUrl = (user) => `postgres://${user}${PG_PASSWORDS[user] ? ':' + PG_PASSWORDS[user] : ''}@127.0.0.1:${pg.port}/uvsql_test`
    const myUrl = (user, pass) => `mysql://${user}${pass ? ':' + pass : ''}@127.0.0.1:${my.port}/uvsql_test`
    const env = {
      UVSQL_TEST_SERVERS: '1',
      UVSQL_TEST_PG_HOST: '127.0.0.1',
      UVSQL_TEST_PG_PORT: String(pg.port),
      UVSQL_TEST_PG_SOCKET_DIR: pg.sock,
      UVSQL_TEST_PG_DATABASE: 'uvsql_test',
      UVSQL_TEST_PG_URL: pgUrl('uvsql'),
      UVSQL_TEST_PG_URL_TRUST: pgUrl('uvsql_trust'),
      UVSQL_TEST_PG_URL_MD5: pgUrl('uvsql_md5'),
      UVSQL_TEST_PG_URL_SCRAM: pgUrl('uvsql_scram'),
      UVSQL_TEST_PG_URL_CLEARTEXT: pgUrl('uvsql_clear'),
      UVSQL_TEST_PG_ADMIN_URL: `postgres://postgres@127.0.0.1:${pg.port}/postgres`,
      UVSQL_TEST_PG_BIN: bins.pgBin,
      UVSQL_TEST_PG_DATA: pg.data,
      UVSQL_TEST_PG_LOG: pg.log,
      UVSQL_TEST_PG_RUNAS: pg.user || '',
      UVSQL_TEST_TLS_CA: certs.ca,
      UVSQL_TEST_TLS_CERT: certs.cert,
      UVSQL_TEST_TLS_KEY: certs.key,
      UVSQL_TEST_MYSQL_HOST: '127.0.0.1',
      UVSQL_TEST_MYSQL_PORT: String(my.port),
      UVSQL_TEST_MYSQL_SOCKET: my.sock,
      UVSQL_TEST_MYSQL_CLIENT: bins.mariadb,
      UVSQL_TEST_MYSQL_DATABASE: 'uvsql_test',
      UVSQL_TEST_MYSQL_URL: myUrl('uvsql', 'uvsql_secret'),
      UVSQL_TEST_MYSQL_URL_NOPASS: myUrl('uvsql_nopass'),
      ...(my.ed25519 ? { UVSQL_TEST_MYSQL_URL_ED25519: myUrl('uvsql_ed', 'ed_secret') } : {}),
      UVSQL_TEST_MYSQL_URL_TLS: myUrl('uvsql_tls', 'tls_secret')
    }
    const info = {
      pgVersion: inst.pg.version,
      pgPort: pg.port,
      mysqlVersion: my.version,
      mysqlPort: my.port,
      ed25519: my.ed25519,
      root: inst.root,
      ms: Date.now() - t0
    }
    return { env, info, stop: () => inst.stop() }
  } catch (err) {
    inst.stopSync()
    throw err
  }
}

/**
 * For fault tests: [cmd, args] that runs a PostgreSQL server program
 * (e.g. 'pg_ctl') from the env exported by startServers, as the server user.
 *   const [c, a] = pgCommand('pg_ctl', ['restart', '-m', 'fast'])  // -D/-l/-w added for pg_ctl
 */
function pgCommand (prog, args = [], env = process.env) {
  const bin = join(env.UVSQL_TEST_PG_BIN, prog)
  const full = prog === 'pg_ctl'
    ? [...args, '-D', env.UVSQL_TEST_PG_DATA, ...(args.some((a) => /^(start|restart)$/.test(a)) ? ['-l', env.UVSQL_TEST_PG_LOG] : []), '-w', '-s']
    : args
  return asUser(env.UVSQL_TEST_PG_RUNAS || null, bin, full)
}

module.exports = { startServers, stopAll, findBinaries, ensureBinaries, asUser, pgCommand, PG_PASSWORDS }
