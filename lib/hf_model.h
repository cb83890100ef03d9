/* hf_model.h - Hugging Face Llama-architecture models: a directory holding config.json and
 * the weights as one model.safetensors or shards listed in model.safetensors.index.json
 * (F32, F16 or BF16, converted to mlm_real on load), read into an mlm_model; and the writer
 * the project uses to make its own HF directories for tests and benchmarks.
 *
 * Tensor names (N = layer):  model.embed_tokens.weight (V, d)   model.norm.weight (d)
 *   model.layers.N.input_layernorm.weight (d)    model.layers.N.post_attention_layernorm.weight (d)
 *   model.layers.N.self_attn.{q,k,v,o}_proj.weight   model.layers.N.mlp.{gate,up,down}_proj.weight
 *   lm_head.weight (V, d), absent when tie_word_embeddings is true.
 *
 * RoPE: HF's rotate_half pairs dimension j of a head with j + head_dim/2; llama2.c pairs 2i
 * with 2i+1. The two are the same model once the rows of W_q and W_k are permuted within each
 * head: adjacent row 2i+p <-> half row p*head_dim/2 + i (p = 0, 1). By default the loader
 * permutes, so every loaded model runs with the default MLM_ROPE_ADJACENT like all others. */
#ifndef MLM_HF_MODEL_H
#define MLM_HF_MODEL_H
#include "kernels.h"
#include "model.h"
#include "safetensors.h"

typedef struct {
    /* Layout of W_q / W_k rows in the returned model: MLM_ROPE_ADJACENT (default; HF rows
     * permuted, run with the default mlm_fwd_opts) or MLM_ROPE_HALF (rows as HF stores them;
     * run with mlm_fwd_opts.rope_layout = MLM_ROPE_HALF). */
    mlm_rope_layout rope_layout;
} mlm_hf_load_opts;

/* Loads a Hugging Face model. path is the model directory, or one .safetensors file whose
 * directory holds config.json. The config is read first and the model's size checked
 * against the machine's memory before anything large is allocated; shards are
 * memory-mapped; every tensor's name, dtype and shape is checked, and shard file names that
 * would leave the directory are refused. o may be NULL (adjacent layout). Caller frees with
 * mlm_model_free. NULL and one line in e on error. */
mlm_model *mlm_hf_load(const char *path, const mlm_hf_load_opts *o, mlm_err *e);

/* 1 when path is a directory holding config.json and model.safetensors or
 * model.safetensors.index.json, or a file whose name ends in .safetensors. */
int mlm_is_hf_model(const char *path);

typedef struct {
    mlm_st_dtype dtype;          /* MLM_ST_F32 (0, default), MLM_ST_F16 or MLM_ST_BF16 */
    int n_shards;                /* <= 1: one model.safetensors; else that many shards + index */
    mlm_rope_layout rope_layout; /* the layout m's W_q / W_k rows are in (default adjacent) */
} mlm_hf_save_opts;

/* Writes m as a Hugging Face directory: config.json (model_type llama) and the weights, rows
 * permuted to HF's rotate_half layout. dir must exist. o may be NULL. */
mlm_status mlm_hf_save(const mlm_model *m, const char *dir, const mlm_hf_save_opts *o, mlm_err *e);

/* dst (H*hd, cols) = the rows of src (H*hd, cols) permuted from one RoPE layout to the other
 * within each of the H heads (dst != src). Same layouts: a copy. */
void mlm_rope_permute_rows(mlm_real *dst, const mlm_real *src, int64_t H, int64_t hd, int64_t cols,
                           mlm_rope_layout from, mlm_rope_layout to);

/* Permutes every layer's W_q and W_k of m in place from one layout to the other. */
mlm_status mlm_model_convert_rope(mlm_model *m, mlm_rope_layout from, mlm_rope_layout to, mlm_err *e);

#endif
