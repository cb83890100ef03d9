/* stack_run.h - one stack of N blocks measured forward and backward (analyses 4 and 8): the
 * norm of the residual stream and of its gradient at every block boundary, the backward
 * started from an output gradient of ones / numel. */
#ifndef MLM_STACK_RUN_H
#define MLM_STACK_RUN_H
#include "config.h"

typedef struct {
    int N;
    double *act, *grad; /* (N+1) norms at the boundaries: 0 = input, l+1 = after block l (owned) */
} mlm_stack_run;

/* Builds base with N blocks in norm position np (block matrices scaled by 1/sqrt(N) when
 * scale), seeded with seed, runs x (1, T, d) forward and backward. 0, or -1 with e set. */
int mlm_stack_run_measure(const mlm_config *base, int N, mlm_norm_pos np, int scale, uint64_t seed, const mlm_real *x,
                          int T, mlm_stack_run *r, mlm_err *e);
void mlm_stack_run_free(mlm_stack_run *r);

#endif
