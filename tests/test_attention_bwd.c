/* test_attention_bwd.c - the fast attention backward (lib/attention_bwd.c) against its slow
 * twin mlm_attention_backward_ref, on every path this CPU offers (AVX-512 and portable, forced
 * with mlm_cpu_set_isa), with head sizes the AVX-512 path takes (16 to 128) and ones it does
 * not (8, 20, 144), T not a multiple of the 16-row tiles or 48-key chunks, MHA / GQA / MQA,
 * causal, windows (narrower than 8, 1, wider than T) and no mask, started from the heads, the
 * probabilities and the scores; the same bits for 1 and 2 threads. */
#include "check.h"
#include "cpu.h"
#include "kernels.h"
#include "kernels_bwd.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef MLM_DOUBLE
#define TOL 1e-12
#else
#define TOL 2e-5
#endif

static mlm_rng rng;

static mlm_real *randn(int64_t n) {
    mlm_real *x = malloc((size_t)n * sizeof(mlm_real));
    for (int64_t i = 0; i < n; i++) x[i] = (mlm_real)mlm_rng_normal(&rng);
    return x;
}

/* max |a - b| / max(max |b|, 0.1): relative to the tensor's scale, absolute where it is all
 * rounding noise (T = 1: ds = p (dp - dp), the twin's double sum leaves ~1e-8) */
static double rel_diff(const mlm_real *a, const mlm_real *b, int64_t n) {
    double md = 0, mb = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > md || isnan(d)) md = isnan(d) ? INFINITY : d;
        if (fabs((double)b[i]) > mb) mb = fabs((double)b[i]);
    }
    return md / (mb > 0.1 ? mb : 0.1);
}

typedef struct { int64_t B, T, H, Hk, hd; mlm_attn_opts o; } shape_t;

static const shape_t shapes[] = {
    {2, 19, 4, 2, 16, {1, 0, 0}}, {1, 37, 6, 6, 48, {1, 0, 0}}, {2, 33, 4, 1, 64, {1, 0, 7}},
    {1, 21, 2, 2, 48, {0, 0, 0}}, {2, 16, 3, 3, 16, {1, 1, 0}}, {1, 9, 6, 2, 8, {1, 0, 0}},
    {1, 17, 2, 1, 20, {1, 0, 5}}, {1, 1, 2, 2, 16, {1, 0, 0}},
    /* the AVX-512 tiles' edges: T past several 16-row tiles and 48-key chunks and not a multiple
     * of either (a last chunk of 2 keys), head sizes cut 48 + 32 / 48 + 48 + 16 / 48 + 48 + 32,
     * windows narrower than 8 rows (no part common to a group), wider than T, of 1 (dscores
     * all rounding noise, as at T = 1: head size 16 keeps it small); one head size past the
     * AVX-512 limit (144: the portable path) */
    {1, 100, 6, 2, 48, {1, 0, 0}}, {1, 50, 2, 2, 32, {1, 0, 0}}, {2, 70, 4, 1, 80, {1, 0, 20}},
    {1, 45, 3, 3, 112, {1, 0, 3}}, {1, 40, 2, 2, 128, {1, 0, 2}}, {1, 70, 2, 1, 96, {0, 0, 0}},
    {1, 33, 2, 2, 144, {1, 0, 0}}, {1, 64, 2, 2, 16, {1, 0, 100}}, {1, 40, 2, 2, 16, {1, 0, 1}},
};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

/* The slow twin starts from the heads; from PROBS / SCORES the fast kernel must reproduce the
 * same dscores / dq / dk from the dprobs / dscores the twin computed. */
static void test_path(const char *path) {
    char what[200];
    for (int s = 0; s < NSHAPES; s++) {
        const shape_t *sh = &shapes[s];
        const int64_t B = sh->B, T = sh->T, H = sh->H, Hk = sh->Hk, hd = sh->hd;
        const int64_t nq = B * T * H * hd, nk = B * T * Hk * hd, np = B * H * T * T;
        mlm_real *q = randn(nq), *k = randn(nk), *v = randn(nk), *G = randn(nq);
        mlm_real *out = malloc((size_t)nq * sizeof(mlm_real)), *pr = malloc((size_t)np * sizeof(mlm_real));
        mlm_attention_forward(out, pr, NULL, q, k, v, B, T, H, Hk, hd, &sh->o, NULL);
        const int64_t sz[5] = {nq, nk, nk, np, np};
        mlm_real *r[5], *f[5];
        for (int i = 0; i < 5; i++) {
            r[i] = malloc((size_t)sz[i] * sizeof(mlm_real));
            f[i] = malloc((size_t)sz[i] * sizeof(mlm_real));
        }
        mlm_attention_backward_ref(r[0], r[1], r[2], r[3], r[4], G, q, k, v, pr, B, T, H, Hk, hd, &sh->o);
        for (int from = 0; from < 3; from++) {
            for (int i = 0; i < 5; i++) memset(f[i], 0xA5, (size_t)sz[i] * sizeof(mlm_real)); /* garbage */
            if (from >= MLM_ATTN_FROM_PROBS) memcpy(f[3], r[3], (size_t)np * sizeof(mlm_real));
            if (from == MLM_ATTN_FROM_SCORES) memcpy(f[4], r[4], (size_t)np * sizeof(mlm_real));
            mlm_attention_backward(f[0], f[1], f[2], f[3], f[4], G, q, k, v, pr, B, T, H, Hk, hd, &sh->o,
                                   (mlm_attn_from)from, NULL);
            double worst = 0;
            for (int i = 0; i < 5; i++) {
                if (i == 2 && from != MLM_ATTN_FROM_HEADS) continue; /* dv: zero unless from the heads */
                double d = rel_diff(f[i], r[i], sz[i]);
                if (d > worst) worst = d;
            }
            int dv_zero = 1;
            if (from != MLM_ATTN_FROM_HEADS)
                for (int64_t i = 0; i < nk; i++) dv_zero &= f[2][i] == 0;
            snprintf(what, sizeof what,
                     "%s: B %lld T %lld H %lld/%lld hd %lld mask %d/%d/%d from %d == _ref (rel %.2e)%s", path,
                     (long long)B, (long long)T, (long long)H, (long long)Hk, (long long)hd, sh->o.causal,
                     sh->o.dense, sh->o.window, from, worst, from ? ", dv zero" : "");
            CHECK(worst < TOL && dv_zero, what);
        }
        for (int i = 0; i < 5; i++) { free(r[i]); free(f[i]); }
        free(q); free(k); free(v); free(G); free(out); free(pr);
    }
}

/* 1 and 2 threads: the same bits */
static void test_threads_shape(const char *path, int64_t B, int64_t T, int64_t H, int64_t Hk, int64_t hd,
                               mlm_attn_opts o) {
#ifdef _OPENMP
    const int64_t nq = B * T * H * hd, nk = B * T * Hk * hd, np = B * H * T * T;
    mlm_real *q = randn(nq), *k = randn(nk), *v = randn(nk), *G = randn(nq);
    mlm_real *out = malloc((size_t)nq * sizeof(mlm_real)), *pr = malloc((size_t)np * sizeof(mlm_real));
    mlm_attention_forward(out, pr, NULL, q, k, v, B, T, H, Hk, hd, &o, NULL);
    const int64_t sz[5] = {nq, nk, nk, np, np};
    mlm_real *a[5], *b[5];
    for (int i = 0; i < 5; i++) {
        a[i] = calloc((size_t)sz[i], sizeof(mlm_real));
        b[i] = calloc((size_t)sz[i], sizeof(mlm_real));
    }
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    mlm_attention_backward(a[0], a[1], a[2], a[3], a[4], G, q, k, v, pr, B, T, H, Hk, hd, &o, MLM_ATTN_FROM_HEADS, NULL);
    omp_set_num_threads(2);
    mlm_attention_backward(b[0], b[1], b[2], b[3], b[4], G, q, k, v, pr, B, T, H, Hk, hd, &o, MLM_ATTN_FROM_HEADS, NULL);
    omp_set_num_threads(nt);
    int same = 1;
    for (int i = 0; i < 5; i++) same &= !memcmp(a[i], b[i], (size_t)sz[i] * sizeof(mlm_real));
    char what[160];
    snprintf(what, sizeof what, "%s: B %lld T %lld H %lld/%lld hd %lld window %d: 1 and 2 threads give the same bits",
             path, (long long)B, (long long)T, (long long)H, (long long)Hk, (long long)hd, o.window);
    CHECK(same, what);
    for (int i = 0; i < 5; i++) { free(a[i]); free(b[i]); }
    free(q); free(k); free(v); free(G); free(out); free(pr);
#else
    (void)path; (void)B; (void)T; (void)H; (void)Hk; (void)hd; (void)o;
#endif
}

static void test_threads(const char *path) {
    test_threads_shape(path, 2, 40, 6, 3, 48, (mlm_attn_opts){1, 0, 0});
    test_threads_shape(path, 3, 70, 4, 2, 32, (mlm_attn_opts){1, 0, 9});
}

int main(void) {
    mlm_rng_seed(&rng, 7);
    mlm_isa native = mlm_cpu_isa();
    if (native == MLM_ISA_AVX512) {
        test_path("avx512");
        test_threads("avx512");
    } else {
        printf("(no AVX-512 path on this CPU or build: portable only)\n");
    }
    mlm_cpu_set_isa(MLM_ISA_PORTABLE);
    test_path("portable");
    test_threads("portable");
    mlm_cpu_set_isa(native);
    return check_done();
}
