/* params.c - exact parameter counts (per matrix, block, component, total), LoRA adapter
 * sizes and per-device shares under Megatron tensor parallelism. Pure arithmetic on a config. */
#include "params.h"

#include <stdio.h>
#include <string.h>

mlm_status mlm_params_count(const mlm_config *c, mlm_param_counts *p, mlm_err *e) {
    if (!c || !p) return mlm_fail(e, MLM_EINVAL, "params: NULL argument");
    mlm_status st = mlm_config_validate(c, c->name[0] ? c->name : "config", e);
    if (st) return st;
    memset(p, 0, sizeof *p);
    const int64_t d = c->d_model, qd = mlm_q_dim(c), kvd = mlm_kv_dim(c), ff = c->d_ff, V = c->vocab_size,
                  L = c->n_layers;
    p->wq = d * qd;
    p->wk = d * kvd;
    p->wv = d * kvd;
    p->wo = qd * d;
    p->w_gate = c->ffn == MLM_FFN_SWIGLU ? d * ff : 0;
    p->w_up = d * ff;
    p->w_down = ff * d;
    p->attn_norm = d;
    p->ffn_norm = d;
    p->attn = p->wq + p->wk + p->wv + p->wo;
    p->ffn = p->w_gate + p->w_up + p->w_down;
    p->norms = p->attn_norm + p->ffn_norm;
    p->block = p->attn + p->ffn + p->norms;
    p->attn_mha = 4 * d * qd;
    p->embedding = V * d;
    p->blocks = L * p->block;
    p->final_norm = d;
    p->lm_head = c->tied ? 0 : V * d;
    p->total = p->embedding + p->blocks + p->final_norm + p->lm_head;
    p->total_tied = p->embedding + p->blocks + p->final_norm;
    p->total_untied = p->total_tied + V * d;
    p->non_embedding = p->blocks + p->final_norm;
    return MLM_OK;
}

/* ---- LoRA -------------------------------------------------------------------------------- */

static const struct { const char *name; unsigned bit; } lora_names[] = {
    {"q", MLM_LORA_Q},       {"k", MLM_LORA_K},   {"v", MLM_LORA_V},       {"o", MLM_LORA_O},
    {"gate", MLM_LORA_GATE}, {"up", MLM_LORA_UP}, {"down", MLM_LORA_DOWN}, {"attn", MLM_LORA_ATTN},
    {"ffn", MLM_LORA_FFN},   {"all", MLM_LORA_ALL},
};

mlm_status mlm_lora_parse_targets(const char *s, unsigned *mask, mlm_err *e) {
    if (!s || !mask) return mlm_fail(e, MLM_EINVAL, "lora: NULL target list");
    unsigned m = 0;
    const char *p = s;
    while (*p) {
        const char *q = strchr(p, ',');
        size_t n = q ? (size_t)(q - p) : strlen(p);
        int found = 0;
        for (size_t i = 0; i < sizeof lora_names / sizeof lora_names[0]; i++)
            if (strlen(lora_names[i].name) == n && !strncmp(p, lora_names[i].name, n)) {
                m |= lora_names[i].bit;
                found = 1;
            }
        if (!found)
            return mlm_fail(e, MLM_EINVAL, "lora: unknown target \"%.*s\" (use q,k,v,o,gate,up,down,attn,ffn,all)",
                            (int)(n > 32 ? 32 : n), p);
        p = q ? q + 1 : p + n;
    }
    if (!m) return mlm_fail(e, MLM_EINVAL, "lora: empty target list");
    *mask = m;
    return MLM_OK;
}

void mlm_lora_targets_name(unsigned mask, char *buf, size_t cap) {
    if (!buf || cap == 0) return;
    buf[0] = 0;
    size_t len = 0;
    for (int i = 0; i < 7; i++)
        if (mask & lora_names[i].bit) {
            int n = snprintf(buf + len, cap - len, "%s%s", len ? "," : "", lora_names[i].name);
            if (n < 0 || (size_t)n >= cap - len) return;
            len += (size_t)n;
        }
}

mlm_status mlm_lora_params(const mlm_config *c, int rank, unsigned mask, int64_t *total, int64_t *per_layer,
                           mlm_err *e) {
    if (!c || !total) return mlm_fail(e, MLM_EINVAL, "lora: NULL argument");
    mlm_status st = mlm_config_validate(c, c->name[0] ? c->name : "config", e);
    if (st) return st;
    if (rank < 1) return mlm_fail(e, MLM_EINVAL, "lora: rank must be at least 1 (got %d)", rank);
    if (!(mask & MLM_LORA_ALL)) return mlm_fail(e, MLM_EINVAL, "lora: no target matrices");
    const int64_t d = c->d_model, qd = mlm_q_dim(c), kvd = mlm_kv_dim(c), ff = c->d_ff, r = rank;
    int64_t layer = 0;
    if (mask & MLM_LORA_Q) layer += r * (d + qd);
    if (mask & MLM_LORA_K) layer += r * (d + kvd);
    if (mask & MLM_LORA_V) layer += r * (d + kvd);
    if (mask & MLM_LORA_O) layer += r * (qd + d);
    if ((mask & MLM_LORA_GATE) && c->ffn == MLM_FFN_SWIGLU) layer += r * (d + ff);
    if (mask & MLM_LORA_UP) layer += r * (d + ff);
    if (mask & MLM_LORA_DOWN) layer += r * (ff + d);
    if (per_layer) *per_layer = layer;
    *total = layer * c->n_layers;
    return MLM_OK;
}

/* ---- tensor parallelism ------------------------------------------------------------------ */

mlm_status mlm_tp_plan_make(const mlm_config *c, int P, mlm_tp_plan *t, mlm_err *e) {
    if (!c || !t) return mlm_fail(e, MLM_EINVAL, "tensor parallel: NULL argument");
    mlm_status st = mlm_config_validate(c, c->name[0] ? c->name : "config", e);
    if (st) return st;
    if (P < 1) return mlm_fail(e, MLM_EINVAL, "tensor parallel: degree must be at least 1 (got %d)", P);
    if (c->n_heads % P)
        return mlm_fail(e, MLM_EINVAL, "tensor parallel: degree %d does not divide n_heads (%d)", P, c->n_heads);
    if (c->d_ff % P)
        return mlm_fail(e, MLM_EINVAL, "tensor parallel: degree %d does not divide d_ff (%d)", P, c->d_ff);
    if (c->n_kv_heads % P && P % c->n_kv_heads)
        return mlm_fail(e, MLM_EINVAL, "tensor parallel: degree %d and n_kv_heads (%d) must divide one another", P,
                        c->n_kv_heads);
    memset(t, 0, sizeof *t);
    const int64_t d = c->d_model, dk = c->head_dim, ff = c->d_ff, V = c->vocab_size, L = c->n_layers;
    t->P = P;
    t->vocab_padded = (V + P - 1) / P * P;
    t->kv_heads_per_device = c->n_kv_heads >= P ? c->n_kv_heads / P : 1;
    const int64_t qd_dev = (int64_t)(c->n_heads / P) * dk, kvd_dev = (int64_t)t->kv_heads_per_device * dk,
                  ff_dev = ff / P;
    int64_t block = d * qd_dev + 2 * d * kvd_dev + qd_dev * d;               /* Q, K, V columns; O rows */
    block += (c->ffn == MLM_FFN_SWIGLU ? 2 : 1) * d * ff_dev + ff_dev * d;   /* gate, up columns; down rows */
    block += 2 * d;                                                          /* two norm gains, replicated */
    t->per_device_block = block;
    t->per_device_embedding = t->vocab_padded / P * d;
    t->per_device_lm_head = c->tied ? 0 : t->per_device_embedding;
    t->replicated = L * 2 * d + d;
    t->per_device_total = L * block + t->per_device_embedding + t->per_device_lm_head + d;
    t->allreduce_per_layer = P > 1 ? 2 : 0;
    t->allreduce_values_token = P > 1 ? (2 * L + 1) * d : 0;
    t->ring_send_values_token = 2.0 * (double)(P - 1) / (double)P * (double)t->allreduce_values_token;
    return MLM_OK;
}
