/* bf16.h - an opt-in bfloat16 copy of a model's matrices for decoding.
 *
 * Decoding one token reads every weight once and does 2 FLOPs per weight: it is bound by
 * memory bandwidth, not arithmetic (docs/performance.md). Storing the matrices as bfloat16
 * (the top 16 bits of a float32: same exponent range, 8 bits of mantissa) halves the bytes per
 * token. The float32 model stays the reference; this store is a second, read-only copy made
 * once (mlm_bf16_new) and passed to mlm_decode_step_bf16.
 *
 * Paths (chosen at run time, cpu.h): AVX-512 BF16 (vdpbf16ps: the activation row is rounded to
 * bfloat16 too, products of two bf16 summed in float32) where the CPU has it; portable C
 * elsewhere (weights widened to float, activations kept in float). */
#ifndef MLM_BF16_H
#define MLM_BF16_H
#include "common.h"
#include "forward.h"
#include "model.h"

typedef uint16_t mlm_bf16;

/* float -> bfloat16, rounding to nearest even (NaN stays NaN); and back (exact). */
mlm_bf16 mlm_bf16_from_float(float f);
float mlm_bf16_to_float(mlm_bf16 h);
void mlm_bf16_convert(mlm_bf16 *dst, const mlm_real *src, int64_t n);

/* The matrices of a model in bfloat16, pointers laid out as mlm_params (one allocation). */
typedef struct {
    mlm_bf16 *mem;
    int64_t n;                          /* elements in mem */
    mlm_bf16 *wq, *wk, *wv, *wo;        /* (L, qd, d), (L, kvd, d) x 2, (L, d, qd) */
    mlm_bf16 *w_gate, *w_up, *w_down;   /* (L, d_ff, d) x 2 (gate empty for ReLU), (L, d, d_ff) */
    mlm_bf16 *lm_head;                  /* (V, d), its own copy even when tied */
} mlm_bf16_weights;

/* A bfloat16 copy of m's matrices. Returns NULL (message in e) when memory runs out. The
 * caller frees it with mlm_bf16_free (NULL is a no-op); it does not track later changes of m. */
mlm_bf16_weights *mlm_bf16_new(const mlm_model *m, mlm_err *e);
void mlm_bf16_free(mlm_bf16_weights *b);
/* Bytes of the bfloat16 matrices (what one decode step reads of them). */
int64_t mlm_bf16_bytes(const mlm_bf16_weights *b);

/* out (N, OC) = in (N, C) @ w^T with w (OC, C) in bfloat16; returns 2*N*C*OC FLOPs. C must be
 * at most 65536 (the activation row is rounded into a buffer on the stack). */
uint64_t mlm_matmul_forward_bf16(mlm_real *out, const mlm_real *in, const mlm_bf16 *w, int64_t N, int64_t C,
                                 int64_t OC);
/* n products of one input: out[g] (N, OC[g]) = in @ w[g]^T, each with the bits
 * mlm_matmul_forward_bf16 gives it; for one row (decoding) in a single parallel region.
 * flops (may be NULL): flops[g] = 2 N C OC[g]. */
void mlm_matmul_forward_bf16_group(int n, mlm_real *const out[], const mlm_bf16 *const w[], const int64_t OC[],
                                   const mlm_real *in, int64_t N, int64_t C, uint64_t *flops);
/* A one-row product split by the caller between the threads of its own region (decode.c):
 * mlm_bf16_row_prepare rounds the row in (C) into xb (C elements, 64-byte aligned) when the
 * AVX-512 BF16 path takes it and returns 1 (0: the portable path, xb unused); then
 * mlm_bf16_rows computes out rows [o0, o1) on the calling thread, with the bits
 * mlm_matmul_forward_bf16 gives them (fast: what prepare returned for this row). */
int mlm_bf16_row_prepare(mlm_bf16 *xb, const mlm_real *in, int64_t C);
void mlm_bf16_rows(mlm_real *out, const mlm_real *in, const mlm_bf16 *xb, int fast, const mlm_bf16 *w, int64_t o0,
                   int64_t o1, int64_t C);
/* The plain loop: widen each weight, accumulate in double. */
uint64_t mlm_matmul_forward_bf16_ref(mlm_real *out, const mlm_real *in, const mlm_bf16 *w, int64_t N, int64_t C,
                                     int64_t OC);

/* mlm_decode_step with the matrices read from b (the norms, the embedding and the KV cache
 * stay float). Same contract as mlm_decode_step; defined in forward.c. */
mlm_status mlm_decode_step_bf16(const mlm_model *m, const mlm_bf16_weights *b, mlm_kv_cache *c, int token, int pos,
                                mlm_real *logits, const mlm_fwd_opts *o, mlm_probe *p, mlm_err *e);

#endif
