#!/bin/sh
# run.sh BUILD_DIR LOG - run every test program of one build, append per-program results to LOG.
# Each test program prints "name ... ok" / "FAIL file:line ..." lines and closes with
# "N passed, N failed"; a program that crashes or closes without that line counts as one failure.
build=$1; log=$2
: > "$log"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mlmtest.XXXXXX")
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  case "$t" in *.o|*.d) continue;; esac
  name=$(basename "$t")
  out="$tmp/$name.out"
  MLM_BUILD="$build" MLM_TMP="$tmp" "$t" > "$out" 2>&1
  rc=$?
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$out" | tail -1)
  if [ -z "$line" ]; then p=0; f=1; else p=${line%% passed*}; f=${line#*, }; f=${f%% failed}; fi
  [ $rc -ne 0 ] && [ "$f" = 0 ] && f=1
  if [ "$f" != 0 ]; then
    echo "---- $build: $name (exit $rc)"; grep -v ' \.\.\. ok$' "$out" | tail -40
  fi
  printf '%-28s %s\n' "$name" "${line:-crashed (exit $rc)}"
  echo "RESULT $build $name $p $f" >> "$log"
done
rm -rf "$tmp"
