/* model_io.h - the project's own weight file, for configs the llama2.c format cannot express
 * (post-norm, ReLU FFN, other RoPE bases, head_dim != d / h, sliding windows) and for exact
 * double-precision weights. Layout (little-endian):
 *   "MLMWEIGH" (8 bytes), uint32 version = 1, uint32 scalar bytes (4 float32 / 8 float64),
 *   uint64 n_params, uint64 json_len, the config as the project's JSON (json_len bytes,
 *   mlm_config_to_json), then n_params scalars in the model's layout order (model.h).
 * A tied lm_head is stored once (it is the embedding). */
#ifndef MLM_MODEL_IO_H
#define MLM_MODEL_IO_H
#include "model.h"

/* Writes m to path atomically at the build's precision. */
mlm_status mlm_model_save(const mlm_model *m, const char *path, mlm_err *e);

/* Loads a file written by mlm_model_save: validates the magic, version, scalar size, the
 * config (strict JSON) and that n_params matches the config's layout and the file length. A
 * file of the other precision is converted. Caller frees with mlm_model_free. */
mlm_model *mlm_model_load(const char *path, mlm_err *e);

#endif
