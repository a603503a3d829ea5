'use strict'
// The test command must fail when a test fails (CI trusts its exit status).

const { test } = require('node:test')
const assert = require('node:assert')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')

test('node test/run.js exits non-zero when a test fails', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uvsql-runner-'))
  const file = path.join(dir, 'fails.test.js')
  fs.writeFileSync(file, "require('node:test')('fails on purpose', () => { throw new Error('expected') })\n")
  try {
    // Without NODE_TEST_CONTEXT, or the inner `node --test` thinks it is nested and runs nothing.
    const env = { ...process.env }
    delete env.NODE_TEST_CONTEXT
    const r = spawnSync(process.execPath, [path.join(__dirname, '..', 'run.js'), file], { encoding: 'utf8', timeout: 120000, env })
    assert.notStrictEqual(r.status, 0, r.stdout + r.stderr)
    assert.match(r.stdout + r.stderr, /fails on purpose/)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
