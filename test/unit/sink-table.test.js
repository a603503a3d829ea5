'use strict'
// The pool's table of queries in flight (lib/sink-table.js): every id finds its own sink,
// whatever order the answers come in, however many are in flight, with old ids outliving
// many new ones (no server needed).

const { test } = require('node:test')
const assert = require('node:assert')
const { SinkTable } = require('../../lib/sink-table.js')

test('answers in any order: each id gets its own sink, exactly once', () => {
  const table = new SinkTable()
  const live = new Map()
  let next = 1
  let seed = 12345
  const random = (n) => {
    seed = (seed * 1103515245 + 12345) % 2147483648
    return seed % n
  }
  for (let step = 0; step < 20000; step++) {
    if (random(3) !== 0 || live.size === 0) {
      const id = next++
      const sink = { id }
      table.set(id, sink)
      live.set(id, sink)
    } else {
      // Mostly the oldest (answers in order), sometimes a newer one.
      const ids = [...live.keys()].slice(0, 40)
      const id = ids[random(4) === 0 ? ids.length - 1 : 0]
      assert.strictEqual(table.take(id), live.get(id))
      assert.strictEqual(table.take(id), undefined)
      live.delete(id)
    }
  }
  for (const [id, sink] of live) assert.strictEqual(table.get(id), sink)
  assert.strictEqual(table.get(next), undefined)
  assert.strictEqual(table.has(next), false)
})

test('an old query outlives 100k newer ones: found, and the ring stays small', () => {
  const table = new SinkTable()
  table.set(1, 'old')
  for (let id = 2; id < 100000; id++) {
    table.set(id, id)
    assert.strictEqual(table.take(id), id)
  }
  assert.strictEqual(table.get(1), 'old')
  assert.strictEqual(table.mask, 1023)
  assert.strictEqual(table.take(1), 'old')
  assert.strictEqual(table.has(1), false)
})

test('50k in flight: the ring grows, then shrinks back once they are answered', () => {
  const table = new SinkTable()
  for (let id = 1; id <= 50000; id++) table.set(id, -id)
  assert.ok(table.mask >= 65535, `ring of ${table.mask + 1}`)
  for (let id = 50000; id >= 1; id--) assert.strictEqual(table.take(id), -id)
  assert.strictEqual(table.mask, 1023)
  assert.strictEqual(table.count, 0)
  assert.ok(table.overflow === null || table.overflow.size === 0)
})

test('ids past 2^31 (a long-lived pool) still find their sinks', () => {
  const table = new SinkTable()
  const base = 2 ** 40
  for (let k = 0; k < 3000; k++) table.set(base + k, k)
  for (let k = 2999; k >= 0; k--) assert.strictEqual(table.take(base + k), k)
})
