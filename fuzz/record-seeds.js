#!/usr/bin/env node
// Records real sessions as fuzz seeds: uvsql runs the same queries as the pg_engine and my_engine
// harnesses against the real PostgreSQL 15 and MariaDB 10.11 (started like the tests do, unless
// UVSQL_TEST_* is set), through a proxy that keeps every byte the server sent. The server bytes,
// behind the harness's header, become fuzz/corpus/<target>/recorded-*.bin. The harness client
// answers with its own password and nonce; the recorded server replies are accepted anyway
// (trust/MD5/cleartext/mysql_native_password servers are not verified by a client), so the
// replay walks the whole real session.
//
//   node fuzz/record-seeds.js        # then: FUZZ_TRACE=1 .tmp/fuzz/fuzz_my_engine <seed>
'use strict'

const fs = require('node:fs')
const net = require('node:net')
const path = require('node:path')

const CORPUS = path.join(__dirname, 'corpus')

async function recordingProxy(port) {
  const sessions = []
  const server = net.createServer((client) => {
    const chunks = []
    sessions.push(chunks)
    const up = net.connect({ host: '127.0.0.1', port })
    up.on('data', (d) => { chunks.push(d); client.write(d) })
    client.on('data', (d) => up.write(d))
    for (const s of [client, up]) { s.on('error', () => {}); s.on('close', () => { client.destroy(); up.destroy() }) }
  })
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { port: server.address().port, first: () => Buffer.concat(sessions[0] || []), close: () => new Promise((resolve) => server.close(resolve)) }
}

async function record(url, run) {
  const { SQL } = require('..')
  const u = new URL(url)
  const proxy = await recordingProxy(Number(u.port))
  u.host = `127.0.0.1:${proxy.port}`
  const sql = new SQL(u.toString(), { max: 1 })
  try {
    await run(sql)
  } finally {
    await sql.close()
  }
  await new Promise((resolve) => setTimeout(resolve, 50))
  await proxy.close()
  return proxy.first()
}

function write(target, name, header, bytes) {
  const file = path.join(CORPUS, target, `recorded-${name}.bin`)
  fs.writeFileSync(file, Buffer.concat([Buffer.from(header), bytes]))
  console.log(`${path.relative(process.cwd(), file)}: ${bytes.length} server bytes`)
}

async function main() {
  let servers = null
  if (!process.env.UVSQL_TEST_PG_URL || !process.env.UVSQL_TEST_MYSQL_URL) {
    servers = await require('../test/helpers/servers.js').startServers()
    Object.assign(process.env, servers.env)
  }
  const env = require('../test/helpers/env.js')
  try {
    // pg_engine: Q0 extended (1, NULL), Q1 simple "select 1; select 2", Q2 = Q0 (cache on: bit 2).
    const pgRun = (sql) => Promise.all([
      sql`select ${1}::int4 as a, ${null}::text as b`, sql.unsafe('select 1; select 2'), sql`select ${1}::int4 as a, ${null}::text as b`,
    ])
    const PG_HEADER = [4, 0, 0, 0, 0xff, 0, 0xff, 0xff]
    for (const [name, url] of [['trust', env.pg.trust], ['md5', env.pg.md5], ['cleartext', env.pg.cleartext]]) {
      write('pg_engine', `pg15-${name}`, PG_HEADER, await record(url, pgRun))
    }
    // Chunked replays of the trust session: 1 byte and up to 7 bytes per feed.
    const trust = await record(env.pg.trust, pgRun)
    write('pg_engine', 'pg15-trust-bytewise', [4, 1, 0, 0, 0xff, 0, 0xff, 0xff], trust)
    write('pg_engine', 'pg15-trust-chunks', [4, 7, 0x12, 0x34, 0xff, 0, 0xff, 0xff], trust)
    // my_engine: Q0 prepared "select ?", Q1 text "select 1; select 2", Q2 prepared again (a cache
    // hit: flags bit 2), Q3 ping (never answered here: the end of input fails it).
    const myRun = (sql) => Promise.all([sql`select ${42} as x`, sql.unsafe('select 1; select 2'), sql`select ${42} as x`])
    write('my_engine', 'mariadb-native', [4, 0, 0xff], await record(env.mysql.url, myRun))
    write('my_engine', 'mariadb-nopass', [4 | 0x40, 0, 0xff], await record(env.mysql.nopass, myRun))
    write('my_engine', 'mariadb-ed25519', [4, 0, 0xff], await record(env.mysql.ed25519, myRun))
    const rows = await record(env.mysql.url, (sql) => sql`select ${42} as x`.then(() => sql.unsafe(
      "select 1 as i, -2.5e300 as d, 'héllo' as s, null as n, cast('2024-02-29 23:59:59.5' as datetime(1)) as dt, cast('-838:59:59' as time) as t, x'00ff' as b")))
    write('my_engine', 'mariadb-types-text', [4, 0, 0xff], rows)
  } finally {
    if (servers) await Promise.race([servers.stop().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 5000))])
  }
}

main().catch((err) => { console.error(err); process.exitCode = 1 })
