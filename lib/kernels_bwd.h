/* kernels_bwd.h - the backward math of every forward op of kernels.h, each returning the FLOPs
 * its loops performed.
 *
 * Conventions (as kernels.h; B batch, T sequence, N = B*T tokens, C input width, OC output
 * width): gradients are prefixed d; outputs first (dinp, then dweight...), then the incoming
 * gradient dout, then the saved forward tensors, then sizes. Unless a kernel says "writes",
 * it ACCUMULATES (+=) into its gradient outputs, so that the gradients of a tensor read by
 * several ops (the attention input read by Q, K and V) sum, and weight gradients accumulate
 * across calls until the caller zeroes them.
 *
 * FLOP conventions (one multiply, add, divide, exp, log or sqrt = 1 FLOP; comparisons, copies
 * and selections are not FLOPs; an accumulation (+=) counts its add):
 *   matmul       dinp 2*OC per dinp element (N*C of them), dweight 2*N per dweight element
 *                (OC*C of them): each of the two products costs exactly the forward's 2*N*C*OC
 *   rmsnorm      dinp 8 per element + 3 per row (row dot g*dy*x: 3/elt; coef = dot*r^3/C:
 *                3/row; per element g*dy, x*coef, subtract, *r, accumulate: 5);
 *                dgain 3 per element (dy*x, *r, accumulate)
 *   rope         3 per rotated element (the transposed rotation; as the forward)
 *   attention    per computed score (T(T+1)/2 per head and sequence with the causal
 *                mask, fewer with a window, T*T without the mask; the backward skips masked
 *                entries even when the forward ran dense, so o->dense changes neither its
 *                result nor its count): dprobs 2*dk (dheads . v), dv 2*dk (accumulate p * dheads),
 *                softmax backward 4 (p*dp and its row sum: 2; dp - sum and the multiply by
 *                p: 2), dq 1 + 2*dk (the 1/sqrt(dk) scale, then accumulate ds * k), dk 2*dk:
 *                8*dk + 5 in all, about twice the forward's 4*dk + 5
 *   silu         9 per element: the sigmoid 4 (as the forward), dact*s*(1 + g*(1-s)) 5
 *   mul          1 per element and operand (da = dout*b, db = dout*a)
 *   relu         1 per element (the masked pass-through, as the forward's max counts 1)
 *   mul          2 per element (da = dout*b, db = dout*a)
 *   residual     0: the gradient of each operand of a + b is dout itself (a copy); where
 *                two gradient paths meet, the accumulating kernel counts the add
 *   embedding    1 per token and dimension (the scatter-add into the table's gradient)
 *   cross-entropy (per counted position, V vocab): loss 3*V + 4 (subtract max, exp,
 *                accumulate per logit; log, add max, subtract target logit, accumulate),
 *                plus 1 for the mean; dlogits V + 3 (1/(sum*n): 2, scale each exp: V,
 *                subtract 1/n at the target: 1) plus 1 for 1/n. Ignored positions cost
 *                nothing. */
#ifndef MLM_KERNELS_BWD_H
#define MLM_KERNELS_BWD_H
#include "kernels.h"

/* Backward of out (N, OC) = in (N, C) @ w^T, w (OC, C).
 *   dinp (N, C)  += dout @ w        (NULL: skipped)
 *   dw   (OC, C) += dout^T @ in     (NULL: skipped)
 * Both products run in parallel with each output element owned by one thread and summed in
 * a fixed order, so the result is the same bits for any thread count. fl (may be NULL)
 * receives fl[0] = dinp FLOPs, fl[1] = dw FLOPs; the return value is their sum. */
uint64_t mlm_matmul_backward(mlm_real *dinp, mlm_real *dw, const mlm_real *dout, const mlm_real *in, const mlm_real *w,
                             int64_t N, int64_t C, int64_t OC, uint64_t fl[2]);
uint64_t mlm_matmul_backward_ref(mlm_real *dinp, mlm_real *dw, const mlm_real *dout, const mlm_real *in,
                                 const mlm_real *w, int64_t N, int64_t C, int64_t OC, uint64_t fl[2]);

/* Backward of out = in / rms(in) * g with rstd (N) = 1 / rms saved by the forward:
 *   dinp (N, C) += rstd * (g*dout - in * rstd^2 * mean_c(g*dout*in))   (NULL: skipped)
 *   dg (C)      += sum_rows dout * in * rstd                           (NULL: skipped)
 * fl as for mlm_matmul_backward (fl[0] dinp, fl[1] dg). */
uint64_t mlm_rmsnorm_backward(mlm_real *dinp, mlm_real *dg, const mlm_real *dout, const mlm_real *in,
                              const mlm_real *rstd, const mlm_real *g, int64_t N, int64_t C, uint64_t fl[2]);

/* Backward of RoPE: din (B, T, H, hd) WRITES the transposed rotation of dout (the rotation
 * by -angle); din may equal dout. Same positions and layout as the forward. */
uint64_t mlm_rope_backward(mlm_real *din, const mlm_real *dout, const int *pos, int64_t B, int64_t T, int64_t H,
                           int64_t hd, double theta, mlm_rope_layout layout);

/* Where the attention backward starts: from the gradient of the head outputs (the normal
 * case), of the probabilities, or of the scaled scores (then dprobs / dscores are inputs). */
typedef enum { MLM_ATTN_FROM_HEADS = 0, MLM_ATTN_FROM_PROBS = 1, MLM_ATTN_FROM_SCORES = 2 } mlm_attn_from;

/* Backward of mlm_attention_forward (grouped-query, the same masks as o). Saved: q, k, v
 * (after RoPE) and probs (B, H, T, T). WRITES
 *   dprobs (B, H, T, T) = dheads . v    (from HEADS; an input otherwise)
 *   dscores (B, H, T, T) = p * (dprobs - sum_j p*dprobs)   (gradient of the SCALED scores;
 *                          an input when from SCORES)
 *   dq (B, T, H, hd), dk, dv (B, T, Hkv, hd): the gradient of a shared K/V head is summed
 *   over the H/Hkv query heads that read it. dv is zero unless from HEADS.
 * Masked entries of dprobs and dscores are 0. Parallel over (b, kv head): each thread owns
 * the dk, dv of its KV head and the dq of its query heads, so no two threads write one
 * element and the result does not depend on the thread count.
 * fl (may be NULL), per computed score: fl[0] dprobs 2*hd, fl[1] dv 2*hd, fl[2] softmax
 * backward 4, fl[3] dq 1 + 2*hd, fl[4] dk 2*hd (steps before `from` count 0). */
uint64_t mlm_attention_backward(mlm_real *dq, mlm_real *dk, mlm_real *dv, mlm_real *dprobs, mlm_real *dscores,
                                const mlm_real *dheads, const mlm_real *q, const mlm_real *k, const mlm_real *v,
                                const mlm_real *probs, int64_t B, int64_t T, int64_t H, int64_t Hkv, int64_t hd,
                                const mlm_attn_opts *o, mlm_attn_from from, uint64_t fl[5]);
/* The slow twin: loops over every (b, h, i, j) in double, accumulates dk, dv head by head. */
uint64_t mlm_attention_backward_ref(mlm_real *dq, mlm_real *dk, mlm_real *dv, mlm_real *dprobs,
                                    mlm_real *dscores, const mlm_real *dheads, const mlm_real *q,
                                    const mlm_real *k, const mlm_real *v, const mlm_real *probs, int64_t B,
                                    int64_t T, int64_t H, int64_t Hkv, int64_t hd, const mlm_attn_opts *o);

/* The per-query-head gradients of the expanded K and V (B, T, H, hd) (the stages k_exp and
 * v_exp), WRITTEN from dscores, q, probs and dheads: what mlm_attention_backward sums per KV
 * head. For the probe only (its FLOPs, 4*hd per computed score, are display work that the
 * passes do not count). */
uint64_t mlm_attention_backward_expanded(mlm_real *dkexp, mlm_real *dvexp, const mlm_real *dscores,
                                         const mlm_real *dheads, const mlm_real *q, const mlm_real *probs, int64_t B,
                                         int64_t T, int64_t H, int64_t hd, const mlm_attn_opts *o);

/* Backward of act = silu(gate): dgate WRITES dact * s * (1 + gate * (1 - s)), s = sigmoid. */
uint64_t mlm_silu_backward(mlm_real *dgate, const mlm_real *dact, const mlm_real *gate, int64_t n);
/* The whole SwiGLU backward in one pass, hidden = silu(gate) * up: WRITES dact = dhidden * up,
 * dup = dhidden * silu(gate) (silu recomputed), dgate = the silu backward of dact; one exp per
 * element where the three kernels above take two. The plain C path does their operations, so
 * it gives their bits; the AVX-512 path (float build) uses the 16-lane form of the same exp (expf.h).
 * Parallel over fixed chunks, each element on its own: the same bits for any thread count.
 * Returns 15 per element: silu 4, dact 1, dup 1, silu backward 9 (as the three kernels). */
uint64_t mlm_swiglu_backward(mlm_real *dgate, mlm_real *dup, mlm_real *dact, const mlm_real *dhidden, const mlm_real *gate,
                             const mlm_real *up, int64_t n);
/* Backward of out = a * b: da, db WRITE dout*b, dout*a (either may be NULL). */
uint64_t mlm_mul_backward(mlm_real *da, mlm_real *db, const mlm_real *dout, const mlm_real *a, const mlm_real *b,
                          int64_t n);
/* Backward of act = max(0, x): dx WRITES dout where x > 0, else 0. 1 FLOP per element. */
uint64_t mlm_relu_backward(mlm_real *dx, const mlm_real *dout, const mlm_real *x, int64_t n);
/* Backward of out = a + b: da and db WRITE dout (either may be NULL or equal dout: skipped).
 * Returns 0 (copies are not FLOPs). */
uint64_t mlm_residual_backward(mlm_real *da, mlm_real *db, const mlm_real *dout, int64_t n);
/* Backward of the embedding lookup: demb[tokens[i]] += dout[i] (tokens in [0, V), checked by
 * the caller). Rows in order, so repeated tokens sum deterministically. */
uint64_t mlm_embed_backward(mlm_real *demb, const mlm_real *dout, const int *tokens, int64_t N, int64_t d);

/* Mean cross-entropy over next-token targets and its gradient. logits (N, V); targets (N)
 * in [0, V) or -1 (ignored; checked by the caller). *loss = mean over counted positions of
 * -log softmax(logits)[target]; dlogits (N, V) WRITES (softmax - onehot) / n_counted, 0 on
 * ignored rows (dlogits may be NULL: loss only). *n_counted (may be NULL) receives the
 * number of counted positions; with none, *loss = 0 and dlogits is 0. On an AVX-512 CPU (float
 * build) the rows take bwd_avx512.c: the 16-lane exp of expf.h, the sum of exps in 16
 * double lanes, so the bits differ from the plain loop's by rounding (tests/test_bwd_fast.c).
 * fl (may be NULL): fl[0] loss FLOPs, fl[1] dlogits FLOPs. */
uint64_t mlm_crossentropy_backward(mlm_real *dlogits, double *loss, int64_t *n_counted, const mlm_real *logits,
                                   const int *targets, int64_t N, int64_t V, uint64_t fl[2]);

#endif
