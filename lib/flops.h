/* flops.h - analytic FLOP counts of a LLaMA-style decoder: per stage (exactly what the kernels
 * of lib/kernels.h count, stage names of lib/forward.h), per forward pass under explicit,
 * labelled conventions, per token (prefill versus decode with a KV cache), training (forward +
 * backward) against the 6 N D rule, and the attention crossover lengths of analysis 5.
 *
 * Integer counts are uint64_t and exact; every product and sum is overflow-checked (a count
 * that would pass 2^64 - 1 ~ 1.8e19 is an error, never a wrapped number). Llama 3.1 405B at
 * 128K context, batch 1, dense convention, forward + backward is 7.46e17: it fits (a batch of
 * 25 such sequences would not, and is refused). Ratios,
 * per-token averages, crossovers and the 6 N D estimate are double. */
#ifndef MLM_FLOPS_H
#define MLM_FLOPS_H
#include "config.h"

/* ---- conventions --------------------------------------------------------------------------- */

/* Each switch changes what a FLOP table counts; every table prints mlm_flop_conv_label. */
typedef struct {
    int mac;           /* 0: FLOPs (a multiply and an add count 2);  1: multiply-accumulates
                          (one per matmul term: the matmul-like parts are halved; element-wise
                          ops still count one per operation) */
    int dense;         /* 1: dense attention, all T*T scores then masked (analysis 5);
                          0: causal, only the computed entries T(T+1)/2, sliding window honoured */
    int head_dim_d_over_h; /* 0: head_dim as configured;  1: d_model / n_heads (what most
                          calculators assume; differs when a config sets head_dim) */
    int ffn_matrices;  /* 0: as configured (3-matrix SwiGLU, 2-matrix ReLU); 2 or 3: forced */
    int lm_head;       /* 1: the lm_head matmul and the output softmax over the vocabulary are
                          counted (embedding lookups cost 0 either way);  0: left out */
    int elementwise;   /* 1: norms, RoPE, score scaling, softmax, activation, gating multiply,
                          residual adds counted;  0: matmul-like work only */
} mlm_flop_conv;

/* FLOPs, causal, head_dim as configured, FFN as configured, lm_head in, element-wise in: the
 * convention of the kernels (mlm_flops_forward then equals the sum of mlm_flops_stage). */
mlm_flop_conv mlm_flop_conv_default(void);

/* One line naming every switch, e.g. "unit=FLOP attention=causal head_dim=configured
 * ffn=as-configured lm_head=in elementwise=in". buf is always NUL-terminated. */
void mlm_flop_conv_label(const mlm_flop_conv *cv, const mlm_config *c, char *buf, size_t cap);

/* ---- per stage (the kernels' own counts) ---------------------------------------------------- */

typedef struct {
    int64_t B, T;      /* batch and sequence (prefill); decode uses B = T = 1 */
    int dense;         /* mlm_fwd_opts.dense */
    int last_only;     /* logits / probs for the last position only */
    int no_causal;     /* every row computes all T scores */
    int no_rope;       /* RoPE skipped: q_rot and k_rot cost 0 */
    int decode;        /* 1: one decode step at position pos with pos cached entries before it */
    int64_t pos;       /* decode position (attention over pos + 1 entries, window honoured) */
} mlm_stage_opts;

#define MLM_FLOPS_UNKNOWN UINT64_MAX

/* FLOPs of the named stage, exactly as the kernel producing it counts them (kernels.h).
 * Accepts "blocks.3.attn.q_rot", "final_norm", "logits", "probs", "embed", ... Stages without
 * FLOPs (embed, input, concat, k_exp, v_exp, kv_cache) give 0. Fails with MLM_EINVAL on an
 * unknown stage, a layer index out of range, bad sizes or overflow. */
mlm_status mlm_flops_stage_ex(const mlm_config *c, const char *stage, const mlm_stage_opts *o, uint64_t *out,
                              mlm_err *e);

/* Convenience form of mlm_flops_stage_ex for a prefill pass (causal unless dense). Returns
 * MLM_FLOPS_UNKNOWN for an unknown stage or invalid arguments. */
uint64_t mlm_flops_stage(const mlm_config *c, const char *stage, int64_t B, int64_t T, int dense, int last_only);

/* The same for one decode step at position pos (a KV cache of pos entries before it), as
 * mlm_decode_step records it: attn.probs carries the scores and the softmax of the min(pos + 1,
 * window) attended entries, attn.heads the p.V products, attn.kv_cache 0; there is no
 * attn.scores and no final "probs" stage (sampling is the caller's). The decode kernel has
 * no dense variant (the forward forces dense = 0): pass dense = 0 to match it; dense = 1
 * counts all pos + 1 entries. */
uint64_t mlm_flops_decode_stage(const mlm_config *c, const char *stage, int64_t pos, int dense);

/* Calls fn for every stage name of a forward pass of c in forward order (the list of
 * lib/forward.h; decode adds blocks.L.attn.kv_cache). Returns the number of stages. */
int mlm_flops_stage_names(const mlm_config *c, int decode, void (*fn)(const char *name, void *ctx), void *ctx);

/* ---- whole passes ----------------------------------------------------------------------- */

/* A forward pass, all layers, in the unit of the convention. Groups: attn_proj = q+k+v+o
 * (2BL(2 d qd + 2 d kvd) in FLOPs), attn_core = scores+softmax+av ((4 d_k + 5) h per computed
 * score), ffn = gate+up+down matmuls (6 B L d d_ff for SwiGLU), then the element-wise rest. */
typedef struct {
    uint64_t q, k, v, o;
    uint64_t scores, softmax, av;     /* scores include the 1/sqrt(d_k) scale (element-wise) */
    uint64_t gate, up, down;
    uint64_t act, gating;             /* silu (4/elem) or relu (1/elem); the SwiGLU multiply */
    uint64_t rope, norms, residual;   /* q_rot + k_rot; 2 per block + final; 2 adds per block */
    uint64_t lm_head, out_softmax;    /* logits matmul; softmax over the vocabulary ("probs") */
    uint64_t attn_proj, attn_core, ffn, other;  /* other = act+gating+rope+norms+residual+out_softmax */
    uint64_t matmul;                  /* every matmul-like term (projections, q.k, p.V, FFN, lm_head) */
    uint64_t elementwise;             /* everything else */
    uint64_t total;
    uint64_t scores_computed;         /* computed attention entries, all layers and heads */
} mlm_flops_fwd;

/* Forward pass of B sequences of T tokens (prefill, logits for every position unless
 * last_only). Fails with MLM_EINVAL for bad sizes, an invalid config or overflow. */
mlm_status mlm_flops_forward(const mlm_config *c, int64_t B, int64_t T, int last_only, const mlm_flop_conv *cv,
                             mlm_flops_fwd *out, mlm_err *e);

/* One decode step: the token at position pos attends to pos + 1 entries (its own K, V and a
 * cache of pos), min(pos + 1, sliding_window) in the causal convention with a window. Like
 * mlm_decode_step it ends at the logits: out_softmax is 0 (sampling is the caller's). */
mlm_status mlm_flops_decode(const mlm_config *c, int64_t pos, const mlm_flop_conv *cv, mlm_flops_fwd *out,
                            mlm_err *e);

/* Per token at context length T: the prefill average (forward of T tokens / T) and the cost
 * of decoding the T-th token with a cache of T - 1 entries (pos = T - 1). */
mlm_status mlm_flops_per_token(const mlm_config *c, int64_t T, const mlm_flop_conv *cv, double *prefill_avg,
                               uint64_t *decode, mlm_err *e);

/* Training step on B x T tokens. Backward convention: every matmul-like term costs 2x its
 * forward (one product for the input gradient, one for the weight gradient; for q.k and p.V
 * one for each operand); every element-wise op costs 1x its forward (its local derivative
 * times the incoming gradient). six_nd = 6 * total parameters * tokens, six_nd_nonemb = 6 *
 * non-embedding parameters * tokens (Kaplan's N), ratio = total / six_nd. */
typedef struct {
    mlm_flops_fwd fwd;
    uint64_t backward;     /* 2 * fwd.matmul + fwd.elementwise (the rule of thumb above) */
    uint64_t backward_counted; /* what the backward kernels count for this step (lib/backward.c,
                              mlm_flops_backward_total, causal attention, FLOPs; 0 when the
                              convention asked for is not the kernels' own) */
    uint64_t total;        /* fwd.total + backward */
    double tokens;
    double six_nd, six_nd_nonemb, ratio;
} mlm_flops_train;

mlm_status mlm_flops_training(const mlm_config *c, int64_t B, int64_t T, const mlm_flop_conv *cv,
                              mlm_flops_train *out, mlm_err *e);

/* ---- crossovers (analysis 5) ------------------------------------------------------------ */

/* Sequence lengths where the attention core equals the FFN matmuls or the attention
 * projections, per layer, in FLOPs with element-wise in ((4 d_k + 5) h per computed score):
 *   dense:  L = 2 m d d_ff / ((4 d_k + 5) h)          (m = 3 FFN matrices: 6 d d_ff / ...)
 *           L = 2 (2 d h d_k + 2 d h_kv d_k) / ((4 d_k + 5) h)
 *   causal: the core is (4 d_k + 5) h L (L + 1) / 2, so L = 2 * (dense L) - 1; with a sliding
 *           window W below that, the core grows linearly and L = a W (W - 1) / 2 / (a W - c)
 *           (a = (4 d_k + 5) h, c the other side per token) or never (INFINITY).
 * The *_round fields are the nearest integers (Llama 3 8B: 21296 and 5070). */
typedef struct {
    double ffn_dense, proj_dense, ffn_causal, proj_causal;
    int64_t ffn_dense_round, proj_dense_round;
} mlm_crossover;

mlm_status mlm_flops_crossover(const mlm_config *c, mlm_crossover *out, mlm_err *e);

#endif
