/* vexp.c - the vectorised exp and the row softmax / SiLU built on it (contract: vexp.h).
 *
 * Layout: the portable C path (float and double builds), then the AVX-512 path (float build,
 * x86-64, GCC; compiled per function with __attribute__((target))), then the entry points
 * that choose between them at run time. */
#include "vexp.h"

#include "cpu.h"
#include "expf.h"

#include <math.h>
#include <string.h>

#define LANES 16

/* 16 lane sums -> one, by halves (l + l+8, then l + l+4, ...): the order the AVX-512 path uses. */
static inline mlm_real lanes_sum16(mlm_real *a) {
    for (int w = LANES / 2; w >= 1; w /= 2)
        for (int l = 0; l < w; l++) a[l] += a[l + w];
    return a[0];
}

/* ================================ portable C ============================================= */

#ifdef MLM_DOUBLE
static inline double exp_portable(double x) { return exp(x); }
#else
static inline float exp_portable(float x) { return mlm_exp_scalar(x); }
#endif

static void vexp_portable(mlm_real *y, const mlm_real *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = exp_portable(x[i]);
}

static mlm_real vexp_shift_sum_portable(mlm_real *y, const mlm_real *x, int64_t n, mlm_real shift) {
    mlm_real acc[LANES] = {0};
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) {
            mlm_real e = exp_portable(x[i + l] - shift);
            y[i + l] = e;
            acc[l] += e;
        }
    for (int l = 0; i + l < n; l++) {
        mlm_real e = exp_portable(x[i + l] - shift);
        y[i + l] = e;
        acc[l] += e;
    }
    return lanes_sum16(acc);
}

static mlm_real vmax_portable(const mlm_real *x, int64_t n) {
    mlm_real m[LANES];
    for (int l = 0; l < LANES; l++) m[l] = -INFINITY;
    int64_t i = 0;
    for (; i + LANES <= n; i += LANES)
        for (int l = 0; l < LANES; l++) m[l] = x[i + l] > m[l] ? x[i + l] : m[l];
    for (int l = 0; i + l < n; l++) m[l] = x[i + l] > m[l] ? x[i + l] : m[l];
    mlm_real mx = m[0];
    for (int l = 1; l < LANES; l++) mx = m[l] > mx ? m[l] : mx;
    return mx;
}

static void scale_portable(mlm_real *y, int64_t n, mlm_real s) {
    for (int64_t i = 0; i < n; i++) y[i] *= s;
}

static void silu_portable(mlm_real *act, const mlm_real *gate, int64_t n) {
    for (int64_t i = 0; i < n; i++) act[i] = gate[i] / (1 + exp_portable(-gate[i]));
}

/* ================================ AVX-512 ================================================ */

#if !defined(MLM_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define VEXP_HAVE_AVX512 1
#include <immintrin.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#define INLINE_TGT static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,fma")))

INLINE_TGT __mmask16 tail_mask(int64_t left) {
    return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1u);
}

/* 16 lanes -> one by halves, as lanes_sum16 */
INLINE_TGT float hsum16(__m512 a) {
    __m256 h8 = _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
    __m128 h4 = _mm_add_ps(_mm256_castps256_ps128(h8), _mm256_extractf128_ps(h8, 1));
    __m128 h2 = _mm_add_ps(h4, _mm_movehl_ps(h4, h4));
    __m128 h1 = _mm_add_ss(h2, _mm_shuffle_ps(h2, h2, 1));
    return _mm_cvtss_f32(h1);
}

TGT static void vexp_avx512(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, mlm_exp16(_mm512_maskz_loadu_ps(m, x + i)));
    }
}

/* Two accumulators (even and odd blocks of 16) so the adds do not wait on each other; their
 * sum, then the 16 lanes by halves. */
TGT static float vexp_shift_sum_avx512(float *y, const float *x, int64_t n, float shift) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps(), s = _mm512_set1_ps(shift);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        __m512 e0 = mlm_exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i), s));
        __m512 e1 = mlm_exp16(_mm512_sub_ps(_mm512_loadu_ps(x + i + 16), s));
        _mm512_storeu_ps(y + i, e0);
        _mm512_storeu_ps(y + i + 16, e1);
        acc0 = _mm512_add_ps(acc0, e0);
        acc1 = _mm512_add_ps(acc1, e1);
    }
    for (; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 e = mlm_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, x + i), s));
        _mm512_mask_storeu_ps(y + i, m, e);
        acc0 = _mm512_mask_add_ps(acc0, m, acc0, e);
    }
    return hsum16(_mm512_add_ps(acc0, acc1));
}

/* Four independent maxima (the maximum does not depend on the grouping). */
TGT static float vmax_avx512(const float *x, int64_t n) {
    __m512 m0 = _mm512_set1_ps(-INFINITY), m1 = m0, m2 = m0, m3 = m0;
    int64_t i = 0;
    /* maxps(x, m) keeps m where x is NaN */
    for (; i + 64 <= n; i += 64) {
        m0 = _mm512_max_ps(_mm512_loadu_ps(x + i), m0);
        m1 = _mm512_max_ps(_mm512_loadu_ps(x + i + 16), m1);
        m2 = _mm512_max_ps(_mm512_loadu_ps(x + i + 32), m2);
        m3 = _mm512_max_ps(_mm512_loadu_ps(x + i + 48), m3);
    }
    for (; i < n; i += 16) {
        __mmask16 k = tail_mask(n - i);
        m0 = _mm512_mask_max_ps(m0, k, _mm512_maskz_loadu_ps(k, x + i), m0);
    }
    __m512 m = _mm512_max_ps(_mm512_max_ps(m0, m1), _mm512_max_ps(m2, m3));
    float l[16], mx = -INFINITY;
    _mm512_storeu_ps(l, m);
    for (int q = 0; q < 16; q++) mx = l[q] > mx ? l[q] : mx;
    return mx;
}

TGT static void scale_avx512(float *y, int64_t n, float s) {
    __m512 sv = _mm512_set1_ps(s);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
        _mm512_storeu_ps(y + i, _mm512_mul_ps(_mm512_loadu_ps(y + i), sv));
        _mm512_storeu_ps(y + i + 16, _mm512_mul_ps(_mm512_loadu_ps(y + i + 16), sv));
    }
    for (; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, y + i), sv));
    }
}

TGT static void silu_avx512(float *act, const float *gate, int64_t n) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = 0; i < n; i += 16) {
        __mmask16 m = tail_mask(n - i);
        __m512 g = _mm512_maskz_loadu_ps(m, gate + i);
        __m512 e = mlm_exp16(_mm512_sub_ps(_mm512_setzero_ps(), g));
        _mm512_mask_storeu_ps(act + i, m, _mm512_div_ps(g, _mm512_add_ps(one, e)));
    }
}
#endif

/* ================================ entry points =========================================== */

#ifdef VEXP_HAVE_AVX512
#define USE_AVX512 (mlm_cpu_isa() == MLM_ISA_AVX512)
#else
#define USE_AVX512 0
#endif

void mlm_vexp(mlm_real *y, const mlm_real *x, int64_t n) {
#ifdef VEXP_HAVE_AVX512
    if (USE_AVX512) { vexp_avx512(y, x, n); return; }
#endif
    vexp_portable(y, x, n);
}

mlm_real mlm_vexp_shift_sum(mlm_real *y, const mlm_real *x, int64_t n, mlm_real shift) {
#ifdef VEXP_HAVE_AVX512
    if (USE_AVX512) return vexp_shift_sum_avx512(y, x, n, shift);
#endif
    return vexp_shift_sum_portable(y, x, n, shift);
}

mlm_real mlm_vmax(const mlm_real *x, int64_t n) {
#ifdef VEXP_HAVE_AVX512
    if (USE_AVX512) return vmax_avx512(x, n);
#endif
    return vmax_portable(x, n);
}

void mlm_softmax_row(mlm_real *p, const mlm_real *x, int64_t n) {
    if (n <= 0) return;
    mlm_real mx = mlm_vmax(x, n);
    mlm_real sum = mlm_vexp_shift_sum(p, x, n, mx);
    mlm_real inv = 1 / sum;
#ifdef VEXP_HAVE_AVX512
    if (USE_AVX512) { scale_avx512(p, n, inv); return; }
#endif
    scale_portable(p, n, inv);
}

void mlm_silu_row(mlm_real *act, const mlm_real *gate, int64_t n) {
#ifdef VEXP_HAVE_AVX512
    if (USE_AVX512) { silu_avx512(act, gate, n); return; }
#endif
    silu_portable(act, gate, n);
}
