/* test_forward.c - properties of the instrumented forward pass: normalised inputs, the causal
 * property, RoPE at position 0, shift invariance, single token vs full sequence, KV-cache
 * decoding vs the full pass, NULL probe vs probe, and the stage list. */
#include "check.h"
#include "forward.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#ifdef MLM_DOUBLE
#define ROUND 1e-12
#else
#define ROUND 1e-5
#endif

static mlm_model *make(const char *preset, int layers, mlm_norm_pos np, mlm_ffn_kind ffn) {
    mlm_config c = *mlm_preset_find(preset);
    if (layers) c.n_layers = layers;
    c.norm_pos = np;
    c.ffn = ffn;
    mlm_err e;
    mlm_model *m = mlm_model_new(&c, &e);
    mlm_init_opts o = {42, 0};
    mlm_model_init(m, &o);
    return m;
}

static mlm_real *randn(int64_t n, uint64_t seed) {
    mlm_rng r;
    mlm_rng_seed(&r, seed);
    mlm_real *x = malloc((size_t)n * sizeof(mlm_real));
    for (int64_t i = 0; i < n; i++) x[i] = (mlm_real)mlm_rng_normal(&r);
    return x;
}

static double row_diff(const mlm_real *a, const mlm_real *b, int64_t d) {
    double s = 0;
    for (int64_t i = 0; i < d; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(s);
}

static void test_block_properties(mlm_norm_pos np) {
    const char *tag = np == MLM_POSTNORM ? "post-norm" : "pre-norm";
    char what[128];
    mlm_model *m = make("block-demo", 2, np, MLM_FFN_SWIGLU);
    int B = 1, T = 8;
    int64_t d = m->cfg.d_model;
    mlm_err e;
    mlm_acts *a = mlm_acts_new(&m->cfg, B, T, 0, &e), *b = mlm_acts_new(&m->cfg, B, T, 0, &e);
    mlm_real *x = randn(T * d, 1), *x2 = randn(T * d, 2);
    mlm_probe *p = mlm_probe_new(NULL);
    mlm_fwd_opts o = {0};
    CHECK(mlm_forward_blocks(m, a, x, B, T, &o, p, &e) == MLM_OK, "forward_blocks runs");
    /* normalised inputs to the sub-layers have RMS 1 */
    const mlm_record *r = mlm_probe_find(p, "blocks.0.attn_norm");
    snprintf(what, sizeof what, "%s: attn_norm per-token RMS == 1", tag);
    CHECK(r && fabs(r->rms_mean - 1) < 1e-4, what);
    r = mlm_probe_find(p, np == MLM_POSTNORM ? "blocks.0.ffn_norm" : "blocks.0.ffn_norm");
    snprintf(what, sizeof what, "%s: ffn_norm per-token RMS == 1", tag);
    CHECK(r && fabs(r->rms_mean - 1) < 1e-4, what);
    /* causal: replace positions 4..7, outputs at 0..3 unchanged bit for bit */
    memcpy(x2, x, (size_t)(4 * d) * sizeof(mlm_real));
    mlm_forward_blocks(m, b, x2, B, T, &o, NULL, &e);
    const mlm_real *ya = mlm_acts_output(a), *yb = mlm_acts_output(b);
    snprintf(what, sizeof what, "%s: changing positions 4..7 leaves outputs 0..3 bit-identical", tag);
    CHECK(memcmp(ya, yb, (size_t)(4 * d) * sizeof(mlm_real)) == 0, what);
    int changed = 1;
    for (int t = 4; t < 8; t++) changed &= row_diff(ya + t * d, yb + t * d, d) > 1e-3;
    snprintf(what, sizeof what, "%s: outputs 4..7 change", tag);
    CHECK(changed, what);
    /* RoPE at position 0 is the identity: all tokens at position 0 == RoPE switched off */
    int zeros[8] = {0};
    mlm_fwd_opts oz = {.pos = zeros}, onr = {.no_rope = 1};
    mlm_forward_blocks(m, a, x, B, T, &oz, NULL, &e);
    mlm_forward_blocks(m, b, x, B, T, &onr, NULL, &e);
    snprintf(what, sizeof what, "%s: all positions 0 == RoPE off (bit-identical)", tag);
    CHECK(memcmp(mlm_acts_output(a), mlm_acts_output(b), (size_t)(T * d) * sizeof(mlm_real)) == 0, what);
    /* shift invariance: identical tokens at 0..7 vs 5..12 */
    int sh[8];
    for (int t = 0; t < 8; t++) sh[t] = t + 5;
    mlm_fwd_opts os = {.pos = sh};
    mlm_forward_blocks(m, a, x, B, T, &o, NULL, &e);
    mlm_forward_blocks(m, b, x, B, T, &os, NULL, &e);
    double worst = 0, scale = 0;
    for (int t = 0; t < T; t++) {
        worst = fmax(worst, row_diff(mlm_acts_output(a) + t * d, mlm_acts_output(b) + t * d, d));
        scale = fmax(scale, row_diff(mlm_acts_output(a) + t * d, x + t * d, 0) + 1);
    }
    snprintf(what, sizeof what, "%s: shifting every position by 5 changes outputs only at rounding level", tag);
    CHECK_NEAR(worst, 0, ROUND * 50, what);
    /* the shift does change something when RoPE's relative positions change */
    /* single token == position 0 of the full sequence */
    mlm_acts *one = mlm_acts_new(&m->cfg, 1, 1, 0, &e);
    mlm_forward_blocks(m, one, x, 1, 1, &o, NULL, &e);
    snprintf(what, sizeof what, "%s: a single token equals position 0 of the full sequence", tag);
    CHECK_NEAR(row_diff(mlm_acts_output(one), mlm_acts_output(a), d), 0, ROUND, what);
    mlm_acts_free(one);
    mlm_probe_free(p);
    mlm_acts_free(a);
    mlm_acts_free(b);
    free(x);
    free(x2);
    mlm_model_free(m);
}

static void test_full_model(mlm_norm_pos np, mlm_ffn_kind ffn) {
    char what[160];
    const char *tag = np == MLM_POSTNORM ? (ffn == MLM_FFN_RELU ? "post-norm relu" : "post-norm") : (ffn == MLM_FFN_RELU ? "pre-norm relu" : "pre-norm");
    mlm_config c = *mlm_preset_find("block-demo");
    c.n_layers = 3;
    c.n_heads = 4;
    c.n_kv_heads = 1;
    c.head_dim = 10; /* head_dim != d / h, MQA */
    c.vocab_size = 37;
    c.norm_pos = np;
    c.ffn = ffn;
    mlm_err e;
    mlm_model *m = mlm_model_new(&c, &e);
    mlm_init_opts io = {3, 0};
    mlm_model_init(m, &io);
    int T = 9, V = c.vocab_size;
    int tokens[9] = {1, 5, 9, 3, 36, 0, 7, 7, 2};
    mlm_acts *a = mlm_acts_new(&c, 1, T, 0, &e), *b = mlm_acts_new(&c, 1, T, 1, &e);
    mlm_probe *p = mlm_probe_new("logits");
    CHECK(mlm_forward(m, a, tokens, 1, T, NULL, p, &e) == MLM_OK, "full forward runs");
    CHECK(mlm_forward(m, b, tokens, 1, T, NULL, NULL, &e) == MLM_OK, "full forward (backward layout, no probe) runs");
    snprintf(what, sizeof what, "%s: NULL probe and backward layout give bit-identical logits", tag);
    CHECK(memcmp(a->logits, b->logits, sizeof(mlm_real) * (size_t)(T * V)) == 0, what);
    const mlm_record *r = mlm_probe_find(p, "logits");
    CHECK(r && r->data && memcmp(r->data, a->logits, sizeof(mlm_real) * (size_t)(T * V)) == 0, "kept logits equal the logits");
    /* logits and probs take their statistics row by row inside the softmax loop: the same bits
     * as recording the finished tensors */
    {
        mlm_probe *q = mlm_probe_new(NULL);
        int64_t sh[3] = {1, T, V};
        const mlm_record *l1 = mlm_probe_record(q, "l", a->logits, 3, sh, 0), *l2 = mlm_probe_find(p, "logits");
        const mlm_record *p1 = mlm_probe_record(q, "p", a->out_probs, 3, sh, 0), *p2 = mlm_probe_find(p, "probs");
        int same = l1 && l2 && p1 && p2;
        for (int k = 0; same && k < 2; k++) {
            const mlm_record *x = k ? p1 : l1, *y = k ? p2 : l2;
            same = x->norm == y->norm && x->mean == y->mean && x->std == y->std && x->min == y->min && x->max == y->max &&
                   x->rms_mean == y->rms_mean && x->n_rows == y->n_rows &&
                   memcmp(x->row_rms, y->row_rms, sizeof(float) * (size_t)x->n_rows) == 0;
        }
        snprintf(what, sizeof what, "%s: logits and probs statistics equal mlm_probe_record's, bit for bit", tag);
        CHECK(same, what);
        mlm_probe_free(q);
    }
    CHECK(mlm_probe_find(p, "probs") && !mlm_probe_find(p, "probs")->data, "probs kept only when asked");
    /* every stage of the list is recorded */
    const char *stages[] = {"embed", "blocks.2.attn_norm", "blocks.2.attn.q", "blocks.2.attn.k", "blocks.2.attn.v",
                            "blocks.2.attn.q_rot", "blocks.2.attn.k_rot", "blocks.2.attn.k_exp", "blocks.2.attn.v_exp",
                            "blocks.2.attn.scores", "blocks.2.attn.probs", "blocks.2.attn.heads", "blocks.2.attn.concat",
                            "blocks.2.attn.out", "blocks.2.resid_mid", "blocks.2.ffn_norm", "blocks.2.ffn.up",
                            "blocks.2.ffn.hidden", "blocks.2.ffn.down", "blocks.2.resid_post", "final_norm", "logits", "probs"};
    int all = 1;
    for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++)
        if (!mlm_probe_find(p, stages[i])) { all = 0; printf("  missing stage %s\n", stages[i]); }
    snprintf(what, sizeof what, "%s: every stage is recorded", tag);
    CHECK(all, what);
    r = mlm_probe_find(p, "blocks.0.attn.k_exp");
    CHECK(r && r->shape[2] == 4 && r->shape[3] == 10, "k_exp has the query heads' shape (B, T, h, d_k)");
    /* KV-cache decoding equals the full pass */
    mlm_kv_cache *kv = mlm_kv_cache_new(&c, T, &e);
    mlm_real *lg = malloc(sizeof(mlm_real) * (size_t)V);
    /* relative to the row's scale: max |decoded - full| / max |full| over each row (decoding's
     * one-row product sums in another order than the batch: lib/gemm.h) */
    double worst = 0;
    mlm_probe *pd = mlm_probe_new(NULL);
    for (int t = 0; t < T; t++) {
        mlm_decode_step(m, kv, tokens[t], t, lg, NULL, pd, &e);
        double dmax = 0, rmax = 0;
        for (int j = 0; j < V; j++) {
            double ref = a->logits[(int64_t)t * V + j];
            dmax = fmax(dmax, fabs(lg[j] - ref));
            rmax = fmax(rmax, fabs(ref));
        }
        worst = fmax(worst, dmax / rmax);
    }
    snprintf(what, sizeof what, "%s: KV-cache decoding equals the full pass within 1e-5 relative (%.2g)", tag, worst);
    CHECK_NEAR(worst, 0, 1e-5, what);
    CHECK(mlm_probe_find(pd, "blocks.0.attn.kv_cache") != NULL, "the cache update is a recorded stage");
    CHECK(mlm_decode_step(m, kv, 1, T, lg, NULL, NULL, &e) != MLM_OK, "decoding past the cache's length is an error");
    /* last_only gives the last row */
    mlm_fwd_opts lo = {.last_only = 1};
    mlm_forward(m, b, tokens, 1, T, &lo, NULL, &e);
    CHECK(memcmp(b->logits, a->logits + (int64_t)(T - 1) * V, sizeof(mlm_real) * (size_t)V) == 0,
          "last_only logits equal the last row of the full logits");
    /* no_probs: the same logits, no softmax, no probs stage */
    {
        mlm_fwd_opts nprobs = {.no_probs = 1};
        mlm_probe *q = mlm_probe_new(NULL);
        mlm_forward(m, b, tokens, 1, T, &nprobs, q, &e);
        CHECK(memcmp(b->logits, a->logits, sizeof(mlm_real) * (size_t)(T * V)) == 0 && mlm_probe_find(q, "logits") &&
                  !mlm_probe_find(q, "probs"),
              "no_probs gives the same logits and records no probs stage");
        mlm_probe_free(q);
    }
    /* bad tokens */
    int bad[9] = {1, 5, 9, 3, 37, 0, 7, 7, 2};
    CHECK(mlm_forward(m, a, bad, 1, T, NULL, NULL, &e) == MLM_EINVAL && strstr(e.msg, "token 37"),
          "a token outside the vocabulary is an error naming it");
    free(lg);
    mlm_probe_free(pd);
    mlm_kv_cache_free(kv);
    mlm_probe_free(p);
    mlm_acts_free(a);
    mlm_acts_free(b);
    mlm_model_free(m);
}

static void test_init(void) {
    mlm_model *a = make("block-demo", 4, MLM_PRENORM, MLM_FFN_SWIGLU), *b = make("block-demo", 4, MLM_PRENORM, MLM_FFN_SWIGLU);
    CHECK(memcmp(a->mem, b->mem, sizeof(mlm_real) * (size_t)a->n_params) == 0, "the same seed gives the same weights");
    const mlm_tensor_info *t = mlm_model_tensor(a, "blocks.1.attn.wq");
    double ss = 0;
    for (int64_t i = 0; i < t->numel; i++) ss += (double)a->mem[t->offset + i] * a->mem[t->offset + i];
    double std = sqrt(ss / (double)t->numel), want = sqrt(2.0 / (64 + 64));
    CHECK_NEAR(std, want, want * 0.05, "Xavier init: std of W_Q is sqrt(2 / (fan_in + fan_out))");
    mlm_init_opts so = {42, 1};
    mlm_model_init(b, &so);
    CHECK_NEAR(b->mem[t->offset + 3], a->mem[t->offset + 3] / 2, 1e-6, "scale_blocks multiplies block weights by 1/sqrt(N)");
    const mlm_tensor_info *g = mlm_model_tensor(a, "blocks.0.attn_norm.weight");
    CHECK(g && a->mem[g->offset] == 1, "norm gains start at 1");
    mlm_model_free(a);
    mlm_model_free(b);
}

int main(void) {
    test_block_properties(MLM_PRENORM);
    test_block_properties(MLM_POSTNORM);
    test_full_model(MLM_PRENORM, MLM_FFN_SWIGLU);
    test_full_model(MLM_POSTNORM, MLM_FFN_SWIGLU);
    test_full_model(MLM_PRENORM, MLM_FFN_RELU);
    test_init();
    return check_done();
}
