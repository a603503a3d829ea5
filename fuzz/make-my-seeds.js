#!/usr/bin/env node
// Writes the MySQL seed corpus, fuzz/corpus/my_engine/ and fuzz/corpus/my_row/, from sessions
// built with the packet helpers of test/helpers/fake-mysql.js (greeting, OK, ERR, column
// definitions, text and binary rows, auth switch, caching_sha2 fast/full path, LOCAL INFILE
// request, multi-results) and the malformed cases of test/faults/mysql-fake-server.test.js
// (truncated greeting, wrong sequence id, bad row, lenenc edges). Deterministic.
//
//   node fuzz/make-my-seeds.js          # then check: FUZZ_TRACE=1 .tmp/fuzz/fuzz_my_engine <file>
//
// Layouts: the top of fuzz/fuzz_my_engine.c and fuzz/fuzz_my_row.c.
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const { lenenc, lenstr, DEFAULT_CAPS, CAPS, greetingPayload } = require('../test/helpers/fake-mysql.js')

const CORPUS = path.join(__dirname, 'corpus')
const seeds = new Map() // target -> [[name, bytes]]; written at the end (each dir replaced)
const seed = (target, name, bytes) => seeds.set(target, [...(seeds.get(target) || []), [name, bytes]])

const B = (x) => (Buffer.isBuffer(x) ? x : typeof x === 'number' ? Buffer.from([x]) : Buffer.from(x, 'latin1'))
const cat = (...parts) => Buffer.concat(parts.map(B))
const u16 = (v) => { const b = Buffer.alloc(2); b.writeUInt16LE(v); return b }
const u32 = (v) => { const b = Buffer.alloc(4); b.writeUInt32LE(v >>> 0); return b }

// Frames payloads with sequence ids starting at `seq`.
function packets (seq, ...payloads) {
  return Buffer.concat(payloads.map((p) => {
    const h = Buffer.alloc(4)
    h.writeUIntLE(p.length, 0, 3)
    h[3] = seq++ & 0xff
    return Buffer.concat([h, p])
  }))
}

const NONCE = Buffer.from('0123456789abcdefghij')
const greeting = ({ plugin, caps, version = '10.11.6-MariaDB' } = {}) => greetingPayload({ plugin, caps, version, threadId: 7, nonce: NONCE })
const ok = ({ status = 2, eof = false, info = '' } = {}) => cat(eof ? 0xfe : 0, lenenc(0), lenenc(0), u16(status), u16(0), info)
const err = (code, state, msg) => cat(0xff, u16(code), '#' + state + msg)
function colDef (name, type = 253, { flags = 0, charset = 45, decimals = 0 } = {}) {
  const tail = Buffer.alloc(13)
  tail[0] = 0x0c
  tail.writeUInt16LE(charset, 1)
  tail.writeUInt32LE(255, 3)
  tail[7] = type
  tail.writeUInt16LE(flags, 8)
  tail[10] = decimals
  return cat(lenstr('def'), lenstr('d'), lenstr('t'), lenstr('t'), lenstr(name), lenstr(name), tail)
}
const textRow = (vals) => cat(...vals.map((v) => (v === null ? B(0xfb) : lenstr(v))))
// Binary row: 0x00, NULL bitmap (offset 2), values.
function binRow (cols, vals) {
  const bitmap = Buffer.alloc((cols.length + 7 + 2) >> 3)
  const parts = []
  vals.forEach((v, i) => {
    if (v === null) bitmap[(i + 2) >> 3] |= 1 << ((i + 2) & 7)
    else parts.push(B(v))
  })
  return cat(0, bitmap, ...parts)
}
const i64 = (n) => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(n)); return b }
const f64 = (n) => { const b = Buffer.alloc(8); b.writeDoubleLE(n); return b }
const f32 = (n) => { const b = Buffer.alloc(4); b.writeFloatLE(n); return b }

// ---- my_engine sessions ---------------------------------------------------------------------
// Client: user u, password pencil, db d; queued: Q0 prepared "select ?" (1 LONGLONG), Q1 text
// "select 1; select 2", Q2 prepared "select ?" again, Q3 ping.

const startup = (opts) => cat(packets(0, greeting(opts)), packets(2, ok()), packets(1, ok())) // + SET time_zone
const prepareOk = (id, ncols, nparams) => cat(0, u32(id), u16(ncols), u16(nparams), 0, u16(0))
const prepAnswer = (id) => packets(1, prepareOk(id, 1, 1), colDef('?', 8, { charset: 63, flags: 0x80 }), colDef('?', 8, { charset: 63, flags: 0x80 }))
const execAnswer = (rows = [[i64(42)]]) => packets(1, lenenc(1), colDef('?', 8, { charset: 63, flags: 0x80 }),
  ...rows.map((r) => binRow([8], r)), ok({ eof: true }))
const textResult = (name, rows, more) => packets(1, lenenc(1), colDef(name, 8, { charset: 63 }), ...rows.map(textRow), ok({ eof: true, status: more ? 0x0a : 2 }))
const q1Answer = () => cat(textResult('1', [['1']], true), packets(textResult('1', [['1']], true).length ? 5 : 5, lenenc(1)).subarray(0, 0),
  textResultAt(5, '2', [['2']], false))
function textResultAt (seq, name, rows, more) {
  return packets(seq, lenenc(1), colDef(name, 8, { charset: 63 }), ...rows.map(textRow), ok({ eof: true, status: more ? 0x0a : 2 }))
}
const ping = () => packets(1, ok())
const header = (flags, chunk = 0, term = 0xff) => Buffer.from([flags, chunk, term])

const happy = (cache) => cat(startup(), prepAnswer(1), execAnswer(), q1Answer(), cache ? Buffer.alloc(0) : prepAnswer(2), execAnswer([[null]]), ping())
seed('my_engine', 'happy-nocache', cat(header(0), happy(false)))
seed('my_engine', 'happy-cache', cat(header(4), happy(true)))
seed('my_engine', 'happy-bytewise', cat(header(0, 1), happy(false)))
seed('my_engine', 'happy-chunk7-terminate', cat(header(0, 7, 9), happy(false)))
seed('my_engine', 'auth-error', cat(header(0), packets(0, greeting()), packets(2, err(1045, '28000', "Access denied for user 'u'"))))
seed('my_engine', 'auth-switch-native', cat(header(0), packets(0, greeting({ plugin: 'caching_sha2_password' })),
  packets(2, cat(0xfe, 'mysql_native_password\0', NONCE, 0)), packets(4, ok()), packets(1, ok()), prepAnswer(1), execAnswer(), q1Answer(), prepAnswer(2), execAnswer(), ping()))
seed('my_engine', 'auth-switch-twice', cat(header(0), packets(0, greeting()),
  packets(2, cat(0xfe, 'mysql_native_password\0', NONCE, 0)), packets(4, cat(0xfe, 'mysql_native_password\0', NONCE, 0))))
seed('my_engine', 'auth-switch-cleartext', cat(header(0x20), packets(0, greeting()), packets(2, cat(0xfe, 'mysql_clear_password\0')), packets(4, ok())))
seed('my_engine', 'sha2-fast', cat(header(0), packets(0, greeting({ plugin: 'caching_sha2_password' })), packets(2, Buffer.from([1, 3])), packets(3, ok()), packets(1, ok()), prepAnswer(1), execAnswer()))
seed('my_engine', 'sha2-full-nokey', cat(header(0), packets(0, greeting({ plugin: 'caching_sha2_password' })), packets(2, Buffer.from([1, 4]))))
seed('my_engine', 'sha2-full-retrieval', cat(header(0x10), packets(0, greeting({ plugin: 'caching_sha2_password' })), packets(2, Buffer.from([1, 4])),
  packets(4, cat(1, '-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAKj34GkxFhD90vcNLYLInFEX6Ppy1tPf\n9Cnzj4p4WGeKLs1Pt8QuKUpRKfFLfRYC9AIKjbJTWit+CqvjWYzvQwECAwEAAQ==\n-----END PUBLIC KEY-----\n'))))
seed('my_engine', 'ed25519', cat(header(0), packets(0, greeting({ plugin: 'client_ed25519' })), packets(2, ok()), packets(1, ok())))
seed('my_engine', 'tls-require-no-ssl', cat(header(2), packets(0, greeting())))
seed('my_engine', 'tls-require', cat(header(2), packets(0, greeting({ caps: DEFAULT_CAPS | CAPS.SSL })), packets(3, ok()), packets(1, ok()), prepAnswer(1), execAnswer()))
seed('my_engine', 'tls-prefer-stripped', cat(header(1), packets(0, greeting()), packets(2, ok()), packets(1, ok())))
seed('my_engine', 'greeting-truncated', cat(header(0), packets(0, greeting().subarray(0, 20))))
seed('my_engine', 'greeting-v9', cat(header(0), packets(0, cat(9, 'old\0'))))
seed('my_engine', 'greeting-error', cat(header(0), packets(0, err(1040, '08004', 'Too many connections'))))
seed('my_engine', 'wrong-seq', cat(header(0), packets(0, greeting()), packets(5, ok())))
seed('my_engine', 'local-infile', cat(header(0), startup(), prepAnswer(1), execAnswer(), packets(1, cat(0xfb, '/etc/passwd'))))
seed('my_engine', 'bad-row', cat(header(0), startup(), prepAnswer(1), packets(1, lenenc(1), colDef('?', 8, { charset: 63 }), cat(0, 0, 1, 2), ok({ eof: true }))))
seed('my_engine', 'prepare-error', cat(header(0), startup(), packets(1, err(1064, '42000', 'syntax')), packets(1, err(1064, '42000', 'syntax'))))
seed('my_engine', 'exec-error-then-more', cat(header(0), startup(), prepAnswer(1), packets(1, err(1317, '70100', 'Query execution was interrupted')), q1Answer(), ping()))
seed('my_engine', 'types-binary', cat(header(0), startup(), packets(1, prepareOk(1, 6, 1), colDef('?', 8)),
  packets(3, colDef('a', 8), colDef('b', 5), colDef('c', 4), colDef('d', 12), colDef('e', 11), colDef('f', 246)),
  packets(1, lenenc(6), colDef('a', 8), colDef('b', 5), colDef('c', 4), colDef('d', 12), colDef('e', 11), colDef('f', 246),
    binRow([8, 5, 4, 12, 11, 246], [i64(-1), f64(1.5), f32(1.1), cat(11, u16(2024), 2, 29, 23, 59, 59, u32(999999)), cat(12, 1, u32(40), 1, 2, 3, u32(5)), lenstr('3.14')]),
    ok({ eof: true }))))
seed('my_engine', 'lenenc-edges', cat(header(0), startup(), prepAnswer(1), execAnswer(), packets(1, lenenc(1), colDef('x', 253)),
  packets(3, cat(0xfc, u16(3), 'abc'), cat(0xfd, 3, 0, 0, 'abc'), cat(0xfe, i64(3), 'abc'), cat(0xfb), cat(0xff), ok({ eof: true }))))
seed('my_engine', 'big-packet-continuation', cat(header(0), startup(), prepAnswer(1), execAnswer(), packets(1, lenenc(1), colDef('x', 252)),
  Buffer.from([0xff, 0xff, 0xff, 3]), Buffer.alloc(64, 0x61)))

// ---- my_row inputs --------------------------------------------------------------------------
// byte 0 options (bit 0 binary, bit 1 raw, bit 2 seq from 0), byte 1 ncols, 4 bytes per column
// (type selector index into the harness's table, flags, charset, decimals), then packets.
const T = { DECIMAL: 0, TINY: 1, SHORT: 2, LONG: 3, FLOAT: 4, DOUBLE: 5, NULL: 6, TIMESTAMP: 7, LONGLONG: 8, INT24: 9, DATE: 10, TIME: 11, DATETIME: 12, YEAR: 13, NEWDATE: 14, VARCHAR: 15, BIT: 16, JSON: 17, NEWDECIMAL: 18, ENUM: 19, SET: 20, TINY_BLOB: 21, MEDIUM_BLOB: 22, LONG_BLOB: 23, BLOB: 24, VAR_STRING: 25, STRING: 26, GEOMETRY: 27 }
function rowInput (opts, cols, ...payloads) {
  return cat(opts, cols.length, ...cols.map(([t, f = 0, cs = 0, dec = 0]) => Buffer.from([T[t], f, cs, dec])), packets(0, ...payloads))
}
seed('my_row', 'text-basic', rowInput(4, [['LONGLONG'], ['VAR_STRING'], ['DATETIME'], ['DOUBLE']], textRow(['-9223372036854775808', 'héllo', '2024-02-29 23:59:59.123456', '1e308']), textRow([null, '', '0000-00-00 00:00:00', 'NaN'])))
seed('my_row', 'text-raw', rowInput(6, [['TINY', 1], ['BLOB', 2, 1]], textRow(['255', '\xff\x00\x80']), textRow(['-1', null])))
seed('my_row', 'text-lenenc', rowInput(4, [['VAR_STRING']], cat(0xfc, u16(2), 'ab'), cat(0xfd, 1, 0, 0, 'a'), cat(0xfe, i64(1), 'a'), cat(0xfc, u16(9)), cat(0xfe, i64(-1)), B(0xff)))
seed('my_row', 'text-dates', rowInput(4, [['DATE'], ['TIME'], ['TIMESTAMP'], ['YEAR'], ['NEWDECIMAL']], textRow(['9999-12-31', '-838:59:59.000000', '1970-01-01 00:00:00', '2155', '-0.000001']), textRow(['2024-13-45', '25:61:61', '99999-01-01 00:00:00', '0', '1' + '0'.repeat(70)])))
seed('my_row', 'binary-ints', rowInput(5, [['TINY'], ['TINY', 1], ['SHORT'], ['INT24'], ['LONG', 1], ['LONGLONG'], ['LONGLONG', 1], ['YEAR']],
  binRow(new Array(8), [B(0x80), B(0xff), u16(0x8000), u32(0xff800000), u32(0xffffffff), i64(-1), i64(-1), u16(2024)])))
seed('my_row', 'binary-floats', rowInput(5, [['FLOAT'], ['DOUBLE'], ['DOUBLE'], ['FLOAT']], binRow(new Array(4), [f32(1.1), f64(NaN), f64(-Infinity), f32(3.4e38)])))
seed('my_row', 'binary-dates', rowInput(5, [['DATE'], ['DATETIME'], ['TIMESTAMP'], ['TIME'], ['TIME'], ['DATETIME']],
  binRow(new Array(6), [cat(4, u16(2024), 2, 29), cat(7, u16(1), 1, 1, 0, 0, 0), cat(11, u16(9999), 12, 31, 23, 59, 59, u32(999999)), cat(0), cat(12, 1, u32(34), 22, 59, 59, u32(1)), cat(0)])))
seed('my_row', 'binary-bad-lengths', rowInput(5, [['DATETIME'], ['TIME']], binRow(new Array(2), [cat(5, u16(1), 1, 1, 0), cat(9, 0, u32(0), 0, 0, 0, 0)])))
seed('my_row', 'binary-nulls', rowInput(5, [['LONG'], ['VAR_STRING'], ['DOUBLE'], ['BLOB', 2, 1], ['LONG'], ['LONG'], ['LONG'], ['LONG'], ['LONG']],
  binRow(new Array(9), [null, lenstr('x'), null, lenstr('\x00\xff'), null, null, null, null, null]), cat(0, 0xff)))
seed('my_row', 'binary-strings', rowInput(5, [['NEWDECIMAL'], ['JSON'], ['BIT'], ['ENUM'], ['GEOMETRY', 2, 1], ['STRING']],
  binRow(new Array(6), [lenstr('-12.50'), lenstr('{"a":[1]}'), lenstr('\x01\x02'), lenstr('b'), lenstr('\x00\x00\x00\x00\x01'), cat(0xfc, u16(3), '\xe2\x82\xac')])))
seed('my_row', 'messages', rowInput(4, [], greeting(), ok({ info: 'Rows matched: 1' }), ok({ eof: true }), err(1064, '42000', 'You have an error'), cat(0xff, u16(1), 'no sqlstate'), colDef('name', 253), cat(0xfe, u16(0), u16(2))))
seed('my_row', 'continuation', cat(0, 0, Buffer.from([0xff, 0xff, 0xff, 0]), Buffer.alloc(32, 0x41)))
seed('my_row', 'wrong-seq', cat(4, 0, packets(0, ok()), packets(2, ok())))

for (const [target, list] of seeds) {
  const dir = path.join(CORPUS, target)
  fs.rmSync(dir, { recursive: true, force: true })
  fs.mkdirSync(dir, { recursive: true })
  for (const [name, bytes] of list) fs.writeFileSync(path.join(dir, `${name}.bin`), bytes)
  console.log(`${target}: ${list.length} seeds`)
}
