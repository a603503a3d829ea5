'use strict'
// The "never wedge" contract (RELIABILITY.md section 2), asserted at the end of every fault
// scenario:
//   - every promise the test started settled (within a deadline);
//   - no error that reached the user names internal state, and every error is a PostgresError
//     with an ERR_POSTGRES_* code;
//   - the pool's stats are consistent (no bad transitions, slot counts add up to max, nothing
//     waiting, no ghost READY slot without a live connection);
//   - a fresh query succeeds (when the server is healthy);
//   - close() resolves within 1 s using < 100 ms of CPU, leaves no live connection, and a query
//     made after it rejects at once.
//
//   const track = tracker()
//   const p = track(sql`select 1`)          // p resolves to { ok, value, error, ms } and never rejects
//   ...
//   await assertNotWedged(sql, { track, healthyQuery: true })

const assert = require('node:assert')
const { performance } = require('node:perf_hooks')

const INTERNAL = /invalid connection state|DB_ESTATE|bad transition|illegal .*transition|PostgresSQLConnection|internal error|Cannot read propert|is not a function|undefined is not/i

// Slot-state counters of sql._stats() (PENDING and RESERVED are being added). Together they
// must cover every slot exactly once.
const SLOT_STATES = ['empty', 'connecting', 'pending', 'ready', 'busy', 'reserved', 'closing']

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// detail: optional () => string appended to the timeout message (e.g. the pool's stats).
function withTimeout(promise, ms, what, detail) {
  let timer
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => {
        let extra = ''
        try { extra = detail ? `; ${detail()}` : '' } catch {}
        reject(new Error(`wedged: ${what} did not settle within ${ms} ms${extra}`))
      }, ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

// Records every promise a test starts. track(p) returns a promise of the outcome that never
// rejects: { ok: true, value, ms } or { ok: false, error, ms }.
function tracker() {
  const records = []
  function track(promise, label) {
    const rec = { label, settled: false, ok: undefined, value: undefined, error: undefined, t0: performance.now(), ms: 0 }
    rec.promise = Promise.resolve(promise).then(
      (value) => { rec.settled = true; rec.ok = true; rec.value = value; rec.ms = performance.now() - rec.t0; return rec },
      (error) => { rec.settled = true; rec.ok = false; rec.error = error; rec.ms = performance.now() - rec.t0; return rec },
    )
    records.push(rec)
    return rec.promise
  }
  track.records = records
  track.pending = () => records.filter((r) => !r.settled)
  track.errors = () => records.filter((r) => r.settled && !r.ok).map((r) => r.error)
  return track
}

function describeError(e) {
  if (!e) return String(e)
  return `${e.name}: ${e.message} (code=${e.code}, errno=${e.errno})`
}

// An error that reached the user must be a PostgresError with an ERR_POSTGRES_* code (or a
// MySQLError with an ERR_MYSQL_* code) and must not name internal state.
function assertCleanError(e, where = '') {
  assert.ok(e instanceof Error, `${where}rejected with a non-Error: ${String(e)}`)
  assert.doesNotMatch(String(e.message), INTERNAL, `${where}internal-state error reached the user: ${describeError(e)}`)
  assert.doesNotMatch(String(e.stack || ''), /PostgresSQLConnection/, `${where}internal name in stack`)
  const prefix = { PostgresError: 'ERR_POSTGRES_', MySQLError: 'ERR_MYSQL_' }[e.name]
  assert.ok(prefix !== undefined, `${where}not a PostgresError or MySQLError: ${describeError(e)}`)
  assert.ok(typeof e.code === 'string' && e.code.startsWith(prefix), `${where}no ${prefix}* code: ${describeError(e)}`)
}

// Connection-level failures: the server said it is going away (57P01 admin shutdown, 57P02
// crash shutdown, 57P03 cannot connect now) or the connection closed under the query.
function isConnectionLevel(e, { codes = ['ERR_POSTGRES_CONNECTION_CLOSED'], errnos = ['57P01'] } = {}) {
  if (!e) return false
  if (codes.includes(e.code)) return true
  return typeof e.errno === 'string' && errnos.includes(e.errno)
}

function assertConnectionLevel(e, opts, where = '') {
  assertCleanError(e, where)
  assert.ok(isConnectionLevel(e, opts), `${where}expected a connection-level error, got ${describeError(e)}`)
}

function stats(sql) {
  const s = sql._stats()
  return s === null || s === undefined ? null : s
}

// Slot counters add up to max, nothing waits, no bad transition, no ghost ready slot.
function assertStatsConsistent(sql, { idle = true } = {}) {
  const s = stats(sql)
  if (s === null) return null // the pool was never used
  const json = JSON.stringify(s)
  assert.strictEqual(s.badTransitions, 0, `bad transitions: ${json}`)
  const slots = SLOT_STATES.reduce((n, k) => n + (typeof s[k] === 'number' ? s[k] : 0), 0)
  assert.strictEqual(slots, sql.options.max, `slot states do not add up to max=${sql.options.max}: ${json}`)
  for (const [k, v] of Object.entries(s)) {
    if (typeof v === 'number') assert.ok(Number.isInteger(v) && v >= 0, `stat ${k} is not a count: ${json}`)
  }
  // Every READY/BUSY slot holds a connection object: a ready slot without one is the seed's ghost.
  assert.ok(s.ready + s.busy + (s.reserved || 0) <= s.live, `more ready/busy slots than live connections (ghost): ${json}`)
  assert.ok(s.opened >= s.closed, `closed more than opened: ${json}`)
  if (idle) {
    assert.strictEqual(s.waiting, 0, `queries still waiting with nothing in flight: ${json}`)
    assert.strictEqual(s.busy, 0, `busy slots with nothing in flight: ${json}`)
  }
  return s
}

// Waits until no slot is connecting/pending (the pool has settled), up to ms.
async function quiesce(sql, ms = 2000) {
  const deadline = Date.now() + ms
  for (;;) {
    const s = stats(sql)
    if (s === null || ((s.connecting || 0) + (s.pending || 0) === 0 && s.waiting === 0)) return s
    if (Date.now() > deadline) return s
    await sleep(5)
  }
}

async function healthy(sql, ms = 5000) {
  const v = 4242 + Math.floor(Math.random() * 1000)
  const query = sql.options.adapter === 'mysql' ? sql`select ${v} as x` : sql`select ${v}::int as x`
  const rows = await withTimeout(Promise.resolve(query), ms, 'the healthy query')
  assert.strictEqual(rows.length, 1)
  assert.strictEqual(rows[0].x, v)
}

// Closes and checks the cost. Returns { ms, cpuMs }.
async function closeBounded(sql, { ms = 1000, cpuMs = 100, timeout } = {}) {
  const cpu0 = process.cpuUsage()
  const t0 = performance.now()
  await withTimeout(Promise.resolve(timeout === undefined ? sql.close() : sql.close({ timeout })), ms, 'close()')
  const wall = performance.now() - t0
  const cpu = process.cpuUsage(cpu0)
  const cpuUsed = (cpu.user + cpu.system) / 1000
  assert.ok(wall < ms, `close() took ${wall.toFixed(0)} ms`)
  assert.ok(cpuUsed < cpuMs, `close() used ${cpuUsed.toFixed(1)} ms of CPU`)
  const s = stats(sql)
  if (s !== null && typeof s.live === 'number') {
    assert.strictEqual(s.live, 0, `connections left after close(): ${JSON.stringify(s)}`)
    assert.strictEqual(s.badTransitions, 0, `bad transitions during close(): ${JSON.stringify(s)}`)
  }
  // A query after close() fails at once with CONNECTION_CLOSED.
  const after = await withTimeout(Promise.resolve(sql`select 1`).then(() => null, (e) => e), 200, 'a query after close()')
  assert.ok(after !== null, 'a query after close() succeeded')
  assertCleanError(after, 'query after close: ')
  assert.strictEqual(after.code, sql.options.adapter === 'mysql' ? 'ERR_MYSQL_CONNECTION_CLOSED' : 'ERR_POSTGRES_CONNECTION_CLOSED', describeError(after))
  return { ms: wall, cpuMs: cpuUsed }
}

// The contract. Options:
//   track         the tracker() used for the scenario's promises
//   healthyQuery  true: `select $1::int` must succeed; a function (sql) => promise: run it
//   settleMs      deadline for the tracked promises still pending
//   quiesceMs     how long to wait for connecting slots / waiters to drain before checking stats
//   close         false: skip the close() checks
async function assertNotWedged(sql, { track, healthyQuery = false, settleMs = 5000, quiesceMs = 2000, close = true } = {}) {
  if (track) {
    const pending = track.pending()
    if (pending.length) {
      await withTimeout(Promise.all(pending.map((r) => r.promise)), settleMs,
        `${pending.length} of ${track.records.length} tracked promises`)
    }
    for (const e of track.errors()) assertCleanError(e)
  }
  await quiesce(sql, quiesceMs)
  assertStatsConsistent(sql)
  if (healthyQuery === true) await healthy(sql)
  else if (typeof healthyQuery === 'function') await withTimeout(Promise.resolve(healthyQuery(sql)), 5000, 'the healthy query')
  if (healthyQuery) assertStatsConsistent(sql)
  if (close) return closeBounded(sql)
  return null
}

module.exports = {
  tracker, assertNotWedged, assertCleanError, assertConnectionLevel, isConnectionLevel, assertStatsConsistent,
  closeBounded, quiesce, healthy, withTimeout, describeError, sleep, stats, INTERNAL,
}
