/* 10_induction_forming.c - analysis 10: induction heads forming during training. The run of
 * the pinned induction model (shared with analysis 9, trained there when missing) saved every
 * head's previous-token and induction scores at evenly spaced snapshot steps (heads.json) and
 * the loss of every step plus held-out evaluations of the first (unpredictable) and second
 * (repeated) half (loss.json). Plotted on one step axis, the phase change is where the
 * induction scores jump and the loss leaves its plateau at the same time.
 *
 * Definitions (docs/analysis-10-induction-forming.md):
 *   phase-change step  the first snapshot whose largest induction score (over all heads)
 *                      exceeds --threshold (0.5); the crossing itself lies between it and the
 *                      previous snapshot (linear interpolation given too);
 *   steepest loss drop the step where the training loss, smoothed by a centred moving average
 *                      of --smooth steps, falls fastest (largest drop over --smooth steps). */
#include "analysis.h"
#include "common.h"
#include "plot_cairo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int ns, L, H, n;            /* snapshots, layers, heads, the task's half length */
    double *step;               /* (ns) */
    double *prev, *ind;         /* (ns, L*H) */
    double *prev_chance, *ind_chance;   /* (ns) */
    int nl;                     /* training steps with a loss */
    double *loss;               /* (nl) loss of step i (before update i+1) */
    int ne;                     /* held-out evaluations */
    double *estep, *eloss, *efirst, *esecond;
    double log_vocab;
} run_data;

static void data_free(run_data *r) {
    free(r->step); free(r->prev); free(r->ind); free(r->prev_chance); free(r->ind_chance);
    free(r->loss); free(r->estep); free(r->eloss); free(r->efirst); free(r->esecond);
}

static cJSON *read_json(const char *dir, const char *name, char *err, size_t cap) {
    char path[1200], *text = NULL;
    size_t len = 0;
    mlm_err e;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (mlm_read_file(path, (size_t)1 << 28, &text, &len, &e)) { snprintf(err, cap, "%s", e.msg); return NULL; }
    cJSON *j = cJSON_ParseWithLength(text, len);
    free(text);
    if (!j) snprintf(err, cap, "%s is not valid JSON", path);
    return j;
}

static int num_array(const cJSON *a, double *out, int n) {
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n) return -1;
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a) {
        if (!cJSON_IsNumber(it)) return -1;
        out[i++] = it->valuedouble;
    }
    return 0;
}

static double jnum(const cJSON *o, const char *k) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(it) ? it->valuedouble : NAN;
}

/* Reads heads.json and loss.json of dir. 0, or -1 with the problem in err. */
static int load_run(const char *dir, run_data *r, char *err, size_t cap) {
    memset(r, 0, sizeof *r);
    cJSON *hj = read_json(dir, "heads.json", err, cap), *lj = NULL;
    int rc = -1;
    if (!hj) return -1;
    if (!(lj = read_json(dir, "loss.json", err, cap))) goto done;
    r->L = (int)jnum(hj, "n_layers");
    r->H = (int)jnum(hj, "n_heads");
    r->n = (int)jnum(hj, "n");
    const cJSON *ss = cJSON_GetObjectItemCaseSensitive(hj, "snapshots");
    r->ns = cJSON_GetArraySize(ss);
    if (r->L < 1 || r->H < 1 || r->L * r->H > 4096 || r->ns < 2) { snprintf(err, cap, "%s/heads.json: need layers, heads and two snapshots", dir); goto done; }
    const int LH = r->L * r->H;
    r->step = malloc(sizeof(double) * (size_t)r->ns);
    r->prev_chance = malloc(sizeof(double) * (size_t)r->ns);
    r->ind_chance = malloc(sizeof(double) * (size_t)r->ns);
    r->prev = malloc(sizeof(double) * (size_t)r->ns * LH);
    r->ind = malloc(sizeof(double) * (size_t)r->ns * LH);
    if (!r->step || !r->prev_chance || !r->ind_chance || !r->prev || !r->ind) { snprintf(err, cap, "out of memory"); goto done; }
    for (int k = 0; k < r->ns; k++) {
        const cJSON *s = cJSON_GetArrayItem(ss, k);
        r->step[k] = jnum(s, "step");
        r->prev_chance[k] = jnum(s, "prev_chance");
        r->ind_chance[k] = jnum(s, "ind_chance");
        for (int w = 0; w < 2; w++) {
            const cJSON *arr = cJSON_GetObjectItemCaseSensitive(s, w ? "induction" : "prev");
            if (cJSON_GetArraySize(arr) != r->L) { snprintf(err, cap, "%s/heads.json: snapshot %d has no %d layers", dir, k, r->L); goto done; }
            for (int l = 0; l < r->L; l++)
                if (num_array(cJSON_GetArrayItem(arr, l), (w ? r->ind : r->prev) + (size_t)k * LH + (size_t)l * r->H, r->H)) {
                    snprintf(err, cap, "%s/heads.json: snapshot %d layer %d is not %d numbers", dir, k, l, r->H);
                    goto done;
                }
        }
        if (!isfinite(r->step[k]) || (k && r->step[k] <= r->step[k - 1]) || !isfinite(r->ind_chance[k])) {
            snprintf(err, cap, "%s/heads.json: snapshot %d: bad step or chance", dir, k);
            goto done;
        }
    }
    const cJSON *la = cJSON_GetObjectItemCaseSensitive(lj, "loss");
    r->nl = cJSON_GetArraySize(la);
    r->log_vocab = jnum(lj, "log_vocab");
    r->loss = malloc(sizeof(double) * (size_t)(r->nl ? r->nl : 1));
    if (!r->loss || r->nl < 2 || num_array(la, r->loss, r->nl)) { snprintf(err, cap, "%s/loss.json: no per-step \"loss\" array", dir); goto done; }
    const cJSON *ev = cJSON_GetObjectItemCaseSensitive(lj, "evals");
    r->ne = cJSON_GetArraySize(ev);
    size_t ne = (size_t)(r->ne ? r->ne : 1);
    r->estep = malloc(sizeof(double) * ne);
    r->eloss = malloc(sizeof(double) * ne);
    r->efirst = malloc(sizeof(double) * ne);
    r->esecond = malloc(sizeof(double) * ne);
    if (!r->estep || !r->eloss || !r->efirst || !r->esecond) { snprintf(err, cap, "out of memory"); goto done; }
    for (int k = 0; k < r->ne; k++) {
        const cJSON *e = cJSON_GetArrayItem(ev, k);
        r->estep[k] = jnum(e, "step");
        r->eloss[k] = jnum(e, "loss");
        r->efirst[k] = jnum(e, "first_half");
        r->esecond[k] = jnum(e, "second_half");
    }
    rc = 0;
done:
    cJSON_Delete(hj);
    cJSON_Delete(lj);
    return rc;
}

int mlm_analysis_10(int argc, char **argv, mlm_analysis_out *out) {
    mlm_demo d;
    mlm_demo_init(&d, "10_induction_forming");
    if (out) d.quiet = !out->verbose;
    const char *run = NULL;
    long steps = 400, smooth = 9;
    double thr = 0.5;
    const mlm_demo_opt opts[] = {
        {"--run", MLM_OPT_STR, &run, 0, 0, "run directory shared with 09_trained_heads (default <out>/induction; trained there when missing)"},
        {"--steps", MLM_OPT_LONG, &steps, 1, 100000, "training steps of the run (default 400; another value retrains into --run)"},
        {"--threshold", MLM_OPT_DOUBLE, &thr, 0.01, 0.99, "induction score that marks the phase change (default 0.5)"},
        {"--smooth", MLM_OPT_LONG, &smooth, 1, 1001, "moving-average window of the training loss, in steps (default 9)"},
    };
    int prc = mlm_demo_parse(&d, argc, argv, opts, 4, "usage: 10_induction_forming [options]");
    if (prc) return prc == 1 ? 0 : prc;
    if (mlm_demo_prepare(&d)) return 1;
    char rundir[1100];
    if (run) snprintf(rundir, sizeof rundir, "%s", run);
    else snprintf(rundir, sizeof rundir, "%s/induction", d.out_dir);
    if (mlm_induction_run_ensure(&d, rundir, steps, d.seed, NULL)) return 1;
    run_data R;
    char err[2400];
    if (load_run(rundir, &R, err, sizeof err)) { data_free(&R); return mlm_demo_fail(&d, "%s", err); }
    const int ns = R.ns, L = R.L, H = R.H, LH = L * H, nl = R.nl;

    /* per snapshot: the largest induction score and its head */
    double *maxind = malloc(sizeof(double) * (size_t)ns), *maxprev = malloc(sizeof(double) * (size_t)ns);
    int *maxhead = malloc(sizeof(int) * (size_t)ns);
    for (int k = 0; k < ns; k++) {
        maxind[k] = maxprev[k] = -1;
        maxhead[k] = 0;
        for (int i = 0; i < LH; i++) {
            if (R.ind[(size_t)k * LH + i] > maxind[k]) { maxind[k] = R.ind[(size_t)k * LH + i]; maxhead[k] = i; }
            maxprev[k] = fmax(maxprev[k], R.prev[(size_t)k * LH + i]);
        }
    }
    int kp = -1;   /* the phase-change snapshot */
    for (int k = 0; k < ns && kp < 0; k++) if (maxind[k] > thr) kp = k;
    double phase_step = kp >= 0 ? R.step[kp] : NAN, cross_step = NAN;
    if (kp > 0) cross_step = R.step[kp - 1] + (R.step[kp] - R.step[kp - 1]) * (thr - maxind[kp - 1]) / (maxind[kp] - maxind[kp - 1]);
    else if (kp == 0) cross_step = R.step[0];
    int klast_low = -1;   /* last snapshot (before the change) with every head below 2x chance */
    for (int k = 0; k < ns && (kp < 0 || k < kp); k++) if (maxind[k] < 2 * R.ind_chance[k]) klast_low = k;
    /* smoothed loss and its steepest drop */
    const int W = (int)(smooth < nl ? smooth : nl);
    double *sm = malloc(sizeof(double) * (size_t)nl), *xs = malloc(sizeof(double) * (size_t)nl);
    for (int i = 0; i < nl; i++) {
        int lo = i - W / 2, hi = lo + W;
        if (lo < 0) { lo = 0; hi = W; }
        if (hi > nl) { hi = nl; lo = nl - W; }
        double s = 0;
        for (int j = lo; j < hi; j++) s += R.loss[j];
        sm[i] = s / (hi - lo);
        xs[i] = i;
    }
    int drop_step = -1;
    double drop = -INFINITY;
    for (int i = 0; i + W < nl; i++)
        if (sm[i] - sm[i + W] > drop) { drop = sm[i] - sm[i + W]; drop_step = i + W / 2; }
    const int head_n = nl < 10 ? nl : 10;
    double loss_start = 0, loss_end = 0;
    for (int i = 0; i < head_n; i++) { loss_start += R.loss[i] / head_n; loss_end += R.loss[nl - 1 - i] / head_n; }
    /* the plateau: smoothed loss just before the phase change vs the end */
    double plateau = NAN;
    if (kp > 0) {
        int i = (int)R.step[kp - 1];
        if (i >= nl) i = nl - 1;
        plateau = sm[i];
    }
    /* held-out evaluations around the change */
    int e_before = -1, e_after = -1;
    for (int k = 0; k < R.ne; k++) {
        if (isfinite(phase_step) && R.estep[k] < phase_step) e_before = k;
        if (isfinite(phase_step) && R.estep[k] >= phase_step && e_after < 0) e_after = k;
    }
    const int ef = R.ne ? R.ne - 1 : -1;

    if (!d.quiet) {
        printf("Analysis 10: induction heads forming (run %s: %d steps, %d layers x %d heads, %d snapshots)\n\n", rundir, nl, L, H, ns);
        printf("  %6s %9s %8s %10s %10s %12s\n", "step", "max ind", "head", "max prev", "ind chance", "train loss*");
        for (int k = 0; k < ns; k++) {
            int i = (int)R.step[k] < nl ? (int)R.step[k] : nl - 1;
            printf("  %6.0f %9.4f   L%d H%d %10.4f %10.4f %12.4f%s\n", R.step[k], maxind[k], maxhead[k] / H, maxhead[k] % H, maxprev[k],
                   R.ind_chance[k], sm[i], k == kp ? "   <- phase change (first > threshold)" : "");
        }
        printf("  (* training loss smoothed over %d steps)\n\n", W);
        if (kp >= 0)
            printf("  phase change: first snapshot with max induction > %.2f at step %.0f (crossing by interpolation ~%.0f);\n"
                   "  last snapshot with every head below 2x chance: step %.0f\n",
                   thr, phase_step, cross_step, klast_low >= 0 ? R.step[klast_low] : NAN);
        else printf("  no snapshot reaches an induction score of %.2f (best %.4f)\n", thr, maxind[ns - 1]);
        printf("  steepest drop of the smoothed loss: %.4f over %d steps, centred on step %d\n", drop, W, drop_step);
        printf("  training loss: first %d steps %.4f, last %d steps %.4f (log V %.4f)\n", head_n, loss_start, head_n, loss_end, R.log_vocab);
        for (int k = 0; k < R.ne; k++)
            printf("  held-out at step %4.0f: loss %.4f, first half %.4f, second half %.4f\n", R.estep[k], R.eloss[k], R.efirst[k], R.esecond[k]);
        printf("\n");
    }

    /* ---- JSON ---- */
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "run_dir", rundir);
    cJSON_AddNumberToObject(root, "seed", (double)d.seed);
    cJSON_AddNumberToObject(root, "steps", nl);
    cJSON_AddNumberToObject(root, "n_layers", L);
    cJSON_AddNumberToObject(root, "n_heads", H);
    cJSON_AddNumberToObject(root, "threshold", thr);
    cJSON_AddNumberToObject(root, "smooth", W);
    cJSON_AddItemToObject(root, "snapshot_steps", mlm_json_doubles(R.step, ns));
    cJSON_AddItemToObject(root, "ind_chance", mlm_json_doubles(R.ind_chance, ns));
    cJSON_AddItemToObject(root, "prev_chance", mlm_json_doubles(R.prev_chance, ns));
    cJSON_AddItemToObject(root, "max_induction", mlm_json_doubles(maxind, ns));
    cJSON_AddItemToObject(root, "max_prev", mlm_json_doubles(maxprev, ns));
    cJSON *hs = cJSON_AddArrayToObject(root, "heads");
    double *col = malloc(sizeof(double) * (size_t)ns * 2);
    for (int i = 0; i < LH; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "layer", i / H);
        cJSON_AddNumberToObject(o, "head", i % H);
        for (int k = 0; k < ns; k++) { col[k] = R.ind[(size_t)k * LH + i]; col[ns + k] = R.prev[(size_t)k * LH + i]; }
        cJSON_AddItemToObject(o, "induction", mlm_json_doubles(col, ns));
        cJSON_AddItemToObject(o, "prev", mlm_json_doubles(col + ns, ns));
        cJSON_AddItemToArray(hs, o);
    }
    if (kp >= 0) {
        cJSON_AddNumberToObject(root, "phase_change_step", phase_step);
        cJSON_AddNumberToObject(root, "phase_change_crossing_step", cross_step);
        cJSON_AddNumberToObject(root, "phase_change_layer", maxhead[kp] / H);
        cJSON_AddNumberToObject(root, "phase_change_head", maxhead[kp] % H);
    } else cJSON_AddNullToObject(root, "phase_change_step");
    if (klast_low >= 0) cJSON_AddNumberToObject(root, "last_step_all_below_2x_chance", R.step[klast_low]);
    cJSON_AddNumberToObject(root, "steepest_loss_drop_step", drop_step);
    cJSON_AddNumberToObject(root, "steepest_loss_drop", drop);
    cJSON_AddNumberToObject(root, "loss_start", loss_start);
    cJSON_AddNumberToObject(root, "loss_end", loss_end);
    if (isfinite(plateau)) cJSON_AddNumberToObject(root, "loss_plateau_before_change", plateau);
    cJSON_AddNumberToObject(root, "log_vocab", R.log_vocab);
    cJSON_AddItemToObject(root, "loss", mlm_json_doubles(R.loss, nl));
    cJSON_AddItemToObject(root, "loss_smoothed", mlm_json_doubles(sm, nl));
    cJSON *ej = cJSON_AddArrayToObject(root, "evals");
    for (int k = 0; k < R.ne; k++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "step", R.estep[k]);
        cJSON_AddNumberToObject(o, "loss", R.eloss[k]);
        cJSON_AddNumberToObject(o, "first_half", R.efirst[k]);
        cJSON_AddNumberToObject(o, "second_half", R.esecond[k]);
        cJSON_AddItemToArray(ej, o);
    }

    /* ---- figure: three panels on one step axis (left), the change seen three ways (right) ---- */
    char title[200], l2[240], lab[96];
    snprintf(title, sizeof title, "Induction heads forming: per-head scores and the loss on one step axis (%d steps, seed %llu)", nl,
             (unsigned long long)d.seed);
    mlmp_figure *fig = mlmp_figure_new(title, 3, 3);
    mlmp_figure_set_size_px(fig, 3000, 2100, 150);
    const double xmax = fmax(R.step[ns - 1], nl);
    const mlmp_color hc[4] = {mlmp_rgb(0x0072b2), mlmp_rgb(0xd55e00), mlmp_rgb(0x009e73), mlmp_rgb(0xcc79a7)};
    for (int w = 0; w < 2; w++) {
        mlmp_panel_t *p = mlmp_panel(fig, w, 0);
        mlmp_panel_span(p, 1, 2);
        if (w == 0) {
            if (kp >= 0)
                snprintf(l2, sizeof l2, "all heads near chance until step %.0f; max > %.2f first at step %.0f (L%d H%d), crossing ~%.0f",
                         klast_low >= 0 ? R.step[klast_low] : R.step[0], thr, phase_step, maxhead[kp] / H, maxhead[kp] % H, cross_step);
            else snprintf(l2, sizeof l2, "no head reaches %.2f in %d steps (best %.3f)", thr, nl, maxind[ns - 1]);
            mlmp_panel_set_title(p, "(a) Induction score of every head vs training step", l2);
        } else {
            int kb = 0;
            for (int k = 1; k < ns; k++) if (maxprev[k] > maxprev[kb]) kb = k;
            snprintf(l2, sizeof l2, "largest at any snapshot %.3f (step %.0f) = %.2f× chance %.3f; at the end at most %.3f", maxprev[kb], R.step[kb],
                     maxprev[kb] / R.prev_chance[kb], R.prev_chance[kb], maxprev[ns - 1]);
            mlmp_panel_set_title(p, "(b) Previous-token score of every head vs training step", l2);
        }
        mlmp_panel_set_ylabel(p, w ? "previous-token score" : "induction score");
        mlmp_panel_set_xlim(p, 0, xmax);
        for (int i = 0; i < LH; i++) {
            for (int k = 0; k < ns; k++) col[k] = (w ? R.prev : R.ind)[(size_t)k * LH + i];
            snprintf(lab, sizeof lab, "L%d H%d", i / H, i % H);
            mlmp_series *s = mlmp_add_line(p, R.step, col, (size_t)ns, lab);
            mlmp_series_set_color(s, hc[(i % H) % 4]);
            mlmp_series_set_dash(s, i / H == L - 1 ? MLMP_DASH_SOLID : MLMP_DASH_DASHED);
            mlmp_series_set_marker(s, i / H == L - 1 ? MLMP_MARKER_CIRCLE : MLMP_MARKER_NONE);
        }
        mlmp_series *c = mlmp_add_line(p, R.step, w ? R.prev_chance : R.ind_chance, (size_t)ns, "chance");
        mlmp_series_set_color(c, mlmp_rgb(0x555555));
        mlmp_series_set_dash(c, MLMP_DASH_DOTTED);
        if (!w) mlmp_series_set_color(mlmp_add_hline(p, thr, "threshold"), mlmp_rgb(0x999999));
        if (kp >= 0) mlmp_series_set_color(mlmp_add_vline(p, phase_step, w ? NULL : "phase change"), mlmp_rgb(0xe69f00));
        mlmp_panel_set_legend(p, w ? MLMP_LEGEND_UPPER_RIGHT : MLMP_LEGEND_UPPER_LEFT);
        if (!w) {
            double yt[6] = {0, 0.2, 0.4, 0.6, 0.8, 1.0};
            const char *yl[6] = {"0.00", "0.20", "0.40", "0.60", "0.80", "1.00"};
            mlmp_panel_set_yticks(p, yt, yl, 6);
            mlmp_panel_set_ylim(p, -0.03, 1.05);
        } else {   /* two decimals like (a) and (c), so the step axes line up */
            double top = 0;
            for (size_t q = 0; q < (size_t)ns * LH; q++) top = fmax(top, R.prev[q]);
            for (int k = 0; k < ns; k++) top = fmax(top, R.prev_chance[k]);
            const double st = top <= 0.12 ? 0.02 : top <= 0.3 ? 0.05 : 0.1;
            double yt[16];
            char yb[16][16];
            const char *yl[16];
            int nyt = 0;
            for (double v = 0; v <= top + 1e-12 && nyt < 16; v += st) { yt[nyt] = v; snprintf(yb[nyt], sizeof yb[nyt], "%.2f", v); yl[nyt] = yb[nyt]; nyt++; }
            mlmp_panel_set_yticks(p, yt, yl, (size_t)nyt);
            mlmp_panel_set_ylim(p, -0.03 * top, top * 1.08);
        }
    }
    /* (c) loss */
    mlmp_panel_t *pc = mlmp_panel(fig, 2, 0);
    mlmp_panel_span(pc, 1, 2);
    if (ef >= 0 && e_before >= 0 && e_after >= 0)
        snprintf(l2, sizeof l2, "held-out second half %.3f at step %.0f → %.3f at step %.0f → %.4f at the end; first half stays ~log V",
                 R.esecond[e_before], R.estep[e_before], R.esecond[e_after], R.estep[e_after], R.esecond[ef]);
    else snprintf(l2, sizeof l2, "steepest drop of the smoothed loss at step %d", drop_step);
    mlmp_panel_set_title(pc, "(c) Loss on the same axis: training (every step) and held-out halves", l2);
    mlmp_panel_set_xlabel(pc, "training step");
    mlmp_panel_set_ylabel(pc, "cross-entropy (nats)");
    mlmp_panel_set_xlim(pc, 0, xmax);
    mlmp_series *s = mlmp_add_line(pc, xs, R.loss, (size_t)nl, "training loss");
    mlmp_series_set_color(s, mlmp_rgba(0x56b4e9, 0.6));
    mlmp_series_set_width(s, 0.8);
    snprintf(lab, sizeof lab, "smoothed (%d steps)", W);
    s = mlmp_add_line(pc, xs, sm, (size_t)nl, lab);
    mlmp_series_set_color(s, mlmp_rgb(0x0072b2));
    mlmp_series_set_width(s, 2);
    if (R.ne) {
        s = mlmp_add_line(pc, R.estep, R.efirst, (size_t)R.ne, "held-out first half");
        mlmp_series_set_color(s, mlmp_rgb(0x009e73));
        mlmp_series_set_marker(s, MLMP_MARKER_SQUARE);
        s = mlmp_add_line(pc, R.estep, R.esecond, (size_t)R.ne, "held-out second half");
        mlmp_series_set_color(s, mlmp_rgb(0xd55e00));
        mlmp_series_set_marker(s, MLMP_MARKER_CIRCLE);
    }
    mlmp_series_set_color(mlmp_add_hline(pc, R.log_vocab, "log V (uniform guess)"), mlmp_rgb(0x555555));
    if (kp >= 0) mlmp_series_set_color(mlmp_add_vline(pc, phase_step, NULL), mlmp_rgb(0xe69f00));
    if (drop_step >= 0) {
        mlmp_series *v = mlmp_add_vline(pc, drop_step, "steepest loss drop");
        mlmp_series_set_color(v, mlmp_rgb(0x0072b2));
    }
    mlmp_panel_set_legend(pc, MLMP_LEGEND_LOWER_LEFT);
    {   /* tick labels as wide as (a)'s and (b)'s, so the three step axes line up */
        double top = R.log_vocab;
        for (int i = 0; i < nl; i++) top = fmax(top, R.loss[i]);
        int nyt = (int)ceil(top) + 1;
        if (nyt > 12) nyt = 12;
        double yt[12];
        char yb[12][16];
        const char *yl[12];
        for (int q = 0; q < nyt; q++) { yt[q] = q * ceil(ceil(top) / (nyt - 1)); snprintf(yb[q], sizeof yb[q], "%.2f", yt[q]); yl[q] = yb[q]; }
        mlmp_panel_set_yticks(pc, yt, yl, (size_t)nyt);
        mlmp_panel_set_ylim(pc, -0.15, top * 1.05);
    }
    /* (d) heatmap: heads x snapshots */
    mlmp_panel_t *pd = mlmp_panel(fig, 0, 2);
    mlmp_panel_set_title(pd, "(d) Induction score, head × snapshot", "rows: heads; columns: snapshot steps");
    double *hm = malloc(sizeof(double) * (size_t)LH * ns);
    for (int i = 0; i < LH; i++)
        for (int k = 0; k < ns; k++) hm[(size_t)i * ns + k] = R.ind[(size_t)k * LH + i];
    mlmp_series *h = mlmp_add_heatmap(pd, hm, (size_t)LH, (size_t)ns, MLMP_CMAP_VIRIDIS);
    mlmp_heatmap_set_range(h, 0, 1);
    mlmp_heatmap_set_colorbar(h, 1, "induction score");
    char hb[64][16], sb[16][16];
    const char *hl[64], *sl[16];
    for (int i = 0; i < LH && i < 64; i++) { snprintf(hb[i], sizeof hb[i], "L%d H%d", i / H, i % H); hl[i] = hb[i]; }
    if (LH <= 64) mlmp_panel_set_ycategories(pd, hl, (size_t)LH);
    double tp[16];
    int nt = 0;
    for (int k = 0; k < ns && nt < 16; k += (ns + 4) / 5) { tp[nt] = k; snprintf(sb[nt], sizeof sb[nt], "%.0f", R.step[k]); sl[nt] = sb[nt]; nt++; }
    mlmp_panel_set_xticks(pd, tp, sl, (size_t)nt);
    mlmp_panel_set_xlabel(pd, "snapshot step");
    mlmp_panel_set_grid(pd, 0);
    /* (e) loss against the best induction score */
    mlmp_panel_t *pe = mlmp_panel(fig, 1, 2);
    mlmp_panel_set_title(pe, "(e) Loss vs the best induction score", "one point per snapshot, joined in step order");
    mlmp_panel_set_xlabel(pe, "max induction score over heads");
    mlmp_panel_set_ylabel(pe, "smoothed training loss");
    double *ly = malloc(sizeof(double) * (size_t)ns);
    for (int k = 0; k < ns; k++) ly[k] = sm[(int)R.step[k] < nl ? (int)R.step[k] : nl - 1];
    s = mlmp_add_line(pe, maxind, ly, (size_t)ns, "snapshots");
    mlmp_series_set_color(s, mlmp_rgb(0x0072b2));
    mlmp_series_set_marker(s, MLMP_MARKER_CIRCLE);
    mlmp_panel_set_legend(pe, MLMP_LEGEND_NONE);
    for (int k = 0; k < ns; k++) {
        if (k != 0 && k != ns - 1 && k != kp && k != kp - 1) continue;
        snprintf(lab, sizeof lab, " step %.0f", R.step[k]);
        mlmp_series *a = mlmp_add_annotation(pe, maxind[k], ly[k], lab);
        mlmp_annotation_set_align(a, MLMP_ALIGN_START, MLMP_ALIGN_CENTER);
    }
    /* (f) numbers */
    char text[2000];
    int off = snprintf(text, sizeof text, "INDUCTION HEADS FORMING\n(%s)\n\n", rundir);
    if (kp >= 0)
        off += snprintf(text + off, sizeof text - off,
                        "phase change (max induction > %.2f):\n  first at step %.0f (L%d H%d, %.3f)\n  crossing ~ step %.0f\n"
                        "  all heads below 2x chance to %.0f\n\n",
                        thr, phase_step, maxhead[kp] / H, maxhead[kp] % H, maxind[kp], cross_step, klast_low >= 0 ? R.step[klast_low] : NAN);
    else off += snprintf(text + off, sizeof text - off, "no snapshot above %.2f\n  (best %.3f)\n\n", thr, maxind[ns - 1]);
    off += snprintf(text + off, sizeof text - off,
                    "steepest loss drop: step %d\n  (%.3f over %d steps)\n\n"
                    "training loss: %.3f -> %.3f\n  log V = %.3f\n",
                    drop_step, drop, W, loss_start, loss_end, R.log_vocab);
    if (isfinite(plateau)) off += snprintf(text + off, sizeof text - off, "  plateau before: %.3f\n", plateau);
    if (ef >= 0)
        off += snprintf(text + off, sizeof text - off, "held-out at step %.0f:\n  first half %.3f\n  second half %.4f\n", R.estep[ef], R.efirst[ef],
                        R.esecond[ef]);
    snprintf(text + off, sizeof text - off, "\nfinal max induction %.3f\n  (chance %.4f)", maxind[ns - 1], R.ind_chance[ns - 1]);
    mlmp_panel_set_text(mlmp_panel(fig, 2, 2), text);
    if (out) {
        snprintf(out->title, sizeof out->title, "Induction heads forming during training");
        if (kp >= 0)
            snprintf(out->finding, sizeof out->finding,
                     "Over %d training steps the induction score of every head stays below twice chance (%.3f) until step %.0f, then the "
                     "largest one passes %.2f at the snapshot of step %.0f (layer %d head %d, %.3f; interpolated crossing at step %.0f) and "
                     "ends at %.3f. The training loss leaves its plateau of %.3f at the same time: its steepest drop (smoothed over %d "
                     "steps) is centred on step %d, and it ends at %.3f. The held-out loss of the repeated half falls from %.3f to %.4f "
                     "while the unpredictable first half stays near log V = %.3f: the drop is the model starting to copy.",
                     nl, 2 * R.ind_chance[0], klast_low >= 0 ? R.step[klast_low] : R.step[0], thr, phase_step, maxhead[kp] / H,
                     maxhead[kp] % H, maxind[kp], cross_step, maxind[ns - 1], plateau, W, drop_step, loss_end,
                     R.ne ? R.esecond[0] : NAN, ef >= 0 ? R.esecond[ef] : NAN, R.log_vocab);
        else
            snprintf(out->finding, sizeof out->finding,
                     "Over %d training steps no head's induction score passes %.2f (best %.3f at the last snapshot); the training loss "
                     "goes from %.3f to %.3f.", nl, thr, maxind[ns - 1], loss_start, loss_end);
        snprintf(out->caption, sizeof out->caption,
                 "(a) the induction score and (b) the previous-token score of every head at each snapshot (solid: last layer, dashed: "
                 "earlier layers; dotted: chance), (c) the training loss of every step with its moving average and the held-out losses "
                 "of the first and second half, all on one step axis; the orange line marks the phase change (first snapshot above "
                 "%.2f). (d) the induction scores as a head × snapshot map; (e) the smoothed loss against the best induction score; "
                 "(f) the numbers.", thr);
    }
    int rc = mlm_analysis_finish(&d, fig, root, "10_induction_forming", out);
    free(maxind); free(maxprev); free(maxhead); free(sm); free(xs); free(col); free(hm); free(ly);
    data_free(&R);
    return rc;
}
