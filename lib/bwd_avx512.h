/* bwd_avx512.h - internal to lib/: the AVX-512 row kernels behind the fast paths of
 * kernels_bwd.c (cross-entropy, SwiGLU). Compiled in the float build on x86-64 with GCC only
 * (MLM_BWD_AVX512 defined); callers take them when mlm_cpu_isa() == MLM_ISA_AVX512 and keep
 * their plain C loop beside them. */
#ifndef MLM_BWD_AVX512_H
#define MLM_BWD_AVX512_H
#include "common.h"

#if !defined(MLM_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define MLM_BWD_AVX512 1

/* One row of the cross-entropy (x (V) logits, target in [0, V)): returns the row's loss
 * log sum_j exp(x_j - max) + max - x_target; when dx is not NULL WRITES
 * dx = exp(x - max) / (sum * n) and subtracts 1/n at the target, as the portable loop of
 * mlm_crossentropy_backward (the sum of exps is accumulated in double in 16 fixed lanes; the
 * exps are stored in dx, then scaled in place). dx must not overlap x. */
double mlm_ce_row_avx512(float *dx, const float *x, int64_t V, int target, double n);

/* Elements [i0, i1) of mlm_swiglu_backward (kernels_bwd.h). */
void mlm_swiglu_rows_avx512(float *dgate, float *dup, float *dact, const float *dhidden, const float *gate,
                            const float *up, int64_t i0, int64_t i1);


#endif
#endif
