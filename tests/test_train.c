/* test_train.c - the training loop: a tiny model overfits a tiny batch; a seeded run is
 * bit-reproducible for a fixed thread count; resume after save equals an uninterrupted run
 * (llama2.c weights and the project's own format); the sort and text tasks train; `microlm
 * train` writes its run directory and refuses bad flags without writing anything; and, in the
 * float build outside the sanitizer, the pinned model's acceptance run (an induction head). */
#include "check.h"
#include "checkpoint.h"
#include "fixtures.h"
#include "rng.h"
#include "train.h"

#include <cJSON.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int sanitize;

/* A tiny model (d 16, 2 layers, 4 heads, d_ff 32, vocab 16) memorises one batch of 2 x 8
 * random tokens. Bound: the 16 next-token targets are a deterministic function of the causal
 * context (every prefix differs), so the optimum is loss 0; the model has ~3.6k parameters
 * for 16 targets. A loss below 0.05 means every target gets probability ~0.95 on average,
 * against log(16) = 2.77 at the start: memorisation, not chance. */
static void test_overfit(void) {
    mlm_err e;
    mlm_model *m = fx_tiny_model(0, 2, 16, 11);
    const int B = 2, T = 8;
    mlm_acts *a = m ? mlm_acts_new(&m->cfg, B, T, 1, &e) : NULL;
    mlm_grads *g = a ? mlm_grads_new(&m->cfg, B, T, &e) : NULL;
    mlm_adamw_cfg c;
    mlm_adamw_cfg_default(&c);
    c.lr = 1e-2;
    c.weight_decay = 0;
    mlm_adamw *o = g ? mlm_adamw_new(&c, m->n_params, &e) : NULL;
    CHECK(o != NULL, "overfit: model, activations, gradients, optimizer");
    if (!o) return;
    int tok[16], tg[16];
    mlm_rng r;
    mlm_rng_seed(&r, 5);
    for (int i = 0; i < B * T; i++) { tok[i] = (int)mlm_rng_below(&r, 16); tg[i] = (int)mlm_rng_below(&r, 16); }
    double first = 0, loss = 0;
    for (int s = 0; s < 200; s++) {
        mlm_grads_zero(g);
        mlm_forward(m, a, tok, B, T, NULL, NULL, &e);
        mlm_backward(m, a, g, tok, tg, B, T, NULL, NULL, &loss, &e);
        if (s == 0) first = loss;
        mlm_grad_clip(g->mem, g->n_params, 1.0);
        mlm_adamw_step(o, m->mem, g->mem, c.lr, &e);
    }
    printf("  overfit: loss %.4f -> %.5f after 200 steps\n", first, loss);
    CHECK(first > 2.0, "overfit: the first loss is near log(16)");
    CHECK(loss < 0.05, "overfit: a tiny model memorises a tiny batch (loss < 0.05)");
    mlm_adamw_free(o);
    mlm_grads_free(g);
    mlm_acts_free(a);
    mlm_model_free(m);
}

static void small_run(mlm_config *c, mlm_train_opts *o, int steps) {
    *c = fx_tiny_config(0, 2, 16);
    mlm_train_default_opts(o);
    o->task.n = 6;
    o->task.vocab = 16;
    o->batch = 4;
    o->steps = steps;
    o->seed = 9;
    o->opt.lr = 3e-3;
    o->opt.warmup_steps = 3;
    o->eval_every = 4;
    o->eval_batch = 4;
    o->score_batch = 3;
    o->n_snapshots = 3;
    o->snapshot_steps[0] = 0;
    o->snapshot_steps[1] = steps / 2;
    o->snapshot_steps[2] = steps;
}

static int same_runs(const mlm_trainer *a, const mlm_trainer *b, double tol) {
    if (a->step != b->step || a->n_evals != b->n_evals || a->n_snaps != b->n_snaps) return 0;
    for (int64_t i = 0; i < a->model->n_params; i++) {
        if (fabs((double)a->model->mem[i] - (double)b->model->mem[i]) > tol) return 0;
        if (fabs((double)a->opt->m[i] - (double)b->opt->m[i]) > tol || fabs((double)a->opt->v[i] - (double)b->opt->v[i]) > tol) return 0;
    }
    for (int64_t i = 0; i < a->step; i++)
        if (fabs(a->loss_hist[i] - b->loss_hist[i]) > tol * 10 || a->lr_hist[i] != b->lr_hist[i]) return 0;
    for (int i = 0; i < a->n_evals; i++)
        if (a->evals[i].step != b->evals[i].step || fabs(a->evals[i].second_half - b->evals[i].second_half) > tol * 10) return 0;
    for (int i = 0; i < a->n_snaps; i++)
        if (a->snaps[i].step != b->snaps[i].step || fabs(a->snaps[i].s.induction[5] - b->snaps[i].s.induction[5]) > tol * 10) return 0;
    return 1;
}

static void test_reproducible(void) {
    mlm_config c;
    mlm_train_opts o;
    small_run(&c, &o, 12);
    mlm_err e;
    mlm_trainer *a = mlm_trainer_new(&c, &o, NULL, &e), *b = mlm_trainer_new(&c, &o, NULL, &e);
    CHECK(a && b, "two trainers with the same options");
    if (!a || !b) { mlm_trainer_free(a); mlm_trainer_free(b); return; }
    CHECK(mlm_trainer_run(a, 12, NULL, NULL, &e) == MLM_OK && mlm_trainer_run(b, 12, NULL, NULL, &e) == MLM_OK, "both run 12 steps");
    CHECK(same_runs(a, b, 0), "a seeded run is bit-reproducible (weights, moments, losses, evals, scores)");
    CHECK(a->n_snaps == 3 && a->n_evals == 3 && a->snaps[0].step == 0 && a->snaps[2].step == 12, "snapshots at 0, 6, 12; evals at 4, 8, 12");
    CHECK(a->loss_hist[11] < a->loss_hist[0], "the loss falls over 12 steps");
    o.seed = 10;
    mlm_trainer *d = mlm_trainer_new(&c, &o, NULL, &e);
    mlm_trainer_run(d, 12, NULL, NULL, &e);
    CHECK(d && !same_runs(a, d, 0), "another seed gives another run");
    mlm_trainer_free(a);
    mlm_trainer_free(b);
    mlm_trainer_free(d);
}

/* Uninterrupted vs 6 steps, save, resume, 6 more. exact: weights stored at full precision. */
static void check_resume(mlm_config *c, const char *dirname, const char *weights, double tol, const char *what) {
    mlm_train_opts o;
    mlm_config shape = *c;
    small_run(c, &o, 12);
    c->rope_theta = shape.rope_theta;
    char dir[512], path[600], msg[200];
    fx_dir(dir, sizeof dir, dirname);
    mlm_err e;
    mlm_trainer *full = mlm_trainer_new(c, &o, NULL, &e);
    mlm_trainer *half = mlm_trainer_new(c, &o, dir, &e);
    if (!full || !half) { printf("  %s\n", e.msg); CHECK(0, "resume: trainers"); return; }
    mlm_trainer_run(full, 12, NULL, NULL, &e);
    mlm_status st = mlm_trainer_run(half, 6, NULL, NULL, &e);
    if (!st) st = mlm_trainer_save(half, dir, &e);
    snprintf(msg, sizeof msg, "resume (%s): 6 steps saved to a run directory", what);
    CHECK(st == MLM_OK, msg);
    snprintf(path, sizeof path, "%s/%s", dir, weights);
    snprintf(msg, sizeof msg, "resume (%s): the weights are in %s", what, weights);
    CHECK(access(path, F_OK) == 0, msg);
    mlm_trainer_free(half);
    mlm_trainer *res = mlm_trainer_resume(dir, NULL, 0, 0, NULL, &e);
    if (!res) printf("  %s\n", e.msg);
    snprintf(msg, sizeof msg, "resume (%s): resumes at step 6 with its history", what);
    CHECK(res && res->step == 6 && res->n_evals == 1 && res->n_snaps == 2, msg);
    if (res) {
        mlm_trainer_run(res, 12, NULL, NULL, &e);
        snprintf(msg, sizeof msg, "resume (%s): after 6 more steps it equals the uninterrupted run%s", what, tol == 0 ? " bit for bit" : " (float32 weights file)");
        CHECK(same_runs(full, res, tol), msg);
    }
    mlm_trainer_free(res);
    mlm_trainer_free(full);
}

static void test_resume(void) {
    mlm_config c = fx_tiny_config(0, 2, 16);
#ifdef MLM_DOUBLE
    /* the llama2.c file holds float32 weights: a double run resumes from rounded weights */
    check_resume(&c, "train_resume_l2c", "model.bin", 1e-5, "llama2.c");
#else
    check_resume(&c, "train_resume_l2c", "model.bin", 0, "llama2.c");
#endif
    c.rope_theta = 500000.0; /* not expressible in llama2.c: the project's own format, full precision */
    check_resume(&c, "train_resume_own", "model.mlmw", 0, "own format");
    mlm_err e;
    CHECK(mlm_trainer_resume("/nonexistent/run", NULL, 0, 0, NULL, &e) == NULL && strstr(e.msg, "config.json"),
          "resume from a missing directory is an error naming the file");
    /* a damaged train.json is refused */
    char dir[512], path[600];
    fx_dir(dir, sizeof dir, "train_resume_l2c");
    snprintf(path, sizeof path, "%s/train.json", dir);
    mlm_write_file_atomic(path, "{\"version\": 1}", 14, &e);
    CHECK(mlm_trainer_resume(dir, NULL, 0, 0, NULL, &e) == NULL && strstr(e.msg, "train.json"), "a damaged train.json is refused");
}

static void test_other_tasks(void) {
    mlm_config c;
    mlm_train_opts o;
    small_run(&c, &o, 6);
    o.task.kind = MLM_TASK_SORT;
    mlm_err e;
    mlm_trainer *t = mlm_trainer_new(&c, &o, NULL, &e);
    CHECK(t && mlm_trainer_run(t, 6, NULL, NULL, &e) == MLM_OK && t->T == 13 && isfinite(t->loss_hist[5]), "sort task: 6 steps at T = 2n + 1");
    mlm_trainer_free(t);
    small_run(&c, &o, 6);
    o.task.kind = MLM_TASK_REPEAT_VAR;
    t = mlm_trainer_new(&c, &o, NULL, &e);
    CHECK(t && mlm_trainer_run(t, 6, NULL, NULL, &e) == MLM_OK && t->T == 2 * o.task.n && isfinite(t->loss_hist[5]) && t->n_evals > 0 &&
              isfinite(t->evals[t->n_evals - 1].first_half) && isfinite(t->evals[t->n_evals - 1].second_half),
          "repeat-var task: 6 steps at T = 2n, both half losses evaluated");
    mlm_trainer_free(t);
    size_t len = 4000;
    unsigned char *text = malloc(len);
    for (size_t i = 0; i < len; i++) text[i] = (unsigned char)("the quick brown fox jumps over the lazy dog. "[i % 45]);
    small_run(&c, &o, 6);
    c.vocab_size = 256;
    o.task.kind = MLM_TASK_TEXT;
    o.task.vocab = 256;
    o.task.text = text;
    o.task.text_len = len;
    t = mlm_trainer_new(&c, &o, NULL, &e);
    CHECK(t && mlm_trainer_run(t, 6, NULL, NULL, &e) == MLM_OK && t->loss_hist[5] < t->loss_hist[0], "text task: 6 steps on bytes, the loss falls");
    mlm_trainer_free(t);
    small_run(&c, &o, 6);
    o.task.vocab = 99;
    CHECK(mlm_trainer_new(&c, &o, NULL, &e) == NULL && strstr(e.msg, "vocab"), "a task vocab larger than the model's is refused");
    small_run(&c, &o, 6);
    o.task.n = 40;
    CHECK(mlm_trainer_new(&c, &o, NULL, &e) == NULL && strstr(e.msg, "max_seq_len"), "sequences longer than max_seq_len are refused");
    small_run(&c, &o, 6);
    o.snapshot_steps[1] = 0;
    CHECK(mlm_trainer_new(&c, &o, NULL, &e) == NULL && strstr(e.msg, "increase"), "snapshot steps must increase");
    free(text);
}

/* ---- the CLI ---- */

static char bin[512], tmp[512];

static int run(const char *args, char *err, size_t cap, int *lines) {
    char cmd[2048], ef[600];
    snprintf(ef, sizeof ef, "%s/train_stderr.txt", tmp);
    snprintf(cmd, sizeof cmd, "%s train %s >%s/train_stdout.txt 2>%s", bin, args, tmp, ef);
    int st = system(cmd);
    FILE *f = fopen(ef, "r");
    size_t n = f ? fread(err, 1, cap - 1, f) : 0;
    if (f) fclose(f);
    err[n] = '\0';
    *lines = 0;
    for (size_t i = 0; i < n; i++) if (err[i] == '\n') (*lines)++;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void bad(const char *args, const char *needle, const char *what) {
    char dir[600], full[1500], err[1024];
    snprintf(dir, sizeof dir, "%s/train_bad_run", tmp);
    char rm[700];
    snprintf(rm, sizeof rm, "rm -rf %s", dir);
    if (system(rm)) {}
    snprintf(full, sizeof full, "--out %s %s", dir, args);
    int lines, code = run(full, err, sizeof err, &lines);
    int ok = code == 2 && lines == 1 && !strncmp(err, "microlm: train: ", 16) && strstr(err, needle) && access(dir, F_OK) != 0;
    if (!ok) printf("  exit %d, %d lines: %s", code, lines, err);
    CHECK(ok, what);
}

static void test_cli(void) {
    const char *b = getenv("MLM_BUILD");
    snprintf(bin, sizeof bin, "%s/microlm", b ? b : "build/float");
    snprintf(tmp, sizeof tmp, "%s", getenv("MLM_TMP") ? getenv("MLM_TMP") : "/tmp");
    char dir[600], args[1500], err[1024], path[700];
    int lines;
    snprintf(dir, sizeof dir, "%s/train_cli_run", tmp);
    snprintf(args, sizeof args, "rm -rf %s", dir);
    if (system(args)) {}
    snprintf(args, sizeof args, "--out %s --steps 6 --n 4 --batch 2 --eval-every 3 --snapshot-steps 0,3,6 --threads 1", dir);
    CHECK(run(args, err, sizeof err, &lines) == 0, "microlm train (6 steps of the pinned model at n 4) exits 0");
    const char *files[] = {"model.bin", "optim.bin", "config.json", "train.json", "loss.json", "heads.json", "summary.json"};
    int all = 1;
    for (int i = 0; i < 7; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        if (access(path, F_OK)) { printf("  missing %s\n", path); all = 0; }
    }
    CHECK(all, "the run directory holds model.bin, optim.bin, config.json, train.json, loss.json, heads.json, summary.json");
    mlm_err e;
    snprintf(path, sizeof path, "%s/model.bin", dir);
    mlm_model *m = mlm_llama2c_load(path, &e);
    CHECK(m && m->cfg.n_layers == 2 && m->cfg.d_model == 64 && m->cfg.n_heads == 4 && m->cfg.vocab_size == 64,
          "DIR/model.bin is a llama2.c checkpoint of the pinned shape (2 layers, d 64, 4 heads, vocab 64)");
    mlm_model_free(m);
    char *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/heads.json", dir);
    cJSON *j = mlm_read_file(path, 1 << 24, &text, &len, &e) ? NULL : cJSON_Parse(text);
    const cJSON *sn = j ? cJSON_GetObjectItemCaseSensitive(j, "snapshots") : NULL;
    const cJSON *s0 = sn ? cJSON_GetArrayItem(sn, 2) : NULL;
    const cJSON *ind = s0 ? cJSON_GetObjectItemCaseSensitive(s0, "induction") : NULL;
    CHECK(cJSON_GetArraySize(sn) == 3 && cJSON_GetArraySize(ind) == 2 && cJSON_GetArraySize(cJSON_GetArrayItem(ind, 0)) == 4,
          "heads.json: 3 snapshots of 2 layers x 4 heads");
    cJSON_Delete(j);
    free(text);
    snprintf(path, sizeof path, "%s/loss.json", dir);
    j = mlm_read_file(path, 1 << 24, &text, &len, &e) ? NULL : cJSON_Parse(text);
    CHECK(j && cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "loss")) == 6 &&
              cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(j, "evals")) == 2,
          "loss.json: 6 per-step losses and 2 held-out evaluations");
    cJSON_Delete(j);
    free(text);
    snprintf(args, sizeof args, "--resume %s --steps 9 --threads 1", dir);
    int rc = run(args, err, sizeof err, &lines);
    mlm_trainer *t = mlm_trainer_resume(dir, NULL, 0, 0, NULL, &e);
    CHECK(rc == 0 && t && t->step == 9 && t->opts.steps == 9, "microlm train --resume DIR --steps 9 continues to step 9");
    mlm_trainer_free(t);
    bad("--steps 0", "--steps", "--steps 0: one-line error, exit 2, nothing written");
    bad("--lr abc", "--lr", "--lr abc: one-line error, exit 2, nothing written");
    bad("--task bogus", "bogus", "unknown task: one-line error, exit 2, nothing written");
    bad("--task text", "--text", "--task text without --text: error, nothing written");
    bad("--text /nonexistent/file.txt --task text", "/nonexistent", "a missing text file: error, nothing written");
    bad("--frobnicate", "unknown option", "unknown flag: error, nothing written");
    bad("--config microlm --n 200", "max_seq_len", "--n beyond the context of a preset: error, nothing written");
    bad("--config nosuchpreset", "--config", "unknown --config: error, nothing written");
    bad("--snapshot-steps 5,1", "snapshot steps", "decreasing --snapshot-steps: error, nothing written");
    bad("--vocab 2", "--vocab", "--vocab 2: error, nothing written");
    bad("--pmin 8", "--pmin needs --task repeat-var", "--pmin without repeat-var: error, nothing written");
    bad("--band 10", "--band needs --task repeat-var", "--band without repeat-var: error, nothing written");
    bad("--task repeat-var --pmin 40", "pmin", "--pmin beyond n: error, nothing written");
    snprintf(args, sizeof args, "--steps 5");
    CHECK(run(args, err, sizeof err, &lines) == 2 && strstr(err, "--out"), "no --out: exit 2 naming --out");
    snprintf(path, sizeof path, "%s/train_not_a_dir", tmp);
    mlm_write_file_atomic(path, "x", 1, &e);
    snprintf(args, sizeof args, "--out %s --steps 2 --n 4", path);
    CHECK(run(args, err, sizeof err, &lines) == 1 && lines == 1 && strstr(err, "not a writable directory"),
          "--out naming a file: refused before training (exit 1, one line)");
}

/* `microlm generate` on the trained pinned model continues a task-(1) sequence: given BOS,
 * n fresh random tokens and the first 4 of their repeat, greedy decoding writes the rest of
 * the repeat. */
static void check_generate(const mlm_trainer *t) {
    char dir[700], args[4096], path[800];
    snprintf(dir, sizeof dir, "%s/pinned-gen", tmp);
    mkdir(dir, 0777);
    mlm_err e;
    CHECK(mlm_trainer_save(t, dir, &e) == MLM_OK, "pinned model: the run directory saves");
    mlm_rng r;
    mlm_rng_seed(&r, 2024); /* not a training or held-out stream */
    int n = 32, seq[32];
    for (int i = 0; i < n; i++) seq[i] = 1 + (int)mlm_rng_below(&r, 63);
    snprintf(path, sizeof path, "%s/gen_stdout.txt", tmp);
    int o = snprintf(args, sizeof args, "%s generate --model %s/model.bin --no-bos --steps %d --tokens 0", bin, dir, n - 4);
    for (int i = 0; i < n + 4; i++) o += snprintf(args + o, sizeof args - (size_t)o, ",%d", seq[i % n]);
    snprintf(args + o, sizeof args - (size_t)o, " >%s 2>/dev/null", path);
    int st = system(args);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "microlm generate on the pinned model exits 0");
    FILE *f = fopen(path, "r");
    int got[256], k = 0, x;
    while (f && k < 256 && fscanf(f, "%d", &x) == 1) got[k++] = x;
    if (f) fclose(f);
    /* stdout: the prompt ids then the new ones */
    int ok = k == 1 + n + 4 + (n - 4);
    for (int i = 0; ok && i < n - 4; i++) ok = got[1 + n + 4 + i] == seq[4 + i];
    if (!ok) printf("  generated %d ids; want the repeat of the sequence continued\n", k);
    CHECK(ok, "microlm generate on the pinned model continues a task-(1) sequence (the whole repeat, greedy)");
}

/* The pinned model trained by the defaults: an induction head forms; at initialisation every
 * head stays under 2x chance; the second half is copied, the first half stays near log V. */
static void test_pinned(int full) {
    mlm_config c;
    mlm_train_opts o;
    mlm_train_default_config(&c);
    mlm_train_default_opts(&o);
    mlm_err e;
    if (!full) { /* the fast variant: few steps, the loss falls and the machinery runs */
        o.steps = sanitize ? 8 : 30;
        o.opt.warmup_steps = 2;
        o.eval_every = 0;
        o.n_snapshots = 2;
        o.snapshot_steps[0] = 0;
        o.snapshot_steps[1] = o.steps;
    }
    omp_set_num_threads(1); /* what `microlm train` uses for this size (docs/training.md) */
    double t0 = mlm_now();
    mlm_trainer *t = mlm_trainer_new(&c, &o, NULL, &e);
    CHECK(t && mlm_llama2c_can_express(&t->cfg, NULL), "pinned model: llama2.c can express it");
    if (!t) return;
    mlm_eval_point before;
    mlm_trainer_eval(t, &before, &e);
    mlm_status st = mlm_trainer_run(t, o.steps, NULL, NULL, &e);
    double secs = mlm_now() - t0;
    CHECK(st == MLM_OK, "pinned model: the run completes");
    const mlm_headscores *init = &t->snaps[0].s, *fin = &t->snaps[t->n_snaps - 1].s;
    int under = 1;
    for (int i = 0; i < init->n_layers * init->n_heads; i++)
        under &= init->induction[i] < 2 * init->ind_chance && init->prev[i] < 2 * init->prev_chance;
    CHECK(under, "pinned model at initialisation: every head under 2x chance (induction and previous-token)");
    const mlm_eval_point *ev = &t->evals[t->n_evals - 1];
    if (full) {
        int l, h;
        double best = mlm_headscores_max_induction(fin, &l, &h);
        printf("  pinned run: %lld steps in %.1f s; max induction %.3f (layer %d head %d); held-out first half %.3f, second half %.4f\n",
               (long long)t->step, secs, best, l, h, ev->first_half, ev->second_half);
        CHECK(best > 0.5, "pinned model trained by the defaults: a head with induction score > 0.5");
        CHECK(ev->second_half < 0.1, "pinned model: second-half loss near zero (< 0.1)");
        CHECK(ev->first_half > 0.9 * log(64.0), "pinned model: first-half loss stays near log(64) (> 0.9 log V)");
        check_generate(t);
    } else {
        printf("  pinned fast variant: %lld steps in %.1f s; held-out loss %.4f -> %.4f\n", (long long)t->step, secs, before.loss, ev->loss);
        CHECK(ev->loss < before.loss, "pinned model, few steps: the held-out loss falls");
        CHECK(t->n_snaps == 2 && fin->n_layers == 2 && fin->n_heads == 4, "pinned model, few steps: scores of 2 layers x 4 heads");
    }
    mlm_trainer_free(t);
}

int main(void) {
    sanitize = getenv("MLM_SANITIZE") != NULL;
    test_overfit();
    test_reproducible();
    test_resume();
    test_other_tasks();
    test_cli();
#if defined(MLM_DOUBLE)
    test_pinned(0);
#else
    test_pinned(sanitize ? 0 : 1);
#endif
    return check_done();
}
