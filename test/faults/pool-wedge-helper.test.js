'use strict'
// The "never wedge" check itself must be able to fail: each broken behaviour below is caught.
// Uses a stand-in for `sql` (no server), so a passing fault suite means the contract was checked.

const { test } = require('node:test')
const assert = require('node:assert')
const { PostgresError } = require('../../lib/errors.js')
const { tracker, assertNotWedged } = require('../helpers/wedge.js')

function fakeSql({ stats = {}, close = () => Promise.resolve(), query } = {}) {
  const base = { empty: 2, connecting: 0, ready: 0, busy: 0, closing: 0, waiting: 0, live: 0, opened: 0, closed: 0, badTransitions: 0 }
  let closed = false
  const sql = () => {
    if (closed) return Promise.reject(new PostgresError('Connection closed', { code: 'ERR_POSTGRES_CONNECTION_CLOSED' }))
    return query ? query() : Promise.resolve([{ x: 0 }])
  }
  sql.options = { max: 2 }
  sql._stats = () => ({ ...base, ...stats })
  sql.close = () => { closed = true; return close() }
  return sql
}

test('a healthy stand-in passes', async () => {
  const track = tracker()
  track(Promise.reject(new PostgresError('x', { code: 'ERR_POSTGRES_CONNECTION_CLOSED' })))
  await assertNotWedged(fakeSql(), { track })
})

test('an unsettled promise is a wedge', async () => {
  const track = tracker()
  track(new Promise(() => {}))
  await assert.rejects(assertNotWedged(fakeSql(), { track, settleMs: 50 }), /did not settle/)
})

test('an internal-state error reaching the user is caught', async () => {
  for (const message of ['connection must be a PostgresSQLConnection', 'invalid connection state DB_ESTATE', "Cannot read properties of null (reading 'x')"]) {
    const track = tracker()
    track(Promise.reject(new PostgresError(message, { code: 'ERR_POSTGRES_CONNECTION_CLOSED' })))
    await assert.rejects(assertNotWedged(fakeSql(), { track }), /internal-state error/)
  }
  const track = tracker()
  track(Promise.reject(new TypeError('plain')))
  await assert.rejects(assertNotWedged(fakeSql(), { track }), /not a PostgresError/)
})

test('bad transitions, a ghost ready slot, slots not adding up, stuck waiters are caught', async () => {
  await assert.rejects(assertNotWedged(fakeSql({ stats: { badTransitions: 1 } })), /bad transitions/)
  await assert.rejects(assertNotWedged(fakeSql({ stats: { empty: 1, ready: 1, live: 0 } })), /ghost/)
  await assert.rejects(assertNotWedged(fakeSql({ stats: { empty: 1 } })), /add up to max/)
  await assert.rejects(assertNotWedged(fakeSql({ stats: { waiting: 3 } }), { quiesceMs: 50 }), /waiting/)
})

test('a close() that hangs, is slow, or burns CPU is caught', async () => {
  await assert.rejects(assertNotWedged(fakeSql({ close: () => new Promise(() => {}) })), /close\(\) did not settle/)
  const spin = () => { const c0 = process.cpuUsage(); for (;;) { const c = process.cpuUsage(c0); if (c.user + c.system > 150000) break } return Promise.resolve() }
  await assert.rejects(assertNotWedged(fakeSql({ close: spin })), /CPU/)
})

test('a failing healthy query is caught', async () => {
  const sql = fakeSql({ query: () => Promise.reject(new PostgresError('nope', { code: 'ERR_POSTGRES_CONNECTION_CLOSED' })) })
  await assert.rejects(assertNotWedged(sql, { healthyQuery: true }), /nope/)
})
