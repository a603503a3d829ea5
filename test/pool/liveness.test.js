'use strict'
// Liveness of the process around the pool (issue 9 follow-up): every awaited piece of work
// keeps the process alive until it is done, even when the only thing that keeps it is the
// library and the SQL instance is unreachable and collected meanwhile; and nothing the
// library leaves behind (an idle pool, a reserved connection with nothing running, a finished
// close() with a deadline) keeps it alive after. One child process per scenario
// (test/helpers/gc-liveness-child.js, with forced collections): its `done` line must come (the
// loop did not empty with a promise pending: a process that exits early exits 0 without it),
// then its `exit` line, soon.

const { test } = require('node:test')
const assert = require('node:assert')
const env = require('../helpers/env.js')
const { runGcChild } = require('../helpers/gc-spawn.js')

const EXIT_AFTER_DONE_MS = 1000

async function runChild(url, scenario) {
  const r = await runGcChild('gc-liveness-child.js', [scenario], url, { env: { UVSQL_GC: '1' }, killMs: 20000 })
  const done = /^done (.*)$/m.exec(r.stdout)
  const exit = /^exit (\d+) ms after done/m.exec(r.stdout)
  return { ...r, out: done ? JSON.parse(done[1]) : null, exitMs: exit ? Number(exit[1]) : null }
}

// scenario -> what its `done` line must say (beyond coming at all), by protocol.
const COMMON = {
  close: {},
  closeRunning: { running: 'ran' },
  closeNow: { running: (p) => `ERR_${p}_CONNECTION_CLOSED` },
  closeTimeoutEarly: { running: 'ran' },
  reserved: {},
  reservedClose: {},
  transaction: { x: 3 },
  txClose: { err: (p) => `ERR_${p}_CONNECTION_CLOSED` },
  waitForForgotten: {},
  waiterKeepsAlive: { rows: 1 },
  waiterKeepsAliveLater: { rows: 1 },
  connect: {},
  passwordFunction: {},
  leftReserved: {},
  leftTransactionTimeout: {},
  leftCancelled: { settled: (p) => `ERR_${p}_SERVER_ERROR` },
}

const PROTOCOLS = [
  { name: 'PostgreSQL', tag: 'POSTGRES', url: () => env.pg.url, scenarios: { ...COMMON, listen: { heard: 'hi' } } },
  { name: 'MySQL', tag: 'MYSQL', url: () => env.mysql.url, scenarios: COMMON },
]

// A few children at a time: each is mostly waiting for the server.
async function runAll(url, names, width = 3) {
  const results = {}
  let next = 0
  await Promise.all(Array.from({ length: width }, async () => {
    while (next < names.length) {
      const name = names[next++]
      results[name] = await runChild(url, name)
    }
  }))
  return results
}

for (const P of PROTOCOLS) {
  test(`${P.name}: awaited work keeps the process alive to its end, collected instance or not; nothing left behind keeps it after`, async () => {
    const names = Object.keys(P.scenarios)
    const results = await runAll(P.url(), names)
    for (const name of names) {
      const r = results[name]
      const what = `${name}: exit ${r.code} ${r.signal || ''}\n${r.stdout}\n${r.stderr}`
      assert.ok(r.out !== null, `${name}: the process ended before its work was done (no 'done' line): ${what}`)
      assert.strictEqual(r.code, 0, what)
      const want = {}
      for (const [k, v] of Object.entries(P.scenarios[name])) want[k] = typeof v === 'function' ? v(P.tag) : v
      assert.deepStrictEqual(r.out, want, what)
      assert.ok(r.exitMs !== null && r.exitMs < EXIT_AFTER_DONE_MS, `${name}: the process lived on ${r.exitMs} ms after its work was done: ${what}`)
    }
  })
}
