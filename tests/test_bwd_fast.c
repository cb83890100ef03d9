/* test_bwd_fast.c - the AVX-512 paths of the backward's element-wise kernels and of the
 * optimizer against their plain C paths (forced with mlm_cpu_set_isa): the vector exp against
 * expf, the cross-entropy (loss and dlogits, with an ignored row and a vocabulary that is not a
 * multiple of 16; on AVX-512 the bits of the row spelled out), the gradient norm and AdamW (the
 * same bits on both paths, and for 1 and 2 threads), the non-finite gradient check naming the
 * first bad index, clip + AdamW in one call against the two calls (the same bits, clip on, off
 * and 0, g untouched, errors), and the one-pass SwiGLU
 * backward against the three kernels it replaces (mlm_silu_forward, mlm_mul_backward,
 * mlm_silu_backward: the same bits on the portable path). */
#include "check.h"
#include "fixtures.h"
#include "bwd_avx512.h"
#include "cpu.h"
#include "kernels_bwd.h"
#include "optim.h"
#include "rng.h"
#include "vexp.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static mlm_rng rng;

static mlm_real *randn(int64_t n, double s) {
    mlm_real *x = malloc((size_t)n * sizeof(mlm_real));
    for (int64_t i = 0; i < n; i++) x[i] = (mlm_real)(s * mlm_rng_normal(&rng));
    return x;
}


/* The cross-entropy on the current path against the portable path. */
static void test_crossentropy(const char *path) {
    const int64_t N = 37, V = 1003;
    mlm_real *lg = randn(N * V, 3), *d1 = malloc((size_t)(N * V) * sizeof(mlm_real)),
             *d2 = malloc((size_t)(N * V) * sizeof(mlm_real));
    int tg[37];
    for (int i = 0; i < N; i++) tg[i] = (int)mlm_rng_below(&rng, (uint32_t)V);
    tg[5] = -1;
    lg[7 * V + 3] = -INFINITY; /* a masked logit */
    double l1 = 0, l2 = 0, l3 = 0;
    mlm_isa isa = mlm_cpu_isa();
    mlm_crossentropy_backward(d1, &l1, NULL, lg, tg, N, V, NULL);
    mlm_crossentropy_backward(NULL, &l3, NULL, lg, tg, N, V, NULL);
    mlm_cpu_set_isa(MLM_ISA_PORTABLE);
    mlm_crossentropy_backward(d2, &l2, NULL, lg, tg, N, V, NULL);
    mlm_cpu_set_isa(isa);
    char what[160];
    snprintf(what, sizeof what, "%s: cross-entropy loss == portable (%.3g apart) and the same without dlogits", path,
             fabs(l1 - l2));
    CHECK(fabs(l1 - l2) <= 1e-6 * fabs(l2) && l1 == l3, what);
    double d = fx_max_diff(d1, d2, N * V);
    int zero = 1;
    for (int64_t j = 0; j < V; j++) zero &= d1[5 * V + j] == 0;
    snprintf(what, sizeof what, "%s: dlogits == portable (max diff %.2e), ignored row zero", path, d);
    CHECK(d < 1e-8 && zero, what);
#ifdef MLM_BWD_AVX512
    if (!strcmp(path, "avx512")) {
        /* The AVX-512 row, spelled out: the exps of x - max (mlm_vexp, the same 16-lane exp),
         * their sum in 16 double lanes (lane l takes the elements l mod 16; lanes l and l + 8
         * added, then the 8 in order), dx = exp * (float)(1 / (sum n)), 1/n off at the target. */
        int64_t n = 0;
        for (int i = 0; i < N; i++) n += tg[i] >= 0;
        mlm_real *sh = malloc((size_t)V * sizeof(mlm_real)), *ex = malloc((size_t)V * sizeof(mlm_real)),
                 *want = malloc((size_t)V * sizeof(mlm_real));
        int same = 1;
        for (int64_t i = 0; i < N; i++) {
            if (tg[i] < 0) continue;
            const mlm_real *x = lg + i * V;
            mlm_real mx = -INFINITY;
            for (int64_t j = 0; j < V; j++) mx = x[j] > mx ? x[j] : mx;
            for (int64_t j = 0; j < V; j++) sh[j] = x[j] - mx;
            mlm_vexp(ex, sh, V);
            double lane[16] = {0}, sum = 0;
            for (int64_t j = 0; j < V; j++) lane[j % 16] += (double)ex[j];
            for (int l = 0; l < 8; l++) sum += lane[l] + lane[l + 8];
            const mlm_real inv = (mlm_real)(1.0 / (sum * (double)n));
            for (int64_t j = 0; j < V; j++) want[j] = ex[j] * inv;
            want[tg[i]] -= (mlm_real)(1.0 / (double)n);
            same &= !memcmp(want, d1 + i * V, (size_t)V * sizeof(mlm_real));
        }
        CHECK(same, "avx512: cross-entropy dlogits are the bits of the row spelled out (one exp per logit, scaled by one rounded 1/(sum n))");
        free(sh);
        free(ex);
        free(want);
    }
#endif
    free(lg);
    free(d1);
    free(d2);
}

/* The fused SwiGLU backward against silu forward + the two muls + silu backward. */
static void test_swiglu(const char *path) {
    const int64_t n = 300001; /* parallel, a tail of every vector width */
    mlm_real *gate = randn(n, 3), *up = randn(n, 1), *dh = randn(n, 1);
    mlm_real *b[7];
    for (int i = 0; i < 7; i++) b[i] = malloc((size_t)n * sizeof(mlm_real));
    gate[0] = 0; gate[1] = 90; gate[2] = -90; /* exp overflow and underflow */
    mlm_real *act = b[0], *da = b[1], *du = b[2], *dg = b[3], *fa = b[4], *fu = b[5], *fg = b[6];
    mlm_silu_forward(act, gate, n);
    mlm_mul_backward(da, NULL, dh, NULL, up, n);
    mlm_mul_backward(NULL, du, dh, act, NULL, n);
    mlm_silu_backward(dg, da, gate, n);
    uint64_t f = mlm_swiglu_backward(fg, fu, fa, dh, gate, up, n);
    double d = fx_max_diff(fa, da, n), e1 = fx_max_diff(fu, du, n), e2 = fx_max_diff(fg, dg, n);
    if (e1 > d) d = e1;
    if (e2 > d) d = e2;
    char what[160];
    int exact = !strcmp(path, "portable");
    snprintf(what, sizeof what, "%s: one-pass SwiGLU backward == the three kernels (dact, dup, dgate; max diff %.2e%s)",
             path, d, exact ? ", bits" : "");
    CHECK(exact ? !memcmp(fa, da, (size_t)n * sizeof(mlm_real)) && !memcmp(fu, du, (size_t)n * sizeof(mlm_real)) &&
                      !memcmp(fg, dg, (size_t)n * sizeof(mlm_real))
                : d < 1e-5,
          what);
    CHECK(f == 15 * (uint64_t)n, "SwiGLU backward FLOPs: 15 per element (silu 4, dact 1, dup 1, silu backward 9)");
    for (int i = 0; i < 7; i++) free(b[i]);
    free(gate);
    free(up);
    free(dh);
}

/* Gradient norm and AdamW: the same bits on the current path, the portable path and 1 thread. */
static void test_optim(const char *path) {
    const int64_t n = 300007; /* above the parallel threshold, not a multiple of 8 */
    mlm_real *g = randn(n, 0.01), *p1 = randn(n, 1), *p2 = malloc((size_t)n * sizeof(mlm_real)),
             *p3 = malloc((size_t)n * sizeof(mlm_real));
    memcpy(p2, p1, (size_t)n * sizeof(mlm_real));
    memcpy(p3, p1, (size_t)n * sizeof(mlm_real));
    mlm_adamw_cfg c;
    mlm_adamw_cfg_default(&c);
    mlm_adamw *o1 = mlm_adamw_new(&c, n, NULL), *o2 = mlm_adamw_new(&c, n, NULL), *o3 = mlm_adamw_new(&c, n, NULL);
    for (int64_t i = 0; i < n; i += 5) o1->decay[i] = o2->decay[i] = o3->decay[i] = 0;
    mlm_isa isa = mlm_cpu_isa();
    double n1 = mlm_grad_norm(g, n);
    for (int s = 0; s < 3; s++) mlm_adamw_step(o1, p1, g, 1e-3, NULL);
    mlm_cpu_set_isa(MLM_ISA_PORTABLE);
    double n2 = mlm_grad_norm(g, n);
    for (int s = 0; s < 3; s++) mlm_adamw_step(o2, p2, g, 1e-3, NULL);
    mlm_cpu_set_isa(isa);
#ifdef _OPENMP
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
#endif
    double n3 = mlm_grad_norm(g, n);
    for (int s = 0; s < 3; s++) mlm_adamw_step(o3, p3, g, 1e-3, NULL);
#ifdef _OPENMP
    omp_set_num_threads(nt);
#endif
    double naive = 0;
    for (int64_t i = 0; i < n; i++) naive += (double)g[i] * (double)g[i];
    char what[160];
    snprintf(what, sizeof what, "%s: gradient norm == portable == 1 thread (bits), == the plain sum (rel %.1e)", path,
             fabs(n1 - sqrt(naive)) / sqrt(naive));
    CHECK(n1 == n2 && n1 == n3 && fabs(n1 - sqrt(naive)) <= 1e-12 * sqrt(naive), what);
    size_t b = (size_t)n * sizeof(mlm_real);
    snprintf(what, sizeof what, "%s: 3 AdamW steps == portable == 1 thread (p, m, v bits)", path);
    CHECK(!memcmp(p1, p2, b) && !memcmp(p1, p3, b) && !memcmp(o1->m, o2->m, b) && !memcmp(o1->v, o2->v, b) &&
              !memcmp(o1->m, o3->m, b) && !memcmp(o1->v, o3->v, b),
          what);
    /* non-finite gradients: the first one is named, nothing changes */
    g[200001] = NAN;
    g[250000] = INFINITY;
    memcpy(p2, p1, b);
    mlm_err e;
    mlm_status st = mlm_adamw_step(o1, p1, g, 1e-3, &e);
    snprintf(what, sizeof what, "%s: a NaN gradient is refused naming the first (index 200001)", path);
    CHECK(st == MLM_EINVAL && strstr(e.msg, "gradient 200001 ") && !memcmp(p1, p2, b) && o1->step == 3, what);
    mlm_adamw_free(o1);
    mlm_adamw_free(o2);
    mlm_adamw_free(o3);
    free(g);
    free(p1);
    free(p2);
    free(p3);
}

/* mlm_adamw_step_clipped against mlm_grad_clip then mlm_adamw_step: the same bits of p, m and v
 * and the same norm, with the clip on (the norm above it) and off, on this path, the portable
 * path and 1 thread; g is left as it was; a non-finite gradient is refused with nothing changed. */
static void test_optim_clipped(const char *path) {
    const int64_t n = 300007;
    const size_t b = (size_t)n * sizeof(mlm_real);
    mlm_real *g0 = randn(n, 0.01), *p0 = randn(n, 1), *g = malloc(b), *gs = malloc(b), *pr = malloc(b), *pf = malloc(b);
    const double norm0 = mlm_grad_norm(g0, n); /* about 5.5: clip 1 scales, clip 100 and 0 (off) do not */
    const double clips[3] = {1.0, 100.0, 0.0};
    mlm_isa isa = mlm_cpu_isa();
    int nt = 1;
#ifdef _OPENMP
    nt = omp_get_max_threads();
#endif
    char what[200];
    for (int ci = 0; ci < 3; ci++)
        for (int mode = 0; mode < 3; mode++) { /* this path, portable, 1 thread */
            mlm_adamw_cfg c;
            mlm_adamw_cfg_default(&c);
            c.clip = clips[ci];
            mlm_adamw *ref = mlm_adamw_new(&c, n, NULL), *fu = mlm_adamw_new(&c, n, NULL);
            for (int64_t i = 0; i < n; i += 5) ref->decay[i] = fu->decay[i] = 0;
            memcpy(pr, p0, b);
            memcpy(pf, p0, b);
            if (mode == 1) mlm_cpu_set_isa(MLM_ISA_PORTABLE);
            if (mode == 2) fx_set_threads(1);
            int same_norm = 1, untouched = 1, ok = 1;
            for (int s = 0; s < 3; s++) {
                for (int64_t i = 0; i < n; i++) g[i] = g0[i] * (mlm_real)(1 + s);
                memcpy(gs, g, b);
                double nr = mlm_grad_clip(g, n, c.clip), nf = -1;
                ok &= mlm_adamw_step(ref, pr, g, 1e-3, NULL) == MLM_OK;
                ok &= mlm_adamw_step_clipped(fu, pf, gs, 1e-3, &nf, NULL) == MLM_OK;
                same_norm &= nr == nf;
                for (int64_t i = 0; i < n; i++) untouched &= gs[i] == g0[i] * (mlm_real)(1 + s);
            }
            mlm_cpu_set_isa(isa);
            fx_set_threads(nt);
            snprintf(what, sizeof what, "%s%s: clip %g (norm %.2f): fused clip + AdamW == clip then AdamW (p, m, v bits, norm), g unchanged",
                     mode == 1 ? "portable" : path, mode == 2 ? ", 1 thread" : "", c.clip, norm0);
            CHECK(ok && same_norm && untouched && !memcmp(pr, pf, b) && !memcmp(ref->m, fu->m, b) && !memcmp(ref->v, fu->v, b) &&
                      ref->step == 3 && fu->step == 3,
                  what);
            if (ci == 0) {
                /* a NaN gradient: refused naming the first with mlm_adamw_step's message; p, m, v,
                 * g and the step kept; the norm reported */
                if (mode == 1) mlm_cpu_set_isa(MLM_ISA_PORTABLE);
                if (mode == 2) fx_set_threads(1);
                memcpy(g, g0, b);
                g[123457] = NAN;
                g[200000] = INFINITY;
                memcpy(gs, g, b);
                memcpy(pr, pf, b);
                mlm_real *mk = malloc(b), *vk = malloc(b);
                memcpy(mk, fu->m, b);
                memcpy(vk, fu->v, b);
                double nf = 0;
                mlm_err e, e2;
                mlm_status st = mlm_adamw_step_clipped(fu, pf, g, 1e-3, &nf, &e);
                mlm_status st2 = mlm_adamw_step(fu, pf, g, 1e-3, &e2);
                mlm_cpu_set_isa(isa);
                fx_set_threads(nt);
                snprintf(what, sizeof what, "%s%s: fused step refuses a NaN gradient naming the first (123457) as mlm_adamw_step does, nothing changes",
                         mode == 1 ? "portable" : path, mode == 2 ? ", 1 thread" : "");
                CHECK(st == MLM_EINVAL && st2 == MLM_EINVAL && strstr(e.msg, "gradient 123457 ") && !strcmp(e.msg, e2.msg) &&
                          isnan(nf) && !memcmp(pr, pf, b) && !memcmp(mk, fu->m, b) && !memcmp(vk, fu->v, b) &&
                          !memcmp(gs, g, b) && fu->step == 3,
                      what);
                free(mk);
                free(vk);
            }
            if (ci == 0 && mode == 0) {
                mlm_err e;
                CHECK(mlm_adamw_step_clipped(NULL, pf, g, 1e-3, NULL, &e) == MLM_EINVAL &&
                          mlm_adamw_step_clipped(fu, pf, g0, NAN, NULL, &e) == MLM_EINVAL && strstr(e.msg, "lr"),
                      "fused step: NULL state and a NaN lr refused");
            }
            mlm_adamw_free(ref);
            mlm_adamw_free(fu);
        }
#ifdef MLM_DOUBLE
    {
        /* squares past DBL_MAX: the norm is inf though every gradient is finite; clipping is
         * skipped (as mlm_grad_clip skips it) and the step goes on, the same bits both ways */
        mlm_adamw_cfg c;
        mlm_adamw_cfg_default(&c);
        mlm_adamw *ref = mlm_adamw_new(&c, n, NULL), *fu = mlm_adamw_new(&c, n, NULL);
        memcpy(g, g0, b);
        g[1000] = 1e200;
        g[2000] = -3e250;
        memcpy(gs, g, b);
        memcpy(pr, p0, b);
        memcpy(pf, p0, b);
        double nr = mlm_grad_clip(g, n, c.clip), nf = 0;
        int ok = mlm_adamw_step(ref, pr, g, 1e-3, NULL) == MLM_OK && mlm_adamw_step_clipped(fu, pf, gs, 1e-3, &nf, NULL) == MLM_OK;
        CHECK(ok && isinf(nr) && isinf(nf) && !memcmp(pr, pf, b) && !memcmp(ref->m, fu->m, b) && !memcmp(ref->v, fu->v, b),
              "double: finite gradients whose squares overflow: the fused step runs, unclipped, with clip then AdamW's bits");
        mlm_adamw_free(ref);
        mlm_adamw_free(fu);
    }
#endif
    free(g0);
    free(p0);
    free(g);
    free(gs);
    free(pr);
    free(pf);
}

int main(void) {
    mlm_rng_seed(&rng, 11);
    mlm_isa native = mlm_cpu_isa();
    const char *path = "portable";
#ifdef MLM_BWD_AVX512
    if (native == MLM_ISA_AVX512) path = "avx512";
#endif
    if (strcmp(path, "avx512")) printf("(no AVX-512 path on this CPU or build: the portable path against itself)\n");
    test_crossentropy(path);
    test_optim(path);
    test_optim_clipped(path);
    test_swiglu(path);
    if (strcmp(path, "portable")) {
        mlm_cpu_set_isa(MLM_ISA_PORTABLE);
        test_swiglu("portable");
        mlm_cpu_set_isa(native);
    }
    return check_done();
}
