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

module.exports = {
  frame, cstr, u32, i32, u16,
  authOk, authCleartext, authMd5, authSasl, parameterStatus, backendKeyData, readyForQuery,
  parseComplete, bindComplete, noData, rowDescription, dataRow, commandComplete, errorResponse, startupOk,
}
