/* gemm.h - the fast matrix products under the forward and backward passes.
 *
 * Two shapes of product cover every matmul of the model (N tokens, C input width, OC output
 * width; weights w (OC, C) row-major, the PyTorch Linear layout):
 *
 *   mlm_gemm_nt   y (N, OC) = x (N, C) @ w^T            the forward: both operands are read
 *                                                       along C, a dot product per element
 *   mlm_gemm_acc  y (M, n) += A (M, K) @ B (K, n)       the backward: dinp += dout @ w
 *                 A[r, k] = a[r*lda + k*sa]             (A = dout, B = w) and
 *                 B (K, n) row-major                    dw += dout^T @ in (A = dout^T, B = in)
 *
 * The plain loops they replace are mlm_matmul_forward_ref (kernels.c) and
 * mlm_matmul_backward_ref (kernels_bwd.c); tests/test_gemm.c compares every path with them.
 *
 * Paths (chosen at run time, cpu.h): AVX-512 micro-kernels in the float build on a CPU that has
 * AVX-512 F/BW/VL and FMA; portable C otherwise (and always in the double build).
 *
 * Determinism. Each output element is computed by one thread with one fixed sequence of
 * operations that depends on nothing but C (or K) and the entry point: not on N, on the tile
 * an element falls in, on the row range a thread owns, or on the thread count.
 *   nt (prefill, training, any N, one row too): one FMA per term in increasing c, starting
 *        from 0 - the broadcast form on a panel of w transposed into a buffer (w^T's 48
 *        columns per pass). A token row has the same bits alone or in any batch.
 *   nt_decode (one row, decoding with the KV cache): 16 lane partial sums (lane l takes the
 *        terms c = l mod 16, in increasing c, one FMA each), then a fixed halving tree (lane
 *        l + l+8, then + l+4, + l+2, + l+1): the dot-product form reads w once, in its own
 *        layout, at the speed of memory. A decoded row therefore agrees with the same row of a
 *        full pass to rounding.
 *   acc: one FMA per term in increasing k, starting from the old value of y.
 * The portable path has its own fixed order (8 lanes, for nt and nt_decode alike), which
 * differs from the AVX-512 path's by rounding; both are compared with the double-accumulating
 * references. */
#ifndef MLM_GEMM_H
#define MLM_GEMM_H
#include "common.h"

/* y (N, OC) = x (N, C) @ w^T, w (OC, C). Writes y (no accumulation). y must not alias x or w. */
void mlm_gemm_nt(mlm_real *y, const mlm_real *x, const mlm_real *w, int64_t N, int64_t C, int64_t OC);

/* Decoding: the one-row product y (1, OC) = x (1, C) @ w^T with the dot-product kernel, which
 * reads w once, in its own layout, at the speed of memory. Its bits differ from mlm_gemm_nt's
 * for the same row by rounding (the order is in the header comment above). */
void mlm_gemm_nt_decode(mlm_real *y, const mlm_real *x, const mlm_real *w, int64_t C, int64_t OC);

/* n one-row products of one x (decoding's q, k and v, or gate and up) in a single parallel
 * region: y[g] (1, OC[g]) = x (1, C) @ w[g]^T, each with the bits mlm_gemm_nt_decode gives it.
 * flops (may be NULL): flops[g] = 2 C OC[g], the count mlm_matmul_forward_decode returns. */
void mlm_gemm_nt_decode_group(int n, mlm_real *const y[], const mlm_real *const w[], const int64_t OC[],
                              const mlm_real *x, int64_t C, uint64_t *flops);

/* Rows [o0, o1) of the one-row product y (1, OC) = x (1, C) @ w^T, on the calling thread (no
 * parallel region): the bits mlm_gemm_nt_decode gives them. For callers that split the rows of
 * a product between the threads of their own region (decode.c). */
void mlm_gemm_nt_rows(mlm_real *y, const mlm_real *x, const mlm_real *w, int64_t o0, int64_t o1, int64_t C);

/* y (M, n) += A (M, K) @ B (K, n): y row-major with row stride n, A[r, k] = a[r*lda + k*sa],
 * B row-major with row stride n. Rows of y are independent, so threads split them. */
void mlm_gemm_acc(mlm_real *y, const mlm_real *a, int64_t lda, int64_t sa, const mlm_real *b, int64_t M, int64_t K,
                  int64_t n);

/* The portable paths, callable directly whatever the CPU (tests and benches compare them). */
void mlm_gemm_nt_portable(mlm_real *y, const mlm_real *x, const mlm_real *w, int64_t N, int64_t C, int64_t OC);
void mlm_gemm_acc_portable(mlm_real *y, const mlm_real *a, int64_t lda, int64_t sa, const mlm_real *b, int64_t M,
                           int64_t K, int64_t n);

/* 1 when mlm_gemm_nt / mlm_gemm_acc take the AVX-512 path in this build on this CPU. */
int mlm_gemm_fast(void);

#endif
