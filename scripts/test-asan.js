#!/usr/bin/env node
// The test suite against an ASan + UBSan build of the addon (`npm run test:asan`):
//
//   node scripts/test-asan.js [node --test args / test files...]     # same arguments as test/run.js
//   UVSQL_ASAN_KEEP_GOING=1 ...   # report every error instead of aborting on the first (still fails)
//   UVSQL_SANITIZE_SRC=<dir> ...  # build binding.gyp + src/ from a scratch copy (harness self-check)
//
// 1. Builds the addon with gcc, `-Duvsql_sanitize=1` (binding.gyp: -fsanitize=address,undefined
//    -fno-sanitize-recover=all -fno-omit-frame-pointer -g -O1), Debug configuration (asserts on),
//    in .tmp/asan/ — a staging dir holding symlinks to binding.gyp and src/ — so build/Release,
//    which the normal tests use, is never touched. Rebuilds are incremental.
// 2. Runs `node test/run.js <args>` with UVSQL_BINDING=<the ASan .node>, gcc's libasan + libubsan
//    in LD_PRELOAD (a sanitized shared object needs its runtime loaded first), ASAN_OPTIONS and
//    UBSAN_OPTIONS, and NODE_OPTIONS=--require <this file>.
// 3. As a --require hook, this file keeps the preload to node processes: every child_process call
//    that starts something other than node (PostgreSQL, MariaDB, psql, openssl, cc, runuser...) gets
//    LD_PRELOAD / ASAN_OPTIONS / UBSAN_OPTIONS / NODE_OPTIONS as they were before this script set
//    them. PostgreSQL 15 (and psql) deadlock at startup with libasan preloaded.
// 4. Exits non-zero when test/run.js does, when a report file appears in .tmp/asan/reports/ (ASan
//    log_path; a report from a child whose exit status a test ignores still counts), when a
//    sanitizer line shows up in the output (gcc's UBSan ignores log_path next to ASan), or when
//    the TAP copy of the results (.tmp/asan/results.tap) shows failed or cancelled tests.
//
// See docs/SANITIZERS.md.
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const os = require('node:os')
const { spawn, spawnSync, execFileSync } = require('node:child_process')

const ROOT = path.join(__dirname, '..')
const TMP = path.join(ROOT, '.tmp') // gitignored (/.tmp/), and dot dirs are skipped by test discovery

// Names of the variables this script sets for node processes and the saved originals.
const SANITIZER_VARS = ['LD_PRELOAD', 'ASAN_OPTIONS', 'UBSAN_OPTIONS', 'NODE_OPTIONS']
const ORIG_VAR = 'UVSQL_ASAN_ORIG_ENV' // JSON {name: value or null}
const HOOK_FLAG = 'UVSQL_ASAN_HOOK'

const say = (msg) => process.stderr.write(`[uvsql-asan] ${msg}\n`)

// ------------------------------------------------------------------ build (shared with valgrind-smoke.js)

function findNodeGyp () {
  const candidates = []
  try { candidates.push(require.resolve('node-gyp/bin/node-gyp.js', { paths: [ROOT] })) } catch {}
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp)
  const prefix = path.dirname(path.dirname(process.execPath))
  candidates.push(path.join(prefix, 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'))
  const found = candidates.find((p) => p && fs.existsSync(p))
  if (!found) throw new Error('node-gyp was not found (npm install, or npm install -g node-gyp)')
  return found
}

function nodeDirArgs () {
  const prefix = path.dirname(path.dirname(process.execPath))
  return fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h')) ? ['--nodedir=' + prefix] : []
}

function symlink (target, link) {
  try {
    if (fs.readlinkSync(link) === target) return
    fs.rmSync(link, { force: true })
  } catch (err) {
    if (err.code !== 'ENOENT') fs.rmSync(link, { recursive: true, force: true })
  }
  fs.symlinkSync(target, link)
}

/**
 * Build the addon in .tmp/<name>/ (symlinks to binding.gyp and src/, own build/ dir) with the
 * given gyp -D defines, always the Debug configuration. Returns the path of the .node.
 * The compiler is whatever node-gyp uses (`cc`/`c++`, gcc on Debian); CC/CXX are passed through.
 */
function stageBuild ({ name, defines = [] }) {
  // UVSQL_SANITIZE_SRC=<dir holding binding.gyp and src/> builds a scratch copy instead of this
  // checkout (to prove the harness catches an injected bug); it gets its own staging dir so
  // objects from one tree are never reused for the other.
  const srcRoot = path.resolve(process.env.UVSQL_SANITIZE_SRC || ROOT)
  if (srcRoot !== path.resolve(ROOT)) {
    name += '-' + require('node:crypto').createHash('sha256').update(srcRoot).digest('hex').slice(0, 8)
  }
  const dir = path.join(TMP, name)
  fs.mkdirSync(dir, { recursive: true })
  symlink(path.join(srcRoot, 'binding.gyp'), path.join(dir, 'binding.gyp'))
  symlink(path.join(srcRoot, 'src'), path.join(dir, 'src'))
  const gyp = findNodeGyp()
  const jobs = String(Math.max(1, os.availableParallelism?.() ?? os.cpus().length))
  const steps = [
    ['configure', '--debug', ...nodeDirArgs(), '--', ...defines.map((d) => '-D' + d)],
    ['build', '--debug', '-j', jobs]
  ]
  for (const args of steps) {
    const r = spawnSync(process.execPath, [gyp, ...args], { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' })
    if (r.status !== 0) {
      process.stderr.write(r.stdout + r.stderr)
      throw new Error(`node-gyp ${args[0]} failed in ${dir} (exit ${r.status})`)
    }
  }
  const file = path.join(dir, 'build', 'Debug', 'uvsql.node')
  if (!fs.existsSync(file)) throw new Error(`${file} was not produced`)
  return file
}

// ------------------------------------------------------------------ runtime

/** gcc's ASan and UBSan runtimes, matching the compiler node-gyp used (never mix with clang's). */
function sanitizerRuntimes (nodeFile) {
  // The addon records which runtime it wants; preload exactly those (libasan first).
  const ldd = execFileSync('ldd', [nodeFile], { encoding: 'utf8' })
  const want = (re) => { const m = ldd.match(re); return m ? m[1] : null }
  const asan = want(/^\s*libasan\.so[.\d]*\s+=>\s+(\S+)/m)
  const ubsan = want(/^\s*libubsan\.so[.\d]*\s+=>\s+(\S+)/m)
  if (!asan) {
    throw new Error(`${nodeFile} does not link a shared libasan (clang builds need -shared-libasan; ` +
      'this script expects gcc, which node-gyp uses here)\n' + ldd)
  }
  return [asan, ubsan].filter(Boolean)
}

function sanitizerEnv (nodeFile, reportDir) {
  const keepGoing = process.env.UVSQL_ASAN_KEEP_GOING === '1'
  const asan = [
    'detect_leaks=0', // node and V8 keep allocations until exit by design; LSan would drown our leaks
    `abort_on_error=${keepGoing ? 0 : 1}`, // a report kills the process: the test file fails
    `halt_on_error=${keepGoing ? 0 : 1}`,
    'detect_stack_use_after_return=1', // fake stacks for our frames: returned stack addresses
    'allow_user_segv_handler=1', // V8 installs its own SIGSEGV handler (wasm trap handling)
    'disable_coredump=1',
    'symbolize=1',
    `log_path=${path.join(reportDir, 'asan')}`
  ]
  const ubsan = [
    `halt_on_error=${keepGoing ? 0 : 1}`,
    `abort_on_error=${keepGoing ? 0 : 1}`,
    'print_stacktrace=1',
    'report_error_type=1',
    `log_path=${path.join(reportDir, 'ubsan')}`
  ]
  const env = {
    UVSQL_BINDING: nodeFile,
    LD_PRELOAD: [...sanitizerRuntimes(nodeFile), process.env.LD_PRELOAD].filter(Boolean).join(' '),
    ASAN_OPTIONS: [process.env.ASAN_OPTIONS, ...asan].filter(Boolean).join(':'),
    UBSAN_OPTIONS: [process.env.UBSAN_OPTIONS, ...ubsan].filter(Boolean).join(':'),
    NODE_OPTIONS: [process.env.NODE_OPTIONS, `--require=${/\s/.test(__filename) ? JSON.stringify(__filename) : __filename}`]
      .filter(Boolean).join(' '),
    [HOOK_FLAG]: '1'
  }
  // Originals, restored for non-node children by the hook below.
  env[ORIG_VAR] = JSON.stringify(Object.fromEntries(SANITIZER_VARS.map((k) => [k, process.env[k] ?? null])))
  return env
}

// ------------------------------------------------------------------ --require hook: preload only node

function isNode (file) {
  if (!file) return false
  if (file === process.execPath) return true
  const base = path.basename(String(file))
  if (base !== 'node' && base !== 'nodejs') return false
  try { return fs.realpathSync(file) === fs.realpathSync(process.execPath) } catch { return true }
}

let origEnv = null
function cleanEnv (env) {
  if (origEnv === null) {
    try { origEnv = JSON.parse(process.env[ORIG_VAR] || '{}') } catch { origEnv = {} }
  }
  const out = { ...env }
  for (const [k, v] of Object.entries(origEnv)) {
    if (v === null) delete out[k]
    else out[k] = v
  }
  delete out[HOOK_FLAG]
  delete out[ORIG_VAR]
  return out
}

// child_process signatures: (file, args?, options?, cb?) / (command, options?, cb?).
function withEnv (file, rest, shell) {
  const a = [...rest]
  let i = a.findIndex((x) => x !== null && typeof x === 'object' && !Array.isArray(x))
  const argsGiven = Array.isArray(a[0])
  if (i === -1) {
    const at = argsGiven ? 1 : 0
    a.splice(at, 0, {})
    i = at
  }
  const opts = a[i]
  const viaShell = shell || opts.shell
  if (viaShell || !isNode(file)) a[i] = { ...opts, env: cleanEnv(opts.env || process.env) }
  return a
}

function installChildEnvHook () {
  const cp = require('node:child_process')
  const wrap = (name, shell) => {
    const orig = cp[name]
    if (typeof orig !== 'function' || orig.__uvsqlAsan) return
    const fn = function (file, ...rest) { return orig.call(this, file, ...withEnv(file, rest, shell)) }
    fn.__uvsqlAsan = true
    cp[name] = fn
  }
  for (const n of ['spawn', 'spawnSync', 'execFile', 'execFileSync']) wrap(n, false)
  for (const n of ['exec', 'execSync']) wrap(n, true)
  // fork() always starts node: it keeps the preload as is.
  require('node:module').syncBuiltinESMExports() // `import { spawn } from 'node:child_process'` too
}

// ------------------------------------------------------------------ main

function reports (dir) {
  let files = []
  try { files = fs.readdirSync(dir).filter((f) => /^(asan|ubsan)\.\d+/.test(f)).sort() } catch {}
  return files.map((f) => ({ file: path.join(dir, f), text: fs.readFileSync(path.join(dir, f), 'utf8') }))
    .filter((r) => r.text.trim() !== '')
}

// Sanitizer output as it appears on stderr (or in the spec reporter's copy of a test's stderr).
// gcc's UBSan ignores log_path when ASan is loaded too, so its reports are only seen here.
const REPORT_LINE = /==\d+==ERROR: (AddressSanitizer|LeakSanitizer)|AddressSanitizer:DEADLYSIGNAL|\.[ch]:\d+(:\d+)?: runtime error: |^SUMMARY: (AddressSanitizer|UndefinedBehaviorSanitizer)/

function scan (from, to, hits) {
  let carry = ''
  from.on('data', (chunk) => {
    to.write(chunk)
    const lines = (carry + chunk.toString('utf8')).split('\n')
    carry = lines.pop()
    for (const l of lines) if (REPORT_LINE.test(l)) hits.push(l.trim())
  })
  from.on('end', () => { if (carry && REPORT_LINE.test(carry)) hits.push(carry.trim()) })
}

/** The TAP summary (`# fail N`, `# cancelled N`); null when the runner never wrote one. */
function tapSummary (file) {
  let text
  try { text = fs.readFileSync(file, 'utf8') } catch { return null }
  const num = (k) => { const m = text.match(new RegExp(`^# ${k} (\\d+)$`, 'm')); return m ? Number(m[1]) : null }
  const fail = num('fail')
  return fail === null ? null : { tests: num('tests'), fail, cancelled: num('cancelled') || 0 }
}

function main () {
  const t0 = Date.now()
  let nodeFile
  try {
    say(`building the ASan + UBSan addon (Debug, -O1 -g)${process.env.UVSQL_SANITIZE_SRC ? ' from ' + process.env.UVSQL_SANITIZE_SRC : ''}`)
    nodeFile = stageBuild({ name: 'asan', defines: ['uvsql_sanitize=1'] })
  } catch (err) {
    say(err.message)
    return 1
  }
  const stageDir = path.dirname(path.dirname(path.dirname(nodeFile)))
  const reportDir = path.join(stageDir, 'reports')
  fs.rmSync(reportDir, { recursive: true, force: true })
  fs.mkdirSync(reportDir, { recursive: true })
  const env = { ...process.env, ...sanitizerEnv(nodeFile, reportDir) }
  // Both I/O drivers under Node; not Bun: the sanitized .node needs libasan preloaded, and the
  // preload is kept to node processes. The TAP copy below holds the last pass's results; the
  // exit status covers both.
  if (!env.UVSQL_TEST_RUNTIMES) env.UVSQL_TEST_RUNTIMES = 'node,node-js'
  if (process.stdout.isTTY && !('NO_COLOR' in env) && !('FORCE_COLOR' in env)) env.FORCE_COLOR = '1'
  say(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${path.relative(process.cwd(), nodeFile)}`)
  say(`LD_PRELOAD=${env.LD_PRELOAD}`)

  // Our own verdict on the tests (a TAP copy next to the usual spec output), so the result
  // does not rest on test/run.js's exit code alone.
  const userArgs = process.argv.slice(2)
  const tapFile = path.join(stageDir, 'results.tap')
  fs.rmSync(tapFile, { force: true })
  const ownReporter = !userArgs.some((a) => a === '--test-reporter' || a.startsWith('--test-reporter='))
  const reporterArgs = ownReporter
    ? ['--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tapFile}`]
    : []

  const child = spawn(process.execPath, [path.join(ROOT, 'test', 'run.js'), ...reporterArgs, ...userArgs], {
    cwd: ROOT, stdio: ['inherit', 'pipe', 'pipe'], env
  })
  const hits = []
  scan(child.stdout, process.stdout, hits)
  scan(child.stderr, process.stderr, hits)
  const forward = (sig) => { try { child.kill(sig) } catch {} }
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => forward(sig))
  child.on('close', (code, signal) => {
    const found = reports(reportDir)
    for (const r of found) {
      process.stderr.write(`\n[uvsql-asan] ==== ${path.relative(process.cwd(), r.file)} ====\n${r.text}`)
    }
    const secs = ((Date.now() - t0) / 1000).toFixed(1)
    let rc = code ?? 128 + (os.constants.signals[signal] || 1)
    const problems = []
    if (found.length) problems.push(`${found.length} ASan report file(s) (printed above, kept in ${path.relative(process.cwd(), reportDir)}/)`)
    if (hits.length) problems.push(`${hits.length} sanitizer line(s) in the output, first: ${hits[0]}`)
    if (ownReporter) {
      const sum = tapSummary(tapFile)
      if (!sum) problems.push('the test runner wrote no summary')
      else if (sum.fail || sum.cancelled) problems.push(`${sum.fail} failed, ${sum.cancelled} cancelled of ${sum.tests} tests`)
    }
    if (problems.length && rc === 0) rc = 1
    for (const p of problems) say(p)
    say(`${rc === 0 ? 'passed' : 'FAILED'} (exit ${rc}) in ${secs} s`)
    process.exit(rc)
  })
  return null
}

module.exports = { stageBuild, installChildEnvHook, sanitizerEnv }

if (require.main === module) {
  const rc = main()
  if (rc != null) process.exitCode = rc
} else if (process.env[HOOK_FLAG] === '1') {
  installChildEnvHook()
}
