/* checkpoint.h - llama2.c checkpoints (legacy version 0): seven little-endian int32 (dim,
 * hidden_dim, n_layers, n_heads, n_kv_heads, vocab_size, seq_len; a negative vocab_size means an
 * untied classifier), then float32 tensors: token embedding, attention norm gains (all
 * layers), wq, wk, wv, wo, ffn norm gains, w1 (gate), w2 (down), w3 (up), final norm gain, the
 * two RoPE tables (seq_len x head_size/2 each, skipped on read), then the classifier if untied.
 * RoPE rotates adjacent pairs (2i, 2i+1). */
#ifndef MLM_CHECKPOINT_H
#define MLM_CHECKPOINT_H
#include "model.h"

/* Reads and validates the header only, filling c (head_dim = dim / n_heads, rope_theta 10000). */
mlm_status mlm_llama2c_read_config(mlm_config *c, const char *path, mlm_err *e);

/* Loads a whole checkpoint; the file length must match the header exactly. Caller frees. */
mlm_model *mlm_llama2c_load(const char *path, mlm_err *e);

/* Saves m; configs the format cannot express (post-norm, ReLU FFN, rope_theta other than
 * 10000, head_dim other than dim / n_heads, sliding window) are an error and nothing is
 * written. The file is written atomically. */
mlm_status mlm_llama2c_save(const mlm_model *m, const char *path, mlm_err *e);

/* 1 when the format can express cfg; otherwise 0 and why in e. */
int mlm_llama2c_can_express(const mlm_config *cfg, mlm_err *e);

#endif
