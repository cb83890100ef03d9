/* model.c - the weight layout table, allocation and seeded initialisation. */
#include "model.h"
#include "bigalloc.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends one tensor to the table. */
static void add(mlm_tensor_info *t, int *n, int64_t *off, const char *name, int64_t r, int64_t c, int is_norm,
                int is_mat) {
    mlm_tensor_info *x = &t[(*n)++];
    memset(x, 0, sizeof *x);
    snprintf(x->name, sizeof x->name, "%s", name);
    x->offset = *off;
    x->ndim = c > 0 ? 2 : 1;
    x->shape[0] = r;
    x->shape[1] = c > 0 ? c : 0;
    x->numel = r * (c > 0 ? c : 1);
    x->is_norm = is_norm;
    x->is_block_matrix = is_mat;
    *off += x->numel;
}

mlm_status mlm_layout(const mlm_config *cfg, mlm_tensor_info **out, int *n, int64_t *total, mlm_err *e) {
    mlm_status st = mlm_config_validate(cfg, cfg->name, e);
    if (st) return st;
    int cap = 3 + 9 * cfg->n_layers;
    mlm_tensor_info *t = calloc((size_t)cap, sizeof *t);
    if (!t) return mlm_fail(e, MLM_ENOMEM, "%s: out of memory for the layout table", cfg->name);
    int k = 0;
    int64_t off = 0, d = cfg->d_model, V = cfg->vocab_size, qd = mlm_q_dim(cfg), kvd = mlm_kv_dim(cfg), ff = cfg->d_ff;
    char nm[64];
    add(t, &k, &off, "tok_emb", V, d, 0, 0);
    /* Block tensors are grouped by kind across layers (llama2.c order), so each kind is one
     * contiguous (L, ...) array. */
    const char *kinds[] = {"attn_norm.weight", "attn.wq", "attn.wk", "attn.wv", "attn.wo",
                           "ffn_norm.weight",  "ffn.w_gate", "ffn.w_up", "ffn.w_down"};
    for (int kind = 0; kind < 9; kind++) {
        if (kind == 6 && cfg->ffn == MLM_FFN_RELU) continue;
        for (int l = 0; l < cfg->n_layers; l++) {
            snprintf(nm, sizeof nm, "blocks.%d.%s", l, kinds[kind]);
            switch (kind) {
            case 0: case 5: add(t, &k, &off, nm, d, 0, 1, 0); break;
            case 1: add(t, &k, &off, nm, qd, d, 0, 1); break;
            case 2: case 3: add(t, &k, &off, nm, kvd, d, 0, 1); break;
            case 4: add(t, &k, &off, nm, d, qd, 0, 1); break;
            case 6: case 7: add(t, &k, &off, nm, ff, d, 0, 1); break;
            case 8: add(t, &k, &off, nm, d, ff, 0, 1); break;
            }
        }
    }
    add(t, &k, &off, "final_norm.weight", d, 0, 1, 0);
    if (!cfg->tied) add(t, &k, &off, "lm_head", V, d, 0, 0);
    *out = t;
    *n = k;
    *total = off;
    return MLM_OK;
}

void mlm_params_point(mlm_params *p, const mlm_config *cfg, mlm_real *mem) {
    int64_t d = cfg->d_model, V = cfg->vocab_size, L = cfg->n_layers, qd = mlm_q_dim(cfg), kvd = mlm_kv_dim(cfg),
            ff = cfg->d_ff;
    mlm_real *x = mem;
    p->tok_emb = x; x += V * d;
    p->attn_norm = x; x += L * d;
    p->wq = x; x += L * qd * d;
    p->wk = x; x += L * kvd * d;
    p->wv = x; x += L * kvd * d;
    p->wo = x; x += L * d * qd;
    p->ffn_norm = x; x += L * d;
    p->w_gate = x; if (cfg->ffn == MLM_FFN_SWIGLU) x += L * ff * d;
    p->w_up = x; x += L * ff * d;
    p->w_down = x; x += L * d * ff;
    p->final_norm = x; x += d;
    p->lm_head = cfg->tied ? p->tok_emb : x;
}

mlm_model *mlm_model_new(const mlm_config *cfg, mlm_err *e) {
    mlm_model *m = calloc(1, sizeof *m);
    if (!m) { mlm_fail(e, MLM_ENOMEM, "%s: out of memory", cfg->name); return NULL; }
    m->cfg = *cfg;
    if (mlm_layout(cfg, &m->tensors, &m->n_tensors, &m->n_params, e)) { free(m); return NULL; }
    if ((uint64_t)m->n_params > (UINT64_C(1) << 36) / sizeof(mlm_real)) {
        mlm_fail(e, MLM_ENOMEM, "%s: %lld parameters do not fit in this machine's memory", cfg->name,
                 (long long)m->n_params);
        mlm_model_free(m);
        return NULL;
    }
    m->mem = mlm_big_calloc((size_t)m->n_params, sizeof(mlm_real));
    if (!m->mem) {
        mlm_fail(e, MLM_ENOMEM, "%s: out of memory for %lld parameters", cfg->name, (long long)m->n_params);
        mlm_model_free(m);
        return NULL;
    }
    mlm_params_point(&m->w, cfg, m->mem);
    return m;
}

void mlm_model_free(mlm_model *m) {
    if (!m) return;
    free(m->mem);
    free(m->tensors);
    free(m);
}

void mlm_model_init(mlm_model *m, const mlm_init_opts *o) {
    mlm_init_opts def = {42, 0};
    if (!o) o = &def;
    mlm_rng r;
    mlm_rng_seed(&r, o->seed);
    double block_scale = o->scale_blocks ? 1.0 / sqrt((double)m->cfg.n_layers) : 1.0;
    for (int i = 0; i < m->n_tensors; i++) {
        const mlm_tensor_info *t = &m->tensors[i];
        mlm_real *x = m->mem + t->offset;
        if (t->is_norm) {
            for (int64_t j = 0; j < t->numel; j++) x[j] = 1;
            continue;
        }
        double std = sqrt(2.0 / (double)(t->shape[0] + t->shape[1]));
        if (t->is_block_matrix) std *= block_scale;
        for (int64_t j = 0; j < t->numel; j++) x[j] = (mlm_real)(std * mlm_rng_normal(&r));
    }
}

const mlm_tensor_info *mlm_model_tensor(const mlm_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}
