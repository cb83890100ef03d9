/* bench_train.c - training throughput: one training step (forward + backward + clipping +
 * AdamW) of the stories15m preset at B = 4, T = 256, against the forward pass alone in the same
 * run; two of the step's non-product stages against what they replaced (clip + AdamW in two
 * passes against the norm, the clip, the finite check and AdamW as four; the cross-entropy rows against the
 * portable loop); and the pinned training model's steps per second with the defaults of
 * `microlm train` (B 8, T 64, one thread). Prints a table and BENCH lines for
 * results/bench.json.
 * Usage: bench_train [repeats (default 5)] */
#include "bigalloc.h"
#include "cpu.h"
#include "kernels_bwd.h"
#include "train.h"

#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void die(const char *msg) {
    fprintf(stderr, "microlm: bench_train: %s\n", msg);
    exit(1);
}

/* The step's optimizer on copies of the trainer's weights and gradients (the trainer is not
 * touched): best of reps of mlm_adamw_step_clipped (out[0]) and of mlm_grad_clip +
 * mlm_adamw_step (out[1]), alternating, each from the same gradients. */
static void time_optimizer(const mlm_trainer *t, int reps, double out[2]) {
    const int64_t n = t->model->n_params;
    const size_t b = (size_t)n * sizeof(mlm_real);
    mlm_real *p = mlm_big_calloc((size_t)n, sizeof(mlm_real)), *g = mlm_big_calloc((size_t)n, sizeof(mlm_real));
    mlm_adamw *o[2] = {mlm_adamw_new(&t->opt->cfg, n, NULL), mlm_adamw_new(&t->opt->cfg, n, NULL)};
    if (!p || !g || !o[0] || !o[1]) die("out of memory for the optimizer copies");
    out[0] = out[1] = 1e30;
    for (int i = 0; i <= reps; i++)
        for (int k = 0; k < 2; k++) {
            memcpy(p, t->model->mem, b);
            memcpy(g, t->grads->mem, b);
            double gn = 0, t0 = mlm_now();
            mlm_status st;
            if (k == 0) st = mlm_adamw_step_clipped(o[0], p, g, 1e-4, &gn, NULL);
            else {
                mlm_grad_clip(g, n, o[1]->cfg.clip);
                st = mlm_adamw_step(o[1], p, g, 1e-4, NULL);
            }
            double dt = mlm_now() - t0;
            if (st) die("optimizer step failed");
            if (i > 0 && dt < out[k]) out[k] = dt;
        }
    mlm_adamw_free(o[0]);
    mlm_adamw_free(o[1]);
    free(p);
    free(g);
}

/* The loss's backward over the trainer's logits (B*T rows of the vocabulary) into a scratch
 * buffer: best of reps on the current path (out[0]) and on the portable loop (out[1]). */
static void time_crossentropy(const mlm_trainer *t, int reps, double out[2]) {
    const int64_t N = (int64_t)t->opts.batch * t->T, V = t->model->cfg.vocab_size;
    mlm_real *d = mlm_big_calloc((size_t)(N * V), sizeof(mlm_real));
    if (!d) die("out of memory for the cross-entropy scratch");
    const mlm_isa isa = mlm_cpu_isa();
    out[0] = out[1] = 1e30;
    for (int i = 0; i <= reps; i++)
        for (int k = 0; k < 2; k++) {
            if (k == 1) mlm_cpu_set_isa(MLM_ISA_PORTABLE);
            double loss = 0, t0 = mlm_now();
            mlm_crossentropy_backward(d, &loss, NULL, t->acts->logits, t->targets, N, V, NULL);
            double dt = mlm_now() - t0;
            mlm_cpu_set_isa(isa);
            if (i > 0 && dt < out[k]) out[k] = dt;
        }
    free(d);
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 5;
    if (reps < 1) { fprintf(stderr, "microlm: usage: bench_train [repeats]\n"); return 2; }
    mlm_err e = {{0}};
    const mlm_config *sc = mlm_preset_find("stories15m");
    if (!sc) { fprintf(stderr, "microlm: preset stories15m not found\n"); return 1; }
    mlm_train_opts o;
    mlm_train_default_opts(&o);
    o.task.n = 128; /* T = 256 */
    o.task.vocab = sc->vocab_size;
    o.batch = 4;
    o.steps = reps + 1;
    o.n_snapshots = 0;
    o.eval_every = 0;
    const int threads = omp_get_max_threads();
    mlm_trainer *t = mlm_trainer_new(sc, &o, NULL, &e);
    if (!t) { fprintf(stderr, "microlm: %s\n", e.msg); return 1; }
    double best_step = 1e30, best_fwd = 1e30, loss = 0;
    for (int i = 0; i <= reps; i++) { /* the first round warms up */
        double t0 = mlm_now();
        if (mlm_forward(t->model, t->acts, t->tokens, o.batch, t->T, NULL, NULL, &e)) { fprintf(stderr, "microlm: %s\n", e.msg); return 1; }
        double t1 = mlm_now();
        if (mlm_trainer_step(t, &loss, &e)) { fprintf(stderr, "microlm: %s\n", e.msg); return 1; }
        double t2 = mlm_now();
        if (i > 0) {
            if (t1 - t0 < best_fwd) best_fwd = t1 - t0;
            if (t2 - t1 < best_step) best_step = t2 - t1;
        }
    }
    const double tokens = (double)o.batch * t->T;
    printf("stories15m B %d T %d, %d threads, %s, best of %d\n", o.batch, t->T, threads, MLM_REAL_NAME, reps);
    printf("  forward only        %9.1f ms\n", best_fwd * 1e3);
    printf("  training step       %9.1f ms   %8.0f tokens/s   (forward + backward + clip + AdamW; loss %.3f)\n", best_step * 1e3,
           tokens / best_step, loss);
    printf("  step / forward      %9.2f x\n", best_step / best_fwd);
    double opt[2], ce[2];
    time_optimizer(t, reps, opt);
    time_crossentropy(t, reps, ce);
    printf("  clip + AdamW        %9.1f ms   (one pass for the norm, one for the update; as four passes: %.1f ms, %.2fx)\n",
           opt[0] * 1e3, opt[1] * 1e3, opt[1] / opt[0]);
    printf("  cross-entropy       %9.1f ms   (%lld x %d logits; portable loop %.1f ms, %.2fx)\n", ce[0] * 1e3,
           (long long)o.batch * t->T, sc->vocab_size, ce[1] * 1e3, ce[1] / ce[0]);
    mlm_trainer_free(t);

    /* the pinned model with the CLI's defaults (one thread for a model this small) */
    mlm_config pc;
    mlm_train_default_config(&pc);
    mlm_train_default_opts(&o);
    o.steps = 200;
    o.n_snapshots = 0;
    o.eval_every = 0;
    omp_set_num_threads(1);
    t = mlm_trainer_new(&pc, &o, NULL, &e);
    if (!t) { fprintf(stderr, "microlm: %s\n", e.msg); return 1; }
    mlm_trainer_step(t, &loss, &e); /* warm-up */
    double t0 = mlm_now();
    int steps = 0;
    while (t->step < o.steps && (steps < 20 || mlm_now() - t0 < 3.0)) {
        if (mlm_trainer_step(t, &loss, &e)) { fprintf(stderr, "microlm: %s\n", e.msg); return 1; }
        steps++;
    }
    double dt = mlm_now() - t0, sps = steps / dt;
    printf("pinned %s (B %d, T %d, 1 thread): %.1f steps/s, %.2f ms/step, %.0f tokens/s; 400 default steps ~ %.1f s\n", pc.name, o.batch,
           t->T, sps, dt / steps * 1e3, sps * o.batch * t->T, 400 / sps);
    mlm_trainer_free(t);
    omp_set_num_threads(threads);
    printf("BENCH train_step %.1f ms forward_ms %.1f %.3f\n", best_step * 1e3, best_fwd * 1e3, best_step / best_fwd);
    printf("BENCH train_optimizer %.2f ms clip_check_adamw_ms %.2f %.3f\n", opt[0] * 1e3, opt[1] * 1e3, opt[1] / opt[0]);
    printf("BENCH train_crossentropy %.2f ms portable_ms %.2f %.3f\n", ce[0] * 1e3, ce[1] * 1e3, ce[1] / ce[0]);
    printf("BENCH train_tokens_per_s %.1f tokens/s forward_tokens_per_s %.1f %.4f\n", tokens / best_step, tokens / best_fwd, best_fwd / best_step);
    /* baseline: the rate the 60 s acceptance budget needs for the 400 default steps */
    printf("BENCH pinned_steps_per_s %.2f steps/s budget_400_steps_in_60s %.3f %.3f\n", sps, 400.0 / 60.0, sps / (400.0 / 60.0));
    return 0;
}
