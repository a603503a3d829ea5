'use strict'
// index.d.ts type-checks a file of typical usage (strict mode).

const { test } = require('node:test')
const assert = require('node:assert')
const { spawnSync } = require('node:child_process')
const path = require('node:path')

test('tsc --noEmit --strict accepts test/api/usage.ts against index.d.ts', () => {
  const tsc = require.resolve('typescript/bin/tsc')
  const r = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--types', 'node', path.join(__dirname, 'usage.ts')], { encoding: 'utf8', timeout: 120000 })
  assert.strictEqual(r.status, 0, r.stdout + r.stderr)
})
