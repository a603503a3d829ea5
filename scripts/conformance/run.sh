#!/bin/bash
# usage: run.sh [file.test.ts ...]  (default: every *.test.ts in /tmp/conf/bun)
. /tmp/conf/env.sh
node /tmp/conf/rewrite.js
D=/tmp/conf/run; [ -n "$CONF_UV" ] && D=/tmp/conf/run-base; [ "$CONF_NATIVE" = 1 ] && D=/tmp/conf/run-native
mkdir -p $D; cd $D
files=("$@"); [ ${#files[@]} -eq 0 ] && files=($(cd /tmp/conf/bun && ls *.test.ts))
for f in "${files[@]}"; do case $f in *.test.ts) ;; *) continue;; esac
  echo "=== $f"
  timeout 300 ${UVSQL_ROOT:-/work/main}/node_modules/.bin/bun test --timeout 20000 ./$f 2>&1 | tee /tmp/conf/out${CONF_NATIVE:+-native}${CONF_UV:+-base}-$f.log | grep -a -E '^\(fail\)|^ *[0-9]+ (pass|fail|skip|todo)|error:' | head -80
done
