const { SQL } = require(process.env.UVSQL_ROOT || "/work/main");
(async () => {
  const a = new SQL(process.env.UVSQL_TEST_PG_ADMIN_URL, { max: 1 });
  await a`select pg_reload_conf()`;
  const roles = [["bun_sql_test", null, null], ["bun_sql_test_md5", "bun_sql_test_md5", "md5"], ["bun_sql_test_scram", "bun_sql_test_scram", "scram-sha-256"]];
  for (const [u, p, m] of roles) {
    const [{ n }] = await a`select count(*)::int as n from pg_roles where rolname = ${u}`;
    if (n) continue;
    if (m) await a.unsafe(`set password_encryption = '${m}'`);
    await a.unsafe(`create role ${u} login superuser` + (p ? ` password '${p}'` : ""));
  }
  const [{ n }] = await a`select count(*)::int as n from pg_database where datname = 'bun_sql_test'`;
  if (!n) await a.unsafe("create database bun_sql_test owner bun_sql_test");
  await a.close();
})().catch(e => { console.error(e); process.exit(1) });
