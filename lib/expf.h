/* expf.h - internal to lib/: the project's float exp, one definition for every kernel that
 * needs one (vexp.c: the softmaxes and SiLU of the forward; kernels_bwd.c and bwd_avx512.c:
 * the cross-entropy and SiLU of the backward), so a value recomputed in the backward has the
 * bits the forward gave it.
 *
 * x = n ln2 + r (|r| <= ln2/2, Cody-Waite with a two-part ln2), exp(r) = 1 + r + r^2 P(r)
 * with Cephes expf's degree-5 P, then the scale 2^n. mlm_exp_scalar is branch-free plain C
 * (loops of it vectorise; no FMA contraction under -std=c11); mlm_exp16 does 16 lanes with
 * FMA and vscalefps (include it only where AVX-512 code is compiled: x86-64, GCC, float).
 * The two may differ in the last bit; each is within 1 ulp of the correctly rounded exp on
 * [-104, 0] (tests/test_vexp.c). exp(-inf) = 0, overflow -> +inf, NaN -> NaN. */
#ifndef MLM_EXPF_H
#define MLM_EXPF_H
#include <stdint.h>
#include <string.h>

/* Cephes expf: exp(r) = 1 + r + r^2 P(r) on |r| <= ln2/2, relative error ~1e-7. */
#define EXP_P0 1.9875691500E-4f
#define EXP_P1 1.3981999507E-3f
#define EXP_P2 8.3334519073E-3f
#define EXP_P3 4.1665795894E-2f
#define EXP_P4 1.6666665459E-1f
#define EXP_P5 5.0000001201E-1f
#define EXP_LOG2E 1.44269504088896341f
#define EXP_LN2_HI 0.693359375f   /* 9 significant bits: n * LN2_HI is exact for |n| <= 2^15 */
#define EXP_LN2_LO -2.12194440e-4f
#define EXP_X_LO -104.0f          /* exp(-104) < 2^-150: rounds to 0 */
#define EXP_X_HI 89.0f            /* exp(89) > FLT_MAX: overflows to +inf */
#define EXP_SHIFTER 12582912.0f   /* 1.5 * 2^23: adding it rounds to an integer */

static inline float mlm_exp_bits_to_float(uint32_t u) {
    float f;
    memcpy(&f, &u, sizeof f);
    return f;
}

static inline uint32_t mlm_exp_float_to_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* Branch-free, so the compiler vectorises a loop of it. NaN fails both clamps and flows
 * through as NaN. The scale 2^n (n in [-150, 128]) is applied as two factors 2^(n/2) and
 * 2^(n - n/2), both normal: the first product is exact, the second rounds once, so subnormal
 * results are correctly rounded from p. */
static inline float mlm_exp_scalar(float x) {
    float xc = x < EXP_X_LO ? EXP_X_LO : x;
    xc = xc > EXP_X_HI ? EXP_X_HI : xc;
    float t = xc * EXP_LOG2E + EXP_SHIFTER;
    float n = t - EXP_SHIFTER;
    int32_t ni = (int32_t)(mlm_exp_float_to_bits(t) - mlm_exp_float_to_bits(EXP_SHIFTER));
    float r = xc - n * EXP_LN2_HI;
    r = r - n * EXP_LN2_LO;
    float z = r * r;
    float p = EXP_P0;
    p = p * r + EXP_P1;
    p = p * r + EXP_P2;
    p = p * r + EXP_P3;
    p = p * r + EXP_P4;
    p = p * r + EXP_P5;
    p = (p * z + r) + 1.0f;
    int32_t n1 = ni / 2, n2 = ni - n1;
    float s1 = mlm_exp_bits_to_float((uint32_t)(n1 + 127) << 23), s2 = mlm_exp_bits_to_float((uint32_t)(n2 + 127) << 23);
    return (p * s1) * s2;
}

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

/* The same reduction as the portable routine, with FMA in the reduction and the polynomial,
 * and vscalefps for 2^n (exact, correctly rounded into the subnormals, inf on overflow). */
static inline __attribute__((always_inline, target("avx512f,avx512bw,avx512vl,fma"))) __m512
mlm_exp16(__m512 x) {
    /* maxps/minps return the second operand when either is NaN: x stays NaN */
    x = _mm512_max_ps(_mm512_set1_ps(EXP_X_LO), x);
    x = _mm512_min_ps(_mm512_set1_ps(EXP_X_HI), x);
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(EXP_LOG2E)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_HI), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(EXP_LN2_LO), r);
    __m512 z = _mm512_mul_ps(r, r);
    __m512 p = _mm512_set1_ps(EXP_P0);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P1));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P2));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P3));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P4));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(EXP_P5));
    p = _mm512_add_ps(_mm512_fmadd_ps(p, z, r), _mm512_set1_ps(1.0f));
    return _mm512_scalef_ps(p, n);
}
#endif

#endif
