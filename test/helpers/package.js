'use strict'
// For tests that run uvsql the way a user does: child processes (npm, node, tsc, bun) with a
// clean environment, and where Bun is.
//
//   const r = run('npm', ['pack'], { cwd })      // { status, stdout, stderr, ms }; never throws
//   ok(r, 'npm pack')                            // asserts exit 0, with the output in the message
//   userEnv({ DATABASE_URL: url })               // process.env minus npm_*, PG*, *_URL, UVSQL_*
//   bun                                          // node_modules/bun/bin/bun.exe (or $UVSQL_TEST_BUN), or null
//   bunSkip                                      // false, or why the Bun part is skipped

const assert = require('node:assert')
const { spawnSync } = require('node:child_process')
const { existsSync } = require('node:fs')
const path = require('node:path')

const ROOT = path.join(__dirname, '..', '..')
// UVSQL_TEST_BUN=<bun binary> runs the Bun parts with another Bun.
const BUN = process.env.UVSQL_TEST_BUN || path.join(ROOT, 'node_modules', 'bun', 'bin', 'bun.exe')
const bun = existsSync(BUN) ? BUN : null
const bunSkip = bun ? false
  : 'Bun is not installed: node_modules/bun/bin/bun.exe is missing (the `bun` devDependency comes with the Bun driver branch)'

// Dropped from the environment of a "user" process:
// - npm_* and INIT_CWD: set by the `npm test` that runs us; they would steer a nested npm
// - PG*, *_URL, MYSQL*: a test passes the database it means explicitly (DATABASE_URL)
// - UVSQL_*: test-suite settings (UVSQL_BINDING would load another binary than the package's)
const DROP = /^(npm_|INIT_CWD$|PG|POSTGRES_|MYSQL_|MARIADB_|UVSQL_|([A-Z_]*_)?DATABASE_URL$|TLS_)/i

function userEnv(extra = {}) {
  const env = {}
  for (const [k, v] of Object.entries(process.env)) if (!DROP.test(k)) env[k] = v
  return { ...env, ...extra }
}

function run(cmd, args, { cwd = ROOT, env = userEnv(), timeout = 60000, input } = {}) {
  const t0 = Date.now()
  const r = spawnSync(cmd, args, { cwd, env, timeout, input, encoding: 'utf8', maxBuffer: 64 << 20 })
  return {
    status: r.status, signal: r.signal, error: r.error, stdout: r.stdout || '', stderr: r.stderr || '', ms: Date.now() - t0,
  }
}

function ok(r, what) {
  assert.ok(r.status === 0,
    `${what} failed (exit ${r.status}${r.signal ? ', ' + r.signal : ''}${r.error ? ', ' + r.error.message : ''})\n` +
    `--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`)
  return r
}

module.exports = { ROOT, bun, bunSkip, userEnv, run, ok }
