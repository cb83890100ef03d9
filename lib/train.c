/* train.c - the training loop, evaluation, score snapshots, checkpoints and resume of
 * train.h. */
#include "train.h"
#include "checkpoint.h"
#include "model_io.h"
#include "rng.h"

#include <cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- defaults ------------------------------------------------------------------------- */

void mlm_train_default_config(mlm_config *c) {
    mlm_config_default(c);
    snprintf(c->name, sizeof c->name, "induction-2l");
    c->d_model = 64;
    c->n_layers = 2;
    c->n_heads = 4;
    c->n_kv_heads = 4;
    c->head_dim = 16;
    c->d_ff = 128;
    c->vocab_size = 64;
    c->max_seq_len = 128;
    c->rope_theta = 10000.0;
    c->rope_scaling = 0;
    c->norm_eps = 1e-5;
    c->tied = 0;
    c->norm_pos = MLM_PRENORM;
    c->ffn = MLM_FFN_SWIGLU;
    c->sliding_window = 0;
    snprintf(c->source, sizeof c->source, "MicroLM Lab pinned training model (lib/train.c, docs/training.md)");
}

void mlm_train_default_opts(mlm_train_opts *o) {
    memset(o, 0, sizeof *o);
    o->task.kind = MLM_TASK_REPEAT;
    o->task.n = 32;
    o->task.vocab = 64;
    o->batch = 8;
    o->steps = 400;
    o->seed = 42;
    mlm_adamw_cfg_default(&o->opt);
    o->opt.lr = 3e-3;
    o->opt.weight_decay = 0.05;
    o->opt.warmup_steps = 30;
    o->opt.total_steps = 0;
    o->eval_every = 50;
    o->eval_batch = 32;
    o->score_batch = 16;
    mlm_train_snapshots_even(o, 16);
    o->checkpoint_every = 0;
}

void mlm_train_snapshots_even(mlm_train_opts *o, int k) {
    if (k < 1) k = 1;
    if (k > MLM_TRAIN_MAX_SNAPSHOTS - 1) k = MLM_TRAIN_MAX_SNAPSHOTS - 1;
    o->n_snapshots = 0;
    for (int i = 0; i <= k; i++) {
        int64_t s = o->steps * i / k;
        if (o->n_snapshots && o->snapshot_steps[o->n_snapshots - 1] == s) continue;
        o->snapshot_steps[o->n_snapshots++] = s;
    }
}

mlm_status mlm_train_opts_validate(const mlm_train_opts *o, const mlm_config *cfg, mlm_err *e) {
    if (!o || !cfg) return mlm_fail(e, MLM_EINVAL, "train: NULL options or config");
    mlm_status st = mlm_config_validate(cfg, "train", e);
    if (st) return st;
    st = mlm_task_validate(&o->task, e);
    if (st) return st;
    st = mlm_adamw_cfg_validate(&o->opt, e);
    if (st) return st;
    if (o->task.vocab > cfg->vocab_size)
        return mlm_fail(e, MLM_EINVAL, "train: task %s needs vocab %d but the model has %d", mlm_task_name(o->task.kind),
                        o->task.vocab, cfg->vocab_size);
    int T = mlm_task_seq_len(&o->task);
    if (T > cfg->max_seq_len || 2 * o->task.n > cfg->max_seq_len)
        return mlm_fail(e, MLM_EINVAL, "train: task %s with n %d needs sequences of %d but the model's max_seq_len is %d",
                        mlm_task_name(o->task.kind), o->task.n, T, cfg->max_seq_len);
    if (o->batch < 1 || o->batch > 65536) return mlm_fail(e, MLM_EINVAL, "train: batch (%d) must be in [1, 65536]", o->batch);
    if (o->steps < 1 || o->steps > 100000000) return mlm_fail(e, MLM_EINVAL, "train: steps (%lld) must be in [1, 1e8]", (long long)o->steps);
    if (o->seed > ((uint64_t)1 << 53)) return mlm_fail(e, MLM_EINVAL, "train: seed must be below 2^53");
    if (o->eval_every < 0) return mlm_fail(e, MLM_EINVAL, "train: eval_every (%d) must be >= 0", o->eval_every);
    if (o->eval_batch < 1 || o->eval_batch > 65536) return mlm_fail(e, MLM_EINVAL, "train: eval_batch (%d) must be in [1, 65536]", o->eval_batch);
    if (o->score_batch < 1 || o->score_batch > 65536) return mlm_fail(e, MLM_EINVAL, "train: score_batch (%d) must be in [1, 65536]", o->score_batch);
    if (o->checkpoint_every < 0) return mlm_fail(e, MLM_EINVAL, "train: checkpoint_every (%d) must be >= 0", o->checkpoint_every);
    if (o->n_snapshots < 0 || o->n_snapshots > MLM_TRAIN_MAX_SNAPSHOTS)
        return mlm_fail(e, MLM_EINVAL, "train: %d snapshot steps (at most %d)", o->n_snapshots, MLM_TRAIN_MAX_SNAPSHOTS);
    for (int i = 0; i < o->n_snapshots; i++) {
        if (o->snapshot_steps[i] < 0 || o->snapshot_steps[i] > o->steps)
            return mlm_fail(e, MLM_EINVAL, "train: snapshot step %lld outside [0, %lld]", (long long)o->snapshot_steps[i], (long long)o->steps);
        if (i && o->snapshot_steps[i] <= o->snapshot_steps[i - 1])
            return mlm_fail(e, MLM_EINVAL, "train: snapshot steps must increase (%lld after %lld)", (long long)o->snapshot_steps[i],
                            (long long)o->snapshot_steps[i - 1]);
    }
    if (o->n_snapshots && 2 * o->task.n > cfg->max_seq_len) return mlm_fail(e, MLM_EINVAL, "train: head scores need 2n <= max_seq_len");
    return MLM_OK;
}

/* ---- trainer -------------------------------------------------------------------------- */

void mlm_trainer_free(mlm_trainer *t) {
    if (!t) return;
    mlm_model_free(t->model);
    mlm_adamw_free(t->opt);
    mlm_acts_free(t->acts);
    mlm_grads_free(t->grads);
    free(t->tokens);
    free(t->targets);
    free(t->loss_hist);
    free(t->lr_hist);
    free(t->gnorm_hist);
    free(t->evals);
    for (int i = 0; i < t->n_snaps; i++) mlm_headscores_free(&t->snaps[i].s);
    free(t->snaps);
    free(t);
}

/* Everything but the weights' values and the optimizer state. */
static mlm_trainer *trainer_alloc(const mlm_config *cfg, const mlm_train_opts *o, const char *out_dir, mlm_err *e) {
    if (mlm_train_opts_validate(o, cfg, e)) return NULL;
    if (out_dir && strlen(out_dir) >= sizeof ((mlm_trainer *)0)->out_dir) {
        mlm_fail(e, MLM_EINVAL, "train: output directory name too long");
        return NULL;
    }
    mlm_trainer *t = calloc(1, sizeof *t);
    if (!t) { mlm_fail(e, MLM_ENOMEM, "train: out of memory"); return NULL; }
    t->cfg = *cfg;
    t->opts = *o;
    if (t->opts.opt.total_steps == 0) t->opts.opt.total_steps = o->steps;
    t->T = mlm_task_seq_len(&o->task);
    if (out_dir) snprintf(t->out_dir, sizeof t->out_dir, "%s", out_dir);
    const size_t BT = (size_t)o->batch * (size_t)t->T, S = (size_t)o->steps;
    t->model = mlm_model_new(cfg, e);
    if (!t->model) goto fail;
    t->acts = mlm_acts_new(cfg, o->batch, t->T, 1, e);
    if (!t->acts) goto fail;
    t->grads = mlm_grads_new(cfg, o->batch, t->T, e);
    if (!t->grads) goto fail;
    if (t->grads->n_params != t->model->n_params) {
        mlm_fail(e, MLM_EINVAL, "train: gradient layout (%lld) differs from the model's (%lld)", (long long)t->grads->n_params,
                 (long long)t->model->n_params);
        goto fail;
    }
    t->tokens = malloc(BT * sizeof(int));
    t->targets = malloc(BT * sizeof(int));
    t->loss_hist = calloc(S, sizeof(double));
    t->lr_hist = calloc(S, sizeof(double));
    t->gnorm_hist = calloc(S, sizeof(double));
    if (!t->tokens || !t->targets || !t->loss_hist || !t->lr_hist || !t->gnorm_hist) {
        mlm_fail(e, MLM_ENOMEM, "train: out of memory");
        goto fail;
    }
    return t;
fail:
    mlm_trainer_free(t);
    return NULL;
}

mlm_trainer *mlm_trainer_new(const mlm_config *cfg, const mlm_train_opts *o, const char *out_dir, mlm_err *e) {
    mlm_trainer *t = trainer_alloc(cfg, o, out_dir, e);
    if (!t) return NULL;
    mlm_init_opts io = {o->seed, 0};
    mlm_model_init(t->model, &io);
    t->opt = mlm_adamw_new(&t->opts.opt, t->model->n_params, e);
    if (!t->opt || mlm_adamw_decay_from_layout(t->opt, t->model->tensors, t->model->n_tensors, e)) {
        mlm_trainer_free(t);
        return NULL;
    }
    return t;
}

mlm_status mlm_trainer_step(mlm_trainer *t, double *loss, mlm_err *e) {
    if (!t) return mlm_fail(e, MLM_EINVAL, "train step: NULL trainer");
    if (t->step >= t->opts.steps) return mlm_fail(e, MLM_EINVAL, "train step: the run's %lld steps are done", (long long)t->opts.steps);
    const int B = t->opts.batch, T = t->T;
    mlm_status st = mlm_task_batch(&t->opts.task, t->opts.seed, (uint64_t)t->step, 0, B, t->tokens, t->targets, NULL, e);
    if (st) return st;
    mlm_grads_zero(t->grads);
    const mlm_fwd_opts fo = {.no_probs = 1}; /* the cross-entropy backward makes its own softmax */
    st = mlm_forward(t->model, t->acts, t->tokens, B, T, &fo, NULL, e);
    double l = 0;
    if (!st) st = mlm_backward(t->model, t->acts, t->grads, t->tokens, t->targets, B, T, NULL, NULL, &l, e);
    if (st) return st;
    if (!isfinite(l)) return mlm_fail(e, MLM_EINVAL, "train: the loss is not finite at step %lld (diverged; lower the lr)", (long long)t->step + 1);
    double gn = 0, lr = mlm_lr_at(&t->opt->cfg, t->opt->step + 1);
    st = mlm_adamw_step_clipped(t->opt, t->model->mem, t->grads->mem, lr, &gn, e);
    if (st) return st;
    t->loss_hist[t->step] = l;
    t->lr_hist[t->step] = lr;
    t->gnorm_hist[t->step] = gn;
    t->step++;
    if (loss) *loss = l;
    return MLM_OK;
}

/* Mean cross-entropy of rows from the logits, split by part. */
mlm_status mlm_trainer_eval(const mlm_trainer *t, mlm_eval_point *out, mlm_err *e) {
    if (!t || !out) return mlm_fail(e, MLM_EINVAL, "train eval: NULL argument");
    const int B = t->opts.eval_batch, T = t->T, V = t->cfg.vocab_size;
    int *tok = malloc(sizeof(int) * (size_t)B * T), *tg = malloc(sizeof(int) * (size_t)B * T);
    unsigned char *part = malloc((size_t)B * T);
    mlm_acts *a = mlm_acts_new(&t->cfg, B, T, 0, e);
    mlm_status st = MLM_OK;
    if (!a) { st = MLM_EINVAL; goto done; }
    if (!tok || !tg || !part) { st = mlm_fail(e, MLM_ENOMEM, "train eval: out of memory"); goto done; }
    st = mlm_task_batch(&t->opts.task, t->opts.seed, 0, 1, B, tok, tg, part, e);
    if (!st) st = mlm_forward(t->model, a, tok, B, T, NULL, NULL, e);
    if (st) goto done;
    double sum[2] = {0, 0};
    int64_t cnt[2] = {0, 0};
    for (int b = 0; b < B; b++)
        for (int i = 0; i < T; i++) {
            const mlm_real *lg = a->logits + ((size_t)b * T + (size_t)i) * (size_t)V;
            double mx = (double)lg[0];
            for (int v = 1; v < V; v++) if ((double)lg[v] > mx) mx = (double)lg[v];
            double z = 0;
            for (int v = 0; v < V; v++) z += exp((double)lg[v] - mx);
            double nll = mx + log(z) - (double)lg[tg[(size_t)b * T + i]];
            const int k = part[(size_t)b * T + i];
            sum[k] += nll;
            cnt[k]++;
        }
    out->step = t->step;
    out->loss = (sum[0] + sum[1]) / (double)(cnt[0] + cnt[1]);
    out->first_half = cnt[0] ? sum[0] / (double)cnt[0] : 0;
    out->second_half = cnt[1] ? sum[1] / (double)cnt[1] : 0;
done:
    mlm_acts_free(a);
    free(tok);
    free(tg);
    free(part);
    return st;
}

mlm_status mlm_trainer_scores(const mlm_trainer *t, mlm_headscores *s, mlm_err *e) {
    if (!t || !s) return mlm_fail(e, MLM_EINVAL, "train scores: NULL argument");
    mlm_task rep = {MLM_TASK_REPEAT, t->opts.task.n, t->cfg.vocab_size, NULL, 0, 0, 0};
    const int B = t->opts.score_batch, T = mlm_task_seq_len(&rep);
    int *tok = malloc(sizeof(int) * (size_t)B * T), *tg = malloc(sizeof(int) * (size_t)B * T);
    mlm_status st;
    if (!tok || !tg) st = mlm_fail(e, MLM_ENOMEM, "train scores: out of memory");
    else {
        st = mlm_task_batch(&rep, t->opts.seed, 0, 1, B, tok, tg, NULL, e);
        if (!st) st = mlm_headscore_model(t->model, tok, B, T, rep.n, 1, s, e);
    }
    free(tok);
    free(tg);
    return st;
}

static int has_snapshot_at(const mlm_trainer *t, int64_t step) {
    for (int i = 0; i < t->n_snaps; i++) if (t->snaps[i].step == step) return 1;
    return 0;
}

static int is_listed(const mlm_trainer *t, int64_t step) {
    for (int i = 0; i < t->opts.n_snapshots; i++) if (t->opts.snapshot_steps[i] == step) return 1;
    return 0;
}

static mlm_status maybe_snapshot(mlm_trainer *t, const mlm_score_snapshot **made, mlm_err *e) {
    *made = NULL;
    if (!is_listed(t, t->step) || has_snapshot_at(t, t->step)) return MLM_OK;
    if (t->n_snaps == t->cap_snaps) {
        int cap = t->cap_snaps ? 2 * t->cap_snaps : 16;
        mlm_score_snapshot *p = realloc(t->snaps, sizeof *p * (size_t)cap);
        if (!p) return mlm_fail(e, MLM_ENOMEM, "train: out of memory");
        t->snaps = p;
        t->cap_snaps = cap;
    }
    mlm_score_snapshot *s = &t->snaps[t->n_snaps];
    s->step = t->step;
    mlm_status st = mlm_trainer_scores(t, &s->s, e);
    if (st) return st;
    t->n_snaps++;
    *made = s;
    return MLM_OK;
}

static mlm_status add_eval(mlm_trainer *t, const mlm_eval_point **made, mlm_err *e) {
    if (t->n_evals == t->cap_evals) {
        int cap = t->cap_evals ? 2 * t->cap_evals : 32;
        mlm_eval_point *p = realloc(t->evals, sizeof *p * (size_t)cap);
        if (!p) return mlm_fail(e, MLM_ENOMEM, "train: out of memory");
        t->evals = p;
        t->cap_evals = cap;
    }
    mlm_status st = mlm_trainer_eval(t, &t->evals[t->n_evals], e);
    if (st) return st;
    *made = &t->evals[t->n_evals++];
    return MLM_OK;
}

mlm_status mlm_trainer_run(mlm_trainer *t, int64_t until, mlm_train_cb cb, void *user, mlm_err *e) {
    if (!t) return mlm_fail(e, MLM_EINVAL, "train run: NULL trainer");
    if (until > t->opts.steps) until = t->opts.steps;
    const double t0 = mlm_now(), base_seconds = t->train_seconds;
    const int64_t step0 = t->step;
    const double tok_per_step = (double)t->opts.batch * t->T;
    mlm_train_event ev;
    memset(&ev, 0, sizeof ev);
    ev.steps = t->opts.steps;
    const mlm_score_snapshot *snap;
    mlm_status st = maybe_snapshot(t, &snap, e);
    if (st) return st;
    if (snap && cb) {
        ev.kind = MLM_EV_SNAPSHOT;
        ev.step = t->step;
        ev.snapshot = snap;
        if (cb(&ev, user)) return MLM_OK;
    }
    int stop = 0;
    while (t->step < until && !stop) {
        double loss;
        st = mlm_trainer_step(t, &loss, e);
        if (st) return st;
        double now = mlm_now();
        t->train_seconds = base_seconds + (now - t0);
        memset(&ev, 0, sizeof ev);
        ev.steps = t->opts.steps;
        ev.step = t->step;
        ev.loss = loss;
        ev.lr = t->lr_hist[t->step - 1];
        ev.grad_norm = t->gnorm_hist[t->step - 1];
        ev.elapsed = now - t0;
        ev.tokens_per_s = ev.elapsed > 0 ? tok_per_step * (double)(t->step - step0) / ev.elapsed : 0;
        ev.eta = ev.elapsed / (double)(t->step - step0) * (double)(t->opts.steps - t->step);
        ev.kind = MLM_EV_STEP;
        if (cb && cb(&ev, user)) stop = 1;
        st = maybe_snapshot(t, &snap, e);
        if (st) return st;
        if (snap && cb) {
            ev.kind = MLM_EV_SNAPSHOT;
            ev.snapshot = snap;
            if (cb(&ev, user)) stop = 1;
        }
        const int last = t->step == t->opts.steps;
        if ((t->opts.eval_every && t->step % t->opts.eval_every == 0) || last) {
            const mlm_eval_point *ep = NULL;
            st = add_eval(t, &ep, e);
            if (st) return st;
            ev.kind = MLM_EV_EVAL;
            ev.eval = ep;
            if (cb && cb(&ev, user)) stop = 1;
        }
        if (t->out_dir[0] && ((t->opts.checkpoint_every && t->step % t->opts.checkpoint_every == 0) || last)) {
            t->train_seconds = base_seconds + (mlm_now() - t0);
            st = mlm_trainer_save(t, t->out_dir, e);
            if (st) return st;
            ev.kind = MLM_EV_CHECKPOINT;
            if (cb && cb(&ev, user)) stop = 1;
        }
    }
    t->train_seconds = base_seconds + (mlm_now() - t0);
    return MLM_OK;
}

/* ---- JSON output ------------------------------------------------------------------------ */

typedef struct { char *s; size_t len, cap; int oom; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static void sb_printf(sbuf *b, const char *fmt, ...) {
    if (b->oom) return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? b->cap - b->len : 0, fmt, ap);
        va_end(ap);
        if (k < 0) { b->oom = 1; return; }
        if (b->s && b->len + (size_t)k < b->cap) { b->len += (size_t)k; return; }
        size_t cap = b->cap ? b->cap * 2 : 4096;
        while (cap < b->len + (size_t)k + 1) cap *= 2;
        char *p = realloc(b->s, cap);
        if (!p) { b->oom = 1; return; }
        b->s = p;
        b->cap = cap;
    }
}

static char *sb_done(sbuf *b) {
    if (b->oom) { free(b->s); return NULL; }
    return b->s;
}

/* A double as JSON: shortest round-trip form, null when not finite. */
static void sb_num(sbuf *b, double v) {
    if (!isfinite(v)) { sb_printf(b, "null"); return; }
    sb_printf(b, "%.17g", v);
}

static void sb_str(sbuf *b, const char *s) {
    sb_printf(b, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') sb_printf(b, "\\%c", c);
        else if (c < 0x20) sb_printf(b, "\\u%04x", c);
        else sb_printf(b, "%c", c);
    }
    sb_printf(b, "\"");
}

char *mlm_trainer_loss_json(const mlm_trainer *t) {
    sbuf b = {0};
    sb_printf(&b, "{\n  \"task\": \"%s\", \"n\": %d, \"vocab\": %d, \"batch\": %d, \"seq_len\": %d,\n", mlm_task_name(t->opts.task.kind),
              t->opts.task.n, t->opts.task.vocab, t->opts.batch, t->T);
    sb_printf(&b, "  \"log_vocab\": ");
    sb_num(&b, log((double)t->opts.task.vocab));
    sb_printf(&b, ", \"steps_done\": %lld, \"steps\": %lld, \"train_seconds\": ", (long long)t->step, (long long)t->opts.steps);
    sb_num(&b, t->train_seconds);
    const char *names[3] = {"loss", "lr", "grad_norm"};
    const double *arr[3] = {t->loss_hist, t->lr_hist, t->gnorm_hist};
    for (int k = 0; k < 3; k++) {
        sb_printf(&b, ",\n  \"%s\": [", names[k]);
        for (int64_t i = 0; i < t->step; i++) {
            if (i) sb_printf(&b, ", ");
            sb_num(&b, arr[k][i]);
        }
        sb_printf(&b, "]");
    }
    sb_printf(&b, ",\n  \"evals\": [");
    for (int i = 0; i < t->n_evals; i++) {
        const mlm_eval_point *p = &t->evals[i];
        sb_printf(&b, "%s\n    {\"step\": %lld, \"loss\": ", i ? "," : "", (long long)p->step);
        sb_num(&b, p->loss);
        sb_printf(&b, ", \"first_half\": ");
        sb_num(&b, p->first_half);
        sb_printf(&b, ", \"second_half\": ");
        sb_num(&b, p->second_half);
        sb_printf(&b, "}");
    }
    sb_printf(&b, "\n  ]\n}\n");
    return sb_done(&b);
}

char *mlm_trainer_heads_json(const mlm_trainer *t) {
    sbuf b = {0};
    sb_printf(&b, "{\n  \"definitions\": \"attention maps of a held-out batch of the repeat task (BOS x_1..x_n x_1..x_n); "
                  "prev = mean A[i, i-1] over rows 1..T-1; induction = mean A[i, i-n+1] over rows n+1..T-1; chance = mean 1/(i+1) over "
                  "the same rows (docs/training.md)\",\n");
    sb_printf(&b, "  \"model\": ");
    sb_str(&b, t->cfg.name);
    sb_printf(&b, ", \"n_layers\": %d, \"n_heads\": %d, \"n\": %d, \"offset\": 1, \"batch\": %d, \"seq_len\": %d,\n  \"snapshots\": [",
              t->cfg.n_layers, t->cfg.n_heads, t->opts.task.n, t->opts.score_batch, 2 * t->opts.task.n);
    for (int i = 0; i < t->n_snaps; i++) {
        const mlm_headscores *s = &t->snaps[i].s;
        sb_printf(&b, "%s\n    {\"step\": %lld, \"prev_chance\": ", i ? "," : "", (long long)t->snaps[i].step);
        sb_num(&b, s->prev_chance);
        sb_printf(&b, ", \"ind_chance\": ");
        sb_num(&b, s->ind_chance);
        for (int k = 0; k < 2; k++) {
            const double *v = k ? s->induction : s->prev;
            sb_printf(&b, ",\n     \"%s\": [", k ? "induction" : "prev");
            for (int l = 0; l < s->n_layers; l++) {
                sb_printf(&b, "%s[", l ? ", " : "");
                for (int h = 0; h < s->n_heads; h++) {
                    if (h) sb_printf(&b, ", ");
                    sb_num(&b, v[(size_t)l * s->n_heads + h]);
                }
                sb_printf(&b, "]");
            }
            sb_printf(&b, "]");
        }
        sb_printf(&b, "}");
    }
    sb_printf(&b, "\n  ]\n}\n");
    return sb_done(&b);
}

static uint64_t fnv1a(const unsigned char *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++) { h ^= p[i]; h *= 0x100000001b3ull; }
    return h;
}

static char *train_json(const mlm_trainer *t, const char *weights) {
    const mlm_train_opts *o = &t->opts;
    sbuf b = {0};
    sb_printf(&b, "{\n  \"version\": 1, \"task\": \"%s\", \"n\": %d, \"vocab\": %d, \"pmin\": %d, \"band\": %d,\n  \"text_path\": ",
              mlm_task_name(o->task.kind), o->task.n, o->task.vocab, o->task.pmin, o->task.band);
    sb_str(&b, o->text_path);
    sb_printf(&b, ", \"text_len\": %zu, \"text_hash\": \"%016llx\",\n", o->task.kind == MLM_TASK_TEXT ? o->task.text_len : (size_t)0,
              o->task.kind == MLM_TASK_TEXT ? (unsigned long long)fnv1a(o->task.text, o->task.text_len) : 0ull);
    sb_printf(&b, "  \"batch\": %d, \"steps\": %lld, \"seed\": %llu, \"eval_every\": %d, \"eval_batch\": %d, \"score_batch\": %d, "
                  "\"checkpoint_every\": %d,\n  \"snapshot_steps\": [",
              o->batch, (long long)o->steps, (unsigned long long)o->seed, o->eval_every, o->eval_batch, o->score_batch,
              o->checkpoint_every);
    for (int i = 0; i < o->n_snapshots; i++) sb_printf(&b, "%s%lld", i ? ", " : "", (long long)o->snapshot_steps[i]);
    sb_printf(&b, "],\n  \"step\": %lld, \"train_seconds\": ", (long long)t->step);
    sb_num(&b, t->train_seconds);
    sb_printf(&b, ",\n  \"weights\": \"%s\", \"optimizer\": \"optim.bin\", \"config\": \"config.json\", \"scalar\": \"%s\"\n}\n", weights,
              MLM_REAL_NAME);
    return sb_done(&b);
}

static mlm_status write_text(const char *dir, const char *name, char *text, mlm_err *e) {
    char path[1024];
    if (!text) return mlm_fail(e, MLM_ENOMEM, "train: out of memory writing %s", name);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    mlm_status st = mlm_write_file_atomic(path, text, strlen(text), e);
    free(text);
    return st;
}

mlm_status mlm_trainer_save(const mlm_trainer *t, const char *dir, mlm_err *e) {
    if (!t || !dir || !dir[0]) return mlm_fail(e, MLM_EINVAL, "train save: NULL trainer or directory");
    if (strlen(dir) > 900) return mlm_fail(e, MLM_EINVAL, "train save: directory name too long");
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return mlm_fail(e, MLM_EIO, "train: cannot create directory '%s': %s", dir, strerror(errno));
    struct stat sbuf_;
    if (stat(dir, &sbuf_) != 0 || !S_ISDIR(sbuf_.st_mode)) return mlm_fail(e, MLM_EIO, "train: '%s' is not a directory", dir);
    char path[1024];
    const char *weights = mlm_llama2c_can_express(&t->cfg, NULL) ? "model.bin" : "model.mlmw";
    snprintf(path, sizeof path, "%s/%s", dir, weights);
    mlm_status st = strcmp(weights, "model.bin") ? mlm_model_save(t->model, path, e) : mlm_llama2c_save(t->model, path, e);
    if (st) return st;
    snprintf(path, sizeof path, "%s/optim.bin", dir);
    if ((st = mlm_adamw_save(t->opt, path, e))) return st;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if ((st = mlm_config_save(&t->cfg, path, e))) return st;
    if ((st = write_text(dir, "loss.json", mlm_trainer_loss_json(t), e))) return st;
    if ((st = write_text(dir, "heads.json", mlm_trainer_heads_json(t), e))) return st;
    return write_text(dir, "train.json", train_json(t, weights), e); /* last: marks a complete checkpoint */
}

/* ---- resume ----------------------------------------------------------------------------- */

static cJSON *load_json(const char *dir, const char *name, mlm_err *e) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    char *text = NULL;
    size_t len = 0;
    if (mlm_read_file(path, (size_t)1 << 30, &text, &len, e)) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!j) mlm_fail(e, MLM_EFORMAT, "resume: '%s' is not valid JSON", path);
    return j;
}

/* Integer field in [lo, hi]; -1 with a message when absent or out of range. */
static int json_int(const cJSON *o, const char *key, double lo, double hi, int64_t *out, const char *where, mlm_err *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || v->valuedouble < lo || v->valuedouble > hi) {
        mlm_fail(e, MLM_EFORMAT, "resume: %s: \"%s\" missing or not an integer in [%.0f, %.0f]", where, key, lo, hi);
        return -1;
    }
    *out = (int64_t)v->valuedouble;
    return 0;
}

/* Reads a numeric array of exactly n entries (null -> NaN) into dst. */
static int json_array(const cJSON *o, const char *key, double *dst, int64_t n, const char *where, mlm_err *e) {
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) {
        mlm_fail(e, MLM_EFORMAT, "resume: %s: \"%s\" must be an array of %lld numbers", where, key, (long long)n);
        return -1;
    }
    int64_t i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, a) {
        if (cJSON_IsNumber(x)) dst[i] = x->valuedouble;
        else if (cJSON_IsNull(x)) dst[i] = NAN;
        else { mlm_fail(e, MLM_EFORMAT, "resume: %s: \"%s\"[%lld] is not a number", where, key, (long long)i); return -1; }
        i++;
    }
    return 0;
}

static int json_num(const cJSON *o, const char *key, double *out, const char *where, mlm_err *e) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(v)) { mlm_fail(e, MLM_EFORMAT, "resume: %s: \"%s\" missing or not a number", where, key); return -1; }
    *out = v->valuedouble;
    return 0;
}

mlm_trainer *mlm_trainer_resume(const char *dir, const unsigned char *text, size_t text_len, int64_t steps,
                                const char *out_dir, mlm_err *e) {
    if (!dir) { mlm_fail(e, MLM_EINVAL, "resume: NULL directory"); return NULL; }
    if (strlen(dir) > 900) { mlm_fail(e, MLM_EINVAL, "resume: directory name too long"); return NULL; }
    mlm_trainer *t = NULL;
    mlm_model *loaded = NULL;
    cJSON *tj = NULL, *lj = NULL, *hj = NULL;
    mlm_config cfg;
    char path[1024];
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (mlm_config_load(&cfg, path, e)) goto fail;
    if (!(tj = load_json(dir, "train.json", e))) goto fail;
    mlm_train_opts o;
    memset(&o, 0, sizeof o);
    int64_t v, step;
    const cJSON *s = cJSON_GetObjectItemCaseSensitive(tj, "task");
    if (!cJSON_IsString(s) || mlm_task_parse(s->valuestring, &o.task.kind)) { mlm_fail(e, MLM_EFORMAT, "resume: train.json: bad \"task\""); goto fail; }
    if (json_int(tj, "version", 1, 1, &v, "train.json", e)) goto fail;
    if (json_int(tj, "n", 2, 1 << 20, &v, "train.json", e)) goto fail;
    o.task.n = (int)v;
    if (json_int(tj, "vocab", 3, 1 << 24, &v, "train.json", e)) goto fail;
    o.task.vocab = (int)v;
    if (cJSON_GetObjectItemCaseSensitive(tj, "pmin")) { /* absent in runs saved before repeat-var: 0 */
        if (json_int(tj, "pmin", 0, 1 << 20, &v, "train.json", e)) goto fail;
        o.task.pmin = (int)v;
    }
    if (cJSON_GetObjectItemCaseSensitive(tj, "band")) {
        if (json_int(tj, "band", 0, 1e8, &v, "train.json", e)) goto fail;
        o.task.band = (int)v;
    }
    if (json_int(tj, "batch", 1, 65536, &v, "train.json", e)) goto fail;
    o.batch = (int)v;
    if (json_int(tj, "steps", 1, 1e8, &v, "train.json", e)) goto fail;
    o.steps = v;
    if (json_int(tj, "seed", 0, 9007199254740992.0, &v, "train.json", e)) goto fail;
    o.seed = (uint64_t)v;
    if (json_int(tj, "eval_every", 0, 1e8, &v, "train.json", e)) goto fail;
    o.eval_every = (int)v;
    if (json_int(tj, "eval_batch", 1, 65536, &v, "train.json", e)) goto fail;
    o.eval_batch = (int)v;
    if (json_int(tj, "score_batch", 1, 65536, &v, "train.json", e)) goto fail;
    o.score_batch = (int)v;
    if (json_int(tj, "checkpoint_every", 0, 1e8, &v, "train.json", e)) goto fail;
    o.checkpoint_every = (int)v;
    if (json_int(tj, "step", 0, (double)o.steps, &step, "train.json", e)) goto fail;
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(tj, "snapshot_steps");
    if (!cJSON_IsArray(ss) || cJSON_GetArraySize(ss) > MLM_TRAIN_MAX_SNAPSHOTS) { mlm_fail(e, MLM_EFORMAT, "resume: train.json: bad \"snapshot_steps\""); goto fail; }
    const cJSON *x;
    cJSON_ArrayForEach(x, ss) {
        if (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > 1e8) { mlm_fail(e, MLM_EFORMAT, "resume: train.json: bad snapshot step"); goto fail; }
        o.snapshot_steps[o.n_snapshots++] = (int64_t)x->valuedouble;
    }
    const cJSON *tp = cJSON_GetObjectItemCaseSensitive(tj, "text_path");
    if (cJSON_IsString(tp)) snprintf(o.text_path, sizeof o.text_path, "%s", tp->valuestring);
    if (o.task.kind == MLM_TASK_TEXT) {
        const cJSON *tl = cJSON_GetObjectItemCaseSensitive(tj, "text_len"), *th = cJSON_GetObjectItemCaseSensitive(tj, "text_hash");
        char hash[32];
        snprintf(hash, sizeof hash, "%016llx", text ? (unsigned long long)fnv1a(text, text_len) : 0ull);
        if (!text || !cJSON_IsNumber(tl) || (size_t)tl->valuedouble != text_len || !cJSON_IsString(th) || strcmp(th->valuestring, hash)) {
            mlm_fail(e, MLM_EINVAL, "resume: the run trained on text '%s'; pass the same file (length and hash differ)", o.text_path);
            goto fail;
        }
        o.task.text = text;
        o.task.text_len = text_len;
    }
    double secs;
    if (json_num(tj, "train_seconds", &secs, "train.json", e)) goto fail;
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(tj, "weights");
    if (!cJSON_IsString(w) || (strcmp(w->valuestring, "model.bin") && strcmp(w->valuestring, "model.mlmw"))) {
        mlm_fail(e, MLM_EFORMAT, "resume: train.json: \"weights\" must be model.bin or model.mlmw");
        goto fail;
    }
    /* the optimizer state carries the schedule actually used */
    snprintf(path, sizeof path, "%s/optim.bin", dir);
    mlm_adamw *opt = mlm_adamw_load(path, e);
    if (!opt) goto fail;
    o.opt = opt->cfg;
    const int64_t saved_steps = o.steps;
    if (steps > 0) o.steps = steps;
    if (o.steps < step) {
        mlm_adamw_free(opt);
        mlm_fail(e, MLM_EINVAL, "resume: the run is at step %lld; --steps %lld is behind it", (long long)step, (long long)o.steps);
        goto fail;
    }
    /* snapshot steps beyond a shortened run are dropped */
    while (o.n_snapshots && o.snapshot_steps[o.n_snapshots - 1] > o.steps) o.n_snapshots--;
    t = trainer_alloc(&cfg, &o, out_dir, e);
    if (!t) { mlm_adamw_free(opt); goto fail; }
    t->opt = opt;
    if (opt->n != t->model->n_params || opt->step != step) {
        mlm_fail(e, MLM_EFORMAT, "resume: optim.bin holds %lld parameters at step %lld; the run has %lld at step %lld", (long long)opt->n,
                 (long long)opt->step, (long long)t->model->n_params, (long long)step);
        goto fail;
    }
    snprintf(path, sizeof path, "%s/%s", dir, w->valuestring);
    loaded = strcmp(w->valuestring, "model.bin") ? mlm_model_load(path, e) : mlm_llama2c_load(path, e);
    if (!loaded) goto fail;
    if (loaded->n_params != t->model->n_params || loaded->cfg.d_model != cfg.d_model || loaded->cfg.n_layers != cfg.n_layers ||
        loaded->cfg.vocab_size != cfg.vocab_size) {
        mlm_fail(e, MLM_EFORMAT, "resume: %s does not match config.json", path);
        goto fail;
    }
    memcpy(t->model->mem, loaded->mem, sizeof(mlm_real) * (size_t)t->model->n_params);
    t->step = step;
    t->train_seconds = secs;
    /* history */
    if (!(lj = load_json(dir, "loss.json", e))) goto fail;
    if (json_array(lj, "loss", t->loss_hist, step, "loss.json", e) || json_array(lj, "lr", t->lr_hist, step, "loss.json", e) ||
        json_array(lj, "grad_norm", t->gnorm_hist, step, "loss.json", e))
        goto fail;
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(lj, "evals");
    if (!cJSON_IsArray(ev)) { mlm_fail(e, MLM_EFORMAT, "resume: loss.json: \"evals\" must be an array"); goto fail; }
    cJSON_ArrayForEach(x, ev) {
        if (t->n_evals == t->cap_evals) {
            int cap = t->cap_evals ? 2 * t->cap_evals : 32;
            mlm_eval_point *p = realloc(t->evals, sizeof *p * (size_t)cap);
            if (!p) { mlm_fail(e, MLM_ENOMEM, "resume: out of memory"); goto fail; }
            t->evals = p;
            t->cap_evals = cap;
        }
        mlm_eval_point *p = &t->evals[t->n_evals];
        if (json_int(x, "step", 0, (double)step, &p->step, "loss.json evals", e) || json_num(x, "loss", &p->loss, "loss.json evals", e) ||
            json_num(x, "first_half", &p->first_half, "loss.json evals", e) || json_num(x, "second_half", &p->second_half, "loss.json evals", e))
            goto fail;
        t->n_evals++;
    }
    if (!(hj = load_json(dir, "heads.json", e))) goto fail;
    const cJSON *sn = cJSON_GetObjectItemCaseSensitive(hj, "snapshots");
    if (!cJSON_IsArray(sn)) { mlm_fail(e, MLM_EFORMAT, "resume: heads.json: \"snapshots\" must be an array"); goto fail; }
    const int L = cfg.n_layers, H = cfg.n_heads;
    cJSON_ArrayForEach(x, sn) {
        if (t->n_snaps == t->cap_snaps) {
            int cap = t->cap_snaps ? 2 * t->cap_snaps : 16;
            mlm_score_snapshot *p = realloc(t->snaps, sizeof *p * (size_t)cap);
            if (!p) { mlm_fail(e, MLM_ENOMEM, "resume: out of memory"); goto fail; }
            t->snaps = p;
            t->cap_snaps = cap;
        }
        mlm_score_snapshot *p = &t->snaps[t->n_snaps];
        memset(p, 0, sizeof *p);
        p->s.prev = calloc((size_t)L * H, sizeof(double));
        p->s.induction = calloc((size_t)L * H, sizeof(double));
        t->n_snaps++; /* owned from here on (freed with the trainer) */
        if (!p->s.prev || !p->s.induction) { mlm_fail(e, MLM_ENOMEM, "resume: out of memory"); goto fail; }
        p->s.n_layers = L;
        p->s.n_heads = H;
        p->s.n = o.task.n;
        p->s.offset = 1;
        p->s.B = o.score_batch;
        p->s.T = 2 * o.task.n;
        if (json_int(x, "step", 0, (double)step, &p->step, "heads.json", e) || json_num(x, "prev_chance", &p->s.prev_chance, "heads.json", e) ||
            json_num(x, "ind_chance", &p->s.ind_chance, "heads.json", e))
            goto fail;
        for (int k = 0; k < 2; k++) {
            const cJSON *a = cJSON_GetObjectItemCaseSensitive(x, k ? "induction" : "prev");
            if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != L) { mlm_fail(e, MLM_EFORMAT, "resume: heads.json: scores must be %d x %d", L, H); goto fail; }
            for (int l = 0; l < L; l++) {
                const cJSON *row = cJSON_GetArrayItem(a, l);
                if (!cJSON_IsArray(row) || cJSON_GetArraySize(row) != H) { mlm_fail(e, MLM_EFORMAT, "resume: heads.json: scores must be %d x %d", L, H); goto fail; }
                for (int h = 0; h < H; h++) {
                    const cJSON *c = cJSON_GetArrayItem(row, h);
                    (k ? p->s.induction : p->s.prev)[(size_t)l * H + h] = cJSON_IsNumber(c) ? c->valuedouble : NAN;
                }
            }
        }
    }
    (void)saved_steps;
    mlm_model_free(loaded);
    cJSON_Delete(tj);
    cJSON_Delete(lj);
    cJSON_Delete(hj);
    return t;
fail:
    mlm_model_free(loaded);
    mlm_trainer_free(t);
    cJSON_Delete(tj);
    cJSON_Delete(lj);
    cJSON_Delete(hj);
    return NULL;
}
