/* attention_bwd.c - the fast attention backward of kernels_bwd.h (mlm_attention_backward):
 * a portable path whose inner loops the compiler vectorises (dot products in the fixed lanes of
 * dot_lanes.h, element-wise updates along the head dimension) and, in the float build on an
 * AVX-512 CPU, a path with the head vector in registers and 16 scores per reduction. Its slow
 * twin, mlm_attention_backward_ref, stays in kernels_bwd.c.
 *
 * Both paths run one task per (sequence b, KV head hk); inside a task, for each query head h
 * reading hk and each query row i, in that order:
 *   dp_ij = do_i . v_j;  dv_j += p_ij do_i                  (from HEADS)
 *   ds_ij = p_ij (dp_ij - sum_j' p_ij' dp_ij')              (unless from SCORES)
 *   dq_i = sum_j (ds_ij / sqrt(dk)) k_j;  dk_j += (ds_ij / sqrt(dk)) q_i
 * so every element of dk and dv sums its terms in one order (query heads, then rows, in
 * increasing order) fixed by the task alone, and the result is the same bits for any thread
 * count. The two paths round differently (fused multiply-adds, 16 lanes instead of 8). */
#include "kernels_bwd.h"
#include "dot_lanes.h"

#include "cpu.h"

#include <math.h>
#include <string.h>

static inline void attn_range(const mlm_attn_opts *o, int64_t i, int64_t T, int64_t *lo, int64_t *hi) {
    *lo = 0;
    *hi = o->causal ? i + 1 : T;
    if (o->causal && o->window > 0 && i + 1 > o->window) *lo = i + 1 - o->window;
}

/* What one task needs: the tensors, sizes and where the pass starts. */
typedef struct {
    mlm_real *dq, *dk, *dv, *dprobs, *dscores;
    const mlm_real *dheads, *q, *k, *v, *probs;
    int64_t B, T, H, Hkv, hd, group;
    const mlm_attn_opts *o;
    mlm_attn_from from;
    mlm_real scale;
} abw_t;

/* ---- portable ----------------------------------------------------------------------------- */

static uint64_t task_portable(const abw_t *a, int64_t b, int64_t hk) {
    const int64_t T = a->T, H = a->H, Hkv = a->Hkv, hd = a->hd;
    uint64_t n_sc = 0;
    for (int64_t h = hk * a->group; h < (hk + 1) * a->group; h++)
        for (int64_t i = 0; i < T; i++) {
            const mlm_real *qi = a->q + ((b * T + i) * H + h) * hd, *doi = a->dheads + ((b * T + i) * H + h) * hd;
            const mlm_real *p = a->probs + ((b * H + h) * T + i) * T;
            mlm_real *dp = a->dprobs + ((b * H + h) * T + i) * T, *ds = a->dscores + ((b * H + h) * T + i) * T;
            mlm_real *dqi = a->dq + ((b * T + i) * H + h) * hd;
            int64_t lo, hi;
            attn_range(a->o, i, T, &lo, &hi);
            n_sc += (uint64_t)(hi - lo);
            if (a->from == MLM_ATTN_FROM_HEADS) {
                for (int64_t j = 0; j < lo; j++) dp[j] = 0;
                for (int64_t j = hi; j < T; j++) dp[j] = 0;
                for (int64_t j = lo; j < hi; j++) {
                    const mlm_real *vj = a->v + ((b * T + j) * Hkv + hk) * hd;
                    mlm_real *dvj = a->dv + ((b * T + j) * Hkv + hk) * hd;
                    mlm_real pj = p[j];
                    dp[j] = mlm_dot_lanes(doi, vj, hd);
                    for (int64_t d = 0; d < hd; d++) dvj[d] += pj * doi[d];
                }
            }
            if (a->from != MLM_ATTN_FROM_SCORES) {
                mlm_real acc[MLM_DOT_LANES] = {0};
                int64_t j = lo;
                for (; j + MLM_DOT_LANES <= hi; j += MLM_DOT_LANES)
                    for (int l = 0; l < MLM_DOT_LANES; l++) acc[l] += p[j + l] * dp[j + l];
                mlm_real sum = mlm_lanes_sum(acc);
                for (; j < hi; j++) sum += p[j] * dp[j];
                for (j = 0; j < lo; j++) ds[j] = 0;
                for (j = lo; j < hi; j++) ds[j] = p[j] * (dp[j] - sum);
                for (j = hi; j < T; j++) ds[j] = 0;
            }
            for (int64_t d = 0; d < hd; d++) dqi[d] = 0;
            for (int64_t j = lo; j < hi; j++) {
                const mlm_real *kj = a->k + ((b * T + j) * Hkv + hk) * hd;
                mlm_real *dkj = a->dk + ((b * T + j) * Hkv + hk) * hd;
                mlm_real g = ds[j] * a->scale;
                for (int64_t d = 0; d < hd; d++) {
                    dqi[d] += g * kj[d];
                    dkj[d] += g * qi[d];
                }
            }
        }
    return n_sc;
}

/* ---- AVX-512 (float build, x86-64) ---------------------------------------------------------- */

#if !defined(MLM_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define ABW_AVX512 1
#include "avx512_reduce.h"

#define ABW_MAXV 8 /* head dimensions up to 128 (8 vectors of 16) */
#define INLINE_TGT static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,fma")))
#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

/* lanes [j0, j0 + 16) of a row that lie in [lo, hi) */
INLINE_TGT __mmask16 range_mask(int64_t j0, int64_t lo, int64_t hi) {
    uint32_t m = 0xFFFFu;
    if (lo > j0) m &= 0xFFFFu << (lo - j0 < 16 ? lo - j0 : 16);
    if (hi < j0 + 16) m &= hi > j0 ? 0xFFFFu >> (16 - (hi - j0)) : 0;
    return (__mmask16)m;
}

/* One (b, hk) task with hd = 16 * nv; nv is a constant where the caller inlines it. */
INLINE_TGT uint64_t task_avx512_nv(const abw_t *a, int64_t b, int64_t hk, const int nv) {
    const int64_t T = a->T, H = a->H, Hkv = a->Hkv, hd = a->hd, sk = Hkv * hd;
    const float *kbase = a->k + (b * T * Hkv + hk) * hd, *vbase = a->v + (b * T * Hkv + hk) * hd;
    float *dkbase = a->dk + (b * T * Hkv + hk) * hd, *dvbase = a->dv + (b * T * Hkv + hk) * hd;
    uint64_t n_sc = 0;
    for (int64_t h = hk * a->group; h < (hk + 1) * a->group; h++)
        for (int64_t i = 0; i < T; i++) {
            const float *qi = a->q + ((b * T + i) * H + h) * hd, *doi = a->dheads + ((b * T + i) * H + h) * hd;
            const float *p = a->probs + ((b * H + h) * T + i) * T;
            float *dp = a->dprobs + ((b * H + h) * T + i) * T, *ds = a->dscores + ((b * H + h) * T + i) * T;
            float *dqi = a->dq + ((b * T + i) * H + h) * hd;
            int64_t lo, hi;
            attn_range(a->o, i, T, &lo, &hi);
            n_sc += (uint64_t)(hi - lo);
            __m512 dov[ABW_MAXV], qv[ABW_MAXV], acc[ABW_MAXV];
#pragma GCC unroll 8
            for (int u = 0; u < nv; u++) {
                dov[u] = _mm512_loadu_ps(doi + 16 * u);
                qv[u] = _mm512_loadu_ps(qi + 16 * u);
                acc[u] = _mm512_setzero_ps();
            }
            for (int u = nv; u < ABW_MAXV; u++) dov[u] = qv[u] = acc[u] = _mm512_setzero_ps(); /* dead when nv is constant */
            if (a->from == MLM_ATTN_FROM_HEADS) {
                /* dp: 16 scores per reduction; dv += p_ij do_i */
                for (int64_t j0 = 0; j0 < T; j0 += 16) {
                    __mmask16 in = range_mask(j0, lo, hi), all = T - j0 >= 16 ? 0xFFFF : (__mmask16)(0xFFFFu >> (16 - (T - j0)));
                    if (!in) { _mm512_mask_storeu_ps(dp + j0, all, _mm512_setzero_ps()); continue; }
                    __m512 part[16];
                    for (int c = 0; c < 16; c++) {
                        if (!(in >> c & 1)) { part[c] = _mm512_setzero_ps(); continue; }
                        const float *vj = vbase + (j0 + c) * sk;
                        __m512 s = _mm512_mul_ps(dov[0], _mm512_loadu_ps(vj));
#pragma GCC unroll 8
                        for (int u = 1; u < nv; u++) s = _mm512_fmadd_ps(dov[u], _mm512_loadu_ps(vj + 16 * u), s);
                        part[c] = s;
                        float *dvj = dvbase + (j0 + c) * sk;
                        __m512 pj = _mm512_set1_ps(p[j0 + c]);
#pragma GCC unroll 8
                        for (int u = 0; u < nv; u++)
                            _mm512_storeu_ps(dvj + 16 * u, _mm512_fmadd_ps(pj, dov[u], _mm512_loadu_ps(dvj + 16 * u)));
                    }
                    _mm512_mask_storeu_ps(dp + j0, all, _mm512_maskz_mov_ps(in, mlm_reduce16(part)));
                }
            }
            if (a->from != MLM_ATTN_FROM_SCORES) {
                __m512 s = _mm512_setzero_ps();
                for (int64_t j0 = lo - lo % 16; j0 < hi; j0 += 16) {
                    __mmask16 in = range_mask(j0, lo, hi);
                    s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(in, p + j0), _mm512_maskz_loadu_ps(in, dp + j0), s);
                }
                __m512 sum = _mm512_set1_ps(_mm512_reduce_add_ps(s));
                for (int64_t j0 = 0; j0 < T; j0 += 16) {
                    __mmask16 in = range_mask(j0, lo, hi), all = T - j0 >= 16 ? 0xFFFF : (__mmask16)(0xFFFFu >> (16 - (T - j0)));
                    __m512 d = _mm512_maskz_mul_ps(in, _mm512_maskz_loadu_ps(in, p + j0),
                                                   _mm512_sub_ps(_mm512_maskz_loadu_ps(in, dp + j0), sum));
                    _mm512_mask_storeu_ps(ds + j0, all, d);
                }
            }
            /* dq_i (registers) and dk_j (memory) from the same g = ds_ij / sqrt(dk) */
            for (int64_t j = lo; j < hi; j++) {
                const float *kj = kbase + j * sk;
                float *dkj = dkbase + j * sk;
                __m512 g = _mm512_set1_ps(ds[j] * a->scale);
#pragma GCC unroll 8
                for (int u = 0; u < nv; u++) {
                    acc[u] = _mm512_fmadd_ps(g, _mm512_loadu_ps(kj + 16 * u), acc[u]);
                    _mm512_storeu_ps(dkj + 16 * u, _mm512_fmadd_ps(g, qv[u], _mm512_loadu_ps(dkj + 16 * u)));
                }
            }
#pragma GCC unroll 8
            for (int u = 0; u < nv; u++) _mm512_storeu_ps(dqi + 16 * u, acc[u]);
        }
    return n_sc;
}

TGT static uint64_t task_avx512(const abw_t *a, int64_t b, int64_t hk) {
    switch (a->hd / 16) { /* the common head sizes get their own unrolled copy */
    case 2: return task_avx512_nv(a, b, hk, 2);
    case 3: return task_avx512_nv(a, b, hk, 3);
    case 4: return task_avx512_nv(a, b, hk, 4);
    case 8: return task_avx512_nv(a, b, hk, 8);
    default: return task_avx512_nv(a, b, hk, (int)(a->hd / 16));
    }
}
#endif

/* ---- entry point ---------------------------------------------------------------------------- */

uint64_t mlm_attention_backward(mlm_real *dq, mlm_real *dk, mlm_real *dv, mlm_real *dprobs, mlm_real *dscores,
                                const mlm_real *dheads, const mlm_real *q, const mlm_real *k, const mlm_real *v,
                                const mlm_real *probs, int64_t B, int64_t T, int64_t H, int64_t Hkv, int64_t hd,
                                const mlm_attn_opts *o, mlm_attn_from from, uint64_t fl[5]) {
    const abw_t a = {dq, dk, dv, dprobs, dscores, dheads, q, k, v, probs, B, T, H, Hkv, hd, H / Hkv, o, from,
                     (mlm_real)(1.0 / sqrt((double)hd))};
    int fast = 0;
#ifdef ABW_AVX512
    fast = mlm_cpu_isa() == MLM_ISA_AVX512 && hd % 16 == 0 && hd <= 16 * ABW_MAXV;
#endif
    uint64_t n_sc = 0; /* computed scores */
#pragma omp parallel for collapse(2) schedule(dynamic, 1) reduction(+ : n_sc) if (B * H * T * T * hd > 65536)
    for (int64_t b = 0; b < B; b++)
        for (int64_t hk = 0; hk < Hkv; hk++) {
            /* this task owns dk, dv of (b, hk) and dq of (b, h) for the heads h reading hk */
            for (int64_t t = 0; t < T; t++) {
                memset(dk + ((b * T + t) * Hkv + hk) * hd, 0, (size_t)hd * sizeof(mlm_real));
                memset(dv + ((b * T + t) * Hkv + hk) * hd, 0, (size_t)hd * sizeof(mlm_real));
            }
#ifdef ABW_AVX512
            if (fast) { n_sc += task_avx512(&a, b, hk); continue; }
#endif
            (void)fast;
            n_sc += task_portable(&a, b, hk);
        }
    uint64_t f[5] = {0, 0, 0, 0, 0};
    if (from == MLM_ATTN_FROM_HEADS) f[0] = f[1] = n_sc * 2 * (uint64_t)hd;
    if (from != MLM_ATTN_FROM_SCORES) f[2] = 4 * n_sc;
    f[3] = n_sc * (1 + 2 * (uint64_t)hd);
    f[4] = n_sc * 2 * (uint64_t)hd;
    if (fl) memcpy(fl, f, sizeof f);
    return f[0] + f[1] + f[2] + f[3] + f[4];
}
