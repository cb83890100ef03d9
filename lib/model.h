/* model.h - a model's weights: laid out from a table of named tensor sizes into one
 * allocation, seeded initialisation, and the same layout reused for weight gradients. */
#ifndef MLM_MODEL_H
#define MLM_MODEL_H
#include "config.h"

/* Pointers into one block of memory. L layers, d = d_model, V = vocab, qd = h*d_k,
 * kvd = h_kv*d_k. Matrices are (out, in) row-major, as in llama2.c and PyTorch Linear. */
typedef struct {
    mlm_real *tok_emb;    /* (V, d) */
    mlm_real *attn_norm;  /* (L, d) */
    mlm_real *wq;         /* (L, qd, d) */
    mlm_real *wk;         /* (L, kvd, d) */
    mlm_real *wv;         /* (L, kvd, d) */
    mlm_real *wo;         /* (L, d, qd) */
    mlm_real *ffn_norm;   /* (L, d) */
    mlm_real *w_gate;     /* (L, d_ff, d); zero-sized for the ReLU FFN */
    mlm_real *w_up;       /* (L, d_ff, d) */
    mlm_real *w_down;     /* (L, d, d_ff) */
    mlm_real *final_norm; /* (d) */
    mlm_real *lm_head;    /* (V, d); the same pointer as tok_emb when tied */
} mlm_params;

/* One named tensor of the layout (per layer for block weights). */
typedef struct {
    char name[64];        /* "tok_emb", "blocks.3.attn.wq", "final_norm.weight", ... */
    int64_t offset;       /* in elements from the start of the block of memory */
    int64_t numel;
    int ndim;
    int64_t shape[2];
    int is_norm;          /* a norm gain (initialised to 1, no weight decay) */
    int is_block_matrix;  /* one of the seven block matrices (scaled by 1/sqrt(N) on request) */
} mlm_tensor_info;

typedef struct {
    mlm_config cfg;
    mlm_params w;
    mlm_real *mem;
    int64_t n_params;         /* elements in mem (a tied lm_head is counted once) */
    mlm_tensor_info *tensors; /* the layout table, n_tensors entries */
    int n_tensors;
} mlm_model;

/* Builds the layout table for cfg: fills *out (malloc'd, caller frees) and *n, and the total
 * element count. */
mlm_status mlm_layout(const mlm_config *cfg, mlm_tensor_info **out, int *n, int64_t *total, mlm_err *e);

/* Points p's fields into mem following cfg's layout. */
void mlm_params_point(mlm_params *p, const mlm_config *cfg, mlm_real *mem);

/* Allocates a model for cfg with all weights zero. Validates cfg first. Caller frees with
 * mlm_model_free. Returns NULL and fills e on error. */
mlm_model *mlm_model_new(const mlm_config *cfg, mlm_err *e);
void mlm_model_free(mlm_model *m);   /* NULL is a no-op */

typedef struct {
    uint64_t seed;        /* default 42 */
    int scale_blocks;     /* 1: multiply the seven block matrices by 1/sqrt(n_layers) */
} mlm_init_opts;

/* Xavier-style normal init: every matrix (and the embedding) ~ N(0, 2 / (fan_in + fan_out));
 * norm gains 1. Deterministic for a seed: tensors are drawn in layout order. */
void mlm_model_init(mlm_model *m, const mlm_init_opts *o);

/* Finds a tensor of the layout by name; NULL when absent. */
const mlm_tensor_info *mlm_model_tensor(const mlm_model *m, const char *name);

#endif
