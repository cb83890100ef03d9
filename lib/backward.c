/* backward.c - the instrumented backward pass: gradient scratch planned from a size table,
 * the block backward (pre-norm and post-norm, started at its output or at any of its stages),
 * the full model from the loss, the stack of blocks from a given gradient, the records the
 * probe receives, and the analytic FLOP formulas of the backward. Reads bottom to top like
 * the forward read top to bottom: loss -> logits -> final norm -> blocks L-1..0 -> embedding. */
#include "backward.h"
#include "bigalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- block stages, in forward order ------------------------------------------------------ */

/* A step of the block backward "consumes" the gradient of one stage and produces those of
 * earlier stages; it runs when the pass started at that stage or after it. */
enum {
    ST_ATTN_IN, /* pre-norm: attn_norm (the attention's input); post-norm: none */
    ST_Q, ST_K, ST_V, ST_QROT, ST_KROT, ST_SCORES, ST_PROBS, ST_HEADS, ST_OUT, ST_MID,
    ST_FFN_IN,  /* pre-norm: ffn_norm; post-norm: attn_norm (the FFN's input) */
    ST_GATE, ST_UP, ST_ACT, ST_HIDDEN, ST_DOWN,
    ST_SUM,     /* resid_post in post-norm (norm input); pre-norm: the block output itself */
    ST_BOUT,    /* the block output: resid_post (pre-norm), ffn_norm (post-norm) */
    ST_COUNT
};

/* Stage name suffix after "blocks.l." or NULL when the stage does not exist. */
static const char *stage_suffix(const mlm_config *c, int st) {
    int post = c->norm_pos == MLM_POSTNORM, relu = c->ffn == MLM_FFN_RELU;
    switch (st) {
    case ST_ATTN_IN: return post ? NULL : "attn_norm";
    case ST_Q: return "attn.q";
    case ST_K: return "attn.k";
    case ST_V: return "attn.v";
    case ST_QROT: return "attn.q_rot";
    case ST_KROT: return "attn.k_rot";
    case ST_SCORES: return "attn.scores";
    case ST_PROBS: return "attn.probs";
    case ST_HEADS: return "attn.heads";
    case ST_OUT: return "attn.out";
    case ST_MID: return "resid_mid";
    case ST_FFN_IN: return post ? "attn_norm" : "ffn_norm";
    case ST_GATE: return relu ? NULL : "ffn.gate";
    case ST_UP: return "ffn.up";
    case ST_ACT: return relu ? NULL : "ffn.act";
    case ST_HIDDEN: return "ffn.hidden";
    case ST_DOWN: return "ffn.down";
    case ST_SUM: return post ? "resid_post" : NULL;
    case ST_BOUT: return post ? "ffn_norm" : "resid_post";
    default: return NULL;
    }
}

/* Shape of a block stage: ndim and dims. */
static int stage_shape(const mlm_config *c, int st, int64_t B, int64_t T, int64_t sh[4]) {
    int64_t H = c->n_heads, Hk = c->n_kv_heads, dk = c->head_dim;
    switch (st) {
    case ST_Q: case ST_QROT: case ST_HEADS: sh[0] = B; sh[1] = T; sh[2] = H; sh[3] = dk; return 4;
    case ST_K: case ST_V: case ST_KROT: sh[0] = B; sh[1] = T; sh[2] = Hk; sh[3] = dk; return 4;
    case ST_SCORES: case ST_PROBS: sh[0] = B; sh[1] = H; sh[2] = T; sh[3] = T; return 4;
    case ST_GATE: case ST_UP: case ST_ACT: case ST_HIDDEN: sh[0] = B; sh[1] = T; sh[2] = c->d_ff; sh[3] = 0; return 3;
    default: sh[0] = B; sh[1] = T; sh[2] = c->d_model; sh[3] = 0; return 3;
    }
}

/* Block tensor kinds of the layout table (model.c's order). */
enum { K_ATTN_NORM, K_WQ, K_WK, K_WV, K_WO, K_FFN_NORM, K_WGATE, K_WUP, K_WDOWN, K_COUNT };
static const char *const kind_names[K_COUNT] = {"attn_norm.weight", "attn.wq", "attn.wk", "attn.wv", "attn.wo",
                                                "ffn_norm.weight",  "ffn.w_gate", "ffn.w_up", "ffn.w_down"};

/* ---- the gradient plan ------------------------------------------------------------------- */

typedef struct { mlm_real **ptr; int64_t numel; } gslot_t;

mlm_grads *mlm_grads_new(const mlm_config *cfg, int B, int T, mlm_err *e) {
    if (!cfg) { mlm_fail(e, MLM_EINVAL, "grads: no config"); return NULL; }
    if (mlm_config_validate(cfg, cfg->name, e)) return NULL;
    if (B <= 0 || T <= 0) { mlm_fail(e, MLM_EINVAL, "%s: batch and sequence must be positive", cfg->name); return NULL; }
    if (T > cfg->max_seq_len) {
        mlm_fail(e, MLM_EINVAL, "%s: sequence length %d exceeds max_seq_len %d", cfg->name, T, cfg->max_seq_len);
        return NULL;
    }
    mlm_grads *g = calloc(1, sizeof *g);
    if (!g) { mlm_fail(e, MLM_ENOMEM, "%s: out of memory", cfg->name); return NULL; }
    g->cfg = *cfg;
    g->B = B;
    g->T = T;
    if (mlm_layout(cfg, &g->tensors, &g->n_tensors, &g->n_params, e)) { free(g); return NULL; }
    int64_t L = cfg->n_layers, N = (int64_t)B * T, d = cfg->d_model, qd = mlm_q_dim(cfg), kvd = mlm_kv_dim(cfg),
            ff = cfg->d_ff, V = cfg->vocab_size, H = cfg->n_heads, TT = B * H * (int64_t)T * T;
    gslot_t table[] = {
        {&g->d_input, N * d}, {&g->dres, N * d},      {&g->dres_in, N * d}, {&g->dmid, N * d},
        {&g->dn1, N * d},     {&g->dn2, N * d},       {&g->dsum2, N * d},   {&g->dheads, N * qd},
        {&g->dq_rot, N * qd}, {&g->dq, N * qd},       {&g->dk_rot, N * kvd}, {&g->dk, N * kvd},
        {&g->dv, N * kvd},    {&g->dprobs, TT},       {&g->dscores, TT},    {&g->dkexp, N * qd},
        {&g->dvexp, N * qd},  {&g->dgate, N * ff},    {&g->dup, N * ff},    {&g->dact, N * ff},
        {&g->dhidden, N * ff}, {&g->dfinal, N * d},   {&g->dlogits, N * V},
    };
    int n = (int)(sizeof table / sizeof table[0]);
    int64_t total = 0;
    for (int i = 0; i < n; i++) total += table[i].numel;
    const uint64_t cap = (UINT64_C(1) << 36) / sizeof(mlm_real);
    if ((uint64_t)total > cap || (uint64_t)g->n_params > cap) {
        mlm_fail(e, MLM_ENOMEM, "%s: gradients for B=%d T=%d need %lld + %lld values, too many for this machine",
                 cfg->name, B, T, (long long)g->n_params, (long long)total);
        mlm_grads_free(g);
        return NULL;
    }
    g->mem = mlm_big_calloc((size_t)g->n_params, sizeof(mlm_real));
    g->scratch = mlm_big_calloc((size_t)total, sizeof(mlm_real));
    g->wflops = calloc((size_t)g->n_tensors, sizeof *g->wflops);
    g->widx = malloc((size_t)(K_COUNT * L) * sizeof *g->widx);
    if (!g->mem || !g->scratch || !g->wflops || !g->widx) {
        mlm_fail(e, MLM_ENOMEM, "%s: out of memory for gradients (B=%d, T=%d)", cfg->name, B, T);
        mlm_grads_free(g);
        return NULL;
    }
    g->scratch_numel = total;
    mlm_real *x = g->scratch;
    for (int i = 0; i < n; i++) { *table[i].ptr = x; x += table[i].numel; }
    mlm_params_point(&g->g, cfg, g->mem);
    for (int64_t i = 0; i < K_COUNT * L; i++) g->widx[i] = -1;
    g->i_tok_emb = g->i_final_norm = g->i_lm_head = -1;
    for (int i = 0; i < g->n_tensors; i++) {
        const char *nm = g->tensors[i].name;
        int l = 0, off = 0;
        if (!strcmp(nm, "tok_emb")) g->i_tok_emb = i;
        else if (!strcmp(nm, "final_norm.weight")) g->i_final_norm = i;
        else if (!strcmp(nm, "lm_head")) g->i_lm_head = i;
        else if (sscanf(nm, "blocks.%d.%n", &l, &off) == 1 && off > 0 && l >= 0 && l < L)
            for (int k = 0; k < K_COUNT; k++)
                if (!strcmp(nm + off, kind_names[k])) g->widx[k * L + l] = i;
    }
    if (cfg->tied) g->i_lm_head = g->i_tok_emb;
    return g;
}

void mlm_grads_free(mlm_grads *g) {
    if (!g) return;
    free(g->mem);
    free(g->scratch);
    free(g->tensors);
    free(g->wflops);
    free(g->widx);
    free(g);
}

void mlm_grads_zero(mlm_grads *g) {
    if (!g) return;
    /* 16 pieces split between the threads when there is enough to split (a training step's
     * 61 MB of gradients) */
    const int64_t n = g->n_params;
#pragma omp parallel for schedule(static) if (n > (1 << 20))
    for (int ch = 0; ch < 16; ch++) {
        int64_t i0 = n * ch / 16, i1 = n * (ch + 1) / 16;
        memset(g->mem + i0, 0, (size_t)(i1 - i0) * sizeof(mlm_real));
    }
}

const mlm_real *mlm_grads_input(const mlm_grads *g) { return g ? g->d_input : NULL; }

mlm_real *mlm_grads_tensor(const mlm_grads *g, const char *name) {
    if (!g || !name) return NULL;
    for (int i = 0; i < g->n_tensors; i++)
        if (!strcmp(g->tensors[i].name, name)) return g->mem + g->tensors[i].offset;
    return NULL;
}

/* ---- the pass context and recording ------------------------------------------------------ */

typedef struct {
    const mlm_model *m;
    const mlm_acts *a;
    mlm_grads *g;
    const mlm_fwd_opts *o;
    mlm_probe *p;
    int64_t B, T, N;
    uint64_t total;   /* FLOPs so far */
} ctx_t;

static void zero(mlm_real *x, int64_t n) { memset(x, 0, (size_t)n * sizeof(mlm_real)); }

static void rec_name(ctx_t *c, const char *name, const mlm_real *x, uint64_t flops, int ndim, const int64_t *sh) {
    if (!c->p) return;
    char full[96];
    snprintf(full, sizeof full, "grad.%s", name);
    mlm_probe_record(c->p, full, x, ndim, sh, flops);
}

static void rec_stage(ctx_t *c, int l, int st, const mlm_real *x, uint64_t flops) {
    if (!c->p) return;
    const char *suf = stage_suffix(&c->m->cfg, st);
    if (!suf) return;
    char name[64];
    int64_t sh[4];
    snprintf(name, sizeof name, "blocks.%d.%s", l, suf);
    int nd = stage_shape(&c->m->cfg, st, c->B, c->T, sh);
    rec_name(c, name, x, flops, nd, sh);
}

static void rec_btd(ctx_t *c, const char *name, const mlm_real *x, uint64_t flops, int64_t last) {
    int64_t sh[3] = {c->B, c->T, last};
    rec_name(c, name, x, flops, 3, sh);
}

/* Adds weight-gradient FLOPs to block tensor kind k of layer l. */
static void wfl(ctx_t *c, int k, int l, uint64_t f) {
    int i = c->g->widx[k * c->m->cfg.n_layers + l];
    if (i >= 0) c->g->wflops[i] += f;
}

/* The gradient buffer of block stage st (aliases where the math makes two stages' gradients
 * one tensor: attn.out and resid_mid; ffn.down and the sum it feeds). */
static mlm_real *stage_buf(ctx_t *c, int st, mlm_real *dres, mlm_real *dx) {
    mlm_grads *g = c->g;
    int post = c->m->cfg.norm_pos == MLM_POSTNORM;
    switch (st) {
    case ST_ATTN_IN: return post ? dx : g->dn1;
    case ST_Q: return g->dq;
    case ST_K: return g->dk;
    case ST_V: return g->dv;
    case ST_QROT: return g->dq_rot;
    case ST_KROT: return g->dk_rot;
    case ST_SCORES: return g->dscores;
    case ST_PROBS: return g->dprobs;
    case ST_HEADS: return g->dheads;
    case ST_OUT: case ST_MID: return g->dmid;
    case ST_FFN_IN: return post ? g->dn1 : g->dn2;
    case ST_GATE: return g->dgate;
    case ST_UP: return g->dup;
    case ST_ACT: return g->dact;
    case ST_HIDDEN: return g->dhidden;
    case ST_DOWN: case ST_SUM: return post ? g->dsum2 : dres;
    default: return dres;
    }
}

/* ---- one block ---------------------------------------------------------------------------- */

/* Backward of block l from the gradient dres of its output (s == ST_BOUT), or from the
 * gradient already injected at stage s (every other buffer zero). Writes the gradient of the
 * block input to dx and returns the FLOPs that produced it. */
static uint64_t block_backward(ctx_t *c, int l, int s, mlm_real *dres, mlm_real *dx) {
    const mlm_config *cf = &c->m->cfg;
    const mlm_params *w = &c->m->w;
    mlm_grads *g = c->g;
    mlm_params *gw = &g->g;
    const mlm_acts *a = c->a;
    const mlm_fwd_opts *o = c->o;
    const int64_t B = c->B, T = c->T, N = c->N, d = cf->d_model, H = cf->n_heads, Hk = cf->n_kv_heads,
                  dk = cf->head_dim, qd = mlm_q_dim(cf), kvd = mlm_kv_dim(cf), ff = cf->d_ff;
    const int post = cf->norm_pos == MLM_POSTNORM, swiglu = cf->ffn == MLM_FFN_SWIGLU;
    /* saved activations of layer l */
    const mlm_real *x = a->resid + (int64_t)l * N * d, *n1 = a->n1 + l * N * d, *rstd1 = a->rstd1 + l * N,
                   *q_rot = a->q_rot + l * N * qd, *k_rot = a->k_rot + l * N * kvd, *v = a->v + l * N * kvd,
                   *probs = a->probs + l * B * H * T * T, *heads = a->heads + l * N * qd, *mid = a->mid + l * N * d,
                   *n2 = a->n2 + l * N * d, *rstd2 = a->rstd2 + l * N, *gate = a->gate + l * N * ff,
                   *up = a->up + l * N * ff, *hidden = a->hidden + l * N * ff, *sum2 = a->sum2 + l * N * d;
    uint64_t fl[5], f;

    /* post-norm: the block output is RMSNorm(resid_post) with the ffn_norm gain */
    if (post && s >= ST_BOUT) {
        zero(g->dsum2, N * d);
        c->total += mlm_rmsnorm_backward(g->dsum2, gw->ffn_norm + l * d, dres, sum2, rstd2, w->ffn_norm + l * d, N, d, fl);
        wfl(c, K_FFN_NORM, l, fl[1]);
        rec_stage(c, l, ST_SUM, g->dsum2, fl[0]);
    }
    /* residual split: resid_post = stream + ffn.down; both get its gradient */
    mlm_real *dsum = post ? g->dsum2 : dres;
    if (s >= ST_SUM) {
        mlm_residual_backward(post ? g->dn1 : g->dmid, NULL, dsum, N * d);
        rec_stage(c, l, ST_DOWN, dsum, 0);
    }
    /* FFN */
    if (s >= ST_DOWN) {
        zero(g->dhidden, N * ff);
        c->total += mlm_matmul_backward(g->dhidden, gw->w_down + l * d * ff, dsum, hidden, w->w_down + l * d * ff,
                                        N, ff, d, fl);
        wfl(c, K_WDOWN, l, fl[1]);
        rec_stage(c, l, ST_HIDDEN, g->dhidden, fl[0]);
    }
    if (swiglu && s >= ST_HIDDEN) {
        /* one pass: silu recomputed from the saved gate, dact, dup and dgate */
        c->total += mlm_swiglu_backward(g->dgate, g->dup, g->dact, g->dhidden, gate, up, N * ff);
        const uint64_t n_ff = (uint64_t)(N * ff);
        rec_stage(c, l, ST_ACT, g->dact, n_ff);         /* dact = dh * up: 1 */
        rec_stage(c, l, ST_UP, g->dup, 4 * n_ff + n_ff); /* silu 4, dup = dh * act: 1 */
        rec_stage(c, l, ST_GATE, g->dgate, 9 * n_ff);   /* silu backward: 9 */
    } else if (swiglu && s >= ST_ACT) { /* started at ffn.act: the silu backward alone */
        f = mlm_silu_backward(g->dgate, g->dact, gate, N * ff);
        c->total += f;
        rec_stage(c, l, ST_GATE, g->dgate, f);
    } else if (s >= ST_HIDDEN) {
        f = mlm_relu_backward(g->dup, g->dhidden, up, N * ff);
        c->total += f;
        rec_stage(c, l, ST_UP, g->dup, f);
    }
    mlm_real *dfin = post ? g->dn1 : g->dn2;
    const mlm_real *fin = post ? n1 : n2;
    if (!post && s > ST_FFN_IN) zero(g->dn2, N * d);
    uint64_t f_fin = 0;
    if (swiglu && s >= ST_GATE) {
        c->total += mlm_matmul_backward(dfin, gw->w_gate + l * ff * d, g->dgate, fin, w->w_gate + l * ff * d, N, d, ff, fl);
        wfl(c, K_WGATE, l, fl[1]);
        f_fin += fl[0];
    }
    if (s >= ST_UP) {
        c->total += mlm_matmul_backward(dfin, gw->w_up + l * ff * d, g->dup, fin, w->w_up + l * ff * d, N, d, ff, fl);
        wfl(c, K_WUP, l, fl[1]);
        f_fin += fl[0];
    }
    if (s > ST_FFN_IN) rec_stage(c, l, ST_FFN_IN, dfin, f_fin);
    /* the norm feeding the FFN: pre-norm ffn_norm(mid), post-norm attn_norm(mid) */
    if (s >= ST_FFN_IN) {
        if (post) zero(g->dmid, N * d);
        int k = post ? K_ATTN_NORM : K_FFN_NORM;
        const mlm_real *gain = post ? w->attn_norm + l * d : w->ffn_norm + l * d;
        mlm_real *dgain = post ? gw->attn_norm + l * d : gw->ffn_norm + l * d;
        c->total += mlm_rmsnorm_backward(g->dmid, dgain, dfin, mid, post ? rstd1 : rstd2, gain, N, d, fl);
        wfl(c, k, l, fl[1]);
        rec_stage(c, l, ST_MID, g->dmid, fl[0]);
    }
    /* residual split: resid_mid = x + attn.out */
    if (s >= ST_MID) {
        mlm_residual_backward(dx, NULL, g->dmid, N * d);
        rec_stage(c, l, ST_OUT, g->dmid, 0);
    }
    /* attention */
    if (s >= ST_OUT) {
        zero(g->dheads, N * qd);
        c->total += mlm_matmul_backward(g->dheads, gw->wo + l * d * qd, g->dmid, heads, w->wo + l * d * qd, N, qd, d, fl);
        wfl(c, K_WO, l, fl[1]);
        rec_stage(c, l, ST_HEADS, g->dheads, fl[0]);
    }
    if (s >= ST_HEADS && c->p) {
        int64_t sh[3] = {B, T, qd};
        char nm[64];
        snprintf(nm, sizeof nm, "blocks.%d.attn.concat", l);
        rec_name(c, nm, g->dheads, 0, 3, sh);
    }
    if (s >= ST_SCORES) {
        mlm_attn_opts ao = {.causal = !o->no_causal, .dense = o->dense, .window = cf->sliding_window};
        mlm_attn_from from = s >= ST_HEADS ? MLM_ATTN_FROM_HEADS : s == ST_PROBS ? MLM_ATTN_FROM_PROBS : MLM_ATTN_FROM_SCORES;
        c->total += mlm_attention_backward(g->dq_rot, g->dk_rot, g->dv, g->dprobs, g->dscores, g->dheads, q_rot, k_rot,
                                           v, probs, B, T, H, Hk, dk, &ao, from, fl);
        if (s > ST_PROBS) rec_stage(c, l, ST_PROBS, g->dprobs, fl[0]);
        if (s > ST_SCORES) rec_stage(c, l, ST_SCORES, g->dscores, fl[2]);
        if (c->p) {
            /* per-query-head K/V gradients before the GQA sum: display only, no FLOPs counted */
            mlm_attention_backward_expanded(g->dkexp, g->dvexp, g->dscores, g->dheads, q_rot, probs, B, T, H, dk, &ao);
            int64_t sh[4] = {B, T, H, dk};
            char nm[64];
            snprintf(nm, sizeof nm, "blocks.%d.attn.k_exp", l);
            rec_name(c, nm, g->dkexp, 0, 4, sh);
            snprintf(nm, sizeof nm, "blocks.%d.attn.v_exp", l);
            rec_name(c, nm, g->dvexp, 0, 4, sh);
        }
        rec_stage(c, l, ST_V, g->dv, fl[1]);
        rec_stage(c, l, ST_KROT, g->dk_rot, fl[4]);
        rec_stage(c, l, ST_QROT, g->dq_rot, fl[3]);
    }
    /* RoPE */
    if (s >= ST_KROT) {
        if (o->no_rope) { memcpy(g->dk, g->dk_rot, (size_t)(N * kvd) * sizeof(mlm_real)); f = 0; }
        else f = mlm_rope_backward(g->dk, g->dk_rot, o->pos, B, T, Hk, dk, cf->rope_theta, o->rope_layout);
        c->total += f;
        rec_stage(c, l, ST_K, g->dk, f);
    }
    if (s >= ST_QROT) {
        if (o->no_rope) { memcpy(g->dq, g->dq_rot, (size_t)(N * qd) * sizeof(mlm_real)); f = 0; }
        else f = mlm_rope_backward(g->dq, g->dq_rot, o->pos, B, T, H, dk, cf->rope_theta, o->rope_layout);
        c->total += f;
        rec_stage(c, l, ST_Q, g->dq, f);
    }
    /* Q, K, V projections of the attention input: pre-norm attn_norm(x), post-norm x */
    mlm_real *dain = post ? dx : g->dn1;
    const mlm_real *ain = post ? x : n1;
    if (!post && s > ST_ATTN_IN) zero(g->dn1, N * d);
    uint64_t f_ain = 0;
    if (s >= ST_Q) {
        c->total += mlm_matmul_backward(dain, gw->wq + l * qd * d, g->dq, ain, w->wq + l * qd * d, N, d, qd, fl);
        wfl(c, K_WQ, l, fl[1]);
        f_ain += fl[0];
    }
    if (s >= ST_K) {
        c->total += mlm_matmul_backward(dain, gw->wk + l * kvd * d, g->dk, ain, w->wk + l * kvd * d, N, d, kvd, fl);
        wfl(c, K_WK, l, fl[1]);
        f_ain += fl[0];
    }
    if (s >= ST_V) {
        c->total += mlm_matmul_backward(dain, gw->wv + l * kvd * d, g->dv, ain, w->wv + l * kvd * d, N, d, kvd, fl);
        wfl(c, K_WV, l, fl[1]);
        f_ain += fl[0];
    }
    if (post) return f_ain;
    if (s > ST_ATTN_IN) rec_stage(c, l, ST_ATTN_IN, g->dn1, f_ain);
    c->total += mlm_rmsnorm_backward(dx, gw->attn_norm + l * d, g->dn1, x, rstd1, w->attn_norm + l * d, N, d, fl);
    wfl(c, K_ATTN_NORM, l, fl[1]);
    return fl[0];
}

/* ---- start stages ------------------------------------------------------------------------- */

enum { LV_LOSS, LV_LOGITS, LV_FINAL, LV_BLOCK, LV_INPUT };

typedef struct { int level, layer, st; } start_t;

/* Parses a start stage name. Returns 0 on success. */
static int parse_start(const mlm_config *c, const char *stage, int full, start_t *s) {
    s->layer = -1;
    s->st = -1;
    if (!stage) { s->level = LV_LOSS; return full ? 0 : -1; }
    if (full && !strcmp(stage, "logits")) { s->level = LV_LOGITS; return 0; }
    if (full && !strcmp(stage, "final_norm")) { s->level = LV_FINAL; return 0; }
    if (!strcmp(stage, full ? "embed" : "input")) { s->level = LV_INPUT; return 0; }
    int l = 0, off = 0;
    if (sscanf(stage, "blocks.%d.%n", &l, &off) != 1 || off == 0 || l < 0 || l >= c->n_layers) return -1;
    const char *suf = stage + off;
    if (!strcmp(suf, "attn.concat")) suf = "attn.heads";
    for (int st = 0; st < ST_COUNT; st++) {
        const char *nm = stage_suffix(c, st);
        if (nm && !strcmp(nm, suf)) {
            s->level = LV_BLOCK;
            s->layer = l;
            s->st = st;
            return 0;
        }
    }
    return -1;
}

static int same_shape(const mlm_config *a, const mlm_config *b) {
    return a->d_model == b->d_model && a->n_layers == b->n_layers && a->n_heads == b->n_heads &&
           a->n_kv_heads == b->n_kv_heads && a->head_dim == b->head_dim && a->d_ff == b->d_ff &&
           a->vocab_size == b->vocab_size && a->ffn == b->ffn && a->norm_pos == b->norm_pos;
}

static mlm_status check_args(const mlm_model *m, const mlm_acts *a, const mlm_grads *g, int B, int T,
                             const mlm_fwd_opts *o, const int *tokens, mlm_err *e) {
    if (!m || !a || !g) return mlm_fail(e, MLM_EINVAL, "backward: model, activations and gradients are required");
    const mlm_config *c = &m->cfg;
    if (!a->for_backward)
        return mlm_fail(e, MLM_EINVAL, "%s: activations were not planned for the backward (mlm_acts_new(..., for_backward = 1))",
                        c->name);
    if (!same_shape(c, &a->cfg))
        return mlm_fail(e, MLM_EINVAL, "%s: activations were planned for another config", c->name);
    if (!same_shape(c, &g->cfg) || g->cfg.tied != c->tied) return mlm_fail(e, MLM_EINVAL, "%s: gradients were planned for another config", c->name);
    if (B != a->B || T != a->T || B != g->B || T != g->T)
        return mlm_fail(e, MLM_EINVAL, "%s: B=%d T=%d differs from the planned activations (B=%d T=%d) or gradients (B=%d T=%d)",
                        c->name, B, T, a->B, a->T, g->B, g->T);
    if (o->last_only)
        return mlm_fail(e, MLM_EINVAL, "%s: the backward needs the logits of every position (forward without last_only)",
                        c->name);
    if (o->pos)
        for (int t = 0; t < T; t++)
            if (o->pos[t] < 0 || o->pos[t] >= (1 << 24))
                return mlm_fail(e, MLM_EINVAL, "%s: position %d at index %d is out of range", c->name, o->pos[t], t);
    if (tokens)
        for (int64_t i = 0; i < (int64_t)B * T; i++)
            if (tokens[i] < 0 || tokens[i] >= c->vocab_size)
                return mlm_fail(e, MLM_EINVAL, "%s: token %d at index %lld is outside the vocabulary [0, %d)", c->name,
                                tokens[i], (long long)i, c->vocab_size);
    return MLM_OK;
}

/* ---- the passes --------------------------------------------------------------------------- */

static mlm_status run(const mlm_model *m, const mlm_acts *a, mlm_grads *g, const char *stage, const mlm_real *dstage,
                      const int *tokens, const int *targets, int B, int T, const mlm_fwd_opts *o, mlm_probe *p,
                      double *loss, mlm_err *e) {
    mlm_fwd_opts def = {0};
    if (!o) o = &def;
    mlm_status st = check_args(m, a, g, B, T, o, tokens, e);
    if (st) return st;
    const mlm_config *cf = &m->cfg;
    const int full = tokens != NULL;
    start_t s;
    if (parse_start(cf, stage, full, &s))
        return mlm_fail(e, MLM_EINVAL, "%s: no backward can start at stage '%s'%s", cf->name, stage ? stage : "(loss)",
                        full ? "" : " of a stack of blocks (start at a block stage or 'input')");
    if (stage && !dstage) return mlm_fail(e, MLM_EINVAL, "%s: no gradient given for stage '%s'", cf->name, stage);
    const int64_t N = (int64_t)B * T, d = cf->d_model, V = cf->vocab_size, L = cf->n_layers;
    if (s.level == LV_LOSS) {
        if (!targets) return mlm_fail(e, MLM_EINVAL, "%s: the loss needs targets", cf->name);
        for (int64_t i = 0; i < N; i++)
            if (targets[i] < -1 || targets[i] >= V)
                return mlm_fail(e, MLM_EINVAL, "%s: target %d at index %lld is outside [0, %d) (or -1 to ignore)",
                                cf->name, targets[i], (long long)i, cf->vocab_size);
    }
    ctx_t c = {m, a, g, o, p, B, T, N, 0};
    uint64_t fl[5];
    memset(g->wflops, 0, (size_t)g->n_tensors * sizeof *g->wflops);
    double lossv = 0;
    uint64_t f_loss = 0;

    /* loss -> logits */
    if (s.level == LV_LOSS) {
        c.total += mlm_crossentropy_backward(g->dlogits, &lossv, NULL, a->logits, targets, N, V, fl);
        f_loss = fl[0];
        rec_btd(&c, "logits", g->dlogits, fl[1], V);
        g->loss = lossv;
    } else if (s.level == LV_LOGITS) {
        memcpy(g->dlogits, dstage, (size_t)(N * V) * sizeof(mlm_real));
        rec_btd(&c, "logits", g->dlogits, 0, V);
    }
    /* logits -> final_norm (lm_head) */
    if (s.level <= LV_LOGITS) {
        zero(g->dfinal, N * d);
        c.total += mlm_matmul_backward(g->dfinal, g->g.lm_head, g->dlogits, a->final_out, m->w.lm_head, N, d, V, fl);
        g->wflops[g->i_lm_head] += fl[1];
        rec_btd(&c, "final_norm", g->dfinal, fl[0], d);
    } else if (s.level == LV_FINAL) {
        memcpy(g->dfinal, dstage, (size_t)(N * d) * sizeof(mlm_real));
        rec_btd(&c, "final_norm", g->dfinal, 0, d);
    }
    /* final_norm -> the last block's output */
    mlm_real *dres = g->dres, *dx = g->dres_in;
    uint64_t pending = 0; /* FLOPs that produced the gradient in dres */
    if (s.level <= LV_FINAL) {
        zero(dres, N * d);
        c.total += mlm_rmsnorm_backward(dres, g->g.final_norm, g->dfinal, mlm_acts_output(a), a->rstd_f,
                                        m->w.final_norm, N, d, fl);
        g->wflops[g->i_final_norm] += fl[1];
        pending = fl[0];
    }
    /* blocks, last to first */
    if (s.level <= LV_BLOCK) {
        for (int l = (int)L - 1; l >= 0; l--) {
            if (s.level == LV_BLOCK && l > s.layer) continue;
            int sl = (s.level == LV_BLOCK && l == s.layer) ? s.st : ST_BOUT;
            if (s.level == LV_BLOCK && l == s.layer) {
                /* inject: every block buffer zero, the given gradient at the start stage */
                mlm_real *bufs[] = {dres, dx, g->dmid, g->dn1, g->dn2, g->dsum2, g->dheads, g->dq_rot, g->dq, g->dk_rot,
                                    g->dk, g->dv, g->dprobs, g->dscores, g->dgate, g->dup, g->dact, g->dhidden};
                int64_t qd = mlm_q_dim(cf), kvd = mlm_kv_dim(cf), ff = cf->d_ff, TT = (int64_t)B * cf->n_heads * T * T;
                int64_t lens[] = {N * d, N * d, N * d, N * d, N * d, N * d, N * qd, N * qd, N * qd, N * kvd,
                                  N * kvd, N * kvd, TT, TT, N * ff, N * ff, N * ff, N * ff};
                for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++) zero(bufs[i], lens[i]);
                int64_t sh[4];
                int nd = stage_shape(cf, sl, B, T, sh);
                int64_t n = 1;
                for (int i = 0; i < nd; i++) n *= sh[i];
                mlm_real *buf = stage_buf(&c, sl, dres, dx);
                memcpy(buf, dstage, (size_t)n * sizeof(mlm_real));
                rec_stage(&c, l, sl, buf, 0);
                if (sl == ST_HEADS && p) {
                    int64_t sh3[3] = {B, T, mlm_q_dim(cf)};
                    char nm[64];
                    snprintf(nm, sizeof nm, "blocks.%d.attn.concat", l);
                    rec_name(&c, nm, buf, 0, 3, sh3);
                }
            } else {
                rec_stage(&c, l, ST_BOUT, dres, pending);
            }
            pending = block_backward(&c, l, sl, dres, dx);
            mlm_real *t = dres;
            dres = dx;
            dx = t;
        }
        memcpy(g->d_input, dres, (size_t)(N * d) * sizeof(mlm_real));
    } else {
        memcpy(g->d_input, dstage, (size_t)(N * d) * sizeof(mlm_real));
        pending = 0;
    }
    rec_btd(&c, full ? "embed" : "input", g->d_input, pending, d);
    if (full) {
        uint64_t f = mlm_embed_backward(g->g.tok_emb, g->d_input, tokens, N, d);
        c.total += f;
        g->wflops[g->i_tok_emb] += f;
    }
    /* weight gradients, layout order */
    if (p)
        for (int i = 0; i < g->n_tensors; i++) {
            const mlm_tensor_info *t = &g->tensors[i];
            int64_t sh[2] = {t->shape[0], t->shape[1]};
            rec_name(&c, t->name, g->mem + t->offset, g->wflops[i], t->ndim, sh);
        }
    if (s.level == LV_LOSS) {
        if (p) mlm_probe_scalar(p, "loss", lossv, f_loss);
        if (loss) *loss = lossv;
    }
    g->flops = c.total;
    return MLM_OK;
}

mlm_status mlm_backward(const mlm_model *m, const mlm_acts *a, mlm_grads *g, const int *tokens, const int *targets,
                        int B, int T, const mlm_fwd_opts *o, mlm_probe *p, double *loss, mlm_err *e) {
    if (!tokens) return mlm_fail(e, MLM_EINVAL, "backward: the full model needs the forward's tokens");
    return run(m, a, g, NULL, NULL, tokens, targets, B, T, o, p, loss, e);
}

mlm_status mlm_backward_blocks(const mlm_model *m, const mlm_acts *a, mlm_grads *g, const mlm_real *dout, int B,
                               int T, const mlm_fwd_opts *o, mlm_probe *p, mlm_err *e) {
    if (!m) return mlm_fail(e, MLM_EINVAL, "backward: no model");
    char name[64];
    mlm_block_output_name(&m->cfg, m->cfg.n_layers - 1, name, sizeof name);
    return run(m, a, g, name, dout, NULL, NULL, B, T, o, p, NULL, e);
}

mlm_status mlm_backward_from(const mlm_model *m, const mlm_acts *a, mlm_grads *g, const char *stage,
                             const mlm_real *dstage, const int *tokens, int B, int T, const mlm_fwd_opts *o,
                             mlm_probe *p, mlm_err *e) {
    if (!stage) return mlm_fail(e, MLM_EINVAL, "backward: no start stage (use mlm_backward to start from the loss)");
    return run(m, a, g, stage, dstage, tokens, NULL, B, T, o, p, NULL, e);
}

/* ---- analytic FLOPs ----------------------------------------------------------------------- */

/* Computed scores of one pass: B * h * sum over query rows of the attended range (the
 * backward skips masked entries whatever o->dense says). */
static uint64_t n_scores(const mlm_config *c, int64_t B, int64_t T, const mlm_fwd_opts *o) {
    uint64_t n = 0;
    for (int64_t i = 0; i < T; i++) {
        int64_t lo = 0, hi = o->no_causal ? T : i + 1;
        if (!o->no_causal && c->sliding_window > 0 && i + 1 > c->sliding_window) lo = i + 1 - c->sliding_window;
        n += (uint64_t)(hi - lo);
    }
    return n * (uint64_t)B * (uint64_t)c->n_heads;
}

/* FLOPs that produce the gradient of a block's input (the previous block's output). */
static uint64_t block_input_flops(const mlm_config *c, uint64_t N) {
    uint64_t d = (uint64_t)c->d_model, qd = (uint64_t)mlm_q_dim(c), kvd = (uint64_t)mlm_kv_dim(c);
    if (c->norm_pos == MLM_POSTNORM) return 2 * N * d * (qd + 2 * kvd);
    return (8 * d + 3) * N;
}

uint64_t mlm_flops_backward_stage(const mlm_config *c, const char *name, int B, int T, const mlm_fwd_opts *o,
                                  int full) {
    mlm_fwd_opts def = {0};
    if (!o) o = &def;
    if (!c || !name || B <= 0 || T <= 0) return 0;
    const uint64_t N = (uint64_t)B * (uint64_t)T, d = (uint64_t)c->d_model, V = (uint64_t)c->vocab_size,
                   qd = (uint64_t)mlm_q_dim(c), kvd = (uint64_t)mlm_kv_dim(c), ff = (uint64_t)c->d_ff,
                   dk = (uint64_t)c->head_dim;
    const int post = c->norm_pos == MLM_POSTNORM, swiglu = c->ffn == MLM_FFN_SWIGLU;
    const uint64_t norm_in = (8 * d + 3) * N, norm_g = 3 * N * d;
    if (!strcmp(name, "loss")) return full ? N * (3 * V + 4) + 1 : 0;
    if (strncmp(name, "grad.", 5)) return 0;
    const char *s = name + 5;
    if (!strcmp(s, "logits")) return full ? N * (V + 3) + 1 : 0;
    if (!strcmp(s, "final_norm")) return full ? 2 * N * d * V : 0;
    if (!strcmp(s, "embed") || !strcmp(s, "input")) return c->n_layers > 0 ? block_input_flops(c, N) : 0;
    if (!strcmp(s, "tok_emb")) return full ? N * d + (c->tied ? 2 * N * d * V : 0) : 0;
    if (!strcmp(s, "lm_head")) return full && !c->tied ? 2 * N * d * V : 0;
    if (!strcmp(s, "final_norm.weight")) return full ? norm_g : 0;
    int l = 0, off = 0;
    if (sscanf(s, "blocks.%d.%n", &l, &off) != 1 || off == 0 || l < 0 || l >= c->n_layers) return 0;
    const char *t = s + off;
    /* weights */
    if (!strcmp(t, "attn_norm.weight") || !strcmp(t, "ffn_norm.weight")) return norm_g;
    if (!strcmp(t, "attn.wq") || !strcmp(t, "attn.wo")) return 2 * N * d * qd;
    if (!strcmp(t, "attn.wk") || !strcmp(t, "attn.wv")) return 2 * N * d * kvd;
    if (!strcmp(t, "ffn.w_gate")) return swiglu ? 2 * N * d * ff : 0;
    if (!strcmp(t, "ffn.w_up") || !strcmp(t, "ffn.w_down")) return 2 * N * d * ff;
    /* stages */
    const char *bout = post ? "ffn_norm" : "resid_post";
    if (!strcmp(t, bout)) {
        if (l < c->n_layers - 1) return block_input_flops(c, N);
        return full ? norm_in : 0;
    }
    uint64_t nsc = n_scores(c, B, T, o);
    if (!strcmp(t, "resid_post")) return norm_in; /* post-norm: RMSNorm input */
    if (!strcmp(t, "ffn.down") || !strcmp(t, "attn.out") || !strcmp(t, "attn.concat") || !strcmp(t, "attn.k_exp") ||
        !strcmp(t, "attn.v_exp"))
        return 0;
    if (!strcmp(t, "ffn.hidden")) return 2 * N * ff * d;
    if (!strcmp(t, "ffn.act")) return swiglu ? N * ff : 0;
    if (!strcmp(t, "ffn.up")) return swiglu ? 5 * N * ff : N * ff;
    if (!strcmp(t, "ffn.gate")) return swiglu ? 9 * N * ff : 0;
    if (!strcmp(t, post ? "attn_norm" : "ffn_norm")) return 2 * N * d * ff * (swiglu ? 2 : 1);
    if (!strcmp(t, "resid_mid")) return norm_in;
    if (!strcmp(t, "attn.heads")) return 2 * N * qd * d;
    if (!strcmp(t, "attn.probs")) return 2 * dk * nsc;
    if (!strcmp(t, "attn.scores")) return 4 * nsc;
    if (!strcmp(t, "attn.v") || !strcmp(t, "attn.k_rot")) return 2 * dk * nsc;
    if (!strcmp(t, "attn.q_rot")) return (1 + 2 * dk) * nsc;
    if (!strcmp(t, "attn.k")) return o->no_rope ? 0 : 3 * N * kvd;
    if (!strcmp(t, "attn.q")) return o->no_rope ? 0 : 3 * N * qd;
    if (!post && !strcmp(t, "attn_norm")) return 2 * N * d * (qd + 2 * kvd);
    return 0;
}

uint64_t mlm_flops_backward_total(const mlm_config *c, int B, int T, const mlm_fwd_opts *o, int full) {
    if (!c || B <= 0 || T <= 0) return 0;
    static const char *const stages[] = {
        "attn_norm", "attn.q", "attn.k", "attn.v", "attn.q_rot", "attn.k_rot", "attn.scores", "attn.probs",
        "attn.heads", "resid_mid", "ffn_norm", "ffn.gate", "ffn.up", "ffn.act", "ffn.hidden", "resid_post"};
    static const char *const post_stages[] = {"attn.q", "attn.k", "attn.v", "attn.q_rot", "attn.k_rot", "attn.scores",
                                              "attn.probs", "attn.heads", "resid_mid", "attn_norm", "ffn.gate",
                                              "ffn.up", "ffn.act", "ffn.hidden", "resid_post", "ffn_norm"};
    const int post = c->norm_pos == MLM_POSTNORM;
    const char *const *list = post ? post_stages : stages;
    const int n_list = post ? (int)(sizeof post_stages / sizeof post_stages[0]) : (int)(sizeof stages / sizeof stages[0]);
    char name[128];
    uint64_t f = 0;
    const char *top[] = {"loss", "grad.logits", "grad.final_norm", "grad.embed", "grad.tok_emb", "grad.lm_head",
                         "grad.final_norm.weight"};
    for (int i = 0; i < 7; i++) f += mlm_flops_backward_stage(c, top[i], B, T, o, full);
    for (int l = 0; l < c->n_layers; l++) {
        for (int i = 0; i < n_list; i++) {
            snprintf(name, sizeof name, "grad.blocks.%d.%s", l, list[i]);
            f += mlm_flops_backward_stage(c, name, B, T, o, full);
        }
        for (int k = 0; k < K_COUNT; k++) {
            snprintf(name, sizeof name, "grad.blocks.%d.%s", l, kind_names[k]);
            f += mlm_flops_backward_stage(c, name, B, T, o, full);
        }
    }
    return f;
}
