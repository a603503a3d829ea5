// C unit tests: builds every test/c/*_test.c into a temp dir and runs it; each must exit 0.
//
//   node --test test/unit/c-units.test.js
//
// Each program is compiled with `cc` together with src/base/*.c and src/auth/*.c (plus any files
// a test names on a `c-units-sources:` comment line, paths relative to the repo root, globs
// allowed only as `dir/*.c`), linked against OpenSSL's libssl and libcrypto (Debian's static
// libssl.a/libcrypto.a when present, as the addon does, else -lssl -lcrypto). When `cc` supports
// it the build uses ASan + UBSan with -fno-sanitize-recover, so any sanitizer report fails the
// test.
'use strict'
const { test } = require('node:test')
const assert = require('node:assert')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } = fs
const { tmpdir } = require('node:os')
const { join, resolve, basename } = require('node:path')

const ROOT = resolve(__dirname, '..', '..')
const C_DIR = join(ROOT, 'test', 'c')
const DEFAULT_SOURCES = ['src/base/*.c', 'src/auth/*.c']
const CFLAGS = [
  '-std=c11', '-D_GNU_SOURCE', '-g', '-O1',
  '-Wall', '-Wextra', '-Wshadow', '-Wstrict-prototypes', '-Werror'
]
const SAN_FLAGS = [
  '-fsanitize=address,undefined', '-fno-sanitize-recover=all', '-fno-omit-frame-pointer'
]
const STATIC_SSL = '/usr/lib/x86_64-linux-gnu/libssl.a'
const STATIC_CRYPTO = '/usr/lib/x86_64-linux-gnu/libcrypto.a'
// clang-14 when present (CI installs it for the fuzzers): it adds -fsanitize=implicit-conversion,
// which catches silent integer truncations in the protocol code (e.g. the MySQL sequence id
// wrap, fuzz/crashes/my_engine-seq-wrap.bin, test_seq_wrap in test/c/mysql_test.c). gcc has no
// such check. CC=... still picks any compiler.
const CC = process.env.CC || (spawnSync('clang-14', ['--version']).status === 0 ? 'clang-14' : 'cc')

function expand (pattern) {
  const m = /^(.*)\/\*\.c$/.exec(pattern)
  if (!m) return [join(ROOT, pattern)]
  const dir = join(ROOT, m[1])
  if (!existsSync(dir)) return []
  return readdirSync(dir).filter((f) => f.endsWith('.c')).sort().map((f) => join(dir, f))
}

function sourcesFor (testFile) {
  const extra = []
  for (const m of readFileSync(testFile, 'utf8').matchAll(/c-units-sources:([^\n*]*)/g)) {
    extra.push(...m[1].trim().split(/\s+/).filter(Boolean))
  }
  const files = [...DEFAULT_SOURCES, ...extra].flatMap(expand)
  return [...new Set(files)]
}

function run (cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 64 << 20, ...opts })
}

function output (r) {
  return [r.error ? String(r.error) : '', r.stdout, r.stderr].filter(Boolean).join('\n')
}

const tmp = mkdtempSync(join(tmpdir(), 'uvsql-c-units-'))
process.on('exit', () => rmSync(tmp, { recursive: true, force: true }))

// Sanitizers: usable when a trivial program builds and runs with them.
function sanitizersWork () {
  const src = join(tmp, 'probe.c')
  const bin = join(tmp, 'probe')
  writeFileSync(src, 'int main(void) { return 0; }\n')
  const b = run(CC, [...SAN_FLAGS, src, '-o', bin])
  return b.status === 0 && run(bin, []).status === 0
}
const useSan = sanitizersWork()
if (useSan && run(CC, ['-fsanitize=implicit-conversion', '-x', 'c', '-c', '-o', '/dev/null', '/dev/null']).status === 0) {
  SAN_FLAGS.push('-fsanitize=implicit-conversion')
}
const cryptoLibs = existsSync(STATIC_SSL) && existsSync(STATIC_CRYPTO)
  ? [STATIC_SSL, STATIC_CRYPTO]
  : ['-lssl', '-lcrypto']
const LIBS = [...cryptoLibs, '-ldl', '-lpthread']

const tests = existsSync(C_DIR)
  ? readdirSync(C_DIR).filter((f) => f.endsWith('_test.c')).sort()
  : []

test('there are C unit tests to run', () => {
  assert.ok(tests.length > 0, `no *_test.c in ${C_DIR}`)
})

for (const file of tests) {
  const name = basename(file, '.c')
  const suffix = useSan ? ` (ASan+UBSan${SAN_FLAGS.includes('-fsanitize=implicit-conversion') ? '+implicit-conversion' : ''})` : ''
  test(`C: ${name}${suffix}`, { timeout: 300_000 }, (t) => {
    const src = join(C_DIR, file)
    const bin = join(tmp, name)
    const flags = [...CFLAGS, ...(useSan ? SAN_FLAGS : [])]
    const args = [...flags, src, ...sourcesFor(src), ...LIBS, '-o', bin]
    const b = run(CC, args, { cwd: ROOT })
    assert.strictEqual(b.status, 0, `compile failed: ${CC} ${args.join(' ')}\n${output(b)}`)

    const env = {
      ...process.env,
      ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=0:halt_on_error=1',
      UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1'
    }
    const r = run(bin, [], { cwd: ROOT, env, timeout: 240_000 })
    const out = output(r)
    const summary = out.split('\n').filter((l) => l.startsWith('# ')).pop()
    if (summary) t.diagnostic(summary.slice(2))
    assert.strictEqual(r.status, 0, `${name} exited with ${r.status ?? r.signal}\n${out}`)
    assert.doesNotMatch(out, /^not ok /m, `${name} reported a failure\n${out}`)
  })
}
