/* bench_backward.c - forward and backward time of the stories15m preset (random weights) at
 * B = 4, T = 256, and their ratio (the textbook backward costs about twice the forward: two
 * matrix products per forward product). Prints `forward_ms x`, `backward_ms x`,
 * `bwd_fwd_ratio x` (best of the repeats), the counted FLOPs and rates, and a BENCH line for
 * results/bench.json.
 * Usage: bench_backward [repeats (default 3)] [B] [T] */
#include "backward.h"
#include "rng.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 3, B = argc > 2 ? atoi(argv[2]) : 4, T = argc > 3 ? atoi(argv[3]) : 256;
    if (reps < 1 || B < 1 || T < 1) { fprintf(stderr, "microlm: usage: bench_backward [repeats] [B] [T]\n"); return 2; }
    const mlm_config *cfg = mlm_preset_find("stories15m");
    if (!cfg) { fprintf(stderr, "microlm: preset stories15m not found\n"); return 1; }
    mlm_err e = {{0}};
    mlm_model *m = mlm_model_new(cfg, &e);
    mlm_acts *a = m ? mlm_acts_new(cfg, B, T, 1, &e) : NULL;
    mlm_grads *g = a ? mlm_grads_new(cfg, B, T, &e) : NULL;
    int *tok = malloc((size_t)B * T * sizeof(int)), *tg = malloc((size_t)B * T * sizeof(int));
    if (!m || !a || !g || !tok || !tg) {
        fprintf(stderr, "microlm: %s\n", e.msg[0] ? e.msg : "out of memory");
        return 1;
    }
    mlm_model_init(m, NULL);
    mlm_rng r;
    mlm_rng_seed(&r, 42);
    for (int i = 0; i < B * T; i++) {
        tok[i] = (int)mlm_rng_below(&r, (uint32_t)cfg->vocab_size);
        tg[i] = (int)mlm_rng_below(&r, (uint32_t)cfg->vocab_size);
    }
    double best_f = 1e30, best_b = 1e30, loss = 0;
    mlm_probe *p = mlm_probe_new(NULL);
    for (int i = 0; i <= reps; i++) { /* the first round warms up */
        double t0 = mlm_now();
        mlm_status st = mlm_forward(m, a, tok, B, T, NULL, i == 0 ? p : NULL, &e);
        double t1 = mlm_now();
        if (!st) st = mlm_backward(m, a, g, tok, tg, B, T, NULL, NULL, &loss, &e);
        double t2 = mlm_now();
        if (st) { fprintf(stderr, "microlm: %s\n", e.msg); return 1; }
        if (i > 0) {
            if (t1 - t0 < best_f) best_f = t1 - t0;
            if (t2 - t1 < best_b) best_b = t2 - t1;
        }
    }
    uint64_t ff = mlm_probe_flops(p, NULL), fb = g->flops;
    printf("config %s B %d T %d threads %d scalar %s repeats %d\n", cfg->name, B, T, omp_get_max_threads(),
           MLM_REAL_NAME, reps);
    printf("loss %.6f\n", loss);
    printf("forward_gflop %.3f\n", (double)ff / 1e9);
    printf("backward_gflop %.3f\n", (double)fb / 1e9);
    printf("forward_ms %.1f\n", best_f * 1e3);
    printf("backward_ms %.1f\n", best_b * 1e3);
    printf("forward_gflops %.2f\n", (double)ff / best_f / 1e9);
    printf("backward_gflops %.2f\n", (double)fb / best_b / 1e9);
    printf("bwd_fwd_ratio %.2f\n", best_b / best_f);
    printf("bwd_fwd_flop_ratio %.2f\n", (double)fb / (double)ff);
    /* for results/bench.json (tests/bench.sh): name value unit baseline baseline_value ratio */
    printf("BENCH backward_stories15m %.1f ms forward_ms %.1f %.3f\n", best_b * 1e3, best_f * 1e3, best_b / best_f);
    mlm_probe_free(p);
    free(tok);
    free(tg);
    mlm_grads_free(g);
    mlm_acts_free(a);
    mlm_model_free(m);
    return 0;
}
