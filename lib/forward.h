/* forward.h - the instrumented forward pass: the full model on token ids, and a stack of
 * blocks on real-valued input. Every stage is reported to the probe (NULL: none).
 *
 * Stage names (B batch, T sequence, h heads, hk KV heads, dk head_dim, N = B*T):
 *   embed (B,T,d)                 full model: token embedding  | input (B,T,d) block stack
 *   blocks.L.attn_norm (B,T,d)    pre-norm: RMSNorm of the block input
 *   blocks.L.attn.q (B,T,h,dk)  .k .v (B,T,hk,dk)    projections
 *   blocks.L.attn.q_rot  .k_rot                      after RoPE
 *   blocks.L.attn.k_exp  .v_exp (B,T,h,dk)           K, V repeated for every query head (GQA)
 *   blocks.L.attn.scores (B,h,T,T)                   scaled q.k, 0 at masked entries
 *   blocks.L.attn.probs (B,h,T,T)                    causal softmax
 *   blocks.L.attn.heads (B,T,h,dk)                   per-head outputs probs @ V
 *   blocks.L.attn.concat (B,T,h*dk)                  heads merged (same values, no FLOPs)
 *   blocks.L.attn.out (B,T,d)                        after W_O
 *   blocks.L.resid_mid (B,T,d)                       x + attn.out
 *   blocks.L.ffn_norm (B,T,d)                        pre-norm: RMSNorm of resid_mid
 *   blocks.L.ffn.gate .up (B,T,d_ff)  .act = silu(gate)  .hidden = act*up  (ReLU FFN: up,
 *   hidden = relu(up))  .down (B,T,d)
 *   blocks.L.resid_post (B,T,d)                      resid_mid + ffn.down (pre-norm: block output)
 *   post-norm blocks: attention reads the block input; attn_norm = RMSNorm(resid_mid) is the
 *   stream the FFN reads; resid_post = attn_norm + ffn.down; ffn_norm = RMSNorm(resid_post) is
 *   the block output.
 *   final_norm (B,T,d)  logits (B,T,V) or (B,1,V) with last_only  probs (same shape)
 *   decode: blocks.L.attn.kv_cache (1,1,2*hk*dk) the K and V rows written into the cache
 * FLOPs of each stage are those its kernel counted (conventions in kernels.h); concat,
 * k_exp, v_exp and embed have none. */
#ifndef MLM_FORWARD_H
#define MLM_FORWARD_H
#include "kernels.h"
#include "model.h"
#include "probe.h"

typedef struct {
    const int *pos;              /* (T) positions shared by the batch; NULL: 0..T-1 */
    int no_rope;                 /* 1: skip RoPE (a demonstration switch) */
    int no_causal;               /* 1: every position sees every position */
    int dense;                   /* 1: dense attention convention (all T*T scores, then mask) */
    int last_only;               /* full model: logits and probs of the last position only */
    int no_probs;                /* full model: stop at the logits, no vocabulary softmax (training:
                                    the loss's backward computes its own softmax) */
    mlm_rope_layout rope_layout; /* MLM_ROPE_ADJACENT (llama2.c, default) or MLM_ROPE_HALF (HF) */
} mlm_fwd_opts;

/* Activations for a batch B x sequence T, planned from a size table into one allocation.
 * With for_backward, every layer's saved tensors are kept (the backward needs them);
 * otherwise one layer's buffers are reused by all layers. Pointers: (L', ...) where L' is
 * n_layers or 1. */
typedef struct {
    mlm_config cfg;
    int B, T, for_backward, n_slots;
    mlm_real *mem;
    int64_t numel;
    /* saved per layer slot */
    mlm_real *resid;     /* (L+1, N, d) resid[0] = input, resid[l+1] = block l output (all layers always) */
    mlm_real *n1;        /* (L', N, d)  first norm output (pre: norm(x); post: norm(x + attn)) */
    mlm_real *rstd1;     /* (L', N) */
    mlm_real *q_rot;     /* (L', N, qd) */
    mlm_real *k_rot;     /* (L', N, kvd) */
    mlm_real *v;         /* (L', N, kvd) */
    mlm_real *probs;     /* (L', B, h, T, T) */
    mlm_real *heads;     /* (L', N, qd) */
    mlm_real *mid;       /* (L', N, d)  x + attn.out */
    mlm_real *n2;        /* (L', N, d)  second norm output (pre: norm(mid); post: block output) */
    mlm_real *rstd2;     /* (L', N) */
    mlm_real *gate;      /* (L', N, d_ff) SwiGLU gate pre-activation (unused for ReLU) */
    mlm_real *up;        /* (L', N, d_ff) up projection (ReLU: the pre-activation) */
    mlm_real *hidden;    /* (L', N, d_ff) silu(gate) * up, or relu(up) */
    mlm_real *sum2;      /* (L', N, d)  post-norm: n1 + ffn.down before the second norm */
    mlm_real *final_out; /* (N, d) */
    mlm_real *rstd_f;    /* (N) */
    mlm_real *logits;    /* (N, V) */
    mlm_real *out_probs; /* (N, V) */
    /* scratch, not saved */
    mlm_real *q, *k, *scores, *kexp, *vexp, *attn_out, *act, *down;
    mlm_real *rope_cs;   /* (T, head_dim) RoPE cos | sin of the pass's positions (mlm_rope_table) */
    double *stat_rows;   /* (2, N, 4) traced passes: per-row statistics of logits and probs */
} mlm_acts;

mlm_acts *mlm_acts_new(const mlm_config *cfg, int B, int T, int for_backward, mlm_err *e);
void mlm_acts_free(mlm_acts *a);   /* NULL is a no-op */

/* Full model: tokens (B*T, row-major (B, T)) -> logits and probs in a. Tokens outside
 * [0, vocab) and T beyond the capacity or max_seq_len are errors. */
mlm_status mlm_forward(const mlm_model *m, mlm_acts *a, const int *tokens, int B, int T, const mlm_fwd_opts *o,
                       mlm_probe *p, mlm_err *e);

/* Stack of all the model's blocks on real input x (B, T, d) (no embedding, no final norm, no
 * lm_head). The output is mlm_acts_output(a). */
mlm_status mlm_forward_blocks(const mlm_model *m, mlm_acts *a, const mlm_real *x, int B, int T,
                              const mlm_fwd_opts *o, mlm_probe *p, mlm_err *e);

/* The block stack's output (N, d): resid[n_layers]. */
mlm_real *mlm_acts_output(const mlm_acts *a);

/* Name of block l's output stage: "blocks.l.resid_post" (pre-norm) or "blocks.l.ffn_norm". */
void mlm_block_output_name(const mlm_config *cfg, int l, char *buf, size_t cap);

/* KV cache for decoding one token at a time (batch 1). */
typedef struct {
    mlm_config cfg;
    int max_T, len;
    mlm_real *k, *v;     /* (L, hk, max_T, dk) keys after RoPE, values: a KV head's rows in a row */
    mlm_acts *step;      /* scratch activations of one token */
    mlm_real *row;       /* (max_T) attention row */
} mlm_kv_cache;

mlm_kv_cache *mlm_kv_cache_new(const mlm_config *cfg, int max_T, mlm_err *e);
void mlm_kv_cache_free(mlm_kv_cache *c);
void mlm_kv_cache_reset(mlm_kv_cache *c);

/* Runs token at position pos (== c->len unless o->pos... positions are explicit) through the
 * model, appending its K and V to the cache; logits (V) receives the next-token logits.
 * Without a probe (p NULL) a pre-norm model's step runs in one parallel region (lib/decode.c)
 * with the same bits as the traced step, for any thread count. */
mlm_status mlm_decode_step(const mlm_model *m, mlm_kv_cache *c, int token, int pos, mlm_real *logits,
                           const mlm_fwd_opts *o, mlm_probe *p, mlm_err *e);

/* Prefill: the n prompt tokens (positions 0..n-1) through the model as one batch, as
 * mlm_forward runs them, with every layer's K and V rows written into the empty cache c
 * (c->len becomes n) and the last position's logits written to logits (V; NULL: not copied).
 * a: activations planned for B = 1, T = n (mlm_acts_new(cfg, 1, n, 0, e)), allocated once by
 * the caller. Decoding goes on from position n with mlm_decode_step. One pass of matrix
 * products instead of n matrix-vector steps: the weights are read once, not n times. The cache
 * rows and logits equal those of n decode steps up to float32 rounding (the batch products sum
 * in another order than the one-row ones). Errors, none of which touches the cache: n outside
 * [1, max_T], a cache not empty or planned for another config, o->pos, no_causal or dense
 * set, activations planned for another B or T, a token outside the vocabulary. */
mlm_status mlm_prefill(const mlm_model *m, mlm_kv_cache *c, mlm_acts *a, const int *tokens, int n, mlm_real *logits,
                       const mlm_fwd_opts *o, mlm_err *e);

#endif
