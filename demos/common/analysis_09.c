/* 09_trained_heads.c - analysis 9: the heads of a trained model. The pinned induction model
 * of lib/train.h ("induction-2l", trained on BOS + n random tokens repeated) next to the same
 * architecture at initialisation (the same seed: step 0 of the same run):
 *   - every layer's and head's attention map on a held-out sequence of the task (a data seed
 *     the training never saw), trained above, initialisation below, with the induction
 *     diagonal j = i - n + 1 drawn;
 *   - previous-token and induction scores per head (headscore.h) against their chance levels;
 *   - analysis 6's RoPE experiments repeated on the whole model (tokens in, logits out): every
 *     token at position 0 (RoPE becomes the identity) and every position shifted by S.
 * The run directory (default <out>/induction) is shared with analysis 10: when it holds a
 * finished run of the same config, seed and steps it is reused, otherwise the model is trained
 * there first (mlm_induction_run_ensure, below). */
#include "analysis.h"
#include "args.h"
#include "attn_figure.h"
#include "checkpoint.h"
#include "forward.h"
#include "plot_cairo.h"
#include "train.h"

#include <errno.h>
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- the shared run directory -------------------------------------------------------------- */

static int file_exists(const char *dir, const char *name) {
    char path[1200];
    struct stat sb;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

static cJSON *read_json(const char *dir, const char *name) {
    char path[1200], *text = NULL;
    size_t len = 0;
    mlm_err e;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (mlm_read_file(path, (size_t)1 << 28, &text, &len, &e)) return NULL;
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    return j;
}

static int same_shape(const mlm_config *a, const mlm_config *b) {
    return a->d_model == b->d_model && a->n_layers == b->n_layers && a->n_heads == b->n_heads && a->n_kv_heads == b->n_kv_heads &&
           a->head_dim == b->head_dim && a->d_ff == b->d_ff && a->vocab_size == b->vocab_size && a->max_seq_len == b->max_seq_len &&
           a->rope_theta == b->rope_theta && fabs(a->norm_eps - b->norm_eps) <= 1e-12 && a->tied == b->tied &&
           a->norm_pos == b->norm_pos && a->ffn == b->ffn && a->sliding_window == b->sliding_window;
}

static double jnum(const cJSON *o, const char *k) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

/* Why dir cannot be reused ("" when it can). */
static void reuse_check(const char *dir, const mlm_config *cfg, const mlm_train_opts *o, char *why, size_t cap) {
    why[0] = '\0';
    static const char *need[] = {"summary.json", "config.json", "train.json", "model.bin", "loss.json", "heads.json"};
    for (size_t k = 0; k < sizeof need / sizeof need[0]; k++)
        if (!file_exists(dir, need[k])) { snprintf(why, cap, "no %s", need[k]); return; }
    char path[1200];
    mlm_config c;
    mlm_err e;
    snprintf(path, sizeof path, "%s/config.json", dir);
    if (mlm_config_load(&c, path, &e) || !same_shape(&c, cfg)) { snprintf(why, cap, "config.json is not the pinned %s model", cfg->name); return; }
    cJSON *tj = read_json(dir, "train.json");
    if (!tj) { snprintf(why, cap, "train.json unreadable"); return; }
    const cJSON *task = cJSON_GetObjectItemCaseSensitive(tj, "task");
    if (!cJSON_IsString(task) || strcmp(task->valuestring, mlm_task_name(o->task.kind))) snprintf(why, cap, "another task");
    else if (jnum(tj, "n") != o->task.n || jnum(tj, "vocab") != o->task.vocab || jnum(tj, "batch") != o->batch)
        snprintf(why, cap, "other task options (n, vocab or batch)");
    else if (jnum(tj, "seed") != (double)o->seed) snprintf(why, cap, "seed %.0f, not %llu", jnum(tj, "seed"), (unsigned long long)o->seed);
    else if (jnum(tj, "steps") != (double)o->steps) snprintf(why, cap, "%.0f steps, not %lld", jnum(tj, "steps"), (long long)o->steps);
    else if (jnum(tj, "step") != (double)o->steps) snprintf(why, cap, "unfinished (step %.0f of %lld)", jnum(tj, "step"), (long long)o->steps);
    else if (jnum(tj, "eval_every") != o->eval_every || jnum(tj, "eval_batch") != o->eval_batch || jnum(tj, "score_batch") != o->score_batch)
        snprintf(why, cap, "other evaluation options");
    else {
        const cJSON *ss = cJSON_GetObjectItemCaseSensitive(tj, "snapshot_steps");
        int ok = cJSON_IsArray(ss) && cJSON_GetArraySize(ss) == o->n_snapshots;
        for (int i = 0; ok && i < o->n_snapshots; i++) ok = cJSON_GetArrayItem(ss, i)->valuedouble == (double)o->snapshot_steps[i];
        if (!ok) snprintf(why, cap, "other snapshot steps");
    }
    cJSON_Delete(tj);
}

static int write_summary(const mlm_trainer *t, const char *dir, double wall, int threads, mlm_err *e) {
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "model", t->cfg.name);
    cJSON_AddStringToObject(s, "task", mlm_task_name(t->opts.task.kind));
    cJSON_AddNumberToObject(s, "n", t->opts.task.n);
    cJSON_AddNumberToObject(s, "steps", (double)t->step);
    cJSON_AddNumberToObject(s, "batch", t->opts.batch);
    cJSON_AddNumberToObject(s, "seed", (double)t->opts.seed);
    cJSON_AddNumberToObject(s, "threads", threads);
    cJSON_AddStringToObject(s, "scalar", MLM_REAL_NAME);
    cJSON_AddNumberToObject(s, "wall_seconds", wall);
    cJSON_AddNumberToObject(s, "train_seconds", t->train_seconds);
    cJSON_AddNumberToObject(s, "log_vocab", log((double)t->opts.task.vocab));
    cJSON_AddStringToObject(s, "written_by", "09_trained_heads (mlm_induction_run_ensure)");
    if (t->n_evals) {
        const mlm_eval_point *ev = &t->evals[t->n_evals - 1];
        cJSON *f = cJSON_AddObjectToObject(s, "final_eval");
        cJSON_AddNumberToObject(f, "step", (double)ev->step);
        cJSON_AddNumberToObject(f, "loss", ev->loss);
        cJSON_AddNumberToObject(f, "first_half", ev->first_half);
        cJSON_AddNumberToObject(f, "second_half", ev->second_half);
    }
    if (t->n_snaps) {
        const mlm_headscores *b = &t->snaps[t->n_snaps - 1].s;
        int l, h;
        double best = mlm_headscores_max_induction(b, &l, &h);
        cJSON *mi = cJSON_AddObjectToObject(s, "max_induction");
        cJSON_AddNumberToObject(mi, "step", (double)t->snaps[t->n_snaps - 1].step);
        cJSON_AddNumberToObject(mi, "layer", l);
        cJSON_AddNumberToObject(mi, "head", h);
        cJSON_AddNumberToObject(mi, "score", best);
        cJSON_AddNumberToObject(s, "ind_chance", b->ind_chance);
        cJSON_AddNumberToObject(s, "prev_chance", b->prev_chance);
    }
    char *txt = cJSON_Print(s), path[1200];
    cJSON_Delete(s);
    if (!txt) return mlm_fail(e, MLM_ENOMEM, "out of memory writing summary.json");
    snprintf(path, sizeof path, "%s/summary.json", dir);
    mlm_status st = mlm_write_file_atomic(path, txt, strlen(txt), e);
    free(txt);
    return st;
}

int mlm_induction_run_ensure(const mlm_demo *d, const char *dir, long steps, uint64_t seed, int *trained) {
    if (trained) *trained = 0;
    mlm_config cfg;
    mlm_train_default_config(&cfg);
    mlm_train_opts o;
    mlm_train_default_opts(&o);
    o.steps = steps;
    o.seed = seed;
    mlm_train_snapshots_even(&o, 16);
    mlm_err e;
    if (mlm_train_opts_validate(&o, &cfg, &e)) return mlm_demo_fail(d, "%s", e.msg);
    char why[200];
    reuse_check(dir, &cfg, &o, why, sizeof why);
    if (!why[0]) {
        if (!d->quiet) printf("  reusing the trained run in %s (%s, seed %llu, %ld steps)\n", dir, cfg.name, (unsigned long long)seed, steps);
        return 0;
    }
    printf("%s: training the pinned %s model into %s (%ld steps, seed %llu; %s there) ...\n", d->prog, cfg.name, dir, steps,
           (unsigned long long)seed, why);
    fflush(stdout);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST) return mlm_demo_fail(d, "cannot create the run directory '%s': %s", dir, strerror(errno));
    char path[1200];
    snprintf(path, sizeof path, "%s/summary.json", dir);
    unlink(path);   /* a stale summary must not mark a half-written run as finished */
    mlm_trainer *t = mlm_trainer_new(&cfg, &o, dir, &e);
    if (!t) return mlm_demo_fail(d, "%s", e.msg);
    /* as `microlm train`: one thread for a model this small unless OMP_NUM_THREADS says otherwise
     * (the run is then bit-identical to `microlm train --out DIR --seed S --steps N`) */
    int prev_threads = omp_get_max_threads();
    if (!getenv("OMP_NUM_THREADS") && t->model->n_params < 1000000) omp_set_num_threads(1);
    int threads = omp_get_max_threads();
    double t0 = mlm_now();
    mlm_status st = mlm_trainer_run(t, o.steps, NULL, NULL, &e);
    double wall = mlm_now() - t0;
    omp_set_num_threads(prev_threads);
    if (!st && t->step != o.steps) st = mlm_fail(&e, MLM_EINVAL, "training stopped at step %lld", (long long)t->step);
    if (!st) st = mlm_trainer_save(t, dir, &e);
    if (!st) st = write_summary(t, dir, wall, threads, &e);
    if (!st) {
        int l, h;
        double best = t->n_snaps ? mlm_headscores_max_induction(&t->snaps[t->n_snaps - 1].s, &l, &h) : NAN;
        printf("%s: trained %lld steps in %.1f s (%d thread%s); max induction score %.3f\n", d->prog, (long long)t->step, wall, threads,
               threads == 1 ? "" : "s", best);
    }
    mlm_trainer_free(t);
    if (st) return mlm_demo_fail(d, "training into %s: %s", dir, e.msg);
    if (trained) *trained = 1;
    return 0;
}

/* ---- the analysis ---------------------------------------------------------------------------- */

enum { C_BASE = 0, C_POS0 = 1, C_SHIFT = 2, NCOND = 3 };

typedef struct {
    const mlm_model *m;
    int L, H, B, T, V;
    double *prev[NCOND], *ind[NCOND];   /* (L*H) per condition */
    double *self_s, *bos_s;              /* (L*H) mean A[i, i] and A[i, 0] over rows 1..T-1 */
    double prev_chance, ind_chance;
    double loss1[NCOND], loss2[NCOND], acc2[NCOND];   /* first-half loss, second-half loss / accuracy */
    double *diff[NCOND];                 /* (T) mean over the batch of ||logits - base logits|| */
    double mean_diff[NCOND], max_diff[NCOND], logit_norm;
    int pos0_is_norope;
    mlm_probe *probe;                    /* base run: the attention maps */
} model_run;

static void run_free(model_run *r) {
    for (int c = 0; c < NCOND; c++) { free(r->prev[c]); free(r->ind[c]); free(r->diff[c]); }
    free(r->self_s);
    free(r->bos_s);
    mlm_probe_free(r->probe);
}

/* Scores of every layer from the probe's kept maps. */
static int scores_from_probe(const mlm_probe *p, int L, int H, int B, int T, int n, double *prev, double *ind, double *pc, double *ic,
                             double *self_s, double *bos_s, mlm_err *e) {
    char nm[64];
    for (int l = 0; l < L; l++) {
        snprintf(nm, sizeof nm, "blocks.%d.attn.probs", l);
        const mlm_record *r = mlm_probe_find(p, nm);
        if (!r || !r->data) return mlm_fail(e, MLM_EINVAL, "attention maps of layer %d missing", l);
        if (mlm_headscore_layer(r->data, B, H, T, n, 1, prev + l * H, ind + l * H, pc, ic, e)) return -1;
        if (!self_s) continue;
        for (int h = 0; h < H; h++) {
            double s = 0, b0 = 0;
            for (int b = 0; b < B; b++)
                for (int i = 1; i < T; i++) {
                    const mlm_real *row = r->data + (((int64_t)b * H + h) * T + i) * T;
                    s += row[i];
                    b0 += row[0];
                }
            self_s[l * H + h] = s / ((double)B * (T - 1));
            bos_s[l * H + h] = b0 / ((double)B * (T - 1));
        }
    }
    return 0;
}

static int analyse(const mlm_model *m, const int *tok, const int *tg, const unsigned char *part, int B, int T, int n, int shift,
                   model_run *r, mlm_err *e) {
    memset(r, 0, sizeof *r);
    r->m = m;
    r->L = m->cfg.n_layers;
    r->H = m->cfg.n_heads;
    r->B = B;
    r->T = T;
    r->V = m->cfg.vocab_size;
    const int LH = r->L * r->H, V = r->V;
    const int64_t NV = (int64_t)B * T * V;
    int *pos0 = calloc((size_t)T, sizeof(int)), *posS = malloc(sizeof(int) * (size_t)T);
    mlm_real *base = malloc(sizeof(mlm_real) * (size_t)NV), *zero = malloc(sizeof(mlm_real) * (size_t)NV);
    mlm_acts *a = mlm_acts_new(&m->cfg, B, T, 0, e);
    int rc = -1;
    r->self_s = calloc((size_t)LH, sizeof(double));
    r->bos_s = calloc((size_t)LH, sizeof(double));
    if (!pos0 || !posS || !base || !zero || !a || !r->self_s || !r->bos_s) {
        if (a) mlm_fail(e, MLM_ENOMEM, "out of memory");
        goto done;
    }
    for (int t = 0; t < T; t++) posS[t] = t + shift;
    for (int c = 0; c < NCOND; c++) {
        r->prev[c] = calloc((size_t)LH, sizeof(double));
        r->ind[c] = calloc((size_t)LH, sizeof(double));
        r->diff[c] = calloc((size_t)T, sizeof(double));
        if (!r->prev[c] || !r->ind[c] || !r->diff[c]) { mlm_fail(e, MLM_ENOMEM, "out of memory"); goto done; }
        mlm_fwd_opts o = {0};
        if (c == C_POS0) o.pos = pos0;
        if (c == C_SHIFT) o.pos = posS;
        mlm_probe *p = mlm_probe_new("blocks.*.attn.probs");
        if (!p) { mlm_fail(e, MLM_ENOMEM, "out of memory"); goto done; }
        if (mlm_forward(m, a, tok, B, T, &o, p, e) ||
            scores_from_probe(p, r->L, r->H, B, T, n, r->prev[c], r->ind[c], &r->prev_chance, &r->ind_chance, c == C_BASE ? r->self_s : NULL,
                              c == C_BASE ? r->bos_s : NULL, e)) {
            mlm_probe_free(p);
            goto done;
        }
        if (c == C_BASE) {
            r->probe = p;
            memcpy(base, a->logits, sizeof(mlm_real) * (size_t)NV);
        } else mlm_probe_free(p);
        if (c == C_POS0) memcpy(zero, a->logits, sizeof(mlm_real) * (size_t)NV);
        /* losses by part, accuracy of the second half, logit change per position */
        double sum[2] = {0, 0}, cnt[2] = {0, 0}, hit = 0, lnorm = 0;
        for (int b = 0; b < B; b++)
            for (int t = 0; t < T; t++) {
                const mlm_real *lg = a->logits + ((int64_t)b * T + t) * V, *lb = base + ((int64_t)b * T + t) * V;
                double mx = lg[0], z = 0, dd = 0, nn = 0;
                int am = 0;
                for (int v = 1; v < V; v++) if (lg[v] > mx) { mx = lg[v]; am = v; }
                for (int v = 0; v < V; v++) {
                    z += exp((double)lg[v] - mx);
                    dd += ((double)lg[v] - lb[v]) * ((double)lg[v] - lb[v]);
                    nn += (double)lb[v] * lb[v];
                }
                int y = tg[(int64_t)b * T + t];
                const int k = part[(size_t)b * T + t];
                sum[k] += mx + log(z) - (double)lg[y];
                cnt[k] += 1;
                if (k) hit += am == y;
                r->diff[c][t] += sqrt(dd) / B;
                lnorm += sqrt(nn) / ((double)B * T);
            }
        r->loss1[c] = sum[0] / cnt[0];
        r->loss2[c] = sum[1] / cnt[1];
        r->acc2[c] = hit / cnt[1];
        r->logit_norm = lnorm;
        r->mean_diff[c] = r->max_diff[c] = 0;
        for (int t = 0; t < T; t++) { r->mean_diff[c] += r->diff[c][t] / T; r->max_diff[c] = fmax(r->max_diff[c], r->diff[c][t]); }
    }
    /* every token at position 0 is RoPE switched off */
    mlm_fwd_opts onr = {.no_rope = 1};
    if (mlm_forward(m, a, tok, B, T, &onr, NULL, e)) goto done;
    r->pos0_is_norope = memcmp(zero, a->logits, sizeof(mlm_real) * (size_t)NV) == 0;
    rc = 0;
done:
    mlm_acts_free(a);
    free(pos0); free(posS); free(base); free(zero);
    return rc;
}

/* Largest induction score of a run's condition: value, layer, head. */
static double best_of(const double *v, int L, int H, int *bl, int *bh) {
    double b = -1;
    for (int i = 0; i < L * H; i++) if (v[i] > b) { b = v[i]; *bl = i / H; *bh = i % H; }
    return b;
}

/* The recorded snapshot k (-1: the last) of heads.json into prev / ind (L*H). 0 or -1. */
static int snapshot_scores(const char *dir, int k, int L, int H, double *prev, double *ind, double *step) {
    cJSON *j = read_json(dir, "heads.json");
    if (!j) return -1;
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(j, "snapshots");
    int n = cJSON_GetArraySize(ss), ok = 0;
    if (k < 0) k = n - 1;
    const cJSON *s = k >= 0 && k < n ? cJSON_GetArrayItem(ss, k) : NULL;
    if (s) {
        ok = 1;
        *step = jnum(s, "step");
        for (int w = 0; w < 2 && ok; w++) {
            const cJSON *arr = cJSON_GetObjectItemCaseSensitive(s, w ? "induction" : "prev");
            ok = cJSON_GetArraySize(arr) == L;
            for (int l = 0; ok && l < L; l++) {
                const cJSON *row = cJSON_GetArrayItem(arr, l);
                ok = cJSON_GetArraySize(row) == H;
                for (int h = 0; ok && h < H; h++) (w ? ind : prev)[l * H + h] = cJSON_GetArrayItem(row, h)->valuedouble;
            }
        }
    }
    cJSON_Delete(j);
    return ok ? 0 : -1;
}

/* Max |scores on the run's own held-out score batch - the recorded snapshot|. */
static double check_snapshot(const mlm_model *m, const char *dir, int k, uint64_t seed, int n, int score_batch, double *step) {
    const int L = m->cfg.n_layers, H = m->cfg.n_heads;
    mlm_task rep = {MLM_TASK_REPEAT, n, m->cfg.vocab_size, NULL, 0, 0, 0};
    const int T = mlm_task_seq_len(&rep);
    int *tok = malloc(sizeof(int) * (size_t)score_batch * T), *tg = malloc(sizeof(int) * (size_t)score_batch * T);
    double *pv = malloc(sizeof(double) * (size_t)L * H * 2), out = NAN;
    mlm_headscores s = {0};
    mlm_err e;
    if (tok && tg && pv && !mlm_task_batch(&rep, seed, 0, 1, score_batch, tok, tg, NULL, &e) &&
        !mlm_headscore_model(m, tok, score_batch, T, n, 1, &s, &e) && !snapshot_scores(dir, k, L, H, pv, pv + L * H, step)) {
        out = 0;
        for (int i = 0; i < L * H; i++) out = fmax(out, fmax(fabs(pv[i] - s.prev[i]), fabs(pv[L * H + i] - s.induction[i])));
    }
    mlm_headscores_free(&s);
    free(tok); free(tg); free(pv);
    return out;
}

/* Induction scores at other periods: BOS + p random tokens repeated (T = 2p), for each p the
 * largest score over heads (best) and that of every head (all, (np, L*H)); chance per p. */
static int period_scores(const mlm_model *m, const int *per, int np, uint64_t seed, int B, double *best, double *all, double *chance,
                         mlm_err *e) {
    const int LH = m->cfg.n_layers * m->cfg.n_heads;
    for (int k = 0; k < np; k++) {
        mlm_task rep = {MLM_TASK_REPEAT, per[k], m->cfg.vocab_size, NULL, 0, 0, 0};
        const int T = mlm_task_seq_len(&rep);
        int *tok = malloc(sizeof(int) * (size_t)B * T), *tg = malloc(sizeof(int) * (size_t)B * T);
        mlm_headscores s = {0};
        mlm_status st = !tok || !tg ? mlm_fail(e, MLM_ENOMEM, "out of memory") : mlm_task_batch(&rep, seed, 0, 1, B, tok, tg, NULL, e);
        if (!st) st = mlm_headscore_model(m, tok, B, T, per[k], 1, &s, e);
        if (!st) {
            best[k] = mlm_headscores_max_induction(&s, NULL, NULL);
            memcpy(all + (size_t)k * LH, s.induction, sizeof(double) * (size_t)LH);
            chance[k] = s.ind_chance;
        }
        mlm_headscores_free(&s);
        free(tok);
        free(tg);
        if (st) return -1;
    }
    return 0;
}

static void head_labels(int L, int H, char (*buf)[32], const char **lab) {
    for (int i = 0; i < L * H; i++) {
        snprintf(buf[i], sizeof buf[i], "L%d H%d", i / H, i % H);
        lab[i] = buf[i];
    }
}

int mlm_analysis_09(int argc, char **argv, mlm_analysis_out *out) {
    mlm_demo d;
    mlm_demo_init(&d, "09_trained_heads");
    if (out) d.quiet = !out->verbose;
    const char *run = NULL;
    mlm_train_opts defo;
    mlm_train_default_opts(&defo);
    long steps = (long)defo.steps, layer = -1, head = -1, shift = 5, batch = 16, data_seed = -1;
    const char *periods_s = "8,16,24,28,30,31,32,33,34,36,40,48,56,63";
    const mlm_demo_opt opts[] = {
        {"--run", MLM_OPT_STR, &run, 0, 0, "run directory shared with 10_induction_forming (default <out>/induction; trained there when missing)"},
        {"--steps", MLM_OPT_LONG, &steps, 1, 100000, "training steps of the run (default 400; another value retrains into --run)"},
        {"--layer", MLM_OPT_LONG, &layer, 0, 1023, "draw the maps of this layer only (default: every layer)"},
        {"--head", MLM_OPT_LONG, &head, 0, 1023, "draw the maps of this head only (default: every head)"},
        {"--shift", MLM_OPT_LONG, &shift, 0, 1 << 20, "position shift of the shift-invariance experiment (default 5)"},
        {"--batch", MLM_OPT_LONG, &batch, 1, 256, "held-out sequences the scores average over (default 16)"},
        {"--data-seed", MLM_OPT_LONG, &data_seed, 0, 2147483647L, "seed of the held-out sequences (default --seed + 1: never trained on)"},
        {"--periods", MLM_OPT_STR, &periods_s, 0, 0, "repeat periods of the generalisation test (default 8,16,...,63; each 2..63)"},
    };
    int prc = mlm_demo_parse(&d, argc, argv, opts, 8, "usage: 09_trained_heads [options]");
    if (prc) return prc == 1 ? 0 : prc;
    int *per = NULL, np = 0;
    if (mlm_arg_int_list(periods_s, 2, 63, 64, &per, &np)) return mlm_demo_fail(&d, "--periods '%s': give up to 64 periods in 2..63", periods_s) + 1;
    if (data_seed < 0) data_seed = (long)(d.seed + 1);
    if ((uint64_t)data_seed == d.seed) { free(per); return mlm_demo_fail(&d, "--data-seed must differ from --seed (held-out data)") + 1; }
    mlm_config cfg;
    mlm_train_default_config(&cfg);
    if (layer >= cfg.n_layers || head >= cfg.n_heads) {
        free(per);
        return mlm_demo_fail(&d, "--layer %ld / --head %ld: the model has %d layers of %d heads", layer, head, cfg.n_layers, cfg.n_heads) + 1;
    }
    for (int k = 0; k < np; k++)
        if (2 * per[k] > cfg.max_seq_len) {
            int p = per[k];
            free(per);
            return mlm_demo_fail(&d, "--periods: %d needs %d positions, the model has %d", p, 2 * p, cfg.max_seq_len) + 1;
        }
    if (mlm_demo_prepare(&d)) { free(per); return 1; }
    char rundir[1100];
    snprintf(rundir, sizeof rundir, "%s", run ? run : "");
    if (!run) snprintf(rundir, sizeof rundir, "%s/induction", d.out_dir);
    int trained_now = 0;
    if (mlm_induction_run_ensure(&d, rundir, steps, d.seed, &trained_now)) { free(per); return 1; }

    mlm_err e;
    char path[1200];
    snprintf(path, sizeof path, "%s/model.bin", rundir);
    mlm_model *mt = mlm_llama2c_load(path, &e);
    if (!mt) { free(per); return mlm_demo_fail(&d, "%s", e.msg); }
    snprintf(mt->cfg.name, sizeof mt->cfg.name, "%s", cfg.name);
    if (!same_shape(&mt->cfg, &cfg)) { mlm_model_free(mt); free(per); return mlm_demo_fail(&d, "%s does not hold the pinned %s model", path, cfg.name); }
    mlm_model *mi = mlm_model_new(&cfg, &e);
    if (!mi) { mlm_model_free(mt); free(per); return mlm_demo_fail(&d, "%s", e.msg); }
    mlm_init_opts io = {d.seed, 0};   /* what mlm_trainer_new does: step 0 of the same run */
    mlm_model_init(mi, &io);

    /* the held-out batch of task (1) */
    mlm_task task = defo.task;
    task.kind = MLM_TASK_REPEAT; /* task (1), whatever the run trained on */
    const int n = task.n, T = mlm_task_seq_len(&task), B = (int)batch, L = cfg.n_layers, H = cfg.n_heads, LH = L * H;
    int *tok = malloc(sizeof(int) * (size_t)B * T), *tg = malloc(sizeof(int) * (size_t)B * T);
    unsigned char *part = malloc((size_t)B * T);
    model_run R[2];   /* 0 trained, 1 init */
    memset(R, 0, sizeof R);
    double *pbest = malloc(sizeof(double) * (size_t)np * 2), *pchance = malloc(sizeof(double) * (size_t)np),
           *pall = malloc(sizeof(double) * (size_t)np * LH * 2);
    if (!tok || !tg || !part || !pbest || !pchance || !pall || mlm_task_batch(&task, (uint64_t)data_seed, 0, 1, B, tok, tg, part, &e) ||
        analyse(mt, tok, tg, part, B, T, n, (int)shift, &R[0], &e) || analyse(mi, tok, tg, part, B, T, n, (int)shift, &R[1], &e) ||
        period_scores(mt, per, np, (uint64_t)data_seed, B, pbest, pall, pchance, &e) ||
        period_scores(mi, per, np, (uint64_t)data_seed, B, pbest + np, pall + (size_t)np * LH, pchance, &e)) {
        run_free(&R[0]); run_free(&R[1]);
        free(tok); free(tg); free(part); free(per); free(pbest); free(pchance); free(pall);
        mlm_model_free(mt); mlm_model_free(mi);
        return mlm_demo_fail(&d, "%s", tok && tg && part && pbest && pchance && pall ? e.msg : "out of memory");
    }
    /* the loaded weights and the rebuilt initialisation against the run's own records */
    double step_first = NAN, step_last = NAN;
    double dev_init = check_snapshot(mi, rundir, 0, d.seed, n, defo.score_batch, &step_first);
    double dev_trained = check_snapshot(mt, rundir, -1, d.seed, n, defo.score_batch, &step_last);

    const char *mname[2] = {"trained", "init"};
    int bl[2][NCOND], bh[2][NCOND];
    double best[2][NCOND], bestp[2];
    int pl[2], ph[2];
    for (int k = 0; k < 2; k++) {
        for (int c = 0; c < NCOND; c++) best[k][c] = best_of(R[k].ind[c], L, H, &bl[k][c], &bh[k][c]);
        bestp[k] = best_of(R[k].prev[C_BASE], L, H, &pl[k], &ph[k]);
    }
    const double ic = R[0].ind_chance, pc = R[0].prev_chance;
    /* the generalisation test: the trained period against the best other one */
    double at_n = NAN, other = -1;
    int other_p = -1;
    for (int k = 0; k < np; k++) {
        if (per[k] == n) at_n = pbest[k];
        else if (pbest[k] > other) { other = pbest[k]; other_p = per[k]; }
    }
    int n_ind_heads = 0, init_above_2x = 0;
    for (int i = 0; i < LH; i++) { n_ind_heads += R[0].ind[C_BASE][i] > 0.5; init_above_2x += R[1].ind[C_BASE][i] > 2 * ic; }

    if (!d.quiet) {
        printf("Analysis 9: trained heads vs initialisation (%s: %d layers x %d heads, d %d; run %s, seed %llu, %ld steps)\n", cfg.name, L, H,
               cfg.d_model, rundir, (unsigned long long)d.seed, steps);
        printf("  held-out batch: %d sequences of task repeat (BOS + %d tokens twice, T %d), data seed %ld\n\n", B, n, T, data_seed);
        printf("  %-6s | %9s %9s %8s %8s | %9s %9s %8s %8s\n", "head", "trained", "", "", "", "init", "", "", "");
        printf("  %-6s | %9s %9s %8s %8s | %9s %9s %8s %8s\n", "", "prev", "induction", "self", "BOS", "prev", "induction", "self", "BOS");
        for (int i = 0; i < LH; i++)
            printf("  L%d H%d  | %9.4f %9.4f %8.4f %8.4f | %9.4f %9.4f %8.4f %8.4f%s\n", i / H, i % H, R[0].prev[0][i], R[0].ind[0][i],
                   R[0].self_s[i], R[0].bos_s[i], R[1].prev[0][i], R[1].ind[0][i], R[1].self_s[i], R[1].bos_s[i],
                   R[0].ind[0][i] > 0.5 ? "  <- induction head" : "");
        printf("  chance: previous-token %.4f, induction %.4f (2x chance %.4f)\n", pc, ic, 2 * ic);
        printf("  heads above 0.5 induction: trained %d, init %d; init heads above 2x chance: %d\n\n", n_ind_heads,
               (int)(best[1][0] > 0.5), init_above_2x);
        printf("  RoPE experiments on the whole model (logits of the held-out batch):\n");
        printf("  %-8s %-22s %12s %12s %10s %10s %12s\n", "model", "positions", "mean|dlogit|", "rel. change", "loss 1st", "loss 2nd",
               "acc 2nd");
        const char *cn[NCOND] = {"0..T-1", "all 0 (= RoPE off)", ""};
        char sh[32];
        snprintf(sh, sizeof sh, "%ld..%ld (shift)", shift, shift + T - 1);
        cn[2] = sh;
        for (int k = 0; k < 2; k++)
            for (int c = 0; c < NCOND; c++)
                printf("  %-8s %-22s %12.4g %12.4g %10.4f %10.4f %12.4f\n", mname[k], cn[c], R[k].mean_diff[c], R[k].mean_diff[c] / R[k].logit_norm,
                       R[k].loss1[c], R[k].loss2[c], R[k].acc2[c]);
        printf("  max induction score: trained %.4f (L%d H%d) -> all at 0: %.4f, shifted: %.4f; init %.4f -> %.4f, %.4f\n", best[0][0],
               bl[0][0], bh[0][0], best[0][1], best[0][2], best[1][0], best[1][1], best[1][2]);
        printf("  all-at-0 logits bit-identical to RoPE switched off: trained %s, init %s\n", R[0].pos0_is_norope ? "yes" : "NO",
               R[1].pos0_is_norope ? "yes" : "NO");
        printf("  other periods p (BOS + p tokens twice, data seed %ld): max induction score over heads\n  %8s %10s %10s %10s\n", data_seed,
               "period", "trained", "init", "chance");
        for (int k = 0; k < np; k++)
            printf("  %8d %10.4f %10.4f %10.4f%s\n", per[k], pbest[k], pbest[np + k], pchance[k], per[k] == n ? "   <- the trained period" : "");
        printf("  run records: init scores vs heads.json step %.0f max |diff| %.2e; trained vs step %.0f %.2e\n\n", step_first, dev_init,
               step_last, dev_trained);
    }

    /* ---- JSON ---- */
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", cfg.name);
    cJSON_AddStringToObject(root, "run_dir", rundir);
    cJSON_AddBoolToObject(root, "trained_now", trained_now);
    cJSON_AddNumberToObject(root, "seed", (double)d.seed);
    cJSON_AddNumberToObject(root, "steps", (double)steps);
    cJSON_AddNumberToObject(root, "data_seed", (double)data_seed);
    cJSON_AddNumberToObject(root, "batch", B);
    cJSON_AddNumberToObject(root, "n", n);
    cJSON_AddNumberToObject(root, "seq", T);
    cJSON_AddNumberToObject(root, "n_layers", L);
    cJSON_AddNumberToObject(root, "n_heads", H);
    cJSON_AddNumberToObject(root, "prev_chance", pc);
    cJSON_AddNumberToObject(root, "ind_chance", ic);
    cJSON_AddNumberToObject(root, "heads_above_half_trained", n_ind_heads);
    cJSON_AddNumberToObject(root, "init_heads_above_2x_chance", init_above_2x);
    cJSON_AddNumberToObject(root, "init_vs_step0_scores_max_diff", dev_init);
    cJSON_AddNumberToObject(root, "trained_vs_last_snapshot_scores_max_diff", dev_trained);
    cJSON *pj = cJSON_AddObjectToObject(root, "periods");
    cJSON_AddItemToObject(pj, "period", mlm_json_ints(per, np));
    cJSON_AddItemToObject(pj, "trained_max_induction", mlm_json_doubles(pbest, np));
    cJSON_AddItemToObject(pj, "init_max_induction", mlm_json_doubles(pbest + np, np));
    cJSON_AddItemToObject(pj, "chance", mlm_json_doubles(pchance, np));
    cJSON *ph_ = cJSON_AddArrayToObject(pj, "trained_induction_per_head");
    for (int k = 0; k < np; k++) cJSON_AddItemToArray(ph_, mlm_json_doubles(pall + (size_t)k * LH, LH));
    if (isfinite(at_n)) cJSON_AddNumberToObject(pj, "trained_at_training_period", at_n);
    if (other_p > 0) {
        cJSON_AddNumberToObject(pj, "trained_best_other_period", other_p);
        cJSON_AddNumberToObject(pj, "trained_best_other_score", other);
    }
    const char *ckey[NCOND] = {"base", "all_pos0", "shift"};
    for (int k = 0; k < 2; k++) {
        cJSON *o = cJSON_AddObjectToObject(root, mname[k]);
        cJSON_AddItemToObject(o, "prev", mlm_json_doubles(R[k].prev[C_BASE], LH));
        cJSON_AddItemToObject(o, "induction", mlm_json_doubles(R[k].ind[C_BASE], LH));
        cJSON_AddItemToObject(o, "self", mlm_json_doubles(R[k].self_s, LH));
        cJSON_AddItemToObject(o, "bos", mlm_json_doubles(R[k].bos_s, LH));
        cJSON *mx = cJSON_AddObjectToObject(o, "max_induction");
        cJSON_AddNumberToObject(mx, "score", best[k][0]);
        cJSON_AddNumberToObject(mx, "layer", bl[k][0]);
        cJSON_AddNumberToObject(mx, "head", bh[k][0]);
        cJSON_AddNumberToObject(mx, "over_chance", best[k][0] / ic);
        cJSON *mp = cJSON_AddObjectToObject(o, "max_prev");
        cJSON_AddNumberToObject(mp, "score", bestp[k]);
        cJSON_AddNumberToObject(mp, "layer", pl[k]);
        cJSON_AddNumberToObject(mp, "head", ph[k]);
        cJSON_AddNumberToObject(mp, "over_chance", bestp[k] / pc);
        cJSON *rp = cJSON_AddObjectToObject(o, "rope");
        cJSON_AddNumberToObject(rp, "shift_by", (double)shift);
        cJSON_AddNumberToObject(rp, "mean_logit_norm", R[k].logit_norm);
        cJSON_AddBoolToObject(rp, "all_pos0_equals_rope_off", R[k].pos0_is_norope);
        for (int c = 0; c < NCOND; c++) {
            cJSON *cc = cJSON_AddObjectToObject(rp, ckey[c]);
            if (c) {
                cJSON_AddItemToObject(cc, "logit_diff", mlm_json_doubles(R[k].diff[c], T));
                cJSON_AddNumberToObject(cc, "mean_logit_diff", R[k].mean_diff[c]);
                cJSON_AddNumberToObject(cc, "max_logit_diff", R[k].max_diff[c]);
                cJSON_AddNumberToObject(cc, "relative_logit_diff", R[k].mean_diff[c] / R[k].logit_norm);
            }
            cJSON_AddNumberToObject(cc, "first_half_loss", R[k].loss1[c]);
            cJSON_AddNumberToObject(cc, "second_half_loss", R[k].loss2[c]);
            cJSON_AddNumberToObject(cc, "second_half_accuracy", R[k].acc2[c]);
            cJSON_AddNumberToObject(cc, "max_induction", best[k][c]);
            cJSON_AddItemToObject(cc, "induction", mlm_json_doubles(R[k].ind[c], LH));
            cJSON_AddItemToObject(cc, "prev", mlm_json_doubles(R[k].prev[c], LH));
        }
    }

    /* ---- figure: maps (trained rows, then init rows) | scores, RoPE, numbers ---- */
    int sel_l[64], nsl = 0, sel_h[64], nsh = 0;
    for (int l = 0; l < L; l++) if (layer < 0 || l == layer) sel_l[nsl++] = l;
    for (int h = 0; h < H; h++) if (head < 0 || h == head) sel_h[nsh++] = h;
    const int map_rows = 2 * nsl, rows = map_rows < 4 ? 4 : map_rows, rspan = rows / map_rows;
    /* each map spans 2 grid columns, the right block 6: it gets 6 / (2 h + 6) of the width */
    const int RC = 2 * nsh, cols = RC + 6;
    char title[200];
    snprintf(title, sizeof title, "Trained heads: the pinned %s model after %ld steps vs the same model at initialisation (seed %llu)", cfg.name,
             steps, (unsigned long long)d.seed);
    mlmp_figure *fig = mlmp_figure_new(title, rows, cols);
    mlmp_figure_set_size_px(fig, 540 * nsh + 1700, 4 * 600 + 120, 150);
    mlm_attn_map maps[2][256];
    int nm[2];
    for (int k = 0; k < 2; k++) nm[k] = mlm_attn_maps_from_probe(R[k].probe, &cfg, 0, maps[k], 256);
    double xd[2] = {1, T - n}, yd[2] = {n, T - 1};   /* induction diagonal j = i - n + 1 */
    /* ticks: BOS, the start of each copy, the middle of each copy, the last position */
    double tpos[4] = {0, n / 2, n + 1, T - 1};
    char tb[4][32];
    const char *tlab[4];
    snprintf(tb[0], sizeof tb[0], "BOS");
    for (int q = 1; q < 4; q++) snprintf(tb[q], sizeof tb[q], "%d", (int)tpos[q]);
    for (int q = 0; q < 4; q++) tlab[q] = tb[q];
    for (int k = 0; k < 2; k++)
        for (int a = 0; a < nsl; a++)
            for (int b = 0; b < nsh; b++) {
                const int l = sel_l[a], h = sel_h[b], i = l * H + h;
                const mlm_attn_map *mp = NULL;
                for (int q = 0; q < nm[k]; q++) if (maps[k][q].layer == l && maps[k][q].head == h) mp = &maps[k][q];
                if (!mp) continue;
                const int r = (k * nsl + a) * rspan;
                mlmp_panel_t *p = mlmp_panel(fig, r, 2 * b);
                mlmp_panel_span(p, rspan, 2);
                char l1[96], l2[96];
                snprintf(l1, sizeof l1, "%s · L%d H%d", k ? "Init" : "Trained", l, h);
                snprintf(l2, sizeof l2, "ind %.2f · prev %.2f", R[k].ind[0][i], R[k].prev[0][i]);
                const int last = k == 1 && a == nsl - 1;
                mlm_attn_panel(p, mp, 0, 0, T, 0, NULL, 0, 0, l1, l2, 0, b == 0, NULL);
                mlmp_panel_set_title(p, l1, l2);   /* without the appended colour-scale note: narrow panels */
                mlmp_panel_set_xticks(p, tpos, tlab, 4);
                mlmp_panel_set_yticks(p, tpos, tlab, 4);
                if (last) mlmp_panel_set_xlabel(p, "key position j");
                mlmp_series *dl = mlmp_add_line(p, xd, yd, 2, b == 0 && a == 0 && k == 0 ? "j = i − n + 1" : NULL);
                mlmp_series_set_color(dl, mlmp_rgba(0xd55e00, 0.55));
                mlmp_series_set_dash(dl, MLMP_DASH_DOTTED);
                mlmp_series_set_width(dl, 1.5);
                mlmp_panel_set_legend(p, MLMP_LEGEND_NONE);
            }
    char hb[256][32];
    const char *hl[256];
    head_labels(L, H, hb, hl);
    char lab[160], l2s[200];
    /* induction scores */
    mlmp_panel_t *pi = mlmp_panel(fig, 0, RC);
    mlmp_panel_span(pi, 1, 6);
    snprintf(l2s, sizeof l2s, "held-out batch of %d; trained: %d head%s above 0.5, best %.3f = %.0f× chance", B, n_ind_heads, n_ind_heads == 1 ? "" : "s",
             best[0][0], best[0][0] / ic);
    mlmp_panel_set_title(pi, "Induction score per head: mean A[i, i−n+1] over the repeat", l2s);
    mlmp_panel_set_xcategories(pi, hl, (size_t)LH);
    mlmp_panel_set_ylabel(pi, "induction score");
    mlmp_panel_set_ylim(pi, 0, 1.15);
    mlmp_series *s1 = mlmp_add_bars(pi, R[0].ind[0], (size_t)LH, "trained");
    mlmp_series_set_color(s1, mlmp_rgb(0x0072b2));
    mlmp_bars_set_value_format(s1, NULL);
    mlmp_series *s2 = mlmp_add_bars(pi, R[1].ind[0], (size_t)LH, "init");
    mlmp_series_set_color(s2, mlmp_rgb(0xe69f00));
    mlmp_bars_set_value_format(s2, NULL);
    snprintf(lab, sizeof lab, "chance %.3f", ic);
    mlmp_series_set_color(mlmp_add_hline(pi, ic, lab), mlmp_rgb(0x555555));
    mlmp_series_set_color(mlmp_add_hline(pi, 0.5, "0.5"), mlmp_rgb(0xcc79a7));
    /* previous-token scores */
    mlmp_panel_t *pp = mlmp_panel(fig, 1, RC);
    mlmp_panel_span(pp, 1, 3);
    snprintf(l2s, sizeof l2s, "best trained %.3f (L%d H%d) = %.2f× chance %.3f (dashed)", bestp[0], pl[0], ph[0], bestp[0] / pc, pc);
    mlmp_panel_set_title(pp, "Previous-token score A[i, i−1]", l2s);
    mlmp_panel_set_legend(pp, MLMP_LEGEND_NONE);
    mlmp_panel_set_xcategories(pp, hl, (size_t)LH);
    mlmp_panel_set_ylabel(pp, "previous-token score");
    s1 = mlmp_add_bars(pp, R[0].prev[0], (size_t)LH, "trained");
    mlmp_series_set_color(s1, mlmp_rgb(0x0072b2));
    mlmp_bars_set_value_format(s1, NULL);
    s2 = mlmp_add_bars(pp, R[1].prev[0], (size_t)LH, "init");
    mlmp_series_set_color(s2, mlmp_rgb(0xe69f00));
    mlmp_bars_set_value_format(s2, NULL);
    snprintf(lab, sizeof lab, "chance %.3f", pc);
    mlmp_series_set_color(mlmp_add_hline(pp, pc, lab), mlmp_rgb(0x555555));
    /* other periods */
    mlmp_panel_t *pq = mlmp_panel(fig, 1, RC + 3);
    mlmp_panel_span(pq, 1, 3);
    if (other_p > 0) snprintf(l2s, sizeof l2s, "%.3f at p = %d; elsewhere ≤ %.3f (p = %d)", at_n, n, other, other_p);
    else snprintf(l2s, sizeof l2s, "BOS + p random tokens twice");
    mlmp_panel_set_title(pq, "Other periods p: max induction", l2s);
    mlmp_panel_set_legend(pq, MLMP_LEGEND_UPPER_RIGHT);
    mlmp_panel_set_xlabel(pq, "period p (trained: n)");
    mlmp_panel_set_ylabel(pq, "max induction score (log)");
    mlmp_panel_set_yscale(pq, MLMP_SCALE_LOG);
    double *pd = malloc(sizeof(double) * (size_t)np);
    for (int k = 0; k < np; k++) pd[k] = per[k];
    s1 = mlmp_add_line(pq, pd, pbest, (size_t)np, "trained");
    mlmp_series_set_color(s1, mlmp_rgb(0x0072b2));
    mlmp_series_set_marker(s1, MLMP_MARKER_CIRCLE);
    s2 = mlmp_add_line(pq, pd, pbest + np, (size_t)np, "init");
    mlmp_series_set_color(s2, mlmp_rgb(0xe69f00));
    mlmp_series_set_marker(s2, MLMP_MARKER_SQUARE);
    mlmp_series *s3 = mlmp_add_line(pq, pd, pchance, (size_t)np, "chance");
    mlmp_series_set_color(s3, mlmp_rgb(0x555555));
    mlmp_series_set_dash(s3, MLMP_DASH_DASHED);
    snprintf(lab, sizeof lab, "n = %d", n);
    mlmp_series_set_color(mlmp_add_vline(pq, n, lab), mlmp_rgb(0xcc79a7));
    free(pd);
    /* RoPE experiments */
    mlmp_panel_t *pr = mlmp_panel(fig, 2, RC);
    mlmp_panel_span(pr, 1, 6);
    snprintf(l2s, sizeof l2s, "all at position 0 (= RoPE off) vs shift by %ld; mean ‖logits‖: trained %.1f, init %.1f", shift, R[0].logit_norm,
             R[1].logit_norm);
    mlmp_panel_set_title(pr, "RoPE experiments on the whole model: logit change per position", l2s);
    mlmp_panel_set_xlabel(pr, "position");
    mlmp_panel_set_ylabel(pr, "mean ‖Δ logits‖ (symlog)");
    mlmp_panel_set_yscale(pr, MLMP_SCALE_SYMLOG);
    mlmp_panel_set_symlog_threshold(pr, 1, 1e-6);
    double dmax = 0;
    for (int k = 0; k < 2; k++) dmax = fmax(dmax, fmax(R[k].max_diff[C_POS0], R[k].max_diff[C_SHIFT]));
    mlmp_panel_set_ylim(pr, 0, dmax * 4);
    const char *sl[4] = {"trained, all at 0", "init, all at 0", "trained, shifted", "init, shifted"};
    const mlmp_color sc[4] = {mlmp_rgb(0x0072b2), mlmp_rgb(0xe69f00), mlmp_rgb(0x56b4e9), mlmp_rgb(0xf0e442)};
    for (int q = 0; q < 4; q++) {
        mlmp_series *s = mlmp_add_line(pr, NULL, R[q % 2].diff[q < 2 ? C_POS0 : C_SHIFT], (size_t)T, sl[q]);
        mlmp_series_set_color(s, sc[q]);
        if (q >= 2) mlmp_series_set_dash(s, MLMP_DASH_DASHED);
    }
    mlmp_series_set_color(mlmp_add_vline(pr, n + 0.5, "repeat starts"), mlmp_rgb(0x555555));
    /* numbers */
    double l0self[2] = {INFINITY, -INFINITY};
    for (int h = 0; h < H; h++) { l0self[0] = fmin(l0self[0], R[0].self_s[h]); l0self[1] = fmax(l0self[1], R[0].self_s[h]); }
    char text[2400];
    snprintf(text, sizeof text,
             "TRAINED vs INIT (%s, %ld steps)\n"
             "held-out: %d seqs, data seed %ld, T %d\n"
             "maps: BOS, x1..x%d at 1..%d, again at %d..%d\n\n"
             "max induction: trained %.3f (L%d H%d)\n"
             "               init    %.3f (%.2fx chance)\n"
             "chance %.4f; init heads > 2x: %d\n"
             "max prev-token: trained %.3f, init %.3f\n"
             "trained L0 self-attention %.2f..%.2f\n"
             "other periods: best %.3f (p = %d)\n\n"
             "RoPE on the trained model:\n"
             "  2nd-half loss %.4f -> %.4f (all at 0)\n"
             "                      -> %.4f (shift %ld)\n"
             "  2nd-half acc  %.3f -> %.3f / %.3f\n"
             "  max induction %.3f -> %.3f / %.3f\n"
             "  rel. logit change %.3f / %.1e\n"
             "init: rel. change %.3f / %.1e,\n"
             "  2nd-half loss %.3f -> %.3f\n\n"
             "all at 0 == RoPE off: %s / %s\n"
             "records: |init - step 0| %.1e\n"
             "         |trained - step %.0f| %.1e",
             cfg.name, steps, B, data_seed, T, n, n, n + 1, T - 1, best[0][0], bl[0][0], bh[0][0], best[1][0], best[1][0] / ic, ic, init_above_2x, bestp[0], bestp[1],
             l0self[0], l0self[1], other, other_p, R[0].loss2[0], R[0].loss2[1], R[0].loss2[2], shift, R[0].acc2[0], R[0].acc2[1], R[0].acc2[2], best[0][0], best[0][1], best[0][2],
             R[0].mean_diff[1] / R[0].logit_norm, R[0].mean_diff[2] / R[0].logit_norm, R[1].mean_diff[1] / R[1].logit_norm,
             R[1].mean_diff[2] / R[1].logit_norm, R[1].loss2[0], R[1].loss2[1], R[0].pos0_is_norope ? "yes" : "NO",
             R[1].pos0_is_norope ? "yes" : "NO", dev_init, step_last, dev_trained);
    mlmp_panel_set_text(mlmp_panel(fig, 3, RC), text);
    mlmp_panel_span(mlmp_panel(fig, 3, RC), 1, 6);
    if (out) {
        char period_note[600] = "";
        if (other_p > 0)
            snprintf(period_note, sizeof period_note,
                     " Whether the heads copy or count is settled by other periods: repeated with period p ≠ %d the best induction "
                     "score is at most %.3f (p = %d) against %.3f at p = %d, and layer 0 has no previous-token head (best %.3f, "
                     "chance %.3f), which a content-matching induction circuit needs.",
                     n, other, other_p, at_n, n, bestp[0], pc);
        snprintf(out->title, sizeof out->title, "Trained heads: an induction model against its initialisation");
        snprintf(out->finding, sizeof out->finding,
                 "After %ld training steps on the repeat task, %d of the %d heads of %s score above 0.5 on induction (attention from "
                 "a repeated token to the token after its first occurrence), the best %.3f in layer %d head %d, %.0f times the chance "
                 "level %.3f; at initialisation (the same seed) the best head scores %.3f, %.2f times chance, and %d head%s exceed twice "
                 "chance. Analysis 6's RoPE experiments now have a visible effect: putting every token at position 0 raises the trained "
                 "model's loss on the repeated half from %.4f to %.3f (its best induction score falls to %.3f), while shifting every "
                 "position by %ld changes its logits by %.1e relative (loss %.4f): the trained model reads relative positions.%s",
                 steps, n_ind_heads, LH, cfg.name, best[0][0], bl[0][0], bh[0][0], best[0][0] / ic, ic, best[1][0], best[1][0] / ic,
                 init_above_2x, init_above_2x == 1 ? "" : "s", R[0].loss2[0], R[0].loss2[1], best[0][1], shift,
                 R[0].mean_diff[2] / R[0].logit_norm, R[0].loss2[2], period_note);
        snprintf(out->caption, sizeof out->caption,
                 "Left: the attention map of every layer and head on one held-out sequence (BOS, %d random tokens, the same %d again; "
                 "row i = query position, column j = key position), trained model above, initialisation below; the dotted line is the "
                 "induction diagonal j = i − n + 1. Right: induction and previous-token scores per head over %d held-out sequences "
                 "with their chance levels; the logit change per position when every token is put at position 0 or all positions are "
                 "shifted by %ld (symlog); the key numbers.",
                 n, n, B, shift);
    }
    int rc = mlm_analysis_finish(&d, fig, root, "09_trained_heads", out);
    run_free(&R[0]); run_free(&R[1]);
    free(tok); free(tg); free(part); free(per); free(pbest); free(pchance); free(pall);
    mlm_model_free(mt); mlm_model_free(mi);
    return rc;
}
