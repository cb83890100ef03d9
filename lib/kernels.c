/* kernels.c - forward kernels: the fast path used by the passes and the slow, obvious
 * reference of each op that the tests compare against. FLOP conventions: kernels.h. */
#include "kernels.h"

#include "attn_mask.h"
#include "cpu.h"
#include "gemm.h"
#include "vexp.h"

#include <math.h>
#include <string.h>

/* The element-wise loops (RMSNorm, RoPE, gating multiply, residual add) are written once as
 * always-inline C and compiled twice: for the baseline ISA and, in the float build on x86-64,
 * for AVX-512 (chosen at run time, cpu.h), where the compiler vectorises them 16 wide. There is
 * no FMA contraction in ISO C mode and every loop keeps its order (the RMSNorm sum has fixed
 * lanes), so both compilations give the same bits. */
#define LOOP static inline __attribute__((always_inline))
#if !defined(MLM_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define KERN_AVX512 1
#define TGT __attribute__((target("avx512f,avx512bw,avx512vl")))
#define USE_AVX512 (mlm_cpu_isa() == MLM_ISA_AVX512)
#else
#define USE_AVX512 0
#endif

/* ---- matmul ------------------------------------------------------------------------------ */

/* The fast path: lib/gemm.c (AVX-512 micro-kernels chosen at run time, portable C elsewhere).
 * Each output element is computed with a fixed order that depends only on C, so a row gives
 * the same bits alone or inside a batch, and threads never change a result (gemm.h). */
uint64_t mlm_matmul_forward(mlm_real *out, const mlm_real *in, const mlm_real *w, int64_t N, int64_t C, int64_t OC) {
    mlm_gemm_nt(out, in, w, N, C, OC);
    return 2 * (uint64_t)(N > 0 ? N : 0) * (uint64_t)(C > 0 ? C : 0) * (uint64_t)(OC > 0 ? OC : 0);
}

/* Decoding's one-row product (gemm.h mlm_gemm_nt_decode): reads w at the speed of memory. */
uint64_t mlm_matmul_forward_decode(mlm_real *out, const mlm_real *in, const mlm_real *w, int64_t C, int64_t OC) {
    mlm_gemm_nt_decode(out, in, w, C, OC);
    return 2 * (uint64_t)(C > 0 ? C : 0) * (uint64_t)(OC > 0 ? OC : 0);
}

/* The plain loop: one dot product per output element, accumulated in double. */
uint64_t mlm_matmul_forward_ref(mlm_real *out, const mlm_real *in, const mlm_real *w, int64_t N, int64_t C, int64_t OC) {
    for (int64_t i = 0; i < N; i++)
        for (int64_t o = 0; o < OC; o++) {
            double s = 0;
            for (int64_t c = 0; c < C; c++) s += (double)in[i * C + c] * (double)w[o * C + c];
            out[i * OC + o] = (mlm_real)s;
        }
    return 2 * (uint64_t)N * (uint64_t)C * (uint64_t)OC;
}

/* ---- RMSNorm ----------------------------------------------------------------------------- */

/* Rows [i0, i1): the sum of squares in 8 double lanes (fixed order), then the scaling. */
LOOP void rmsnorm_rows(mlm_real *out, mlm_real *rstd, const mlm_real *in, const mlm_real *g, int64_t i0, int64_t i1,
                       int64_t C, double eps) {
    for (int64_t i = i0; i < i1; i++) {
        const mlm_real *x = in + i * C;
        double acc[8] = {0};
        int64_t c = 0;
        for (; c + 8 <= C; c += 8)
            for (int l = 0; l < 8; l++) acc[l] += (double)x[c + l] * (double)x[c + l];
        double ss = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (; c < C; c++) ss += (double)x[c] * (double)x[c];
        mlm_real r = (mlm_real)(1.0 / sqrt(ss / (double)C + eps));
        mlm_real *y = out + i * C, t[16];
        for (c = 0; c + 16 <= C; c += 16) {
            for (int l = 0; l < 16; l++) t[l] = x[c + l] * r * g[c + l];
            for (int l = 0; l < 16; l++) y[c + l] = t[l];
        }
        for (; c < C; c++) y[c] = x[c] * r * g[c];
        if (rstd) rstd[i] = r;
    }
}

static void rmsnorm_rows_base(mlm_real *out, mlm_real *rstd, const mlm_real *in, const mlm_real *g, int64_t i0,
                              int64_t i1, int64_t C, double eps) {
    rmsnorm_rows(out, rstd, in, g, i0, i1, C, eps);
}

#ifdef KERN_AVX512
TGT static void rmsnorm_rows_avx512(mlm_real *out, mlm_real *rstd, const mlm_real *in, const mlm_real *g, int64_t i0,
                                    int64_t i1, int64_t C, double eps) {
    rmsnorm_rows(out, rstd, in, g, i0, i1, C, eps);
}
#endif

/* Serial below a million elements, where a parallel region's fork and barrier cost more than
 * the work; otherwise blocks of 16 rows. */
uint64_t mlm_rmsnorm_forward(mlm_real *out, mlm_real *rstd, const mlm_real *in, const mlm_real *g, int64_t N, int64_t C,
                             double eps) {
    const int avx = USE_AVX512;
#pragma omp parallel for schedule(static) if (N * C > 1048576)
    for (int64_t i0 = 0; i0 < N; i0 += 16) {
        int64_t i1 = i0 + 16 < N ? i0 + 16 : N;
#ifdef KERN_AVX512
        if (avx) { rmsnorm_rows_avx512(out, rstd, in, g, i0, i1, C, eps); continue; }
#endif
        rmsnorm_rows_base(out, rstd, in, g, i0, i1, C, eps);
    }
    (void)avx;
    return (4 * (uint64_t)(C > 0 ? C : 0) + 4) * (uint64_t)(N > 0 ? N : 0);
}

void mlm_rmsnorm_row(mlm_real *out, mlm_real *rstd, const mlm_real *in, const mlm_real *g, int64_t C, double eps) {
#ifdef KERN_AVX512
    if (USE_AVX512) { rmsnorm_rows_avx512(out, rstd, in, g, 0, 1, C, eps); return; }
#endif
    rmsnorm_rows_base(out, rstd, in, g, 0, 1, C, eps);
}

uint64_t mlm_rmsnorm_forward_ref(mlm_real *out, mlm_real *rstd, const mlm_real *in, const mlm_real *g, int64_t N,
                                 int64_t C, double eps) {
    for (int64_t i = 0; i < N; i++) {
        double ms = 0;
        for (int64_t c = 0; c < C; c++) ms += (double)in[i * C + c] * in[i * C + c];
        ms /= (double)C;
        double r = 1.0 / sqrt(ms + eps);
        for (int64_t c = 0; c < C; c++) out[i * C + c] = (mlm_real)((double)in[i * C + c] * r * g[c]);
        if (rstd) rstd[i] = (mlm_real)r;
    }
    return (4 * (uint64_t)C + 4) * (uint64_t)N;
}

/* ---- RoPE -------------------------------------------------------------------------------- */

/* The reference's pair indices (the fast path inlines them in rope_row). */
static inline void rope_pair_index(int64_t i, int64_t hd, mlm_rope_layout layout, int64_t *a, int64_t *b) {
    if (layout == MLM_ROPE_HALF) { *a = i; *b = i + hd / 2; }
    else { *a = 2 * i; *b = 2 * i + 1; }
}

/* Pairs [i0, i1) of one head row (hd values) rotated by cos c[i - i0], sin s[i - i0]. Blocks
 * of 8 pairs go through a local array (fixed-length loops, vectorised, out may equal in). */
LOOP void rope_row(mlm_real *out, const mlm_real *in, const mlm_real *c, const mlm_real *s, int64_t i0, int64_t i1,
                   int64_t hd, mlm_rope_layout layout) {
    int64_t i = i0;
    mlm_real t[16];
    if (layout == MLM_ROPE_HALF) {
        const int64_t half = hd / 2;
        for (; i + 8 <= i1; i += 8) {
            const mlm_real *ci = c + (i - i0), *si = s + (i - i0);
            for (int l = 0; l < 8; l++) {
                t[l] = in[i + l] * ci[l] - in[i + half + l] * si[l];
                t[8 + l] = in[i + l] * si[l] + in[i + half + l] * ci[l];
            }
            for (int l = 0; l < 8; l++) { out[i + l] = t[l]; out[i + half + l] = t[8 + l]; }
        }
        for (; i < i1; i++) {
            mlm_real x0 = in[i], x1 = in[i + half], ci = c[i - i0], si = s[i - i0];
            out[i] = x0 * ci - x1 * si;
            out[i + half] = x0 * si + x1 * ci;
        }
    } else {
        for (; i + 8 <= i1; i += 8) {
            const mlm_real *ci = c + (i - i0), *si = s + (i - i0), *x = in + 2 * i;
            for (int l = 0; l < 8; l++) {
                t[2 * l] = x[2 * l] * ci[l] - x[2 * l + 1] * si[l];
                t[2 * l + 1] = x[2 * l] * si[l] + x[2 * l + 1] * ci[l];
            }
            for (int l = 0; l < 16; l++) out[2 * i + l] = t[l];
        }
        for (; i < i1; i++) {
            mlm_real x0 = in[2 * i], x1 = in[2 * i + 1], ci = c[i - i0], si = s[i - i0];
            out[2 * i] = x0 * ci - x1 * si;
            out[2 * i + 1] = x0 * si + x1 * ci;
        }
    }
}

/* cos and sin of pairs [i0, i1) at position p, rounded from double as the reference does. */
static inline void rope_angles(mlm_real *c, mlm_real *s, double p, int64_t i0, int64_t i1, int64_t hd, double theta) {
    for (int64_t i = i0; i < i1; i++) {
        double ang = p * pow(theta, -2.0 * (double)i / (double)hd);
        c[i - i0] = (mlm_real)cos(ang);
        s[i - i0] = (mlm_real)sin(ang);
    }
}

/* Each frequency theta^(-2i/hd) once per call (pow is the costly part besides sincos); a
 * position equal to the previous one copies its row. */
void mlm_rope_table(mlm_real *cs, const int *pos, int64_t T, int64_t hd, double theta) {
    enum { CHUNK = 64 };
    const int64_t half = hd / 2;
    double inv[CHUNK];
    for (int64_t i0 = 0; i0 < half; i0 += CHUNK) {
        int64_t i1 = i0 + CHUNK < half ? i0 + CHUNK : half;
        for (int64_t i = i0; i < i1; i++) inv[i - i0] = pow(theta, -2.0 * (double)i / (double)hd);
        for (int64_t t = 0; t < T; t++) {
            mlm_real *c = cs + t * hd, *s = c + half;
            if (t > 0 && pos && pos[t] == pos[t - 1]) {
                for (int64_t i = i0; i < i1; i++) { c[i] = c[i - hd]; s[i] = s[i - hd]; }
                continue;
            }
            double p = pos ? (double)pos[t] : (double)t;
            for (int64_t i = i0; i < i1; i++) {
                double ang = p * inv[i - i0];
                c[i] = (mlm_real)cos(ang);
                s[i] = (mlm_real)sin(ang);
            }
        }
    }
}

LOOP void rope_apply_loop(mlm_real *out, const mlm_real *in, const mlm_real *cs, int64_t B, int64_t T, int64_t H,
                          int64_t hd, mlm_rope_layout layout) {
    const int64_t half = hd / 2;
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++) {
            const mlm_real *c = cs + t * hd;
            for (int64_t h = 0; h < H; h++) {
                int64_t base = ((b * T + t) * H + h) * hd;
                rope_row(out + base, in + base, c, c + half, 0, half, hd, layout);
            }
        }
}

static void rope_apply_base(mlm_real *out, const mlm_real *in, const mlm_real *cs, int64_t B, int64_t T, int64_t H,
                            int64_t hd, mlm_rope_layout layout) {
    rope_apply_loop(out, in, cs, B, T, H, hd, layout);
}

#ifdef KERN_AVX512
TGT static void rope_apply_avx512(mlm_real *out, const mlm_real *in, const mlm_real *cs, int64_t B, int64_t T,
                                  int64_t H, int64_t hd, mlm_rope_layout layout) {
    rope_apply_loop(out, in, cs, B, T, H, hd, layout);
}
#endif

uint64_t mlm_rope_apply(mlm_real *out, const mlm_real *in, const mlm_real *cs, int64_t B, int64_t T, int64_t H,
                        int64_t hd, mlm_rope_layout layout) {
#ifdef KERN_AVX512
    if (USE_AVX512) rope_apply_avx512(out, in, cs, B, T, H, hd, layout);
    else
#endif
        rope_apply_base(out, in, cs, B, T, H, hd, layout);
    return 3 * (uint64_t)(B * T * H * hd);
}

/* Without a table: the angles of each position are computed once for the whole batch and
 * every head, in chunks of pairs on the stack. */
uint64_t mlm_rope_forward(mlm_real *out, const mlm_real *in, const int *pos, int64_t B, int64_t T, int64_t H,
                          int64_t hd, double theta, mlm_rope_layout layout) {
    enum { CHUNK = 64 };
    const int64_t half = hd / 2;
    mlm_real c[CHUNK], s[CHUNK];
    for (int64_t t = 0; t < T; t++) {
        double p = pos ? (double)pos[t] : (double)t;
        for (int64_t i0 = 0; i0 < half; i0 += CHUNK) {
            int64_t i1 = i0 + CHUNK < half ? i0 + CHUNK : half;
            rope_angles(c, s, p, i0, i1, hd, theta);
            for (int64_t b = 0; b < B; b++)
                for (int64_t h = 0; h < H; h++) {
                    int64_t base = ((b * T + t) * H + h) * hd;
                    rope_row(out + base, in + base, c, s, i0, i1, hd, layout);
                }
        }
    }
    return 3 * (uint64_t)(B * T * H * hd);
}

uint64_t mlm_rope_forward_ref(mlm_real *out, const mlm_real *in, const int *pos, int64_t B, int64_t T, int64_t H,
                              int64_t hd, double theta, mlm_rope_layout layout) {
    /* The textbook form: each pair (x_a, x_b) multiplied by the rotation matrix of angle
     * pos * theta^(-2i/hd). */
    for (int64_t b = 0; b < B; b++)
        for (int64_t t = 0; t < T; t++)
            for (int64_t h = 0; h < H; h++)
                for (int64_t i = 0; i < hd / 2; i++) {
                    double ang = (pos ? pos[t] : (double)t) * pow(theta, -2.0 * (double)i / (double)hd);
                    int64_t ia, ib, base = ((b * T + t) * H + h) * hd;
                    rope_pair_index(i, hd, layout, &ia, &ib);
                    double x0 = in[base + ia], x1 = in[base + ib];
                    out[base + ia] = (mlm_real)(cos(ang) * x0 - sin(ang) * x1);
                    out[base + ib] = (mlm_real)(sin(ang) * x0 + cos(ang) * x1);
                }
    return 3 * (uint64_t)(B * T * H * hd);
}

/* ---- attention (the fast kernels: attention.c) ----------------------------------------------- */

uint64_t mlm_attention_forward_ref(mlm_real *out, mlm_real *probs, const mlm_real *q, const mlm_real *k,
                                   const mlm_real *v, int64_t B, int64_t T, int64_t H, int64_t Hkv, int64_t hd,
                                   const mlm_attn_opts *o) {
    uint64_t flops = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < T; i++) {
                int64_t hk = h / (H / Hkv), lo, hi;
                mlm_attn_range(o, i, T, &lo, &hi);
                double mx = -INFINITY, sum = 0;
                mlm_real *p = probs + ((b * H + h) * T + i) * T;
                for (int64_t j = 0; j < T; j++) {
                    if (j < lo || j >= hi) { p[j] = 0; continue; }
                    double d = 0;
                    for (int64_t c = 0; c < hd; c++)
                        d += (double)q[((b * T + i) * H + h) * hd + c] * k[((b * T + j) * Hkv + hk) * hd + c];
                    d /= sqrt((double)hd);
                    p[j] = (mlm_real)d;
                    if (d > mx) mx = d;
                }
                for (int64_t j = lo; j < hi; j++) sum += exp((double)p[j] - mx);
                for (int64_t j = lo; j < hi; j++) p[j] = (mlm_real)(exp((double)p[j] - mx) / sum);
                for (int64_t c = 0; c < hd; c++) {
                    double acc = 0;
                    for (int64_t j = lo; j < hi; j++) acc += (double)p[j] * v[((b * T + j) * Hkv + hk) * hd + c];
                    out[((b * T + i) * H + h) * hd + c] = (mlm_real)acc;
                }
                flops += (uint64_t)(hi - lo) * (4 * (uint64_t)hd + 5);
            }
    return flops;
}

/* ---- element-wise ------------------------------------------------------------------------ */

/* The vectorised exp (vexp.h); serial below a million elements, where a parallel region's
 * fork and barrier cost more than the loop. */
uint64_t mlm_silu_forward(mlm_real *act, const mlm_real *gate, int64_t n) {
    const int64_t chunk = 65536;
#pragma omp parallel for schedule(static) if (n > 1048576)
    for (int64_t c = 0; c < n; c += chunk) mlm_silu_row(act + c, gate + c, n - c < chunk ? n - c : chunk);
    return 4 * (uint64_t)n;
}

uint64_t mlm_relu_forward(mlm_real *act, const mlm_real *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) act[i] = x[i] > 0 ? x[i] : 0;
    return (uint64_t)n;
}

/* Blocks of 16 through a local array: fixed-length loops the compiler vectorises at -O2
 * without alias checks (out may alias a or b). */
LOOP void mul_loop(mlm_real *out, const mlm_real *a, const mlm_real *b, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        mlm_real t[16];
        for (int l = 0; l < 16; l++) t[l] = a[i + l] * b[i + l];
        for (int l = 0; l < 16; l++) out[i + l] = t[l];
    }
    for (; i < n; i++) out[i] = a[i] * b[i];
}

LOOP void add_loop(mlm_real *out, const mlm_real *a, const mlm_real *b, int64_t n) {
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
        mlm_real t[16];
        for (int l = 0; l < 16; l++) t[l] = a[i + l] + b[i + l];
        for (int l = 0; l < 16; l++) out[i + l] = t[l];
    }
    for (; i < n; i++) out[i] = a[i] + b[i];
}

static void mul_base(mlm_real *out, const mlm_real *a, const mlm_real *b, int64_t n) { mul_loop(out, a, b, n); }
static void add_base(mlm_real *out, const mlm_real *a, const mlm_real *b, int64_t n) { add_loop(out, a, b, n); }
#ifdef KERN_AVX512
TGT static void mul_avx512(mlm_real *out, const mlm_real *a, const mlm_real *b, int64_t n) { mul_loop(out, a, b, n); }
TGT static void add_avx512(mlm_real *out, const mlm_real *a, const mlm_real *b, int64_t n) { add_loop(out, a, b, n); }
#endif

uint64_t mlm_mul_forward(mlm_real *out, const mlm_real *a, const mlm_real *b, int64_t n) {
#ifdef KERN_AVX512
    if (USE_AVX512) mul_avx512(out, a, b, n);
    else
#endif
        mul_base(out, a, b, n);
    return (uint64_t)n;
}

uint64_t mlm_residual_forward(mlm_real *out, const mlm_real *a, const mlm_real *b, int64_t n) {
#ifdef KERN_AVX512
    if (USE_AVX512) add_avx512(out, a, b, n);
    else
#endif
        add_base(out, a, b, n);
    return (uint64_t)n;
}

/* Rows in parallel, each with the vectorised exp (vexp.h): a row's bits do not depend on the
 * thread that computes it. Dynamic chunks of 4 rows: on a shared machine a thread that loses
 * its core does not hold back a fixed share of the rows. */
uint64_t mlm_softmax_forward(mlm_real *probs, const mlm_real *logits, int64_t N, int64_t V) {
#pragma omp parallel for schedule(dynamic, 4) if (N * V > 262144)
    for (int64_t i = 0; i < N; i++) mlm_softmax_row(probs + i * V, logits + i * V, V);
    return 4 * (uint64_t)N * (uint64_t)V;
}

void mlm_embed_forward(mlm_real *out, const mlm_real *emb, const int *tokens, int64_t N, int64_t d) {
    for (int64_t i = 0; i < N; i++) memcpy(out + i * d, emb + (int64_t)tokens[i] * d, (size_t)d * sizeof(mlm_real));
}

void mlm_repeat_kv(mlm_real *kexp, const mlm_real *k, int64_t N, int64_t H, int64_t Hkv, int64_t hd) {
    int64_t group = H / Hkv;
    for (int64_t i = 0; i < N; i++)
        for (int64_t h = 0; h < H; h++)
            memcpy(kexp + (i * H + h) * hd, k + (i * Hkv + h / group) * hd, (size_t)hd * sizeof(mlm_real));
}
