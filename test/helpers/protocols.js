'use strict'
// The two protocols as the shared suites see them: the real server's URL and the few SQL
// spellings and error names that differ. A suite loops over `protocols` for the behaviour both
// must share (pool lifecycle, close, stats, transactions).

const { pg, mysql } = require('./env.js')

const protocols = [
  {
    name: 'PostgreSQL',
    get url() { return pg.url },
    refusedUrl: 'postgres://nobody@127.0.0.1:1/x',
    ErrorName: 'PostgresError',
    code: (label) => 'ERR_POSTGRES_' + label,
    sleep: (sql, seconds) => sql`select pg_sleep(${seconds})`,
    int: (sql, v) => sql`select ${v}::int as n`,
  },
  {
    name: 'MySQL',
    get url() { return mysql.url },
    refusedUrl: 'mysql://nobody@127.0.0.1:1/x',
    ErrorName: 'MySQLError',
    code: (label) => 'ERR_MYSQL_' + label,
    sleep: (sql, seconds) => sql`select sleep(${seconds})`,
    int: (sql, v) => sql`select ${v} as n`,
  },
]

module.exports = { protocols }
