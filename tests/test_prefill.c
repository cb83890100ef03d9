/* test_prefill.c - mlm_prefill (forward.h): one batched pass over the prompt that fills the
 * KV cache. Against n decode steps: the same cache rows and logits up to float32 rounding, and
 * decoding on from the prefilled cache gives the logits of decoding every token (1e-5
 * relative); its logits are bit for bit the last row of a full pass with every position's
 * logits (mlm_forward); 1 and 2 threads give the same bits (logits and cache); model variants
 * (grouped and single KV heads, ReLU, a sliding window shorter than the prompt, no RoPE,
 * post-norm); the refusals (a cache not empty or planned for another config, a prompt longer
 * than the cache or empty, positions, non-causal or dense options, activations planned for
 * another length, a token outside the vocabulary), none of which touches the cache's memory. */
#include "check.h"
#include "fixtures.h"
#include "forward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T = 12, NP = 7 }; /* positions decoded in all; prompt length */

/* max |a - b| / max |b| over n values */
static double rel_diff(const mlm_real *a, const mlm_real *b, int64_t n) {
    double d = 0, r = 0;
    for (int64_t i = 0; i < n; i++) {
        d = fmax(d, fabs((double)a[i] - (double)b[i]));
        r = fmax(r, fabs((double)b[i]));
    }
    return r > 0 ? d / r : d;
}

static void check_variant(const char *tag, mlm_config c, const mlm_fwd_opts *o) {
    mlm_err e;
    mlm_model *m = mlm_model_new(&c, &e);
    mlm_init_opts io = {11, 0};
    mlm_model_init(m, &io);
    const int64_t V = c.vocab_size, L = c.n_layers, kvd = mlm_kv_dim(&c);
    int tok[T];
    for (int t = 0; t < T; t++) tok[t] = (int)((t * 53 + 5) % V);
    mlm_real *step = malloc(sizeof(mlm_real) * (size_t)(T * V)), *pre = malloc(sizeof(mlm_real) * (size_t)(T * V));
    char what[200];
    /* reference: every token through a decode step */
    mlm_kv_cache *ref = mlm_kv_cache_new(&c, T, &e);
    for (int t = 0; t < T; t++) mlm_decode_step(m, ref, tok[t], t, step + t * V, o, NULL, &e);
    /* prefill the prompt, then decode the rest */
    mlm_kv_cache *kv = mlm_kv_cache_new(&c, T, &e);
    mlm_acts *a = mlm_acts_new(&c, 1, NP, 0, &e);
    mlm_status st = mlm_prefill(m, kv, a, tok, NP, pre + (NP - 1) * V, o, &e);
    snprintf(what, sizeof what, "%s: prefill of %d tokens runs and the cache holds them", tag, NP);
    CHECK(st == MLM_OK && kv->len == NP, what);
    double kd = 0, vd = 0;
    const int64_t Hk = c.n_kv_heads, dk = c.head_dim;
    for (int64_t l = 0; l < L; l++)
        for (int64_t hk = 0; hk < Hk; hk++) { /* the cache: (L, Hk, T, dk); positions [0, NP) filled */
            int64_t base = (l * Hk + hk) * T * dk;
            kd = fmax(kd, rel_diff(kv->k + base, ref->k + base, NP * dk));
            vd = fmax(vd, rel_diff(kv->v + base, ref->v + base, NP * dk));
        }
    snprintf(what, sizeof what, "%s: cached K and V equal the decode steps' within 1e-5 relative (%.2g, %.2g)", tag, kd,
             vd);
    CHECK(kd <= 1e-5 && vd <= 1e-5, what);
    for (int t = NP; t < T; t++) mlm_decode_step(m, kv, tok[t], t, pre + t * V, o, NULL, &e);
    double ld = rel_diff(pre + (NP - 1) * V, step + (NP - 1) * V, (T - NP + 1) * V);
    snprintf(what, sizeof what, "%s: the prompt's last logits and every later step's equal decoding's within 1e-5 (%.2g)",
             tag, ld);
    CHECK(kv->len == T && ld <= 1e-5, what);
    /* the last row of a full pass with every position's logits, bit for bit (a row has the
     * same bits alone or in a batch: gemm.h) */
    mlm_acts *full = mlm_acts_new(&c, 1, NP, 0, &e);
    mlm_forward(m, full, tok, 1, NP, o, NULL, &e);
    snprintf(what, sizeof what, "%s: prefill logits are the full pass's last row, bit for bit", tag);
    CHECK(!memcmp(full->logits + (NP - 1) * V, pre + (NP - 1) * V, sizeof(mlm_real) * (size_t)V), what);
    /* threads */
    mlm_real *one = malloc(sizeof(mlm_real) * (size_t)V);
    size_t cb = sizeof(mlm_real) * (size_t)(L * T * kvd);
    mlm_real *k2 = malloc(cb), *v2 = malloc(cb);
    mlm_kv_cache_reset(kv);
    mlm_prefill(m, kv, a, tok, NP, NULL, o, &e);
    memcpy(k2, kv->k, cb);
    memcpy(v2, kv->v, cb);
    fx_set_threads(1);
    mlm_kv_cache_reset(kv);
    mlm_prefill(m, kv, a, tok, NP, one, o, &e);
    fx_set_threads(2);
    snprintf(what, sizeof what, "%s: 1 and 2 threads prefill the same bits (logits, cached K and V)", tag);
    CHECK(!memcmp(one, pre + (NP - 1) * V, sizeof(mlm_real) * (size_t)V) && !memcmp(k2, kv->k, cb) &&
              !memcmp(v2, kv->v, cb),
          what);
    free(one);
    free(k2);
    free(v2);
    mlm_acts_free(full);
    mlm_acts_free(a);
    mlm_kv_cache_free(kv);
    mlm_kv_cache_free(ref);
    free(step);
    free(pre);
    mlm_model_free(m);
}

static void check_refusals(void) {
    mlm_err e;
    mlm_config c = *mlm_preset_find("microlm");
    c.n_layers = 1;
    mlm_model *m = mlm_model_new(&c, &e);
    mlm_model_init(m, NULL);
    int tok[T] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    mlm_kv_cache *kv = mlm_kv_cache_new(&c, 8, &e);
    mlm_acts *a = mlm_acts_new(&c, 1, 4, 0, &e), *a9 = mlm_acts_new(&c, 1, 9, 0, &e);
    mlm_real *lg = malloc(sizeof(mlm_real) * (size_t)c.vocab_size);
    /* the cache's memory before the refusals: each must leave it as it was */
    size_t cb = sizeof(mlm_real) * (size_t)(c.n_layers * 8 * mlm_kv_dim(&c));
    for (size_t i = 0; i < cb / sizeof(mlm_real); i++) kv->k[i] = kv->v[i] = (mlm_real)(0.25 * (double)(i % 7));
    mlm_real *k0 = malloc(cb), *v0 = malloc(cb);
    memcpy(k0, kv->k, cb);
    memcpy(v0, kv->v, cb);
#define UNTOUCHED (kv->len == 0 && !memcmp(k0, kv->k, cb) && !memcmp(v0, kv->v, cb))
    CHECK(mlm_prefill(m, kv, a9, tok, 9, lg, NULL, &e) == MLM_EINVAL && strstr(e.msg, "longer than the cache of 8") &&
              UNTOUCHED,
          "a prompt longer than the cache is refused by name, the cache untouched");
    CHECK(mlm_prefill(m, kv, a, tok, 0, lg, NULL, &e) == MLM_EINVAL && strstr(e.msg, "at least one token") && UNTOUCHED,
          "an empty prompt is refused");
    CHECK(mlm_prefill(m, kv, a, tok, 3, lg, NULL, &e) == MLM_EINVAL && strstr(e.msg, "T=3") && UNTOUCHED,
          "activations planned for another length are refused");
    int pos[4] = {0, 1, 2, 3};
    mlm_fwd_opts po = {.pos = pos}, nc = {.no_causal = 1}, dn = {.dense = 1};
    CHECK(mlm_prefill(m, kv, a, tok, 4, lg, &po, &e) == MLM_EINVAL && UNTOUCHED, "explicit positions are refused");
    CHECK(mlm_prefill(m, kv, a, tok, 4, lg, &nc, &e) == MLM_EINVAL && UNTOUCHED, "non-causal attention is refused");
    CHECK(mlm_prefill(m, kv, a, tok, 4, lg, &dn, &e) == MLM_EINVAL && UNTOUCHED, "the dense convention is refused");
    int bad[4] = {1, 2, c.vocab_size, 3};
    CHECK(mlm_prefill(m, kv, a, bad, 4, lg, NULL, &e) == MLM_EINVAL && strstr(e.msg, "vocabulary") && UNTOUCHED,
          "a token outside the vocabulary is refused and the cache stays as it was");
    {
        mlm_config c2 = c;
        c2.n_layers = 2;
        mlm_kv_cache *kv2 = mlm_kv_cache_new(&c2, 8, &e);
        CHECK(mlm_prefill(m, kv2, a, tok, 4, lg, NULL, &e) == MLM_EINVAL && strstr(e.msg, "another config") &&
                  kv2->len == 0,
              "a cache planned for another config is refused");
        CHECK(mlm_decode_step(m, kv2, 1, 0, lg, NULL, NULL, &e) == MLM_EINVAL && strstr(e.msg, "another config"),
              "decoding into a cache planned for another config is refused too");
        mlm_kv_cache_free(kv2);
    }
#undef UNTOUCHED
    free(k0);
    free(v0);
    CHECK(mlm_prefill(m, kv, a, tok, 4, lg, NULL, &e) == MLM_OK && kv->len == 4, "a valid prefill fills 4 positions");
    CHECK(mlm_prefill(m, kv, a, tok, 4, lg, NULL, &e) == MLM_EINVAL && strstr(e.msg, "empty") && kv->len == 4,
          "a second prefill into a cache that is not empty is refused");
    free(lg);
    mlm_acts_free(a);
    mlm_acts_free(a9);
    mlm_kv_cache_free(kv);
    mlm_model_free(m);
}

int main(void) {
    fx_set_threads(2);
    mlm_config base = *mlm_preset_find("microlm");
    base.n_layers = 2;
    check_variant("GQA SwiGLU", base, NULL);
    mlm_config c = base;
    c.ffn = MLM_FFN_RELU;
    check_variant("ReLU FFN", c, NULL);
    c = base;
    c.n_kv_heads = 1;
    c.sliding_window = 5;
    check_variant("one KV head, window 5", c, NULL);
    mlm_fwd_opts nr = {.no_rope = 1};
    check_variant("no RoPE", base, &nr);
    c = base;
    c.norm_pos = MLM_POSTNORM;
    check_variant("post-norm", c, NULL);
    check_refusals();
    return check_done();
}
