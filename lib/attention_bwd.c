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
#include "attn_avx512.h"

#define ABW_MAXHD 128 /* the transposed tile lives on the stack: hd * 16 floats */
#define TILE 16       /* query rows of a tile, keys of a key block */
#define INLINE_TGT MLM_ATTN_INLINE_TGT
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
 * d0: out[r][d] += sum over t in [ta, tb), increasing, of c[r][t * cs] * x[t * xs + d], one FMA
 * chain per output element. The R x W accumulators stay in registers, so each x row is loaded
 * once for the R rows. R (<= 8) and W (<= 3) are constants after inlining. */
INLINE_TGT void axpy_chunk(float *const *out, const float *const *c, const int R, int64_t cs, const float *x,
                           int64_t xs, int64_t ta, int64_t tb, int64_t d0, const int W) {
    __m512 acc[8][3];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int w = 0; w < W; w++) acc[r][w] = _mm512_loadu_ps(out[r] + d0 + 16 * w);
    const float *xt = x + ta * xs + d0;
    int64_t off = ta * cs;
    for (int64_t t = ta; t < tb; t++, xt += xs, off += cs) {
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
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int w = 0; w < W; w++) _mm512_storeu_ps(out[r] + d0 + 16 * w, acc[r][w]);
}

/* axpy_chunk over the whole head (hd % 16 == 0): 48 outputs at a time, then 32 or 16. */
INLINE_TGT void axpy_rows(float *const *out, const float *const *c, const int R, int64_t cs, const float *x, int64_t xs,
                          int64_t ta, int64_t tb, int64_t hd) {
    if (ta >= tb) return;
    int64_t d0 = 0;
    for (; d0 + 48 <= hd; d0 += 48) axpy_chunk(out, c, R, cs, x, xs, ta, tb, d0, 3);
    if (hd - d0 == 32) axpy_chunk(out, c, R, cs, x, xs, ta, tb, d0, 2);
    else if (hd - d0 == 16) axpy_chunk(out, c, R, cs, x, xs, ta, tb, d0, 1);
}

TGT static void axpy_one(float *out, const float *c, int64_t cs, const float *x, int64_t xs, int64_t ta, int64_t tb,
                         int64_t hd) {
    axpy_rows(&out, &c, 1, cs, x, xs, ta, tb, hd);
}

TGT static void axpy_eight(float *const *out, const float *const *c, int64_t cs, const float *x, int64_t xs, int64_t ta,
                           int64_t tb, int64_t hd) {
    axpy_rows(out, c, 8, cs, x, xs, ta, tb, hd);
}

/* n rows, row r over its own range [lo[r], hi[r]): groups of 8 rows share the range all of them
 * cover; each row adds the terms before and after it on its own, so every row still sums t
 * in increasing order. */
static void axpy_ranges(float *const *out, const float *const *c, const int64_t *lo, const int64_t *hi, int n,
                        int64_t cs, const float *x, int64_t xs, int64_t hd) {
    int g = 0;
    for (; g + 8 <= n; g += 8) {
        int64_t ta = lo[g], tb = hi[g];
        for (int r = g + 1; r < g + 8; r++) { ta = max64(ta, lo[r]); tb = min64(tb, hi[r]); }
        if (ta >= tb) break;
        for (int r = g; r < g + 8; r++) axpy_one(out[r], c[r], cs, x, xs, lo[r], ta, hd);
        axpy_eight(out + g, c + g, cs, x, xs, ta, tb, hd);
        for (int r = g; r < g + 8; r++) axpy_one(out[r], c[r], cs, x, xs, tb, hi[r], hd);
    }
    for (int r = g; r < n; r++) axpy_one(out[r], c[r], cs, x, xs, lo[r], hi[r], hd);
}

/* A tile: up to 16 consecutive query rows of one head (row pointers into the tensors). */
typedef struct {
    int n;
    const float *dout[TILE], *p[TILE];
    float *dp[TILE], *ds[TILE], *dq[TILE];
    int64_t lo[TILE], hi[TILE]; /* attended keys */
} abw_tile;

/* dprobs of the tile: the rows of dout transposed once, then 16 keys at a time the 16 x 16
 * dot products (attn_avx512.h), transposed back and stored within each row's range; 0 outside.
 * Keys past a row's range inside a diagonal block are computed and dropped. */
TGT static void tile_dprobs(const abw_tile *t, const float *v, int64_t ks, int64_t hd, int64_t T) {
    float dt[ABW_MAXHD * TILE] __attribute__((aligned(64))), vbuf[TILE * ABW_MAXHD];
    for (int64_t d0 = 0; d0 < hd; d0 += 16) {
        __m512 x[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) x[i] = i < t->n ? _mm512_loadu_ps(t->dout[i] + d0) : _mm512_setzero_ps();
        mlm_transpose16(x);
#pragma GCC unroll 16
        for (int c = 0; c < 16; c++) _mm512_store_ps(dt + (d0 + c) * TILE, x[c]);
    }
    int64_t jlo = t->lo[0], jhi = t->hi[0];
    for (int i = 1; i < t->n; i++) { jlo = min64(jlo, t->lo[i]); jhi = max64(jhi, t->hi[i]); }
    for (int64_t j0 = jlo; j0 < jhi; j0 += 16) {
        __m512 acc[16];
        if (j0 + 16 <= T) {
            mlm_dot_block16(acc, dt, v + j0 * ks, ks, hd);
        } else { /* the keys up to T copied after each other, zeros after them */
            for (int64_t c = 0; c < 16; c++) {
                if (j0 + c < T) memcpy(vbuf + c * hd, v + (j0 + c) * ks, (size_t)hd * sizeof(float));
                else memset(vbuf + c * hd, 0, (size_t)hd * sizeof(float));
            }
            mlm_dot_block16(acc, dt, vbuf, hd, hd);
        }
        mlm_transpose16(acc);
        for (int i = 0; i < t->n; i++)
            _mm512_mask_storeu_ps(t->dp[i] + j0, lane_mask(t->lo[i] - j0, t->hi[i] - j0), acc[i]);
    }
    for (int i = 0; i < t->n; i++) {
        memset(t->dp[i], 0, (size_t)t->lo[i] * sizeof(float));
        memset(t->dp[i] + t->hi[i], 0, (size_t)(T - t->hi[i]) * sizeof(float));
    }
}

/* dscores of one row: p (dp - sum p dp) over [lo, hi), the sum in 16 lanes; 0 outside. */
TGT static void row_dscores(float *ds, const float *p, const float *dp, int64_t lo, int64_t hi, int64_t T) {
    __m512 s = _mm512_setzero_ps();
    for (int64_t j0 = lo - lo % 16; j0 < hi; j0 += 16) {
        __mmask16 in = lane_mask(lo - j0, hi - j0);
        s = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(in, p + j0), _mm512_maskz_loadu_ps(in, dp + j0), s);
    }
    __m512 sum = _mm512_set1_ps(_mm512_reduce_add_ps(s));
    for (int64_t j0 = 0; j0 < T; j0 += 16) {
        __mmask16 in = lane_mask(lo - j0, hi - j0), all = lane_mask(0, T - j0);
        __m512 d = _mm512_maskz_mul_ps(in, _mm512_maskz_loadu_ps(in, p + j0),
                                       _mm512_sub_ps(_mm512_maskz_loadu_ps(in, dp + j0), sum));
        _mm512_mask_storeu_ps(ds + j0, all, d);
    }
}

/* dq of the tile: (sum_j ds_ij k_j) * scale. */
TGT static void tile_dq(const abw_tile *t, const float *k, int64_t ks, int64_t hd, float scale) {
    for (int i = 0; i < t->n; i++) memset(t->dq[i], 0, (size_t)hd * sizeof(float));
    axpy_ranges(t->dq, (const float *const *)t->ds, t->lo, t->hi, t->n, 1, k, ks, hd);
    const __m512 sc = _mm512_set1_ps(scale);
    for (int i = 0; i < t->n; i++)
        for (int64_t d = 0; d < hd; d += 16) _mm512_storeu_ps(t->dq[i] + d, _mm512_mul_ps(_mm512_loadu_ps(t->dq[i] + d), sc));
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

/* One (b, hk) task: per query head, its tiles (dprobs, dscores, dq), then its key side (dv,
 * dk); dk scaled once at the end. */
TGT static uint64_t task_avx512(const abw_t *a, int64_t b, int64_t hk) {
    const int64_t T = a->T, H = a->H, Hkv = a->Hkv, hd = a->hd, ks = Hkv * hd, qs = H * hd;
    const float *kb = a->k + (b * T * Hkv + hk) * hd, *vb = a->v + (b * T * Hkv + hk) * hd;
    float *dkb = a->dk + (b * T * Hkv + hk) * hd, *dvb = a->dv + (b * T * Hkv + hk) * hd;
    uint64_t n_sc = 0;
    for (int64_t h = hk * a->group; h < (hk + 1) * a->group; h++) {
        const float *qh = a->q + (b * T * H + h) * hd, *doh = a->dheads + (b * T * H + h) * hd;
        const float *ph = a->probs + (b * H + h) * T * T;
        float *dph = a->dprobs + (b * H + h) * T * T, *dsh = a->dscores + (b * H + h) * T * T;
        float *dqh = a->dq + (b * T * H + h) * hd;
        for (int64_t i0 = 0; i0 < T; i0 += TILE) {
            abw_tile t;
            t.n = (int)min64(TILE, T - i0);
            for (int x = 0; x < t.n; x++) {
                const int64_t i = i0 + x;
                t.dout[x] = doh + i * qs;
                t.p[x] = ph + i * T;
                t.dp[x] = dph + i * T;
                t.ds[x] = dsh + i * T;
                t.dq[x] = dqh + i * qs;
                attn_range(a->o, i, T, &t.lo[x], &t.hi[x]);
                n_sc += (uint64_t)(t.hi[x] - t.lo[x]);
            }
            if (a->from == MLM_ATTN_FROM_HEADS) tile_dprobs(&t, vb, ks, hd, T);
            if (a->from != MLM_ATTN_FROM_SCORES)
                for (int x = 0; x < t.n; x++) row_dscores(t.ds[x], t.p[x], t.dp[x], t.lo[x], t.hi[x], T);
            tile_dq(&t, kb, ks, hd, a->scale);
        }
        if (a->from == MLM_ATTN_FROM_HEADS) head_keys(dvb, ks, ph, doh, qs, a->o, T, hd);
        head_keys(dkb, ks, dsh, qh, qs, a->o, T, hd);
    }
    const __m512 sc = _mm512_set1_ps(a->scale);
    for (int64_t j = 0; j < T; j++)
        for (int64_t d = 0; d < hd; d += 16) _mm512_storeu_ps(dkb + j * ks + d, _mm512_mul_ps(_mm512_loadu_ps(dkb + j * ks + d), sc));
    return n_sc;
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
    fast = mlm_cpu_isa() == MLM_ISA_AVX512 && hd % 16 == 0 && hd <= ABW_MAXHD;
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
