'use strict'
// The servers that test/run.js started. Tests never skip for lack of a server: run them with
// `npm test` (or `node test/run.js <files>`), which starts PostgreSQL and MariaDB first.

const assert = require('node:assert')

function need(name) {
  const v = process.env[name]
  assert.ok(v, `${name} is not set: run the tests through \`npm test\` / \`node test/run.js\`, which starts the servers`)
  return v
}

const pg = {
  get url() { return need('UVSQL_TEST_PG_URL') },
  get trust() { return need('UVSQL_TEST_PG_URL_TRUST') },
  get md5() { return need('UVSQL_TEST_PG_URL_MD5') },
  get scram() { return need('UVSQL_TEST_PG_URL_SCRAM') },
  get cleartext() { return need('UVSQL_TEST_PG_URL_CLEARTEXT') },
  get admin() { return need('UVSQL_TEST_PG_ADMIN_URL') },
  get host() { return need('UVSQL_TEST_PG_HOST') },
  get port() { return Number(need('UVSQL_TEST_PG_PORT')) },
  get socketDir() { return need('UVSQL_TEST_PG_SOCKET_DIR') },
  get database() { return need('UVSQL_TEST_PG_DATABASE') },
}

const mysql = {
  get url() { return need('UVSQL_TEST_MYSQL_URL') },
  get nopass() { return need('UVSQL_TEST_MYSQL_URL_NOPASS') },
  get ed25519() { return need('UVSQL_TEST_MYSQL_URL_ED25519') },
  get tls() { return need('UVSQL_TEST_MYSQL_URL_TLS') },
  get host() { return need('UVSQL_TEST_MYSQL_HOST') },
  get port() { return Number(need('UVSQL_TEST_MYSQL_PORT')) },
  get socket() { return need('UVSQL_TEST_MYSQL_SOCKET') },
  get database() { return need('UVSQL_TEST_MYSQL_DATABASE') },
  get client() { return need('UVSQL_TEST_MYSQL_CLIENT') },
}

module.exports = { pg, mysql, need }
