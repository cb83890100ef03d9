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
# What people would use instead: Debian's PyTorch on the same shapes, when it is installed
# (`make crosscheck` installs it); never a dependency of the library or of the tests.
if /usr/bin/python3 -c 'import torch' >/dev/null 2>&1; then
  echo "== bench_torch.py"
  /usr/bin/python3 tests/bench_torch.py "${OMP_NUM_THREADS:-$(nproc)}" | tee -a "$tmp" | grep -v '^BENCH '
  # the library's figure against PyTorch's, both from this run: ratio = PyTorch time / ours
  awk '$1 == "BENCH" { v[$2] = $3 }
       END { if (("prefill" in v) && ("pytorch_prefill" in v))
               printf "BENCH prefill_vs_pytorch %s ms pytorch_prefill_ms %s %.3f\n", v["prefill"], v["pytorch_prefill"], v["pytorch_prefill"] / v["prefill"]
             if (("forward_logits" in v) && ("pytorch_forward_logits" in v))
               printf "BENCH forward_logits_vs_pytorch %s ms pytorch_forward_logits_ms %s %.3f\n", v["forward_logits"], v["pytorch_forward_logits"], v["pytorch_forward_logits"] / v["forward_logits"]
             if (("train_step" in v) && ("pytorch_train_step" in v))
               printf "BENCH train_step_vs_pytorch %s ms pytorch_train_step_ms %s %.3f\n", v["train_step"], v["pytorch_train_step"], v["pytorch_train_step"] / v["train_step"] }' \
    "$tmp" >> "$tmp.x" && cat "$tmp.x" >> "$tmp" && rm -f "$tmp.x"
else
  echo "== bench_torch.py skipped: /usr/bin/python3 cannot import torch (sudo apt-get install python3-torch)"
fi
# one object per well-formed line (7 fields, numbers where numbers belong); anything else is
# reported, never written as broken JSON
awk 'function num(x) { return x ~ /^-?[0-9]+\.?[0-9]*([eE][-+]?[0-9]+)?$/ }
     BEGIN { printf "[" }
     $1 == "BENCH" {
       if (NF != 7 || !num($3) || !num($6) || !num($7)) { print "bench.sh: skipped malformed line: " $0 > "/dev/stderr"; next }
       if (n++) printf ","
       printf "\n  {\"name\": \"%s\", \"value\": %s, \"unit\": \"%s\", \"baseline\": \"%s\", \"baseline_value\": %s, \"ratio\": %s}", $2, $3, $4, $5, $6, $7 }
     END { printf "\n]\n" }' "$tmp" > "$out.tmp" && mv "$out.tmp" "$out"
grep '^BENCH ' "$tmp" | awk '{ printf "  %-22s %12s %-10s vs %-26s %12s  ratio %s\n", $2, $3, $4, $5, $6, $7 }'
rm -f "$tmp"
echo "wrote $out"
