'use strict'
// A forgotten SQL instance is garbage-collected and its connections close (lib/pool.js
// Keeper): the native pool holds its JS callbacks, which reach the pool only weakly while
// nothing is pending. Pending work that only the pool holds (a running query, a listener) and
// work that holds the pool (a reserved connection, a transaction) keep it, whatever the
// collector does meanwhile; so does a close() in progress, whose promise only the pool
// resolves, and a lease's unsent queries and transaction keep the lease. 'churn' runs every
// waiting operation on instances dropped at their last call (it finds the close() bug of
// ba48ae9: 20 of 120 hung before). Each scenario runs in a child process that forces collections
// (test/helpers/gc-child.js: --expose-gc on Node, Bun.gc under Bun) and counts the instance's
// server connections (pg_stat_activity / information_schema.processlist).

const { test } = require('node:test')
const assert = require('node:assert')
const env = require('../helpers/env.js')
const { runGcChild } = require('../helpers/gc-spawn.js')

async function runChild(url, scenarios) {
  const r = await runGcChild('gc-child.js', scenarios, url)
  const out = {}
  for (const line of r.stdout.split('\n')) if (line.startsWith('{')) { const o = JSON.parse(line); out[o.name] = o }
  return { ...r, out }
}

const PROTOCOLS = [
  { name: 'PostgreSQL', url: () => env.pg.url, scenarios: ['idle', 'inflight', 'reserved', 'reservedAfterHandle', 'transaction', 'closing', 'churn', 'listener'] },
  { name: 'MySQL', url: () => env.mysql.url, scenarios: ['idle', 'inflight', 'reserved', 'reservedAfterHandle', 'transaction', 'closing', 'churn'] },
]

for (const P of PROTOCOLS) {
  test(`${P.name}: forgotten instances are collected once idle, never in the middle of work`, async () => {
    const r = await runChild(P.url(), P.scenarios)
    assert.strictEqual(r.code, 0, `child exited with ${r.code} ${r.signal}\n${r.stderr}`)
    for (const name of P.scenarios) assert.ok(r.out[name] && !r.out[name].error, `${name}: ${JSON.stringify(r.out[name])}\n${r.stderr}`)
    const { idle, inflight, reserved, reservedAfterHandle, transaction, closing, churn, listener } = r.out
    assert.ok(idle.ids >= 1 && idle.openBefore === idle.ids, `idle: its connections were open first: ${JSON.stringify(idle)}`)
    assert.ok(idle.closedAfterRounds >= 0, 'idle: an unreachable idle instance is collected and its connections close')
    assert.strictEqual(inflight.x, 7, 'inflight: the running query finished with its own value')
    assert.strictEqual(inflight.openDuring, 1, 'inflight: its connection stayed open while it ran')
    assert.ok(inflight.closedAfterRounds >= 0, 'inflight: collected once the query finished')
    assert.strictEqual(reserved.x, 5, 'reserved: the reserved connection kept working')
    assert.ok(reserved.closedAfterRounds >= 0, 'reserved: collected once released')
    assert.deepStrictEqual(reservedAfterHandle, { name: 'reservedAfterHandle', sameTx: true, sameLater: true, reservedAfter: 0, ranKept: true },
      'reservedAfterHandle: a query made from a dropped reserved handle and a transaction on it ran on its connection; the lease came back afterwards, though a query that ran on it is still kept')
    assert.strictEqual(transaction.x, 9, 'transaction: it ran to its end')
    assert.ok(transaction.closedAfterRounds >= 0, 'transaction: collected once it ended')
    assert.strictEqual(closing.resolved, closing.rounds, `closing: every close() resolved though its instance was collected meanwhile: ${JSON.stringify(closing)}`)
    assert.deepStrictEqual({ hung: churn.hung, failed: churn.failed, left: churn.left }, { hung: [], failed: [], left: 0 },
      `churn: every operation of ${churn.rounds} on instances dropped at their last call settled, and their connections closed`)
    if (listener) assert.strictEqual(listener.heard, 'still here', 'listener: notifications still arrive')
  })
}
