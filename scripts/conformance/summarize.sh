#!/bin/bash
# Table of pass/fail per Bun file: baseline uvsql (main), this branch, Bun 1.4.5's own Bun.SQL.
printf "%-52s %12s %12s %12s\n" file base branch bun-1.4.5
D=${CONF_DIR:-/tmp/conf}
for f in $(cd $D/bun && ls *.test.ts); do
  row=""
  for pre in out-base out out-native; do
    log=$D/$pre-$f.log
    if [ -f $log ]; then
      p=$(grep -a -E '^ *[0-9]+ pass' $log | tail -1 | awk '{print $1}'); x=$(grep -a -E '^ *[0-9]+ fail' $log | tail -1 | awk '{print $1}')
      row="$row $(printf '%12s' "${p:-0}/${x:-0}")"
    else row="$row $(printf '%12s' -)"; fi
  done
  printf "%-52s%s\n" $f "$row"
done
