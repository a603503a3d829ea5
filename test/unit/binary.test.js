'use strict'
// The built addon: OpenSSL is inside it and hidden, and it exports only the module init.

const { test } = require('node:test')
const assert = require('node:assert')
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const file = path.join(__dirname, '..', '..', 'build', 'Release', 'uvsql.node')

function nm(args) {
  const r = spawnSync('nm', [...args, file], { encoding: 'utf8' })
  assert.strictEqual(r.status, 0, r.stderr)
  return r.stdout.split('\n').filter(Boolean).map((l) => l.trim().split(/\s+/).pop())
}

test('the addon was built', () => {
  assert.ok(fs.existsSync(file), `${file} is missing: run npm install`)
})

test('no OpenSSL symbol is imported from the host (it would not exist under Bun)', () => {
  const imported = nm(['-D', '--undefined-only'])
  const ssl = imported.filter((s) => /^(SSL_|EVP_|OPENSSL_|CRYPTO_|RAND_|ERR_|BIO_|X509_|PKCS5_|HMAC)/.test(s))
  assert.deepStrictEqual(ssl, [])
})

test('only the Node-API module init is exported', () => {
  const exported = nm(['-D', '--defined-only'])
  assert.deepStrictEqual(exported.sort(), ['napi_register_module_v1', 'node_api_module_get_api_version_v1'])
})
