/* forward.c - the instrumented forward pass: activations planned from a size table, the
 * block, the full model, and the stage records the probe receives. Reads top to bottom like
 * the seed diagram: embedding -> blocks (norm, attention, add, norm, FFN, add) -> final norm
 * -> lm_head -> softmax. */
#include "forward.h"
#include "bigalloc.h"
#include "gemm.h"

#include "bf16.h"
#include "decode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- activations: a size table -> one allocation ----------------------------------------- */

typedef struct { mlm_real **ptr; int64_t numel; } slot_t;

mlm_acts *mlm_acts_new(const mlm_config *cfg, int B, int T, int for_backward, mlm_err *e) {
    if (mlm_config_validate(cfg, cfg->name, e)) return NULL;
    if (B <= 0 || T <= 0) { mlm_fail(e, MLM_EINVAL, "%s: batch and sequence must be positive", cfg->name); return NULL; }
    if (T > cfg->max_seq_len) {
        mlm_fail(e, MLM_EINVAL, "%s: sequence length %d exceeds max_seq_len %d", cfg->name, T, cfg->max_seq_len);
        return NULL;
    }
    mlm_acts *a = calloc(1, sizeof *a);
    if (!a) { mlm_fail(e, MLM_ENOMEM, "%s: out of memory", cfg->name); return NULL; }
    a->cfg = *cfg;
    a->B = B;
    a->T = T;
    a->for_backward = for_backward;
    int64_t L = cfg->n_layers, S = for_backward ? L : 1, N = (int64_t)B * T, d = cfg->d_model,
            qd = mlm_q_dim(cfg), kvd = mlm_kv_dim(cfg), ff = cfg->d_ff, V = cfg->vocab_size, H = cfg->n_heads;
    a->n_slots = (int)S;
    int post = cfg->norm_pos == MLM_POSTNORM;
    slot_t table[] = {
        {&a->resid, (L + 1) * N * d}, {&a->n1, S * N * d},      {&a->rstd1, S * N},
        {&a->q_rot, S * N * qd},      {&a->k_rot, S * N * kvd}, {&a->v, S * N * kvd},
        {&a->probs, S * B * H * T * (int64_t)T},                {&a->heads, S * N * qd},
        {&a->mid, S * N * d},         {&a->n2, S * N * d},      {&a->rstd2, S * N},
        {&a->gate, cfg->ffn == MLM_FFN_SWIGLU ? S * N * ff : 0}, {&a->up, S * N * ff},
        {&a->hidden, S * N * ff},     {&a->sum2, post ? S * N * d : 0},
        {&a->final_out, N * d},       {&a->rstd_f, N},          {&a->logits, N * V},
        {&a->out_probs, N * V},
        /* scratch */
        {&a->q, N * qd},              {&a->k, N * kvd},         {&a->scores, B * H * T * (int64_t)T},
        {&a->kexp, N * qd},           {&a->vexp, N * qd},       {&a->attn_out, N * d},
        {&a->act, N * ff},            {&a->down, N * d},        {&a->rope_cs, (int64_t)T * cfg->head_dim},
    };
    int n = (int)(sizeof table / sizeof table[0]);
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += table[i].numel;
    if ((uint64_t)total > (UINT64_C(1) << 36) / sizeof(mlm_real)) {
        mlm_fail(e, MLM_ENOMEM, "%s: activations for B=%d T=%d need %lld values, too many for this machine",
                 cfg->name, B, T, (long long)total);
        free(a);
        return NULL;
    }
    a->mem = mlm_big_calloc((size_t)total, sizeof(mlm_real));
    if (!a->mem) {
        mlm_fail(e, MLM_ENOMEM, "%s: out of memory for activations (B=%d, T=%d)", cfg->name, B, T);
        free(a);
        return NULL;
    }
    a->numel = total;
    a->stat_rows = calloc((size_t)(8 * N), sizeof(double));
    if (!a->stat_rows) {
        mlm_fail(e, MLM_ENOMEM, "%s: out of memory for activations (B=%d, T=%d)", cfg->name, B, T);
        free(a->mem);
        free(a);
        return NULL;
    }
    mlm_real *x = a->mem;
    for (int i = 0; i < n; i++) { *table[i].ptr = x; x += table[i].numel; }
    return a;
}

void mlm_acts_free(mlm_acts *a) {
    if (!a) return;
    free(a->stat_rows);
    free(a->mem);
    free(a);
}

mlm_real *mlm_acts_output(const mlm_acts *a) {
    return a->resid + (int64_t)a->cfg.n_layers * a->B * a->T * a->cfg.d_model;
}

void mlm_block_output_name(const mlm_config *cfg, int l, char *buf, size_t cap) {
    snprintf(buf, cap, "blocks.%d.%s", l, cfg->norm_pos == MLM_POSTNORM ? "ffn_norm" : "resid_post");
}

/* ---- recording helpers -------------------------------------------------------------------- */

/* Records name (formatted with layer l when it has %d) with shape dims. */
static void rec(mlm_probe *p, const char *fmt, int l, const mlm_real *x, uint64_t flops, int ndim, int64_t d0,
                int64_t d1, int64_t d2, int64_t d3) {
    if (!p) return;
    char name[96];
    snprintf(name, sizeof name, fmt, l);
    int64_t shape[4] = {d0, d1, d2, d3};
    mlm_probe_record(p, name, x, ndim, shape, flops);
}

/* ---- one block ---------------------------------------------------------------------------- */

/* With a KV cache (decode, B = T = 1), the new K and V rows are appended to the cache and the
 * query attends over every cached position. */
/* A block matrix product: float32 weights, or the bfloat16 copy when decoding with one. */
static uint64_t wmat(mlm_real *out, const mlm_real *in, const mlm_real *w32, const mlm_bf16 *w16, int64_t N, int64_t C,
                     int64_t OC, int decoding) {
    if (w16) return mlm_matmul_forward_bf16(out, in, w16, N, C, OC);
    return decoding ? mlm_matmul_forward_decode(out, in, w32, C, OC) : mlm_matmul_forward(out, in, w32, N, C, OC);
}

static void block_forward(const mlm_model *m, mlm_acts *a, int l, int B, int T, const mlm_fwd_opts *o, mlm_probe *p,
                          mlm_kv_cache *cache, const mlm_bf16_weights *bw, mlm_kv_cache *fill) {
    const mlm_config *c = &m->cfg;
    const mlm_params *w = &m->w;
    const int64_t N = (int64_t)B * T, d = c->d_model, H = c->n_heads, Hk = c->n_kv_heads, dk = c->head_dim,
                  qd = mlm_q_dim(c), kvd = mlm_kv_dim(c), ff = c->d_ff;
    const int64_t s = a->for_backward ? l : 0; /* saved-tensor slot */
    const int post = c->norm_pos == MLM_POSTNORM;
    const mlm_real *x = a->resid + (int64_t)l * N * d; /* (N, d) block input */
    mlm_real *out = a->resid + (int64_t)(l + 1) * N * d;
    mlm_real *n1 = a->n1 + s * N * d, *rstd1 = a->rstd1 + s * N, *q_rot = a->q_rot + s * N * qd,
             *k_rot = a->k_rot + s * N * kvd, *v = a->v + s * N * kvd, *probs = a->probs + s * B * H * T * T,
             *heads = a->heads + s * N * qd, *mid = a->mid + s * N * d, *n2 = a->n2 + s * N * d,
             *rstd2 = a->rstd2 + s * N, *gate = a->gate + s * N * ff, *up = a->up + s * N * ff,
             *hidden = a->hidden + s * N * ff, *sum2 = a->sum2 + s * N * d;
    uint64_t f;

    /* attention sub-layer: pre-norm reads norm(x), post-norm reads x */
    const mlm_real *ain = x;
    if (!post) {
        f = mlm_rmsnorm_forward(n1, rstd1, x, w->attn_norm + l * d, N, d, c->norm_eps);
        rec(p, "blocks.%d.attn_norm", l, n1, f, 3, B, T, d, 0);
        ain = n1;
    }
    if (cache || bw) { /* decoding: q, k and v of one input in one parallel region (gemm.h, bf16.h) */
        mlm_real *ys[3] = {a->q, a->k, v};
        const int64_t ocs[3] = {qd, kvd, kvd};
        uint64_t gf[3];
        if (bw) {
            const mlm_bf16 *ws[3] = {bw->wq + l * qd * d, bw->wk + l * kvd * d, bw->wv + l * kvd * d};
            mlm_matmul_forward_bf16_group(3, ys, ws, ocs, ain, N, d, gf);
        } else {
            const mlm_real *ws[3] = {w->wq + l * qd * d, w->wk + l * kvd * d, w->wv + l * kvd * d};
            mlm_gemm_nt_decode_group(3, ys, ws, ocs, ain, d, gf);
        }
        rec(p, "blocks.%d.attn.q", l, a->q, gf[0], 4, B, T, H, dk);
        rec(p, "blocks.%d.attn.k", l, a->k, gf[1], 4, B, T, Hk, dk);
        rec(p, "blocks.%d.attn.v", l, v, gf[2], 4, B, T, Hk, dk);
    } else {
        f = mlm_matmul_forward(a->q, ain, w->wq + l * qd * d, N, d, qd);
        rec(p, "blocks.%d.attn.q", l, a->q, f, 4, B, T, H, dk);
        f = mlm_matmul_forward(a->k, ain, w->wk + l * kvd * d, N, d, kvd);
        rec(p, "blocks.%d.attn.k", l, a->k, f, 4, B, T, Hk, dk);
        f = mlm_matmul_forward(v, ain, w->wv + l * kvd * d, N, d, kvd);
        rec(p, "blocks.%d.attn.v", l, v, f, 4, B, T, Hk, dk);
    }
    if (o->no_rope) {
        memcpy(q_rot, a->q, (size_t)(N * qd) * sizeof(mlm_real));
        memcpy(k_rot, a->k, (size_t)(N * kvd) * sizeof(mlm_real));
        rec(p, "blocks.%d.attn.q_rot", l, q_rot, 0, 4, B, T, H, dk);
        rec(p, "blocks.%d.attn.k_rot", l, k_rot, 0, 4, B, T, Hk, dk);
    } else {
        /* a->rope_cs: the table of this pass's positions (rope_prepare) */
        f = mlm_rope_apply(q_rot, a->q, a->rope_cs, B, T, H, dk, o->rope_layout);
        rec(p, "blocks.%d.attn.q_rot", l, q_rot, f, 4, B, T, H, dk);
        f = mlm_rope_apply(k_rot, a->k, a->rope_cs, B, T, Hk, dk, o->rope_layout);
        rec(p, "blocks.%d.attn.k_rot", l, k_rot, f, 4, B, T, Hk, dk);
    }
    if (fill) { /* prefill (B = 1): the T positions' K and V rows are each KV head's first rows */
        const int64_t base = (int64_t)l * fill->max_T * kvd;
        for (int64_t hk = 0; hk < Hk; hk++)
            for (int64_t t = 0; t < N; t++) {
                int64_t at = base + (hk * fill->max_T + t) * dk;
                memcpy(fill->k + at, k_rot + t * kvd + hk * dk, (size_t)dk * sizeof(mlm_real));
                memcpy(fill->v + at, v + t * kvd + hk * dk, (size_t)dk * sizeof(mlm_real));
            }
    }
    if (p) {
        mlm_repeat_kv(a->kexp, k_rot, N, H, Hk, dk);
        mlm_repeat_kv(a->vexp, v, N, H, Hk, dk);
        rec(p, "blocks.%d.attn.k_exp", l, a->kexp, 0, 4, B, T, H, dk);
        rec(p, "blocks.%d.attn.v_exp", l, a->vexp, 0, 4, B, T, H, dk);
    }
    uint64_t fl[3];
    if (cache) {
        int64_t n = cache->len + 1, base = (int64_t)l * cache->max_T * kvd;
        for (int64_t hk = 0; hk < Hk; hk++) { /* row len of each KV head */
            int64_t at = base + (hk * cache->max_T + cache->len) * dk;
            memcpy(cache->k + at, k_rot + hk * dk, (size_t)dk * sizeof(mlm_real));
            memcpy(cache->v + at, v + hk * dk, (size_t)dk * sizeof(mlm_real));
        }
        if (p) {
            memcpy(a->kexp, k_rot, (size_t)kvd * sizeof(mlm_real));
            memcpy(a->kexp + kvd, v, (size_t)kvd * sizeof(mlm_real));
            rec(p, "blocks.%d.attn.kv_cache", l, a->kexp, 0, 3, 1, 1, 2 * kvd, 0);
        }
        mlm_attention_decode(heads, cache->row, q_rot, cache->k + base, cache->v + base, n, cache->max_T, H, Hk, dk,
                             c->sliding_window, fl);
        rec(p, "blocks.%d.attn.probs", l, cache->row, fl[0] + fl[1], 4, 1, H, 1, n);
        rec(p, "blocks.%d.attn.heads", l, heads, fl[2], 4, 1, 1, H, dk);
    } else {
        mlm_attn_opts ao = {.causal = !o->no_causal, .dense = o->dense, .window = c->sliding_window};
        mlm_attention_forward(heads, probs, p ? a->scores : NULL, q_rot, k_rot, v, B, T, H, Hk, dk, &ao, fl);
        rec(p, "blocks.%d.attn.scores", l, a->scores, fl[0], 4, B, H, T, T);
        rec(p, "blocks.%d.attn.probs", l, probs, fl[1], 4, B, H, T, T);
        rec(p, "blocks.%d.attn.heads", l, heads, fl[2], 4, B, T, H, dk);
    }
    rec(p, "blocks.%d.attn.concat", l, heads, 0, 3, B, T, qd, 0);
    f = wmat(a->attn_out, heads, w->wo + l * d * qd, bw ? bw->wo + l * d * qd : NULL, N, qd, d, cache != NULL);
    rec(p, "blocks.%d.attn.out", l, a->attn_out, f, 3, B, T, d, 0);
    f = mlm_residual_forward(mid, x, a->attn_out, N * d);
    rec(p, "blocks.%d.resid_mid", l, mid, f, 3, B, T, d, 0);

    /* FFN sub-layer: pre-norm reads norm(mid); post-norm reads norm(mid) as the stream */
    const mlm_real *fin;
    if (!post) {
        f = mlm_rmsnorm_forward(n2, rstd2, mid, w->ffn_norm + l * d, N, d, c->norm_eps);
        rec(p, "blocks.%d.ffn_norm", l, n2, f, 3, B, T, d, 0);
        fin = n2;
    } else {
        f = mlm_rmsnorm_forward(n1, rstd1, mid, w->attn_norm + l * d, N, d, c->norm_eps);
        rec(p, "blocks.%d.attn_norm", l, n1, f, 3, B, T, d, 0);
        fin = n1;
    }
    if (c->ffn == MLM_FFN_SWIGLU) {
        if (cache || bw) { /* decoding: gate and up of one input in one parallel region */
            mlm_real *ys[2] = {gate, up};
            const int64_t ocs[2] = {ff, ff};
            uint64_t gf[2];
            if (bw) {
                const mlm_bf16 *ws[2] = {bw->w_gate + l * ff * d, bw->w_up + l * ff * d};
                mlm_matmul_forward_bf16_group(2, ys, ws, ocs, fin, N, d, gf);
            } else {
                const mlm_real *ws[2] = {w->w_gate + l * ff * d, w->w_up + l * ff * d};
                mlm_gemm_nt_decode_group(2, ys, ws, ocs, fin, d, gf);
            }
            rec(p, "blocks.%d.ffn.gate", l, gate, gf[0], 3, B, T, ff, 0);
            rec(p, "blocks.%d.ffn.up", l, up, gf[1], 3, B, T, ff, 0);
        } else {
            f = mlm_matmul_forward(gate, fin, w->w_gate + l * ff * d, N, d, ff);
            rec(p, "blocks.%d.ffn.gate", l, gate, f, 3, B, T, ff, 0);
            f = mlm_matmul_forward(up, fin, w->w_up + l * ff * d, N, d, ff);
            rec(p, "blocks.%d.ffn.up", l, up, f, 3, B, T, ff, 0);
        }
        f = mlm_silu_forward(a->act, gate, N * ff);
        rec(p, "blocks.%d.ffn.act", l, a->act, f, 3, B, T, ff, 0);
        f = mlm_mul_forward(hidden, a->act, up, N * ff);
        rec(p, "blocks.%d.ffn.hidden", l, hidden, f, 3, B, T, ff, 0);
    } else {
        f = wmat(up, fin, w->w_up + l * ff * d, bw ? bw->w_up + l * ff * d : NULL, N, d, ff, cache != NULL);
        rec(p, "blocks.%d.ffn.up", l, up, f, 3, B, T, ff, 0);
        f = mlm_relu_forward(hidden, up, N * ff);
        rec(p, "blocks.%d.ffn.hidden", l, hidden, f, 3, B, T, ff, 0);
    }
    f = wmat(a->down, hidden, w->w_down + l * d * ff, bw ? bw->w_down + l * d * ff : NULL, N, ff, d, cache != NULL);
    rec(p, "blocks.%d.ffn.down", l, a->down, f, 3, B, T, d, 0);
    if (!post) {
        f = mlm_residual_forward(out, mid, a->down, N * d);
        rec(p, "blocks.%d.resid_post", l, out, f, 3, B, T, d, 0);
    } else {
        f = mlm_residual_forward(sum2, n1, a->down, N * d);
        rec(p, "blocks.%d.resid_post", l, sum2, f, 3, B, T, d, 0);
        f = mlm_rmsnorm_forward(n2, rstd2, sum2, w->ffn_norm + l * d, N, d, c->norm_eps);
        memcpy(out, n2, (size_t)(N * d) * sizeof(mlm_real));
        rec(p, "blocks.%d.ffn_norm", l, out, f, 3, B, T, d, 0);
    }
}

static mlm_status check_run(const mlm_model *m, const mlm_acts *a, int B, int T, const mlm_fwd_opts *o, mlm_err *e) {
    const mlm_config *c = &m->cfg;
    if (a->cfg.d_model != c->d_model || a->cfg.n_layers != c->n_layers || a->cfg.n_heads != c->n_heads ||
        a->cfg.n_kv_heads != c->n_kv_heads || a->cfg.head_dim != c->head_dim || a->cfg.d_ff != c->d_ff ||
        a->cfg.vocab_size != c->vocab_size || a->cfg.ffn != c->ffn || a->cfg.norm_pos != c->norm_pos)
        return mlm_fail(e, MLM_EINVAL, "%s: activations were planned for another config", c->name);
    if (B != a->B || T != a->T)
        return mlm_fail(e, MLM_EINVAL, "%s: B=%d T=%d differs from the planned B=%d T=%d (plan with mlm_acts_new)",
                        c->name, B, T, a->B, a->T);
    if (o->pos)
        for (int t = 0; t < T; t++)
            if (o->pos[t] < 0 || o->pos[t] >= (1 << 24))
                return mlm_fail(e, MLM_EINVAL, "%s: position %d at index %d is out of range", c->name, o->pos[t], t);
    return MLM_OK;
}

/* The RoPE cos/sin of the pass's positions, once for every layer's q and k. */
static void rope_prepare(const mlm_model *m, mlm_acts *a, int T, const mlm_fwd_opts *o) {
    if (!o->no_rope) mlm_rope_table(a->rope_cs, o->pos, T, m->cfg.head_dim, m->cfg.rope_theta);
}

static void blocks_run(const mlm_model *m, mlm_acts *a, int B, int T, const mlm_fwd_opts *o, mlm_probe *p,
                       mlm_kv_cache *fill) {
    rope_prepare(m, a, T, o);
    for (int l = 0; l < m->cfg.n_layers; l++) block_forward(m, a, l, B, T, o, p, NULL, NULL, fill);
}

mlm_status mlm_forward_blocks(const mlm_model *m, mlm_acts *a, const mlm_real *x, int B, int T,
                              const mlm_fwd_opts *o, mlm_probe *p, mlm_err *e) {
    mlm_fwd_opts def = {0};
    if (!o) o = &def;
    mlm_status st = check_run(m, a, B, T, o, e);
    if (st) return st;
    int64_t nd = (int64_t)B * T * m->cfg.d_model;
    if (x != a->resid) memcpy(a->resid, x, (size_t)nd * sizeof(mlm_real));
    rec(p, "input", 0, a->resid, 0, 3, B, T, m->cfg.d_model, 0);
    blocks_run(m, a, B, T, o, p, NULL);
    return MLM_OK;
}

/* mlm_forward, and with fill (B = 1) every layer's K and V rows copied into that cache. */
static mlm_status forward_run(const mlm_model *m, mlm_acts *a, const int *tokens, int B, int T, const mlm_fwd_opts *o,
                              mlm_probe *p, mlm_kv_cache *fill, mlm_err *e) {
    mlm_status st = check_run(m, a, B, T, o, e);
    if (st) return st;
    const mlm_config *c = &m->cfg;
    const int64_t N = (int64_t)B * T, d = c->d_model, V = c->vocab_size;
    for (int64_t i = 0; i < N; i++)
        if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
            return mlm_fail(e, MLM_EINVAL, "%s: token %d at index %lld is outside the vocabulary [0, %d)", c->name,
                            tokens[i], (long long)i, c->vocab_size);
    mlm_embed_forward(a->resid, m->w.tok_emb, tokens, N, d);
    rec(p, "embed", 0, a->resid, 0, 3, B, T, d, 0);
    blocks_run(m, a, B, T, o, p, fill);
    const mlm_real *hN = mlm_acts_output(a);
    uint64_t f = mlm_rmsnorm_forward(a->final_out, a->rstd_f, hN, m->w.final_norm, N, d, c->norm_eps);
    rec(p, "final_norm", 0, a->final_out, f, 3, B, T, d, 0);
    if (o->last_only) {
        /* the last position of each sequence: rows b*T + T-1 */
        f = 0;
        for (int b = 0; b < B; b++) {
            const mlm_real *row = a->final_out + ((int64_t)b * T + T - 1) * d;
            f += mlm_matmul_forward(a->logits + (int64_t)b * V, row, m->w.lm_head, 1, d, V);
        }
        rec(p, "logits", 0, a->logits, f, 3, B, 1, V, 0);
        if (!o->no_probs) {
            f = mlm_softmax_forward(a->out_probs, a->logits, B, V);
            rec(p, "probs", 0, a->out_probs, f, 3, B, 1, V, 0);
        }
    } else {
        f = mlm_matmul_forward(a->logits, a->final_out, m->w.lm_head, N, d, V);
        if (o->no_probs) {
            rec(p, "logits", 0, a->logits, f, 3, B, T, V, 0);
        } else if (p) {
            /* The softmax row by row, and each row's statistics (its logits and its probs)
             * taken while the row is still in cache: the vocabulary-wide rows are the biggest
             * tensors of the pass, and reading them back for the probe would cost more than
             * the softmax. The same bits as mlm_softmax_forward and mlm_probe_record. */
            double *ls = a->stat_rows, *ps = a->stat_rows + 4 * N;
            uint64_t fs = 0;
#pragma omp parallel for schedule(dynamic, 4) reduction(+ : fs) if (N * V > 262144)
            for (int64_t i = 0; i < N; i++) {
                fs += mlm_softmax_forward(a->out_probs + i * V, a->logits + i * V, 1, V);
                mlm_probe_row_stats(a->logits + i * V, 1, V, ls + 4 * i);
                mlm_probe_row_stats(a->out_probs + i * V, 1, V, ps + 4 * i);
            }
            int64_t shape[3] = {B, T, V};
            mlm_probe_record_rows(p, "logits", a->logits, 3, shape, f, ls);
            mlm_probe_record_rows(p, "probs", a->out_probs, 3, shape, fs, ps);
        } else {
            mlm_softmax_forward(a->out_probs, a->logits, N, V);
        }
    }
    return MLM_OK;
}

mlm_status mlm_forward(const mlm_model *m, mlm_acts *a, const int *tokens, int B, int T, const mlm_fwd_opts *o,
                       mlm_probe *p, mlm_err *e) {
    mlm_fwd_opts def = {0};
    return forward_run(m, a, tokens, B, T, o ? o : &def, p, NULL, e);
}

/* ---- decoding with a KV cache -------------------------------------------------------------- */

mlm_kv_cache *mlm_kv_cache_new(const mlm_config *cfg, int max_T, mlm_err *e) {
    if (max_T <= 0 || max_T > cfg->max_seq_len) {
        mlm_fail(e, MLM_EINVAL, "%s: cache length %d must be in [1, max_seq_len %d]", cfg->name, max_T, cfg->max_seq_len);
        return NULL;
    }
    mlm_kv_cache *c = calloc(1, sizeof *c);
    if (!c) { mlm_fail(e, MLM_ENOMEM, "%s: out of memory", cfg->name); return NULL; }
    c->cfg = *cfg;
    c->max_T = max_T;
    int64_t n = (int64_t)cfg->n_layers * max_T * mlm_kv_dim(cfg);
    c->k = mlm_big_calloc((size_t)n, sizeof(mlm_real));
    c->v = mlm_big_calloc((size_t)n, sizeof(mlm_real));
    c->row = calloc((size_t)max_T * (size_t)cfg->n_heads, sizeof(mlm_real));
    c->step = mlm_acts_new(cfg, 1, 1, 0, e);
    if (!c->k || !c->v || !c->row || !c->step) {
        if (c->step) mlm_fail(e, MLM_ENOMEM, "%s: out of memory for a KV cache of %d positions", cfg->name, max_T);
        mlm_kv_cache_free(c);
        return NULL;
    }
    return c;
}

void mlm_kv_cache_free(mlm_kv_cache *c) {
    if (!c) return;
    free(c->k);
    free(c->v);
    free(c->row);
    mlm_acts_free(c->step);
    free(c);
}

void mlm_kv_cache_reset(mlm_kv_cache *c) { if (c) c->len = 0; }

/* 1 when cache c holds rows of model config cf's shape (layers, KV width, heads). */
static int cache_fits(const mlm_kv_cache *c, const mlm_config *cf) {
    return c->cfg.n_layers == cf->n_layers && mlm_kv_dim(&c->cfg) == mlm_kv_dim(cf) && c->cfg.n_heads == cf->n_heads;
}

/* One decode step; bw NULL reads the float32 matrices, otherwise their bfloat16 copy. */
static mlm_status decode_step(const mlm_model *m, const mlm_bf16_weights *bw, mlm_kv_cache *c, int token, int pos,
                              mlm_real *logits, const mlm_fwd_opts *o, mlm_probe *p, mlm_err *e) {
    mlm_fwd_opts def = {0};
    if (!o) o = &def;
    const mlm_config *cf = &m->cfg;
    if (!cache_fits(c, cf)) return mlm_fail(e, MLM_EINVAL, "%s: the KV cache was planned for another config", cf->name);
    if (c->len >= c->max_T) return mlm_fail(e, MLM_EINVAL, "%s: KV cache is full (%d positions)", cf->name, c->max_T);
    if (token < 0 || token >= cf->vocab_size)
        return mlm_fail(e, MLM_EINVAL, "%s: token %d is outside the vocabulary [0, %d)", cf->name, token, cf->vocab_size);
    if (pos < 0 || pos >= (1 << 24)) return mlm_fail(e, MLM_EINVAL, "%s: position %d is out of range", cf->name, pos);
    mlm_acts *a = c->step;
    mlm_fwd_opts so = *o;
    so.pos = &pos;
    so.dense = 0;
    int64_t d = cf->d_model, V = cf->vocab_size;
    mlm_embed_forward(a->resid, m->w.tok_emb, &token, 1, d);
    rec(p, "embed", 0, a->resid, 0, 3, 1, 1, d, 0);
    rope_prepare(m, a, 1, &so);
    if (!p && mlm_decode_fits(cf, &so)) { /* untraced: the whole step in one parallel region */
        mlm_decode_layers(m, bw, c, &so, logits);
        c->len++;
        return MLM_OK;
    }
    for (int l = 0; l < cf->n_layers; l++) block_forward(m, a, l, 1, 1, &so, p, c, bw, NULL);
    uint64_t f = mlm_rmsnorm_forward(a->final_out, a->rstd_f, mlm_acts_output(a), m->w.final_norm, 1, d, cf->norm_eps);
    rec(p, "final_norm", 0, a->final_out, f, 3, 1, 1, d, 0);
    f = wmat(a->logits, a->final_out, m->w.lm_head, bw ? bw->lm_head : NULL, 1, d, V, 1);
    rec(p, "logits", 0, a->logits, f, 3, 1, 1, V, 0);
    if (logits) memcpy(logits, a->logits, (size_t)V * sizeof(mlm_real));
    c->len++;
    return MLM_OK;
}

mlm_status mlm_decode_step(const mlm_model *m, mlm_kv_cache *c, int token, int pos, mlm_real *logits,
                           const mlm_fwd_opts *o, mlm_probe *p, mlm_err *e) {
    return decode_step(m, NULL, c, token, pos, logits, o, p, e);
}

mlm_status mlm_decode_step_bf16(const mlm_model *m, const mlm_bf16_weights *b, mlm_kv_cache *c, int token, int pos,
                                mlm_real *logits, const mlm_fwd_opts *o, mlm_probe *p, mlm_err *e) {
    if (!b) return mlm_fail(e, MLM_EINVAL, "%s: no bfloat16 weights given", m->cfg.name);
    return decode_step(m, b, c, token, pos, logits, o, p, e);
}

mlm_status mlm_prefill(const mlm_model *m, mlm_kv_cache *c, mlm_acts *a, const int *tokens, int n, mlm_real *logits,
                       const mlm_fwd_opts *o, mlm_err *e) {
    const mlm_config *cf = &m->cfg;
    mlm_fwd_opts fo = o ? *o : (mlm_fwd_opts){0};
    if (!cache_fits(c, cf)) return mlm_fail(e, MLM_EINVAL, "%s: the KV cache was planned for another config", cf->name);
    if (n < 1) return mlm_fail(e, MLM_EINVAL, "%s: prefill needs at least one token (got %d)", cf->name, n);
    if (n > c->max_T)
        return mlm_fail(e, MLM_EINVAL, "%s: a prompt of %d tokens is longer than the cache of %d positions", cf->name, n,
                        c->max_T);
    if (c->len != 0)
        return mlm_fail(e, MLM_EINVAL, "%s: prefill needs an empty cache (it holds %d positions)", cf->name, c->len);
    if (fo.pos || fo.no_causal || fo.dense)
        return mlm_fail(e, MLM_EINVAL, "%s: prefill runs positions 0..n-1 causally (no pos, no_causal or dense)",
                        cf->name);
    if (a->B != 1 || a->T != n)
        return mlm_fail(e, MLM_EINVAL, "%s: prefill of %d tokens needs activations planned for B=1 T=%d (got B=%d T=%d)",
                        cf->name, n, n, a->B, a->T);
    fo.last_only = 1;
    fo.no_probs = 1;
    mlm_status st = forward_run(m, a, tokens, 1, n, &fo, NULL, c, e);
    if (st) return st;
    if (logits) memcpy(logits, a->logits, (size_t)cf->vocab_size * sizeof(mlm_real));
    c->len = n;
    return MLM_OK;
}
