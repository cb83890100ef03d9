/* test_gemm.c - the fast matrix products (lib/gemm.c) against the plain reference loops, on
 * every path this CPU offers (AVX-512 and portable, forced with mlm_cpu_set_isa), with awkward
 * shapes (tails of every tile size, C not a multiple of 16, unaligned rows); their determinism
 * rules: a token row has the same bits alone or inside any batch (on the AVX-512 path exactly
 * the FMA chain in increasing c), decoding's one-row kernel agrees to rounding, 1 and 2
 * threads give the same bits, and the forward and backward matmul kernels route through them. */
#include "check.h"
#include "fixtures.h"
#include "cpu.h"
#include "gemm.h"
#include "kernels.h"
#include "kernels_bwd.h"
#include "rng.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static mlm_rng rng;

static mlm_real *randn(int64_t n) {
    mlm_real *x = malloc((size_t)(n > 0 ? n : 1) * sizeof(mlm_real));
    for (int64_t i = 0; i < n; i++) x[i] = (mlm_real)mlm_rng_normal(&rng);
    return x;
}

#ifdef MLM_DOUBLE
#define TOL 1e-12
#else
#define TOL 2e-6
#endif

static const int64_t shapes[][3] = {{1, 7, 5},    {3, 16, 9},    {8, 33, 17},   {13, 64, 40}, {37, 48, 31},
                                    {4, 1, 3},    {9, 288, 35},  {17, 100, 50}, {1, 288, 37}, {2, 17, 1},
                                    {64, 96, 64}, {11, 300, 49}, {70, 40, 130}, {1, 0, 4},
                                    {300, 50, 97}, {9, 800, 60}, {2, 5, 200}, {3, 0, 2},
                                    {5, 24, 1100}, {530, 20, 1030}};
#define NSHAPES ((int)(sizeof shapes / sizeof shapes[0]))

static void test_nt(const char *path) {
    char what[160];
    double worst = 0, alone_worst = 0;
    int pair_ok = 1, alone_same = 1, dec_same = 1, portable = !mlm_gemm_fast();
#ifndef MLM_DOUBLE
    int chain_ok = 1;
#endif
    for (int s = 0; s < NSHAPES; s++) {
        int64_t N = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        /* x one float past an aligned start, so rows are unaligned */
        mlm_real *xb = randn(N * C + 1), *x = xb + 1, *w = randn(OC * C);
        mlm_real *y = calloc((size_t)(N * OC), sizeof(mlm_real)), *r = calloc((size_t)(N * OC), sizeof(mlm_real));
        mlm_gemm_nt(y, x, w, N, C, OC);
        mlm_matmul_forward_ref(r, x, w, N, C, OC);
        double d = fx_max_diff(y, r, N * OC) / sqrt((double)(C > 0 ? C : 1));
        if (d > worst) worst = d;
        /* Every row has the same bits alone or inside any batch (each row again alone, and
         * paired with its neighbour: another tile position, another row block); decoding's
         * one-row kernel agrees with it to rounding (on the AVX-512 path its order differs;
         * on the portable path it is the same loop, so the same bits). */
        mlm_real *two = calloc((size_t)(2 * OC), sizeof(mlm_real)), *one = calloc((size_t)OC, sizeof(mlm_real));
        for (int64_t i = 0; i + 1 < N; i++) {
            mlm_gemm_nt(two, x + i * C, w, 2, C, OC);
            if (memcmp(two, y + i * OC, (size_t)(2 * OC) * sizeof(mlm_real)) != 0) pair_ok = 0;
        }
        for (int64_t i = 0; i < N; i++) {
            mlm_gemm_nt(one, x + i * C, w, 1, C, OC);
            if (memcmp(one, y + i * OC, (size_t)OC * sizeof(mlm_real)) != 0) alone_same = 0;
            mlm_gemm_nt_decode(one, x + i * C, w, C, OC);
            if (portable && memcmp(one, y + i * OC, (size_t)OC * sizeof(mlm_real)) != 0) dec_same = 0;
            double d1 = fx_max_diff(one, y + i * OC, OC) / sqrt((double)(C > 0 ? C : 1));
            if (d1 > alone_worst) alone_worst = d1;
        }
        /* The AVX-512 batch kernel is one FMA per term in increasing c from 0: exactly this loop. */
#ifndef MLM_DOUBLE
        if (!portable)
            for (int64_t i = 0; i < N; i++)
                for (int64_t o = 0; o < OC; o++) {
                    float acc = 0.0f;
                    for (int64_t c = 0; c < C; c++) acc = fmaf((float)x[i * C + c], (float)w[o * C + c], acc);
                    if ((float)y[i * OC + o] != acc) chain_ok = 0;
                }
#endif
        free(two); free(one); free(xb); free(w); free(y); free(r);
    }
    snprintf(what, sizeof what, "[%s] gemm_nt matches the reference loop on %d shapes (max diff / sqrt(C) %.2g)", path,
             NSHAPES, worst);
    CHECK_NEAR(worst, 0, TOL * 4, what);
    snprintf(what, sizeof what, "[%s] gemm_nt: a row gives the same bits inside any batch of 2 or more rows", path);
    CHECK(pair_ok, what);
    snprintf(what, sizeof what, "[%s] gemm_nt: each row alone is bit-identical to the row inside the batch", path);
    CHECK(alone_same, what);
    snprintf(what, sizeof what, "[%s] gemm_nt_decode (one row) agrees with gemm_nt (max diff / sqrt(C) %.2g)%s", path,
             alone_worst, portable ? ", bit for bit on this path" : "");
    CHECK(alone_worst <= TOL * 4 && dec_same, what);
#ifndef MLM_DOUBLE
    if (!portable) {
        snprintf(what, sizeof what, "[%s] gemm_nt: every element is the FMA chain over c in increasing order, bit for bit",
                 path);
        CHECK(chain_ok, what);
    }
#endif
}

/* mlm_gemm_acc through both backward products, against mlm_matmul_backward_ref */
static void test_acc(const char *path) {
    char what[160];
    double worst = 0;
    for (int s = 0; s < NSHAPES; s++) {
        int64_t N = shapes[s][0], C = shapes[s][1], OC = shapes[s][2];
        mlm_real *in = randn(N * C), *w = randn(OC * C), *dout = randn(N * OC);
        mlm_real *dinp = randn(N * C), *dw = randn(OC * C);
        mlm_real *dinp_r = malloc(sizeof(mlm_real) * (size_t)(N * C + 1)), *dw_r = malloc(sizeof(mlm_real) * (size_t)(OC * C + 1));
        memcpy(dinp_r, dinp, sizeof(mlm_real) * (size_t)(N * C));
        memcpy(dw_r, dw, sizeof(mlm_real) * (size_t)(OC * C));
        mlm_gemm_acc(dinp, dout, OC, 1, w, N, OC, C); /* dinp += dout @ w */
        mlm_gemm_acc(dw, dout, 1, OC, in, OC, N, C);  /* dw += dout^T @ in */
        mlm_matmul_backward_ref(dinp_r, dw_r, dout, in, w, N, C, OC, NULL);
        double d1 = fx_max_diff(dinp, dinp_r, N * C) / sqrt((double)OC), d2 = fx_max_diff(dw, dw_r, OC * C) / sqrt((double)N);
        if (d1 > worst) worst = d1;
        if (d2 > worst) worst = d2;
        free(in); free(w); free(dout); free(dinp); free(dw); free(dinp_r); free(dw_r);
    }
    snprintf(what, sizeof what, "[%s] gemm_acc (dinp += dout @ W, dW += dout^T @ in) matches the reference (max diff %.2g)",
             path, worst);
    CHECK_NEAR(worst, 0, TOL * 8, what);
}

/* 1 thread and 2 threads: the same bits (every element has one owner and one order) */
static void test_threads(const char *path) {
#ifdef _OPENMP
    int64_t N = 67, C = 288, OC = 300;
    mlm_real *x = randn(N * C), *w = randn(OC * C), *dout = randn(N * OC);
    mlm_real *y1 = calloc((size_t)(N * OC), sizeof(mlm_real)), *y2 = calloc((size_t)(N * OC), sizeof(mlm_real));
    mlm_real *a1 = calloc((size_t)(OC * C), sizeof(mlm_real)), *a2 = calloc((size_t)(OC * C), sizeof(mlm_real));
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    mlm_gemm_nt(y1, x, w, N, C, OC);
    mlm_gemm_acc(a1, dout, 1, OC, x, OC, N, C);
    omp_set_num_threads(2);
    mlm_gemm_nt(y2, x, w, N, C, OC);
    mlm_gemm_acc(a2, dout, 1, OC, x, OC, N, C);
    omp_set_num_threads(saved);
    char what[128];
    snprintf(what, sizeof what, "[%s] gemm_nt and gemm_acc give the same bits on 1 and 2 threads", path);
    CHECK(memcmp(y1, y2, sizeof(mlm_real) * (size_t)(N * OC)) == 0 &&
              memcmp(a1, a2, sizeof(mlm_real) * (size_t)(OC * C)) == 0,
          what);
    free(x); free(w); free(dout); free(y1); free(y2); free(a1); free(a2);
#else
    (void)path;
#endif
}

/* a group of one-row products of one x gives each the bits of its own mlm_gemm_nt_decode */
static void test_group(const char *path) {
    int ok = 1;
    const int64_t C = 200, OC[3] = {53, 21, 130}; /* 200 x 204 multiply-adds: two threads */
    mlm_real *x = randn(C), *w[3], *y[3], *r[3];
    for (int g = 0; g < 3; g++) {
        w[g] = randn(OC[g] * C);
        y[g] = calloc((size_t)OC[g], sizeof(mlm_real));
        r[g] = calloc((size_t)OC[g], sizeof(mlm_real));
        mlm_gemm_nt_decode(r[g], x, w[g], C, OC[g]);
    }
    uint64_t fl[3];
    mlm_gemm_nt_decode_group(3, y, (const mlm_real *const *)w, OC, x, C, fl);
    for (int g = 0; g < 3; g++) {
        if (memcmp(y[g], r[g], sizeof(mlm_real) * (size_t)OC[g]) != 0) ok = 0;
        if (fl[g] != 2 * (uint64_t)(C * OC[g])) ok = 0;
        free(w[g]); free(y[g]); free(r[g]);
    }
    free(x);
    char what[128];
    snprintf(what, sizeof what, "[%s] gemm_nt_decode_group gives every product the bits of its own call and counts 2 C OC", path);
    CHECK(ok, what);
}

/* the model's kernels take this path: matmul forward/backward equal the GEMM bit for bit */
static void test_routing(void) {
    int64_t N = 24, C = 40, OC = 33;
    mlm_real *x = randn(N * C), *w = randn(OC * C), *dout = randn(N * OC);
    mlm_real *y1 = calloc((size_t)(N * OC), sizeof(mlm_real)), *y2 = calloc((size_t)(N * OC), sizeof(mlm_real));
    mlm_matmul_forward(y1, x, w, N, C, OC);
    mlm_gemm_nt(y2, x, w, N, C, OC);
    CHECK(memcmp(y1, y2, sizeof(mlm_real) * (size_t)(N * OC)) == 0, "mlm_matmul_forward is mlm_gemm_nt");
    mlm_real *d1 = calloc((size_t)(N * C), sizeof(mlm_real)), *d2 = calloc((size_t)(N * C), sizeof(mlm_real));
    mlm_real *g1 = calloc((size_t)(OC * C), sizeof(mlm_real)), *g2 = calloc((size_t)(OC * C), sizeof(mlm_real));
    uint64_t fl[2];
    mlm_matmul_backward(d1, g1, dout, x, w, N, C, OC, fl);
    mlm_real *rd = calloc((size_t)(N * C), sizeof(mlm_real)), *rg = calloc((size_t)(OC * C), sizeof(mlm_real));
    mlm_matmul_backward_ref(rd, rg, dout, x, w, N, C, OC, NULL);
    mlm_gemm_acc(d2, dout, OC, 1, w, N, OC, C);
    mlm_gemm_acc(g2, dout, 1, OC, x, OC, N, C);
    CHECK(fx_max_diff(d1, rd, N * C) < TOL * 50 && fx_max_diff(g1, rg, OC * C) < TOL * 50,
          "mlm_matmul_backward matches its reference");
    if (mlm_gemm_fast())
        CHECK(memcmp(d1, d2, sizeof(mlm_real) * (size_t)(N * C)) == 0 &&
                  memcmp(g1, g2, sizeof(mlm_real) * (size_t)(OC * C)) == 0,
              "mlm_matmul_backward takes mlm_gemm_acc (AVX-512 path)");
    CHECK(fl[0] == (uint64_t)(2 * N * C * OC) && fl[1] == fl[0], "mlm_matmul_backward still counts 2*N*C*OC per product");
    free(x); free(w); free(dout); free(y1); free(y2); free(d1); free(d2); free(g1); free(g2); free(rd); free(rg);
}

int main(void) {
    mlm_rng_seed(&rng, 42);
    mlm_isa isa = mlm_cpu_isa();
    printf("# CPU path: %s (AVX-512 BF16: %s)\n", mlm_isa_name(isa), mlm_cpu_has_avx512_bf16() ? "yes" : "no");
    test_nt(mlm_isa_name(isa));
    test_acc(mlm_isa_name(isa));
    test_threads(mlm_isa_name(isa));
    test_group(mlm_isa_name(isa));
    test_routing();
    if (isa != MLM_ISA_PORTABLE) { /* the portable path too, on this machine */
        mlm_cpu_set_isa(MLM_ISA_PORTABLE);
        CHECK(mlm_cpu_isa() == MLM_ISA_PORTABLE && !mlm_gemm_fast(), "mlm_cpu_set_isa forces the portable path");
        test_nt("portable");
        test_acc("portable");
        test_threads("portable");
        test_group("portable");
        test_routing();
        mlm_cpu_set_isa(isa);
    }
    return check_done();
}
