'use strict'
// GC-torture mode (`UVSQL_GC_TORTURE=1 node test/run.js <files>`; docs/SANITIZERS.md): loaded
// into every test process (node: NODE_OPTIONS=--require, bun: --preload) and collects garbage
// very often, at varied points, so that an object that only a collectable thing keeps alive
// (a pool whose keeper lets go too early, a resolver only a collected object holds) is lost
// within the test that needs it instead of once in a while in CI. What it finds shows up as a
// promise that never settles (node:test: "Promise resolution is still pending but the event
// loop has already resolved"), a hang, or a process that exits early.
//
// It must not change liveness itself: every timer it makes is unref'd, so a process that would
// exit still exits, and one that would hang still hangs.
//
// UVSQL_GC_TORTURE: 1 (or any value other than 0) turns it on; the interval between timed
// collections is UVSQL_GC_TORTURE_MS (default 3).

const value = process.env.UVSQL_GC_TORTURE
const enabled = value !== undefined && value !== '' && value !== '0'

function findGc() {
  if (typeof Bun === 'object' && Bun !== null && typeof Bun.gc === 'function') {
    return { full: () => Bun.gc(true), minor: () => Bun.gc(false) }
  }
  let gc = globalThis.gc
  if (typeof gc !== 'function') {
    // Not --expose-gc in NODE_OPTIONS: the tests' own global would get a gc() (and children
    // that pass it themselves a duplicate flag). The flag turned on now shows gc() only in a
    // fresh context, which is where it is taken from.
    require('node:v8').setFlagsFromString('--expose-gc')
    gc = require('node:vm').runInNewContext('gc')
  }
  return { full: () => gc(), minor: () => gc({ type: 'minor' }) }
}

function start() {
  const { full, minor } = findGc()
  const ms = Math.max(1, Number(process.env.UVSQL_GC_TORTURE_MS) || 3)
  const { performance } = require('node:perf_hooks')
  let n = 0
  let nextAt = 0
  // Whichever trigger below comes first after a quiet gap collects: so the points vary, and the
  // collections take at most about a third of the time (a full one is ~7 ms here), which keeps
  // the suites' own deadlines (a 3 s wait for a frame sent one byte per turn) meaningful.
  const collect = () => {
    const t0 = performance.now()
    if (t0 < nextAt) return
    // Mostly full collections (weak references are cleared only by those), a scavenge between.
    if (++n % 4 === 0) minor()
    else full()
    const t1 = performance.now()
    nextAt = t1 + Math.max(ms, 2 * (t1 - t0))
  }
  // 1. On a timer: the timers phase of the loop.
  const timer = setInterval(collect, ms)
  if (typeof timer.unref === 'function') timer.unref()
  // 2. In the check phase (setImmediate), i.e. after poll: between a native callback and the
  //    close callbacks of the same loop turn (how the close() bug of ba48ae9 showed up).
  const onImmediate = () => {
    collect()
    schedule()
  }
  function schedule() {
    const im = setImmediate(onImmediate)
    if (im && typeof im.unref === 'function') im.unref()
  }
  schedule()
  // 3. Node: right before callbacks run (I/O, timers, Node-API make_callback from C, promise
  //    reactions), from async_hooks: where a callback from C may find its target collected.
  if (typeof Bun !== 'object') {
    require('node:async_hooks').createHook({ before: collect }).enable()
  }
}

if (enabled) start()
