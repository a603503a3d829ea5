'use strict'
// Builders for PostgreSQL backend messages, for scripted fake servers.

function frame(type, body = Buffer.alloc(0)) {
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeUInt32BE(body.length + 4, 1)
  return Buffer.concat([head, body])
}

const cstr = (s) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])])
const u32 = (n) => { const b = Buffer.alloc(4); b.writeUInt32BE(n >>> 0); return b }
const i32 = (n) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b }
const u16 = (n) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b }

const authOk = () => frame('R', u32(0))
const authCleartext = () => frame('R', u32(3))
const authMd5 = (salt) => frame('R', Buffer.concat([u32(5), salt]))
const authSasl = (...mechs) => frame('R', Buffer.concat([u32(10), ...mechs.map(cstr), Buffer.from([0])]))
const parameterStatus = (k, v) => frame('S', Buffer.concat([cstr(k), cstr(v)]))
const backendKeyData = (pid, key) => frame('K', Buffer.concat([u32(pid), u32(key)]))
const readyForQuery = (status = 'I') => frame('Z', Buffer.from(status, 'latin1'))
const parseComplete = () => frame('1')
const bindComplete = () => frame('2')
const noData = () => frame('n')

// fields: [{ name, oid }]
function rowDescription(fields) {
  return frame('T', Buffer.concat([
    u16(fields.length),
    ...fields.map((f) => Buffer.concat([cstr(f.name), u32(0), u16(0), u32(f.oid), u16(4), i32(-1), u16(0)])),
  ]))
}

// values: strings or null
function dataRow(values) {
  return frame('D', Buffer.concat([
    u16(values.length),
    ...values.map((v) => (v === null ? i32(-1) : Buffer.concat([i32(Buffer.byteLength(v)), Buffer.from(v)]))),
  ]))
}

const commandComplete = (tag) => frame('C', cstr(tag))

function errorResponse(fields) {
  const parts = []
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(k, 'latin1'), cstr(v))
  parts.push(Buffer.from([0]))
  return frame('E', Buffer.concat(parts))
}

// The usual end of a startup: AuthenticationOk, a few parameters, key data, ReadyForQuery.
function startupOk() {
  return Buffer.concat([
    authOk(),
    parameterStatus('server_version', '15.0'),
    parameterStatus('client_encoding', 'UTF8'),
    parameterStatus('DateStyle', 'ISO, MDY'),
    backendKeyData(1234, 5678),
    readyForQuery('I'),
  ])
}

// ---- additions for malformed-frame and auth tests ------------------------------------------

// A frame whose length field says `declared` (any uint32, e.g. 0, 3, 0xFFFFFFFF) whatever the body.
function rawFrame(type, declared, body = Buffer.alloc(0)) {
  const head = Buffer.alloc(5)
  head.write(type, 0, 'latin1')
  head.writeUInt32BE(declared >>> 0, 1)
  return Buffer.concat([head, body])
}

const closeComplete = () => frame('3')
const emptyQueryResponse = () => frame('I')
const parameterDescription = (oids) => frame('t', Buffer.concat([u16(oids.length), ...oids.map(u32)]))
const notificationResponse = (pid, channel, payload) => frame('A', Buffer.concat([u32(pid), cstr(channel), cstr(payload)]))
const authSaslContinue = (data) => frame('R', Buffer.concat([u32(11), Buffer.from(data)]))
const authSaslFinal = (data) => frame('R', Buffer.concat([u32(12), Buffer.from(data)]))

function noticeResponse(fields) {
  const parts = []
  for (const [k, v] of Object.entries(fields)) parts.push(Buffer.from(k, 'latin1'), cstr(v))
  parts.push(Buffer.from([0]))
  return frame('N', Buffer.concat(parts))
}

// ---- frontend (client -> server) decoding, for servers that check what the client sent ----

// Splits client bytes into messages. `startup`: the first message is untyped (StartupMessage,
// SSLRequest...) and is returned as { type: '', body }. A trailing partial message is left out.
function splitFrontend(bytes, { startup = true } = {}) {
  const out = []
  let off = 0
  if (startup && bytes.length >= 4) {
    const len = bytes.readUInt32BE(0)
    if (len >= 4 && bytes.length >= len) {
      out.push({ type: '', body: bytes.subarray(4, len) })
      off = len
    }
  }
  while (off + 5 <= bytes.length) {
    const len = bytes.readUInt32BE(off + 1)
    if (len < 4 || off + 1 + len > bytes.length) break
    out.push({ type: String.fromCharCode(bytes[off]), body: bytes.subarray(off + 5, off + 1 + len) })
    off += 1 + len
  }
  return out
}

// A C string at `off`: [string, offset after the NUL].
function readCstr(body, off) {
  const end = body.indexOf(0, off)
  if (end < 0) throw new Error('no NUL in frontend message')
  return [body.toString('utf8', off, end), end + 1]
}

// Parse ('P') body -> { name, text, types }
function parseParseMessage(body) {
  let off = 0
  let name, text
  ;[name, off] = readCstr(body, off)
  ;[text, off] = readCstr(body, off)
  const n = body.readUInt16BE(off)
  off += 2
  const types = []
  for (let i = 0; i < n; i++) types.push(body.readUInt32BE(off + 4 * i))
  return { name, text, types }
}

// Bind ('B') body -> { portal, statement, formats, values (Buffer | null) }
function parseBindMessage(body) {
  let off = 0
  let portal, statement
  ;[portal, off] = readCstr(body, off)
  ;[statement, off] = readCstr(body, off)
  const nf = body.readUInt16BE(off)
  off += 2
  const formats = []
  for (let i = 0; i < nf; i++, off += 2) formats.push(body.readUInt16BE(off))
  const np = body.readUInt16BE(off)
  off += 2
  const values = []
  for (let i = 0; i < np; i++) {
    const len = body.readInt32BE(off)
    off += 4
    if (len < 0) values.push(null)
    else { values.push(body.subarray(off, off + len)); off += len }
  }
  return { portal, statement, formats, values }
}

// SASLInitialResponse ('p' after AuthenticationSASL) -> { mechanism, data (Buffer | null) }
function parseSaslInitialResponse(body) {
  const [mechanism, off] = readCstr(body, 0)
  const len = body.readInt32BE(off)
  return { mechanism, data: len < 0 ? null : body.subarray(off + 4, off + 4 + len) }
}

module.exports = {
  frame, cstr, u32, i32, u16,
  authOk, authCleartext, authMd5, authSasl, parameterStatus, backendKeyData, readyForQuery,
  parseComplete, bindComplete, noData, rowDescription, dataRow, commandComplete, errorResponse, startupOk,
  rawFrame, closeComplete, emptyQueryResponse, parameterDescription, notificationResponse,
  authSaslContinue, authSaslFinal, noticeResponse,
  splitFrontend, parseParseMessage, parseBindMessage, parseSaslInitialResponse,
}
