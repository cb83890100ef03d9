/* open.h - turns a MODEL argument into a model with weights: a llama2.c checkpoint is
 * loaded; a preset or config file gets seeded random weights. */
#ifndef MLM_OPEN_H
#define MLM_OPEN_H
#include "model.h"

/* spec: preset name | config .json (project or Hugging Face) | llama2.c checkpoint .bin |
 * Hugging Face model directory (config.json + safetensors) or .safetensors file (hf_model.h;
 * W_q / W_k rows permuted to the adjacent RoPE layout, so every model returned runs with the
 * default mlm_fwd_opts). Checkpoints too large for the machine are refused before allocation.
 * Weights of configs are initialised by mlm_model_init with o (NULL: seed 42). Caller frees
 * with mlm_model_free. NULL and e filled on error. */
mlm_model *mlm_model_open(const char *spec, const mlm_init_opts *o, mlm_err *e);

/* 1 when spec names a file holding weights (a checkpoint), 0 for shapes only. */
int mlm_spec_has_weights(const char *spec);

#endif
