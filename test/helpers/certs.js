// Throwaway TLS material for the test servers, made with the `openssl` CLI.
// makeCerts(dir) -> { ca, caKey, cert, key }: a self-signed CA and a server
// certificate for CN=localhost with SAN DNS:localhost, IP:127.0.0.1.
// Only Node built-ins; no system openssl.cnf is read (our own -config files).
'use strict'
const { execFile } = require('node:child_process')
const { writeFileSync, chmodSync } = require('node:fs')
const { join } = require('node:path')
const { randomBytes } = require('node:crypto')

function openssl (args, cwd) {
  return new Promise((resolve, reject) => {
    execFile('openssl', args, { cwd, env: { ...process.env, OPENSSL_CONF: '/dev/null' } }, (err, stdout, stderr) => {
      if (err) {
        err.message = `openssl ${args.join(' ')} failed: ${stderr || err.message}`
        reject(err)
      } else resolve(stdout)
    })
  })
}

const serial = () => '0x' + randomBytes(8).toString('hex').replace(/^./, '1')

async function makeCerts (dir, { cn = 'localhost', san = 'DNS:localhost,IP:127.0.0.1', caName = 'uvsql test CA' } = {}) {
  const p = (f) => join(dir, f)
  writeFileSync(p('ca.cnf'), [
    '[req]', 'distinguished_name=dn', 'prompt=no', 'x509_extensions=v3_ca',
    '[dn]', `CN=${caName}`,
    '[v3_ca]', 'basicConstraints=critical,CA:TRUE', 'keyUsage=critical,keyCertSign,cRLSign',
    'subjectKeyIdentifier=hash', ''
  ].join('\n'))
  writeFileSync(p('server.cnf'), [
    '[req]', 'distinguished_name=dn', 'prompt=no',
    '[dn]', `CN=${cn}`,
    '[v3_server]', 'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature,keyEncipherment', 'extendedKeyUsage=serverAuth',
    `subjectAltName=${san}`, 'subjectKeyIdentifier=hash', 'authorityKeyIdentifier=keyid', ''
  ].join('\n'))

  // The CA and the server key are independent: make them in parallel.
  await Promise.all([
    openssl(['req', '-x509', '-new', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '3650',
      '-set_serial', serial(), '-config', 'ca.cnf', '-keyout', 'ca.key', '-out', 'ca.crt'], dir),
    openssl(['req', '-new', '-newkey', 'rsa:2048', '-nodes', '-sha256',
      '-config', 'server.cnf', '-keyout', 'server.key', '-out', 'server.csr'], dir)
  ])
  await openssl(['x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key',
    '-set_serial', serial(), '-days', '3650', '-sha256',
    '-extfile', 'server.cnf', '-extensions', 'v3_server', '-out', 'server.crt'], dir)

  for (const f of ['ca.crt', 'server.crt']) chmodSync(p(f), 0o644)
  for (const f of ['ca.key', 'server.key']) chmodSync(p(f), 0o600)
  return { ca: p('ca.crt'), caKey: p('ca.key'), cert: p('server.crt'), key: p('server.key') }
}

module.exports = { makeCerts }
