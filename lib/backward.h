/* backward.h - exact gradients through the whole model: from the mean cross-entropy over
 * next-token targets, from a given gradient at the output of a stack of blocks, or from a
 * given gradient at any named stage. Every stage gradient and every weight gradient is
 * reported to the probe (NULL: none).
 *
 * Naming rule (the probe, the trace JSON and docs/backward.md use it alike): the gradient of
 * the loss with respect to stage S is the record "grad.S" ("grad.blocks.0.resid_post"), the
 * gradient of a weight W is "grad." + W's name in the layout table ("grad.blocks.0.attn.wq",
 * "grad.tok_emb", "grad.final_norm.weight", "grad.lm_head"; tied models have no lm_head, its
 * gradient is summed into grad.tok_emb). The scalar loss is the stage "loss" with its value.
 * Record order: stage gradients in backward order, then every weight tensor in layout order,
 * then "loss" when the pass started from the loss.
 *
 * Each record's FLOPs are those of the backward kernels that produced it (kernels_bwd.h):
 * a stage gradient carries the input-gradient part of the kernels that computed it, a weight
 * gradient the weight-gradient part; their sum is the backward's total (mlm_grads.flops).
 * mlm_flops_backward_stage gives the same numbers from the formulas.
 *
 * Memory: everything the backward writes is planned once per (config, B, T) by
 * mlm_grads_new; the passes allocate nothing (the probe allocates its own records). The
 * activations it reads are those mlm_forward / mlm_forward_blocks saved in an mlm_acts
 * planned with for_backward = 1. */
#ifndef MLM_BACKWARD_H
#define MLM_BACKWARD_H
#include "forward.h"
#include "kernels_bwd.h"

/* Weight gradients (the model's layout) and the stage-gradient scratch of one (config, B, T).
 * Fields are read-only for callers except that mem may be read, scaled or zeroed. */
typedef struct mlm_grads {
    mlm_config cfg;
    int B, T;
    mlm_params g;              /* weight gradients, pointers into mem (lm_head == tok_emb when tied) */
    mlm_real *mem;             /* (n_params) accumulate across calls until mlm_grads_zero */
    int64_t n_params;
    mlm_tensor_info *tensors;  /* the layout table (names, offsets, shapes), n_tensors entries */
    int n_tensors;
    uint64_t flops;            /* FLOPs of the last backward call */
    double loss;               /* loss of the last call started from the loss */
    uint64_t *wflops;          /* (n_tensors) weight-gradient FLOPs of the last call */
    int *widx;                 /* (9, L) layout index of each block tensor kind per layer, -1 absent */
    int i_tok_emb, i_final_norm, i_lm_head;   /* layout indices (i_lm_head == i_tok_emb when tied) */
    /* stage-gradient scratch, one allocation, one set reused by every layer
     * (N = B*T, qd = h*dk, kvd = hk*dk, ff = d_ff) */
    mlm_real *scratch;
    int64_t scratch_numel;
    mlm_real *d_input;         /* (N, d) dL/d(embed) or dL/d(input) of the last call */
    mlm_real *dres, *dres_in;  /* (N, d) gradient of a block's output / input (ping-pong) */
    mlm_real *dmid, *dn1, *dn2, *dsum2;   /* (N, d) resid_mid, first/second norm outputs, post-norm sum */
    mlm_real *dheads, *dq_rot, *dq;       /* (N, qd) */
    mlm_real *dk_rot, *dk, *dv;           /* (N, kvd) */
    mlm_real *dprobs, *dscores;           /* (B, h, T, T) */
    mlm_real *dkexp, *dvexp;              /* (N, qd) per-query-head K/V gradients (probe only) */
    mlm_real *dgate, *dup, *dact, *dhidden;  /* (N, ff) */
    mlm_real *dfinal;                     /* (N, d) gradient of final_norm */
    mlm_real *dlogits;                    /* (N, V) */
} mlm_grads;

/* Plans and allocates the weight gradients (zeroed) and the scratch for cfg at batch B,
 * sequence T (T <= max_seq_len). Returns NULL and fills e on a bad config or out of memory.
 * The caller frees with mlm_grads_free. */
mlm_grads *mlm_grads_new(const mlm_config *cfg, int B, int T, mlm_err *e);
void mlm_grads_free(mlm_grads *g);   /* NULL is a no-op */
/* Zeroes the weight gradients (they accumulate across calls until zeroed). NULL: no-op. */
void mlm_grads_zero(mlm_grads *g);
/* dL/d(embed) (full model) or dL/d(input) (stack of blocks), (N, d), of the last call. */
const mlm_real *mlm_grads_input(const mlm_grads *g);
/* The gradient of the layout tensor called name ("blocks.0.attn.wq"), or NULL. */
mlm_real *mlm_grads_tensor(const mlm_grads *g, const char *name);

/* Loss and backward of the full model after mlm_forward(m, a, tokens, B, T, o, ...) with a
 * planned for_backward = 1 and o->last_only = 0 (the same tokens and options must be passed
 * here). targets (B*T) in [0, V), or -1 to ignore a position; the loss is the mean over the
 * counted positions (0, and zero gradients, when none counts). Accumulates the weight
 * gradients into g, writes dL/d(embed) to mlm_grads_input(g) and the loss to *loss (may be
 * NULL). Returns MLM_EINVAL (message in e) on mismatched sizes, configs or options, tokens or
 * targets out of range, or activations not planned for the backward. */
mlm_status mlm_backward(const mlm_model *m, const mlm_acts *a, mlm_grads *g, const int *tokens, const int *targets,
                        int B, int T, const mlm_fwd_opts *o, mlm_probe *p, double *loss, mlm_err *e);

/* Backward of a stack of blocks after mlm_forward_blocks: dout (N, d) is the gradient at the
 * stack's output (analysis 4 uses ones / numel); dL/dx goes to mlm_grads_input(g). */
mlm_status mlm_backward_blocks(const mlm_model *m, const mlm_acts *a, mlm_grads *g, const mlm_real *dout, int B,
                               int T, const mlm_fwd_opts *o, mlm_probe *p, mlm_err *e);

/* The general entry: starts from the gradient dstage (the stage's shape, row-major) at the
 * named stage, i.e. the loss is sum(dstage * stage). tokens: the forward's tokens for a full
 * model (mlm_forward), NULL for a stack of blocks (mlm_forward_blocks). Stages: "logits",
 * "final_norm" (full model only), "embed" / "input", and every block stage of forward.h
 * except attn.k_exp and attn.v_exp ("blocks.l.resid_post", "blocks.l.attn.q_rot",
 * "blocks.l.ffn.act", ...; "attn.concat" is attn.heads). Stages downstream of the start get
 * no record; the start's record has 0 FLOPs. Returns MLM_EINVAL for an unknown stage. */
mlm_status mlm_backward_from(const mlm_model *m, const mlm_acts *a, mlm_grads *g, const char *stage,
                             const mlm_real *dstage, const int *tokens, int B, int T, const mlm_fwd_opts *o,
                             mlm_probe *p, mlm_err *e);

/* Analytic FLOPs of the backward record called name ("grad.blocks.0.attn.q", "grad.tok_emb",
 * "loss"), as the kernels count them, for a pass of cfg at B x T with options o (NULL:
 * defaults). full = 1: mlm_backward from the loss with every position counted; full = 0:
 * mlm_backward_blocks. Returns 0 for names that carry no FLOPs or do not exist. */
uint64_t mlm_flops_backward_stage(const mlm_config *cfg, const char *name, int B, int T, const mlm_fwd_opts *o,
                                  int full);
/* The whole backward (the sum over every record), same arguments. */
uint64_t mlm_flops_backward_total(const mlm_config *cfg, int B, int T, const mlm_fwd_opts *o, int full);

#endif
