/* rng.c - xoshiro256** with splitmix64 seeding; Box-Muller normals. */
#include "rng.h"

#include <math.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void mlm_rng_seed(mlm_rng *r, uint64_t seed) {
    uint64_t x = seed;
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&x);
    r->have_spare = 0;
    r->spare = 0;
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t mlm_rng_u64(mlm_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0]; s[3] ^= s[1]; s[1] ^= s[2]; s[0] ^= s[3];
    s[2] ^= t; s[3] = rotl(s[3], 45);
    return result;
}

double mlm_rng_uniform(mlm_rng *r) { return (double)(mlm_rng_u64(r) >> 11) * 0x1.0p-53; }

double mlm_rng_normal(mlm_rng *r) {
    if (r->have_spare) { r->have_spare = 0; return r->spare; }
    double u1, u2;
    do { u1 = mlm_rng_uniform(r); } while (u1 <= 0.0);
    u2 = mlm_rng_uniform(r);
    double rad = sqrt(-2.0 * log(u1)), th = 2.0 * 3.14159265358979323846 * u2;
    r->spare = rad * sin(th);
    r->have_spare = 1;
    return rad * cos(th);
}

uint32_t mlm_rng_below(mlm_rng *r, uint32_t n) {
    if (n == 0) return 0;
    uint64_t lim = UINT64_MAX - UINT64_MAX % n;
    uint64_t v;
    do { v = mlm_rng_u64(r); } while (v >= lim);
    return (uint32_t)(v % n);
}
