'use strict'
// Server-side views and controls for tests against the real MariaDB that test/run.js started,
// through the `mariadb` command-line client as root over the unix socket: independent of uvsql,
// and synchronous on purpose (a test can block its own event loop while connections die).
//
//   mysqlSync('select 1')          // rows as tab-separated text
//   countUserSync('uvsql')         // server connections of that user now
//   killUserSync('uvsql')          // KILL CONNECTION for each of them; returns how many

const { execFileSync } = require('node:child_process')
const { mysql } = require('./env.js')

function mysqlSync(sqlText) {
  return execFileSync(mysql.client, ['--no-defaults', '--protocol=socket', `--socket=${mysql.socket}`, '-uroot',
    '--connect-timeout=5', '--batch', '--skip-column-names', '--force', '-e', sqlText],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
}

function idsOf(user) {
  return mysqlSync(`select id from information_schema.processlist where user = '${user}'`)
    .trim().split('\n').filter(Boolean).map(Number)
}

function countUserSync(user) {
  return idsOf(user).length
}

// Kills every connection of `user` and waits until the server lists none of them.
function killUserSync(user) {
  const ids = idsOf(user)
  if (ids.length === 0) return 0
  try {
    mysqlSync(ids.map((id) => `KILL CONNECTION ${id};`).join(' '))
  } catch {
    // --force goes on after a connection that ended by itself; the exit code is still 1.
  }
  for (let i = 0; i < 400 && countUserSync(user) > 0; i++) execFileSync('sleep', ['0.005'])
  return ids.length
}

module.exports = { mysqlSync, countUserSync, killUserSync }
