/* attention_bwd_avx512.c - the AVX-512 path of the attention backward (attention_bwd.h; float
 * build, x86-64, GCC; compiled per function with __attribute__((target)) so the library keeps
 * the baseline ISA). The order of every sum is in attention_bwd.c's header comment. */
#include "attention_bwd.h"

#ifdef MLM_ATTN_BWD_AVX512
#include "attn_mask.h"
#include "avx512_reduce.h"

#include <immintrin.h>
#include <string.h>

#define TILE 16       /* query rows of a tile, keys of a key block */
#define INLINE_TGT static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,fma")))
#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

static inline int64_t min64(int64_t x, int64_t y) { return x < y ? x : y; }
static inline int64_t max64(int64_t x, int64_t y) { return x > y ? x : y; }

/* lanes [x, y) of 16 set (x, y clamped to [0, 16]) */
INLINE_TGT __mmask16 lane_mask(int64_t x, int64_t y) {
    x = max64(0, min64(16, x));
    y = max64(0, min64(16, y));
    if (y <= x) return 0;
    return (__mmask16)((((uint32_t)1 << y) - 1u) & ~(((uint32_t)1 << x) - 1u));
}


/* The rows that attend to key j: [lo, hi) (the inverse of attn_range). */
static inline void key_rows(const mlm_attn_opts *o, int64_t j, int64_t T, int64_t *lo, int64_t *hi) {
    *lo = o->causal ? j : 0;
    *hi = o->causal && o->window > 0 ? min64(T, j + o->window) : T;
}

/* The product every gradient here is made of. For rows r < R and the W vectors of outputs at
 * d0: out[r][d] += sum over t in [ua, ub), increasing, of c[r][t * cs] * x[t * xs + d], one FMA
 * chain per output element. The R x W accumulators stay in registers, so each x row is loaded
 * once for the R rows. Row r takes only the t in its range [lo[r], hi[r]): [ta, tb) is the
 * part all R rows cover; before and after it (the diagonal of a causal tile, a window's edges)
 * the other rows' terms are masked FMAs that leave the accumulator as it was, so every row
 * sums exactly its own terms. R (<= 8) and W (<= 3) are constants after inlining. */
INLINE_TGT void axpy_chunk(float *const *out, const float *const *c, const int R, int64_t cs, const float *x,
                           int64_t xs, const int64_t *lo, const int64_t *hi, int64_t ua, int64_t ta, int64_t tb,
                           int64_t ub, int64_t d0, const int W) {
    __m512 acc[8][3];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int w = 0; w < W; w++) acc[r][w] = _mm512_loadu_ps(out[r] + d0 + 16 * w);
    for (int part = 0; part < 3; part++) {
        const int64_t t0 = part == 0 ? ua : part == 1 ? ta : tb, t1 = part == 0 ? ta : part == 1 ? tb : ub;
        const float *xt = x + t0 * xs + d0;
        int64_t off = t0 * cs;
        if (part == 1) {
            for (int64_t t = t0; t < t1; t++, xt += xs, off += cs) {
                __m512 xv[3];
#pragma GCC unroll 3
                for (int w = 0; w < W; w++) xv[w] = _mm512_loadu_ps(xt + 16 * w);
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                    __m512 cb = _mm512_set1_ps(c[r][off]);
#pragma GCC unroll 3
                    for (int w = 0; w < W; w++) acc[r][w] = _mm512_fmadd_ps(cb, xv[w], acc[r][w]);
                }
            }
        } else {
            for (int64_t t = t0; t < t1; t++, xt += xs, off += cs) {
                __m512 xv[3];
#pragma GCC unroll 3
                for (int w = 0; w < W; w++) xv[w] = _mm512_loadu_ps(xt + 16 * w);
#pragma GCC unroll 8
                for (int r = 0; r < R; r++) {
                    __m512 cb = _mm512_set1_ps(c[r][off]);
                    __mmask16 m = t >= lo[r] && t < hi[r] ? 0xFFFF : 0;
#pragma GCC unroll 3
                    for (int w = 0; w < W; w++) acc[r][w] = _mm512_mask3_fmadd_ps(cb, xv[w], acc[r][w], m);
                }
            }
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int w = 0; w < W; w++) _mm512_storeu_ps(out[r] + d0 + 16 * w, acc[r][w]);
}

/* axpy_chunk over the whole head (hd % 16 == 0): 48 outputs at a time, then 32 or 16. */
INLINE_TGT void axpy_rows(float *const *out, const float *const *c, const int R, int64_t cs, const float *x, int64_t xs,
                          const int64_t *lo, const int64_t *hi, int64_t ua, int64_t ta, int64_t tb, int64_t ub,
                          int64_t hd) {
    if (ua >= ub) return;
    int64_t d0 = 0;
    for (; d0 + 48 <= hd; d0 += 48) axpy_chunk(out, c, R, cs, x, xs, lo, hi, ua, ta, tb, ub, d0, 3);
    if (hd - d0 == 32) axpy_chunk(out, c, R, cs, x, xs, lo, hi, ua, ta, tb, ub, d0, 2);
    else if (hd - d0 == 16) axpy_chunk(out, c, R, cs, x, xs, lo, hi, ua, ta, tb, ub, d0, 1);
}

TGT static void axpy_one(float *out, const float *c, int64_t cs, const float *x, int64_t xs, int64_t lo, int64_t hi,
                         int64_t hd) {
    axpy_rows(&out, &c, 1, cs, x, xs, &lo, &hi, lo, lo, hi, hi, hd);
}

TGT static void axpy_eight(float *const *out, const float *const *c, int64_t cs, const float *x, int64_t xs,
                           const int64_t *lo, const int64_t *hi, int64_t ua, int64_t ta, int64_t tb, int64_t ub,
                           int64_t hd) {
    axpy_rows(out, c, 8, cs, x, xs, lo, hi, ua, ta, tb, ub, hd);
}

/* n rows, row r over its own range [lo[r], hi[r]): groups of 8 rows in registers, the rows
 * past the last group of 8 one at a time. Every row sums its terms in increasing t. */
static void axpy_ranges(float *const *out, const float *const *c, const int64_t *lo, const int64_t *hi, int n,
                        int64_t cs, const float *x, int64_t xs, int64_t hd) {
    int g = 0;
    for (; g + 8 <= n; g += 8) {
        int64_t ta = lo[g], tb = hi[g], ua = lo[g], ub = hi[g];
        for (int r = g + 1; r < g + 8; r++) {
            ta = max64(ta, lo[r]); tb = min64(tb, hi[r]);
            ua = min64(ua, lo[r]); ub = max64(ub, hi[r]);
        }
        if (ta >= tb) ta = tb = ub; /* no common part: all masked */
        axpy_eight(out + g, c + g, cs, x, xs, lo + g, hi + g, ua, ta, tb, ub, hd);
    }
    for (; g < n; g++) axpy_one(out[g], c[g], cs, x, xs, lo[g], hi[g], hd);
}

#define KCH 48 /* keys of a transposed V chunk */

/* vt (hd, KCH): keys [j0, j0 + nk) of v transposed 16 x 16 at a time, zeros past nk. */
TGT static void v_chunk_t(float *vt, const float *v, int64_t ks, int64_t j0, int64_t nk, int64_t hd) {
    for (int kb = 0; kb < KCH / 16; kb++)
        for (int64_t d0 = 0; d0 < hd; d0 += 16) {
            __m512 x[16];
#pragma GCC unroll 16
            for (int c = 0; c < 16; c++)
                x[c] = kb * 16 + c < nk ? _mm512_loadu_ps(v + (j0 + kb * 16 + c) * ks + d0) : _mm512_setzero_ps();
            mlm_transpose16(x);
#pragma GCC unroll 16
            for (int d = 0; d < 16; d++) _mm512_store_ps(vt + (d0 + d) * KCH + kb * 16, x[d]);
        }
}

/* dprobs rows r < R, keys [j0, j0 + 16 W): dp_ij = sum over d in order of do_i[d] v_j[d], one
 * FMA chain each (vt: the chunk transposed), stored within each row's range [lo, hi); keys
 * past a row's range inside a diagonal chunk are computed and dropped. */
INLINE_TGT void dp_rows(float *const *dp, const float *const *dor, const int R, const float *vt, int64_t hd, int64_t j0,
                        const int64_t *lo, const int64_t *hi, const int W) {
    __m512 acc[8][3];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int w = 0; w < W; w++) acc[r][w] = _mm512_setzero_ps();
    for (int64_t d = 0; d < hd; d++) {
        __m512 xv[3];
#pragma GCC unroll 3
        for (int w = 0; w < W; w++) xv[w] = _mm512_load_ps(vt + d * KCH + 16 * w);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512 cb = _mm512_set1_ps(dor[r][d]);
#pragma GCC unroll 3
            for (int w = 0; w < W; w++) acc[r][w] = _mm512_fmadd_ps(cb, xv[w], acc[r][w]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int w = 0; w < W; w++)
            _mm512_mask_storeu_ps(dp[r] + j0 + 16 * w, lane_mask(lo[r] - j0 - 16 * w, hi[r] - j0 - 16 * w), acc[r][w]);
}

TGT static void dp_eight(float *const *dp, const float *const *dor, const float *vt, int64_t hd, int64_t j0,
                         const int64_t *lo, const int64_t *hi, int W) {
    if (W == 3) dp_rows(dp, dor, 8, vt, hd, j0, lo, hi, 3);
    else if (W == 2) dp_rows(dp, dor, 8, vt, hd, j0, lo, hi, 2);
    else dp_rows(dp, dor, 8, vt, hd, j0, lo, hi, 1);
}

TGT static void dp_one(float *dp, const float *dor, const float *vt, int64_t hd, int64_t j0, int64_t lo, int64_t hi) {
    dp_rows(&dp, &dor, 1, vt, hd, j0, &lo, &hi, 3);
}

/* dprobs of every query head of the task (inside the attended ranges; the zeros come with
 * dscores): V transposed KCH keys at a time, then for each head the rows that attend to any
 * of those keys, 8 rows x up to 48 keys in registers. */
TGT static void task_dprobs(const mlm_attn_bwd_task *a, int64_t b, int64_t hk) {
    const int64_t T = a->T, H = a->H, hd = a->hd, ks = a->Hkv * hd, qs = H * hd;
    float vt[MLM_ATTN_BWD_MAXHD * KCH] __attribute__((aligned(64)));
    for (int64_t j0 = 0; j0 < T; j0 += KCH) {
        const int64_t nk = min64(KCH, T - j0);
        v_chunk_t(vt, a->v + (b * T * a->Hkv + hk) * hd, ks, j0, nk, hd);
        int64_t ra, rb, unused;
        key_rows(a->o, j0, T, &ra, &unused);
        key_rows(a->o, j0 + nk - 1, T, &unused, &rb);
        for (int64_t h = hk * a->group; h < (hk + 1) * a->group; h++) {
            const float *doh = a->dheads + (b * T * H + h) * hd;
            float *dph = a->dprobs + (b * H + h) * T * T;
            for (int64_t g = ra; g < rb; g += 8) {
                const int R = (int)min64(8, rb - g);
                float *dp[8];
                const float *dor[8];
                int64_t lo[8], hi[8], kmax = j0;
                for (int r = 0; r < R; r++) {
                    dp[r] = dph + (g + r) * T;
                    dor[r] = doh + (g + r) * qs;
                    mlm_attn_range(a->o, g + r, T, &lo[r], &hi[r]);
                    kmax = max64(kmax, min64(hi[r], j0 + nk));
                }
                if (R == 8) dp_eight(dp, dor, vt, hd, j0, lo, hi, (int)((kmax - j0 + 15) / 16));
                else
                    for (int r = 0; r < R; r++) dp_one(dp[r], dor[r], vt, hd, j0, lo[r], hi[r]);
            }
        }
    }
}

/* n floats of 0 from p; whole cache lines with streaming stores (no read for ownership: these
 * zeros are not read again here). The task ends with an sfence. */
TGT static void zero_span(float *p, int64_t n) {
    int64_t j = (int64_t)((64 - ((uintptr_t)p & 63)) & 63) / (int64_t)sizeof(float);
    if (n < 32 || ((uintptr_t)p & 3)) { memset(p, 0, (size_t)n * sizeof(float)); return; }
    memset(p, 0, (size_t)j * sizeof(float));
    for (; j + 16 <= n; j += 16) _mm512_stream_ps(p + j, _mm512_setzero_ps());
    memset(p + j, 0, (size_t)(n - j) * sizeof(float));
}

/* dscores of one row: p (dp - sum p dp) over [lo, hi), the sum in 16 lanes from lo; 0 outside,
 * and (dpz) the row of dprobs zeroed outside [lo, hi) too. */
TGT static void row_dscores(float *ds, float *dpz, const float *p, const float *dp, int64_t lo, int64_t hi, int64_t T) {
    __m512 s = _mm512_setzero_ps();
    int64_t j = lo;
    for (; j + 16 <= hi; j += 16) s = _mm512_fmadd_ps(_mm512_loadu_ps(p + j), _mm512_loadu_ps(dp + j), s);
    const __mmask16 tail = lane_mask(0, hi - j);
    s = _mm512_mask3_fmadd_ps(_mm512_maskz_loadu_ps(tail, p + j), _mm512_maskz_loadu_ps(tail, dp + j), s, tail);
    const __m512 sum = _mm512_set1_ps(_mm512_reduce_add_ps(s));
    for (j = lo; j + 16 <= hi; j += 16)
        _mm512_storeu_ps(ds + j, _mm512_mul_ps(_mm512_loadu_ps(p + j), _mm512_sub_ps(_mm512_loadu_ps(dp + j), sum)));
    _mm512_mask_storeu_ps(ds + j, tail, _mm512_mul_ps(_mm512_maskz_loadu_ps(tail, p + j),
                                                      _mm512_sub_ps(_mm512_maskz_loadu_ps(tail, dp + j), sum)));
    zero_span(ds, lo);
    zero_span(ds + hi, T - hi);
    if (dpz) {
        zero_span(dpz, lo);
        zero_span(dpz + hi, T - hi);
    }
}

/* The key side of one query head, 16 keys at a time: out_j += sum_i c[i][j] x_i over the rows
 * i that attend to key j, increasing (dk: c = dscores, x = q; dv: c = probs, x = dheads). */
TGT static void head_keys(float *out, int64_t ks, const float *c, const float *x, int64_t xs, const mlm_attn_opts *o,
                          int64_t T, int64_t hd) {
    for (int64_t j0 = 0; j0 < T; j0 += TILE) {
        const int n = (int)min64(TILE, T - j0);
        float *o_j[TILE];
        const float *c_j[TILE];
        int64_t lo[TILE], hi[TILE];
        for (int r = 0; r < n; r++) {
            o_j[r] = out + (j0 + r) * ks;
            c_j[r] = c + j0 + r;
            key_rows(o, j0 + r, T, &lo[r], &hi[r]);
        }
        axpy_ranges(o_j, c_j, lo, hi, n, T, x, xs, hd);
    }
}

/* One (b, hk) task: dprobs of its query heads; then per query head, 16 rows at a time, the
 * rows' dscores and dq; then the head's key side (dv, dk); dk scaled once at the end. */
TGT uint64_t mlm_attn_bwd_task_avx512(const mlm_attn_bwd_task *a, int64_t b, int64_t hk) {
    const int64_t T = a->T, H = a->H, Hkv = a->Hkv, hd = a->hd, ks = Hkv * hd, qs = H * hd;
    const float *kb = a->k + (b * T * Hkv + hk) * hd;
    float *dkb = a->dk + (b * T * Hkv + hk) * hd, *dvb = a->dv + (b * T * Hkv + hk) * hd;
    const __m512 sc = _mm512_set1_ps(a->scale);
    uint64_t n_sc = 0;
    if (a->from == MLM_ATTN_FROM_HEADS) task_dprobs(a, b, hk);
    for (int64_t h = hk * a->group; h < (hk + 1) * a->group; h++) {
        const float *qh = a->q + (b * T * H + h) * hd, *doh = a->dheads + (b * T * H + h) * hd;
        const float *ph = a->probs + (b * H + h) * T * T;
        float *dph = a->dprobs + (b * H + h) * T * T, *dsh = a->dscores + (b * H + h) * T * T;
        float *dqh = a->dq + (b * T * H + h) * hd;
        for (int64_t i0 = 0; i0 < T; i0 += TILE) {
            const int n = (int)min64(TILE, T - i0);
            float *dq[TILE];
            const float *ds[TILE];
            int64_t lo[TILE], hi[TILE];
            for (int x = 0; x < n; x++) {
                const int64_t i = i0 + x;
                mlm_attn_range(a->o, i, T, &lo[x], &hi[x]);
                n_sc += (uint64_t)(hi[x] - lo[x]);
                if (a->from != MLM_ATTN_FROM_SCORES)
                    row_dscores(dsh + i * T, a->from == MLM_ATTN_FROM_HEADS ? dph + i * T : NULL, ph + i * T,
                                dph + i * T, lo[x], hi[x], T);
                dq[x] = dqh + i * qs;
                ds[x] = dsh + i * T;
                memset(dq[x], 0, (size_t)hd * sizeof(float));
            }
            /* dq = (sum_j ds_ij k_j) * scale */
            axpy_ranges(dq, ds, lo, hi, n, 1, kb, ks, hd);
            for (int x = 0; x < n; x++)
                for (int64_t d = 0; d < hd; d += 16)
                    _mm512_storeu_ps(dq[x] + d, _mm512_mul_ps(_mm512_loadu_ps(dq[x] + d), sc));
        }
        if (a->from == MLM_ATTN_FROM_HEADS) head_keys(dvb, ks, ph, doh, qs, a->o, T, hd);
        head_keys(dkb, ks, dsh, qh, qs, a->o, T, hd);
    }
    for (int64_t j = 0; j < T; j++)
        for (int64_t d = 0; d < hd; d += 16)
            _mm512_storeu_ps(dkb + j * ks + d, _mm512_mul_ps(_mm512_loadu_ps(dkb + j * ks + d), sc));
    _mm_sfence(); /* the streaming stores of zero_span are seen before the task counts as done */
    return n_sc;
}

#endif
