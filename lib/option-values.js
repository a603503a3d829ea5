'use strict'
// Small pieces every option resolver uses (lib/options.js, lib/tls-options.js,
// lib/pg-auth-options.js): the first value that is set, and the error a bad value gets.

// The first of `values` that is set: undefined, null and '' count as unset (an empty URL
// parameter or environment variable).
function pick(...values) {
  for (const v of values) if (v !== undefined && v !== null && v !== '') return v
  return undefined
}

// Node's code for a bad option value, thrown synchronously from the constructor.
function invalid(message) {
  const err = new TypeError(message)
  err.code = 'ERR_INVALID_ARG_VALUE'
  return err
}

module.exports = { pick, invalid }
