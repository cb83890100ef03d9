/* attn_avx512.h - internal to lib/: the in-register 16 x 16 transpose of the AVX-512 attention
 * backward (attention_bwd.c). The same operations as attention.c's transpose16, which keeps
 * its own copy for now.
 * Include only where AVX-512 code is compiled (x86-64, GCC, float build). */
#ifndef MLM_ATTN_AVX512_H
#define MLM_ATTN_AVX512_H
#include <immintrin.h>
#include <stdint.h>

#define MLM_ATTN_INLINE_TGT static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,fma")))

/* In place: on entry a[c] lane r is element (r, c); on exit a[r] lane c is. */
MLM_ATTN_INLINE_TGT void mlm_transpose16(__m512 *a) {
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

#endif
