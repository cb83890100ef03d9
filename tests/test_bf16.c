/* test_bf16.c - the opt-in bf16 weight store: conversion round-trips, the fast bf16 matmul
 * against its reference loop (same bf16 weights), and decoding with bf16 weights against the
 * float32 model (logit error within bf16 rounding, the same greedy tokens on a small model). */
#include "bf16.h"
#include "check.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int main(void) {
    /* conversion: exact for values with 8 significant bits, round-to-nearest otherwise */
    CHECK(mlm_bf16_to_float(mlm_bf16_from_float(1.5f)) == 1.5f && mlm_bf16_to_float(mlm_bf16_from_float(-0.0078125f)) == -0.0078125f,
          "bf16 conversion is exact for values with 8 significant bits");
    float worst = 0;
    mlm_rng r;
    mlm_rng_seed(&r, 3);
    for (int i = 0; i < 1000; i++) {
        float v = (float)mlm_rng_normal(&r);
        float b = mlm_bf16_to_float(mlm_bf16_from_float(v));
        worst = fmaxf(worst, fabsf(b - v) / fabsf(v));
    }
    CHECK(worst <= 1.0f / 256, "bf16 conversion is within half an ulp of 8 bits (relative 2^-8)");
    /* matmul: fast path vs reference loop on the same bf16 weights */
    int64_t N = 5, C = 70, OC = 37;
    mlm_real *x = malloc(sizeof(mlm_real) * (size_t)(N * C)), *w = malloc(sizeof(mlm_real) * (size_t)(OC * C));
    mlm_real *y1 = malloc(sizeof(mlm_real) * (size_t)(N * OC)), *y2 = malloc(sizeof(mlm_real) * (size_t)(N * OC));
    mlm_bf16 *wb = malloc(sizeof(mlm_bf16) * (size_t)(OC * C));
    for (int64_t i = 0; i < N * C; i++) x[i] = (mlm_real)mlm_rng_normal(&r);
    for (int64_t i = 0; i < OC * C; i++) w[i] = (mlm_real)mlm_rng_normal(&r);
    mlm_bf16_convert(wb, w, OC * C);
    uint64_t f1 = mlm_matmul_forward_bf16(y1, x, wb, N, C, OC), f2 = mlm_matmul_forward_bf16_ref(y2, x, wb, N, C, OC);
    double md = 0, mx = 0;
    for (int64_t i = 0; i < N * OC; i++) { md = fmax(md, fabs((double)y1[i] - y2[i])); mx = fmax(mx, fabs((double)y2[i])); }
    CHECK_NEAR(md / mx, 0, 1e-2, "bf16 matmul fast path matches its reference loop (activations rounded to bf16 at most)");
    CHECK(f1 == f2 && f1 == (uint64_t)(2 * N * C * OC), "bf16 matmul counts 2 N C OC FLOPs");
    /* a group of one-row products: each the bits of its own call (the rows of the three cut
     * between the threads as one list: 300 x 200 multiply-adds take two) */
    {
        const int64_t GC = 300, GO[3] = {53, 21, 130};
        mlm_real *gx = malloc(sizeof(mlm_real) * (size_t)GC), *gy[3], *gr[3];
        mlm_bf16 *gw[3];
        for (int64_t i = 0; i < GC; i++) gx[i] = (mlm_real)mlm_rng_normal(&r);
        int same = 1;
        uint64_t gf[3];
        for (int g = 0; g < 3; g++) {
            gw[g] = malloc(sizeof(mlm_bf16) * (size_t)(GO[g] * GC));
            for (int64_t i = 0; i < GO[g] * GC; i++) gw[g][i] = mlm_bf16_from_float((float)mlm_rng_normal(&r));
            gy[g] = malloc(sizeof(mlm_real) * (size_t)GO[g]);
            gr[g] = malloc(sizeof(mlm_real) * (size_t)GO[g]);
            mlm_matmul_forward_bf16(gr[g], gx, gw[g], 1, GC, GO[g]);
        }
        mlm_matmul_forward_bf16_group(3, gy, (const mlm_bf16 *const *)gw, GO, gx, 1, GC, gf);
        for (int g = 0; g < 3; g++) {
            same &= memcmp(gy[g], gr[g], sizeof(mlm_real) * (size_t)GO[g]) == 0 && gf[g] == (uint64_t)(2 * GC * GO[g]);
            free(gw[g]); free(gy[g]); free(gr[g]);
        }
        free(gx);
        CHECK(same, "bf16 group of one-row products: each the bits and FLOPs of its own call");
    }
    /* decoding with bf16 weights against float32 */
    mlm_config c = *mlm_preset_find("block-demo");
    c.n_layers = 2;
    mlm_err e;
    mlm_model *m = mlm_model_new(&c, &e);
    mlm_model_init(m, NULL);
    mlm_bf16_weights *bw = mlm_bf16_new(m, &e);
    CHECK(bw && mlm_bf16_bytes(bw) > 0, "the bf16 weight store is built from a model");
    mlm_kv_cache *k1 = mlm_kv_cache_new(&c, 16, &e), *k2 = mlm_kv_cache_new(&c, 16, &e);
    mlm_real *l1 = malloc(sizeof(mlm_real) * (size_t)c.vocab_size), *l2 = malloc(sizeof(mlm_real) * (size_t)c.vocab_size);
    double err = 0, big = 0;
    int agree = 0, tok = 1;
    for (int t = 0; t < 16; t++) {
        mlm_decode_step(m, k1, tok, t, l1, NULL, NULL, &e);
        mlm_decode_step_bf16(m, bw, k2, tok, t, l2, NULL, NULL, &e);
        int a1 = 0, a2 = 0;
        for (int v = 0; v < c.vocab_size; v++) {
            err = fmax(err, fabs((double)l1[v] - l2[v]));
            big = fmax(big, fabs((double)l1[v]));
            if (l1[v] > l1[a1]) a1 = v;
            if (l2[v] > l2[a2]) a2 = v;
        }
        agree += a1 == a2;
        tok = a1;
    }
    printf("  bf16 decode: max |logit diff| %.4g (max |logit| %.4g), argmax agrees %d/16\n", err, big, agree);
    CHECK(err < 0.05 * big, "bf16 decode logits within 5% of the largest float32 logit");
    CHECK(agree >= 12, "bf16 decode picks the float32 greedy token on most steps");
    free(l1); free(l2);
    mlm_kv_cache_free(k1); mlm_kv_cache_free(k2);
    mlm_bf16_free(bw);
    mlm_model_free(m);
    free(x); free(w); free(y1); free(y2); free(wb);
    return check_done();
}
