/* cmd_train.c - `microlm train`: trains a model on a task the project generates (or a text
 * file), shows progress, evaluates the first- and second-half losses, snapshots every head's
 * previous-token and induction scores, and writes the run directory (docs/training.md). */
#include "args.h"
#include "checkpoint.h"
#include "commands.h"
#include "train.h"

#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: microlm train --out DIR [options]\n"
            "  --out DIR            run directory: model.bin (llama2.c), optim.bin, config.json, train.json,\n"
            "                       loss.json, heads.json, summary.json (created; files replaced atomically)\n"
            "  --task T             repeat (default: BOS + n random tokens twice), repeat-var (a period p\n"
            "                       in [n/4, n] per sequence: BOS, 2(n-p) random tokens, p tokens twice), sort, text\n"
            "  --text FILE          the text file of --task text (bytes are tokens, vocab 256)\n"
            "  --config SPEC        model shape: a preset name or config .json (default: the pinned\n"
            "                       induction-2l model: 2 layers, d 64, 4 heads, d_ff 128, vocab 64)\n"
            "  --n N                half length of the repeat/sort sequence, text window / 2 (default 32)\n"
            "  --pmin P             repeat-var: the smallest period, in [2, n] (default max(2, n/4))\n"
            "  --band S             repeat-var curriculum: the first S steps draw periods from [n - n/4, n]\n"
            "                       (default 0: none)\n"
            "  --vocab V            tokens of the task (default model: also its vocab; default 64)\n"
            "  --steps N            training steps (default 400)\n"
            "  --batch B            sequences per step (default 8)\n"
            "  --lr X               peak learning rate (default 0.003)\n"
            "  --warmup N           linear warmup steps (default 30), then cosine to 0.1 lr\n"
            "  --weight-decay X     AdamW decoupled weight decay (default 0.05; norms are not decayed)\n"
            "  --clip X             gradient-norm clip (default 1; 0 = none)\n"
            "  --seed N             weights and data (default 42)\n"
            "  --eval-every N       held-out loss every N steps (default 50)\n"
            "  --snapshot-steps L   steps at which head scores are saved, e.g. 0,100,600 (default: 17\n"
            "                       evenly spaced steps, 0 and the last included)\n"
            "  --checkpoint-every N save the run directory every N steps (default: at the end)\n"
            "  --resume DIR         continue the run saved in DIR (its options; --steps may extend it;\n"
            "                       --out defaults to DIR)\n"
            "  --threads N          OpenMP threads (default: OMP_NUM_THREADS, else 1 for models under 1M\n"
            "                       parameters (faster: their kernels are too small to split), else all cores)\n"
            "  --quiet              no progress, only the final table\n");
}

typedef struct {
    int tty, quiet;
    int64_t every;     /* plain-line interval */
    double last_draw;
    double last_loss;
} progress;

static void fmt_time(double s, char *buf, size_t cap) {
    if (!isfinite(s) || s < 0) s = 0;
    if (s < 60) snprintf(buf, cap, "%.0fs", s);
    else snprintf(buf, cap, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

static int on_event(const mlm_train_event *ev, void *user) {
    progress *p = user;
    if (p->quiet) return 0;
    char eta[32], el[32];
    if (ev->kind == MLM_EV_STEP) {
        p->last_loss = ev->loss;
        fmt_time(ev->eta, eta, sizeof eta);
        fmt_time(ev->elapsed, el, sizeof el);
        if (p->tty) {
            double now = ev->elapsed;
            if (now - p->last_draw < 0.1 && ev->step != ev->steps) return 0;
            p->last_draw = now;
            const int W = 24;
            int fill = (int)((double)W * (double)ev->step / (double)ev->steps);
            char bar[32];
            for (int i = 0; i < W; i++) bar[i] = i < fill ? '#' : '.';
            bar[W] = 0;
            printf("\r[%s] step %lld/%lld  loss %.4f  %.0f tok/s  elapsed %s  ETA %s   ", bar, (long long)ev->step, (long long)ev->steps,
                   ev->loss, ev->tokens_per_s, el, eta);
            if (ev->step == ev->steps) printf("\n");
            fflush(stdout);
        } else if (ev->step % p->every == 0 || ev->step == ev->steps) {
            printf("step %lld/%lld  loss %.4f  lr %.2e  grad_norm %.3f  %.0f tok/s  elapsed %s  ETA %s\n", (long long)ev->step,
                   (long long)ev->steps, ev->loss, ev->lr, ev->grad_norm, ev->tokens_per_s, el, eta);
        }
    } else if (ev->kind == MLM_EV_EVAL && !p->tty) {
        printf("eval step %lld  held-out loss %.4f  first half %.4f  second half %.4f\n", (long long)ev->eval->step, ev->eval->loss,
               ev->eval->first_half, ev->eval->second_half);
    } else if (ev->kind == MLM_EV_SNAPSHOT && !p->tty) {
        int l, h;
        double best = mlm_headscores_max_induction(&ev->snapshot->s, &l, &h);
        printf("scores step %lld  max induction %.3f (layer %d head %d, chance %.3f)\n", (long long)ev->snapshot->step, best, l, h,
               ev->snapshot->s.ind_chance);
    }
    return 0;
}

static void print_table(const mlm_trainer *t) {
    if (t->n_snaps == 0) return;
    const mlm_score_snapshot *first = &t->snaps[0], *last = &t->snaps[t->n_snaps - 1];
    const mlm_headscores *a = &first->s, *b = &last->s;
    printf("\nhead scores (held-out repeat batch, %d sequences, n %d)  at step %lld (vs step %lld)\n", b->B, b->n, (long long)last->step,
           (long long)first->step);
    printf("  layer head   prev-token   induction    | step %-5lld prev  induction\n", (long long)first->step);
    for (int l = 0; l < b->n_layers; l++)
        for (int h = 0; h < b->n_heads; h++) {
            size_t i = (size_t)l * b->n_heads + h;
            printf("  %5d %4d   %10.4f   %9.4f    |      %10.4f  %9.4f%s\n", l, h, b->prev[i], b->induction[i], a->prev[i], a->induction[i],
                   b->induction[i] > 0.5 ? "   <- induction head" : (b->prev[i] > 0.5 ? "   <- previous-token head" : ""));
        }
    printf("  chance: previous-token %.4f, induction %.4f\n", b->prev_chance, b->ind_chance);
}

/* Library messages of the training module already start with "train: ". */
static const char *msg(const mlm_err *e) { return strncmp(e->msg, "train: ", 7) ? e->msg : e->msg + 7; }

static char *summary_json(const mlm_trainer *t, double wall, int threads) {
    char *buf = NULL;
    size_t cap = 0;
    FILE *f = open_memstream(&buf, &cap);
    if (!f) return NULL;
    const mlm_eval_point *ev = t->n_evals ? &t->evals[t->n_evals - 1] : NULL;
    fprintf(f, "{\n  \"model\": \"%s\", \"task\": \"%s\", \"n\": %d, \"steps\": %lld, \"batch\": %d, \"threads\": %d, \"scalar\": \"%s\",\n",
            t->cfg.name, mlm_task_name(t->opts.task.kind), t->opts.task.n, (long long)t->step, t->opts.batch, threads, MLM_REAL_NAME);
    fprintf(f, "  \"wall_seconds\": %.3f, \"train_seconds\": %.3f, \"log_vocab\": %.6f", wall, t->train_seconds, log((double)t->opts.task.vocab));
    if (ev) fprintf(f, ",\n  \"final_eval\": {\"step\": %lld, \"loss\": %.6f, \"first_half\": %.6f, \"second_half\": %.6f}", (long long)ev->step,
                    ev->loss, ev->first_half, ev->second_half);
    if (t->n_snaps) {
        const mlm_headscores *a = &t->snaps[0].s, *b = &t->snaps[t->n_snaps - 1].s;
        int l, h;
        double best = mlm_headscores_max_induction(b, &l, &h);
        double init_ratio = 0, init_prev_ratio = 0;
        for (int i = 0; i < a->n_layers * a->n_heads; i++) {
            if (a->induction[i] / a->ind_chance > init_ratio) init_ratio = a->induction[i] / a->ind_chance;
            if (a->prev[i] / a->prev_chance > init_prev_ratio) init_prev_ratio = a->prev[i] / a->prev_chance;
        }
        fprintf(f, ",\n  \"max_induction\": {\"step\": %lld, \"layer\": %d, \"head\": %d, \"score\": %.6f},", (long long)t->snaps[t->n_snaps - 1].step,
                l, h, best);
        fprintf(f, "\n  \"first_snapshot_step\": %lld, \"first_snapshot_max_induction_over_chance\": %.4f, "
                   "\"first_snapshot_max_prev_over_chance\": %.4f,",
                (long long)t->snaps[0].step, init_ratio, init_prev_ratio);
        fprintf(f, "\n  \"ind_chance\": %.6f, \"prev_chance\": %.6f,\n  \"final_heads\": [", b->ind_chance, b->prev_chance);
        for (int i = 0; i < b->n_layers * b->n_heads; i++)
            fprintf(f, "%s\n    {\"layer\": %d, \"head\": %d, \"prev\": %.6f, \"induction\": %.6f}", i ? "," : "", i / b->n_heads, i % b->n_heads,
                    b->prev[i], b->induction[i]);
        fprintf(f, "\n  ]");
    }
    fprintf(f, "\n}\n");
    if (fclose(f)) { free(buf); return NULL; }
    return buf;
}

int mlm_cmd_train(int argc, char **argv) {
    const char *out = NULL, *task_s = NULL, *text_path = NULL, *config_s = NULL, *snaps_s = NULL, *resume = NULL;
    long n = -1, pmin = -1, band = -1, vocab = -1, steps = -1, batch = -1, seed = -1, eval_every = -1, warmup = -1, ckpt = -1, threads = 0;
    double lr = -1, wd = -1, clip = -1;
    int quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDV() do { if (!v) { fprintf(stderr, "microlm: train: %s needs a value\n", a); return 2; } i++; } while (0)
#define LONGV(dst, lo, hi) do { NEEDV(); if (mlm_arg_long(v, lo, hi, &dst)) { fprintf(stderr, "microlm: train: %s '%s' is not an integer in [%ld, %ld]\n", a, v, (long)(lo), (long)(hi)); return 2; } } while (0)
#define DBLV(dst, lo, hi) do { NEEDV(); if (mlm_arg_double(v, lo, hi, &dst)) { fprintf(stderr, "microlm: train: %s '%s' is not a number in [%g, %g]\n", a, v, (double)(lo), (double)(hi)); return 2; } } while (0)
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else if (!strcmp(a, "--out")) { NEEDV(); out = v; }
        else if (!strcmp(a, "--task")) { NEEDV(); task_s = v; }
        else if (!strcmp(a, "--text")) { NEEDV(); text_path = v; }
        else if (!strcmp(a, "--config")) { NEEDV(); config_s = v; }
        else if (!strcmp(a, "--snapshot-steps")) { NEEDV(); snaps_s = v; }
        else if (!strcmp(a, "--resume")) { NEEDV(); resume = v; }
        else if (!strcmp(a, "--n")) LONGV(n, 2, 4096);
        else if (!strcmp(a, "--vocab")) LONGV(vocab, 4, 1 << 20);
        else if (!strcmp(a, "--pmin")) LONGV(pmin, 2, 1 << 20);
        else if (!strcmp(a, "--band")) LONGV(band, 0, 100000000);
        else if (!strcmp(a, "--steps")) LONGV(steps, 1, 100000000);
        else if (!strcmp(a, "--batch")) LONGV(batch, 1, 65536);
        else if (!strcmp(a, "--seed")) LONGV(seed, 0, 2147483647L);
        else if (!strcmp(a, "--eval-every")) LONGV(eval_every, 0, 100000000);
        else if (!strcmp(a, "--warmup")) LONGV(warmup, 0, 100000000);
        else if (!strcmp(a, "--checkpoint-every")) LONGV(ckpt, 0, 100000000);
        else if (!strcmp(a, "--threads")) LONGV(threads, 1, 1024);
        else if (!strcmp(a, "--lr")) DBLV(lr, 1e-8, 10);
        else if (!strcmp(a, "--weight-decay")) DBLV(wd, 0, 10);
        else if (!strcmp(a, "--clip")) DBLV(clip, 0, 1e9);
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else { fprintf(stderr, "microlm: train: unknown option '%s' (see microlm train --help)\n", a); return 2; }
    }
    if (!out && !resume) { fprintf(stderr, "microlm: train: --out DIR is required\n"); return 2; }
    if (!out) out = resume;
    if (threads > 0) omp_set_num_threads((int)threads);
    mlm_err e = {{0}};
    mlm_trainer *t = NULL;
    unsigned char *text = NULL;
    size_t text_len = 0;
    int rc = 1;
    if (text_path) {
        char *buf = NULL;
        if (mlm_read_file(text_path, (size_t)1 << 30, &buf, &text_len, &e)) { fprintf(stderr, "microlm: train: %s\n", msg(&e)); return 2; }
        text = (unsigned char *)buf;
    }
    if (resume) {
        if (task_s || config_s || n >= 0 || pmin >= 0 || band >= 0 || vocab >= 0 || batch >= 0 || seed >= 0 || lr >= 0 || wd >= 0 || clip >= 0 || warmup >= 0 || snaps_s ||
            eval_every >= 0 || ckpt >= 0) {
            fprintf(stderr, "microlm: train: --resume continues the saved run; only --steps, --out, --text, --threads and --quiet may be given\n");
            free(text);
            return 2;
        }
        t = mlm_trainer_resume(resume, text, text_len, steps > 0 ? steps : 0, out, &e);
        if (!t) { fprintf(stderr, "microlm: train: %s\n", msg(&e)); free(text); return 2; }
    } else {
        mlm_train_opts o;
        mlm_train_default_opts(&o);
        mlm_config cfg;
        int default_cfg = !config_s;
        if (config_s) {
            if (mlm_config_resolve(&cfg, config_s, &e)) { fprintf(stderr, "microlm: train: --config: %s\n", e.msg); free(text); return 2; }
        } else mlm_train_default_config(&cfg);
        if (task_s && mlm_task_parse(task_s, &o.task.kind)) {
            fprintf(stderr, "microlm: train: --task '%s' is not one of repeat, repeat-var, sort, text\n", task_s);
            free(text);
            return 2;
        }
        if (o.task.kind == MLM_TASK_TEXT && !text) { fprintf(stderr, "microlm: train: --task text needs --text FILE\n"); return 2; }
        if (o.task.kind != MLM_TASK_TEXT && text) { fprintf(stderr, "microlm: train: --text needs --task text\n"); free(text); return 2; }
        if (n > 0) o.task.n = (int)n;
        if (pmin > 0) {
            if (o.task.kind != MLM_TASK_REPEAT_VAR) { fprintf(stderr, "microlm: train: --pmin needs --task repeat-var\n"); free(text); return 2; }
            o.task.pmin = (int)pmin;
        }
        if (band > 0) {
            if (o.task.kind != MLM_TASK_REPEAT_VAR) { fprintf(stderr, "microlm: train: --band needs --task repeat-var\n"); free(text); return 2; }
            o.task.band = (int)band;
        }
        if (o.task.kind == MLM_TASK_TEXT) {
            if (vocab > 0 && vocab != 256) { fprintf(stderr, "microlm: train: --task text uses bytes: --vocab must be 256\n"); free(text); return 2; }
            o.task.vocab = 256;
            o.task.text = text;
            o.task.text_len = text_len;
            snprintf(o.text_path, sizeof o.text_path, "%s", text_path);
            if (default_cfg) cfg.vocab_size = 256;
        } else if (vocab > 0) {
            o.task.vocab = (int)vocab;
            if (default_cfg) cfg.vocab_size = (int)vocab;
        } else if (!default_cfg) o.task.vocab = cfg.vocab_size < 64 ? cfg.vocab_size : 64;
        int T = mlm_task_seq_len(&o.task);
        if (default_cfg && cfg.max_seq_len < T) cfg.max_seq_len = T;
        if (steps > 0) o.steps = steps;
        if (batch > 0) o.batch = (int)batch;
        if (seed >= 0) o.seed = (uint64_t)seed;
        if (lr > 0) o.opt.lr = lr;
        if (wd >= 0) o.opt.weight_decay = wd;
        if (clip >= 0) o.opt.clip = clip;
        if (warmup >= 0) o.opt.warmup_steps = warmup;
        if (eval_every >= 0) o.eval_every = (int)eval_every;
        if (ckpt >= 0) o.checkpoint_every = (int)ckpt;
        if (snaps_s) {
            int *list = NULL, cnt = 0;
            if (mlm_arg_int_list(snaps_s, 0, o.steps, MLM_TRAIN_MAX_SNAPSHOTS, &list, &cnt)) {
                fprintf(stderr, "microlm: train: --snapshot-steps '%s' must be increasing steps in [0, %lld] (at most %d)\n", snaps_s,
                        (long long)o.steps, MLM_TRAIN_MAX_SNAPSHOTS);
                free(text);
                return 2;
            }
            o.n_snapshots = cnt;
            for (int k = 0; k < cnt; k++) o.snapshot_steps[k] = list[k];
            free(list);
        } else mlm_train_snapshots_even(&o, 16);
        if (mlm_train_opts_validate(&o, &cfg, &e)) { fprintf(stderr, "microlm: train: %s\n", msg(&e)); free(text); return 2; }
        t = mlm_trainer_new(&cfg, &o, out, &e);
        if (!t) { fprintf(stderr, "microlm: train: %s\n", msg(&e)); free(text); return 1; }
    }
    /* Small models: one thread unless asked. Their kernels are too small for OpenMP's per-kernel
     * barriers to pay off, and on a loaded machine spinning threads cost several times the
     * work (docs/training.md has the measurements). */
    if (threads <= 0 && !getenv("OMP_NUM_THREADS") && t->model->n_params < 1000000) omp_set_num_threads(1);
    const int nthreads = omp_get_max_threads();
    /* the output directory must be usable before minutes of training, not after */
    if (mkdir(out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "microlm: train: cannot create directory '%s': %s\n", out, strerror(errno));
        goto done;
    }
    struct stat sb;
    char probe_path[1100];
    snprintf(probe_path, sizeof probe_path, "%s/.write-test", out);
    FILE *pf = stat(out, &sb) == 0 && S_ISDIR(sb.st_mode) ? fopen(probe_path, "w") : NULL;
    if (!pf) {
        fprintf(stderr, "microlm: train: '%s' is not a writable directory\n", out);
        goto done;
    }
    fclose(pf);
    remove(probe_path);
    progress pr = {isatty(STDOUT_FILENO), quiet, t->opts.steps / 20 > 0 ? t->opts.steps / 20 : 1, -1, 0};
    if (!quiet) {
        printf("train %s (d %d, %d layers, %d heads, d_ff %d, vocab %d, %lld parameters) on task %s, n %d, T %d, batch %d\n", t->cfg.name,
               t->cfg.d_model, t->cfg.n_layers, t->cfg.n_heads, t->cfg.d_ff, t->cfg.vocab_size, (long long)t->model->n_params,
               mlm_task_name(t->opts.task.kind), t->opts.task.n, t->T, t->opts.batch);
        printf("  steps %lld (from %lld), lr %g, warmup %lld, cosine to %g, weight decay %g, clip %g, seed %llu, %d thread%s, %s\n",
               (long long)t->opts.steps, (long long)t->step, t->opt->cfg.lr, (long long)t->opt->cfg.warmup_steps, t->opt->cfg.lr * t->opt->cfg.min_lr_frac,
               t->opt->cfg.weight_decay, t->opt->cfg.clip, (unsigned long long)t->opts.seed, nthreads, nthreads == 1 ? "" : "s", MLM_REAL_NAME);
        fflush(stdout);
    }
    double t0 = mlm_now();
    if (mlm_trainer_run(t, t->opts.steps, on_event, &pr, &e)) {
        if (pr.tty && !quiet) printf("\n");
        fprintf(stderr, "microlm: train: %s\n", msg(&e));
        goto done;
    }
    double wall = mlm_now() - t0;
    print_table(t);
    if (t->n_evals) {
        const mlm_eval_point *ev = &t->evals[t->n_evals - 1];
        printf("held-out loss at step %lld: %.4f  first half %.4f  second half %.4f  (log vocab %.4f)\n", (long long)ev->step, ev->loss,
               ev->first_half, ev->second_half, log((double)t->opts.task.vocab));
    }
    char *sj = summary_json(t, wall, nthreads), path[1100];
    snprintf(path, sizeof path, "%s/summary.json", out);
    if (!sj || mlm_write_file_atomic(path, sj, strlen(sj), &e)) {
        fprintf(stderr, "microlm: train: %s\n", sj ? e.msg : "out of memory");
        free(sj);
        goto done;
    }
    free(sj);
    printf("trained %lld steps in %.1f s (%d thread%s); wrote %s/{%s,optim.bin,config.json,train.json,loss.json,heads.json,summary.json}\n",
           (long long)t->step, wall, nthreads, nthreads == 1 ? "" : "s", out, mlm_llama2c_can_express(&t->cfg, NULL) ? "model.bin" : "model.mlmw");
    rc = 0;
done:
    mlm_trainer_free(t);
    free(text);
    return rc;
}
