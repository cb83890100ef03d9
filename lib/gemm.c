/* gemm.c - the fast matrix products (contract and determinism rules: gemm.h).
 *
 * Layout of this file: the portable C paths first (what the compiler makes of plain loops),
 * then the AVX-512 micro-kernels (float build, x86-64 only, compiled per function with
 * __attribute__((target)) so the rest of the library keeps the baseline ISA), then the public
 * entry points that choose between them at run time (cpu.h). */
#include "gemm.h"
#include "dot_lanes.h"

#include "cpu.h"

#ifdef _OPENMP
#include <omp.h>
#endif

static inline int max_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* Below this many multiply-adds a product runs on the calling thread alone: a parallel region
 * costs a few microseconds. */
#define GEMM_PAR_MIN 32768.0

static inline int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* ================================ portable C ============================================= */
/* Dot products in 8 fixed lanes (dot_lanes.h); a 4-row tile keeps each element's order. */

/* Four rows of x against one row of w: the w row is loaded once for four outputs. */
static inline void dot4(mlm_real out[4], const mlm_real *a0, const mlm_real *a1, const mlm_real *a2,
                        const mlm_real *a3, const mlm_real *b, int64_t n) {
    mlm_real c0[MLM_DOT_LANES] = {0}, c1[MLM_DOT_LANES] = {0}, c2[MLM_DOT_LANES] = {0}, c3[MLM_DOT_LANES] = {0};
    int64_t c = 0;
    for (; c + MLM_DOT_LANES <= n; c += MLM_DOT_LANES)
        for (int l = 0; l < MLM_DOT_LANES; l++) {
            mlm_real bv = b[c + l];
            c0[l] += a0[c + l] * bv;
            c1[l] += a1[c + l] * bv;
            c2[l] += a2[c + l] * bv;
            c3[l] += a3[c + l] * bv;
        }
    mlm_real s0 = mlm_lanes_sum(c0), s1 = mlm_lanes_sum(c1), s2 = mlm_lanes_sum(c2), s3 = mlm_lanes_sum(c3);
    for (; c < n; c++) {
        s0 += a0[c] * b[c];
        s1 += a1[c] * b[c];
        s2 += a2[c] * b[c];
        s3 += a3[c] * b[c];
    }
    out[0] = s0; out[1] = s1; out[2] = s2; out[3] = s3;
}

void mlm_gemm_nt_portable(mlm_real *y, const mlm_real *x, const mlm_real *w, int64_t N, int64_t C, int64_t OC) {
    int big = (double)N * (double)C * (double)OC > GEMM_PAR_MIN;
    (void)big; /* read only by the OpenMP clauses */
    if (N >= 8) {
        int64_t tiles = (N + 3) / 4;
#pragma omp parallel for schedule(static) if (big)
        for (int64_t t = 0; t < tiles; t++) {
            int64_t i = t * 4;
            if (i + 4 <= N) {
                const mlm_real *a = x + i * C;
                for (int64_t o = 0; o < OC; o++) {
                    mlm_real r[4];
                    dot4(r, a, a + C, a + 2 * C, a + 3 * C, w + o * C, C);
                    y[i * OC + o] = r[0];
                    y[(i + 1) * OC + o] = r[1];
                    y[(i + 2) * OC + o] = r[2];
                    y[(i + 3) * OC + o] = r[3];
                }
            } else {
                for (; i < N; i++)
                    for (int64_t o = 0; o < OC; o++) y[i * OC + o] = mlm_dot_lanes(x + i * C, w + o * C, C);
            }
        }
    } else {
        for (int64_t i = 0; i < N; i++) {
#pragma omp parallel for schedule(static) if (big)
            for (int64_t o = 0; o < OC; o++) y[i * OC + o] = mlm_dot_lanes(x + i * C, w + o * C, C);
        }
    }
}

/* y rows [r0, r1) += A B: for each row, an axpy per k (y[r, :] += A[r, k] * B[k, :]), k in
 * increasing order, so every element sums its terms in the plain loop's order. The column loop
 * is contiguous, so the compiler vectorises it. */
static void acc_rows_portable(mlm_real *y, const mlm_real *a, int64_t lda, int64_t sa, const mlm_real *b, int64_t r0,
                              int64_t r1, int64_t K, int64_t n) {
    for (int64_t r = r0; r < r1; r++) {
        mlm_real *yr = y + r * n;
        for (int64_t k = 0; k < K; k++) {
            mlm_real av = a[r * lda + k * sa];
            const mlm_real *bk = b + k * n;
            for (int64_t c = 0; c < n; c++) yr[c] += av * bk[c];
        }
    }
}

void mlm_gemm_acc_portable(mlm_real *y, const mlm_real *a, int64_t lda, int64_t sa, const mlm_real *b, int64_t M,
                           int64_t K, int64_t n) {
    int big = (double)M * (double)K * (double)n > GEMM_PAR_MIN;
    (void)big; /* read only by the OpenMP clause */
    int64_t tasks = (M + 7) / 8;
#pragma omp parallel for schedule(static) if (big)
    for (int64_t t = 0; t < tasks; t++) acc_rows_portable(y, a, lda, sa, b, t * 8, min64(t * 8 + 8, M), K, n);
}

/* ================================ AVX-512 ================================================ */

#if !defined(MLM_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define GEMM_HAVE_AVX512 1
#include <immintrin.h>

#include "avx512_reduce.h"

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define INLINE_TGT static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,fma")))

/* ---- nt, one token row: y (1, OC) = x (1, C) @ w^T ------------------------------------------
 * Decoding multiplies one row by every weight once, so it is bound by reading w. Register
 * tile: 16 weight rows, one accumulator of 16 lanes each (lane j sums the terms c = j mod 16,
 * one FMA at a time in increasing c); at the end the 16 accumulators are reduced together
 * (transpose-and-add), each with the same halving tree. */

/* The tile: y[s] = x . w row s for s < S (S a constant after inlining). The loads go in
 * memory order, row after row: the S rows are one contiguous block, and one forward stream
 * keeps the hardware prefetcher further ahead than S interleaved ones (measured: the same
 * speed on the lm_head, up to a third faster on the layers' small matrices). The S chains are
 * independent, so the out-of-order core overlaps them. */
INLINE_TGT void nt_tile(float *y, const float *x, const float *w, int64_t C, int S) {
    __m512 acc[16];
    for (int q = 0; q < 16; q++) acc[q] = _mm512_setzero_ps();
    const int64_t cm = C & ~(int64_t)15;
    const __mmask16 m = (__mmask16)((1u << (C - cm)) - 1);
#pragma GCC unroll 16
    for (int s = 0; s < S; s++) {
        const float *ws = w + s * C;
        __m512 a = _mm512_setzero_ps();
        for (int64_t c = 0; c < cm; c += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(x + c), _mm512_loadu_ps(ws + c), a);
        if (cm < C) /* the tail: masked loads, zeros beyond C */
            a = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, x + cm), _mm512_maskz_loadu_ps(m, ws + cm), a);
        acc[s] = a;
    }
    float out[16];
    _mm512_storeu_ps(out, mlm_reduce16(acc));
    for (int s = 0; s < S; s++) y[s] = out[s];
}

/* One token row (decoding): 16 weight rows at a time, w rows [o0, o1). */
TGT static void nt_row(float *y, const float *x, const float *w, int64_t o0, int64_t o1, int64_t C) {
    int64_t o = o0;
    for (; o + 16 <= o1; o += 16) nt_tile(y + o, x, w + o * C, C, 16);
    for (; o + 4 <= o1; o += 4) nt_tile(y + o, x, w + o * C, C, 4);
    for (; o < o1; o++) nt_tile(y + o, x, w + o * C, C, 1);
}

/* ---- nt with packed weights: y (N, OC) = x (N, C) @ w^T for N >= 2 -----------------------
 * The broadcast form of the product: a panel of 48 weight rows is transposed into a buffer,
 * (k, 48) row-major, so that for each k one 48-wide slice of w^T is three aligned vectors.
 * Register tile: 8 token rows x 48 columns (24 accumulators); per k, 3 vector loads, 8
 * broadcasts of x[r, k], 24 FMAs. The reduction over C is cut into blocks of at most
 * NTP_KB so a panel (NTP_KB x 48 floats) stays in L1/L2; between blocks the tile is stored
 * to y and loaded again, which changes no bit: every element is one FMA per term in
 * increasing k, starting from 0, whatever N, the tile, the block or the thread. */

#define NTP_W 48   /* panel width: 3 vectors of 16 */
#define NTP_KB 384 /* longest reduction block (panel buffer 72 KiB) */
#define NTP_RB 256 /* token rows per task (their x block stays in L2 while panels stream) */


/* p[k * 48 + j] = w[(o0 + j) * C + k0 + k] for k < kb, j < rows; 0 for j >= rows. p 64-aligned. */
TGT static void ntp_pack(float *p, const float *w, int64_t C, int64_t o0, int64_t rows, int64_t k0, int64_t kb) {
    for (int jb = 0; jb < 3; jb++) {
        int64_t rb = rows - 16 * jb;
        rb = rb < 0 ? 0 : rb > 16 ? 16 : rb;
        for (int64_t kc = 0; kc < kb; kc += 16) {
            int64_t kn = min64(16, kb - kc);
            __mmask16 km = (__mmask16)(kn == 16 ? 0xFFFF : (1u << kn) - 1);
            __m512 r[16];
            for (int i = 0; i < 16; i++)
                r[i] = i < rb ? _mm512_maskz_loadu_ps(km, w + (o0 + 16 * jb + i) * C + k0 + kc) : _mm512_setzero_ps();
            mlm_transpose16(r);
            for (int64_t i = 0; i < kn; i++) _mm512_store_ps(p + (kc + i) * NTP_W + 16 * jb, r[i]);
        }
    }
}

/* y[r * ldy + j] (+)= sum over k < kb of x[r * ldx + k] * p[k * 48 + j], r < R, j < 48 (stores
 * masked by m[s] per vector); first: start from 0, else continue from y. */
INLINE_TGT void ntp_tile(float *y, int64_t ldy, const float *x, int64_t ldx, const float *p, int64_t kb, int R,
                         const __mmask16 m[3], int first) {
    __m512 acc[8][3];
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int s = 0; s < 3; s++)
            acc[r][s] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m[s], y + r * ldy + 16 * s);
    for (int64_t k = 0; k < kb; k++) {
        __m512 b0 = _mm512_load_ps(p + k * NTP_W), b1 = _mm512_load_ps(p + k * NTP_W + 16),
               b2 = _mm512_load_ps(p + k * NTP_W + 32);
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512 a = _mm512_set1_ps(x[r * ldx + k]);
            acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
            acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
            acc[r][2] = _mm512_fmadd_ps(a, b2, acc[r][2]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int s = 0; s < 3; s++) _mm512_mask_storeu_ps(y + r * ldy + 16 * s, m[s], acc[r][s]);
}

/* Token rows [i0, i1) x the panel of w rows [o0, o0 + 48) (clipped at OC). */
TGT static void ntp_task(float *y, const float *x, const float *w, int64_t i0, int64_t i1, int64_t o0, int64_t C,
                         int64_t OC) {
    _Alignas(64) float p[NTP_KB * NTP_W];
    int64_t cols = min64(NTP_W, OC - o0);
    __mmask16 m[3];
    for (int s = 0; s < 3; s++) {
        int64_t v = cols - 16 * s;
        m[s] = (__mmask16)(v >= 16 ? 0xFFFF : v <= 0 ? 0 : (1u << v) - 1);
    }
    int64_t nkb = (C + NTP_KB - 1) / NTP_KB, kb = (C + nkb - 1) / nkb; /* equal blocks */
    for (int64_t k0 = 0; k0 < C; k0 += kb) {
        int64_t kn = min64(kb, C - k0);
        int first = k0 == 0;
        ntp_pack(p, w, C, o0, cols, k0, kn);
        float *yb = y + o0;
        const float *xb = x + k0;
        /* While the tiles run, ask for the next panel's block of w (the next task of this thread
         * under a static schedule), spread over the tiles: a wide w (the lm_head) comes from
         * L3 or DRAM, and 48 row streams are more than the hardware prefetcher follows. */
        int64_t lpr = (kn + 15) / 16, nrows = min64(NTP_W, OC - o0 - NTP_W), lines = nrows > 0 ? nrows * lpr : 0;
        int64_t ntiles = (i1 - i0 + 7) / 8, per = (lines + ntiles - 1) / ntiles, q = 0;
        const float *wn = w + (o0 + NTP_W) * C + k0;
        int64_t i = i0;
        for (; i + 8 <= i1; i += 8) {
            for (int64_t e = q + per; q < e && q < lines; q++)
                _mm_prefetch((const char *)(wn + (q / lpr) * C + (q % lpr) * 16), _MM_HINT_T1);
            ntp_tile(yb + i * OC, OC, xb + i * C, C, p, kn, 8, m, first);
        }
        switch (i1 - i) {
#define NTP_CASE(RR)                                                                                               \
    case RR:                                                                                                       \
        ntp_tile(yb + i * OC, OC, xb + i * C, C, p, kn, RR, m, first);                                             \
        break;
            NTP_CASE(7) NTP_CASE(6) NTP_CASE(5) NTP_CASE(4) NTP_CASE(3) NTP_CASE(2) NTP_CASE(1)
#undef NTP_CASE
        default: break;
        }
    }
}

/* Decoding: the weights stream once; split their rows between threads. */
TGT static void nt_decode_avx512(float *y, const float *x, const float *w, int64_t C, int64_t OC) {
    int nth = (double)C * (double)OC > GEMM_PAR_MIN ? max_threads() : 1;
    int64_t per = (OC + nth - 1) / nth;
    per = (per + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int t = 0; t < nth; t++) {
        int64_t o0 = (int64_t)t * per;
        if (o0 < OC) nt_row(y, x, w, o0, min64(o0 + per, OC), C);
    }
}

TGT static void nt_avx512(float *y, const float *x, const float *w, int64_t N, int64_t C, int64_t OC) {
    int nth = (double)N * (double)C * (double)OC > GEMM_PAR_MIN ? max_threads() : 1;
    if (C == 0) { /* no terms: every element is 0 */
        for (int64_t q = 0; q < N * OC; q++) y[q] = 0.0f;
        return;
    }
    /* Tasks: (48-row panel of w) x (block of token rows). A task packs its panel once per
     * reduction block and runs every token row of its block past it. */
    int64_t np = (OC + NTP_W - 1) / NTP_W;
    int64_t nrb = (N + NTP_RB - 1) / NTP_RB;
    if (np * nrb < 2 * (int64_t)nth) { /* too few panels to balance: cut the rows finer */
        int64_t want = (2 * (int64_t)nth + np - 1) / np, most = (N + 7) / 8;
        nrb = want < most ? want : most;
    }
    int64_t RB = (N + nrb - 1) / nrb;
    RB = (RB + 7) / 8 * 8;
    nrb = (N + RB - 1) / RB;
    int64_t tasks = np * nrb;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t pb = t / nrb, rb = t % nrb;
        ntp_task(y, x, w, rb * RB, min64(rb * RB + RB, N), pb * NTP_W, C, OC);
    }
}

/* ---- acc: y (M, n) += A (M, K) @ B (K, n) ---------------------------------------------------
 * Register tile: R <= 8 rows of y by S <= 3 vectors of 16 columns (the last one masked at the
 * right edge). Per k: S vectors of B's row k, R broadcasts of A[r, k], R*S FMAs. The tile is
 * loaded from y before a block of k and stored after it, so every element still takes its
 * terms one FMA at a time in increasing k. */

INLINE_TGT void acc_tile(float *y, int64_t ldy, const float *a, int64_t lda, int64_t sa, const float *b, int64_t ldb,
                         int64_t k0, int64_t k1, int R, int S, __mmask16 last) {
    __m512 acc[8][3] = {{_mm512_setzero_ps()}};
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int s = 0; s < S; s++)
            acc[r][s] = _mm512_maskz_loadu_ps(s == S - 1 ? last : (__mmask16)0xFFFF, y + r * ldy + 16 * s);
    for (int64_t k = k0; k < k1; k++) {
        const float *bk = b + k * ldb;
        __m512 bv[3];
#pragma GCC unroll 3
        for (int s = 0; s < S; s++) bv[s] = _mm512_maskz_loadu_ps(s == S - 1 ? last : (__mmask16)0xFFFF, bk + 16 * s);
        const float *ak = a + k * sa;
#pragma GCC unroll 8
        for (int r = 0; r < R; r++) {
            __m512 av = _mm512_set1_ps(ak[r * lda]);
#pragma GCC unroll 3
            for (int s = 0; s < S; s++) acc[r][s] = _mm512_fmadd_ps(av, bv[s], acc[r][s]);
        }
    }
#pragma GCC unroll 8
    for (int r = 0; r < R; r++)
#pragma GCC unroll 3
        for (int s = 0; s < S; s++)
            _mm512_mask_storeu_ps(y + r * ldy + 16 * s, s == S - 1 ? last : (__mmask16)0xFFFF, acc[r][s]);
}

/* Row tasks per thread: few, so that each B panel (ACC_KB x 48) loaded into L2 serves many
 * row tiles (dW of a d-row weight has only 288 rows to share); 4 measured 240-247 GFLOP/s on
 * dW N1024 ff>d, 2 measured 268-295, with the same times on the other shapes. */
#define ACC_TASKS_PER_THREAD 2
#define ACC_KB 512 /* reduction block: the B panel (ACC_KB x 48 floats, 96 KiB) stays in L2 */

TGT static void acc_rows_avx512(float *y, const float *a, int64_t lda, int64_t sa, const float *b, int64_t r0,
                                int64_t r1, int64_t K, int64_t n) {
    if (sa * (int64_t)sizeof(float) >= 4096) {
        /* A read across its rows, a page or more apart per k (dW += dout^T @ in for a wide
         * layer: A[r, k] = dout[k * OC + r], OC = the vocabulary): each 8-row tile of A touches
         * one line and one page per k. Copy the tile once per block, [k][8] contiguous, and
         * run it past every column tile of B (B's block, ACC_KB x n, stays in L2). */
        _Alignas(64) float bp[ACC_KB * 8];
        for (int64_t k0 = 0; k0 < K; k0 += ACC_KB) {
            int64_t k1 = min64(k0 + ACC_KB, K);
            for (int64_t r = r0; r < r1; r += 8) {
                int R = (int)min64(8, r1 - r);
                for (int64_t k = k0; k < k1; k++)
                    for (int q = 0; q < R; q++) bp[(k - k0) * 8 + q] = a[(r + q) * lda + k * sa];
                for (int64_t c = 0; c < n; c += 48) {
                    int64_t w = min64(48, n - c);
                    int S = (int)((w + 15) / 16);
                    int rem = (int)(w - 16 * (S - 1));
                    __mmask16 last = (__mmask16)(rem == 16 ? 0xFFFF : (1u << rem) - 1);
                    float *yt = y + r * n + c;
                    const float *bt = b + k0 * n + c;
                    if (R == 8 && S == 3) acc_tile(yt, n, bp, 1, 8, bt, n, 0, k1 - k0, 8, 3, last);
                    else if (S == 3) acc_tile(yt, n, bp, 1, 8, bt, n, 0, k1 - k0, R, 3, last);
                    else if (S == 2) acc_tile(yt, n, bp, 1, 8, bt, n, 0, k1 - k0, R, 2, last);
                    else acc_tile(yt, n, bp, 1, 8, bt, n, 0, k1 - k0, R, 1, last);
                }
            }
        }
        return;
    }
    for (int64_t k0 = 0; k0 < K; k0 += ACC_KB) {
        int64_t k1 = min64(k0 + ACC_KB, K);
        for (int64_t c = 0; c < n; c += 48) {
            int64_t w = min64(48, n - c);
            int S = (int)((w + 15) / 16);
            int rem = (int)(w - 16 * (S - 1));
            __mmask16 last = (__mmask16)(rem == 16 ? 0xFFFF : (1u << rem) - 1);
            for (int64_t r = r0; r < r1; r += 8) {
                int R = (int)min64(8, r1 - r);
                float *yt = y + r * n + c;
                const float *at = a + r * lda;
                const float *bt = b + c;
                if (R == 8 && S == 3) acc_tile(yt, n, at, lda, sa, bt, n, k0, k1, 8, 3, last);
                else if (S == 3) acc_tile(yt, n, at, lda, sa, bt, n, k0, k1, R, 3, last);
                else if (S == 2) acc_tile(yt, n, at, lda, sa, bt, n, k0, k1, R, 2, last);
                else acc_tile(yt, n, at, lda, sa, bt, n, k0, k1, R, 1, last);
            }
        }
    }
}

TGT static void acc_avx512(float *y, const float *a, int64_t lda, int64_t sa, const float *b, int64_t M, int64_t K,
                           int64_t n) {
    int nth = (double)M * (double)K * (double)n > GEMM_PAR_MIN ? max_threads() : 1;
    /* Rows of y in tasks of a multiple of 8 rows, about ACC_TASKS_PER_THREAD per thread. */
    int64_t per = (M + ACC_TASKS_PER_THREAD * nth - 1) / (ACC_TASKS_PER_THREAD * nth);
    per = (per + 7) / 8 * 8;
    if (per < 8) per = 8;
    int64_t tasks = (M + per - 1) / per;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
    for (int64_t t = 0; t < tasks; t++) acc_rows_avx512(y, a, lda, sa, b, t * per, min64(t * per + per, M), K, n);
}
#endif /* AVX-512 */

/* ================================ entry points =========================================== */

int mlm_gemm_fast(void) {
#ifdef GEMM_HAVE_AVX512
    return mlm_cpu_isa() == MLM_ISA_AVX512;
#else
    return 0;
#endif
}

void mlm_gemm_nt(mlm_real *y, const mlm_real *x, const mlm_real *w, int64_t N, int64_t C, int64_t OC) {
    if (N <= 0 || OC <= 0) return;
#ifdef GEMM_HAVE_AVX512
    if (mlm_cpu_isa() == MLM_ISA_AVX512) {
        nt_avx512(y, x, w, N, C, OC);
        return;
    }
#endif
    mlm_gemm_nt_portable(y, x, w, N, C, OC);
}

void mlm_gemm_acc(mlm_real *y, const mlm_real *a, int64_t lda, int64_t sa, const mlm_real *b, int64_t M, int64_t K,
                  int64_t n) {
    if (M <= 0 || K <= 0 || n <= 0) return;
#ifdef GEMM_HAVE_AVX512
    if (mlm_cpu_isa() == MLM_ISA_AVX512) {
        acc_avx512(y, a, lda, sa, b, M, K, n);
        return;
    }
#endif
    mlm_gemm_acc_portable(y, a, lda, sa, b, M, K, n);
}

/* Rows [o0, o1) of a one-row product on the calling thread: the kernel and order mlm_gemm_nt
 * gives each element of a product with N = 1, whatever the range. */
void mlm_gemm_nt_rows(mlm_real *y, const mlm_real *x, const mlm_real *w, int64_t o0, int64_t o1, int64_t C) {
    if (o0 >= o1) return;
#ifdef GEMM_HAVE_AVX512
    if (mlm_cpu_isa() == MLM_ISA_AVX512) {
        nt_row(y, x, w, o0, o1, C);
        return;
    }
#endif
    for (int64_t o = o0; o < o1; o++) y[o] = mlm_dot_lanes(x, w + o * C, C);
}

void mlm_gemm_nt_decode(mlm_real *y, const mlm_real *x, const mlm_real *w, int64_t C, int64_t OC) {
    if (OC <= 0) return;
#ifdef GEMM_HAVE_AVX512
    if (mlm_cpu_isa() == MLM_ISA_AVX512) {
        nt_decode_avx512(y, x, w, C, OC);
        return;
    }
#endif
    mlm_gemm_nt_portable(y, x, w, 1, C, OC);
}

/* Several one-row products of one x in one parallel region: the rows of all the w_g are cut
 * between the threads as one list. Every element takes the kernel and order it takes in
 * mlm_gemm_nt_decode. */
void mlm_gemm_nt_decode_group(int n, mlm_real *const y[], const mlm_real *const w[], const int64_t OC[],
                              const mlm_real *x, int64_t C, uint64_t *flops) {
    int64_t total = 0;
    for (int g = 0; g < n; g++) {
        total += OC[g] > 0 ? OC[g] : 0;
        if (flops) flops[g] = C > 0 && OC[g] > 0 ? 2 * (uint64_t)C * (uint64_t)OC[g] : 0;
    }
#ifdef GEMM_HAVE_AVX512
    if (total > 0 && mlm_cpu_isa() == MLM_ISA_AVX512) {
        int nth = (double)C * (double)total > GEMM_PAR_MIN ? max_threads() : 1;
        int64_t per = (total + nth - 1) / nth;
        per = (per + 15) / 16 * 16;
#pragma omp parallel for schedule(static) num_threads(nth) if (nth > 1)
        for (int t = 0; t < nth; t++) {
            int64_t lo = (int64_t)t * per, hi = min64(lo + per, total), base = 0;
            for (int g = 0; g < n && lo < hi; g++) { /* this thread's share of w_g, if any */
                int64_t og = OC[g] > 0 ? OC[g] : 0;
                int64_t a = lo > base ? lo : base, b = hi < base + og ? hi : base + og;
                if (a < b) nt_row(y[g], x, w[g], a - base, b - base, C);
                base += og;
            }
        }
        return;
    }
#endif
    for (int g = 0; g < n; g++) mlm_gemm_nt_decode(y[g], x, w[g], C, OC[g]);
}
