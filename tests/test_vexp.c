/* test_vexp.c - the vectorised exp (lib/vexp.c) on every path this CPU offers (AVX-512 and
 * portable, forced with mlm_cpu_set_isa): ulp error against the correctly rounded exp over a
 * sweep of the softmax input range and beyond, the edge cases (-inf, +inf, NaN, overflow,
 * subnormal results, -0), the row helpers (max, exp-and-sum, softmax, SiLU) against plain
 * loops, independence from the element's position in the row, and 1 vs 2 threads giving the
 * same bits in the kernels that use it. */
#include "check.h"
#include "cpu.h"
#include "kernels.h"
#include "rng.h"
#include "vexp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static mlm_rng rng;

static mlm_real *randn(int64_t n, double scale) {
    mlm_real *x = malloc((size_t)(n > 0 ? n : 1) * sizeof(mlm_real));
    for (int64_t i = 0; i < n; i++) x[i] = (mlm_real)(scale * mlm_rng_normal(&rng));
    return x;
}

#ifndef MLM_DOUBLE
/* Distance in representable floats between a and b (same sign or zero). */
static int64_t ulp_dist(float a, float b) {
    int32_t ia, ib;
    memcpy(&ia, &a, 4);
    memcpy(&ib, &b, 4);
    if (ia < 0) ia = INT32_MIN - ia;
    if (ib < 0) ib = INT32_MIN - ib;
    return llabs((long long)ia - (long long)ib);
}

/* Every float between lo and hi stepping `stride` bit patterns (plus lo and hi themselves),
 * through mlm_vexp in blocks (so every lane position and the tails are used); returns the
 * worst ulp distance to (float)exp((double)x). */
static int64_t sweep(float lo, float hi, uint32_t stride, float *worst_x) {
    enum { BLK = 1000 };
    float x[BLK + 1], y[BLK + 1];
    int64_t worst = 0;
    uint32_t a, b;
    memcpy(&a, &lo, 4);
    memcpy(&b, &hi, 4);
    if (a > b) { uint32_t t = a; a = b; b = t; }
    int n = 0;
    for (uint64_t u = a;; u += stride) {
        if (u > b) u = b;
        uint32_t u32 = (uint32_t)u;
        memcpy(&x[n++], &u32, 4);
        int last = u == b;
        if (n == BLK || last) {
            mlm_vexp(y, x, n);
            for (int i = 0; i < n; i++) {
                int64_t d = ulp_dist(y[i], (float)exp((double)x[i]));
                if (d > worst) { worst = d; *worst_x = x[i]; }
            }
            n = 0;
        }
        if (last) break;
    }
    return worst;
}
#endif

static void test_exp_accuracy(const char *path) {
    char what[160];
#ifndef MLM_DOUBLE
    float wx = 0;
    /* the softmax range: every 61st float in [-104, 0] (about 18 million values;
     * an exhaustive run over all 1.12e9 floats there found 1 ulp at worst on both paths) */
    int64_t w1 = sweep(-0.0f, -104.0f, 61, &wx);
    snprintf(what, sizeof what, "[%s] exp within 2 ulp of the correctly rounded value on [-104, 0] (worst %lld ulp at %.9g)",
             path, (long long)w1, wx);
    CHECK(w1 <= 2, what);
    /* positive arguments up to overflow (SiLU uses them) */
    int64_t w2 = sweep(0.0f, 88.72f, 61, &wx);
    snprintf(what, sizeof what, "[%s] exp within 2 ulp on [0, 88.72] (worst %lld ulp at %.9g)", path, (long long)w2, wx);
    CHECK(w2 <= 2, what);
    /* subnormal results, densely */
    int64_t w3 = sweep(-87.5f, -103.9f, 7, &wx);
    snprintf(what, sizeof what, "[%s] exp within 2 ulp where the result is subnormal (worst %lld ulp at %.9g)", path,
             (long long)w3, wx);
    CHECK(w3 <= 2, what);
    /* edge cases */
    float x[10] = {-INFINITY, INFINITY, NAN, -NAN, 89.0f, 1000.0f, -1000.0f, -0.0f, 0.0f, -104.5f}, y[10];
    mlm_vexp(y, x, 10);
    snprintf(what, sizeof what, "[%s] exp edge cases: -inf -> 0, +inf -> +inf, NaN -> NaN, overflow -> +inf, -0 -> 1", path);
    CHECK(y[0] == 0 && !signbit(y[0]) && isinf(y[1]) && y[1] > 0 && isnan(y[2]) && isnan(y[3]) && isinf(y[4]) &&
              isinf(y[5]) && y[6] == 0 && y[7] == 1 && y[8] == 1 && y[9] == 0,
          what);
#else
    mlm_real x[4] = {-1.5, 0, -700, 2}, y[4];
    mlm_vexp(y, x, 4);
    int ok = 1;
    for (int i = 0; i < 4; i++) ok &= y[i] == exp(x[i]);
    snprintf(what, sizeof what, "[%s] double build: mlm_vexp is libm exp", path);
    CHECK(ok, what);
#endif
}

/* The row helpers against plain loops; an element gives the same bits at any offset. */
static void test_rows(const char *path) {
    char what[160];
    const int64_t ns[] = {1, 5, 15, 16, 17, 33, 100, 1000};
    double worst_sm = 0, worst_silu = 0;
    int max_ok = 1, pos_ok = 1;
    for (size_t c = 0; c < sizeof ns / sizeof ns[0]; c++) {
        int64_t n = ns[c];
        mlm_real *x = randn(n + 1, 4), *p = malloc(sizeof(mlm_real) * (size_t)(n + 1)),
                 *q = malloc(sizeof(mlm_real) * (size_t)(n + 1));
        mlm_real mx = -INFINITY;
        for (int64_t j = 0; j < n; j++) mx = x[j] > mx ? x[j] : mx;
        max_ok &= mlm_vmax(x, n) == mx;
        mlm_softmax_row(p, x, n);
        double s = 0;
        for (int64_t j = 0; j < n; j++) s += exp((double)x[j] - mx);
        for (int64_t j = 0; j < n; j++) worst_sm = fmax(worst_sm, fabs(p[j] - exp((double)x[j] - mx) / s));
        mlm_silu_row(p, x, n);
        for (int64_t j = 0; j < n; j++) worst_silu = fmax(worst_silu, fabs(p[j] - x[j] / (1 + exp(-(double)x[j]))));
        /* the same values one element further along give the same exps */
        mlm_vexp(p, x, n);
        mlm_vexp(q, x + 1, n);
        pos_ok &= memcmp(p + 1, q, sizeof(mlm_real) * (size_t)(n - 1)) == 0;
        free(x); free(p); free(q);
    }
    snprintf(what, sizeof what, "[%s] vmax equals the plain loop's max", path);
    CHECK(max_ok, what);
    snprintf(what, sizeof what, "[%s] softmax_row matches exp / sum in double", path);
    CHECK_NEAR(worst_sm, 0, 1e-6, what);
    snprintf(what, sizeof what, "[%s] silu_row matches x * sigmoid(x) in double", path);
    CHECK_NEAR(worst_silu, 0, 1e-5, what);
    snprintf(what, sizeof what, "[%s] exp of an element does not depend on its position in the row", path);
    CHECK(pos_ok, what);
    /* NaN propagates through a softmax row; -inf entries get probability 0 */
    mlm_real x[20], p[20];
    for (int j = 0; j < 20; j++) x[j] = (mlm_real)j * 0.1f;
    x[3] = -INFINITY;
    mlm_softmax_row(p, x, 20);
    int inf_ok = p[3] == 0;
    x[7] = NAN;
    mlm_softmax_row(p, x, 20);
    int nan_ok = 1;
    for (int j = 0; j < 20; j++) nan_ok &= isnan(p[j]);
    snprintf(what, sizeof what, "[%s] softmax_row: -inf -> probability 0, a NaN makes the row NaN", path);
    CHECK(inf_ok && nan_ok, what);
}

/* Kernels built on vexp give the same bits on 1 and 2 threads. */
static void test_threads(const char *path) {
#ifdef _OPENMP
    int64_t N = 37, V = 3000, B = 2, T = 67, H = 4, Hk = 2, hd = 24;
    mlm_real *x = randn(N * V, 3), *p1 = malloc(sizeof(mlm_real) * (size_t)(N * V)),
             *p2 = malloc(sizeof(mlm_real) * (size_t)(N * V));
    mlm_real *q = randn(B * T * H * hd, 1), *k = randn(B * T * Hk * hd, 1), *v = randn(B * T * Hk * hd, 1);
    int64_t no = B * T * H * hd, np = B * H * T * T;
    mlm_real *o1 = malloc(sizeof(mlm_real) * (size_t)no), *o2 = malloc(sizeof(mlm_real) * (size_t)no),
             *a1 = malloc(sizeof(mlm_real) * (size_t)np), *a2 = malloc(sizeof(mlm_real) * (size_t)np);
    mlm_attn_opts ao = {1, 0, 0};
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    mlm_softmax_forward(p1, x, N, V);
    mlm_attention_forward(o1, a1, NULL, q, k, v, B, T, H, Hk, hd, &ao, NULL);
    omp_set_num_threads(2);
    mlm_softmax_forward(p2, x, N, V);
    mlm_attention_forward(o2, a2, NULL, q, k, v, B, T, H, Hk, hd, &ao, NULL);
    omp_set_num_threads(saved);
    char what[128];
    snprintf(what, sizeof what, "[%s] softmax gives the same bits on 1 and 2 threads", path);
    CHECK(memcmp(p1, p2, sizeof(mlm_real) * (size_t)(N * V)) == 0, what);
    snprintf(what, sizeof what, "[%s] attention gives the same bits on 1 and 2 threads", path);
    CHECK(memcmp(o1, o2, sizeof(mlm_real) * (size_t)no) == 0 && memcmp(a1, a2, sizeof(mlm_real) * (size_t)np) == 0,
          what);
    free(x); free(p1); free(p2); free(q); free(k); free(v); free(o1); free(o2); free(a1); free(a2);
#else
    (void)path;
#endif
}

int main(void) {
    mlm_rng_seed(&rng, 11);
    mlm_isa native = mlm_cpu_isa();
    mlm_isa paths[2] = {MLM_ISA_PORTABLE, MLM_ISA_AVX512};
    for (int i = 0; i < 2; i++) {
        if (paths[i] == MLM_ISA_AVX512 && native != MLM_ISA_AVX512) continue;
        mlm_cpu_set_isa(paths[i]);
        const char *name = mlm_isa_name(paths[i]);
        test_exp_accuracy(name);
        test_rows(name);
        test_threads(name);
    }
    mlm_cpu_set_isa(native);
    return check_done();
}
