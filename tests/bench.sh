#!/bin/sh
# bench.sh BUILD - run every benchmark program of a build; print their tables and collect
# their "BENCH name value unit baseline baseline_value ratio" lines into results/bench.json.
build=$1
out=results/bench.json
tmp=$(mktemp)
echo "machine: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $(nproc) cores"
for b in "$build"/tests/bench_*; do
  [ -x "$b" ] || continue
  case "$b" in *.o|*.d) continue;; esac
  echo "== $(basename "$b")"
  "$b" | tee -a "$tmp" | grep -v '^BENCH '
done
awk 'BEGIN { printf "[" }
     $1 == "BENCH" { if (n++) printf ","; printf "\n  {\"name\": \"%s\", \"value\": %s, \"unit\": \"%s\", \"baseline\": \"%s\", \"baseline_value\": %s, \"ratio\": %s}", $2, $3, $4, $5, $6, $7 }
     END { printf "\n]\n" }' "$tmp" > "$out.tmp" && mv "$out.tmp" "$out"
grep '^BENCH ' "$tmp" | awk '{ printf "  %-22s %12s %-10s vs %-26s %12s  ratio %s\n", $2, $3, $4, $5, $6, $7 }'
rm -f "$tmp"
echo "wrote $out"
