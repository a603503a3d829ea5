'use strict';
// uvsql demo: `npm run demo`
//
// Uses $DATABASE_URL when it is set, otherwise starts a throwaway embedded
// PostgreSQL (PGlite, no install needed) and stops it again at the end.

const { SQL } = require('..');
const { startEmbeddedPostgres } = require('../scripts/embedded-pg');

async function main() {
  let url = process.env.DATABASE_URL;
  let server = null;
  if (!url) {
    server = await startEmbeddedPostgres();
    url = server.url;
    console.log(`DATABASE_URL is not set: using an embedded PostgreSQL (${server.kind}) at ${url}`);
  }

  // One connection: the temp table below lives in it, and the embedded
  // PGlite server takes one connection at a time anyway.
  const sql = new SQL(url, { max: 1 });
  try {
    await sql`create temp table fruits (id int, name text, ripe bool)`;

    // ${...} values are sent as bound parameters, never spliced into the SQL.
    const fruits = [
      { id: 1, name: 'apple', ripe: true },
      { id: 2, name: "bird's eye chili", ripe: false },
      { id: 3, name: 'cherry', ripe: true },
    ];
    await Promise.all(fruits.map((f) => sql`insert into fruits values (${f.id}, ${f.name}, ${f.ripe})`));

    const rows = await sql`select id, name, ripe from fruits where id >= ${1} order by id`;
    console.table([...rows]); // rows are plain objects: { id: 1, name: 'apple', ripe: true }

    try {
      await sql`select * from no_such_table`;
    } catch (err) {
      if (!(err instanceof SQL.PostgresError)) throw err;
      // code is 'ERR_POSTGRES_SERVER_ERROR'; errno is the SQLSTATE ('42P01')
      console.log(`caught ${err.code} (SQLSTATE ${err.errno}): ${err.message}`);
    }
  } finally {
    await sql.close();
    await server?.stop();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
