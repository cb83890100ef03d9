/* bench_forward.c - forward-pass throughput on the stories15m preset, T = 256 tokens: the
 * prefill (mlm_prefill: the prompt into the KV cache, the last position's logits) against
 * the same prompt one decode step per token; the full pass with every position's logits
 * (forward_logits, what a PyTorch model(tokens) computes) and with their softmax too
 * (forward_full, the pass a trace records); decoding with the KV cache; statistics-only
 * tracing as a ratio to an untraced run in the same process. Prints a table and BENCH lines
 * for results/bench.json.
 *
 * Times are the best of several runs (a shared machine only ever adds time); the tracing
 * ratios are the median over iterations of traced / untraced, each pair run back to back,
 * so a slow stretch of the machine slows both sides of a pair. */
#include "forward.h"
#include "rng.h"

#include <stdio.h>
#include <stdlib.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double best(const double *v, int n) {
    double b = v[0];
    for (int i = 1; i < n; i++) b = v[i] < b ? v[i] : b;
    return b;
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
    enum { REPS = 15 };
    double plain[REPS], traced[REPS], kept[REPS], rt[REPS], rk[REPS];
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
        rt[i] = traced[i] / plain[i];
        rk[i] = kept[i] / plain[i];
        flops = mlm_probe_flops(p, NULL);
    }
    double ot = median(rt, REPS), ok = median(rk, REPS);
    double tp = best(plain, REPS), tt = best(traced, REPS), tk = best(kept, REPS);
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
    double td = best(dec, 3);
    /* the prefill, and the full pass stopping at the logits, alternating */
    mlm_fwd_opts lo = {.no_probs = 1};
    double pre[REPS], lgt[REPS];
    for (int i = 0; i < REPS; i++) {
        mlm_kv_cache_reset(kv);
        double t0 = mlm_now();
        if (mlm_prefill(m, kv, a, tok, T, lg, NULL, &e)) { fprintf(stderr, "bench_forward: %s\n", e.msg); return 1; }
        double t1 = mlm_now();
        mlm_forward(m, a, tok, 1, T, &lo, NULL, &e);
        double t2 = mlm_now();
        pre[i] = t1 - t0;
        lgt[i] = t2 - t1;
    }
    double tpre = best(pre, REPS), tl = best(lgt, REPS);
    printf("stories15m (d 288, 6 layers, vocab 32000), float32, best of %d runs (ratios: median of pairs)\n", REPS);
    printf("  prefill T=256      %8.2f ms   %9.0f tokens/s   (KV cache filled, last logits; one decode step per "
           "token: %.2f ms, %.1fx)\n", tpre * 1e3, T / tpre, td * 1e3, td / tpre);
    printf("  forward, logits    %8.2f ms   %9.0f tokens/s   (every position's logits)\n", tl * 1e3, T / tl);
    printf("  forward, probs     %8.2f ms   %9.0f tokens/s   %6.2f GFLOP/s (every position's logits and softmax)\n",
           tp * 1e3, T / tp, (double)flops / tp * 1e-9);
    printf("  forward traced     %8.2f ms   (statistics of every stage, no kept tensors)\n", tt * 1e3);
    printf("  trace overhead     %8.3f x    (target <= 1.15; best over best %.3f)\n", ot, tt / tp);
    printf("  keeping every attention map %8.2f ms, %.3f x untraced (%d maps of %d x %d, %.1f MB copied)\n", tk * 1e3,
           ok, c->n_layers * c->n_heads, T, T, kept_mb);
    printf("  decode (KV cache)  %8.2f ms for %d tokens   %9.0f tokens/s\n", td * 1e3, T, T / td);
    printf("BENCH prefill %.3f ms decode_steps_ms %.3f %.4f\n", tpre * 1e3, td * 1e3, td / tpre);
    printf("BENCH forward_logits %.3f ms forward_full_ms %.3f %.4f\n", tl * 1e3, tp * 1e3, tp / tl);
    printf("BENCH forward_full %.3f ms tokens_per_s %.1f 1\n", tp * 1e3, T / tp);
    printf("BENCH trace_overhead %.4f ratio untraced_ms %.3f %.4f\n", ot, tp * 1e3, ot);
    printf("BENCH trace_keep_attention %.4f ratio untraced_ms %.3f %.4f\n", ok, tp * 1e3, ok);
    printf("BENCH decode_fp32 %.1f tokens/s prefill_tokens_per_s %.1f %.4f\n", T / td, T / tpre, (T / td) / (T / tpre));
    free(lg);
    mlm_kv_cache_free(kv);
    mlm_probe_free(p);
    mlm_probe_free(pk);
    mlm_acts_free(a);
    free(tok);
    mlm_model_free(m);
    return 0;
}
