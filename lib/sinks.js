'use strict'
// What waits for a query's answer (a "sink") implements these methods: Query does
// (lib/query.js), so a query costs no extra object or closures; reserve() makes a small one.
// A module of its own, with no imports, so every adapter can use it without a require cycle.

const kOnRows = Symbol('onRows')
const kOnBatch = Symbol('onBatch')
const kOnError = Symbol('onError')
const kOnReserved = Symbol('onReserved')
// For adapters that build results in JS (lib/sqlite.js): the finished result, and the mode
// ('objects', 'values', 'raw') the query runs in.
const kOnResult = Symbol('onResult')
const kMode = Symbol('mode')

module.exports = { kOnRows, kOnBatch, kOnError, kOnReserved, kOnResult, kMode }
