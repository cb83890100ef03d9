/* rng.h - seeded, reproducible random numbers (xoshiro256** seeded by splitmix64; normals by
 * Box-Muller). The same seed gives the same stream on every platform. */
#ifndef MLM_RNG_H
#define MLM_RNG_H
#include <stdint.h>

typedef struct { uint64_t s[4]; int have_spare; double spare; } mlm_rng;

void mlm_rng_seed(mlm_rng *r, uint64_t seed);
uint64_t mlm_rng_u64(mlm_rng *r);
double mlm_rng_uniform(mlm_rng *r);          /* [0, 1) with 53 random bits */
double mlm_rng_normal(mlm_rng *r);           /* N(0, 1) */
uint32_t mlm_rng_below(mlm_rng *r, uint32_t n); /* uniform integer in [0, n), unbiased */

#endif
