/* attn_figure.c - attention-map grids: selection, scores, top-k, crop, pooling (attn_figure.h). */
#include "attn_figure.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void window(int T, int *lo, int *hi) {
    if (*hi <= 0 || *hi > T) *hi = T;
    if (*lo < 0) *lo = 0;
    if (*lo >= *hi) *lo = *hi - 1;
}

double mlm_attn_prev_score(const mlm_real *p, int T, int lo, int hi) {
    window(T, &lo, &hi);
    double s = 0;
    int n = 0;
    for (int i = lo < 1 ? 1 : lo; i < hi; i++) { s += p[(int64_t)i * T + i - 1]; n++; }
    return n ? s / n : 0;
}

double mlm_attn_first_score(const mlm_real *p, int T, int lo, int hi) {
    window(T, &lo, &hi);
    double s = 0;
    int n = 0;
    for (int i = lo < 1 ? 1 : lo; i < hi; i++) { s += p[(int64_t)i * T]; n++; }
    return n ? s / n : 0;
}

double mlm_attn_focus_score(const mlm_real *p, int T, int lo, int hi) {
    window(T, &lo, &hi);
    double h = 0, hu = 0;
    for (int i = lo < 1 ? 1 : lo; i < hi; i++) {
        for (int j = 0; j <= i; j++) {
            double v = p[(int64_t)i * T + j];
            if (v > 0) h -= v * log(v);
        }
        hu += log((double)i + 1);
    }
    return hu > 0 ? 1.0 - h / hu : 0;
}

const char *mlm_attn_score_name(mlm_attn_score s) {
    switch (s) {
    case MLM_ATTN_SCORE_PREV: return "prev";
    case MLM_ATTN_SCORE_FOCUS: return "focus";
    case MLM_ATTN_SCORE_FIRST: return "first";
    default: return "none";
    }
}

int mlm_attn_score_parse(const char *s, mlm_attn_score *out) {
    for (int k = 0; k <= MLM_ATTN_SCORE_FIRST; k++)
        if (!strcmp(s, mlm_attn_score_name((mlm_attn_score)k))) { *out = (mlm_attn_score)k; return 0; }
    return -1;
}

int mlm_attn_pool(const mlm_real *p, int T, int lo, int hi, int max_cells, int pool_max, double *out, int *block) {
    window(T, &lo, &hi);
    if (max_cells <= 0) max_cells = 64;
    int len = hi - lo, b = (len + max_cells - 1) / max_cells;
    if (b < 1) b = 1;
    int m = (len + b - 1) / b;
    for (int r = 0; r < m; r++)
        for (int c = 0; c < m; c++) {
            double acc = 0;
            int cnt = 0;
            for (int i = lo + r * b; i < lo + (r + 1) * b && i < hi; i++)
                for (int j = lo + c * b; j < lo + (c + 1) * b && j < hi && j <= i; j++) {
                    double v = p[(int64_t)i * T + j];
                    if (pool_max) acc = cnt == 0 || v > acc ? v : acc;
                    else acc += v;
                    cnt++;
                }
            out[r * m + c] = cnt ? (pool_max ? acc : acc / cnt) : NAN;
        }
    if (block) *block = b;
    return m;
}

int mlm_attn_maps_from_probe(const mlm_probe *p, const mlm_config *cfg, int b, mlm_attn_map *maps, int cap) {
    int n = 0;
    char nm[96];
    for (int l = 0; l < cfg->n_layers; l++) {
        snprintf(nm, sizeof nm, "blocks.%d.attn.probs", l);
        const mlm_record *r = mlm_probe_find(p, nm);
        if (!r || !r->data || r->ndim != 4 || r->shape[2] != r->shape[3] || b >= r->shape[0]) continue;
        int H = (int)r->shape[1], T = (int)r->shape[2];
        for (int h = 0; h < H && n < cap; h++) {
            maps[n].layer = l;
            maps[n].head = h;
            maps[n].T = T;
            maps[n].probs = r->data + (((int64_t)b * H + h) * T) * T;
            n++;
        }
    }
    return n;
}

static int in_list(const int *v, int n, int x) {
    if (!v || n <= 0) return 1;
    for (int i = 0; i < n; i++) if (v[i] == x) return 1;
    return 0;
}

static int by_score(const void *a, const void *b) {
    const mlm_attn_pick *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    if (x->layer != y->layer) return x->layer - y->layer;
    return x->head - y->head;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double mlm_attn_panel(mlmp_panel_t *p, const mlm_attn_map *mp, int lo, int hi, int max_cells, int pool_max,
                      const char *const *tokens, int mark_predictions, int colorbar, const char *line1, const char *line2,
                      int xlabel, int ylabel, int *cells) {
    int T = mp->T;
    window(T, &lo, &hi);
    int len = hi - lo, block = 1;
    double *cell = malloc(sizeof(double) * (size_t)len * (size_t)len);
    if (!cell) return NAN;
    int m = mlm_attn_pool(mp->probs, T, lo, hi, max_cells, pool_max, cell, &block);
    if (cells) *cells = m;
    double vmax = 0;
    for (int i = 0; i < m * m; i++) if (isfinite(cell[i]) && cell[i] > vmax) vmax = cell[i];
    /* long maps: the first rows (few keys, large weights) would set the colour scale and
     * leave the rest white, so the colour saturates at the 99th percentile of the cells */
    double ctop = vmax;
    if (m > 32) {
        double *srt = malloc(sizeof(double) * (size_t)m * (size_t)m);
        int nf = 0;
        for (int i = 0; srt && i < m * m; i++) if (isfinite(cell[i])) srt[nf++] = cell[i];
        if (srt && nf > 0) {
            qsort(srt, (size_t)nf, sizeof *srt, cmp_double);
            ctop = srt[(int)floor(0.99 * (nf - 1))];
        }
        free(srt);
    }
    char l2[256], cs[64] = "";
    if (ctop < vmax) snprintf(cs, sizeof cs, ", colour to p99 %.3f", ctop);
    snprintf(l2, sizeof l2, "%s%smax %.2f%s%s", line2 ? line2 : "", line2 ? " · " : "", vmax,
             block > 1 ? (pool_max ? ", max-pooled" : ", mean-pooled") : "", cs);
    mlmp_panel_set_title(p, line1, l2);
    mlmp_series *s = mlmp_add_heatmap(p, cell, (size_t)m, (size_t)m, MLMP_CMAP_BLUES);
    mlmp_heatmap_set_range(s, 0, ctop > 0 ? ctop : 1);
    mlmp_heatmap_set_colorbar(s, colorbar, colorbar ? "attention weight" : NULL);
    if (m <= 10 && colorbar) mlmp_heatmap_set_numbers(s, "%.2f");
    mlmp_panel_set_grid(p, 0);
    /* ticks: the first position of a few cells; token strings on short maps */
    int nt = m <= 32 ? m : 5;
    double pos[32];
    char xb[32][64], yb[32][80];
    const char *xl[32], *yl[32];
    for (int t = 0; t < nt; t++) {
        int c = m <= 32 ? t : (int)lrint((double)t * (m - 1) / (nt - 1));
        int tok = lo + c * block;
        pos[t] = c;
        if (block == 1 && tokens) snprintf(xb[t], sizeof xb[t], "%s", tokens[tok]);
        else snprintf(xb[t], sizeof xb[t], "%d", tok);
        if (mark_predictions && block == 1) {
            if (tokens && tok + 1 < T) snprintf(yb[t], sizeof yb[t], "%d %s → %s", tok, tokens[tok], tokens[tok + 1]);
            else if (tokens) snprintf(yb[t], sizeof yb[t], "%d %s → ?", tok, tokens[tok]);
            else snprintf(yb[t], sizeof yb[t], "%d → %d", tok, tok + 1);
        } else snprintf(yb[t], sizeof yb[t], "%s", xb[t]);
        xl[t] = xb[t];
        yl[t] = yb[t];
    }
    mlmp_panel_set_xticks(p, pos, xl, (size_t)nt);
    mlmp_panel_set_yticks(p, pos, yl, (size_t)nt);
    if (xlabel) mlmp_panel_set_xlabel(p, block > 1 ? "key position (first of each block)" : "key position j");
    if (ylabel)
        mlmp_panel_set_ylabel(p, mark_predictions ? "query i → predicts token i+1" : block > 1 ? "query position (first of each block)" : "query position i");
    free(cell);
    return vmax;
}

mlmp_figure *mlm_attn_figure(const mlm_attn_map *maps, int n, const mlm_attn_fig_opts *o, mlm_attn_pick *picked,
                             int pick_cap, int *n_picked, char *err, size_t errlen) {
    mlm_attn_fig_opts def;
    memset(&def, 0, sizeof def);
    if (!o) o = &def;
    if (n_picked) *n_picked = 0;
    if (n <= 0) { snprintf(err, errlen, "no attention maps to draw (keep blocks.*.attn.probs)"); return NULL; }
    int T = maps[0].T;
    int lo = o->crop_lo, hi = o->crop_hi;
    if (lo < 0 || (hi && hi <= lo) || lo >= T) { snprintf(err, errlen, "crop window [%d, %d) is outside 0..%d", lo, hi, T); return NULL; }
    window(T, &lo, &hi);
    mlm_attn_pick *all = calloc((size_t)n, sizeof *all);
    if (!all) { snprintf(err, errlen, "out of memory"); return NULL; }
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (!in_list(o->layers, o->n_layers, maps[i].layer) || !in_list(o->heads, o->n_heads, maps[i].head)) continue;
        mlm_attn_pick *q = &all[k];
        q->layer = maps[i].layer;
        q->head = maps[i].head;
        q->prev = mlm_attn_prev_score(maps[i].probs, T, lo, hi);
        q->focus = mlm_attn_focus_score(maps[i].probs, T, lo, hi);
        q->first = mlm_attn_first_score(maps[i].probs, T, lo, hi);
        q->score = o->score == MLM_ATTN_SCORE_PREV ? q->prev : o->score == MLM_ATTN_SCORE_FOCUS ? q->focus
                 : o->score == MLM_ATTN_SCORE_FIRST ? q->first : 0;
        q->map_index = i;
        k++;
    }
    if (k == 0) { free(all); snprintf(err, errlen, "the layer / head selection matches no map"); return NULL; }
    if (o->top_k > 0 && o->score != MLM_ATTN_SCORE_NONE) {
        qsort(all, (size_t)k, sizeof *all, by_score);
        if (k > o->top_k) k = o->top_k;
    }
    int cols = o->cols > 0 ? o->cols : (int)ceil(sqrt((double)k));
    if (cols > 16) cols = 16;
    int rows = (k + cols - 1) / cols;
    if (rows > 16) { k = 16 * cols; rows = 16; }
    char title[256];
    if (o->title) snprintf(title, sizeof title, "%s", o->title);
    else snprintf(title, sizeof title, "Attention maps: %d head%s, positions %d..%d", k, k == 1 ? "" : "s", lo, hi - 1);
    mlmp_figure *fig = mlmp_figure_new(title, rows, cols);
    if (!fig) { free(all); snprintf(err, errlen, "out of memory"); return NULL; }
    double pw = cols <= 2 ? 900 : cols <= 4 ? 720 : 560, ph = pw * 0.92;
    mlmp_figure_set_size_px(fig, (int)(pw * cols + 160), (int)(ph * rows + 200), 150);
    for (int q = 0; q < k; q++) {
        const mlm_attn_map *mp = &maps[all[q].map_index];
        mlmp_panel_t *p = mlmp_panel(fig, q / cols, q % cols);
        char l1[96], l2[160];
        snprintf(l1, sizeof l1, "layer %d, head %d", mp->layer, mp->head);
        if (o->score != MLM_ATTN_SCORE_NONE) snprintf(l2, sizeof l2, "%s score %.3f", mlm_attn_score_name(o->score), all[q].score);
        else snprintf(l2, sizeof l2, "prev-token score %.3f", all[q].prev);
        int last_row = q / cols == rows - 1 || q + cols >= k;
        all[q].vmax = mlm_attn_panel(p, mp, lo, hi, o->max_cells, o->pool_max, o->tokens, o->mark_predictions, o->colorbar, l1, l2,
                                     last_row, q % cols == 0, NULL);
    }
    if (picked) for (int q = 0; q < k && q < pick_cap; q++) picked[q] = all[q];
    if (n_picked) *n_picked = k < pick_cap || !picked ? k : pick_cap;
    free(all);
    return fig;
}
