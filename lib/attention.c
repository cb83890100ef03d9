/* attention.c - the fast attention kernels (contract: kernels.h): the pass over a whole
 * sequence and one decoding step against the KV cache. The reference is
 * mlm_attention_forward_ref in kernels.c.
 *
 * Both work on a set of up to 16 query rows that read the same KV head ("rows"): 16
 * consecutive positions of one head in the full pass, the query heads of one KV head in a
 * decoding step. For a set of rows:
 *   scores   p[j] = (q . k_j) * scale for j in the row's computed range. AVX-512: the 16
 *            query rows are transposed once (qt, d-major), then 16 keys at a time each key
 *            element is broadcast against the 16 query lanes (one FMA chain per score, d in
 *            order), and the 16 x 16 block is transposed back into the probability rows.
 *            Portable: one 8-lane dot product per score (dot_lanes.h).
 *   softmax  over the attended range with the vectorised exp (vexp.h), exact zeros elsewhere.
 *   p @ V    out[d] = sum_j p[j] v_j[d], j in increasing order, one chain per output element.
 *            AVX-512: 8 rows x 48 outputs in registers, so each V row is loaded once for
 *            the 8 rows over the keys all of them attend to.
 * Every score, probability and output element is computed by a fixed sequence of operations
 * that depends only on its row and the tile layout (fixed by T), never on the thread: 1 and 2
 * threads give the same bits. */
#include "kernels.h"

#include "attn_mask.h"
#include "cpu.h"
#include "dot_lanes.h"
#include "vexp.h"

#include <math.h>
#include <string.h>

#define ROWS 16 /* query rows in a set */

typedef struct {
    int n;                         /* rows in the set, <= ROWS */
    const mlm_real *q[ROWS];       /* query row (hd) */
    mlm_real *p[ROWS];             /* probability row, indexed by key position */
    mlm_real *s[ROWS];             /* pre-softmax score row to fill, or NULL */
    mlm_real *o[ROWS];             /* output row (hd) */
    int64_t lo[ROWS], hi[ROWS];    /* attended keys [lo, hi) */
    int64_t clo[ROWS], chi[ROWS];  /* computed scores [clo, chi) (dense: every key) */
    int64_t len;                   /* length of the probability and score rows */
} attn_rows;

typedef struct {
    const mlm_real *k, *v;  /* key j of the set's KV head at k + j * ks (likewise v) */
    int64_t ks, hd;
    mlm_real scale;
} attn_kv;

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static inline int64_t max64(int64_t a, int64_t b) { return a > b ? a : b; }

/* ---- the steps every path shares ---------------------------------------------------------- */

/* Scores copied out (0 outside the attended range), softmax over [lo, hi), zeros elsewhere. */
static void rows_softmax(const attn_rows *r) {
    for (int i = 0; i < r->n; i++) {
        mlm_real *p = r->p[i];
        int64_t lo = r->lo[i], hi = r->hi[i];
        if (r->s[i]) {
            memset(r->s[i], 0, (size_t)r->len * sizeof(mlm_real));
            memcpy(r->s[i] + lo, p + lo, (size_t)(hi - lo) * sizeof(mlm_real));
        }
        mlm_softmax_row(p + lo, p + lo, hi - lo);
        memset(p, 0, (size_t)lo * sizeof(mlm_real));
        memset(p + hi, 0, (size_t)(r->len - hi) * sizeof(mlm_real));
    }
}

/* ---- portable C --------------------------------------------------------------------------- */

static void rows_scores_portable(const attn_rows *r, const attn_kv *kv) {
    for (int i = 0; i < r->n; i++)
        for (int64_t j = r->clo[i]; j < r->chi[i]; j++)
            r->p[i][j] = mlm_dot_lanes(r->q[i], kv->k + j * kv->ks, kv->hd) * kv->scale;
}

static void rows_av_portable(const attn_rows *r, const attn_kv *kv) {
    const int64_t hd = kv->hd;
    for (int i = 0; i < r->n; i++) {
        mlm_real *o = r->o[i];
        const mlm_real *p = r->p[i];
        for (int64_t d = 0; d < hd; d++) o[d] = 0;
        for (int64_t j = r->lo[i]; j < r->hi[i]; j++) {
            const mlm_real *vj = kv->v + j * kv->ks;
            mlm_real pj = p[j];
            for (int64_t d = 0; d < hd; d++) o[d] += pj * vj[d];
        }
    }
}

/* ---- AVX-512 ------------------------------------------------------------------------------ */

#if !defined(MLM_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define ATTN_HAVE_AVX512 1
#include <immintrin.h>

#include "avx512_reduce.h"

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define INLINE_TGT static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,fma")))

#define QT_MAX_HD 256 /* the transposed query tile lives on the stack: hd * 16 floats */


/* Lanes [a, b) of 16 set (a, b clamped to [0, 16]). */
INLINE_TGT __mmask16 range_mask(int64_t a, int64_t b) {
    a = max64(0, min64(16, a));
    b = max64(0, min64(16, b));
    if (b <= a) return 0;
    return (__mmask16)((((uint32_t)1 << b) - 1u) & ~(((uint32_t)1 << a) - 1u));
}

/* acc[c] = sum over d of qt row d * key c element d, for the 16 keys at k + c * ks. */
INLINE_TGT void score_block(__m512 *acc, const float *qt, const float *k, int64_t ks, int64_t hd) {
#pragma GCC unroll 16
    for (int c = 0; c < 16; c++) acc[c] = _mm512_setzero_ps();
    /* four base pointers, each with offsets 0, ks, 2 ks, 3 ks: addressing modes, no spills */
    const float *b0 = k, *b1 = k + 4 * ks, *b2 = k + 8 * ks, *b3 = k + 12 * ks;
    const int64_t k2 = 2 * ks, k3 = 3 * ks;
    for (int64_t d = 0; d < hd; d++) {
        __m512 qv = _mm512_load_ps(qt + d * ROWS);
        acc[0] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b0[d]), acc[0]);
        acc[1] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b0[d + ks]), acc[1]);
        acc[2] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b0[d + k2]), acc[2]);
        acc[3] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b0[d + k3]), acc[3]);
        acc[4] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b1[d]), acc[4]);
        acc[5] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b1[d + ks]), acc[5]);
        acc[6] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b1[d + k2]), acc[6]);
        acc[7] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b1[d + k3]), acc[7]);
        acc[8] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b2[d]), acc[8]);
        acc[9] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b2[d + ks]), acc[9]);
        acc[10] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b2[d + k2]), acc[10]);
        acc[11] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b2[d + k3]), acc[11]);
        acc[12] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b3[d]), acc[12]);
        acc[13] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b3[d + ks]), acc[13]);
        acc[14] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b3[d + k2]), acc[14]);
        acc[15] = _mm512_fmadd_ps(qv, _mm512_set1_ps(b3[d + k3]), acc[15]);
    }
}

TGT static void rows_scores_avx512(const attn_rows *r, const attn_kv *kv) {
    const int64_t hd = kv->hd, ks = kv->ks;
    /* qt (hd, 16): the query rows transposed 16 x 16 at a time, zero lanes for absent rows */
    float qt[QT_MAX_HD * ROWS] __attribute__((aligned(64))), kbuf[16 * QT_MAX_HD];
    for (int64_t d0 = 0; d0 < hd; d0 += 16) {
        __mmask16 m = range_mask(0, hd - d0);
        __m512 t[16];
#pragma GCC unroll 16
        for (int i = 0; i < 16; i++) t[i] = i < r->n ? _mm512_maskz_loadu_ps(m, r->q[i] + d0) : _mm512_setzero_ps();
        mlm_transpose16(t);
        for (int64_t x = 0; x < 16 && d0 + x < hd; x++) _mm512_store_ps(qt + (d0 + x) * ROWS, t[x]);
    }
    int64_t jlo = r->clo[0], jhi = r->chi[0];
    for (int i = 1; i < r->n; i++) { jlo = min64(jlo, r->clo[i]); jhi = max64(jhi, r->chi[i]); }
    const __m512 scale = _mm512_set1_ps(kv->scale);
    for (int64_t j0 = jlo; j0 < jhi; j0 += 16) {
        __m512 acc[16];
        if (j0 + 16 <= jhi) {
            score_block(acc, qt, kv->k + j0 * ks, ks, hd);
        } else {
            /* the last, partial block: its keys copied after each other, zeros after them */
            for (int64_t c = 0; c < 16; c++) {
                if (j0 + c < jhi) memcpy(kbuf + c * hd, kv->k + (j0 + c) * ks, (size_t)hd * sizeof(float));
                else memset(kbuf + c * hd, 0, (size_t)hd * sizeof(float));
            }
            score_block(acc, qt, kbuf, hd, hd);
        }
#pragma GCC unroll 16
        for (int c = 0; c < 16; c++) acc[c] = _mm512_mul_ps(acc[c], scale);
        mlm_transpose16(acc);
        for (int i = 0; i < r->n; i++)
            _mm512_mask_storeu_ps(r->p[i] + j0, range_mask(r->clo[i] - j0, r->chi[i] - j0), acc[i]);
    }
}

/* A set of one row (decoding without GQA): 16 keys at a time, each an FMA chain over hd in
 * 16 lanes, the 16 chains reduced together (avx512_reduce.h). */
/* The same for hd = 16 NQ (NQ <= 4, a constant after inlining): the query's NQ vectors stay
 * in registers and each key's chain runs in memory order, unmasked; every score takes the
 * same FMAs in the same order as in the general loop below, so the bits are the same. */
INLINE_TGT void row_scores_dot_q(const attn_rows *r, const attn_kv *kv, int NQ) {
    const int64_t ks = kv->ks, jlo = r->clo[0], jhi = r->chi[0];
    const __m512 scale = _mm512_set1_ps(kv->scale);
    __m512 qv[4];
#pragma GCC unroll 4
    for (int b = 0; b < NQ; b++) qv[b] = _mm512_loadu_ps(r->q[0] + 16 * b);
    for (int64_t j0 = jlo; j0 < jhi; j0 += 16) {
        __m512 acc[16];
#pragma GCC unroll 16
        for (int c = 0; c < 16; c++) {
            const float *kp = kv->k + min64(j0 + c, jhi - 1) * ks;
            __m512 a = _mm512_fmadd_ps(qv[0], _mm512_loadu_ps(kp), _mm512_setzero_ps());
#pragma GCC unroll 4
            for (int b = 1; b < NQ; b++) a = _mm512_fmadd_ps(qv[b], _mm512_loadu_ps(kp + 16 * b), a);
            acc[c] = a;
        }
        _mm512_mask_storeu_ps(r->p[0] + j0, range_mask(0, jhi - j0), _mm512_mul_ps(mlm_reduce16(acc), scale));
    }
}

TGT static void row_scores_dot_avx512(const attn_rows *r, const attn_kv *kv) {
    const int64_t hd = kv->hd, ks = kv->ks, jlo = r->clo[0], jhi = r->chi[0];
    switch (hd) {
    case 16: row_scores_dot_q(r, kv, 1); return;
    case 32: row_scores_dot_q(r, kv, 2); return;
    case 48: row_scores_dot_q(r, kv, 3); return;
    case 64: row_scores_dot_q(r, kv, 4); return;
    default: break;
    }
    const __m512 scale = _mm512_set1_ps(kv->scale);
    const float *q = r->q[0];
    for (int64_t j0 = jlo; j0 < jhi; j0 += 16) {
        const float *kp[16];
        for (int c = 0; c < 16; c++) kp[c] = kv->k + min64(j0 + c, jhi - 1) * ks;
        __m512 acc[16];
#pragma GCC unroll 16
        for (int c = 0; c < 16; c++) acc[c] = _mm512_setzero_ps();
        for (int64_t d = 0; d < hd; d += 16) {
            __mmask16 m = range_mask(0, hd - d);
            __m512 qv = _mm512_maskz_loadu_ps(m, q + d);
#pragma GCC unroll 16
            for (int c = 0; c < 16; c++) acc[c] = _mm512_fmadd_ps(qv, _mm512_maskz_loadu_ps(m, kp[c] + d), acc[c]);
        }
        _mm512_mask_storeu_ps(r->p[0] + j0, range_mask(0, jhi - j0), _mm512_mul_ps(mlm_reduce16(acc), scale));
    }
}

/* rows [0, R) of the set: o[i] += sum over j in [ja, jb) of p[i][j] v_j, 48 outputs at a time
 * (R a constant after inlining). */
INLINE_TGT void av_block(float *const *o, const float *const *p, int R, const attn_kv *kv, int64_t ja, int64_t jb) {
    const int64_t hd = kv->hd, ks = kv->ks;
    const float *pr[8];
#pragma GCC unroll 8
    for (int i = 0; i < R; i++) pr[i] = p[i];
    for (int64_t d0 = 0; d0 < hd; d0 += 48) {
        const __mmask16 m0 = range_mask(0, hd - d0), m1 = range_mask(0, hd - d0 - 16), m2 = range_mask(0, hd - d0 - 32);
        __m512 acc[8][3];
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            acc[i][0] = _mm512_maskz_loadu_ps(m0, o[i] + d0);
            acc[i][1] = _mm512_maskz_loadu_ps(m1, o[i] + d0 + 16);
            acc[i][2] = _mm512_maskz_loadu_ps(m2, o[i] + d0 + 32);
        }
        const float *vj = kv->v + ja * ks + d0;
        for (int64_t j = ja; j < jb; j++, vj += ks) {
            __m512 v0 = _mm512_maskz_loadu_ps(m0, vj), v1 = _mm512_maskz_loadu_ps(m1, vj + 16),
                   v2 = _mm512_maskz_loadu_ps(m2, vj + 32);
#pragma GCC unroll 8
            for (int i = 0; i < R; i++) {
                __m512 pb = _mm512_set1_ps(pr[i][j]);
                acc[i][0] = _mm512_fmadd_ps(pb, v0, acc[i][0]);
                acc[i][1] = _mm512_fmadd_ps(pb, v1, acc[i][1]);
                acc[i][2] = _mm512_fmadd_ps(pb, v2, acc[i][2]);
            }
        }
#pragma GCC unroll 8
        for (int i = 0; i < R; i++) {
            _mm512_mask_storeu_ps(o[i] + d0, m0, acc[i][0]);
            _mm512_mask_storeu_ps(o[i] + d0 + 16, m1, acc[i][1]);
            _mm512_mask_storeu_ps(o[i] + d0 + 32, m2, acc[i][2]);
        }
    }
}

TGT static void av_one(float *o, const float *p, const attn_kv *kv, int64_t ja, int64_t jb) {
    if (ja < jb) av_block(&o, &p, 1, kv, ja, jb);
}

TGT static void av_eight(float *const *o, const float *const *p, const attn_kv *kv, int64_t ja, int64_t jb) {
    av_block(o, p, 8, kv, ja, jb);
}

/* Groups of 8 rows share the keys all of them attend to; each row adds the keys before and
 * after that common range on its own, so every row still sums j in increasing order. */
static void rows_av_avx512(const attn_rows *r, const attn_kv *kv) {
    for (int i = 0; i < r->n; i++) memset(r->o[i], 0, (size_t)kv->hd * sizeof(float));
    int g = 0;
    for (; g + 8 <= r->n; g += 8) {
        int64_t ja = r->lo[g], jb = r->hi[g];
        for (int i = g + 1; i < g + 8; i++) { ja = max64(ja, r->lo[i]); jb = min64(jb, r->hi[i]); }
        if (ja >= jb) break;
        for (int i = g; i < g + 8; i++) av_one(r->o[i], r->p[i], kv, r->lo[i], ja);
        av_eight(r->o + g, (const float *const *)(r->p + g), kv, ja, jb);
        for (int i = g; i < g + 8; i++) av_one(r->o[i], r->p[i], kv, jb, r->hi[i]);
    }
    for (int i = g; i < r->n; i++) av_one(r->o[i], r->p[i], kv, r->lo[i], r->hi[i]);
}
#endif

/* ---- one set of rows, on the path the CPU takes ----------------------------------------- */

static void rows_run(const attn_rows *r, const attn_kv *kv) {
#ifdef ATTN_HAVE_AVX512
    if (mlm_cpu_isa() == MLM_ISA_AVX512 && kv->hd <= QT_MAX_HD) {
        if (r->n == 1) row_scores_dot_avx512(r, kv);
        else rows_scores_avx512(r, kv);
        rows_softmax(r);
        rows_av_avx512(r, kv);
        return;
    }
#endif
    rows_scores_portable(r, kv);
    rows_softmax(r);
    rows_av_portable(r, kv);
}

/* ---- the full pass ------------------------------------------------------------------------ */

uint64_t mlm_attention_forward(mlm_real *out, mlm_real *probs, mlm_real *scores, const mlm_real *q, const mlm_real *k,
                               const mlm_real *v, int64_t B, int64_t T, int64_t H, int64_t Hkv, int64_t hd,
                               const mlm_attn_opts *o, uint64_t fl[3]) {
    uint64_t computed = 0;
    for (int64_t i = 0; i < T; i++) {
        int64_t lo, hi;
        mlm_attn_range(o, i, T, &lo, &hi);
        computed += (uint64_t)(o->dense ? T : hi - lo);
    }
    computed *= (uint64_t)(B * H);
    const int64_t group = H / Hkv, tiles = (T + ROWS - 1) / ROWS, bh = B * H;
    const mlm_real scale = (mlm_real)(1.0 / sqrt((double)hd));
    /* tasks: (tile, b, h), the last tiles (the longest causal rows) first */
#pragma omp parallel for schedule(dynamic, 1) if ((double)computed * (double)hd > 65536.0)
    for (int64_t task = 0; task < tiles * bh; task++) {
        int64_t tile = tiles - 1 - task / bh, b = task % bh / H, h = task % H, hk = h / group;
        attn_rows r;
        r.n = (int)min64(ROWS, T - tile * ROWS);
        r.len = T;
        for (int x = 0; x < r.n; x++) {
            int64_t i = tile * ROWS + x;
            r.q[x] = q + ((b * T + i) * H + h) * hd;
            r.o[x] = out + ((b * T + i) * H + h) * hd;
            r.p[x] = probs + ((b * H + h) * T + i) * T;
            r.s[x] = scores ? scores + ((b * H + h) * T + i) * T : NULL;
            mlm_attn_range(o, i, T, &r.lo[x], &r.hi[x]);
            r.clo[x] = o->dense ? 0 : r.lo[x];
            r.chi[x] = o->dense ? T : r.hi[x];
        }
        attn_kv kv = {k + (b * T * Hkv + hk) * hd, v + (b * T * Hkv + hk) * hd, Hkv * hd, hd, scale};
        rows_run(&r, &kv);
    }
    uint64_t f_sc = computed * (2 * (uint64_t)hd + 1), f_sm = 4 * computed, f_av = computed * 2 * (uint64_t)hd;
    if (fl) { fl[0] = f_sc; fl[1] = f_sm; fl[2] = f_av; }
    return f_sc + f_sm + f_av;
}

/* ---- one decoding step ---------------------------------------------------------------------- */

/* The query heads of one KV head form a set (in sets of 16 when the group is larger). */
void mlm_attention_decode_heads(mlm_real *out, mlm_real *probs, const mlm_real *q, const mlm_real *kc,
                                const mlm_real *vc, int64_t n, int64_t cap, int64_t H, int64_t Hkv, int64_t hd,
                                int window, int64_t hk0, int64_t hk1) {
    const mlm_real scale = (mlm_real)(1.0 / sqrt((double)hd));
    const int64_t group = H / Hkv, lo = (window > 0 && n > window) ? n - window : 0;
    for (int64_t hk = hk0; hk < hk1; hk++) {
        attn_kv kv = {kc + hk * cap * hd, vc + hk * cap * hd, hd, hd, scale};
        for (int64_t h0 = hk * group; h0 < (hk + 1) * group; h0 += ROWS) {
            attn_rows r;
            r.n = (int)min64(ROWS, (hk + 1) * group - h0);
            r.len = n;
            for (int x = 0; x < r.n; x++) {
                int64_t h = h0 + x;
                r.q[x] = q + h * hd;
                r.o[x] = out + h * hd;
                r.p[x] = probs + h * n;
                r.s[x] = NULL;
                r.lo[x] = r.clo[x] = lo;
                r.hi[x] = r.chi[x] = n;
            }
            rows_run(&r, &kv);
        }
    }
}

uint64_t mlm_attention_decode(mlm_real *out, mlm_real *probs, const mlm_real *q, const mlm_real *kc,
                              const mlm_real *vc, int64_t n, int64_t cap, int64_t H, int64_t Hkv, int64_t hd,
                              int window, uint64_t fl[3]) {
    mlm_attention_decode_heads(out, probs, q, kc, vc, n, cap, H, Hkv, hd, window, 0, Hkv);
    const int64_t lo = (window > 0 && n > window) ? n - window : 0;
    uint64_t m = (uint64_t)(n - lo) * (uint64_t)H;
    if (fl) { fl[0] = m * (2 * (uint64_t)hd + 1); fl[1] = 4 * m; fl[2] = m * 2 * (uint64_t)hd; }
    return m * (4 * (uint64_t)hd + 5);
}
