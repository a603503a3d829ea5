#!/bin/bash
# usage: run.sh [file.test.ts ...]  (default: every *.test.ts in $CONF_DIR/bun)
. ${CONF_DIR:-/tmp/conf}/env.sh
node $CONF_DIR/rewrite.js
D=$CONF_DIR/run; [ -n "$CONF_UV" ] && D=$CONF_DIR/run-base; [ "$CONF_NATIVE" = 1 ] && D=$CONF_DIR/run-native
mkdir -p $D; cd $D
files=("$@"); [ ${#files[@]} -eq 0 ] && files=($(cd $CONF_DIR/bun && ls *.test.ts))
for f in "${files[@]}"; do case $f in *.test.ts) ;; *) continue;; esac
  echo "=== $f"
  timeout 300 ${UVSQL_ROOT:-/work/main}/node_modules/.bin/bun test --timeout 20000 ./$f 2>&1 | tee $CONF_DIR/out${CONF_NATIVE:+-native}${CONF_UV:+-base}-$f.log | grep -a -E '^\(fail\)|^ *[0-9]+ (pass|fail|skip|todo)|error:' | head -80
done
