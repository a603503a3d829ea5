'use strict'
// The package as users get it (issue 10). `npm pack` once (its prepack makes the prebuilt
// binary), then fresh projects in a temp dir install the tarball offline:
//   - npm's default settings: CommonJS, ESM and a strict TypeScript check against the real server
//   - install scripts blocked (--ignore-scripts: what npm does for a denied package, Bun for an
//     untrusted one): the prebuild still loads; without it, require() throws ERR_UVSQL_NO_BINARY
//   - install scripts allowed: our install script sees the prebuild load and builds nothing
//   - the source fallback: no prebuild, `npm rebuild uvsql` compiles the shipped src/
//   - Bun: `bun add <tarball>`, then the same ESM and CommonJS files under bun
// Nothing here needs the network: the tarball has no dependencies.

const { test, before, after } = require('node:test')
const assert = require('node:assert')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { pg } = require('../helpers/env.js')
const { ROOT, bun, bunSkip, userEnv, run, ok } = require('../helpers/package.js')

const PLATFORM = `${process.platform}-${process.arch}`
const PREBUILD = `prebuilds/${PLATFORM}/uvsql.node`
const TSC = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

let work = null // temp dir: the tarball and one folder per consumer project
let pack = null // npm pack --json: { filename, size, unpackedSize, files: [{ path, size }] }
let tarball = null

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'uvsql-consumer-'))
  const r = ok(run('npm', ['pack', '--json', '--pack-destination', work], { timeout: 300000 }), 'npm pack')
  pack = JSON.parse(r.stdout)[0]
  tarball = path.join(work, pack.filename)
  assert.ok(fs.existsSync(tarball), `npm pack wrote no ${tarball}`)
})

after(() => {
  if (work) fs.rmSync(work, { recursive: true, force: true })
})

// ------------------------------------------------------------------ consumer files

const CJS = `
const { SQL } = require('uvsql')
const sql = new SQL(process.env.DATABASE_URL, { max: 2 })
sql\`select \${41}::int + 1 as answer, \${'cjs'} as via\`.then(
  async ([row]) => { console.log(JSON.stringify(row)); await sql.close() },
  async (err) => { console.error(err.code, err.message); process.exitCode = 1; await sql.close() })
`

// Written as a Bun.SQL user writes it, with the import changed: the default \`sql\` reads DATABASE_URL.
const ESM = `
import { sql, SQL } from 'uvsql'
import DefaultExport from 'uvsql'
const [row] = await sql\`select \${41}::int + 1 as answer, \${'esm'} as via\`
console.log(JSON.stringify({ ...row, defaultIsSQL: DefaultExport === SQL }))
await sql.close()
`

const TS_OK = `
import { SQL, sql, PostgresError } from 'uvsql'

interface User { id: number; name: string }

const db = new SQL(process.env.DATABASE_URL ?? 'postgres://localhost/app', { max: 2, idleTimeout: 30 })

export async function main(): Promise<void> {
  const users = await db<User>\`select \${1}::int as id, \${'ada'} as name\`
  const name: string = users[0].name
  const count: number | null = users.count
  await db.begin(async (tx) => { await tx\`insert into t \${tx({ name })}\` })
  try {
    await sql\`select 1\`
  } catch (err) {
    if (err instanceof PostgresError) console.log(err.errno)
  }
  console.log(name, count, db.stats().total)
  await db.close({ timeout: 1 })
}
`

// The negative twin: proves the types are really resolved (a missing index.d.ts would make
// everything \`any\` under a loose config, or fail differently under --strict).
const TS_BAD = `
import { SQL } from 'uvsql'
export async function bad(): Promise<void> {
  const db = new SQL({ max: 'ten' })
  const rows = await db<{ id: number }>\`select 1 as id\`
  const id: string = rows[0].id
  console.log(id)
}
`

function project(name, files = {}) {
  const dir = path.join(work, name)
  fs.mkdirSync(dir)
  fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: `consumer-${name}`, version: '1.0.0', private: true }, null, 2))
  for (const [file, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, file), text)
  return dir
}

const dbEnv = () => userEnv({ DATABASE_URL: pg.url })

function npmInstall(dir, flags = []) {
  return ok(run('npm', ['install', '--offline', '--no-audit', '--no-fund', ...flags, tarball], { cwd: dir, timeout: 120000 }),
    `npm install ${flags.join(' ')} <tarball>`)
}

function assertInstalledPrebuildOnly(dir) {
  const pkg = path.join(dir, 'node_modules', 'uvsql')
  assert.ok(fs.existsSync(path.join(pkg, PREBUILD)), `${PREBUILD} is not in the installed package`)
  assert.ok(!fs.existsSync(path.join(pkg, 'build')), 'the install compiled the addon (node_modules/uvsql/build exists)')
}

function assertAnswer(r, via, what) {
  ok(r, what)
  const row = JSON.parse(r.stdout.trim().split('\n').pop())
  assert.strictEqual(row.answer, 42, what)
  assert.strictEqual(row.via, via, what)
  return row
}

// ------------------------------------------------------------------ tests

test('the tarball holds lib/, the prebuild, index.d.ts, binding.gyp + src/, README and LICENSE only', (t) => {
  const paths = pack.files.map((f) => f.path)
  const allowed = /^(LICENSE|README\.md|package\.json|binding\.gyp|index\.d\.ts|scripts\/build\.js|prebuilds\/[\w-]+\/uvsql\.node|lib\/[\w-]+\.m?js|src\/\w+\/\w+\.[ch])$/
  assert.deepStrictEqual(paths.filter((p) => !allowed.test(p)), [], 'files that a user does not need')
  for (const p of ['LICENSE', 'README.md', 'index.d.ts', 'binding.gyp', 'scripts/build.js', PREBUILD]) {
    assert.ok(paths.includes(p), `${p} is missing from the tarball`)
  }
  // The source fallback: every file binding.gyp compiles, and every header beside it.
  const gyp = fs.readFileSync(path.join(ROOT, 'binding.gyp'), 'utf8')
  const sources = [...gyp.matchAll(/"(src\/[\w/]+\.c)"/g)].map((m) => m[1])
  assert.ok(sources.length > 10, 'no sources found in binding.gyp')
  const walk = (dir) => fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true })
    .flatMap((e) => e.isDirectory() ? walk(`${dir}/${e.name}`) : [`${dir}/${e.name}`])
  for (const p of [...sources, ...walk('src').filter((f) => f.endsWith('.h')), ...walk('lib')]) {
    assert.ok(paths.includes(p), `${p} is missing from the tarball`)
  }
  const manifest = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'))
  assert.deepStrictEqual(Object.keys(manifest.dependencies || {}), [], 'uvsql must have no runtime dependencies')

  const mb = (n) => (n / 1e6).toFixed(2) + ' MB'
  t.diagnostic(`${pack.filename}: ${mb(pack.size)} packed, ${mb(pack.unpackedSize)} unpacked, ${paths.length} files`)
  assert.ok(pack.size < 3e6, `the tarball grew to ${mb(pack.size)} (a debug or unstripped binary, or stray files?)`)
  // README states the size (from `npm pack --dry-run`); keep it within 10 % of the truth.
  const readme = fs.readFileSync(path.join(ROOT, 'README.md'), 'utf8')
  const stated = /package size: ([\d.]+) MB/.exec(readme)
  assert.ok(stated, 'README.md does not state the package size ("package size: N MB")')
  const ratio = Number(stated[1]) * 1e6 / pack.size
  assert.ok(ratio > 0.9 && ratio < 1.1, `README.md says ${stated[1]} MB; npm pack says ${mb(pack.size)}: update README.md`)
})

test('npm install with default settings, offline: CommonJS, ESM and tsc --strict', (t) => {
  const dir = project('npm-default', { 'query.cjs': CJS, 'query.mjs': ESM, 'app.ts': TS_OK, 'bad.ts': TS_BAD })
  const inst = npmInstall(dir)
  t.diagnostic(`npm install: ${inst.ms} ms` +
    (/not yet covered by allowScripts/.test(inst.stderr) ? ' (npm warned: uvsql\'s install script is not covered by allowScripts)' : ''))
  assertInstalledPrebuildOnly(dir)

  assertAnswer(run(process.execPath, ['query.cjs'], { cwd: dir, env: dbEnv() }), 'cjs', 'CommonJS query')
  const esm = assertAnswer(run(process.execPath, ['query.mjs'], { cwd: dir, env: dbEnv() }), 'esm', 'ESM query')
  assert.strictEqual(esm.defaultIsSQL, true, 'the default export is SQL')

  // TypeScript: @types/node as a TS user has it (index.d.ts references it); the project's tsc.
  fs.mkdirSync(path.join(dir, 'node_modules', '@types'))
  fs.symlinkSync(path.join(ROOT, 'node_modules', '@types', 'node'), path.join(dir, 'node_modules', '@types', 'node'), 'dir')
  const tsc = run(process.execPath, [TSC, '--noEmit', '--strict', '--target', 'es2022', '--module', 'nodenext',
    '--moduleResolution', 'nodenext', '--types', 'node', 'app.ts', 'bad.ts'], { cwd: dir, timeout: 120000 })
  const errors = tsc.stdout.split('\n').filter((l) => /error TS\d+/.test(l))
  assert.deepStrictEqual(errors.filter((l) => !l.startsWith('bad.ts(')), [], 'app.ts must type-check:\n' + tsc.stdout + tsc.stderr)
  assert.deepStrictEqual(errors.map((l) => /^bad\.ts\((\d+),\d+\): error (TS\d+)/.exec(l)?.slice(1).join(' ')),
    ['4 TS2769', '6 TS2322'], 'bad.ts: max must be a number (no overload matches) and rows[0].id is a number:\n' + tsc.stdout)
})

test('install scripts blocked: the prebuild loads; without a usable binary require() throws ERR_UVSQL_NO_BINARY', () => {
  const probe = `
const out = {}
const show = (e) => ({ code: e.code, message: e.message })
try { require('uvsql'); out.cjs = 'loaded' } catch (e) { out.cjs = show(e) }
import('uvsql').then(() => { out.esm = 'loaded' }, (e) => { out.esm = show(e) }).then(() => console.log(JSON.stringify(out)))
`
  const dir = project('npm-blocked', { 'query.cjs': CJS, 'probe.cjs': probe })
  npmInstall(dir, ['--ignore-scripts'])
  assertInstalledPrebuildOnly(dir)
  assertAnswer(run(process.execPath, ['query.cjs'], { cwd: dir, env: dbEnv() }), 'cjs', 'CommonJS query')

  const pkg = path.join(dir, 'node_modules', 'uvsql')
  const prebuild = path.join(pkg, PREBUILD)
  const expectNoBinary = (what, reason) => {
    const r = ok(run(process.execPath, ['probe.cjs'], { cwd: dir }), `probe (${what})`)
    const out = JSON.parse(r.stdout)
    for (const via of ['cjs', 'esm']) {
      const e = out[via]
      assert.strictEqual(e.code, 'ERR_UVSQL_NO_BINARY', `${what}, ${via}: ${JSON.stringify(e)}`)
      assert.match(e.message, new RegExp(`^uvsql: no native binary for ${PLATFORM} could be loaded`), `${what}, ${via}`)
      assert.ok(e.message.includes(prebuild + ' (' + reason), `${what}, ${via}: the prebuild's path and why it failed:\n${e.message}`)
      assert.match(e.message, /npm rebuild uvsql/, `${what}, ${via}: how to build from source`)
      assert.match(e.message, /bun pm trust uvsql/, `${what}, ${via}: the same under Bun`)
    }
  }
  fs.renameSync(path.join(pkg, 'prebuilds'), path.join(pkg, 'prebuilds.off'))
  expectNoBinary('no prebuild, no build', 'missing')
  fs.mkdirSync(path.dirname(prebuild), { recursive: true })
  fs.writeFileSync(prebuild, 'not an ELF file\n')
  expectNoBinary('a prebuild that does not load', '') // the loader's reason (e.g. "invalid ELF header")
})

test('source fallback: with no prebuild, `npm rebuild uvsql` builds from the shipped binding.gyp and src/', (t) => {
  const dir = project('npm-source', { 'query.cjs': CJS })
  npmInstall(dir, ['--ignore-scripts'])
  const pkg = path.join(dir, 'node_modules', 'uvsql')
  fs.rmSync(path.join(pkg, 'prebuilds'), { recursive: true })
  const r = ok(run('npm', ['rebuild', 'uvsql', '--foreground-scripts'], { cwd: dir, timeout: 300000 }), 'npm rebuild uvsql')
  t.diagnostic(`npm rebuild uvsql (a full compile): ${r.ms} ms`)
  assert.ok(fs.existsSync(path.join(pkg, 'build', 'Release', 'uvsql.node')), 'npm rebuild made no build/Release/uvsql.node:\n' + r.stdout + r.stderr)
  assertAnswer(run(process.execPath, ['query.cjs'], { cwd: dir, env: dbEnv() }), 'cjs', 'CommonJS query')
})

test('install scripts allowed: the install script finds the prebuild and builds nothing', () => {
  const dir = project('npm-allowed', { 'query.cjs': CJS })
  const inst = npmInstall(dir, ['--dangerously-allow-all-scripts', '--foreground-scripts'])
  assert.match(inst.stdout + inst.stderr, new RegExp(`uvsql: using the prebuilt binary for ${PLATFORM}`),
    'the install script did not run or did not find the prebuild:\n' + inst.stdout + inst.stderr)
  assertInstalledPrebuildOnly(dir)
  assertAnswer(run(process.execPath, ['query.cjs'], { cwd: dir, env: dbEnv() }), 'cjs', 'CommonJS query')
})

test('Bun: bun add <tarball>, then ESM and CommonJS queries under bun', { skip: bunSkip }, (t) => {
  const dir = project('bun', { 'query.cjs': CJS, 'query.mjs': ESM })
  fs.copyFileSync(tarball, path.join(dir, pack.filename))
  const add = ok(run(bun, ['add', './' + pack.filename], { cwd: dir, timeout: 120000 }), 'bun add <tarball>')
  t.diagnostic(`bun add: ${add.ms} ms`)
  assertInstalledPrebuildOnly(dir)
  assertAnswer(run(bun, ['query.mjs'], { cwd: dir, env: dbEnv() }), 'esm', 'ESM query under bun')
  assertAnswer(run(bun, ['query.cjs'], { cwd: dir, env: dbEnv() }), 'cjs', 'CommonJS query under bun')
})
