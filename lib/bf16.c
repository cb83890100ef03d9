/* bf16.c - the bfloat16 weight store and its matrix-vector product (contract: bf16.h). */
#include "bf16.h"
#include "bigalloc.h"

#include "cpu.h"

#include <stdlib.h>
#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

mlm_bf16 mlm_bf16_from_float(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    if ((u & 0x7F800000u) == 0x7F800000u && (u & 0x007FFFFFu)) return (mlm_bf16)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7FFFu + ((u >> 16) & 1u); /* round to nearest, ties to even */
    return (mlm_bf16)(u >> 16);
}

float mlm_bf16_to_float(mlm_bf16 h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

void mlm_bf16_convert(mlm_bf16 *dst, const mlm_real *src, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = mlm_bf16_from_float((float)src[i]);
}

mlm_bf16_weights *mlm_bf16_new(const mlm_model *m, mlm_err *e) {
    const mlm_config *c = &m->cfg;
    const int64_t L = c->n_layers, d = c->d_model, qd = mlm_q_dim(c), kvd = mlm_kv_dim(c), ff = c->d_ff,
                  V = c->vocab_size;
    const int64_t ng = c->ffn == MLM_FFN_SWIGLU ? L * ff * d : 0;
    const int64_t sizes[8] = {L * qd * d, L * kvd * d, L * kvd * d, L * d * qd, ng, L * ff * d, L * d * ff, V * d};
    const mlm_real *src[8] = {m->w.wq, m->w.wk, m->w.wv, m->w.wo, m->w.w_gate, m->w.w_up, m->w.w_down, m->w.lm_head};
    int64_t n = 0;
    for (int i = 0; i < 8; i++) n += sizes[i];
    mlm_bf16_weights *b = calloc(1, sizeof *b);
    /* 64-byte aligned rows start on cache lines when the row length allows */
    size_t bytes = ((size_t)n * sizeof(mlm_bf16) + 63) / 64 * 64;
    if (b) b->mem = mlm_big_calloc(bytes ? bytes : 64, 1);
    if (!b || !b->mem) {
        free(b);
        mlm_fail(e, MLM_ENOMEM, "%s: out of memory for the bfloat16 weights (%lld bytes)", c->name, (long long)bytes);
        return NULL;
    }
    b->n = n;
    mlm_bf16 **dst[8] = {&b->wq, &b->wk, &b->wv, &b->wo, &b->w_gate, &b->w_up, &b->w_down, &b->lm_head};
    int64_t off = 0;
    for (int i = 0; i < 8; i++) {
        *dst[i] = b->mem + off;
        if (sizes[i]) mlm_bf16_convert(*dst[i], src[i], sizes[i]);
        off += sizes[i];
    }
    return b;
}

void mlm_bf16_free(mlm_bf16_weights *b) {
    if (!b) return;
    free(b->mem);
    free(b);
}

int64_t mlm_bf16_bytes(const mlm_bf16_weights *b) { return b ? b->n * (int64_t)sizeof(mlm_bf16) : 0; }

uint64_t mlm_matmul_forward_bf16_ref(mlm_real *out, const mlm_real *in, const mlm_bf16 *w, int64_t N, int64_t C,
                                     int64_t OC) {
    for (int64_t i = 0; i < N; i++)
        for (int64_t o = 0; o < OC; o++) {
            double s = 0;
            for (int64_t c = 0; c < C; c++) s += (double)in[i * C + c] * (double)mlm_bf16_to_float(w[o * C + c]);
            out[i * OC + o] = (mlm_real)s;
        }
    return 2 * (uint64_t)N * (uint64_t)C * (uint64_t)OC;
}

/* ---- portable: 8 float lanes per dot product, weights widened by a shift -------------------- */

static void rows_portable(mlm_real *out, const mlm_real *x, const mlm_bf16 *w, int64_t o0, int64_t o1, int64_t C) {
    for (int64_t o = o0; o < o1; o++) {
        const mlm_bf16 *wr = w + o * C;
        float acc[8] = {0};
        int64_t c = 0;
        for (; c + 8 <= C; c += 8)
            for (int l = 0; l < 8; l++) {
                uint32_t u = (uint32_t)wr[c + l] << 16;
                float wf;
                memcpy(&wf, &u, sizeof wf);
                acc[l] += (float)x[c + l] * wf;
            }
        float s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
        for (; c < C; c++) s += (float)x[c] * mlm_bf16_to_float(wr[c]);
        out[o] = (mlm_real)s;
    }
}

/* ---- AVX-512 BF16: vdpbf16ps, 16 weight rows at a time ------------------------------------- */

#if !defined(MLM_DOUBLE) && defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
#define BF16_HAVE_AVX512 1
#include <immintrin.h>

#include "avx512_reduce.h"
#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))
#define INLINE_TGT static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,avx512bf16,fma")))


/* out[o] for S <= 16 rows starting at w; xb the activation row in bf16, C elements. The loads
 * go row after row, in memory order (one forward stream for the prefetcher, as gemm.c's
 * one-row tile); each row is one chain of vdpbf16ps over c. */
INLINE_TGT void bf16_tile(float *out, const mlm_bf16 *xb, const mlm_bf16 *w, int64_t C, int S) {
    __m512 acc[16];
    for (int s = 0; s < 16; s++) acc[s] = _mm512_setzero_ps();
    const int64_t cm = C & ~(int64_t)31;
    const __mmask32 m = (__mmask32)((1ull << (C - cm)) - 1);
#pragma GCC unroll 16
    for (int s = 0; s < S; s++) {
        const mlm_bf16 *ws = w + s * C;
        __m512 a = _mm512_setzero_ps();
        for (int64_t c = 0; c < cm; c += 32)
            a = _mm512_dpbf16_ps(a, (__m512bh)_mm512_loadu_si512((const void *)(xb + c)),
                                 (__m512bh)_mm512_loadu_si512((const void *)(ws + c)));
        if (cm < C)
            a = _mm512_dpbf16_ps(a, (__m512bh)_mm512_maskz_loadu_epi16(m, xb + cm),
                                 (__m512bh)_mm512_maskz_loadu_epi16(m, ws + cm));
        acc[s] = a;
    }
    float r[16];
    _mm512_storeu_ps(r, mlm_reduce16(acc));
    for (int s = 0; s < S; s++) out[s] = r[s];
}

TGT static void rows_avx512bf16(float *out, const mlm_bf16 *xb, const mlm_bf16 *w, int64_t o0, int64_t o1, int64_t C) {
    int64_t o = o0;
    for (; o + 16 <= o1; o += 16) bf16_tile(out + o, xb, w + o * C, C, 16);
    for (; o < o1; o++) bf16_tile(out + o, xb, w + o * C, C, 1);
}
#endif

#define BF16_XMAX 65536

uint64_t mlm_matmul_forward_bf16(mlm_real *out, const mlm_real *in, const mlm_bf16 *w, int64_t N, int64_t C,
                                 int64_t OC) {
    int big = (double)C * (double)OC > 32768.0;
    (void)big; /* read only with OpenMP */
    int nth = 1;
#ifdef _OPENMP
    if (big) nth = omp_get_max_threads();
#endif
    /* rows of w in tasks of a multiple of 16, about 2 per thread */
    int64_t per = (OC + 2 * nth - 1) / (2 * nth);
    per = (per + 15) / 16 * 16;
    if (per < 16) per = 16;
    int64_t tasks = (OC + per - 1) / per;
    for (int64_t i = 0; i < N; i++) {
        const mlm_real *x = in + i * C;
        mlm_real *y = out + i * OC;
#ifdef BF16_HAVE_AVX512
        if (mlm_cpu_has_avx512_bf16() && C <= BF16_XMAX) {
            _Alignas(64) mlm_bf16 xb[BF16_XMAX];
            mlm_bf16_convert(xb, x, C);
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
            for (int64_t t = 0; t < tasks; t++)
                rows_avx512bf16(y, xb, w, t * per, t * per + per < OC ? t * per + per : OC, C);
            continue;
        }
#endif
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
        for (int64_t t = 0; t < tasks; t++) rows_portable(y, x, w, t * per, t * per + per < OC ? t * per + per : OC, C);
    }
    return 2 * (uint64_t)N * (uint64_t)C * (uint64_t)OC;
}

int mlm_bf16_row_prepare(mlm_bf16 *xb, const mlm_real *in, int64_t C) {
#ifdef BF16_HAVE_AVX512
    if (mlm_cpu_has_avx512_bf16() && C <= BF16_XMAX) {
        mlm_bf16_convert(xb, in, C);
        return 1;
    }
#endif
    (void)xb; (void)in; (void)C;
    return 0;
}

void mlm_bf16_rows(mlm_real *out, const mlm_real *in, const mlm_bf16 *xb, int fast, const mlm_bf16 *w, int64_t o0,
                   int64_t o1, int64_t C) {
    if (o0 >= o1) return;
#ifdef BF16_HAVE_AVX512
    if (fast) { rows_avx512bf16(out, xb, w, o0, o1, C); return; }
#endif
    (void)xb; (void)fast;
    rows_portable(out, in, w, o0, o1, C);
}

/* Several products of one activation row in one parallel region (decoding's q, k, v and gate,
 * up): the rows of all the w[g] are cut between the threads as one list, the row converted to
 * bfloat16 once. Every output takes the kernel it takes in mlm_matmul_forward_bf16. */
void mlm_matmul_forward_bf16_group(int n, mlm_real *const out[], const mlm_bf16 *const w[], const int64_t OC[],
                                   const mlm_real *in, int64_t N, int64_t C, uint64_t *flops) {
    int64_t total = 0;
    for (int g = 0; g < n; g++) total += OC[g] > 0 ? OC[g] : 0;
    if (N != 1 || total == 0) {
        for (int g = 0; g < n; g++) {
            uint64_t f = mlm_matmul_forward_bf16(out[g], in, w[g], N, C, OC[g]);
            if (flops) flops[g] = f;
        }
        return;
    }
    for (int g = 0; g < n; g++)
        if (flops) flops[g] = 2 * (uint64_t)C * (uint64_t)(OC[g] > 0 ? OC[g] : 0);
    int nth = 1;
#ifdef _OPENMP
    if ((double)C * (double)total > 32768.0) nth = omp_get_max_threads();
#endif
    int64_t per = (total + nth - 1) / nth;
    per = (per + 15) / 16 * 16;
    const mlm_real *x = in;
    int fast = 0;
#ifdef BF16_HAVE_AVX512
    _Alignas(64) mlm_bf16 xb[BF16_XMAX];
    if (mlm_cpu_has_avx512_bf16() && C <= BF16_XMAX) {
        mlm_bf16_convert(xb, in, C);
        fast = 1;
    }
#endif
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int t = 0; t < nth; t++) {
        int64_t lo = (int64_t)t * per, hi = lo + per < total ? lo + per : total, base = 0;
        for (int g = 0; g < n && lo < hi; g++) { /* this thread's share of w[g], if any */
            int64_t og = OC[g] > 0 ? OC[g] : 0;
            int64_t a = lo > base ? lo : base, b = hi < base + og ? hi : base + og;
            if (a < b) {
#ifdef BF16_HAVE_AVX512
                if (fast) rows_avx512bf16(out[g], xb, w[g], a - base, b - base, C);
                else
#endif
                    rows_portable(out[g], x, w[g], a - base, b - base, C);
            }
            base += og;
        }
    }
    (void)fast;
}
