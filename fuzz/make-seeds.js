#!/usr/bin/env node
// Writes the committed seed corpus, fuzz/corpus/<target>/, from realistic sessions built with the
// frame builders of test/helpers/frames.js (the same the fake servers use) and the malformed
// cases of test/faults/malformed.test.js. Deterministic: running it again rewrites the same files.
//
//   node fuzz/make-seeds.js
//
// The input layouts are documented at the top of each fuzz/fuzz_<target>.c.
'use strict'

const fs = require('node:fs')
const path = require('node:path')
const crypto = require('node:crypto')
const f = require('../test/helpers/frames.js')

const CORPUS = path.join(__dirname, 'corpus')
const written = {}

function seed (target, name, bytes) {
  const dir = path.join(CORPUS, target)
  if (!written[target]) {
    fs.rmSync(dir, { recursive: true, force: true })
    fs.mkdirSync(dir, { recursive: true })
    written[target] = 0
  }
  fs.writeFileSync(path.join(dir, `${name}.bin`), bytes)
  written[target]++
}

const B = (s) => Buffer.from(s, 'latin1')
const cat = (...parts) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? B(p) : p)))
const raw = (type, ...parts) => f.frame(type, cat(...parts))

// ---- SCRAM server side (RFC 5802 / 7677) -----------------------------------------------------

const hmac = (key, data) => crypto.createHmac('sha256', key).update(data).digest()

// The server messages that complete an exchange for this client-first-bare and gs2 header.
function scramServer ({ password, clientNonce, user = '', gs2 = 'n,,', cbind = Buffer.alloc(0), salt, iter, serverNonce }) {
  const nonce = clientNonce + serverNonce
  const serverFirst = `r=${nonce},s=${salt.toString('base64')},i=${iter}`
  const clientFirstBare = `n=${user},r=${clientNonce}`
  const withoutProof = `c=${cat(gs2, cbind).toString('base64')},r=${nonce}`
  const authMessage = `${clientFirstBare},${serverFirst},${withoutProof}`
  const salted = crypto.pbkdf2Sync(password, salt, iter, 32, 'sha256')
  const serverKey = hmac(salted, 'Server Key')
  const serverFinal = `v=${hmac(serverKey, authMessage).toString('base64')}`
  return { serverFirst, serverFinal }
}

// ---- server byte streams ---------------------------------------------------------------------

const XY = [{ name: 'a', oid: 23 }, { name: 'b', oid: 25 }]
const WIDE = [
  { name: 'i4', oid: 23 }, { name: 'i2', oid: 21 }, { name: 'f8', oid: 701 }, { name: 'f4', oid: 700 },
  { name: 'ok', oid: 16 }, { name: 'ts', oid: 1184 }, { name: 'd', oid: 1082 }, { name: 't', oid: 1114 },
  { name: 'txt', oid: 25 }, { name: 'i8', oid: 20 }, { name: 'oid', oid: 26 }, { name: 'j', oid: 3802 },
]
const WIDE_ROWS = [
  ['1', '-32768', '3.141592653589793', 'NaN', 't', '2024-02-29 23:59:59.999999+05:30', '2024-02-29',
    '1999-12-31 23:59:59', 'héllo wörld €', '9007199254740993', '4294967295', '{"k": [1, 2]}'],
  ['-2147483648', '0', '-Infinity', 'Infinity', 'f', '0001-01-01 00:00:00+00 BC', '275760-09-13',
    'infinity', 'emoji 😀 and 𝄞', '-1', '0', 'null'],
  [null, null, '1e308', '1.5e-45', null, '1970-01-01 00:00:00.5-08', '4713-01-01 BC', '2000-01-01 00:00:00.123',
    Buffer.from('bad \xff utf8 \xc0\x80 \xed\xa0\x80 \xe2\x82', 'latin1'), null, '26', '[]'],
  ['00012', '+7', '.5', '5.', 'x', '2024-13-45 99:99:99', '12345-06-07', '2024-01-01 12:00:00+14:59:59',
    '', '0', '-0', '""'],
]

// A DataRow; a cell is null, a string (UTF-8) or a Buffer (raw bytes, e.g. invalid UTF-8).
function rowBytes (values) {
  return f.frame('D', Buffer.concat([
    f.u16(values.length),
    ...values.map((v) => {
      if (v === null) return f.i32(-1)
      const b = Buffer.isBuffer(v) ? v : Buffer.from(v, 'utf8')
      return Buffer.concat([f.i32(b.length), b])
    }),
  ]))
}

const tail = (tag) => cat(f.commandComplete(tag), f.readyForQuery('I'))

// Answers to the queries fuzz_pg_engine.c queues: Q0 extended, Q1 simple (two statements),
// Q2 extended (same text as Q0; no ParseComplete when the statement cache is on).
function answerQ0 ({ parse = true, fields = XY, rows = [['1', null]] } = {}) {
  return cat(parse ? f.parseComplete() : '', f.bindComplete(), f.rowDescription(fields), ...rows.map(rowBytes), tail(`SELECT ${rows.length}`))
}
function answerQ1 () {
  const one = (v) => cat(f.rowDescription([{ name: '?column?', oid: 23 }]), f.dataRow([v]), f.commandComplete('SELECT 1'))
  return cat(one('1'), one('2'), f.readyForQuery('I'))
}
const answers = ({ cache = false, wide = false } = {}) => cat(
  answerQ0(wide ? { fields: WIDE, rows: WIDE_ROWS } : {}),
  answerQ1(),
  answerQ0({ parse: !cache }),
)

const startupOk = () => f.startupOk()
const ERR = { S: 'ERROR', V: 'ERROR', C: '42601', M: 'syntax error at or near "selec"', P: '1', F: 'scan.l', L: '1188', R: 'scanner_yyerror' }

// ---- pg_engine -------------------------------------------------------------------------------

// Header: flags, largest chunk, seed (2), cancel at, cancel which, terminate at, more at.
function engine (name, { flags = 0, chunk = 0, seedv = 1, cancelAt = 0xff, cancelWhich = 0, terminateAt = 0xff, moreAt = 0xff }, stream) {
  const head = Buffer.from([flags, chunk, seedv >> 8, seedv & 0xff, cancelAt, cancelWhich, terminateAt, moreAt])
  seed('pg_engine', name, cat(head, stream))
}

const ENGINE_NONCE = Buffer.alloc(18).toString('base64') // RAND_bytes is zeros in the fuzz build
const CBIND = Buffer.from('9a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f9', 'hex')

function scramStream ({ mechs = ['SCRAM-SHA-256'], gs2 = 'n,,', cbind, iter = 4096, password = 'pencil' }) {
  const { serverFirst, serverFinal } = scramServer({
    password, clientNonce: ENGINE_NONCE, gs2, cbind, salt: Buffer.from('W22ZaJ0SNY7soEsUEjb6gQ==', 'base64'),
    iter, serverNonce: '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  })
  return cat(f.authSasl(...mechs), f.authSaslContinue(serverFirst), f.authSaslFinal(serverFinal))
}

const sessions = []
function session (name, opts, stream) {
  engine(name, opts, stream)
  sessions.push([name, stream])
}

session('trust-whole', {}, cat(startupOk(), answers()))
session('trust-chunks7', { chunk: 7, seedv: 3 }, cat(startupOk(), answers()))
session('trust-bytewise', { chunk: 1 }, cat(startupOk(), answers()))
session('trust-cache', { flags: 0x04, chunk: 13, seedv: 9 }, cat(startupOk(), answers({ cache: true })))
session('trust-wide-rows', { chunk: 0 }, cat(startupOk(), answers({ wide: true })))
session('trust-wide-rows-rawtext', { flags: 0x08, chunk: 0 }, cat(startupOk(), answers({ wide: true })))
session('cleartext', {}, cat(f.authCleartext(), startupOk(), answers()))
session('md5', { chunk: 3 }, cat(f.authMd5(Buffer.from([1, 2, 3, 4])), startupOk(), answers()))
session('scram', {}, cat(scramStream({ iter: 4096 }), startupOk(), answers()))
session('scram-iter1', { chunk: 11 }, cat(scramStream({ iter: 1 }), startupOk(), answers()))
session('tls-scram-plus', { flags: 0x01, chunk: 5 }, cat('S', scramStream({
  mechs: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'], gs2: 'p=tls-server-end-point,,', cbind: CBIND, iter: 16,
}), startupOk(), answers()))
session('tls-require-scram-y', { flags: 0x02, chunk: 9 }, cat('S', scramStream({ gs2: 'y,,', iter: 16 }), startupOk(), answers()))
session('tls-no-cbind-scram-y', { flags: 0x41, chunk: 9 }, cat('S', scramStream({
  mechs: ['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256'], gs2: 'y,,', iter: 16,
}), startupOk(), answers()))
session('tls-prefer-refused', { flags: 0x01, chunk: 4 }, cat('N', startupOk(), answers()))
engine('tls-require-refused', { flags: 0x02, chunk: 4 }, cat('N', startupOk()))
engine('tls-start-fails', { flags: 0x11, chunk: 4 }, cat('S', startupOk()))
engine('tls-injected-bytes', { flags: 0x01, chunk: 0 }, cat('S', startupOk()))
engine('tls-answer-E', { flags: 0x02, chunk: 4 }, cat('E', startupOk()))
engine('no-password-md5', { flags: 0x20 }, cat(f.authMd5(Buffer.from([1, 2, 3, 4])), startupOk()))
engine('scram-bad-signature', {}, cat(f.authSasl('SCRAM-SHA-256'),
  f.authSaslContinue(`r=${ENGINE_NONCE}xyz,s=QUJDRA==,i=1`), f.authSaslFinal('v=' + Buffer.alloc(32).toString('base64')), startupOk()))
engine('scram-ok-before-final', {}, cat(f.authSasl('SCRAM-SHA-256'), f.authSaslContinue(`r=${ENGINE_NONCE}xyz,s=QUJDRA==,i=1`), startupOk()))
engine('scram-server-error', {}, cat(f.authSasl('SCRAM-SHA-256'), f.authSaslContinue(`r=${ENGINE_NONCE}xyz,s=QUJDRA==,i=1`), f.authSaslFinal('e=invalid-proof')))
engine('auth-repeated', {}, cat(f.authCleartext(), f.authCleartext(), startupOk()))
engine('auth-unsupported', {}, cat(f.frame('R', f.u32(7)), startupOk()))
engine('negotiate-version', {}, cat(raw('v', f.u32(0), f.u32(0)), startupOk(), answers()))
engine('fatal-during-startup', {}, cat(f.errorResponse({ S: 'FATAL', V: 'FATAL', C: '28P01', M: 'password authentication failed for user "u"' })))
session('errors-notices', { chunk: 17, seedv: 5 }, cat(
  startupOk(),
  f.parseComplete(), f.bindComplete(), f.rowDescription(XY), f.dataRow(['1', 'a']),
  f.noticeResponse({ S: 'NOTICE', V: 'NOTICE', C: '00000', M: 'just saying' }),
  f.parameterStatus('application_name', 'changed'), f.notificationResponse(42, 'chan', 'payload'), raw('N', '\0'),
  f.dataRow(['2', 'b']), tail('SELECT 2'),
  f.errorResponse(ERR), f.readyForQuery('E'),
  f.parseComplete(), f.bindComplete(), f.errorResponse({ S: 'ERROR', V: 'ERROR', C: '0A000', M: 'cached plan must not change result type' }), f.readyForQuery('I'),
))
// Columns in binary format (a BINARY cursor's FETCH): every type src/pg/pg_binary.c decodes,
// one it does not (numeric), then a datum of the wrong length (the connection fails).
const binDesc = (oids) => f.frame('T', Buffer.concat([f.u16(oids.length),
  ...oids.map((oid, i) => Buffer.concat([Buffer.from(`b${i}\0`), f.u32(0), f.u16(0), f.u32(oid), f.u16(4), f.i32(-1), f.u16(1)]))]))
const be = (n, write) => { const b = Buffer.alloc(n); write(b); return b }
const BIN_COLS = [23, 700, 701, 16, 1114, 1184, 114, 17, 25, 1043, 1042, 19, 18, 1007, 1022, 1005, 1021, 1700]
const binArray = (elem, dims, cells) => Buffer.concat([f.i32(dims.length), f.i32(cells.includes(null) ? 1 : 0), f.u32(elem),
  ...dims.map((d) => cat(f.i32(d), f.i32(1))), ...cells.map((c) => (c === null ? f.i32(-1) : cat(f.i32(c.length), c)))])
const BIN_ROW = [f.i32(-7), be(4, (b) => b.writeFloatBE(0.1)), be(8, (b) => b.writeDoubleBE(NaN)), Buffer.from([1]),
  be(8, (b) => b.writeBigInt64BE(-1n)), be(8, (b) => b.writeBigInt64BE(0x7fffffffffffffffn)), Buffer.from('{"a":1}'),
  Buffer.from([0, 255]), Buffer.from('héllo'), Buffer.from(''), Buffer.from('ab  '), Buffer.from('nm'), Buffer.from('x'),
  binArray(23, [2, 2], [f.i32(1), null, f.i32(3), f.i32(4)]), binArray(701, [1], [be(8, (b) => b.writeDoubleBE(1.5))]), binArray(21, [2], [Buffer.from([0xff, 0xfe]), null]),
  binArray(700, [1], [be(4, (b) => b.writeFloatBE(0.1))]), Buffer.from([0, 0])]
session('binary-columns', { chunk: 13, seedv: 9 }, cat(startupOk(),
  f.parseComplete(), f.bindComplete(), binDesc(BIN_COLS), rowBytes(BIN_ROW), rowBytes(BIN_COLS.map(() => null)), tail('FETCH 2'),
  binDesc([23]), rowBytes([f.i32(5)]), f.commandComplete('FETCH 1'), binDesc([701]), rowBytes([f.i32(0)]), tail('FETCH 1')))
engine('fatal-mid-query', { chunk: 6 }, cat(startupOk(), f.parseComplete(), f.bindComplete(), f.rowDescription(XY),
  f.errorResponse({ S: 'FATAL', V: 'FATAL', C: '57P01', M: 'terminating connection due to administrator command' })))
engine('empty-query-nodata-suspended', {}, cat(startupOk(), f.parseComplete(), f.bindComplete(), f.noData(), f.emptyQueryResponse(),
  f.readyForQuery('I'), f.emptyQueryResponse(), f.readyForQuery('T'), f.parseComplete(), f.bindComplete(),
  f.parameterDescription([23, 25]), f.rowDescription(XY), f.dataRow(['1', 'x']), raw('s'), f.readyForQuery('I')))

// The harness's chunk sizes (xorshift, as in fuzz_pg_engine.c): a chunk limit and seed whose
// feeds end exactly at byte `at`, before feed number 0xff; -> { chunk, seedv, moreAt }.
function feedBoundary (at, chunk) {
  for (let seedv = 0; seedv < 65536; seedv++) {
    let x = (Math.imul(seedv, 2654435761) + 1) >>> 0
    if (x === 0) x = 1
    let off = 0
    for (let feed = 0; feed < 0xff && off < at; feed++) {
      x = (x ^ (x << 13)) >>> 0
      x = (x ^ (x >>> 17)) >>> 0
      x = (x ^ (x << 5)) >>> 0
      off += 1 + (x % chunk)
      if (off === at) return { chunk, seedv, moreAt: feed + 1 }
    }
  }
  throw new Error(`no seed puts a feed boundary at ${at}`)
}

// Queries queued mid-stream, at a feed boundary right after the
// three answers, Q3 and Q4 go out; with the cache on (2 entries) Q4 evicts Q0's statement.
{
  const pre = cat(startupOk(), answers({ cache: true }))
  const more = cat(f.parseComplete(), f.bindComplete(), f.rowDescription([{ name: '?column?', oid: 23 }]), f.dataRow(['3']), tail('SELECT 1'),
    f.closeComplete(), f.parseComplete(), f.bindComplete(), f.rowDescription([{ name: '?column?', oid: 23 }]), f.dataRow(['4']), tail('SELECT 1'))
  session('more-queries-evict', { flags: 0x04, ...feedBoundary(pre.length, 16) }, cat(pre, more))
  session('more-queries-simple', { flags: 0x84, ...feedBoundary(pre.length, 24) }, cat(pre,
    f.rowDescription([{ name: '?column?', oid: 23 }]), f.dataRow(['3']), tail('SELECT 1'),
    f.parseComplete(), f.bindComplete(), f.rowDescription([{ name: '?column?', oid: 23 }]), f.dataRow(['4']), tail('SELECT 1')))
  const startLen = startupOk().length
  session('cancel-second', { chunk: 1, cancelAt: Math.min(startLen + 2, 0xfe), cancelWhich: 1 }, cat(startupOk(), answers()))
  session('cancel-running', { chunk: 1, cancelAt: Math.min(startLen + 2, 0xfe), cancelWhich: 0 }, cat(startupOk(), answers()))
  engine('terminate-ready', { chunk: 1, terminateAt: Math.min(startLen + 4, 0xfe) }, cat(startupOk(), answers()))
  engine('terminate-startup', { chunk: 1, terminateAt: 3 }, cat(startupOk(), answers()))
}

// Malformed cases (test/faults/malformed.test.js), after a good startup and Q0's acks.
const acks = cat(f.parseComplete(), f.bindComplete())
const FIELD_REST = cat(f.u32(0), f.u16(0), f.u32(23), f.u16(4), f.i32(-1), f.u16(0))
const rowsAround = (bad) => cat(acks, f.rowDescription(XY), bad, tail('SELECT 1'))
const malformed = {
  'len0-Z': cat(acks, f.rawFrame('Z', 0)),
  'len3-D': cat(acks, f.rawFrame('D', 3)),
  'lenFFFFFFFF-T': cat(acks, f.rawFrame('T', 0xffffffff)),
  'len1G1-E': cat(acks, f.rawFrame('E', 0x40000001)),
  'len40004-C': cat(acks, f.rawFrame('C', 40004), Buffer.alloc(64, 0x41)),
  'nodata-body': cat(acks, raw('n', '\x00'), tail('SET')),
  'unknown-type': cat(acks, f.rowDescription(XY), raw('!', 'hello\0'), f.dataRow(['1', 'a']), tail('SELECT 1')),
  'copy-in': cat(acks, raw('G', '\x00', f.u16(0)), tail('COPY')),
  'row-cell-past-frame': rowsAround(raw('D', f.u16(2), f.i32(1), '1', f.i32(100), 'abc')),
  'row-cell-7fffffff': rowsAround(raw('D', f.u16(2), f.i32(1), '1', f.i32(0x7fffffff), 'a')),
  'row-count-past-frame': rowsAround(raw('D', f.u16(5), f.i32(1), '1', f.i32(1), 'a')),
  'row-count-65535': rowsAround(raw('D', f.u16(65535))),
  'row-cell-len-minus2': rowsAround(raw('D', f.u16(2), f.i32(-2), f.i32(1), 'a')),
  'row-short': rowsAround(raw('D', '\x00')),
  'row-fewer-cells': rowsAround(f.dataRow(['1'])),
  'row-more-cells': rowsAround(f.dataRow(['1', 'a', 'b'])),
  'row-trailing': rowsAround(raw('D', f.u16(2), f.i32(1), '1', f.i32(1), 'a', 'xyz')),
  'row-without-desc': cat(acks, f.dataRow(['1', 'a']), tail('SELECT 1')),
  'desc-count-past-frame': cat(acks, raw('T', f.u16(3), 'x\0', FIELD_REST), f.dataRow(['1', 'a']), tail('SELECT 1')),
  'desc-name-no-nul': cat(acks, raw('T', f.u16(1), 'xxxxxxxxxxxxxxxxxxxxxxxx'), f.dataRow(['1']), tail('SELECT 1')),
  'desc-trailing': cat(acks, raw('T', f.u16(1), 'x\0', FIELD_REST, 'zz'), f.dataRow(['1']), tail('SELECT 1')),
  'error-no-final-nul': cat(acks, raw('E', 'SERROR\0', 'C22012\0', 'Mdivision by zero\0'), f.readyForQuery('I')),
  'error-value-no-nul': cat(acks, raw('E', 'SERROR\0', 'C22012\0', 'Mdivision by zero'), f.readyForQuery('I')),
  'notice-no-nul': rowsAround(cat(f.dataRow(['1', 'a']), raw('N', 'SNOTICE\0', 'Mhello'))),
  'command-no-nul': cat(acks, f.rowDescription(XY), f.dataRow(['1', 'a']), raw('C', 'SELECT 1'), f.readyForQuery('I')),
  'command-junk': cat(acks, f.rowDescription(XY), f.dataRow(['1', 'a']), raw('C', 'SELECT 1\0junk'), f.readyForQuery('I')),
  'rfq-bad-status': cat(acks, f.rowDescription(XY), f.dataRow(['1', 'a']), f.commandComplete('SELECT 1'), raw('Z', 'X')),
  'rfq-len6': cat(acks, f.rowDescription(XY), f.dataRow(['1', 'a']), f.commandComplete('SELECT 1'), raw('Z', 'II')),
  'error-then-row': cat(acks, f.rowDescription(XY), f.errorResponse(ERR), f.dataRow(['1', 'a']), tail('SELECT 1')),
  'two-errors': cat(acks, f.errorResponse(ERR), f.errorResponse(ERR), f.readyForQuery('I')),
  'rfq-no-query': cat(answers(), f.readyForQuery('I'), f.dataRow(['1', 'a'])),
}
for (const [name, rest] of Object.entries(malformed)) engine(`malformed-${name}`, { chunk: 0 }, cat(startupOk(), rest))
const duringStartup = {
  'key-short': cat(f.authOk(), raw('K', f.u32(1)), f.readyForQuery('I')),
  'key-long': cat(f.authOk(), raw('K', f.u32(1), f.u32(2), f.u32(3)), f.readyForQuery('I')),
  'rfq-len4': cat(f.authOk(), f.backendKeyData(1, 2), f.rawFrame('Z', 4)),
  'unknown-before-auth': cat(raw('!', 'hello\0'), startupOk()),
  'auth-len3': f.rawFrame('R', 3),
  'key-len40004': cat(f.authOk(), f.rawFrame('K', 40004), Buffer.alloc(64, 0x41)),
  'sasl-continue-first': cat(f.authSaslContinue('r=x,s=QQ==,i=1'), startupOk()),
}
for (const [name, rest] of Object.entries(duringStartup)) engine(`startup-${name}`, { chunk: 2 }, rest)

// A long DataRow (> 30000 bytes: only long-capable types may be that long).
engine('long-row', { chunk: 0 }, cat(startupOk(), f.parseComplete(), f.bindComplete(), f.rowDescription(XY),
  f.dataRow(['1', 'é'.repeat(16000)]), tail('SELECT 1'), answerQ1(), answerQ0()))

// ---- pg_frame: the same server streams, as frames (byte 0: options) -------------------------

sessions.forEach(([name, stream], i) => {
  const body = stream[0] === 0x53 || stream[0] === 0x4e ? stream.subarray(1) : stream // no SSL answer byte
  seed('pg_frame', name, cat(Buffer.from([(i * 37) & 0xff]), body))
})
for (const [name, rest] of Object.entries(malformed)) seed('pg_frame', `malformed-${name}`, cat(Buffer.from([0x05]), rest))
seed('pg_frame', 'wide-rows-rawtext', cat(Buffer.from([0x08]), f.rowDescription(WIDE), ...WIDE_ROWS.map(rowBytes)))

// ---- scram: opts byte, server-first, NUL, server-final ---------------------------------------

function scramSeed (name, opts, serverFirst, serverFinal) {
  seed('scram', name, cat(Buffer.from([opts]), serverFirst, serverFinal === undefined ? '' : cat('\0', serverFinal)))
}
const RFC_NONCE = 'rOprNGfwEbeRWgbNEkqO'
// RFC 7677 section 3 (user "user", password "pencil").
scramSeed('rfc7677', 0x0c, 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096',
  'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=')
const SALT = Buffer.from('QSXCR+Q6sek8bf92', 'base64')
for (const [name, opts, gs2, cbind] of [
  ['postgres-n', 0x08, 'n,,', undefined],
  ['postgres-y', 0x09, 'y,,', undefined],
  ['postgres-plus', 0x0a, 'p=tls-server-end-point,,', Buffer.from(Array.from({ length: 32 }, (_, i) => i + 1))],
  ['postgres-random-nonce', 0x18, 'n,,', undefined],
  ['odd-password', 0x00, 'n,,', undefined],
]) {
  const clientNonce = opts & 0x10 ? ENGINE_NONCE : RFC_NONCE
  const password = opts & 8 ? 'pencil' : 'p,=\u00e9'
  const user = opts & 4 ? 'user' : ''
  const { serverFirst, serverFinal } = scramServer({ password, clientNonce, user, gs2, cbind, salt: SALT, iter: 16, serverNonce: 'Zm9vYmFyYmF6' })
  scramSeed(name, opts, serverFirst, serverFinal)
}
const SF = `r=${RFC_NONCE}Zm9v,s=QSXCR+Q6sek8bf92,i=16`
scramSeed('server-error', 0x08, SF, 'e=invalid-proof')
scramSeed('bad-verifier', 0x08, SF, 'v=AAAA')
scramSeed('verifier-extra', 0x08, SF, 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=,x=1')
scramSeed('extension-m', 0x08, `m=ext,${SF}`)
scramSeed('nonce-not-ours', 0x08, 'r=XXXXNGfwEbeRWgbNEkqOabc,s=QSXCR+Q6sek8bf92,i=16')
scramSeed('nonce-same', 0x08, `r=${RFC_NONCE},s=QSXCR+Q6sek8bf92,i=16`)
scramSeed('nonce-control', 0x08, `r=${RFC_NONCE}\x01,s=QSXCR+Q6sek8bf92,i=16`)
scramSeed('salt-empty', 0x08, `r=${RFC_NONCE}Zm9v,s=,i=16`)
scramSeed('salt-bad-b64', 0x08, `r=${RFC_NONCE}Zm9v,s=QSX=R+Q6,i=16`)
scramSeed('salt-long', 0x08, `r=${RFC_NONCE}Zm9v,s=${Buffer.alloc(300, 7).toString('base64')},i=16`)
scramSeed('iter-zero', 0x08, `r=${RFC_NONCE}Zm9v,s=QSXCR+Q6sek8bf92,i=0`)
scramSeed('iter-leading-zero', 0x08, `r=${RFC_NONCE}Zm9v,s=QSXCR+Q6sek8bf92,i=016`)
scramSeed('iter-huge', 0x08, `r=${RFC_NONCE}Zm9v,s=QSXCR+Q6sek8bf92,i=99999999999999999999`)
scramSeed('iter-max', 0x08, `r=${RFC_NONCE}Zm9v,s=QSXCR+Q6sek8bf92,i=4097`)
scramSeed('trailing', 0x08, `${SF},x=1`)
scramSeed('misordered', 0x08, `s=QSXCR+Q6sek8bf92,r=${RFC_NONCE}Zm9v,i=16`)

// ---- pg_text: selector byte (0 int4, 1 float8, 2 bool, 3 timestamptz, 4 date, 5 text), cell --

const cells = [
  [3, '2024-02-29 23:59:59.999999+05:30'], [3, '2024-02-29 23:59:59.9-08'], [3, '1970-01-01 00:00:00+00'],
  [3, '0001-01-01 00:00:00+00 BC'], [3, '4713-11-24 00:00:00+00 BC'], [4, '275760-09-13'], [4, '275760-09-14'],
  [4, '-271821-04-20'], [4, '271821-04-20 BC'], [3, '12345-06-07 08:09:10.11+01:02:03'], [3, 'infinity'],
  [3, '-infinity'], [4, '2024-02-30'], [4, '2024-13-01'], [3, '2024-01-01 24:00:00'], [3, '2024-01-01 12:00:00.'],
  [3, '2024-01-01T12:00:00Z'], [4, '99999999-12-31'], [4, '02024-01-01'],
  [0, '0'], [0, '-2147483648'], [0, '00012'], [0, '123456789012345'], [0, '1234567890123456'], [1, '3.141592653589793'],
  [1, '-1.5e-10'], [1, '1e308'], [1, '1e309'], [1, '4.9e-324'], [1, 'NaN'], [1, 'Infinity'], [1, '-Infinity'],
  [1, '+Infinity'], [1, '0x10'], [1, ' 1'], [1, '.5'], [1, '5.'], [1, '1e'], [1, '-'], [1, '+1'], [1, '-0'],
  [2, 't'], [2, 'f'], [2, 'true'],
  [5, 'plain ascii'], [5, 'héllo wörld €'], [5, 'emoji 😀 and 𝄞'], [5, ''],
]
cells.forEach(([sel, text], i) => seed('pg_text', `cell-${String(i).padStart(2, '0')}`, cat(Buffer.from([sel]), Buffer.from(text, 'utf8'))))
const badUtf8 = [
  [0xff], [0x80], [0xc0, 0x80], [0xc2], [0xe0, 0x80, 0x80], [0xe2, 0x82], [0xed, 0xa0, 0x80], [0xed, 0x9f, 0xbf],
  [0xef, 0xbf, 0xbd], [0xf0, 0x8f, 0xbf, 0xbf], [0xf4, 0x8f, 0xbf, 0xbf], [0xf4, 0x90, 0x80, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0x61, 0xf0, 0x9f, 0x98, 0x62],
]
badUtf8.forEach((bytes, i) => seed('pg_text', `utf8-${String(i).padStart(2, '0')}`, Buffer.from([5, ...bytes])))

// Binary cells (byte 0 >> 3 selects the type in check_binary: 0 int4, 1 float4, 2 float8,
// 3 bool, 4 timestamp, 5 timestamptz, 6 json, 7 bytea, 8 text, 9 "char", 10 int4[], 11 float8[],
// 12 int2[], 13 float4[]).
const i32s = (...ns) => Buffer.concat(ns.map((n) => f.i32(n)))
const binCells = [
  [0, i32s(-7)], [1, Buffer.from('3dcccccd', 'hex')], [2, Buffer.from('fffe000000000007', 'hex')], [3, Buffer.from([1])],
  [3, Buffer.from([2])], [4, Buffer.from('7fffffffffffffff', 'hex')], [5, Buffer.from('fffffffffffffc17', 'hex')],
  [6, Buffer.from('{"k":[1]}')], [7, Buffer.from([0, 0xff])], [9, Buffer.from('x')],
  [10, i32s(2, 1, 23, 2, 1, 2, 0, 4, 1, -1, 4, 3, 4, 4)], [10, i32s(1, 0, 23, 1, 1, 8, 0, 0)], [10, i32s(0, 0, 23)],
  [11, Buffer.concat([i32s(1, 0, 701, 2, -3, 8), Buffer.from('7ff8000000000000', 'hex'), i32s(-1)])], [11, i32s(1, 0, 701, 0x7fffffff, 1)],
  [12, cat(i32s(1, 1, 21, 3, 1, 2), Buffer.from([0x80, 0]), i32s(-1, 2), Buffer.from([0, 7]))], [12, i32s(1, 0, 21, 1, 1, 4, 7)],
  [13, cat(i32s(1, 0, 700, 2, 1, 4), Buffer.from('3dcccccd', 'hex'), i32s(4), Buffer.from('7fc00001', 'hex'))],
]
binCells.forEach(([sel, bytes], i) => seed('pg_text', `binary-${String(i).padStart(2, '0')}`, cat(Buffer.from([sel << 3]), bytes)))

// ---- stmt_intern: cache bound, interner bound, then (op, arg) pairs --------------------------
// ops: 0 query (find or add, holds a user), 1 ParseComplete, 2 release, 3 detach, 4 find only.

const ops = (max, internMax, pairs) => Buffer.from([max, internMax, ...pairs.flat()])
seed('stmt_intern', 'evict', ops(2, 8, [[0, 0], [1, 0], [2, 0], [0, 3], [1, 1], [2, 1], [0, 6], [4, 0], [0, 9]]))
seed('stmt_intern', 'all-in-use', ops(2, 8, [[0, 0], [0, 3], [0, 6], [2, 0], [0, 6]]))
seed('stmt_intern', 'detach-with-users', ops(3, 255, [[0, 1], [0, 1], [3, 0], [0, 1], [2, 0], [2, 0], [2, 1]]))
seed('stmt_intern', 'param-variants', ops(4, 4, [[0, 0], [0, 1], [0, 2], [4, 1], [3, 1], [4, 1], [0, 1]]))
seed('stmt_intern', 'no-cache', ops(0, 0, [[0, 0], [0, 1], [4, 0]]))
seed('stmt_intern', 'intern-keys', Buffer.concat([Buffer.from([7, 3]), B('a\xffbb\xffa\xffccc\xff\xffdd\xffbb')]))

for (const [t, n] of Object.entries(written)) console.log(`${t}: ${n} seeds in ${path.relative(process.cwd(), path.join(CORPUS, t))}`)
