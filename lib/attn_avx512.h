/* attn_avx512.h - internal to lib/: the AVX-512 building blocks of the tiled attention backward
 * (attention_bwd.c): the in-register 16 x 16 transpose and the block of 16 x 16 dot products
 * with broadcast FMAs. They are the same operations, in the same order, as attention.c's
 * transpose16 and score_block (which keeps its own copies for now).
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

/* acc[c] lane r = sum over d in order of xt[d * 16 + r] * y[c * ys + d]: 16 rows held
 * transposed in xt (hd, 16) against the 16 rows at y, one FMA chain per result. */
MLM_ATTN_INLINE_TGT void mlm_dot_block16(__m512 *acc, const float *xt, const float *y, int64_t ys, int64_t hd) {
#pragma GCC unroll 16
    for (int c = 0; c < 16; c++) acc[c] = _mm512_setzero_ps();
    /* four base pointers, each with offsets 0, ys, 2 ys, 3 ys: addressing modes, no spills */
    const float *b0 = y, *b1 = y + 4 * ys, *b2 = y + 8 * ys, *b3 = y + 12 * ys;
    const int64_t y2 = 2 * ys, y3 = 3 * ys;
    for (int64_t d = 0; d < hd; d++) {
        __m512 xv = _mm512_load_ps(xt + d * 16);
        acc[0] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b0[d]), acc[0]);
        acc[1] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b0[d + ys]), acc[1]);
        acc[2] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b0[d + y2]), acc[2]);
        acc[3] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b0[d + y3]), acc[3]);
        acc[4] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b1[d]), acc[4]);
        acc[5] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b1[d + ys]), acc[5]);
        acc[6] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b1[d + y2]), acc[6]);
        acc[7] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b1[d + y3]), acc[7]);
        acc[8] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b2[d]), acc[8]);
        acc[9] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b2[d + ys]), acc[9]);
        acc[10] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b2[d + y2]), acc[10]);
        acc[11] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b2[d + y3]), acc[11]);
        acc[12] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b3[d]), acc[12]);
        acc[13] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b3[d + ys]), acc[13]);
        acc[14] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b3[d + y2]), acc[14]);
        acc[15] = _mm512_fmadd_ps(xv, _mm512_set1_ps(b3[d + y3]), acc[15]);
    }
}

#endif
