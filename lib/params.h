/* params.h - exact parameter accounting of a LLaMA-style decoder: per matrix, per block, per
 * component, total (tied and untied), the MHA baseline of analysis 2, LoRA adapters and the
 * per-device share under Megatron tensor parallelism. Every count is an int64_t element count
 * and equals the element counts of mlm_layout() (lib/model.h) exactly. */
#ifndef MLM_PARAMS_H
#define MLM_PARAMS_H
#include "config.h"

/* Parameter counts of one config. "Per block" fields are for one block; component fields are
 * for the whole model. d = d_model, qd = h*d_k, kvd = h_kv*d_k, ff = d_ff, V = vocab. */
typedef struct {
    /* per block, per matrix */
    int64_t wq;           /* d * qd */
    int64_t wk, wv;       /* d * kvd each */
    int64_t wo;           /* qd * d */
    int64_t w_gate;       /* d * ff (0 for the 2-matrix ReLU FFN) */
    int64_t w_up;         /* d * ff */
    int64_t w_down;       /* ff * d */
    int64_t attn_norm, ffn_norm;  /* d each */
    /* per block, grouped */
    int64_t attn;         /* wq + wk + wv + wo */
    int64_t ffn;          /* w_gate + w_up + w_down */
    int64_t norms;        /* attn_norm + ffn_norm */
    int64_t block;        /* attn + ffn + norms */
    int64_t attn_mha;     /* the same attention with h_kv = h: 2*d*qd + 2*d*qd (4 d^2 when qd = d) */
    /* whole model, per component */
    int64_t embedding;    /* V * d */
    int64_t blocks;       /* n_layers * block */
    int64_t final_norm;   /* d */
    int64_t lm_head;      /* V * d when untied, 0 when tied (shared with the embedding) */
    int64_t total;        /* embedding + blocks + final_norm + lm_head: unique parameters */
    int64_t total_untied; /* total as if the lm_head were a separate matrix */
    int64_t total_tied;   /* total as if the lm_head shared the embedding */
    int64_t non_embedding;/* total - embedding - lm_head (Kaplan et al.'s N) */
} mlm_param_counts;

/* Fills p for c. Validates c first (mlm_config_validate) and fails with MLM_EINVAL naming
 * the field when c is invalid. Never allocates. */
mlm_status mlm_params_count(const mlm_config *c, mlm_param_counts *p, mlm_err *e);

/* ---- LoRA ------------------------------------------------------------------------------- */

/* Target matrices, OR-able. */
enum {
    MLM_LORA_Q = 1, MLM_LORA_K = 2, MLM_LORA_V = 4, MLM_LORA_O = 8,
    MLM_LORA_GATE = 16, MLM_LORA_UP = 32, MLM_LORA_DOWN = 64,
    MLM_LORA_ATTN = 15, MLM_LORA_FFN = 112, MLM_LORA_ALL = 127
};

/* Parses a comma-separated target list ("q,v", "attn", "ffn", "all", names q k v o gate up
 * down) into *mask. Fails with MLM_EINVAL naming the unknown target. */
mlm_status mlm_lora_parse_targets(const char *s, unsigned *mask, mlm_err *e);

/* Writes the target list of mask ("q,k,v,o") into buf (cap bytes, always NUL-terminated). */
void mlm_lora_targets_name(unsigned mask, char *buf, size_t cap);

/* Trainable LoRA parameters: rank * (in + out) per target matrix per layer, times n_layers.
 * The gate target is skipped (counts 0) for the 2-matrix ReLU FFN. Fails with MLM_EINVAL
 * when rank < 1, mask is empty or c is invalid. *per_layer (may be NULL) gets one layer's. */
mlm_status mlm_lora_params(const mlm_config *c, int rank, unsigned mask, int64_t *total, int64_t *per_layer,
                           mlm_err *e);

/* ---- tensor parallelism (Megatron-LM) ---------------------------------------------------- */

/* Per-device shares under tensor parallelism of degree P. Q/K/V/gate/up are column-parallel
 * (output rows split P ways), O/down row-parallel (input columns split P ways), RMSNorm gains
 * replicated on every device, the embedding and an untied lm_head vocab-parallel (rows split
 * P ways after padding V up to a multiple of P, as Megatron does). When P > h_kv, each device
 * holds one KV head (KV heads are replicated P / h_kv times, which needs P % h_kv == 0). */
typedef struct {
    int P;
    int64_t vocab_padded;        /* V rounded up to a multiple of P */
    int kv_heads_per_device;     /* h_kv / P, or 1 when KV heads are replicated */
    int64_t per_device_block;    /* one block's parameters on one device */
    int64_t per_device_embedding;/* vocab_padded / P * d */
    int64_t per_device_lm_head;  /* the same when untied, 0 when tied */
    int64_t per_device_total;    /* everything one device holds */
    int64_t replicated;          /* of which replicated on all devices (norm gains) */
    /* communication per token, forward pass, counted in values (multiply by bytes/value) */
    int64_t allreduce_per_layer;     /* 2: after W_O and after W_down (the RowParallel outputs) */
    int64_t allreduce_values_token;  /* (2 * n_layers + 1) * d: the blocks' all-reduces plus one after
                                        the vocab-parallel embedding lookup */
    double ring_send_values_token;   /* per device on a ring: 2 (P-1)/P * allreduce_values_token */
} mlm_tp_plan;

/* Fills t for degree P >= 1. Fails with MLM_EINVAL (naming the numbers) when P does not divide
 * n_heads or d_ff, or when h_kv and P do not divide one another. */
mlm_status mlm_tp_plan_make(const mlm_config *c, int P, mlm_tp_plan *t, mlm_err *e);

#endif
