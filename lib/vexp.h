/* vexp.h - internal to lib/: the vectorised exp and the row operations built on it that the
 * forward kernels share (vocabulary softmax, attention softmax, SiLU).
 *
 * The float build computes exp with its own routine instead of libm's expf: the argument is
 * split as x = n ln2 + r (|r| <= ln2/2, Cody-Waite with a two-part ln2), exp(r) comes from a
 * degree-7 polynomial (Cephes expf's coefficients) and the result is scaled by 2^n. The
 * AVX-512 path (16 lanes, FMA, vscalefps) is chosen at run time (cpu.h); the portable path is
 * plain C the compiler vectorises. The two paths may differ in the last bit (FMA), each is
 * within 2 ulp of the correctly rounded exp for every float (tests/test_vexp.c measures it),
 * and neither depends on the thread count or on where an element sits in its row.
 * Edge cases: exp(-inf) = 0, exp(x) = 0 or the correctly rounded subnormal below -87.3,
 * exp(+inf) = +inf, overflow -> +inf, NaN -> NaN. No -ffast-math is involved.
 * The double build uses libm's exp in the same loops. */
#ifndef MLM_VEXP_H
#define MLM_VEXP_H
#include "common.h"

/* y (n) = exp(x); y may equal x. */
void mlm_vexp(mlm_real *y, const mlm_real *x, int64_t n);

/* y (n) = exp(x - shift); returns the sum of y, accumulated in fixed lanes (16, or 2 x 16 on
 * AVX-512) added by a fixed tree: the same order whichever thread calls it. y may equal x. */
mlm_real mlm_vexp_shift_sum(mlm_real *y, const mlm_real *x, int64_t n, mlm_real shift);

/* The largest element of x (n >= 1); NaNs are skipped unless every element is NaN. */
mlm_real mlm_vmax(const mlm_real *x, int64_t n);

/* p (n) = softmax(x) (stable: subtract the max, exp, multiply by 1/sum); p may equal x. */
void mlm_softmax_row(mlm_real *p, const mlm_real *x, int64_t n);

/* act (n) = gate / (1 + exp(-gate)). */
void mlm_silu_row(mlm_real *act, const mlm_real *gate, int64_t n);

#endif
