'use strict'
// TLS options with Bun.SQL's semantics:
// - `tls` (alias `ssl`): boolean | mode string | Node-style TLS options object.
// - a mode string selects the mode: disable, allow, prefer, require, verify-ca, verify-full;
//   `sslmode` in the URL (or PGSSLMODE) does the same when the option names no mode.
// - `true` or an object ask for at least `require`; an object with ca, caFile,
//   checkServerIdentity or rejectUnauthorized: true raises a lower mode to `verify-full`.
// - `require` encrypts but does not check the certificate; verify-ca checks the chain;
//   verify-full also checks the host name (SAN) and sends SNI.
// - without rejectUnauthorized, NODE_TLS_REJECT_UNAUTHORIZED=0 turns verification off.
// - a URL read from a TLS_* environment variable means `require` unless a mode is named.
// - unix sockets never use TLS (as Bun.SQL).
// Deliberate difference: `allow` (libpq: plaintext first, TLS only if the server insists) is
// treated as `prefer` (TLS first, plaintext when the server has none); both are unauthenticated.

const fs = require('node:fs')
const net = require('node:net')

const { invalid } = require('./option-values.js')

const MODES = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full']
// What the native side gets: 0 disable, 1 try TLS then plaintext, 2 TLS required.
const NATIVE_MODE = { disable: 0, allow: 1, prefer: 1, require: 2, 'verify-ca': 2, 'verify-full': 2 }

function checkMode(mode, where) {
  if (!MODES.includes(mode)) {
    throw invalid(`${where} must be one of ${MODES.join(', ')}; got '${mode}'`)
  }
  return mode
}

// PEM text from a string, Buffer, or an array of them.
function pem(value, name) {
  if (value === undefined || value === null) return undefined
  if (Array.isArray(value)) return value.map((v) => pem(v, name)).join('\n')
  if (typeof value === 'string') return value
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return Buffer.from(value).toString('utf8')
  throw invalid(`tls.${name} must be a PEM string, a Buffer, or an array of them`)
}

function readFile(file, what) {
  try {
    return fs.readFileSync(file, 'utf8')
  } catch (err) {
    const e = new Error(`could not read the ${what} file '${file}': ${err.code || err.message}`)
    e.code = 'ERR_POSTGRES_TLS_CONFIG'
    throw e
  }
}

// tls: the option value; urlMode: sslmode from the URL or PGSSLMODE; urlFiles: libpq-style
// sslrootcert/sslcert/sslkey from the URL; fromTlsEnv: the URL came from a TLS_* variable.
function resolveTls({ tls, urlMode, urlFiles = {}, fromTlsEnv = false, hostname, socketPath, env = process.env }) {
  const object = tls !== null && typeof tls === 'object' && !Buffer.isBuffer(tls) ? tls : null
  let mode
  if (typeof tls === 'string') mode = checkMode(tls, 'tls')
  else if (urlMode !== undefined) mode = checkMode(urlMode, 'sslmode')
  else if (tls === true || object) mode = 'require'
  else if (fromTlsEnv) mode = 'require'
  else mode = 'disable'
  if (tls === false) mode = 'disable'
  if (object && (tls === true || object) && NATIVE_MODE[mode] < 2) mode = 'require'
  if (object && MODES.indexOf(mode) < MODES.indexOf('verify-ca') &&
      (object.ca !== undefined || object.caFile !== undefined || object.checkServerIdentity !== undefined ||
       object.rejectUnauthorized === true)) {
    mode = 'verify-full'
  }
  if (socketPath || mode === 'disable') return { mode: socketPath ? 'disable' : mode, nativeMode: 0, native: undefined }

  let verifyPeer = mode === 'verify-ca' || mode === 'verify-full'
  let verifyHost = mode === 'verify-full'
  const reject = object ? object.rejectUnauthorized : undefined
  if (reject === false || (reject === undefined && env.NODE_TLS_REJECT_UNAUTHORIZED === '0')) {
    verifyPeer = false
    verifyHost = false
  }
  let ca = object ? pem(object.ca, 'ca') : undefined
  if (ca === undefined && object && object.caFile) ca = readFile(object.caFile, 'CA')
  if (ca === undefined && urlFiles.sslrootcert && urlFiles.sslrootcert !== 'system') ca = readFile(urlFiles.sslrootcert, 'CA')
  if (ca === undefined && verifyPeer) ca = require('node:tls').rootCertificates.join('\n')
  let cert = object ? pem(object.cert, 'cert') : undefined
  if (cert === undefined && urlFiles.sslcert) cert = readFile(urlFiles.sslcert, 'client certificate')
  let key = object ? pem(object.key, 'key') : undefined
  if (key === undefined && urlFiles.sslkey) key = readFile(urlFiles.sslkey, 'client key')
  const servername = object && typeof object.servername === 'string' ? object.servername : hostname
  const native = {
    verifyPeer: verifyPeer ? 1 : 0,
    verifyHost: verifyHost ? 1 : 0,
    ca,
    cert,
    key,
    servername: net.isIP(servername) === 6 ? servername.replace(/^\[|\]$/g, '') : servername,
  }
  // lib/options.js moves the key out of this object, into its private secrets.
  return { mode, nativeMode: NATIVE_MODE[mode], native }
}

module.exports = { resolveTls }
