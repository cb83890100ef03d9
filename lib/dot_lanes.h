/* dot_lanes.h - internal to lib/: the portable dot product the kernels share (gemm.c's
 * portable matmul, kernels.c's attention scores).
 *
 * It accumulates in MLM_DOT_LANES independent partial sums added in a fixed order at the end.
 * The lane loop is element-wise, so the compiler vectorises it without reassociating anything:
 * the result is the same bits whichever row, tile or thread computes it. */
#ifndef MLM_DOT_LANES_H
#define MLM_DOT_LANES_H
#include "common.h"

#define MLM_DOT_LANES 8

static inline mlm_real mlm_lanes_sum(const mlm_real *acc) {
    return ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
}

static inline mlm_real mlm_dot_lanes(const mlm_real *a, const mlm_real *b, int64_t n) {
    mlm_real acc[MLM_DOT_LANES] = {0};
    int64_t c = 0;
    for (; c + MLM_DOT_LANES <= n; c += MLM_DOT_LANES)
        for (int l = 0; l < MLM_DOT_LANES; l++) acc[l] += a[c + l] * b[c + l];
    mlm_real s = mlm_lanes_sum(acc);
    for (; c < n; c++) s += a[c] * b[c];
    return s;
}

#endif
