#!/bin/sh
# run.sh FUZZ_DIR SECONDS TARGET... - run each libFuzzer target for SECONDS on its generated
# seeds (FUZZ_DIR/seeds/<t>) plus the corpus earlier runs grew (FUZZ_DIR/corpus/<t>), print one
# line per target ("fuzz_trace: 1234567 executions in 30 s, corpus 210, no crash") and append
# it to FUZZ_DIR/runs.log. Exit 1 when any target found a crash, leak, timeout or property
# failure (the input is saved as FUZZ_DIR/crash-<t>-*, the log as FUZZ_DIR/<t>.log).
dir=$1; secs=$2; shift 2
bad=0
for t in "$@"; do
  bin="$dir/$t"
  [ -x "$bin" ] || { echo "$t: not built" >&2; bad=1; continue; }
  mkdir -p "$dir/corpus/$t"
  seeds="$dir/seeds/$t"; [ -d "$seeds" ] || seeds=
  case "$t" in
    fuzz_llama2c) extra="-max_len=16384";;
    fuzz_tokenizer_*) extra="-max_len=32768";;
    fuzz_trace) extra="-max_len=65536";;
    *) extra="-max_len=8192";;
  esac
  dict=tests/fuzz/json.dict; case "$t" in fuzz_llama2c|fuzz_tokenizer_bin) dict=;; esac
  t0=$(date +%s)
  ASAN_OPTIONS=detect_leaks=1:allocator_may_return_null=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 $extra \
    ${dict:+-dict=$dict} -artifact_prefix="$dir/crash-$t-" "$dir/corpus/$t" $seeds > "$dir/$t.log" 2>&1
  rc=$?
  el=$(( $(date +%s) - t0 ))
  runs=$(grep -aE '^stat::number_of_executed_units:' "$dir/$t.log" | awk '{print $2}')
  [ -z "$runs" ] && runs=$(grep -aoE '^#[0-9]+' "$dir/$t.log" | tail -1 | tr -d '#')
  corp=$(ls "$dir/corpus/$t" | wc -l)
  if [ $rc -ne 0 ]; then
    status="FOUND A PROBLEM (exit $rc, see $dir/$t.log)"; bad=1
    grep -aE 'ERROR:|runtime error|fuzz property failed|SUMMARY' "$dir/$t.log" | head -5
  else
    status="no crash"
  fi
  line="$t: ${runs:-?} executions in $el s, corpus $corp, $status"
  echo "$line"
  echo "$(date -u +%Y-%m-%dT%H:%MZ) $line" >> "$dir/runs.log"
done
exit $bad
