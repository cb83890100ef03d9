/* avx512_exp.h - internal to lib/: exp of 16 floats at once for the AVX-512 kernels of the
 * backward (the cross-entropy, SwiGLU). Include only where AVX-512 code is compiled (x86-64,
 * GCC, float build).
 *
 * Cephes' expf: n = round(x / ln 2), r = x - n ln 2 (ln 2 split in two parts), e^r by its
 * degree-7 polynomial on |r| <= ln 2 / 2, then times 2^n (vscalefps, which also gives the
 * subnormal results, 0 far below -87.3 and +inf above 88.7). Within 2 ulp of expf where the
 * result is a normal float (tests/test_bwd_fast.c compares them); NaN in, NaN out. A pure
 * function of x: the same bits whatever the lane, row or thread. */
#ifndef MLM_AVX512_EXP_H
#define MLM_AVX512_EXP_H
#include <immintrin.h>

static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,fma"))) __m512 mlm_exp16(__m512 x) {
    const __m512 hi = _mm512_set1_ps(88.7228394f), lo = _mm512_set1_ps(-103.972084f);
    x = _mm512_max_ps(lo, _mm512_min_ps(hi, x)); /* a NaN x passes: min/max return their second operand */
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    return _mm512_scalef_ps(p, n);
}

#endif
