/* bench_forward.c - forward-pass throughput on the stories15m preset: prefill of T = 256
 * tokens, decoding with the KV cache, and statistics-only tracing as a ratio to an untraced
 * run in the same process. Prints a table and BENCH lines for results/bench.json. */
#include "forward.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, (size_t)n, sizeof *v, cmp);
    return v[n / 2];
}

int main(void) {
    mlm_err e;
    const mlm_config *c = mlm_preset_find("stories15m");
    mlm_model *m = mlm_model_new(c, &e);
    mlm_model_init(m, NULL);
    int T = 256;
    int *tok = malloc(sizeof(int) * (size_t)T);
    mlm_rng r;
    mlm_rng_seed(&r, 1);
    for (int t = 0; t < T; t++) tok[t] = (int)mlm_rng_below(&r, (uint32_t)c->vocab_size);
    mlm_acts *a = mlm_acts_new(c, 1, T, 0, &e);
    mlm_probe *p = mlm_probe_new(NULL);
    mlm_probe *pk = mlm_probe_new("blocks.*.attn.probs"); /* every attention map kept */
    enum { REPS = 9 };
    double plain[REPS], traced[REPS], kept[REPS];
    mlm_forward(m, a, tok, 1, T, NULL, NULL, &e); /* warm-up */
    uint64_t flops = 0;
    for (int i = 0; i < REPS; i++) {
        double t0 = mlm_now();
        mlm_forward(m, a, tok, 1, T, NULL, NULL, &e);
        double t1 = mlm_now();
        mlm_probe_clear(p);
        mlm_forward(m, a, tok, 1, T, NULL, p, &e);
        double t2 = mlm_now();
        mlm_probe_clear(pk);
        mlm_forward(m, a, tok, 1, T, NULL, pk, &e);
        double t3 = mlm_now();
        plain[i] = t1 - t0;
        traced[i] = t2 - t1;
        kept[i] = t3 - t2;
        flops = mlm_probe_flops(p, NULL);
    }
    double tp = median(plain, REPS), tt = median(traced, REPS), tk = median(kept, REPS);
    double kept_mb = 0;
    for (int l = 0; l < c->n_layers; l++) kept_mb += (double)c->n_heads * T * T * sizeof(mlm_real) / 1e6;
    /* decode: T tokens one at a time through the KV cache */
    mlm_kv_cache *kv = mlm_kv_cache_new(c, T, &e);
    mlm_real *lg = malloc(sizeof(mlm_real) * (size_t)c->vocab_size);
    double dec[3];
    for (int rep = 0; rep < 3; rep++) {
        mlm_kv_cache_reset(kv);
        double t0 = mlm_now();
        for (int t = 0; t < T; t++) mlm_decode_step(m, kv, tok[t], t, lg, NULL, NULL, &e);
        dec[rep] = mlm_now() - t0;
    }
    double td = median(dec, 3);
    printf("stories15m (d 288, 6 layers, vocab 32000), float32, median of %d runs\n", REPS);
    printf("  prefill T=256      %8.2f ms   %9.0f tokens/s   %6.2f GFLOP/s\n", tp * 1e3, T / tp, (double)flops / tp * 1e-9);
    printf("  prefill traced     %8.2f ms   (statistics of every stage, no kept tensors)\n", tt * 1e3);
    printf("  trace overhead     %8.3f x    (target <= 1.15)\n", tt / tp);
    printf("  keeping every attention map %8.2f ms, %.3f x untraced (%d maps of %d x %d, %.1f MB copied)\n", tk * 1e3,
           tk / tp, c->n_layers * c->n_heads, T, T, kept_mb);
    printf("  decode (KV cache)  %8.2f ms for %d tokens   %9.0f tokens/s\n", td * 1e3, T, T / td);
    printf("BENCH prefill %.3f ms untraced-prefill-tokens_per_s %.1f 1\n", tp * 1e3, T / tp);
    printf("BENCH trace_overhead %.4f ratio untraced_ms %.3f %.4f\n", tt / tp, tp * 1e3, tt / tp);
    printf("BENCH trace_keep_attention %.4f ratio untraced_ms %.3f %.4f\n", tk / tp, tp * 1e3, tk / tp);
    printf("BENCH decode_fp32 %.1f tokens/s prefill_tokens_per_s %.1f %.4f\n", T / td, T / tp, (T / td) / (T / tp));
    free(lg);
    mlm_kv_cache_free(kv);
    mlm_probe_free(p);
    mlm_probe_free(pk);
    mlm_acts_free(a);
    free(tok);
    mlm_model_free(m);
    return 0;
}
