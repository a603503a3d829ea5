# source me: exports the uvsql test servers' variables from the --servers-only log.
# CONF_DIR (default /tmp/conf) holds the harness; CONF_SERVERS_LOG names the servers' log, so
# two checkouts can each run the recipe on their own servers at once.
export CONF_DIR=${CONF_DIR:-/tmp/conf}
eval "$(grep '^export ' ${CONF_SERVERS_LOG:-/tmp/conformance-servers.log})"
export DATABASE_URL="postgres://bun_sql_test@127.0.0.1:$UVSQL_TEST_PG_PORT/bun_sql_test"
