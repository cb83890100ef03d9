/* test_decode.c - the untraced decode step (lib/decode.c, one parallel region) against the
 * traced one (forward.c block_forward, which a probe selects): the same bits for every logit,
 * with 1, 2 and 3 threads, float32 and bfloat16 weights, over model variants (grouped and
 * single KV heads, SwiGLU and ReLU, a sliding window, no RoPE, post-norm, which takes the
 * traced path either way); and decoding against the full pass within 1e-5 relative. */
#include "bf16.h"
#include "check.h"
#include "fixtures.h"
#include "forward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { T = 12 };

/* Logits (T, V) of decoding tokens 0..T-1; traced: with a probe attached. */
static void decode_all(const mlm_model *m, const mlm_bf16_weights *bw, const int *tok, const mlm_fwd_opts *o,
                       int traced, mlm_real *lg) {
    mlm_err e;
    mlm_kv_cache *kv = mlm_kv_cache_new(&m->cfg, T, &e);
    mlm_probe *p = traced ? mlm_probe_new(NULL) : NULL;
    int64_t V = m->cfg.vocab_size;
    for (int t = 0; t < T; t++) {
        mlm_status st = bw ? mlm_decode_step_bf16(m, bw, kv, tok[t], t, lg + t * V, o, p, &e)
                           : mlm_decode_step(m, kv, tok[t], t, lg + t * V, o, p, &e);
        if (st) { printf("  decode step %d: %s\n", t, e.msg); break; }
    }
    mlm_probe_free(p);
    mlm_kv_cache_free(kv);
}

static void check_variant(const char *tag, mlm_config c, const mlm_fwd_opts *o, int with_bf16) {
    mlm_err e;
    mlm_model *m = mlm_model_new(&c, &e);
    mlm_init_opts io = {7, 0};
    mlm_model_init(m, &io);
    const int64_t V = c.vocab_size;
    int tok[T];
    for (int t = 0; t < T; t++) tok[t] = (int)((t * 37 + 11) % V);
    size_t bytes = sizeof(mlm_real) * (size_t)(T * V);
    mlm_real *ref = malloc(bytes), *got = malloc(bytes), *ref32 = malloc(bytes);
    char what[200];
    for (int b = 0; b <= with_bf16; b++) {
        mlm_bf16_weights *bw = b ? mlm_bf16_new(m, &e) : NULL;
        const char *kind = b ? "bf16" : "float";
        fx_set_threads(2);
        decode_all(m, bw, tok, o, 1, ref);
        for (int th = 1; th <= 3; th++) {
            fx_set_threads(th);
            decode_all(m, bw, tok, o, 0, got);
            snprintf(what, sizeof what, "%s, %s weights, %d thread%s: untraced decoding has the traced bits", tag, kind,
                     th, th > 1 ? "s" : "");
            CHECK(memcmp(ref, got, bytes) == 0, what);
            decode_all(m, bw, tok, o, 1, got);
            snprintf(what, sizeof what, "%s, %s weights, %d thread%s: traced decoding has the 2-thread bits", tag, kind,
                     th, th > 1 ? "s" : "");
            CHECK(memcmp(ref, got, bytes) == 0, what);
        }
        if (!b) memcpy(ref32, ref, bytes);
        mlm_bf16_free(bw);
    }
    fx_set_threads(2);
    /* against the full pass: a single row takes the decoding kernel (gemm.h), so rounding only */
    mlm_acts *a = mlm_acts_new(&c, 1, T, 0, &e);
    mlm_fwd_opts fo = o ? *o : (mlm_fwd_opts){0};
    mlm_forward(m, a, tok, 1, T, &fo, NULL, &e);
    double worst = 0;
    for (int t = 0; t < T; t++) {
        double dmax = 0, rmax = 0;
        for (int64_t j = 0; j < V; j++) {
            double r = a->logits[t * V + j];
            dmax = fmax(dmax, fabs(ref32[t * V + j] - r));
            rmax = fmax(rmax, fabs(r));
        }
        worst = fmax(worst, dmax / rmax);
    }
    snprintf(what, sizeof what, "%s: decoding equals the full pass within 1e-5 relative (%.2g)", tag, worst);
    CHECK_NEAR(worst, 0, 1e-5, what);
    mlm_acts_free(a);
    free(ref);
    free(got);
    free(ref32);
    mlm_model_free(m);
}

int main(void) {
    /* microlm with 2 blocks: 0.4 M multiply-adds per token, enough for the parallel region */
    mlm_config base = *mlm_preset_find("microlm");
    base.n_layers = 2;
    check_variant("GQA SwiGLU", base, NULL, 1);
    mlm_config c = base;
    c.ffn = MLM_FFN_RELU;
    check_variant("ReLU FFN", c, NULL, 0);
    c = base;
    c.n_kv_heads = 1;
    c.sliding_window = 5;
    check_variant("one KV head, window 5", c, NULL, 1);
    mlm_fwd_opts nr = {.no_rope = 1};
    check_variant("no RoPE", base, &nr, 0);
    c = base;
    c.norm_pos = MLM_POSTNORM;
    check_variant("post-norm", c, NULL, 0);
    /* the untraced step keeps the contract: a full cache is an error */
    {
        mlm_err e;
        mlm_model *m = mlm_model_new(&base, &e);
        mlm_model_init(m, NULL);
        mlm_kv_cache *kv = mlm_kv_cache_new(&base, 2, &e);
        mlm_real *lg = malloc(sizeof(mlm_real) * (size_t)base.vocab_size);
        int ok = mlm_decode_step(m, kv, 1, 0, lg, NULL, NULL, &e) == MLM_OK &&
                 mlm_decode_step(m, kv, 2, 1, lg, NULL, NULL, &e) == MLM_OK && kv->len == 2;
        CHECK(ok && mlm_decode_step(m, kv, 3, 2, lg, NULL, NULL, &e) != MLM_OK,
              "untraced decoding appends one position per step and stops at a full cache");
        free(lg);
        mlm_kv_cache_free(kv);
        mlm_model_free(m);
    }
    return check_done();
}
