/* bwd_avx512.c - the AVX-512 row kernels of bwd_avx512.h (float build, x86-64, GCC; compiled
 * per function with __attribute__((target)) so the library keeps the baseline ISA). */
#include "bwd_avx512.h"

#ifdef MLM_BWD_AVX512
#include "expf.h"

#include <math.h>

#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,fma")))

static inline __mmask16 tail_mask(int64_t left) { return left >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << left) - 1); }

TGT double mlm_ce_row_avx512(float *dx, const float *x, int64_t V, int target, double n) {
    __m512 m = _mm512_set1_ps(-INFINITY);
    for (int64_t j = 0; j < V; j += 16) m = _mm512_max_ps(m, _mm512_mask_loadu_ps(m, tail_mask(V - j), x + j));
    const float mx = _mm512_reduce_max_ps(m);
    const __m512 vmx = _mm512_set1_ps(mx);
    __m512d s0 = _mm512_setzero_pd(), s1 = _mm512_setzero_pd();
    for (int64_t j = 0; j < V; j += 16) {
        __mmask16 k = tail_mask(V - j);
        __m512 e = _mm512_maskz_mov_ps(k, mlm_exp16(_mm512_sub_ps(_mm512_maskz_loadu_ps(k, x + j), vmx)));
        if (dx) _mm512_mask_storeu_ps(dx + j, k, e); /* scaled below, once the sum is known */
        s0 = _mm512_add_pd(s0, _mm512_cvtps_pd(_mm512_castps512_ps256(e)));
        s1 = _mm512_add_pd(s1, _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(e), 1))));
    }
    double lanes[8], sum = 0;
    _mm512_storeu_pd(lanes, _mm512_add_pd(s0, s1));
    for (int l = 0; l < 8; l++) sum += lanes[l];
    if (dx) {
        const __m512 inv = _mm512_set1_ps((float)(1.0 / (sum * n)));
        for (int64_t j = 0; j < V; j += 16) {
            __mmask16 k = tail_mask(V - j);
            _mm512_mask_storeu_ps(dx + j, k, _mm512_mul_ps(_mm512_maskz_loadu_ps(k, dx + j), inv));
        }
        dx[target] -= (float)(1.0 / n);
    }
    return log(sum) + (double)mx - (double)x[target];
}

TGT void mlm_swiglu_rows_avx512(float *dgate, float *dup, float *dact, const float *dhidden, const float *gate,
                                const float *up, int64_t i0, int64_t i1) {
    const __m512 one = _mm512_set1_ps(1.0f);
    for (int64_t i = i0; i < i1; i += 16) {
        __mmask16 k = tail_mask(i1 - i);
        __m512 g = _mm512_maskz_loadu_ps(k, gate + i), dh = _mm512_maskz_loadu_ps(k, dhidden + i);
        __m512 den = _mm512_add_ps(one, mlm_exp16(_mm512_sub_ps(_mm512_setzero_ps(), g)));
        __m512 s = _mm512_div_ps(one, den), act = _mm512_div_ps(g, den);
        __m512 da = _mm512_mul_ps(dh, _mm512_maskz_loadu_ps(k, up + i));
        _mm512_mask_storeu_ps(dact + i, k, da);
        _mm512_mask_storeu_ps(dup + i, k, _mm512_mul_ps(dh, act));
        /* da * s * (1 + g * (1 - s)) */
        _mm512_mask_storeu_ps(dgate + i, k, _mm512_mul_ps(_mm512_mul_ps(da, s), _mm512_fmadd_ps(g, _mm512_sub_ps(one, s), one)));
    }
}

#endif
