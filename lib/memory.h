/* memory.h - analytic memory of a LLaMA-style decoder: weights at fp32 / bf16 / fp16 / int8 /
 * int4, the KV cache for a batch and context, the activations a training step saves (the
 * same tensor list as mlm_acts in lib/forward.h), and a training-step total. */
#ifndef MLM_MEMORY_H
#define MLM_MEMORY_H
#include "config.h"

typedef enum { MLM_DT_FP32 = 0, MLM_DT_BF16, MLM_DT_FP16, MLM_DT_INT8, MLM_DT_INT4, MLM_DT_COUNT } mlm_dtype;

/* Bytes per value: 4, 2, 2, 1, 0.5. */
double mlm_dtype_bytes(mlm_dtype t);
const char *mlm_dtype_name(mlm_dtype t);                     /* "fp32", "bf16", ... */
/* Parses "fp32|f32|float32|bf16|fp16|f16|int8|q8|int4|q4"; MLM_EINVAL naming s otherwise. */
mlm_status mlm_dtype_parse(const char *s, mlm_dtype *t, mlm_err *e);

/* Bytes of n values of type t (int4: two values per byte, rounded up). Quantisation scales
 * and zero points are not included (they depend on the group size of the scheme). */
uint64_t mlm_memory_bytes(int64_t n, mlm_dtype t);

/* KV cache of n_layers x B sequences x T positions: 2 * L * B * T' * h_kv * d_k values, where
 * T' = T, or min(T, sliding_window) when window_honoured and the config has a window (a
 * rolling buffer as in Mistral). *values and *bytes may be NULL. */
mlm_status mlm_memory_kv_cache(const mlm_config *c, int64_t B, int64_t T, mlm_dtype t, int window_honoured,
                               int64_t *values, uint64_t *bytes, mlm_err *e);

/* One saved activation tensor of mlm_acts. */
typedef struct {
    const char *name;     /* the mlm_acts field name: "resid", "n1", ..., "out_probs" */
    int64_t numel;
} mlm_act_size;

#define MLM_ACT_TENSORS 19

/* The saved tensors of mlm_acts for B x T: resid (L+1, N, d) always all layers; n1, rstd1,
 * q_rot, k_rot, v, probs (B, h, T, T), heads, mid, n2, rstd2, gate (SwiGLU only, else 0), up,
 * hidden, sum2 (post-norm only, else 0) per layer slot (n_layers slots with for_backward,
 * else 1); final_out, rstd_f, logits, out_probs. Scratch buffers (q, k, scores, kexp, vexp,
 * attn_out, act, down) are not counted. Writes MLM_ACT_TENSORS entries into out (cap >= 19)
 * and returns MLM_OK, or MLM_EINVAL for bad sizes, cap or overflow. */
mlm_status mlm_memory_acts_table(const mlm_config *c, int64_t B, int64_t T, int for_backward, mlm_act_size *out,
                                 int cap, mlm_err *e);

/* Sum of the table above (the element count mlm_acts_new must allocate for its saved
 * tensors); -1 on invalid arguments. */
int64_t mlm_memory_acts_numel(const mlm_config *c, int64_t B, int64_t T, int for_backward);

/* A training step with AdamW in mixed or single precision. */
typedef struct {
    uint64_t weights;      /* params x bytes(weight dtype) */
    uint64_t grads;        /* params x bytes(weight dtype) */
    uint64_t optimizer;    /* AdamW: two fp32 moments (+ an fp32 master copy when the weights are
                              not fp32) */
    uint64_t activations;  /* mlm_memory_acts_numel(for_backward = 1) x bytes(act dtype) */
    uint64_t total;
} mlm_memory_train;

mlm_status mlm_memory_training(const mlm_config *c, int64_t B, int64_t T, mlm_dtype weights, mlm_dtype acts,
                               mlm_memory_train *out, mlm_err *e);

#endif
