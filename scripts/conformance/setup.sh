#!/bin/bash
# Gives the throwaway test servers the roles/databases Bun's docker images have.
set -e
. ${CONF_DIR:-/tmp/conf}/env.sh
HBA=$UVSQL_TEST_PG_DATA/pg_hba.conf
if ! grep -q bun_sql_test $HBA; then
  { printf 'host all bun_sql_test 127.0.0.1/32 trust\nhost all bun_sql_test_md5 127.0.0.1/32 md5\nhost all bun_sql_test_scram 127.0.0.1/32 scram-sha-256\nhost all bun_sql_test ::1/128 trust\nhost all postgres ::1/128 trust\n'; cat $HBA; } > $CONF_DIR/hba.new
  cat $CONF_DIR/hba.new > $HBA
fi
cd "${UVSQL_ROOT:-/work/main}"
node $CONF_DIR/setup-pg.js
$UVSQL_TEST_MYSQL_CLIENT -S $UVSQL_TEST_MYSQL_SOCKET -u root -e "CREATE DATABASE IF NOT EXISTS bun_sql_test; CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; CREATE USER IF NOT EXISTS 'root'@'::1' IDENTIFIED BY ''; GRANT ALL ON *.* TO 'root'@'::1' WITH GRANT OPTION;" 

# tables Bun's tests create with fixed names, left behind by an interrupted run
psql_drop() { node -e 'const {SQL}=require(process.env.UVSQL_ROOT || "/work/main");(async()=>{const a=new SQL(process.argv[1],{max:1});for(const t of ["test","test2","users","students"])await a.unsafe(`drop table if exists ${t}`);await a.close()})()' "$1"; }
psql_drop "postgres://bun_sql_test@127.0.0.1:$UVSQL_TEST_PG_PORT/bun_sql_test"
psql_drop "mysql://root@127.0.0.1:$UVSQL_TEST_MYSQL_PORT/bun_sql_test"
# Self-signed certificates for the scripted TLS backends (harness.ts `tls`, `expiredTls`; the
# "checks the certificate against the host name" test wants one naming only localhost).
mkdir -p $CONF_DIR/certs
for n in tls:IP:127.0.0.1,DNS:localhost other:IP:127.0.0.1,DNS:localhost hostonly:DNS:localhost; do
  name=${n%%:*}
  [ -f $CONF_DIR/certs/$name.crt ] || openssl req -x509 -newkey rsa:2048 -nodes -keyout $CONF_DIR/certs/$name.key \
    -out $CONF_DIR/certs/$name.crt -days 3650 -subj "/CN=$name" -addext "subjectAltName=${n#*:}" 2>/dev/null
done
echo setup ok
