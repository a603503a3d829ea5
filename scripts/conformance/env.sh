# source me: exports the uvsql test servers' variables from the --servers-only log
eval "$(grep '^export ' /tmp/conformance-servers.log)"
export DATABASE_URL="postgres://bun_sql_test@127.0.0.1:$UVSQL_TEST_PG_PORT/bun_sql_test"
