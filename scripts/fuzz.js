#!/usr/bin/env node
// libFuzzer campaigns over the C core (`npm run fuzz`). See fuzz/README.md.
//
//   node scripts/fuzz.js [--seconds N] [--jobs J] [targets...]   # build, run each for N s (60)
//   node scripts/fuzz.js --build [targets...]                   # build only
//   node scripts/fuzz.js --repro <file> <target>                # run one input (exit 0 = fixed)
//   node scripts/fuzz.js --minimize <file> <target> [--seconds N]  # shrink a crashing input
//   node scripts/fuzz.js --list
//
// Each target fuzz/fuzz_<name>.c is built with clang-14 into .tmp/fuzz/ (gitignored), with
// -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -g -O1; the project's sources
// also get -fsanitize=implicit-conversion (when the compiler takes it). OpenSSL is linked
// statically when Debian's libssl.a/libcrypto.a exist (as the addon does).
//
// First the saved crash inputs fuzz/crashes/<target>-*.bin run once each: they are regression
// inputs for bugs found earlier and must pass. Then each campaign reads the committed seeds in
// fuzz/corpus/<target>/ but writes what it discovers to the scratch dir .tmp/fuzz/corpus/<target>/
// (kept between runs; the committed corpus never grows by itself: merge by hand, see the README).
// A crash, a timeout, a leak or an out-of-memory stops that target, its input is written to
// .tmp/fuzz/crashes/, and the script prints the input path and the command that reproduces it,
// then exits 1 once every target has run.
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')

const ROOT = path.join(__dirname, '..')
const FUZZ_DIR = path.join(ROOT, 'fuzz')
const OUT = path.join(ROOT, '.tmp', 'fuzz')
const CC = process.env.FUZZ_CC || 'clang-14'
const DICT = path.join(FUZZ_DIR, 'pg.dict') // the default; a target may name its own

const BASE = ['src/base/base_buf.c', 'src/base/base_err.c', 'src/base/base_mem.c', 'src/base/base_intern.c', 'src/base/base_rowbatch.c']
const AUTH = ['src/auth/auth_md5.c', 'src/auth/auth_scram.c', 'src/auth/auth_util.c']
const MY_AUTH = ['src/auth/auth_mysql.c', 'src/auth/auth_ed25519.c', 'src/auth/auth_util.c']
const MY = ['src/mysql/my_cmd.c', 'src/mysql/my_conn.c', 'src/mysql/my_msg.c', 'src/mysql/my_packet.c', 'src/mysql/my_row.c', 'src/mysql/my_stmt.c']
const PG = ['src/pg/pg_conn.c', 'src/pg/pg_frame.c', 'src/pg/pg_msg.c', 'src/pg/pg_stmt.c', 'src/pg/pg_rowbatch.c', 'src/pg/pg_binary.c']

// name -> the project sources it links, and whether it needs OpenSSL (and the deterministic
// RAND_bytes wrapper its harness defines).
const TARGETS = {
  pg_frame: { sources: [...BASE, 'src/pg/pg_frame.c', 'src/pg/pg_rowbatch.c', 'src/pg/pg_binary.c'] },
  pg_engine: { sources: [...BASE, ...AUTH, ...PG], crypto: true },
  scram: { sources: [...BASE, ...AUTH], crypto: true },
  pg_text: { sources: [...BASE, 'src/pg/pg_rowbatch.c', 'src/pg/pg_binary.c'] },
  stmt_intern: { sources: [...BASE, 'src/pg/pg_stmt.c'] },
  my_engine: { sources: [...BASE, ...MY_AUTH, ...MY], crypto: true, dict: 'my.dict' },
  my_row: { sources: [...BASE, 'src/mysql/my_msg.c', 'src/mysql/my_packet.c', 'src/mysql/my_row.c', 'src/mysql/my_rowbatch.c'], dict: 'my.dict' },
  // JavaScript, not libFuzzer: fuzz/fuzz_options.js feeds random and mutated URLs / option
  // objects to lib/options.js for the given time (see the header of that file).
  options: { js: 'fuzz_options.js' },
}

// The highest SCRAM iteration count the fuzz build accepts (auth_scram.h lets a build set it):
// PostgreSQL's default. With the release cap (10M) one input can run PBKDF2 for seconds.
const SCRAM_ITER_MAX = 4096

const COMMON = [
  '-std=c11', '-D_GNU_SOURCE', '-g', '-O1', '-fno-omit-frame-pointer',
  '-Wall', '-Wextra', '-Wshadow', '-Wstrict-prototypes',
  '-fno-sanitize-recover=all', `-DAUTH_SCRAM_ITER_MAX=${SCRAM_ITER_MAX}`,
]
const SAN = 'address,undefined'
const STATIC_SSL = '/usr/lib/x86_64-linux-gnu/libssl.a'
const STATIC_CRYPTO = '/usr/lib/x86_64-linux-gnu/libcrypto.a'

const say = (msg) => process.stderr.write(`[fuzz] ${msg}\n`)

function run (cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 << 20, ...opts })
}

function die (msg) {
  say(msg)
  process.exit(2)
}

// ------------------------------------------------------------------------------------ build

let implicitOk = null
function implicitConversionWorks () {
  if (implicitOk === null) {
    fs.mkdirSync(OUT, { recursive: true })
    const src = path.join(OUT, 'probe.c')
    fs.writeFileSync(src, 'int f(long x) { return x; }\n')
    const r = run(CC, ['-c', '-fsanitize=implicit-conversion', src, '-o', path.join(OUT, 'probe.o')])
    implicitOk = r.status === 0
    if (!implicitOk) say(`${CC} does not take -fsanitize=implicit-conversion; building without it`)
  }
  return implicitOk
}

function newer (out, inputs) {
  if (!fs.existsSync(out)) return false
  const t = fs.statSync(out).mtimeMs
  return inputs.every((f) => fs.statSync(f).mtimeMs <= t)
}

// Headers anywhere in src/ or fuzz/ count as inputs of every object (cheap and safe).
function headers () {
  const out = []
  for (const dir of ['src/base', 'src/auth', 'src/pg', 'src/mysql', 'fuzz']) {
    const abs = path.join(ROOT, dir)
    if (!fs.existsSync(abs)) continue
    for (const f of fs.readdirSync(abs)) if (f.endsWith('.h')) out.push(path.join(abs, f))
  }
  return out
}

function build (name) {
  const t = TARGETS[name]
  if (t.js) return path.join(FUZZ_DIR, t.js) // run with node, nothing to build
  const objDir = path.join(OUT, 'obj')
  fs.mkdirSync(objDir, { recursive: true })
  const hdrs = headers()
  const ours = implicitConversionWorks() ? `${SAN},implicit-conversion` : SAN
  const objs = []
  for (const rel of t.sources) {
    const src = path.join(ROOT, rel)
    if (!fs.existsSync(src)) die(`${rel} is missing`)
    const obj = path.join(objDir, rel.replace(/[/\\]/g, '_').replace(/\.c$/, '.o'))
    objs.push(obj)
    if (newer(obj, [src, ...hdrs, __filename])) continue
    const args = [...COMMON, `-fsanitize=fuzzer-no-link,${ours}`, '-c', src, '-o', obj]
    const r = run(CC, args, { cwd: ROOT })
    if (r.status !== 0) die(`compile failed: ${CC} ${args.join(' ')}\n${r.stdout}${r.stderr}`)
  }
  // The harnesses' byte-walking checkers: sanitized, but no coverage (trace-cmp on every byte
  // there would slow every run without guiding the fuzzer through our code).
  const util = path.join(FUZZ_DIR, 'fuzz_util.c')
  const utilObj = path.join(objDir, 'fuzz_util.o')
  if (!newer(utilObj, [util, ...hdrs, __filename])) {
    const args = [...COMMON, `-fsanitize=${SAN}`, '-c', util, '-o', utilObj]
    const r = run(CC, args, { cwd: ROOT })
    if (r.status !== 0) die(`compile failed: ${CC} ${args.join(' ')}\n${r.stdout}${r.stderr}`)
  }
  objs.push(utilObj)
  const harness = path.join(FUZZ_DIR, `fuzz_${name}.c`)
  const bin = path.join(OUT, `fuzz_${name}`)
  if (newer(bin, [harness, ...objs, ...hdrs, __filename])) return bin
  const libs = []
  if (t.crypto) {
    libs.push('-Wl,--wrap=RAND_bytes')
    if (fs.existsSync(STATIC_SSL) && fs.existsSync(STATIC_CRYPTO)) libs.push(STATIC_SSL, STATIC_CRYPTO)
    else libs.push('-lssl', '-lcrypto')
    libs.push('-ldl', '-lpthread')
  }
  const args = [...COMMON, `-fsanitize=fuzzer,${SAN}`, harness, ...objs, ...libs, '-lm', '-o', bin]
  const r = run(CC, args, { cwd: ROOT })
  if (r.status !== 0) die(`link failed: ${CC} ${args.join(' ')}\n${r.stdout}${r.stderr}`)
  return bin
}

// ------------------------------------------------------------------------------------ run

const ENV = {
  ...process.env,
  ASAN_OPTIONS: 'detect_leaks=1:abort_on_error=1:symbolize=1:allocator_may_return_null=1',
  UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1',
}

const COMMON_FLAGS = ['-timeout=10', '-rss_limit_mb=2048', '-malloc_limit_mb=1024', '-print_final_stats=1']

function corpusDirs (name) {
  const scratch = path.join(OUT, 'corpus', name)
  const seeds = path.join(FUZZ_DIR, 'corpus', name)
  fs.mkdirSync(scratch, { recursive: true })
  return fs.existsSync(seeds) ? [scratch, seeds] : [scratch]
}

// The program and arguments that run a target: the libFuzzer binary, or node with the JS
// harness (which takes the same -max_total_time=, -artifact_prefix=, -runs= flags and corpus dirs).
function command (name, bin, args) {
  return TARGETS[name].js ? [process.execPath, [bin, ...args]] : [bin, args]
}

function reproCommand (name, file) {
  return `node scripts/fuzz.js --repro ${path.relative(ROOT, file)} ${name}`
}

// Runs one campaign; resolves { name, ok, crash, stats }.
function campaign (name, bin, seconds) {
  const crashDir = path.join(OUT, 'crashes')
  fs.mkdirSync(crashDir, { recursive: true })
  const args = [
    `-max_total_time=${seconds}`, `-dict=${TARGETS[name].dict ? path.join(FUZZ_DIR, TARGETS[name].dict) : DICT}`, `-artifact_prefix=${crashDir}/${name}-`,
    ...COMMON_FLAGS, ...corpusDirs(name),
  ]
  const log = path.join(OUT, `${name}.log`)
  say(`${name}: ${seconds} s (log: ${path.relative(ROOT, log)})`)
  return new Promise((resolve) => {
    const out = fs.createWriteStream(log)
    const child = spawn(...command(name, bin, args), { cwd: ROOT, env: ENV, stdio: ['ignore', 'pipe', 'pipe'] })
    let text = ''
    const take = (d) => { out.write(d); text += d; if (text.length > 4e6) text = text.slice(-2e6) }
    child.stdout.on('data', take)
    child.stderr.on('data', take)
    child.on('close', (code, signal) => {
      out.end()
      const m = /(?:Test unit written to|artifact written to)\s+(\S+)/.exec(text)
      const crash = m ? path.resolve(ROOT, m[1]) : null
      resolve({ name, ok: code === 0 && !crash, code: code ?? signal, crash, stats: stats(text), text, log })
    })
  })
}

// The last status line and the final stats libFuzzer printed.
function stats (text) {
  const lines = text.split('\n').filter((l) => /^#\d+\s+(\w+)\s+cov:/.test(l))
  const last = lines.pop() || ''
  const num = (re) => { const m = re.exec(text); return m ? Number(m[1]) : null }
  const field = (k) => { const m = new RegExp(`${k}: (\\d+)`).exec(last); return m ? Number(m[1]) : null }
  return {
    execs: num(/stat::number_of_executed_units:\s+(\d+)/),
    execPerSec: num(/stat::average_exec_per_sec:\s+(\d+)/),
    cov: field('cov'),
    ft: field('ft'),
    corp: (/corp: (\S+)/.exec(last) || [])[1] || null,
    rssMb: num(/stat::peak_rss_mb:\s+(\d+)/),
  }
}

function crashReport (r) {
  const lines = r.text.split('\n')
  const start = lines.findIndex((l) => /==\d+==ERROR|runtime error:|FUZZ_CHECK failed|ERROR: libFuzzer/.test(l))
  const excerpt = (start >= 0 ? lines.slice(Math.max(0, start - 2), start + 40) : lines.slice(-40)).join('\n')
  return `${excerpt}\n\n  input:     ${r.crash ? path.relative(ROOT, r.crash) : '(none written)'}\n` +
    (r.crash ? `  reproduce: ${reproCommand(r.name, r.crash)}\n` +
      `  minimize:  node scripts/fuzz.js --minimize ${path.relative(ROOT, r.crash)} ${r.name}\n` : '') +
    (r.saved ? '' : `  full log:  ${path.relative(ROOT, r.log)}\n`)
}

// The saved crash inputs of a target (fuzz/crashes/<target>-*.bin): each must now pass.
function regressions (name, bin) {
  const dir = path.join(FUZZ_DIR, 'crashes')
  if (!fs.existsSync(dir)) return []
  const files = fs.readdirSync(dir).filter((f) => f.startsWith(`${name}-`)).sort().map((f) => path.join(dir, f))
  const failing = []
  for (const file of files) {
    const r = run(...command(name, bin, ['-runs=1', ...COMMON_FLAGS, file]), { cwd: ROOT, env: ENV })
    if (r.status !== 0) failing.push({ name, ok: false, code: r.status ?? r.signal, crash: file, stats: {}, text: r.stdout + r.stderr, log: file, saved: true })
  }
  say(`${name}: ${files.length} saved crash input(s), ${failing.length} still failing`)
  return failing
}

async function runAll (names, seconds, jobs) {
  const bins = Object.fromEntries(names.map((n) => [n, build(n)]))
  const saved = names.flatMap((n) => regressions(n, bins[n]))
  const queue = [...names]
  const results = []
  async function worker () {
    while (queue.length) {
      const n = queue.shift()
      results.push(await campaign(n, bins[n], seconds))
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, jobs) }, worker))
  results.sort((a, b) => names.indexOf(a.name) - names.indexOf(b.name))
  console.log('\ntarget        execs      exec/s   cov    ft     corpus')
  for (const r of results) {
    const s = r.stats
    console.log(`${r.name.padEnd(13)} ${String(s.execs ?? '?').padEnd(10)} ${String(s.execPerSec ?? '?').padEnd(8)} ` +
      `${String(s.cov ?? '?').padEnd(6)} ${String(s.ft ?? '?').padEnd(6)} ${s.corp ?? '?'}  ${r.ok ? 'ok' : 'FAILED'}`)
  }
  let failed = 0
  for (const r of results.filter((x) => !x.ok)) {
    failed++
    console.log(`\n==== ${r.name}: ${r.crash ? 'crash' : `exit ${r.code}`} ====\n${crashReport(r)}`)
  }
  for (const r of saved) {
    failed++
    console.log(`\n==== ${r.name}: saved crash input still fails ====\n${crashReport(r)}`)
  }
  return failed
}

function repro (file, name) {
  const bin = build(name)
  const r = spawnSync(...command(name, bin, ['-runs=1', ...COMMON_FLAGS, path.resolve(file)]), { cwd: ROOT, env: ENV, stdio: 'inherit' })
  say(`${name} on ${file}: exit ${r.status ?? r.signal}`)
  return r.status === 0 ? 0 : 1
}

function minimize (file, name, seconds) {
  const bin = build(name)
  const crashDir = path.join(OUT, 'crashes')
  fs.mkdirSync(crashDir, { recursive: true })
  const r = spawnSync(bin, ['-minimize_crash=1', `-max_total_time=${seconds}`, ...COMMON_FLAGS,
    `-exact_artifact_path=${path.join(crashDir, `${name}-minimized`)}`, path.resolve(file)],
  { cwd: ROOT, env: ENV, stdio: 'inherit' })
  say(`minimized input (if smaller): ${path.relative(ROOT, path.join(crashDir, `${name}-minimized`))}`)
  return r.status === 0 ? 0 : 1
}

// ------------------------------------------------------------------------------------ main

function main () {
  const argv = process.argv.slice(2)
  let seconds = 60
  let jobs = 1
  let mode = 'run'
  const rest = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--seconds') seconds = Number(argv[++i])
    else if (a === '--jobs' || a === '-j') jobs = Number(argv[++i])
    else if (a === '--repro') mode = 'repro'
    else if (a === '--minimize') mode = 'minimize'
    else if (a === '--build') mode = 'build'
    else if (a === '--list') mode = 'list'
    else if (a === '--help' || a === '-h') mode = 'help'
    else rest.push(a)
  }
  if (!Number.isFinite(seconds) || seconds <= 0) die('--seconds needs a positive number')
  if (mode === 'help') {
    console.log(fs.readFileSync(__filename, 'utf8').split('\n').slice(1, 8).map((l) => l.replace(/^\/\/ ?/, '')).join('\n'))
    return 0
  }
  if (mode === 'list') {
    console.log(Object.keys(TARGETS).join('\n'))
    return 0
  }
  if (run(CC, ['--version']).status !== 0) die(`${CC} not found (apt install clang-14, or set FUZZ_CC)`)
  if (mode === 'repro' || mode === 'minimize') {
    const [file, name] = rest
    if (!file || !TARGETS[name]) die(`usage: --${mode} <file> <target> (targets: ${Object.keys(TARGETS).join(', ')})`)
    return mode === 'repro' ? repro(file, name) : minimize(file, name, seconds)
  }
  const names = rest.length ? rest : Object.keys(TARGETS)
  for (const n of names) if (!TARGETS[n]) die(`unknown target ${n} (targets: ${Object.keys(TARGETS).join(', ')})`)
  if (mode === 'build') {
    for (const n of names) say(`built ${path.relative(ROOT, build(n))}`)
    return 0
  }
  return runAll(names, seconds, jobs).then((failed) => (failed ? 1 : 0))
}

Promise.resolve(main()).then((code) => { process.exitCode = code }, (err) => { say(err.stack); process.exitCode = 2 })
