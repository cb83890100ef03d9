/* avx512_reduce.h - internal to lib/: the register-level building blocks the AVX-512 kernels
 * share (gemm.c, bf16.c, attention.c, attention_bwd_avx512.c). Include only where AVX-512 code
 * is compiled (x86-64, GCC, float).
 *
 * mlm_transpose16(a): in place, 16 vectors of 16 floats: on entry a[c] lane r is element
 * (r, c); on exit a[r] lane c is (4 rounds of 16 shuffles).
 *
 * mlm_reduce16(a): 16 accumulators of 16 lanes -> one vector whose lane q is the full sum of
 * a[q]. Per accumulator the tree is fixed: s8[l] = a[l] + a[l+8]; s4[l] = s8[l] + s8[l+4];
 * s2[l] = s4[l] + s4[l+2]; s = s2[0] + s2[1] - the same as reducing one vector by halves. */
#ifndef MLM_AVX512_REDUCE_H
#define MLM_AVX512_REDUCE_H
#include <immintrin.h>

static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,fma"))) void
mlm_transpose16(__m512 *a) {
    __m512 t[16], u[16];
    for (int i = 0; i < 16; i += 2) {
        t[i] = _mm512_unpacklo_ps(a[i], a[i + 1]);
        t[i + 1] = _mm512_unpackhi_ps(a[i], a[i + 1]);
    }
    for (int i = 0; i < 16; i += 4) {
        u[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        u[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
        u[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
        u[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
    }
    /* u[4g + c] 128-bit lane q: elements (4q + c, 4g .. 4g+3) */
    for (int g = 0; g < 2; g++)
        for (int c = 0; c < 4; c++) {
            t[8 * g + c] = _mm512_shuffle_f32x4(u[8 * g + c], u[8 * g + 4 + c], 0x88);
            t[8 * g + 4 + c] = _mm512_shuffle_f32x4(u[8 * g + c], u[8 * g + 4 + c], 0xDD);
        }
    for (int c = 0; c < 4; c++) {
        a[c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0x88);
        a[8 + c] = _mm512_shuffle_f32x4(t[c], t[8 + c], 0xDD);
        a[4 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0x88);
        a[12 + c] = _mm512_shuffle_f32x4(t[4 + c], t[12 + c], 0xDD);
    }
}

static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,fma"))) __m512
mlm_reduce16(const __m512 *a) {
    __m512 t[8], u[4], v[2];
    for (int p = 0; p < 8; p++)
        t[p] = _mm512_add_ps(_mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], 0x44),
                             _mm512_shuffle_f32x4(a[2 * p], a[2 * p + 1], 0xEE));
    for (int q = 0; q < 4; q++)
        u[q] = _mm512_add_ps(_mm512_shuffle_f32x4(t[2 * q], t[2 * q + 1], 0x88),
                             _mm512_shuffle_f32x4(t[2 * q], t[2 * q + 1], 0xDD));
    for (int r = 0; r < 2; r++)
        v[r] = _mm512_add_ps(_mm512_shuffle_ps(u[2 * r], u[2 * r + 1], 0x44),
                             _mm512_shuffle_ps(u[2 * r], u[2 * r + 1], 0xEE));
    __m512 s = _mm512_add_ps(_mm512_shuffle_ps(v[0], v[1], 0x88), _mm512_shuffle_ps(v[0], v[1], 0xDD));
    /* lane 4j + m now holds the sum of a[4m + j]; put a[q]'s sum in lane q */
    const __m512i idx = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
    return _mm512_permutexvar_ps(idx, s);
}

#endif
