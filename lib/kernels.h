/* kernels.h - the forward math of every op, each returning the FLOPs its loops performed.
 *
 * Conventions (B batch, T sequence, N = B*T tokens, C input width, OC output width):
 *   outputs first, then inputs, then sizes;  shapes in comments are row-major.
 *   Each fast kernel has a slow, obvious twin (suffix _ref) that the tests compare against.
 *
 * FLOP conventions (one multiply or add = 1 FLOP; comparisons are not FLOPs):
 *   matmul        2 * C per output element (a multiply and an add per term)
 *   rmsnorm       4 per element (square, accumulate, scale by 1/rms, gain) + 4 per row
 *                 (mean divide, add eps, sqrt, reciprocal)
 *   rope          3 per rotated element (a pair takes 4 multiplies and 2 adds)
 *   scores        2 * d_k + 1 per computed score (dot product, then the 1/sqrt(d_k) scale)
 *   softmax       4 per computed score (subtract max, exp, accumulate, divide)
 *   attn @ V      2 * d_k per computed score
 *   silu          4 per element (negate, exp, add 1, divide)
 *   relu          1 per element;  gating multiply 1 per element;  residual add 1 per element
 * "Computed score": with the causal convention masked entries are skipped (T(T+1)/2 per head
 * and sequence, fewer with a sliding window); with the dense convention every one of the T*T
 * entries is computed and masked afterwards, as analysis 5 counts. */
#ifndef MLM_KERNELS_H
#define MLM_KERNELS_H
#include "common.h"

/* out (N, OC) = in (N, C) @ w^T, w (OC, C) row-major (llama2.c / PyTorch Linear layout). */
uint64_t mlm_matmul_forward(mlm_real *out, const mlm_real *in, const mlm_real *w, int64_t N, int64_t C, int64_t OC);
uint64_t mlm_matmul_forward_ref(mlm_real *out, const mlm_real *in, const mlm_real *w, int64_t N, int64_t C, int64_t OC);
/* Decoding's one-row product out (1, OC) = in (1, C) @ w^T (gemm.h mlm_gemm_nt_decode): the same
 * value as mlm_matmul_forward's row to rounding, read at the speed of memory; 2 C OC FLOPs. */
uint64_t mlm_matmul_forward_decode(mlm_real *out, const mlm_real *in, const mlm_real *w, int64_t C, int64_t OC);

/* out (N, C) = in / rms(in) * g; rstd (N) receives 1 / rms (may be NULL). */
uint64_t mlm_rmsnorm_forward(mlm_real *out, mlm_real *rstd, const mlm_real *in, const mlm_real *g, int64_t N, int64_t C, double eps);
/* One row (C) on the calling thread, never a parallel region: the bits of mlm_rmsnorm_forward. */
void mlm_rmsnorm_row(mlm_real *out, mlm_real *rstd, const mlm_real *in, const mlm_real *g, int64_t C, double eps);
uint64_t mlm_rmsnorm_forward_ref(mlm_real *out, mlm_real *rstd, const mlm_real *in, const mlm_real *g, int64_t N, int64_t C, double eps);

/* RoPE pair layouts: llama2.c rotates adjacent pairs (2i, 2i+1); Hugging Face's rotate_half
 * pairs dimension i with i + head_dim/2. Frequencies theta^(-2i/head_dim) either way. */
typedef enum { MLM_ROPE_ADJACENT = 0, MLM_ROPE_HALF = 1 } mlm_rope_layout;

/* x (B, T, H, hd) rotated in place (out may equal in) by positions pos (T) (NULL: 0..T-1). */
uint64_t mlm_rope_forward(mlm_real *out, const mlm_real *in, const int *pos, int64_t B, int64_t T, int64_t H,
                          int64_t hd, double theta, mlm_rope_layout layout);
/* The same rotation from a precomputed table, for a pass that rotates q and k of every layer
 * at the same positions: mlm_rope_table fills cs (T, hd) with, for position pos[t] (NULL:
 * t), cos of pair i at cs[t*hd + i] and sin at cs[t*hd + hd/2 + i] - the values
 * mlm_rope_forward computes - and mlm_rope_apply rotates x (B, T, H, hd) with it (out may
 * equal in), giving mlm_rope_forward's bits. */
void mlm_rope_table(mlm_real *cs, const int *pos, int64_t T, int64_t hd, double theta);
uint64_t mlm_rope_apply(mlm_real *out, const mlm_real *in, const mlm_real *cs, int64_t B, int64_t T, int64_t H,
                        int64_t hd, mlm_rope_layout layout);
uint64_t mlm_rope_forward_ref(mlm_real *out, const mlm_real *in, const int *pos, int64_t B, int64_t T, int64_t H,
                              int64_t hd, double theta, mlm_rope_layout layout);

typedef struct {
    int causal;         /* 1: position i attends to j <= i only */
    int dense;          /* 1: compute all T*T scores, then mask (dense FLOP convention) */
    int window;         /* >0: attend to the last `window` positions only (sliding window) */
} mlm_attn_opts;

/* Grouped-query attention (fast path: attention.c). q (B, T, H, hd), k and v (B, T, Hkv, hd),
 * H a multiple of Hkv: query head h reads KV head h / (H / Hkv). Writes out (B, T, H, hd),
 * probs (B, H, T, T) with exact zeros at masked entries, and, when scores is non-NULL, the
 * scaled pre-softmax scores (B, H, T, T) with 0 at masked entries. Returns FLOPs split into
 * fl[0] scores, fl[1] softmax, fl[2] attn@V (fl may be NULL); the return value is their sum. */
uint64_t mlm_attention_forward(mlm_real *out, mlm_real *probs, mlm_real *scores, const mlm_real *q,
                               const mlm_real *k, const mlm_real *v, int64_t B, int64_t T, int64_t H,
                               int64_t Hkv, int64_t hd, const mlm_attn_opts *o, uint64_t fl[3]);
uint64_t mlm_attention_forward_ref(mlm_real *out, mlm_real *probs, const mlm_real *q, const mlm_real *k,
                                   const mlm_real *v, int64_t B, int64_t T, int64_t H, int64_t Hkv, int64_t hd,
                                   const mlm_attn_opts *o);

/* One query token against n cached positions (decoding): q (H, hd); kc and vc (Hkv, cap, hd),
 * each KV head's rows one after the other (the KV cache's layout: a head's keys are one
 * stream), positions [0, n) filled, n <= cap. Writes out (H, hd) and probs (H, n); attends to
 * the last `window` positions when window > 0. fl as for mlm_attention_forward. */
uint64_t mlm_attention_decode(mlm_real *out, mlm_real *probs, const mlm_real *q, const mlm_real *kc,
                              const mlm_real *vc, int64_t n, int64_t cap, int64_t H, int64_t Hkv, int64_t hd,
                              int window, uint64_t fl[3]);
/* The same for the KV heads [hk0, hk1) only (their query heads' out and probs rows), on the
 * calling thread: each head gets the bits mlm_attention_decode gives it. For callers that split
 * the heads between the threads of their own region (decode.c). */
void mlm_attention_decode_heads(mlm_real *out, mlm_real *probs, const mlm_real *q, const mlm_real *kc,
                                const mlm_real *vc, int64_t n, int64_t cap, int64_t H, int64_t Hkv, int64_t hd,
                                int window, int64_t hk0, int64_t hk1);

/* act (N) = silu(gate) = gate * sigmoid(gate), with the vectorised exp (vexp.h). */
uint64_t mlm_silu_forward(mlm_real *act, const mlm_real *gate, int64_t n);
/* act (N) = max(0, x). */
uint64_t mlm_relu_forward(mlm_real *act, const mlm_real *x, int64_t n);
/* out = a * b element-wise (the SwiGLU gating multiply). */
uint64_t mlm_mul_forward(mlm_real *out, const mlm_real *a, const mlm_real *b, int64_t n);
/* out = a + b element-wise (residual add); out may alias a or b. */
uint64_t mlm_residual_forward(mlm_real *out, const mlm_real *a, const mlm_real *b, int64_t n);
/* probs (N, V) = softmax(logits) row by row (stable: subtract the row max; the vectorised exp
 * of vexp.h, then a multiply by 1/sum). Rows run in parallel; a row's bits never depend on the
 * thread count. */
uint64_t mlm_softmax_forward(mlm_real *probs, const mlm_real *logits, int64_t N, int64_t V);
/* out (N, d) = emb[tokens[i]]; tokens must be in [0, V) (checked by the caller). */
void mlm_embed_forward(mlm_real *out, const mlm_real *emb, const int *tokens, int64_t N, int64_t d);

/* GQA expansion for display: kexp (B, T, H, hd) from k (B, T, Hkv, hd). No FLOPs. */
void mlm_repeat_kv(mlm_real *kexp, const mlm_real *k, int64_t N, int64_t H, int64_t Hkv, int64_t hd);

#endif
