/* test_kernels.c - every fast forward kernel against its slow, obvious twin, and the FLOPs
 * each kernel counts against its formula. */
#include "check.h"
#include "fixtures.h"
#include "cpu.h"
#include "kernels.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static mlm_rng rng;

static mlm_real *randn(int64_t n, double scale) {
    mlm_real *x = malloc((size_t)n * sizeof(mlm_real));
    for (int64_t i = 0; i < n; i++) x[i] = (mlm_real)(scale * mlm_rng_normal(&rng));
    return x;
}

#ifdef MLM_DOUBLE
#define TOL 1e-12
#else
#define TOL 2e-5
#endif

static void test_matmul(void) {
    int64_t shapes[][3] = {{1, 7, 5}, {3, 16, 9}, {8, 33, 17}, {13, 64, 40}, {37, 48, 31}, {4, 1, 3}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int64_t N = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        mlm_real *in = randn(N * C, 1), *w = randn(OC * C, 1), *o1 = calloc((size_t)(N * OC), sizeof(mlm_real)),
                 *o2 = calloc((size_t)(N * OC), sizeof(mlm_real));
        uint64_t f1 = mlm_matmul_forward(o1, in, w, N, C, OC), f2 = mlm_matmul_forward_ref(o2, in, w, N, C, OC);
        char what[96];
        snprintf(what, sizeof what, "matmul (%lld x %lld) @ (%lld x %lld)^T matches reference", (long long)N,
                 (long long)C, (long long)OC, (long long)C);
        CHECK_NEAR(fx_max_diff(o1, o2, N * OC), 0, TOL * sqrt((double)C) * 4, what);
        snprintf(what, sizeof what, "matmul N=%lld counts 2*N*C*OC FLOPs", (long long)N);
        CHECK(f1 == (uint64_t)(2 * N * C * OC) && f2 == f1, what);
        /* a row gives the same bits alone or inside a batch (lib/gemm.h); decoding's one-row
         * product agrees to rounding */
        mlm_real *one = calloc((size_t)OC, sizeof(mlm_real));
        mlm_matmul_forward(one, in + (N - 1) * C, w, 1, C, OC);
        snprintf(what, sizeof what, "matmul last row alone is bit-identical to the batched row (N=%lld)", (long long)N);
        CHECK(memcmp(one, o1 + (N - 1) * OC, (size_t)OC * sizeof(mlm_real)) == 0, what);
        uint64_t fd = mlm_matmul_forward_decode(one, in + (N - 1) * C, w, C, OC);
        snprintf(what, sizeof what, "decoding's one-row matmul agrees with the batched row and counts 2 C OC (N=%lld)",
                 (long long)N);
        CHECK(fx_max_diff(one, o1 + (N - 1) * OC, OC) <= TOL * sqrt((double)C) * 4 && fd == (uint64_t)(2 * C * OC), what);
        free(one); free(in); free(w); free(o1); free(o2);
    }
}

static void test_rmsnorm(void) {
    int64_t N = 9, C = 37;
    mlm_real *x = randn(N * C, 3), *g = randn(C, 1), *o1 = malloc(sizeof(mlm_real) * N * C), *o2 = malloc(sizeof(mlm_real) * N * C);
    mlm_real r1[9], r2[9];
    uint64_t f = mlm_rmsnorm_forward(o1, r1, x, g, N, C, 1e-5);
    mlm_rmsnorm_forward_ref(o2, r2, x, g, N, C, 1e-5);
    CHECK_NEAR(fx_max_diff(o1, o2, N * C), 0, TOL * 10, "rmsnorm matches reference");
    CHECK_NEAR(fx_max_diff(r1, r2, N), 0, TOL * 10, "rmsnorm 1/rms matches reference");
    CHECK(f == (uint64_t)(N * (4 * C + 4)), "rmsnorm counts 4 per element + 4 per row");
    /* unit gains: every output row has RMS 1 (up to eps) */
    for (int64_t c = 0; c < C; c++) g[c] = 1;
    mlm_rmsnorm_forward(o1, NULL, x, g, N, C, 1e-5);
    double worst = 0;
    for (int64_t i = 0; i < N; i++) {
        double ss = 0;
        for (int64_t c = 0; c < C; c++) ss += (double)o1[i * C + c] * o1[i * C + c];
        worst = fmax(worst, fabs(sqrt(ss / (double)C) - 1));
    }
    CHECK_NEAR(worst, 0, 1e-5, "rmsnorm with unit gains: per-row RMS == 1");
    free(x); free(g); free(o1); free(o2);
}

static void test_rope(void) {
    int64_t B = 2, T = 5, H = 3, hd = 8, n = B * T * H * hd;
    int pos[5] = {0, 3, 7, 100, 4095};
    for (int layout = 0; layout < 2; layout++) {
        mlm_real *x = randn(n, 1), *o1 = malloc(sizeof(mlm_real) * n), *o2 = malloc(sizeof(mlm_real) * n);
        uint64_t f = mlm_rope_forward(o1, x, pos, B, T, H, hd, 10000.0, (mlm_rope_layout)layout);
        mlm_rope_forward_ref(o2, x, pos, B, T, H, hd, 10000.0, (mlm_rope_layout)layout);
        CHECK_NEAR(fx_max_diff(o1, o2, n), 0, TOL * 10, layout ? "rope (half layout) matches reference" : "rope (adjacent layout) matches reference");
        CHECK(f == (uint64_t)(3 * n), "rope counts 3 per element");
        /* position 0 is the identity, bit for bit */
        int z[5] = {0, 0, 0, 0, 0};
        mlm_rope_forward(o1, x, z, B, T, H, hd, 10000.0, (mlm_rope_layout)layout);
        CHECK(memcmp(o1, x, sizeof(mlm_real) * n) == 0, "rope at position 0 is the identity (bit-identical)");
        /* rotation preserves each pair's norm */
        mlm_rope_forward(o1, x, pos, B, T, H, hd, 10000.0, (mlm_rope_layout)layout);
        double n1 = 0, n2 = 0;
        for (int64_t i = 0; i < n; i++) { n1 += (double)x[i] * x[i]; n2 += (double)o1[i] * o1[i]; }
        CHECK_NEAR(sqrt(n2), sqrt(n1), TOL * 100, "rope preserves the norm");
        /* in place works */
        memcpy(o2, x, sizeof(mlm_real) * n);
        mlm_rope_forward(o2, o2, pos, B, T, H, hd, 10000.0, (mlm_rope_layout)layout);
        CHECK(memcmp(o1, o2, sizeof(mlm_real) * n) == 0, "rope in place equals out of place");
        /* the table path (one table for every layer of a pass) gives mlm_rope_forward's bits */
        mlm_real *cs = malloc(sizeof(mlm_real) * T * hd);
        mlm_rope_table(cs, pos, T, hd, 10000.0);
        uint64_t fa = mlm_rope_apply(o2, x, cs, B, T, H, hd, (mlm_rope_layout)layout);
        CHECK(fa == f && memcmp(o1, o2, sizeof(mlm_real) * n) == 0,
              layout ? "rope table + apply (half layout) is bit-identical to rope_forward" : "rope table + apply (adjacent layout) is bit-identical to rope_forward");
        memcpy(o2, x, sizeof(mlm_real) * n);
        mlm_rope_apply(o2, o2, cs, B, T, H, hd, (mlm_rope_layout)layout);
        CHECK(memcmp(o1, o2, sizeof(mlm_real) * n) == 0, "rope apply in place equals out of place");
        free(cs);
        free(x); free(o1); free(o2);
    }
    /* a head size with 8-pair blocks and a tail, repeated positions, NULL positions */
    int64_t hd2 = 52, T2 = 6, n2 = T2 * 2 * hd2;
    int pos2[6] = {5, 5, 9, 9, 9, 1};
    for (int layout = 0; layout < 2; layout++) {
        mlm_real *x = randn(n2, 1), *o1 = malloc(sizeof(mlm_real) * n2), *o2 = malloc(sizeof(mlm_real) * n2),
                 *cs = malloc(sizeof(mlm_real) * T2 * hd2);
        int ok = 1;
        for (int withpos = 0; withpos < 2; withpos++) {
            const int *pp = withpos ? pos2 : NULL;
            mlm_rope_forward(o1, x, pp, 1, T2, 2, hd2, 500000.0, (mlm_rope_layout)layout);
            mlm_rope_table(cs, pp, T2, hd2, 500000.0);
            mlm_rope_apply(o2, x, cs, 1, T2, 2, hd2, (mlm_rope_layout)layout);
            ok &= memcmp(o1, o2, sizeof(mlm_real) * n2) == 0;
            mlm_rope_forward_ref(o2, x, pp, 1, T2, 2, hd2, 500000.0, (mlm_rope_layout)layout);
            ok &= fx_max_diff(o1, o2, n2) <= TOL * 10;
        }
        CHECK(ok, "rope hd 52 (blocks and a tail), repeated and default positions: table == forward ~= reference");
        free(x); free(o1); free(o2); free(cs);
    }
}

/* The element-wise kernels are compiled for the baseline ISA and for AVX-512 from one source:
 * both give the same bits (no FMA contraction, fixed lanes). */
static void test_paths_bitwise(void) {
    if (mlm_cpu_isa() != MLM_ISA_AVX512) return;
    int64_t N = 7, C = 45, n = N * C, T = 3, H = 2, hd = 30;
    mlm_real *x = randn(n, 2), *y = randn(n, 1), *g = randn(C, 1), *cs = malloc(sizeof(mlm_real) * T * hd);
    mlm_real *a[2], *r[2], *m[2], *s[2], *ro[2][2];
    int pos[3] = {2, 40, 1000};
    mlm_rope_table(cs, pos, T, hd, 10000.0);
    mlm_isa paths[2] = {MLM_ISA_PORTABLE, MLM_ISA_AVX512};
    for (int p = 0; p < 2; p++) {
        mlm_cpu_set_isa(paths[p]);
        a[p] = malloc(sizeof(mlm_real) * n); r[p] = malloc(sizeof(mlm_real) * N);
        m[p] = malloc(sizeof(mlm_real) * n); s[p] = malloc(sizeof(mlm_real) * n);
        mlm_rmsnorm_forward(a[p], r[p], x, g, N, C, 1e-5);
        mlm_mul_forward(m[p], x, y, n);
        mlm_residual_forward(s[p], x, y, n);
        for (int l = 0; l < 2; l++) {
            ro[p][l] = malloc(sizeof(mlm_real) * T * H * hd);
            mlm_rope_apply(ro[p][l], x, cs, 1, T, H, hd, (mlm_rope_layout)l);
        }
    }
    mlm_cpu_set_isa(MLM_ISA_AVX512);
    size_t bn = sizeof(mlm_real) * (size_t)n, brope = sizeof(mlm_real) * (size_t)(T * H * hd);
    CHECK(!memcmp(a[0], a[1], bn) && !memcmp(r[0], r[1], sizeof(mlm_real) * N), "rmsnorm: portable and AVX-512 builds give the same bits");
    CHECK(!memcmp(m[0], m[1], bn) && !memcmp(s[0], s[1], bn), "mul and residual: portable and AVX-512 builds give the same bits");
    CHECK(!memcmp(ro[0][0], ro[1][0], brope) && !memcmp(ro[0][1], ro[1][1], brope),
          "rope apply (both layouts): portable and AVX-512 builds give the same bits");
    for (int p = 0; p < 2; p++) { free(a[p]); free(r[p]); free(m[p]); free(s[p]); free(ro[p][0]); free(ro[p][1]); }
    free(x); free(y); free(g); free(cs);
}

static void test_attention(void) {
    struct { int64_t B, T, H, Hk, hd; int causal, dense, window; } cases[] = {
        {2, 7, 4, 2, 8, 1, 0, 0}, {1, 9, 4, 1, 6, 1, 0, 0}, {2, 5, 3, 3, 4, 0, 0, 0},
        {1, 8, 2, 2, 8, 1, 1, 0}, {1, 11, 4, 2, 8, 1, 0, 4}, {1, 1, 2, 1, 4, 1, 0, 0},
        /* several 16-row tiles, a partial last tile, head sizes around the 16- and 48-wide blocks */
        {1, 40, 4, 2, 48, 1, 0, 0}, {2, 37, 2, 1, 64, 1, 0, 5}, {1, 33, 2, 2, 100, 0, 0, 0},
        {1, 35, 3, 3, 16, 1, 1, 0}, {1, 50, 6, 6, 49, 1, 0, 20}, {1, 18, 2, 1, 300, 1, 0, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        int64_t B = cases[c].B, T = cases[c].T, H = cases[c].H, Hk = cases[c].Hk, hd = cases[c].hd;
        mlm_attn_opts o = {cases[c].causal, cases[c].dense, cases[c].window};
        mlm_real *q = randn(B * T * H * hd, 1), *k = randn(B * T * Hk * hd, 1), *v = randn(B * T * Hk * hd, 1);
        mlm_real *o1 = malloc(sizeof(mlm_real) * B * T * H * hd), *o2 = malloc(sizeof(mlm_real) * B * T * H * hd);
        mlm_real *p1 = malloc(sizeof(mlm_real) * B * H * T * T), *p2 = malloc(sizeof(mlm_real) * B * H * T * T);
        mlm_real *sc = malloc(sizeof(mlm_real) * B * H * T * T);
        uint64_t fl[3];
        uint64_t f = mlm_attention_forward(o1, p1, sc, q, k, v, B, T, H, Hk, hd, &o, fl);
        mlm_attn_opts ro = o;
        ro.dense = 0;
        uint64_t fr = mlm_attention_forward_ref(o2, p2, q, k, v, B, T, H, Hk, hd, &ro);
        char what[128];
        snprintf(what, sizeof what, "[%s] attention B%lld T%lld H%lld Hk%lld hd%lld causal %d dense %d window %d matches reference",
                 mlm_isa_name(mlm_cpu_isa()), (long long)B, (long long)T, (long long)H, (long long)Hk, (long long)hd,
                 o.causal, o.dense, o.window);
        CHECK_NEAR(fmax(fx_max_diff(o1, o2, B * T * H * hd), fx_max_diff(p1, p2, B * H * T * T)), 0, TOL * 10, what);
        /* FLOPs: computed scores x (4 hd + 5) */
        uint64_t computed = 0;
        for (int64_t i = 0; i < T; i++) {
            int64_t lo = 0, hi = o.causal ? i + 1 : T;
            if (o.causal && o.window > 0 && i + 1 > o.window) lo = i + 1 - o.window;
            computed += (uint64_t)(o.dense ? T : hi - lo);
        }
        computed *= (uint64_t)(B * H);
        snprintf(what, sizeof what, "attention case %zu counts (4 d_k + 5) per computed score", c);
        CHECK(f == computed * (4 * (uint64_t)hd + 5) && fl[0] == computed * (2 * (uint64_t)hd + 1) &&
              fl[1] == 4 * computed && fl[2] == computed * 2 * (uint64_t)hd, what);
        if (!o.dense) CHECK(fr == f, "reference attention counts the same FLOPs");
        /* every probability row sums to 1; masked entries are exact zeros */
        double worst = 0;
        int masked_ok = 1;
        for (int64_t r = 0; r < B * H * T; r++) {
            double s = 0;
            int64_t i = r % T;
            for (int64_t j = 0; j < T; j++) {
                s += p1[r * T + j];
                if (o.causal && j > i && p1[r * T + j] != 0) masked_ok = 0;
            }
            worst = fmax(worst, fabs(s - 1));
        }
        CHECK_NEAR(worst, 0, TOL * 10, "attention probability rows sum to 1");
        CHECK(masked_ok, "attention: masked (future) entries are exactly 0");
        if (o.causal && !o.dense && B == 1) {
            /* decoding the last position against the cache equals the last row */
            mlm_real *od = malloc(sizeof(mlm_real) * H * hd), *pd = malloc(sizeof(mlm_real) * H * T);
            /* the cache's layout: (Hk, cap, hd), a head's rows in a row; cap T + 2 (room unused) */
            const int64_t cap = T + 2;
            mlm_real *kc = calloc((size_t)(Hk * cap * hd), sizeof(mlm_real)), *vc = calloc((size_t)(Hk * cap * hd), sizeof(mlm_real));
            for (int64_t hk = 0; hk < Hk; hk++)
                for (int64_t j = 0; j < T; j++) {
                    memcpy(kc + (hk * cap + j) * hd, k + (j * Hk + hk) * hd, sizeof(mlm_real) * (size_t)hd);
                    memcpy(vc + (hk * cap + j) * hd, v + (j * Hk + hk) * hd, sizeof(mlm_real) * (size_t)hd);
                }
            mlm_attention_decode(od, pd, q + (T - 1) * H * hd, kc, vc, T, cap, H, Hk, hd, o.window, NULL);
            free(kc);
            free(vc);
            double dp = 0;
            for (int64_t h = 0; h < H; h++) dp = fmax(dp, fx_max_diff(pd + h * T, p1 + (h * T + T - 1) * T, T));
            CHECK_NEAR(fmax(fx_max_diff(od, o1 + (T - 1) * H * hd, H * hd), dp), 0, TOL,
                       "decode attention (output and probabilities) equals the last row of the full pass");
            free(od); free(pd);
        }
        free(q); free(k); free(v); free(o1); free(o2); free(p1); free(p2); free(sc);
    }
    /* dense and causal conventions give the same numbers */
    int64_t B = 1, T = 6, H = 2, hd = 8;
    mlm_real *q = randn(T * H * hd, 1), *k = randn(T * H * hd, 1), *v = randn(T * H * hd, 1);
    mlm_real *o1 = malloc(sizeof(mlm_real) * T * H * hd), *o2 = malloc(sizeof(mlm_real) * T * H * hd),
             *p = malloc(sizeof(mlm_real) * H * T * T);
    mlm_attn_opts a = {1, 0, 0}, d = {1, 1, 0};
    mlm_attention_forward(o1, p, NULL, q, k, v, B, T, H, H, hd, &a, NULL);
    mlm_attention_forward(o2, p, NULL, q, k, v, B, T, H, H, hd, &d, NULL);
    CHECK(memcmp(o1, o2, sizeof(mlm_real) * T * H * hd) == 0, "dense and causal attention outputs are bit-identical");
    free(q); free(k); free(v); free(o1); free(o2); free(p);
}

static void test_elementwise(void) {
    int64_t n = 50;
    mlm_real *x = randn(n, 3), *y = randn(n, 1), *o = malloc(sizeof(mlm_real) * n);
    double worst = 0;
    uint64_t f = mlm_silu_forward(o, x, n);
    for (int64_t i = 0; i < n; i++) worst = fmax(worst, fabs(o[i] - x[i] / (1 + exp(-(double)x[i]))));
    CHECK_NEAR(worst, 0, TOL * 10, "silu == x * sigmoid(x)");
    CHECK(f == 4 * (uint64_t)n, "silu counts 4 per element");
    f = mlm_relu_forward(o, x, n);
    int ok = 1;
    for (int64_t i = 0; i < n; i++) ok &= o[i] == (x[i] > 0 ? x[i] : 0);
    CHECK(ok && f == (uint64_t)n, "relu == max(0, x), 1 per element");
    f = mlm_mul_forward(o, x, y, n);
    ok = 1;
    for (int64_t i = 0; i < n; i++) ok &= o[i] == x[i] * y[i];
    CHECK(ok && f == (uint64_t)n, "gating multiply, 1 per element");
    f = mlm_residual_forward(o, x, y, n);
    ok = 1;
    for (int64_t i = 0; i < n; i++) ok &= o[i] == x[i] + y[i];
    CHECK(ok && f == (uint64_t)n, "residual add, 1 per element");
    f = mlm_softmax_forward(o, x, 5, 10);
    worst = 0;
    for (int r = 0; r < 5; r++) {
        double s = 0, mx = -1e30;
        for (int j = 0; j < 10; j++) mx = fmax(mx, x[r * 10 + j]);
        for (int j = 0; j < 10; j++) s += exp((double)x[r * 10 + j] - mx);
        for (int j = 0; j < 10; j++) worst = fmax(worst, fabs(o[r * 10 + j] - exp((double)x[r * 10 + j] - mx) / s));
    }
    CHECK_NEAR(worst, 0, TOL, "softmax matches exp / sum");
    CHECK(f == 4 * 50, "softmax counts 4 per element");
    free(x); free(y); free(o);
}

int main(void) {
    mlm_rng_seed(&rng, 7);
    test_matmul();
    test_rmsnorm();
    test_rope();
    test_paths_bitwise();
    /* the attention and element-wise kernels on every path this CPU offers */
    mlm_isa native = mlm_cpu_isa();
    mlm_isa paths[2] = {MLM_ISA_PORTABLE, MLM_ISA_AVX512};
    for (int i = 0; i < 2; i++) {
        if (paths[i] == MLM_ISA_AVX512 && native != MLM_ISA_AVX512) continue;
        mlm_cpu_set_isa(paths[i]);
        test_attention();
        test_elementwise();
    }
    mlm_cpu_set_isa(native);
    return check_done();
}
