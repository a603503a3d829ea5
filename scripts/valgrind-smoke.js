#!/usr/bin/env node
// A small smoke run of the addon under Valgrind memcheck (`npm run test:valgrind`):
//
//   node scripts/valgrind-smoke.js            # build, start the test servers, run the workload
//   node scripts/valgrind-smoke.js --workload # the workload alone (needs UVSQL_TEST_* in the env)
//
// 1. Builds the addon without sanitizers, Debug configuration (-O0 -g: at -O1 gcc drops the
//    dead loads/stores Valgrind would flag), in .tmp/valgrind/ (scripts/test-asan.js stageBuild).
// 2. Starts the throwaway PostgreSQL/MariaDB (test/helpers/servers.js startServers()).
// 3. Runs this file with --workload under
//      valgrind --tool=memcheck --error-exitcode=9 --leak-check=no --errors-for-leak-kinds=none
//               --track-origins=yes --trace-children=no --num-callers=30
//               --xml=yes --xml-file=.tmp/valgrind/memcheck.xml
//    with UVSQL_BINDING=<that .node>: each PostgreSQL auth method (trust, md5, SCRAM, cleartext),
//    SCRAM over TLS, bound parameters, a server error, a pipelined error, a large result, close;
//    then MySQL/MariaDB: each auth plugin of the test server, TLS, binary and text rows of every
//    type C decodes, errors, a pipelined error, 5000 rows, a transaction, the pool.
// 4. Verdict: node and V8 raise a few memcheck errors of their own (JIT code, GC scanning), so
//    an error fails the run only when one of its stack frames is in uvsql.node. All other errors
//    are counted and summarised, never fatal. A workload failure (non-zero exit) fails the run.
//
// See docs/SANITIZERS.md.
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')

const ROOT = path.join(__dirname, '..')
const say = (msg) => process.stderr.write(`[uvsql-valgrind] ${msg}\n`)

// ------------------------------------------------------------------ the workload (under valgrind)

async function workload () {
  const assert = require('node:assert')
  const { SQL } = require('..')
  const env = (k) => { const v = process.env[k]; assert.ok(v, `${k} is not set`); return v }
  const t0 = Date.now()
  const step = (msg) => process.stderr.write(`[workload +${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`)

  async function using (url, opts, fn) {
    const sql = new SQL(url, opts)
    try { return await fn(sql) } finally { await sql.close() }
  }

  // Each auth method, with a bound parameter.
  for (const [method, role] of [['TRUST', 'uvsql_trust'], ['MD5', 'uvsql_md5'], ['SCRAM', 'uvsql_scram'], ['CLEARTEXT', 'uvsql_clear']]) {
    const [row] = await using(env(`UVSQL_TEST_PG_URL_${method}`), {}, (sql) => sql`select current_user as u, ${'p'}::text as p`)
    assert.deepStrictEqual({ ...row }, { u: role, p: 'p' })
    step(`${method.toLowerCase()} ok`)
  }
  // A wrong password (server error during startup).
  const bad = new URL(env('UVSQL_TEST_PG_URL_SCRAM'))
  bad.password = 'wrong-password'
  const authErr = await using(bad.toString(), {}, (sql) => sql`select 1`).then(() => null, (e) => e)
  assert.ok(authErr && authErr.errno === '28P01', `wrong password: ${authErr}`)
  step('wrong password rejected')

  // SCRAM over TLS (OpenSSL inside the addon, channel binding when offered).
  const [tls] = await using(env('UVSQL_TEST_PG_URL_SCRAM') + '?sslmode=require', {},
    (sql) => sql`select ssl from pg_stat_ssl where pid = pg_backend_pid()`)
  assert.strictEqual(tls.ssl, true)
  step('tls ok')

  await using(env('UVSQL_TEST_PG_URL'), { max: 3 }, async (sql) => {
    // Types and parameters.
    const [r] = await sql`select ${"'; --"}::text as s, ${2147483647}::int as i, ${null}::text as n,
      ${1.5}::float8 as f, ${true}::bool as b, '\\x00ff'::bytea as bin, array[1,null,3]::int[] as arr,
      '{"a":[1,2]}'::json as j, 9007199254740993::int8 as big`
    assert.strictEqual(r.s, "'; --")
    assert.strictEqual(r.i, 2147483647)
    step('parameters ok')
    // A server error, then a pipelined error between two good queries.
    const e1 = await sql`select * from no_such_table_vg`.then(() => null, (e) => e)
    assert.strictEqual(e1 && e1.errno, '42P01')
    const settled = await Promise.allSettled([sql`select 1 as a`, sql`select 1/0 as boom`, sql`select 3 as c`])
    assert.deepStrictEqual(settled.map((s) => s.status), ['fulfilled', 'rejected', 'fulfilled'])
    step('errors ok')
    // A large-ish result (several read batches).
    const rows = await sql`select g as id, repeat('x', g % 200) as pad, g % 2 = 0 as even
      from generate_series(1, 20000) g`
    assert.strictEqual(rows.length, 20000)
    assert.strictEqual(rows[19999].pad.length, 20000 % 200)
    step('20000 rows ok')
    // Simple protocol, several statements.
    const multi = await sql.unsafe('select 1 as a; select 2 as b')
    assert.ok(multi)
    // Concurrency over the pool.
    const many = await Promise.all(Array.from({ length: 30 }, (_, i) => sql`select ${i}::int as i`))
    assert.deepStrictEqual(many.map((x) => x[0].i), Array.from({ length: 30 }, (_, i) => i))
    step('pool ok')
  })

  // MySQL / MariaDB (issue 9): each auth plugin the test server has, TLS, prepared and text
  // queries with every column type C decodes (binary and text rows), errors, a big result.
  for (const key of ['UVSQL_TEST_MYSQL_URL', 'UVSQL_TEST_MYSQL_URL_NOPASS', 'UVSQL_TEST_MYSQL_URL_ED25519']) {
    const [row] = await using(env(key), {}, (sql) => sql`select ${'p'} as p, current_user() as u`)
    assert.strictEqual(row.p, 'p')
    step(`mysql ${key.replace('UVSQL_TEST_MYSQL_URL', '').replace('_', '').toLowerCase() || 'password'} ok`)
  }
  const [mtls] = await using(env('UVSQL_TEST_MYSQL_URL_TLS').replace('mysql://', 'mysqls://'), {}, (sql) => sql`show status like 'Ssl_version'`)
  assert.ok(mtls && /TLS/.test(mtls.Value), `mysql tls: ${JSON.stringify(mtls)}`)
  step('mysql tls ok')
  await using(env('UVSQL_TEST_MYSQL_URL'), { max: 3 }, async (sql) => {
    const [r] = await sql`select ${"'; --"} as s, ${2147483647} as i, ${null} as n, ${1.5} as f,
      cast(-1 as signed) as neg, cast(18446744073709551615 as unsigned) as ubig, cast(1.25 as float) as fl,
      cast('2024-02-29 23:59:59.123456' as datetime(6)) as dt, cast('-838:59:59' as time) as t,
      cast('2024-02-29' as date) as d, cast(12.50 as decimal(10,2)) as num, x'00ff' as bin, json_object('a', 1) as j`
    assert.strictEqual(r.s, "'; --")
    assert.strictEqual(Number(r.i), 2147483647)
    const [t] = await sql.unsafe(`select -1 as neg, 1.5e300 as dbl, 'héllo' as u, now(6) as ts, null as n`)
    assert.strictEqual(t.u, 'héllo')
    step('mysql types ok (binary and text rows)')
    const e1 = await sql`select * from no_such_table_vg`.then(() => null, (e) => e)
    assert.strictEqual(e1 && e1.errno, 1146)
    const settled = await Promise.allSettled([sql`select 1 as a`, sql`select * from no_such_table_vg`, sql`select 3 as c`])
    assert.deepStrictEqual(settled.map((s) => s.status), ['fulfilled', 'rejected', 'fulfilled'])
    step('mysql errors ok')
    const rows = await sql`select seq as id, repeat('x', seq % 200) as pad from seq_1_to_5000` // MariaDB's Sequence engine
    assert.strictEqual(rows.length, 5000)
    const tx = await sql.begin(async (q) => { await q`select 1`; return (await q`select ${7} as x`)[0].x })
    assert.strictEqual(Number(tx), 7)
    const many = await Promise.all(Array.from({ length: 30 }, (_, i) => sql`select ${i} as i`))
    assert.deepStrictEqual(many.map((x) => Number(x[0].i)), Array.from({ length: 30 }, (_, i) => i))
    step('mysql 5000 rows, transaction, pool ok')
  })
  step('done')
}

// ------------------------------------------------------------------ memcheck XML

const unxml = (s) => s.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&')
const tag = (xml, name) => { const m = xml.match(new RegExp(`<${name}>([\\s\\S]*?)</${name}>`)); return m ? unxml(m[1].trim()) : '' }

/** Errors from a memcheck XML file: { kind, what, frames, aux: { what, frames } | null }. */
function parseErrors (xml) {
  const frameList = (stack) => [...stack.matchAll(/<frame>([\s\S]*?)<\/frame>/g)].map((f) => ({
    obj: tag(f[1], 'obj'), fn: tag(f[1], 'fn'), file: tag(f[1], 'file'), line: tag(f[1], 'line')
  }))
  const out = []
  for (const m of xml.matchAll(/<error>([\s\S]*?)<\/error>/g)) {
    const body = m[1]
    const stacks = [...body.matchAll(/<stack>([\s\S]*?)<\/stack>/g)].map((x) => frameList(x[1]))
    const what = tag(body, 'what') || tag(tag(body, 'xwhat'), 'text') || tag(body, 'xwhat')
    const auxwhat = tag(body, 'auxwhat') || tag(tag(body, 'xauxwhat'), 'text')
    out.push({
      kind: tag(body, 'kind'),
      what,
      frames: stacks[0] || [],
      aux: stacks[1] ? { what: auxwhat, frames: stacks[1] } : null
    })
  }
  return out
}

const inAddon = (frames) => frames.some((f) => path.basename(f.obj) === 'uvsql.node')
const ours = (e) => inAddon(e.frames) || (e.aux !== null && inAddon(e.aux.frames))
const showFrame = (f) => `${f.fn || '???'} (${f.file ? `${f.file}:${f.line}` : path.basename(f.obj || '?')})`
const showStack = (frames) => frames.map((f, i) => `    #${i} ${showFrame(f)}\n`).join('')

// ------------------------------------------------------------------ main

async function main () {
  const t0 = Date.now()
  if (!spawnSync('valgrind', ['--version']).stdout) {
    say('valgrind is not installed (Debian: apt-get install valgrind)')
    return 1
  }
  const { stageBuild } = require('./test-asan.js')
  let nodeFile
  try {
    say('building the addon for valgrind (Debug, -O0 -g, no sanitizers)')
    nodeFile = stageBuild({ name: 'valgrind' })
  } catch (err) {
    say(err.message)
    return 1
  }
  say(`built in ${((Date.now() - t0) / 1000).toFixed(1)} s: ${path.relative(process.cwd(), nodeFile)}`)

  const { startServers } = require('../test/helpers/servers.js')
  let servers
  try {
    servers = await startServers()
  } catch (err) {
    say(`could not start the test servers: ${err.message}`)
    return 1
  }
  const xmlFile = path.join(path.dirname(path.dirname(path.dirname(nodeFile))), 'memcheck.xml')
  fs.rmSync(xmlFile, { force: true })
  const args = [
    '--tool=memcheck', '--error-exitcode=9', '--leak-check=no', '--errors-for-leak-kinds=none', '--track-origins=yes',
    '--trace-children=no', '--num-callers=30', '--xml=yes', `--xml-file=${xmlFile}`,
    process.execPath, __filename, '--workload'
  ]
  const env = { ...process.env, ...servers.env, UVSQL_BINDING: nodeFile }
  let rc
  try {
    say(`valgrind ${args.join(' ')}`)
    const t1 = Date.now()
    rc = await new Promise((resolve) => {
      const child = spawn('valgrind', args, { stdio: 'inherit', env, cwd: ROOT })
      const forward = (sig) => { try { child.kill(sig) } catch {} }
      for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => forward(sig))
      child.on('close', (code, signal) => resolve(code ?? 128 + 1))
    })
    say(`valgrind exited ${rc} after ${((Date.now() - t1) / 1000).toFixed(1)} s`)
  } finally {
    // servers.stop() can wait on nothing but an unref'd timer; keep the loop alive meanwhile.
    let timer
    const guard = new Promise((resolve) => { timer = setTimeout(resolve, 5000) })
    await Promise.race([servers.stop().catch(() => {}), guard])
    clearTimeout(timer)
  }

  let errors = []
  // Leak records (node's own threads at exit) are not errors here: leak checking is off.
  try { errors = parseErrors(fs.readFileSync(xmlFile, 'utf8')).filter((e) => !e.kind.startsWith('Leak_')) } catch (err) {
    say(`no memcheck XML (${err.message})`)
    return rc || 1
  }
  const mine = errors.filter(ours)
  const other = errors.length - mine.length
  for (const e of mine) {
    process.stderr.write(`\n[uvsql-valgrind] ${e.kind}: ${e.what}\n${showStack(e.frames)}` +
      (e.aux ? `  ${e.aux.what}\n${showStack(e.aux.frames)}` : ''))
  }
  if (other) {
    say(`${other} memcheck error(s) with no frame in uvsql.node (node/V8/libc; not counted), details in ${path.relative(process.cwd(), xmlFile)}:`)
    for (const e of errors.filter((x) => !ours(x))) {
      const top = e.frames.find((f) => !/vgpreload|ld-linux|libc\.so/.test(f.obj)) || e.frames[0] || {}
      say(`  ${e.kind} in ${showFrame(top)}`)
    }
  }
  let verdict = 0
  if (mine.length) { say(`${mine.length} memcheck error(s) in uvsql.node`); verdict = 1 }
  if (rc !== 0 && rc !== 9) { say(`the workload failed (exit ${rc})`); verdict = rc }
  if (rc === 9 && !mine.length && !other) { say('valgrind exited 9 with no error in its XML'); verdict = 9 }
  say(`${verdict === 0 ? 'passed' : 'FAILED'} in ${((Date.now() - t0) / 1000).toFixed(1)} s`)
  return verdict
}

if (require.main === module) {
  if (process.argv.includes('--workload')) {
    workload().then(() => { process.exitCode = 0 }, (err) => { console.error(err); process.exitCode = 1 })
  } else {
    main().then((rc) => { process.exitCode = rc }, (err) => { console.error(err); process.exitCode = 1 })
  }
}

module.exports = { parseErrors }
