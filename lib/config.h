/* config.h - the shape of a LLaMA-style decoder: sizes, variants, presets, and the project's
 * own strict JSON config format. Everything else (weights, passes, formulas) starts here. */
#ifndef MLM_CONFIG_H
#define MLM_CONFIG_H
#include "common.h"

typedef enum { MLM_FFN_SWIGLU = 0, MLM_FFN_RELU = 1 } mlm_ffn_kind;   /* 3-matrix gated / 2-matrix */
typedef enum { MLM_PRENORM = 0, MLM_POSTNORM = 1 } mlm_norm_pos;      /* norm before / after the add */

typedef struct {
    char name[64];          /* preset or file name, for messages and titles */
    int d_model;            /* residual width d */
    int n_layers;           /* number of blocks */
    int n_heads;            /* query heads h */
    int n_kv_heads;         /* key/value heads h_kv: == h MHA, 1 MQA, else GQA */
    int head_dim;           /* d_k; defaults to d_model / n_heads, may differ */
    int d_ff;               /* FFN hidden width */
    int vocab_size;
    int max_seq_len;
    double rope_theta;      /* RoPE base, 10000 in llama2 */
    double rope_scaling;    /* informational (HF rope_scaling factor), 0 = none */
    double norm_eps;        /* RMSNorm epsilon */
    int tied;               /* 1: lm_head shares the token embedding */
    mlm_norm_pos norm_pos;
    mlm_ffn_kind ffn;
    int sliding_window;     /* attention window in tokens, 0 = full causal */
    char source[256];       /* where the numbers come from (presets, imports) */
} mlm_config;

/* Derived sizes, all in 64-bit. */
static inline int64_t mlm_q_dim(const mlm_config *c) { return (int64_t)c->n_heads * c->head_dim; }
static inline int64_t mlm_kv_dim(const mlm_config *c) { return (int64_t)c->n_kv_heads * c->head_dim; }

/* Fills c with the defaults of the project's config format (the block-demo shape). */
void mlm_config_default(mlm_config *c);

/* Checks every field; the message names the field ("n_heads (6) must be a multiple of
 * n_kv_heads (4)"). where prefixes the message (a file name or "preset x"); may be NULL. */
mlm_status mlm_config_validate(const mlm_config *c, const char *where, mlm_err *e);

/* The project's own config JSON, strict: unknown keys, wrong types, zero or negative sizes,
 * heads not dividing d_model (unless head_dim is given), n_heads not a multiple of n_kv_heads
 * are errors naming the field. Missing keys take the defaults of mlm_config_default.
 * where names the source in messages. */
mlm_status mlm_config_from_json(mlm_config *c, const char *json, size_t len, const char *where, mlm_err *e);
mlm_status mlm_config_load(mlm_config *c, const char *path, mlm_err *e);
/* Returns a malloc'd JSON text (caller frees) or NULL when out of memory. */
char *mlm_config_to_json(const mlm_config *c);
mlm_status mlm_config_save(const mlm_config *c, const char *path, mlm_err *e);

/* Hugging Face config.json import (lib/hf_config.c). */
mlm_status mlm_config_from_hf_json(mlm_config *c, const char *json, size_t len, const char *where, mlm_err *e);

/* Presets (lib/presets.c): the project's own shapes and real models' published shapes. */
int mlm_preset_count(void);
const mlm_config *mlm_preset_at(int i);
const mlm_config *mlm_preset_find(const char *name);   /* NULL when unknown */

/* Resolves a MODEL argument: a preset name, a project config .json, a Hugging Face
 * config.json (or a directory holding one), or a llama2.c checkpoint .bin (header only). */
mlm_status mlm_config_resolve(mlm_config *c, const char *spec, mlm_err *e);

const char *mlm_ffn_name(mlm_ffn_kind k);
const char *mlm_norm_pos_name(mlm_norm_pos p);

#endif
