/* bench_attention_bwd.c - the attention backward of one stories15m layer in a training step
 * (B 4, T 256, 6 heads of 48, causal, from the head outputs; probabilities from a forward pass
 * on random q, k, v): best time of mlm_attention_backward on the path this CPU takes and, as
 * the baseline, on the portable path (mlm_cpu_set_isa), alternating the two every call, with
 * the counted GFLOP/s. Prints a table and a BENCH line for results/bench.json.
 * Usage: bench_attention_bwd [repeats (default 20)] */
#include "common.h"
#include "cpu.h"
#include "kernels.h"
#include "kernels_bwd.h"
#include "rng.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 20;
    if (reps < 1) { fprintf(stderr, "microlm: usage: bench_attention_bwd [repeats]\n"); return 2; }
    const int64_t B = 4, T = 256, H = 6, Hk = 6, hd = 48;
    const mlm_attn_opts o = {1, 0, 0};
    const int64_t nq = B * T * H * hd, nk = B * T * Hk * hd, np = B * H * T * T;
    mlm_real *buf = malloc((size_t)(4 * nq + 4 * nk + 3 * np) * sizeof(mlm_real));
    if (!buf) { fprintf(stderr, "microlm: out of memory\n"); return 1; }
    mlm_real *q = buf, *G = q + nq, *out = G + nq, *dq = out + nq, *k = dq + nq, *v = k + nk, *dk = v + nk,
             *dv = dk + nk, *pr = dv + nk, *dp = pr + np, *ds = dp + np;
    mlm_rng r;
    mlm_rng_seed(&r, 1);
    for (int64_t i = 0; i < nq; i++) { q[i] = (mlm_real)mlm_rng_normal(&r); G[i] = (mlm_real)mlm_rng_normal(&r); }
    for (int64_t i = 0; i < nk; i++) { k[i] = (mlm_real)mlm_rng_normal(&r); v[i] = (mlm_real)mlm_rng_normal(&r); }
    mlm_attention_forward(out, pr, NULL, q, k, v, B, T, H, Hk, hd, &o, NULL);
    const mlm_isa native = mlm_cpu_isa(), isa[2] = {native, MLM_ISA_PORTABLE};
    double best[2] = {1e30, 1e30};
    uint64_t fl = 0;
    for (int i = 0; i <= reps; i++) /* the first round warms up */
        for (int p = 0; p < 2; p++) {
            mlm_cpu_set_isa(isa[p]);
            double t0 = mlm_now();
            fl = mlm_attention_backward(dq, dk, dv, dp, ds, G, q, k, v, pr, B, T, H, Hk, hd, &o, MLM_ATTN_FROM_HEADS,
                                        NULL);
            double t = mlm_now() - t0;
            if (i > 0 && t < best[p]) best[p] = t;
        }
    mlm_cpu_set_isa(native);
    printf("attention backward, stories15m layer: B %lld T %lld H %lld hd %lld causal, %d threads, %s, best of %d\n",
           (long long)B, (long long)T, (long long)H, (long long)hd, omp_get_max_threads(), MLM_REAL_NAME, reps);
    for (int p = 0; p < 2; p++)
        printf("  %-10s %8.3f ms  %6.1f GFLOP/s\n", mlm_isa_name(isa[p]), best[p] * 1e3, (double)fl / best[p] / 1e9);
    printf("BENCH attention_backward %.3f ms portable_ms %.3f %.3f\n", best[0] * 1e3, best[1] * 1e3, best[1] / best[0]);
    free(buf);
    return 0;
}
