/* flops.c - analytic FLOP counts: per stage (the kernels' conventions), per pass under the
 * labelled conventions of mlm_flop_conv, per token, training, and the crossovers of analysis 5.
 * All integer arithmetic goes through the overflow-checked helpers below. */
#include "flops.h"
#include "backward.h"
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- overflow-checked arithmetic: a sticky flag instead of a wrapped number ---------------- */

typedef struct { int overflow; } ovf;

static uint64_t mul(ovf *f, uint64_t a, uint64_t b) {
    if (a && b > UINT64_MAX / a) { f->overflow = 1; return UINT64_MAX; }
    return a * b;
}
static uint64_t mul3(ovf *f, uint64_t a, uint64_t b, uint64_t c) { return mul(f, mul(f, a, b), c); }
static uint64_t add(ovf *f, uint64_t a, uint64_t b) {
    if (a > UINT64_MAX - b) { f->overflow = 1; return UINT64_MAX; }
    return a + b;
}

/* Computed scores of one head and one sequence for T queries (prefill). */
static uint64_t scores_per_head(ovf *f, int64_t T, int dense, int no_causal, int window) {
    uint64_t t = (uint64_t)T;
    if (dense || no_causal) return mul(f, t, t);
    if (window > 0 && window < T) {
        uint64_t w = (uint64_t)window;
        return add(f, mul(f, w, w + 1) / 2, mul(f, t - w, w));
    }
    return mul(f, t, t + 1) / 2;
}

/* Entries one decode query at position pos attends to (computes). */
static uint64_t decode_entries(int64_t pos, int dense, int no_causal, int window) {
    uint64_t n = (uint64_t)pos + 1;
    if (dense || no_causal) return n;
    if (window > 0 && (uint64_t)window < n) return (uint64_t)window;
    return n;
}

/* ---- conventions ------------------------------------------------------------------------- */

mlm_flop_conv mlm_flop_conv_default(void) {
    mlm_flop_conv cv = {0, 0, 0, 0, 1, 1};
    return cv;
}

void mlm_flop_conv_label(const mlm_flop_conv *cv, const mlm_config *c, char *buf, size_t cap) {
    if (!buf || cap == 0) return;
    mlm_flop_conv d = mlm_flop_conv_default();
    if (!cv) cv = &d;
    char ffn[48];
    if (cv->ffn_matrices == 2 || cv->ffn_matrices == 3) snprintf(ffn, sizeof ffn, "%d-matrix (forced)", cv->ffn_matrices);
    else if (c) snprintf(ffn, sizeof ffn, "%d-matrix (%s, as configured)", c->ffn == MLM_FFN_RELU ? 2 : 3,
                         mlm_ffn_name(c->ffn));
    else snprintf(ffn, sizeof ffn, "as configured");
    char attn[64];
    if (cv->dense) snprintf(attn, sizeof attn, "dense (all T*T scores)");
    else if (c && c->sliding_window > 0)
        snprintf(attn, sizeof attn, "causal (computed entries, window %d)", c->sliding_window);
    else snprintf(attn, sizeof attn, "causal (computed entries T(T+1)/2)");
    snprintf(buf, cap, "unit=%s attention=%s head_dim=%s ffn=%s lm_head=%s elementwise=%s",
             cv->mac ? "MAC (multiply-accumulate)" : "FLOP (multiply or add)", attn,
             cv->head_dim_d_over_h ? "d_model/n_heads" : "as configured", ffn, cv->lm_head ? "in" : "out",
             cv->elementwise ? "in" : "out");
}

/* ---- per stage ----------------------------------------------------------------------------- */

/* Strips "blocks.N." and reports the layer; returns the rest of the name. */
static const char *split_stage(const char *s, int *layer, int *ok) {
    *layer = -1;
    *ok = 1;
    if (strncmp(s, "blocks.", 7)) return s;
    const char *p = s + 7;
    char *end;
    long l = strtol(p, &end, 10);
    if (end == p || *end != '.' || l < 0 || l > 1000000) { *ok = 0; return s; }
    *layer = (int)l;
    return end + 1;
}

mlm_status mlm_flops_stage_ex(const mlm_config *c, const char *stage, const mlm_stage_opts *o, uint64_t *out,
                              mlm_err *e) {
    if (!c || !stage || !o || !out) return mlm_fail(e, MLM_EINVAL, "flops: NULL argument");
    mlm_status st = mlm_config_validate(c, c->name[0] ? c->name : "config", e);
    if (st) return st;
    int64_t B = o->decode ? 1 : o->B, T = o->decode ? 1 : o->T;
    if (B < 1 || T < 1) return mlm_fail(e, MLM_EINVAL, "flops: batch and sequence must be positive (B %lld, T %lld)",
                                        (long long)B, (long long)T);
    if (o->decode && o->pos < 0) return mlm_fail(e, MLM_EINVAL, "flops: decode position must be >= 0");
    int layer, ok;
    const char *s = split_stage(stage, &layer, &ok);
    if (!ok || layer >= c->n_layers)
        return mlm_fail(e, MLM_EINVAL, "flops: stage \"%s\": no such layer (the model has %d)", stage, c->n_layers);
    ovf f = {0};
    const uint64_t N = (uint64_t)B * (uint64_t)T, d = (uint64_t)c->d_model, qd = (uint64_t)mlm_q_dim(c),
                   kvd = (uint64_t)mlm_kv_dim(c), ff = (uint64_t)c->d_ff, V = (uint64_t)c->vocab_size,
                   dk = (uint64_t)c->head_dim, h = (uint64_t)c->n_heads;
    uint64_t S; /* computed scores of the layer */
    if (o->decode) S = mul(&f, h, decode_entries(o->pos, o->dense, o->no_causal, c->sliding_window));
    else S = mul3(&f, (uint64_t)B, h, scores_per_head(&f, T, o->dense, o->no_causal, c->sliding_window));
    const uint64_t rows_out = o->last_only ? (uint64_t)B : N;
    int swiglu = c->ffn == MLM_FFN_SWIGLU;
    uint64_t r;
    int known = 1;
    if (o->decode && (!strcmp(s, "attn.scores") || !strcmp(s, "probs")))
        return mlm_fail(e, MLM_EINVAL,
                        "flops: stage \"%s\" is not part of a decode step (its scores are counted in attn.probs; "
                        "sampling is the caller's)", stage);
    if (layer < 0) {
        if (!strcmp(s, "embed") || !strcmp(s, "input")) r = 0;
        else if (!strcmp(s, "final_norm")) r = mul(&f, N, 4 * d + 4);
        else if (!strcmp(s, "logits")) r = mul3(&f, rows_out, V, 2 * d);
        else if (!strcmp(s, "probs")) r = mul3(&f, rows_out, V, 4);
        else known = 0;
    } else {
        if (!strcmp(s, "attn_norm") || !strcmp(s, "ffn_norm")) r = mul(&f, N, 4 * d + 4);
        else if (!strcmp(s, "attn.q")) r = mul3(&f, N, qd, 2 * d);
        else if (!strcmp(s, "attn.k") || !strcmp(s, "attn.v")) r = mul3(&f, N, kvd, 2 * d);
        else if (!strcmp(s, "attn.q_rot")) r = o->no_rope ? 0 : mul3(&f, N, qd, 3);
        else if (!strcmp(s, "attn.k_rot")) r = o->no_rope ? 0 : mul3(&f, N, kvd, 3);
        else if (!strcmp(s, "attn.k_exp") || !strcmp(s, "attn.v_exp") || !strcmp(s, "attn.concat") ||
                 !strcmp(s, "attn.kv_cache"))
            r = 0;
        else if (!strcmp(s, "attn.scores")) r = mul(&f, S, 2 * dk + 1);
        else if (!strcmp(s, "attn.probs")) r = mul(&f, S, o->decode ? 2 * dk + 5 : 4); /* decode: scores too */
        else if (!strcmp(s, "attn.heads")) r = mul(&f, S, 2 * dk);
        else if (!strcmp(s, "attn.out")) r = mul3(&f, N, d, 2 * qd);
        else if (!strcmp(s, "resid_mid") || !strcmp(s, "resid_post")) r = mul(&f, N, d);
        else if (!strcmp(s, "ffn.gate") && swiglu) r = mul3(&f, N, ff, 2 * d);
        else if (!strcmp(s, "ffn.up")) r = mul3(&f, N, ff, 2 * d);
        else if (!strcmp(s, "ffn.act") && swiglu) r = mul3(&f, N, ff, 4);
        else if (!strcmp(s, "ffn.hidden")) r = mul(&f, N, ff); /* gating multiply, or relu */
        else if (!strcmp(s, "ffn.down")) r = mul3(&f, N, d, 2 * ff);
        else known = 0;
    }
    if (!known) return mlm_fail(e, MLM_EINVAL, "flops: unknown stage \"%s\"", stage);
    if (f.overflow) return mlm_fail(e, MLM_EINVAL, "flops: stage \"%s\": count overflows 64 bits", stage);
    *out = r;
    return MLM_OK;
}

uint64_t mlm_flops_stage(const mlm_config *c, const char *stage, int64_t B, int64_t T, int dense, int last_only) {
    mlm_stage_opts o = {B, T, dense, last_only, 0, 0, 0, 0};
    uint64_t r;
    return mlm_flops_stage_ex(c, stage, &o, &r, NULL) ? MLM_FLOPS_UNKNOWN : r;
}

uint64_t mlm_flops_decode_stage(const mlm_config *c, const char *stage, int64_t pos, int dense) {
    mlm_stage_opts o = {1, 1, dense, 0, 0, 0, 1, pos};
    uint64_t r;
    return mlm_flops_stage_ex(c, stage, &o, &r, NULL) ? MLM_FLOPS_UNKNOWN : r;
}

int mlm_flops_stage_names(const mlm_config *c, int decode, void (*fn)(const char *name, void *ctx), void *ctx) {
    static const char *attn[] = {"attn_norm", "attn.q", "attn.k", "attn.v", "attn.q_rot", "attn.k_rot",
                                 "attn.kv_cache", "attn.k_exp", "attn.v_exp", "attn.scores", "attn.probs",
                                 "attn.heads", "attn.concat", "attn.out", "resid_mid", "ffn_norm",
                                 "ffn.gate", "ffn.up", "ffn.act", "ffn.hidden", "ffn.down", "resid_post"};
    int n = 0;
    char nm[96];
    if (fn) fn("embed", ctx);
    n++;
    for (int l = 0; l < c->n_layers; l++)
        for (size_t i = 0; i < sizeof attn / sizeof attn[0]; i++) {
            if (!decode && !strcmp(attn[i], "attn.kv_cache")) continue;
            if (decode && !strcmp(attn[i], "attn.scores")) continue;
            if (c->ffn == MLM_FFN_RELU && (!strcmp(attn[i], "ffn.gate") || !strcmp(attn[i], "ffn.act"))) continue;
            snprintf(nm, sizeof nm, "blocks.%d.%s", l, attn[i]);
            if (fn) fn(nm, ctx);
            n++;
        }
    if (fn) { fn("final_norm", ctx); fn("logits", ctx); if (!decode) fn("probs", ctx); }
    return n + (decode ? 2 : 3);
}

/* ---- whole passes -------------------------------------------------------------------------- */

/* The shared body of forward and decode: N tokens, S computed scores per layer, rows_out rows
 * of logits. */
static mlm_status pass(const mlm_config *c, uint64_t N, uint64_t S, uint64_t rows_out, int with_out_softmax,
                       const mlm_flop_conv *cv, mlm_flops_fwd *o, mlm_err *e) {
    mlm_flop_conv def = mlm_flop_conv_default();
    if (!cv) cv = &def;
    const uint64_t d = (uint64_t)c->d_model, h = (uint64_t)c->n_heads, hk = (uint64_t)c->n_kv_heads,
                   ff = (uint64_t)c->d_ff, V = (uint64_t)c->vocab_size, L = (uint64_t)c->n_layers;
    uint64_t dk = (uint64_t)c->head_dim;
    if (cv->head_dim_d_over_h) {
        if (c->d_model % c->n_heads)
            return mlm_fail(e, MLM_EINVAL, "flops: head_dim = d_model / n_heads asked but %d heads do not divide %d",
                            c->n_heads, c->d_model);
        dk = d / h;
    }
    if (cv->ffn_matrices != 0 && cv->ffn_matrices != 2 && cv->ffn_matrices != 3)
        return mlm_fail(e, MLM_EINVAL, "flops: ffn_matrices must be 0 (as configured), 2 or 3 (got %d)",
                        cv->ffn_matrices);
    const int nm = cv->ffn_matrices ? cv->ffn_matrices : (c->ffn == MLM_FFN_RELU ? 2 : 3);
    const uint64_t qd = h * dk, kvd = hk * dk;
    const uint64_t mmf = cv->mac ? 1 : 2; /* per matmul term */
    const int ew = cv->elementwise != 0;
    ovf f = {0};
    memset(o, 0, sizeof *o);
    o->q = mul3(&f, L, mul(&f, N, qd), mmf * d);
    o->k = mul3(&f, L, mul(&f, N, kvd), mmf * d);
    o->v = o->k;
    o->o = mul3(&f, L, mul(&f, N, d), mmf * qd);
    uint64_t SL = mul(&f, L, S);
    o->scores_computed = SL;
    uint64_t dot_q = mul(&f, SL, mmf * dk), dot_v = mul(&f, SL, mmf * dk);
    o->scores = add(&f, dot_q, ew ? SL : 0);
    o->softmax = ew ? mul(&f, SL, 4) : 0;
    o->av = dot_v;
    o->up = mul3(&f, L, mul(&f, N, ff), mmf * d);
    o->gate = nm == 3 ? o->up : 0;
    o->down = mul3(&f, L, mul(&f, N, d), mmf * ff);
    if (ew) {
        o->act = mul3(&f, L, mul(&f, N, ff), c->ffn == MLM_FFN_RELU ? 1 : 4);
        o->gating = nm == 3 ? mul3(&f, L, N, ff) : 0;
        o->rope = mul3(&f, L, mul(&f, N, qd + kvd), 3);
        o->norms = mul(&f, add(&f, mul(&f, 2, L), 1), mul(&f, N, 4 * d + 4));
        o->residual = mul3(&f, 2 * L, N, d);
    }
    if (cv->lm_head) {
        o->lm_head = mul3(&f, rows_out, V, mmf * d);
        o->out_softmax = ew && with_out_softmax ? mul3(&f, rows_out, V, 4) : 0;
    }
    o->attn_proj = add(&f, add(&f, o->q, o->k), add(&f, o->v, o->o));
    o->attn_core = add(&f, add(&f, o->scores, o->softmax), o->av);
    o->ffn = add(&f, add(&f, o->gate, o->up), o->down);
    o->other = add(&f, add(&f, add(&f, o->act, o->gating), add(&f, o->rope, o->norms)),
                   add(&f, o->residual, o->out_softmax));
    o->matmul = add(&f, add(&f, add(&f, o->attn_proj, dot_q), add(&f, dot_v, o->ffn)), o->lm_head);
    o->total = add(&f, add(&f, o->attn_proj, o->attn_core), add(&f, add(&f, o->ffn, o->other), o->lm_head));
    o->elementwise = o->total - o->matmul;
    if (f.overflow) return mlm_fail(e, MLM_EINVAL, "flops: %s: a count overflows 64 bits", c->name);
    return MLM_OK;
}

mlm_status mlm_flops_forward(const mlm_config *c, int64_t B, int64_t T, int last_only, const mlm_flop_conv *cv,
                             mlm_flops_fwd *out, mlm_err *e) {
    if (!c || !out) return mlm_fail(e, MLM_EINVAL, "flops: NULL argument");
    mlm_status st = mlm_config_validate(c, c->name[0] ? c->name : "config", e);
    if (st) return st;
    if (B < 1 || T < 1)
        return mlm_fail(e, MLM_EINVAL, "flops: batch and sequence must be positive (B %lld, T %lld)", (long long)B,
                        (long long)T);
    int dense = cv ? cv->dense : 0;
    ovf f = {0};
    uint64_t S = mul3(&f, (uint64_t)B, (uint64_t)c->n_heads, scores_per_head(&f, T, dense, 0, c->sliding_window));
    uint64_t N = mul(&f, (uint64_t)B, (uint64_t)T);
    if (f.overflow) return mlm_fail(e, MLM_EINVAL, "flops: %s: B %lld x T %lld overflows 64 bits", c->name,
                                    (long long)B, (long long)T);
    return pass(c, N, S, last_only ? (uint64_t)B : N, 1, cv, out, e);
}

mlm_status mlm_flops_decode(const mlm_config *c, int64_t pos, const mlm_flop_conv *cv, mlm_flops_fwd *out,
                            mlm_err *e) {
    if (!c || !out) return mlm_fail(e, MLM_EINVAL, "flops: NULL argument");
    mlm_status st = mlm_config_validate(c, c->name[0] ? c->name : "config", e);
    if (st) return st;
    if (pos < 0) return mlm_fail(e, MLM_EINVAL, "flops: decode position must be >= 0 (got %lld)", (long long)pos);
    int dense = cv ? cv->dense : 0;
    ovf f = {0};
    uint64_t S = mul(&f, (uint64_t)c->n_heads, decode_entries(pos, dense, 0, c->sliding_window));
    if (f.overflow) return mlm_fail(e, MLM_EINVAL, "flops: decode position overflows");
    return pass(c, 1, S, 1, 0, cv, out, e);
}

mlm_status mlm_flops_per_token(const mlm_config *c, int64_t T, const mlm_flop_conv *cv, double *prefill_avg,
                               uint64_t *decode, mlm_err *e) {
    mlm_flops_fwd a, b;
    mlm_status st = mlm_flops_forward(c, 1, T, 0, cv, &a, e);
    if (st) return st;
    if ((st = mlm_flops_decode(c, T - 1, cv, &b, e))) return st;
    if (prefill_avg) *prefill_avg = (double)a.total / (double)T;
    if (decode) *decode = b.total;
    return MLM_OK;
}

mlm_status mlm_flops_training(const mlm_config *c, int64_t B, int64_t T, const mlm_flop_conv *cv,
                              mlm_flops_train *out, mlm_err *e) {
    if (!out) return mlm_fail(e, MLM_EINVAL, "flops: NULL argument");
    memset(out, 0, sizeof *out);
    mlm_status st = mlm_flops_forward(c, B, T, 0, cv, &out->fwd, e);
    if (st) return st;
    ovf f = {0};
    out->backward = add(&f, mul(&f, 2, out->fwd.matmul), out->fwd.elementwise);
    out->total = add(&f, out->fwd.total, out->backward);
    if (f.overflow) return mlm_fail(e, MLM_EINVAL, "flops: %s: training count overflows 64 bits", c->name);
    mlm_flop_conv def = mlm_flop_conv_default();
    if (!cv || !memcmp(cv, &def, sizeof def)) {
        mlm_fwd_opts fo = {0};
        out->backward_counted = B <= INT32_MAX && T <= INT32_MAX ? mlm_flops_backward_total(c, (int)B, (int)T, &fo, 1) : 0;
    }
    mlm_param_counts p;
    if ((st = mlm_params_count(c, &p, e))) return st;
    out->tokens = (double)B * (double)T;
    out->six_nd = 6.0 * (double)p.total * out->tokens;
    out->six_nd_nonemb = 6.0 * (double)p.non_embedding * out->tokens;
    out->ratio = (double)out->total / out->six_nd;
    return MLM_OK;
}

/* ---- crossovers ---------------------------------------------------------------------------- */

/* Causal crossover where the core a * (computed scores per query) meets k per token. */
static double causal_cross(double a, double k, int window) {
    double L = 2.0 * k / a - 1.0;              /* a (L + 1) / 2 = k */
    if (window <= 0 || L <= window) return L < 1 ? 1 : L;
    double W = window;
    if (a * W <= k) return INFINITY;           /* the windowed core never catches up */
    return a * W * (W - 1) / 2.0 / (a * W - k);
}

mlm_status mlm_flops_crossover(const mlm_config *c, mlm_crossover *out, mlm_err *e) {
    if (!c || !out) return mlm_fail(e, MLM_EINVAL, "flops: NULL argument");
    mlm_status st = mlm_config_validate(c, c->name[0] ? c->name : "config", e);
    if (st) return st;
    const double d = c->d_model, dk = c->head_dim, h = c->n_heads, hk = c->n_kv_heads, ff = c->d_ff;
    const double m = c->ffn == MLM_FFN_RELU ? 2 : 3;
    const double a = (4 * dk + 5) * h;         /* core FLOPs per computed score row entry, all heads */
    const double kffn = 2 * m * d * ff, kproj = 2 * (2 * d * h * dk + 2 * d * hk * dk);
    out->ffn_dense = kffn / a;
    out->proj_dense = kproj / a;
    out->ffn_causal = causal_cross(a, kffn, c->sliding_window);
    out->proj_causal = causal_cross(a, kproj, c->sliding_window);
    out->ffn_dense_round = llround(out->ffn_dense);
    out->proj_dense_round = llround(out->proj_dense);
    return MLM_OK;
}
