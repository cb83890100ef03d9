/* plot.c - the figure model: construction, copies of the caller's data, setters and the
 * derived quantities the renderers share (series colours, box-plot statistics, colour ranges). */
#include "plot_internal.h"
#include "plot_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fig_error(mlmp_figure *fig, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
static void fig_error(mlmp_figure *fig, const char *fmt, ...) {
    if (!fig || fig->error[0]) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(fig->error, sizeof fig->error, fmt, ap);
    va_end(ap);
}

static void set_str(mlmp_figure *fig, char **dst, const char *src) {
    char *c = NULL;
    if (src) {
        c = mlmp__strdup(src);
        if (!c) { fig_error(fig, "out of memory copying a string"); return; }
    }
    free(*dst);
    *dst = c;
}

static char **dup_strs(const char *const *src, size_t n, int *fail) {
    if (!src || !n) return NULL;
    char **d = calloc(n, sizeof *d);
    if (!d) { *fail = 1; return NULL; }
    for (size_t i = 0; i < n; i++)
        if (src[i] && !(d[i] = mlmp__strdup(src[i]))) *fail = 1;
    return d;
}

static void free_strs(char **s, size_t n) {
    if (!s) return;
    for (size_t i = 0; i < n; i++) free(s[i]);
    free(s);
}

mlmp_figure *mlmp_figure_new(const char *title, int rows, int cols) {
    if (rows < 1 || cols < 1 || rows > 16 || cols > 16) return NULL;
    mlmp_figure *fig = calloc(1, sizeof *fig);
    if (!fig) return NULL;
    fig->rows = rows; fig->cols = cols;
    fig->dpi = 150; fig->w_in = 2400.0 / 150; fig->h_in = 1480.0 / 150;
    fig->panels = calloc((size_t)rows * (size_t)cols, sizeof *fig->panels);
    if (!fig->panels || (title && !(fig->title = mlmp__strdup(title)))) {
        free(fig->panels); free(fig); return NULL;
    }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            mlmp_panel_t *p = &fig->panels[r * cols + c];
            p->fig = fig; p->row = r; p->col = c; p->rowspan = p->colspan = 1;
            p->grid = 1; p->x.linthresh = p->y.linthresh = 1;
        }
    return fig;
}

static void free_axis(mlmp_axis *a) {
    free(a->tick_pos);
    free_strs(a->tick_labels, a->nticks);
    free(a->label);
}

static void free_series(mlmp_series *s) {
    free(s->label); free(s->colors); free(s->x); free(s->y); free(s->c); free(s->cbar_label);
    free(s->value_fmt); free_strs(s->value_labels, s->nvalue_labels);
    if (s->layers) for (size_t k = 0; k < s->nlayers; k++) free(s->layers[k]);
    free(s->layers); free_strs(s->layer_labels, s->nlayers);
    free(s->z); free(s->num_fmt);
    free_strs(s->names, s->n); free(s->explode);
    if (s->stats) for (size_t g = 0; g < s->ngroups; g++) free(s->stats[g].out);
    free(s->stats); free_strs(s->group_names, s->ngroups);
    if (s->samples) for (size_t g = 0; g < s->ngroups; g++) free(s->samples[g]);
    free(s->samples); free(s->counts);
    free(s->text);
    free(s);
}

void mlmp_figure_free(mlmp_figure *fig) {
    if (!fig) return;
    for (int i = 0; i < fig->rows * fig->cols; i++) {
        mlmp_panel_t *p = &fig->panels[i];
        free(p->title1); free(p->title2); free(p->text);
        free_axis(&p->x); free_axis(&p->y);
        for (mlmp_series *s = p->head, *nx; s; s = nx) { nx = s->next; free_series(s); }
    }
    free(fig->panels); free(fig->title); free(fig);
}

void mlmp_figure_set_size_in(mlmp_figure *fig, double w_in, double h_in) {
    if (!fig) return;
    if (!(w_in > 0.5 && h_in > 0.5 && w_in < 200 && h_in < 200)) {
        fig_error(fig, "mlmp_figure_set_size_in: bad size %g x %g in", w_in, h_in); return;
    }
    fig->w_in = w_in; fig->h_in = h_in;
}

void mlmp_figure_set_dpi(mlmp_figure *fig, double dpi) {
    if (!fig) return;
    if (!(dpi >= 10 && dpi <= 1200)) { fig_error(fig, "mlmp_figure_set_dpi: bad dpi %g", dpi); return; }
    fig->dpi = dpi;
}

void mlmp_figure_set_size_px(mlmp_figure *fig, int w_px, int h_px, double dpi) {
    if (!fig) return;
    mlmp_figure_set_dpi(fig, dpi);
    if (fig->error[0]) return;
    mlmp_figure_set_size_in(fig, w_px / dpi, h_px / dpi);
}

const char *mlmp_figure_error(const mlmp_figure *fig) { return fig ? fig->error : "no figure"; }
void mlmp_figure_size_pt(const mlmp_figure *fig, double *w_pt, double *h_pt) {
    if (w_pt) *w_pt = fig ? fig->w_in * 72 : 0;
    if (h_pt) *h_pt = fig ? fig->h_in * 72 : 0;
}
int mlmp_figure_rows(const mlmp_figure *fig) { return fig ? fig->rows : 0; }
int mlmp_figure_cols(const mlmp_figure *fig) { return fig ? fig->cols : 0; }
void mlmp_figure_share_color_scale(mlmp_figure *fig, int on) { if (fig) fig->share_clim = on; }

mlmp_panel_t *mlmp_panel(mlmp_figure *fig, int r, int c) {
    if (!fig) return NULL;
    if (r < 0 || c < 0 || r >= fig->rows || c >= fig->cols) {
        fig_error(fig, "mlmp_panel: cell (%d, %d) outside the %d x %d grid", r, c, fig->rows, fig->cols);
        return NULL;
    }
    return &fig->panels[r * fig->cols + c];
}

void mlmp_panel_span(mlmp_panel_t *p, int rowspan, int colspan) {
    if (!p) return;
    mlmp_figure *fig = p->fig;
    if (rowspan < 1 || colspan < 1 || p->row + rowspan > fig->rows || p->col + colspan > fig->cols) {
        fig_error(fig, "mlmp_panel_span: %d x %d from (%d, %d) leaves the grid", rowspan, colspan, p->row, p->col);
        return;
    }
    p->rowspan = rowspan; p->colspan = colspan;
    for (int r = p->row; r < p->row + rowspan; r++)
        for (int c = p->col; c < p->col + colspan; c++)
            if (r != p->row || c != p->col) fig->panels[r * fig->cols + c].covered = 1;
}

void mlmp_panel_set_title(mlmp_panel_t *p, const char *line1, const char *line2) {
    if (!p) return;
    set_str(p->fig, &p->title1, line1);
    set_str(p->fig, &p->title2, line2);
}
void mlmp_panel_set_xlabel(mlmp_panel_t *p, const char *l) { if (p) set_str(p->fig, &p->x.label, l); }
void mlmp_panel_set_ylabel(mlmp_panel_t *p, const char *l) { if (p) set_str(p->fig, &p->y.label, l); }
void mlmp_panel_set_xscale(mlmp_panel_t *p, mlmp_scale s) { if (p) p->x.scale = s; }
void mlmp_panel_set_yscale(mlmp_panel_t *p, mlmp_scale s) { if (p) p->y.scale = s; }
void mlmp_panel_set_symlog_threshold(mlmp_panel_t *p, int axis_y, double linthresh) {
    if (!p) return;
    if (!(linthresh > 0) || !isfinite(linthresh)) { fig_error(p->fig, "symlog threshold must be > 0"); return; }
    (axis_y ? &p->y : &p->x)->linthresh = linthresh;
}

static void set_lim(mlmp_panel_t *p, mlmp_axis *a, double lo, double hi) {
    if (!isfinite(lo) || !isfinite(hi) || lo == hi) {
        fig_error(p->fig, "axis limits [%g, %g] are empty or not finite", lo, hi); return;
    }
    a->has_lim = 1; a->lo = lo; a->hi = hi;
}
void mlmp_panel_set_xlim(mlmp_panel_t *p, double lo, double hi) { if (p) set_lim(p, &p->x, lo, hi); }
void mlmp_panel_set_ylim(mlmp_panel_t *p, double lo, double hi) { if (p) set_lim(p, &p->y, lo, hi); }

static void set_ticks(mlmp_panel_t *p, mlmp_axis *a, const double *pos, const char *const *labels,
                      size_t n, int categorical) {
    free(a->tick_pos); free_strs(a->tick_labels, a->nticks);
    a->tick_pos = NULL; a->tick_labels = NULL; a->nticks = 0; a->has_ticks = 0; a->categorical = 0;
    if (!n) return;
    int fail = 0;
    a->tick_pos = malloc(n * sizeof *a->tick_pos);
    a->tick_labels = dup_strs(labels, n, &fail);
    if (!a->tick_pos || fail) { fig_error(p->fig, "out of memory copying tick labels"); }
    if (!a->tick_pos) { free_strs(a->tick_labels, n); a->tick_labels = NULL; return; }
    for (size_t i = 0; i < n; i++) a->tick_pos[i] = pos ? pos[i] : (double)i;
    a->nticks = n; a->has_ticks = 1; a->categorical = categorical;
}
void mlmp_panel_set_xticks(mlmp_panel_t *p, const double *pos, const char *const *labels, size_t n) {
    if (p) set_ticks(p, &p->x, pos, labels, n, 0);
}
void mlmp_panel_set_yticks(mlmp_panel_t *p, const double *pos, const char *const *labels, size_t n) {
    if (p) set_ticks(p, &p->y, pos, labels, n, 0);
}
void mlmp_panel_set_xcategories(mlmp_panel_t *p, const char *const *labels, size_t n) {
    if (p) set_ticks(p, &p->x, NULL, labels, n, 1);
}
void mlmp_panel_set_ycategories(mlmp_panel_t *p, const char *const *labels, size_t n) {
    if (p) set_ticks(p, &p->y, NULL, labels, n, 1);
}
void mlmp_panel_set_legend(mlmp_panel_t *p, mlmp_legend_pos pos) { if (p) p->legend = pos; }
void mlmp_panel_set_grid(mlmp_panel_t *p, int on) { if (p) p->grid = on; }
void mlmp_panel_set_bar_mode(mlmp_panel_t *p, mlmp_bar_mode m) { if (p) p->bar_mode = m; }
void mlmp_panel_set_bars_horizontal(mlmp_panel_t *p, int on) { if (p) p->bars_horizontal = on; }
void mlmp_panel_set_text(mlmp_panel_t *p, const char *t) { if (p) set_str(p->fig, &p->text, t); }

/* ---- series -------------------------------------------------------------------------- */
static mlmp_series *new_series(mlmp_panel_t *p, mlmp_series_kind kind, const char *label) {
    mlmp_series *s = calloc(1, sizeof *s);
    if (!s) { fig_error(p->fig, "out of memory adding a series"); return NULL; }
    s->kind = kind; s->lw = 1.6; s->msize = 4.5; s->alpha = 1.0; s->colorbar = 1;
    s->halign = MLMP_ALIGN_CENTER; s->valign = MLMP_ALIGN_END; s->fontsize = 8.5;
    if (label && !(s->label = mlmp__strdup(label))) {
        free(s); fig_error(p->fig, "out of memory adding a series"); return NULL;
    }
    return s;
}

static mlmp_series *attach(mlmp_panel_t *p, mlmp_series *s) {
    if (p->tail) p->tail->next = s; else p->head = s;
    p->tail = s; p->nseries++;
    return s;
}

static mlmp_series *xy_series(mlmp_panel_t *p, mlmp_series_kind kind, const char *what,
                              const double *x, const double *y, size_t n, const char *label) {
    if (!p) return NULL;
    if (!y || !n) { fig_error(p->fig, "%s: no data (y NULL or n == 0)", what); return NULL; }
    mlmp_series *s = new_series(p, kind, label);
    if (!s) return NULL;
    s->n = n;
    s->x = malloc(n * sizeof *s->x); s->y = mlmp__dupd(y, n);
    if (!s->x || !s->y) { free_series(s); fig_error(p->fig, "%s: out of memory", what); return NULL; }
    for (size_t i = 0; i < n; i++) s->x[i] = x ? x[i] : (double)i;
    return attach(p, s);
}

mlmp_series *mlmp_add_line(mlmp_panel_t *p, const double *x, const double *y, size_t n, const char *label) {
    return xy_series(p, MLMP_S_LINE, "mlmp_add_line", x, y, n, label);
}

mlmp_series *mlmp_add_scatter(mlmp_panel_t *p, const double *x, const double *y, size_t n, const char *label) {
    mlmp_series *s = xy_series(p, MLMP_S_SCATTER, "mlmp_add_scatter", x, y, n, label);
    if (s) { s->marker = MLMP_MARKER_CIRCLE; s->msize = 5; s->alpha = 0.85; }
    return s;
}

mlmp_series *mlmp_add_bars(mlmp_panel_t *p, const double *values, size_t n, const char *label) {
    return xy_series(p, MLMP_S_BARS, "mlmp_add_bars", NULL, values, n, label);
}

mlmp_series *mlmp_add_area_stack(mlmp_panel_t *p, const double *x, size_t n, const double *const *ys,
                                 size_t nlayers, const char *const *labels) {
    if (!p) return NULL;
    if (!ys || !n || !nlayers) { fig_error(p->fig, "mlmp_add_area_stack: no data"); return NULL; }
    for (size_t k = 0; k < nlayers; k++)
        if (!ys[k]) { fig_error(p->fig, "mlmp_add_area_stack: layer %zu is NULL", k); return NULL; }
    mlmp_series *s = new_series(p, MLMP_S_AREA, NULL);
    if (!s) return NULL;
    int fail = 0;
    s->n = n; s->nlayers = nlayers;
    s->x = malloc(n * sizeof *s->x);
    s->layers = calloc(nlayers, sizeof *s->layers);
    s->layer_labels = dup_strs(labels, nlayers, &fail);
    if (!s->x || !s->layers || fail) goto oom;
    for (size_t i = 0; i < n; i++) s->x[i] = x ? x[i] : (double)i;
    for (size_t k = 0; k < nlayers; k++)
        if (!(s->layers[k] = mlmp__dupd(ys[k], n))) goto oom;
    s->alpha = 0.85;
    return attach(p, s);
oom:
    free_series(s);
    fig_error(p->fig, "mlmp_add_area_stack: out of memory");
    return NULL;
}

mlmp_series *mlmp_add_pie(mlmp_panel_t *p, const double *values, size_t n, const char *const *labels) {
    if (!p) return NULL;
    if (!values || !n) { fig_error(p->fig, "mlmp_add_pie: no data"); return NULL; }
    double tot = 0;
    for (size_t i = 0; i < n; i++) {
        if (!(values[i] >= 0) || !isfinite(values[i])) {
            fig_error(p->fig, "mlmp_add_pie: value %zu is %g (must be finite and >= 0)", i, values[i]);
            return NULL;
        }
        tot += values[i];
    }
    if (!(tot > 0)) { fig_error(p->fig, "mlmp_add_pie: values sum to 0"); return NULL; }
    mlmp_series *s = new_series(p, MLMP_S_PIE, NULL);
    if (!s) return NULL;
    int fail = 0;
    s->n = n; s->y = mlmp__dupd(values, n); s->names = dup_strs(labels, n, &fail);
    s->value_fmt = mlmp__strdup("%.1f%%");
    if (!s->y || fail || !s->value_fmt) { free_series(s); fig_error(p->fig, "mlmp_add_pie: out of memory"); return NULL; }
    return attach(p, s);
}

mlmp_series *mlmp_add_heatmap(mlmp_panel_t *p, const double *values, size_t rows, size_t cols, mlmp_cmap cmap) {
    if (!p) return NULL;
    if (!values || !rows || !cols || rows > 100000 / cols + 1) {
        fig_error(p->fig, "mlmp_add_heatmap: no data or bad shape %zu x %zu", rows, cols); return NULL;
    }
    mlmp_series *s = new_series(p, MLMP_S_HEATMAP, NULL);
    if (!s) return NULL;
    s->rows = rows; s->cols = cols; s->cmap = cmap; s->n = rows * cols;
    s->z = mlmp__dupd(values, rows * cols);
    if (!s->z) { free_series(s); fig_error(p->fig, "mlmp_add_heatmap: out of memory"); return NULL; }
    return attach(p, s);
}

static double quantile(const double *v, size_t n, double q) {
    double pos = q * (double)(n - 1);
    size_t i = (size_t)floor(pos);
    if (i + 1 >= n) return v[n - 1];
    double f = pos - (double)i;
    return v[i] + (v[i + 1] - v[i]) * f;
}

static int cmp_d(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static int box_stats(const double *samples, size_t count, mlmp_boxstat *st) {
    memset(st, 0, sizeof *st);
    double *v = malloc((count ? count : 1) * sizeof *v);
    if (!v) return -1;
    size_t n = 0;
    for (size_t i = 0; i < count; i++) if (isfinite(samples[i])) v[n++] = samples[i];
    if (n == 0) { free(v); return 0; }
    qsort(v, n, sizeof *v, cmp_d);
    st->q1 = quantile(v, n, 0.25); st->med = quantile(v, n, 0.5); st->q3 = quantile(v, n, 0.75);
    double iqr = st->q3 - st->q1, lo = st->q1 - 1.5 * iqr, hi = st->q3 + 1.5 * iqr;
    st->wlo = st->q1; st->whi = st->q3;
    size_t nout = 0;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < lo || v[i] > hi) { nout++; continue; }
        if (v[i] < st->wlo) st->wlo = v[i];
        if (v[i] > st->whi) st->whi = v[i];
    }
    if (nout) {
        st->out = malloc(nout * sizeof *st->out);
        if (!st->out) { free(v); return -1; }
        for (size_t i = 0; i < n; i++) if (v[i] < lo || v[i] > hi) st->out[st->nout++] = v[i];
    }
    st->valid = 1;
    free(v);
    return 0;
}

mlmp_series *mlmp_add_boxplot(mlmp_panel_t *p, const double *const *samples, const size_t *counts,
                              size_t ngroups, const char *const *names) {
    if (!p) return NULL;
    if (!samples || !counts || !ngroups) { fig_error(p->fig, "mlmp_add_boxplot: no data"); return NULL; }
    mlmp_series *s = new_series(p, MLMP_S_BOXPLOT, NULL);
    if (!s) return NULL;
    int fail = 0;
    s->ngroups = ngroups; s->n = ngroups;
    s->stats = calloc(ngroups, sizeof *s->stats);
    s->samples = calloc(ngroups, sizeof *s->samples);
    s->counts = calloc(ngroups, sizeof *s->counts);
    s->group_names = dup_strs(names, ngroups, &fail);
    if (!s->stats || !s->samples || !s->counts || fail) goto oom;
    for (size_t g = 0; g < ngroups; g++) {
        if (counts[g] && !samples[g]) {
            free_series(s); fig_error(p->fig, "mlmp_add_boxplot: group %zu has NULL samples", g); return NULL;
        }
        s->counts[g] = counts[g];
        if (counts[g] && !(s->samples[g] = mlmp__dupd(samples[g], counts[g]))) goto oom;
        if (box_stats(samples[g], counts[g], &s->stats[g])) goto oom;
    }
    if (names && !p->x.has_ticks) mlmp_panel_set_xcategories(p, names, ngroups);
    return attach(p, s);
oom:
    free_series(s);
    fig_error(p->fig, "mlmp_add_boxplot: out of memory");
    return NULL;
}

static mlmp_series *ref_line(mlmp_panel_t *p, mlmp_series_kind kind, double v, const char *label) {
    if (!p) return NULL;
    if (!isfinite(v)) { fig_error(p->fig, "reference line at %g is not finite", v); return NULL; }
    mlmp_series *s = new_series(p, kind, label);
    if (!s) return NULL;
    s->dash = MLMP_DASH_DASHED; s->lw = 1.2; s->ax = s->ay = v;
    return attach(p, s);
}
mlmp_series *mlmp_add_hline(mlmp_panel_t *p, double y, const char *l) { return ref_line(p, MLMP_S_HLINE, y, l); }
mlmp_series *mlmp_add_vline(mlmp_panel_t *p, double x, const char *l) { return ref_line(p, MLMP_S_VLINE, x, l); }

mlmp_series *mlmp_add_annotation(mlmp_panel_t *p, double x, double y, const char *text) {
    if (!p) return NULL;
    if (!text || !isfinite(x) || !isfinite(y)) { fig_error(p->fig, "mlmp_add_annotation: no text or bad point"); return NULL; }
    mlmp_series *s = new_series(p, MLMP_S_TEXT, NULL);
    if (!s) return NULL;
    s->ax = x; s->ay = y;
    if (!(s->text = mlmp__strdup(text))) { free_series(s); fig_error(p->fig, "out of memory"); return NULL; }
    return attach(p, s);
}

/* ---- setters ------------------------------------------------------------------------- */
/* Setters get no figure to record errors in: on allocation failure they keep the old value. */
void mlmp_series_set_color(mlmp_series *s, mlmp_color c) { if (s) { s->color = c; s->has_color = 1; } }
void mlmp_series_set_colors(mlmp_series *s, const mlmp_color *colors, size_t n) {
    if (!s || !colors || !n) return;
    mlmp_color *c = malloc(n * sizeof *c);
    if (!c) return;
    memcpy(c, colors, n * sizeof *c);
    free(s->colors); s->colors = c; s->ncolors = n;
}
void mlmp_series_set_marker(mlmp_series *s, mlmp_marker m) { if (s) s->marker = m; }
void mlmp_series_set_dash(mlmp_series *s, mlmp_dash d) { if (s) s->dash = d; }
void mlmp_series_set_width(mlmp_series *s, double w) { if (s && w > 0 && w < 50) s->lw = w; }
void mlmp_series_set_marker_size(mlmp_series *s, double sz) { if (s && sz > 0 && sz < 100) s->msize = sz; }
void mlmp_series_set_alpha(mlmp_series *s, double a) { if (s && a >= 0 && a <= 1) s->alpha = a; }
void mlmp_series_set_label(mlmp_series *s, const char *l) { if (s) set_str(NULL, &s->label, l); }

void mlmp_scatter_set_values(mlmp_series *s, const double *values, size_t n, mlmp_cmap cmap, const char *cbar_label) {
    if (!s || !values || n != s->n) return;
    double *c = mlmp__dupd(values, n);
    if (!c) return;
    free(s->c); s->c = c; s->has_c = 1; s->cmap = cmap;
    set_str(NULL, &s->cbar_label, cbar_label);
}
void mlmp_bars_set_value_format(mlmp_series *s, const char *fmt) { if (s) set_str(NULL, &s->value_fmt, fmt); }
void mlmp_bars_set_value_labels(mlmp_series *s, const char *const *labels, size_t n) {
    if (!s) return;
    int fail = 0;
    char **l = dup_strs(labels, n, &fail);
    if (fail) { free_strs(l, n); return; }
    free_strs(s->value_labels, s->nvalue_labels);
    s->value_labels = l; s->nvalue_labels = l ? n : 0;
}
void mlmp_bars_set_labels_inside(mlmp_series *s, int inside) { if (s) s->labels_inside = inside; }
void mlmp_heatmap_set_range(mlmp_series *s, double vmin, double vmax) {
    if (s && isfinite(vmin) && isfinite(vmax) && vmin < vmax) { s->vmin = vmin; s->vmax = vmax; s->has_range = 1; }
}
void mlmp_heatmap_set_numbers(mlmp_series *s, const char *fmt) { if (s) set_str(NULL, &s->num_fmt, fmt); }
void mlmp_heatmap_set_colorbar(mlmp_series *s, int on, const char *label) {
    if (!s) return;
    s->colorbar = on;
    set_str(NULL, &s->cbar_label, label);
}
void mlmp_pie_set_explode(mlmp_series *s, const double *off, size_t n) {
    if (!s || s->kind != MLMP_S_PIE || !off || n != s->n) return;
    double *e = mlmp__dupd(off, n);
    if (e) { free(s->explode); s->explode = e; }
}
void mlmp_annotation_set_align(mlmp_series *s, mlmp_align h, mlmp_align v) { if (s) { s->halign = h; s->valign = v; } }
void mlmp_annotation_set_font(mlmp_series *s, double size_pt, int bold) {
    if (s && size_pt > 2 && size_pt < 100) { s->fontsize = size_pt; s->bold = bold; }
}

/* ---- derived ------------------------------------------------------------------------- */
static void data_range(const mlmp_series *s, double *lo, double *hi) {
    const double *v = s->kind == MLMP_S_HEATMAP ? s->z : s->c;
    size_t n = s->kind == MLMP_S_HEATMAP ? s->rows * s->cols : s->n;
    *lo = INFINITY; *hi = -INFINITY;
    if (!v) return;
    for (size_t i = 0; i < n; i++)
        if (isfinite(v[i])) { if (v[i] < *lo) *lo = v[i]; if (v[i] > *hi) *hi = v[i]; }
}

static int colour_mapped(const mlmp_series *s) {
    return s->kind == MLMP_S_HEATMAP || (s->kind == MLMP_S_SCATTER && s->has_c);
}

void mlmp__color_range(const mlmp_figure *fig, const mlmp_series *s, double *lo, double *hi) {
    if (s->has_range) { *lo = s->vmin; *hi = s->vmax; return; }
    data_range(s, lo, hi);
    if (fig && fig->share_clim) {
        for (int i = 0; i < fig->rows * fig->cols; i++)
            for (const mlmp_series *t = fig->panels[i].head; t; t = t->next) {
                if (!colour_mapped(t)) continue;
                if (t->has_range) { *lo = t->vmin; *hi = t->vmax; return; }
                double a, b;
                data_range(t, &a, &b);
                if (a < *lo) *lo = a;
                if (b > *hi) *hi = b;
            }
    }
    if (!isfinite(*lo) || !isfinite(*hi)) { *lo = 0; *hi = 1; }
    if (*lo == *hi) { *lo -= 0.5; *hi += 0.5; }
}

mlmp_color mlmp__series_color(const mlmp_panel_t *p, const mlmp_series *s) {
    if (s->has_color) return s->color;
    if (s->kind == MLMP_S_HLINE || s->kind == MLMP_S_VLINE) return mlmp_rgb(0x666666);
    if (s->kind == MLMP_S_TEXT) return mlmp_rgb(0x222222);
    if (s->kind == MLMP_S_BOXPLOT) return mlmp_rgb(0xe69f00);
    size_t idx = 0;
    for (const mlmp_series *t = p->head; t && t != s; t = t->next)
        if (t->kind == MLMP_S_LINE || t->kind == MLMP_S_SCATTER || t->kind == MLMP_S_BARS) idx++;
    return mlmp_palette(idx);
}

mlmp_color mlmp__item_color(const mlmp_panel_t *p, const mlmp_series *s, size_t i) {
    if (s->colors && s->ncolors) return s->colors[i % s->ncolors];
    if (s->kind == MLMP_S_PIE || s->kind == MLMP_S_AREA) return mlmp_palette(i);
    return mlmp__series_color(p, s);
}

int mlmp__panel_empty(const mlmp_panel_t *p) { return !p->head && !p->text; }
