#!/bin/sh
# summary.sh LOG... - sum the RESULT lines of tests/run.sh, print "N passed, N failed", exit 1 on failure.
cat "$@" 2>/dev/null | awk '$1=="RESULT"{p+=$4; f+=$5; n++}
  END { if (n == 0) { print "0 passed, 1 failed"; exit 1 }
        printf "%d passed, %d failed\n", p, f; exit (f > 0) }'
