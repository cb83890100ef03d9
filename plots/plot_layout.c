/* plot_layout.c - measure text and lay a figure out: the grid of cells, panel titles, axis
 * limits and ticks (thinned or rotated so labels never overlap), plot rectangles, colorbars,
 * legends placed where they cover no data, pies with non-overlapping labels, text boxes.
 * Everything is in points; see plot_layout.h. */
#include "plot_layout.h"
#include "plot_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const mlmp__font MLMP_F_TITLE = {15.0, 1, 0, 0}, MLMP_F_T1 = {10.5, 1, 0, 0},
                 MLMP_F_T2 = {9.0, 0, 1, 0}, MLMP_F_LABEL = {9.5, 0, 0, 0},
                 MLMP_F_TICK = {8.5, 0, 0, 0}, MLMP_F_LEGEND = {8.0, 0, 0, 0},
                 MLMP_F_VALUE = {7.5, 1, 0, 0};

#define GUT 7.0
#define TICK 3.5

/* ---- data -> points ------------------------------------------------------------------ */
static double axis_pos(const mlmp__axis_rt *a, double lo, double len, double v, int vertical) {
    double t = mlmp_scale_fwd(a->scale, a->lt, v);
    if (isnan(t) || a->thi == a->tlo) return NAN;
    double f = (t - a->tlo) / (a->thi - a->tlo);
    if (vertical && !a->invert) f = 1 - f;
    if (!vertical && a->invert) f = 1 - f;
    return lo + f * len;
}
double mlmp__px(const mlmp__playout *pl, double x) { return axis_pos(&pl->ax, pl->plot.x, pl->plot.w, x, 0); }
double mlmp__py(const mlmp__playout *pl, double y) { return axis_pos(&pl->ay, pl->plot.y, pl->plot.h, y, 1); }

/* ---- bars ------------------------------------------------------------------------------ */
void mlmp__bar_geom(const mlmp_panel_t *p, const mlmp_series *s, size_t i, double *cc, double *cw,
                    double *v0, double *v1) {
    size_t nb = 0, k = 0;
    for (const mlmp_series *t = p->head; t; t = t->next)
        if (t->kind == MLMP_S_BARS) { if (t == s) k = nb; nb++; }
    double v = s->y[i];
    if (!isfinite(v)) v = 0;
    if (p->bar_mode == MLMP_BARS_STACKED) {
        double base = 0;
        for (const mlmp_series *t = p->head; t && t != s; t = t->next)
            if (t->kind == MLMP_S_BARS && i < t->n && isfinite(t->y[i]) && (t->y[i] >= 0) == (v >= 0))
                base += t->y[i];
        *cc = (double)i; *cw = 0.6; *v0 = base; *v1 = base + v;
        return;
    }
    double W = nb > 1 ? 0.8 : 0.6, w = W / (double)nb;
    *cc = (double)i - W / 2 + ((double)k + 0.5) * w;
    *cw = w * (nb > 1 ? 0.92 : 1.0);
    *v0 = 0; *v1 = v;
}

void mlmp__bar_label(const mlmp_series *s, size_t i, char *buf, size_t len) {
    buf[0] = 0;
    if (s->value_labels && i < s->nvalue_labels) {
        if (s->value_labels[i]) snprintf(buf, len, "%s", s->value_labels[i]);
        return;
    }
    if (s->value_fmt && isfinite(s->y[i])) {
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
        snprintf(buf, len, s->value_fmt, s->y[i]);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
    }
}

/* ---- limits ---------------------------------------------------------------------------- */
typedef struct { double lo, hi, mlo, mhi; int any; } acc_t;

static void acc(acc_t *a, double t, double margin) {
    if (!isfinite(t)) return;
    if (!a->any) { a->lo = a->hi = t; a->mlo = a->mhi = margin; a->any = 1; return; }
    if (t < a->lo) { a->lo = t; a->mlo = margin; } else if (t == a->lo && margin < a->mlo) a->mlo = margin;
    if (t > a->hi) { a->hi = t; a->mhi = margin; } else if (t == a->hi && margin < a->mhi) a->mhi = margin;
}

static void finish_axis(mlmp__axis_rt *a, acc_t *c, const mlmp_axis *user) {
    a->scale = user->scale; a->lt = user->linthresh > 0 ? user->linthresh : 1;
    if (user->categorical && user->nticks) {
        acc(c, mlmp_scale_fwd(a->scale, a->lt, -0.5), 0);
        acc(c, mlmp_scale_fwd(a->scale, a->lt, (double)user->nticks - 0.5), 0);
    }
    if (!c->any) { c->lo = 0; c->hi = 1; c->mlo = c->mhi = 0; c->any = 1;
        if (a->scale == MLMP_SCALE_LOG || a->scale == MLMP_SCALE_LOG2) { c->lo = 0; c->hi = 1; } }
    double lo = c->lo, hi = c->hi;
    if (hi == lo) { double d = fabs(lo) > 0 ? fabs(lo) * 0.1 : 0.5; lo -= d; hi += d; }
    double r = hi - lo;
    lo -= r * c->mlo; hi += r * c->mhi;
    if (user->has_lim) {
        double a0 = mlmp_scale_fwd(a->scale, a->lt, user->lo), a1 = mlmp_scale_fwd(a->scale, a->lt, user->hi);
        if (isfinite(a0) && isfinite(a1) && a0 != a1) { lo = fmin(a0, a1); hi = fmax(a0, a1); }
    }
    a->tlo = lo; a->thi = hi;
}

static int has_kind(const mlmp_panel_t *p, mlmp_series_kind k) {
    for (const mlmp_series *s = p->head; s; s = s->next) if (s->kind == k) return 1;
    return 0;
}

static void compute_limits(const mlmp_panel_t *p, mlmp__playout *pl, const mlmp_axis *ux,
                           const mlmp_axis *uy) {
    acc_t cx = {0}, cy = {0};
    int hz = pl->horizontal;
    mlmp_scale sx = ux->scale, sy = uy->scale;
    double lx = ux->linthresh, ly = uy->linthresh;
#define FX(v) mlmp_scale_fwd(sx, lx, (v))
#define FY(v) mlmp_scale_fwd(sy, ly, (v))
    for (const mlmp_series *s = p->head; s; s = s->next) {
        switch (s->kind) {
        case MLMP_S_LINE: case MLMP_S_SCATTER:
            for (size_t i = 0; i < s->n; i++) {
                double tx = FX(s->x[i]), ty = FY(s->y[i]);
                if (isfinite(tx) && isfinite(ty)) { acc(&cx, tx, 0.05); acc(&cy, ty, 0.05); }
            }
            break;
        case MLMP_S_BARS: {
            int labels = (s->value_fmt || s->value_labels) && !s->labels_inside;
            for (size_t i = 0; i < s->n; i++) {
                double cc, cw, v0, v1;
                mlmp__bar_geom(p, s, i, &cc, &cw, &v0, &v1);
                acc_t *cat = hz ? &cy : &cx, *val = hz ? &cx : &cy;
                mlmp_scale cs = hz ? sy : sx, vs = hz ? sx : sy;
                double cl = hz ? ly : lx, vl = hz ? lx : ly;
                acc(cat, mlmp_scale_fwd(cs, cl, (double)i - 0.5), 0);
                acc(cat, mlmp_scale_fwd(cs, cl, (double)i + 0.5), 0);
                acc(val, mlmp_scale_fwd(vs, vl, v1), labels ? (hz ? 0.16 : 0.10) : 0.05);
                double z = mlmp_scale_fwd(vs, vl, v0);
                if (isfinite(z)) acc(val, z, 0);
            }
            break;
        }
        case MLMP_S_AREA:
            for (size_t i = 0; i < s->n; i++) {
                double tot = 0;
                for (size_t k = 0; k < s->nlayers; k++) if (isfinite(s->layers[k][i])) tot += s->layers[k][i];
                acc(&cx, FX(s->x[i]), 0);
                acc(&cy, FY(tot), 0);
            }
            acc(&cy, FY(0), 0);
            break;
        case MLMP_S_HEATMAP:
            acc(&cx, FX(-0.5), 0); acc(&cx, FX((double)s->cols - 0.5), 0);
            acc(&cy, FY(-0.5), 0); acc(&cy, FY((double)s->rows - 0.5), 0);
            break;
        case MLMP_S_BOXPLOT:
            acc(&cx, FX(-0.5), 0); acc(&cx, FX((double)s->ngroups - 0.5), 0);
            for (size_t g = 0; g < s->ngroups; g++) {
                const mlmp_boxstat *b = &s->stats[g];
                if (!b->valid) continue;
                acc(&cy, FY(b->wlo), 0.06); acc(&cy, FY(b->whi), 0.06);
                for (size_t k = 0; k < b->nout; k++) acc(&cy, FY(b->out[k]), 0.06);
            }
            break;
        case MLMP_S_HLINE: acc(&cy, FY(s->ay), 0.05); break;
        case MLMP_S_VLINE: acc(&cx, FX(s->ax), 0.05); break;
        default: break;
        }
    }
#undef FX
#undef FY
    finish_axis(&pl->ax, &cx, ux);
    finish_axis(&pl->ay, &cy, uy);
    pl->ay.invert = has_kind(p, MLMP_S_HEATMAP) || (hz && has_kind(p, MLMP_S_BARS));
}

/* ticks of one axis from the user's ticks or the scale's nice ticks, within the limits */
static void make_ticks(mlmp__axis_rt *a, const mlmp_axis *user, size_t maxticks) {
    a->nt = 0;
    double lo = fmin(a->tlo, a->thi), hi = fmax(a->tlo, a->thi);
    double eps = (hi - lo) * 1e-9;
    if (user->has_ticks) {
        a->categorical = user->categorical;
        for (size_t i = 0; i < user->nticks && a->nt < MLMP_MAXTICKS; i++) {
            double t = mlmp_scale_fwd(a->scale, a->lt, user->tick_pos[i]);
            if (!(t >= lo - eps && t <= hi + eps)) continue;
            a->tv[a->nt] = user->tick_pos[i];
            if (user->tick_labels && user->tick_labels[i])
                snprintf(a->tl[a->nt], MLMP_TICKLEN, "%s", user->tick_labels[i]);
            else
                mlmp_tick_label(a->scale, user->tick_pos[i], user->tick_pos, user->nticks, a->tl[a->nt], MLMP_TICKLEN);
            a->nt++;
        }
    } else {
        double v0 = mlmp_scale_inv(a->scale, a->lt, lo), v1 = mlmp_scale_inv(a->scale, a->lt, hi);
        double tv[MLMP_MAXTICKS];
        size_t n = mlmp_axis_ticks(a->scale, a->lt, v0, v1, maxticks, tv, MLMP_MAXTICKS);
        for (size_t i = 0; i < n; i++) {
            double t = mlmp_scale_fwd(a->scale, a->lt, tv[i]);
            if (!(t >= lo - eps && t <= hi + eps)) continue;
            a->tv[a->nt++] = tv[i];
        }
        for (size_t i = 0; i < a->nt; i++) mlmp_tick_label(a->scale, a->tv[i], a->tv, a->nt, a->tl[i], MLMP_TICKLEN);
    }
    for (size_t i = 0; i < a->nt; i++) a->show[i] = 1;
}

/* ---- legend -------------------------------------------------------------------------- */
static void add_leg(mlmp__playout *pl, const char *label, mlmp__leg_kind k, mlmp_color c, const mlmp_series *s) {
    if (!label || !*label || pl->nleg >= MLMP_MAXLEG) return;
    mlmp__leg_entry *e = &pl->leg[pl->nleg++];
    e->label = label; e->kind = k; e->c = c;
    e->dash = s ? s->dash : 0; e->marker = s ? s->marker : 0;
    e->lw = s ? s->lw : 1; e->msize = s ? s->msize : 5;
}

static void collect_legend(const mlmp_panel_t *p, mlmp__playout *pl) {
    pl->nleg = 0;
    for (const mlmp_series *s = p->head; s; s = s->next) {
        mlmp_color c = mlmp__series_color(p, s);
        switch (s->kind) {
        case MLMP_S_LINE: case MLMP_S_HLINE: case MLMP_S_VLINE: add_leg(pl, s->label, MLMP_LEG_LINE, c, s); break;
        case MLMP_S_SCATTER: add_leg(pl, s->label, MLMP_LEG_MARKER, s->has_c ? mlmp_cmap_at(s->cmap, 0.6) : c, s); break;
        case MLMP_S_BARS: add_leg(pl, s->label, MLMP_LEG_PATCH, s->colors ? s->colors[0] : c, s); break;
        case MLMP_S_BOXPLOT: add_leg(pl, s->label, MLMP_LEG_PATCH, mlmp__item_color(p, s, 0), s); break;
        case MLMP_S_AREA:
            for (size_t k = 0; k < s->nlayers; k++)
                if (s->layer_labels) add_leg(pl, s->layer_labels[k], MLMP_LEG_PATCH, mlmp__item_color(p, s, k), NULL);
            break;
        default: break;
        }
    }
}

static void legend_size(mlmp__text *m, mlmp__playout *pl, double *w, double *h) {
    pl->leg_fs = MLMP_F_LEGEND.size; pl->leg_sw = 20; pl->leg_pad = 5;
    double mw = 0, rh = 0;
    for (size_t i = 0; i < pl->nleg; i++) {
        double tw, th;
        mlmp__text_size(m, pl->leg[i].label, MLMP_F_LEGEND, 1, 0, &tw, &th);
        if (tw > mw) mw = tw;
        if (th > rh) rh = th;
    }
    pl->leg_row = rh + 2;
    *w = pl->leg_pad * 2 + pl->leg_sw + 6 + mw;
    *h = pl->leg_pad * 2 + pl->leg_row * (double)pl->nleg - 2;
}

/* occupancy grid of the plot area: which 3-pt cells hold data ink */
typedef struct { int nx, ny; double x0, y0, cs; unsigned char *g; } occ_t;

static void occ_mark(occ_t *o, double x, double y) {
    if (!isfinite(x) || !isfinite(y)) return;
    int i = (int)floor((x - o->x0) / o->cs), j = (int)floor((y - o->y0) / o->cs);
    if (i < 0 || j < 0 || i >= o->nx || j >= o->ny) return;
    o->g[j * o->nx + i] = 1;
}
static void occ_rect(occ_t *o, double x0, double y0, double x1, double y1) {
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
    if (x0 > x1) { double t = x0; x0 = x1; x1 = t; }
    if (y0 > y1) { double t = y0; y0 = y1; y1 = t; }
    for (double y = y0; y <= y1 + o->cs * 0.5; y += o->cs * 0.5)
        for (double x = x0; x <= x1 + o->cs * 0.5; x += o->cs * 0.5) occ_mark(o, fmin(x, x1), fmin(y, y1));
}
static void occ_seg(occ_t *o, double x0, double y0, double x1, double y1) {
    if (!isfinite(x0) || !isfinite(y0) || !isfinite(x1) || !isfinite(y1)) return;
    double len = hypot(x1 - x0, y1 - y0);
    int n = (int)(len / (o->cs * 0.5)) + 1;
    if (n > 20000) n = 20000;
    for (int k = 0; k <= n; k++) occ_mark(o, x0 + (x1 - x0) * k / n, y0 + (y1 - y0) * k / n);
}

static void occ_fill(occ_t *o, const mlmp_panel_t *p, const mlmp__playout *pl) {
    const mlmp__rect *r = &pl->plot;
    for (const mlmp_series *s = p->head; s; s = s->next) {
        switch (s->kind) {
        case MLMP_S_LINE: case MLMP_S_SCATTER:
            for (size_t i = 0; i < s->n; i++) {
                double x = mlmp__px(pl, s->x[i]), y = mlmp__py(pl, s->y[i]);
                occ_rect(o, x - 3, y - 3, x + 3, y + 3);
                if (s->kind == MLMP_S_LINE && i + 1 < s->n)
                    occ_seg(o, x, y, mlmp__px(pl, s->x[i + 1]), mlmp__py(pl, s->y[i + 1]));
            }
            break;
        case MLMP_S_BARS:
            for (size_t i = 0; i < s->n; i++) {
                double cc, cw, v0, v1;
                mlmp__bar_geom(p, s, i, &cc, &cw, &v0, &v1);
                if (pl->horizontal) {
                    double a = mlmp__px(pl, v0); if (!isfinite(a)) a = r->x;
                    occ_rect(o, a, mlmp__py(pl, cc - cw / 2), mlmp__px(pl, v1) + 30, mlmp__py(pl, cc + cw / 2));
                } else {
                    double a = mlmp__py(pl, v0); if (!isfinite(a)) a = r->y + r->h;
                    double top = mlmp__py(pl, v1);
                    double room = (s->value_fmt || s->value_labels) && !s->labels_inside ? 12 : 0;
                    occ_rect(o, mlmp__px(pl, cc - cw / 2), a, mlmp__px(pl, cc + cw / 2), top + (v1 >= 0 ? -room : room));
                }
            }
            break;
        case MLMP_S_AREA:
            for (size_t i = 0; i < s->n; i++) {
                double tot = 0;
                for (size_t k = 0; k < s->nlayers; k++) if (isfinite(s->layers[k][i])) tot += s->layers[k][i];
                double x = mlmp__px(pl, s->x[i]);
                double xn = i + 1 < s->n ? mlmp__px(pl, s->x[i + 1]) : x;
                occ_rect(o, x, mlmp__py(pl, tot), xn, r->y + r->h);
            }
            break;
        case MLMP_S_HEATMAP: occ_rect(o, r->x, r->y, r->x + r->w, r->y + r->h); break;
        case MLMP_S_BOXPLOT:
            for (size_t g = 0; g < s->ngroups; g++) {
                const mlmp_boxstat *b = &s->stats[g];
                if (!b->valid) continue;
                double x0 = mlmp__px(pl, (double)g - 0.25), x1 = mlmp__px(pl, (double)g + 0.25);
                occ_rect(o, x0, mlmp__py(pl, b->wlo), x1, mlmp__py(pl, b->whi));
                for (size_t k = 0; k < b->nout; k++) {
                    double y = mlmp__py(pl, b->out[k]), x = mlmp__px(pl, (double)g);
                    occ_rect(o, x - 4, y - 4, x + 4, y + 4);
                }
            }
            break;
        case MLMP_S_HLINE: { double y = mlmp__py(pl, s->ay); occ_seg(o, r->x, y, r->x + r->w, y); break; }
        case MLMP_S_VLINE: { double x = mlmp__px(pl, s->ax); occ_seg(o, x, r->y, x, r->y + r->h); break; }
        case MLMP_S_TEXT: { double x = mlmp__px(pl, s->ax), y = mlmp__py(pl, s->ay);
            occ_rect(o, x - 20, y - 12, x + 20, y + 12); break; }
        default: break;
        }
    }
}

static int occ_count(const occ_t *o, mlmp__rect q) {
    int i0 = (int)floor((q.x - o->x0) / o->cs), i1 = (int)floor((q.x + q.w - o->x0) / o->cs);
    int j0 = (int)floor((q.y - o->y0) / o->cs), j1 = (int)floor((q.y + q.h - o->y0) / o->cs);
    int n = 0;
    for (int j = j0 < 0 ? 0 : j0; j <= j1 && j < o->ny; j++)
        for (int i = i0 < 0 ? 0 : i0; i <= i1 && i < o->nx; i++) n += o->g[j * o->nx + i];
    return n;
}

/* place the legend inside: best corner; returns covered cells (0: free), -1 on no memory */
static int place_legend_inside(const mlmp_panel_t *p, mlmp__playout *pl, double lw, double lh, int forced) {
    const mlmp__rect *r = &pl->plot;
    double in = 5;
    mlmp__rect cand[6] = {
        {r->x + r->w - in - lw, r->y + in, lw, lh}, {r->x + in, r->y + in, lw, lh},
        {r->x + r->w - in - lw, r->y + r->h - in - lh, lw, lh}, {r->x + in, r->y + r->h - in - lh, lw, lh},
        {r->x + (r->w - lw) / 2, r->y + in, lw, lh}, {r->x + (r->w - lw) / 2, r->y + r->h - in - lh, lw, lh}};
    if (forced >= 0) { pl->legend = cand[forced]; pl->legend_corner = forced; return 0; }
    occ_t o;
    o.cs = 3; o.x0 = r->x; o.y0 = r->y;
    o.nx = (int)(r->w / o.cs) + 1; o.ny = (int)(r->h / o.cs) + 1;
    if (o.nx < 1 || o.ny < 1) return 0;
    o.g = calloc((size_t)o.nx * (size_t)o.ny, 1);
    if (!o.g) return -1;
    occ_fill(&o, p, pl);
    int best = -1, bi = 0;
    for (int k = 0; k < 6; k++) {
        if (cand[k].w > r->w || cand[k].h > r->h) continue;
        int c = occ_count(&o, cand[k]);
        if (best < 0 || c < best) { best = c; bi = k; }
    }
    free(o.g);
    pl->legend = cand[bi]; pl->legend_corner = bi;
    return best < 0 ? 1 << 20 : best;
}

/* ---- panel layouts ------------------------------------------------------------------- */
static double title_block(mlmp__text *m, const mlmp_panel_t *p, mlmp__playout *pl, double width) {
    pl->t1h = pl->t2h = 0;
    if (p->title1 && *p->title1) mlmp__text_size(m, p->title1, MLMP_F_T1, 1, width, NULL, &pl->t1h);
    if (p->title2 && *p->title2) mlmp__text_size(m, p->title2, MLMP_F_T2, 1, width, NULL, &pl->t2h);
    double h = pl->t1h + pl->t2h;
    return h > 0 ? h + 6 : 0;
}

static void layout_text_panel(mlmp__text *m, const mlmp_panel_t *p, mlmp__playout *pl, double top) {
    mlmp__rect c = pl->cell;
    double aw = c.w - 2 * GUT, ah = c.y + c.h - GUT - top;
    double fs = 9.0, w = 0, h = 0, pad = 9;
    for (int it = 0; it < 8; it++) {
        mlmp__font f = {fs, 0, 0, 1};
        mlmp__text_size(m, p->text, f, 0, 0, &w, &h);
        double need = fmax((w + 2 * pad) / aw, (h + 2 * pad) / ah);
        if (need <= 1.0 || fs <= 5.0) break;
        fs = fmax(5.0, fs / need * 0.98);
    }
    pl->tfs = fs;
    double bw = fmin(aw, w + 2 * pad), bh = fmin(ah, h + 2 * pad);
    pl->plot = (mlmp__rect){c.x + (c.w - bw) / 2, top + (ah - bh) / 2, bw, bh};
}

static void layout_pie(mlmp__text *m, const mlmp_panel_t *p, mlmp__playout *pl, double top) {
    mlmp__rect c = pl->cell;
    const mlmp_series *s = NULL;
    for (const mlmp_series *t = p->head; t; t = t->next) if (t->kind == MLMP_S_PIE) { s = t; break; }
    double lw = 0, lh = 10;
    if (s && s->names)
        for (size_t i = 0; i < s->n; i++) {
            double w, h;
            if (!s->names[i]) continue;
            mlmp__text_size(m, s->names[i], MLMP_F_LABEL, 1, 0, &w, &h);
            w += 40; /* room for a percentage moved outside */
            if (w > lw) lw = w;
            if (h > lh) lh = h;
        }
    double emax = 0;
    if (s && s->explode) for (size_t i = 0; i < s->n; i++) if (s->explode[i] > emax) emax = s->explode[i];
    double aw = c.w - 2 * GUT, ah = c.y + c.h - GUT - top;
    double r = fmin((aw - 2 * (lw + 8)) / 2, (ah - 2 * (lh + 6)) / 2) / (1.12 + emax);
    if (r < 10) r = 10;
    pl->pcx = c.x + c.w / 2; pl->pcy = top + ah / 2; pl->pr = r;
    double e = r * (1 + emax);
    pl->plot = (mlmp__rect){pl->pcx - e, pl->pcy - e, 2 * e, 2 * e};
}

static const mlmp_series *colorbar_series(const mlmp_panel_t *p) {
    for (const mlmp_series *s = p->head; s; s = s->next)
        if ((s->kind == MLMP_S_HEATMAP && s->colorbar) || (s->kind == MLMP_S_SCATTER && s->has_c && s->colorbar)) return s;
    return NULL;
}

static int overlap_x(mlmp__text *m, mlmp__playout *pl, const mlmp__font *f, int rotate, size_t stride) {
    double prev = -INFINITY;
    for (size_t i = 0; i < pl->ax.nt; i += stride) {
        double w, h, x = mlmp__px(pl, pl->ax.tv[i]);
        mlmp__text_size(m, pl->ax.tl[i], *f, 1, 0, &w, &h);
        double a = rotate ? x - 0.3 * h : x - w / 2, b = rotate ? x + 0.3 * h : x + w / 2;
        if (a < prev + 4) return 1;
        prev = b;
    }
    return 0;
}

static void layout_axes(mlmp__text *m, const mlmp_figure *fig, const mlmp_panel_t *p, mlmp__playout *pl,
                        double top, double extra_top, int outside) {
    mlmp__rect c = pl->cell;
    mlmp_axis ux = p->x, uy = p->y;
    if (pl->horizontal && ux.categorical && !uy.has_ticks) {
        /* categories given for x but the bars lie down: they belong to the y axis */
        uy.tick_pos = ux.tick_pos; uy.tick_labels = ux.tick_labels; uy.nticks = ux.nticks;
        uy.has_ticks = 1; uy.categorical = 1;
        ux.tick_pos = NULL; ux.tick_labels = NULL; ux.nticks = 0; ux.has_ticks = 0; ux.categorical = 0;
    }
    compute_limits(p, pl, &ux, &uy);
    int heat = has_kind(p, MLMP_S_HEATMAP);
    pl->ax.grid = p->grid && !heat && !ux.categorical;
    pl->ay.grid = p->grid && !heat && !uy.categorical;
    if (has_kind(p, MLMP_S_BARS) || has_kind(p, MLMP_S_BOXPLOT)) {
        if (pl->horizontal) pl->ay.grid = 0; else pl->ax.grid = 0;
    }
    /* vertical: title on top, x tick labels and x label below */
    double lab_h = 0, tick_h = 0, xl_h = 0, yl_h = 0;
    mlmp__text_size(m, "0", MLMP_F_TICK, 0, 0, NULL, &lab_h);
    size_t maxx = (size_t)fmax(3, fmin(10, c.w / 65)), maxy = (size_t)fmax(3, fmin(10, c.h / 42));
    make_ticks(&pl->ax, &ux, maxx);
    tick_h = lab_h;
    for (size_t i = 0; i < pl->ax.nt; i++) {
        double w, h;
        mlmp__text_size(m, pl->ax.tl[i], MLMP_F_TICK, 1, 0, &w, &h);
        if (h > tick_h) tick_h = h;
    }
    if (ux.label) mlmp__text_size(m, ux.label, MLMP_F_LABEL, 1, 0, NULL, &xl_h);
    if (uy.label) mlmp__text_size(m, uy.label, MLMP_F_LABEL, 1, 0, NULL, &yl_h);
    double y0 = top + lab_h / 2 + 2;
    double y1 = c.y + c.h - GUT - (xl_h > 0 ? xl_h + 3 : 0) - tick_h - TICK - 2;
    /* headroom for a legend: stretch the y range so the top band stays free */
    if (extra_top > 0 && y1 - y0 > extra_top * 2) {
        double h = y1 - y0;
        if (!pl->ay.invert) pl->ay.thi = pl->ay.tlo + (pl->ay.thi - pl->ay.tlo) * h / (h - extra_top);
        else pl->ay.tlo = pl->ay.thi - (pl->ay.thi - pl->ay.tlo) * h / (h - extra_top);
    }
    make_ticks(&pl->ay, &uy, maxy);
    double yw = 0;
    for (size_t i = 0; i < pl->ay.nt; i++) {
        double w;
        mlmp__text_size(m, pl->ay.tl[i], MLMP_F_TICK, 1, 0, &w, NULL);
        if (w > yw) yw = w;
    }
    double x0 = c.x + GUT + (yl_h > 0 ? yl_h + 5 : 0) + yw + TICK + 3;
    /* right side: colorbar, outside legend, overhang of the last x label */
    double right = 0;
    pl->cbar = colorbar_series(p);
    double cbw = 0;
    if (pl->cbar) {
        mlmp__color_range(fig, pl->cbar, &pl->clo, &pl->chi);
        pl->cnt = mlmp_nice_ticks(pl->clo, pl->chi, 6, pl->ctv, 16, NULL);
        double mw = 0;
        for (size_t i = 0; i < pl->cnt; i++) {
            mlmp_tick_label(MLMP_SCALE_LINEAR, pl->ctv[i], pl->ctv, pl->cnt, pl->ctl[i], sizeof pl->ctl[i]);
            double w;
            mlmp__text_size(m, pl->ctl[i], MLMP_F_TICK, 1, 0, &w, NULL);
            if (w > mw) mw = w;
        }
        double cl_h = 0;
        if (pl->cbar->cbar_label) mlmp__text_size(m, pl->cbar->cbar_label, MLMP_F_LABEL, 1, 0, NULL, &cl_h);
        cbw = 10 + 11 + TICK + 2 + mw + (cl_h > 0 ? cl_h + 5 : 0);
        right += cbw;
    }
    double legw = 0, legh = 0;
    collect_legend(p, pl);
    pl->has_legend = pl->nleg > 0 && p->legend != MLMP_LEGEND_NONE;
    if (pl->has_legend) legend_size(m, pl, &legw, &legh);
    if (pl->has_legend && outside) right += legw + 8;
    double last_w = 0;
    if (pl->ax.nt) mlmp__text_size(m, pl->ax.tl[pl->ax.nt - 1], MLMP_F_TICK, 1, 0, &last_w, NULL);
    double x1 = c.x + c.w - GUT - fmax(right, last_w / 2);
    if (x1 - x0 < 20) x1 = x0 + 20;
    if (y1 - y0 < 20) y1 = y0 + 20;
    pl->plot = (mlmp__rect){x0, y0, x1 - x0, y1 - y0};
    /* heatmaps keep square cells */
    if (heat) {
        double dw = fabs(pl->ax.thi - pl->ax.tlo), dh = fabs(pl->ay.thi - pl->ay.tlo);
        if (dw > 0 && dh > 0) {
            double want = dw / dh, have = pl->plot.w / pl->plot.h;
            if (have > want) { double nw = pl->plot.h * want; pl->plot.x += (pl->plot.w - nw) / 2; pl->plot.w = nw; }
            else { double nh = pl->plot.w / want; pl->plot.y += (pl->plot.h - nh) / 2; pl->plot.h = nh; }
        }
    }
    /* x tick labels: thin numbers, shrink then rotate categories */
    pl->ax.fsize = MLMP_F_TICK.size; pl->ax.rotate = 0;
    if (overlap_x(m, pl, &MLMP_F_TICK, 0, 1)) {
        if (pl->ax.categorical) {
            mlmp__font f = MLMP_F_TICK; f.size = 7.5;
            if (!overlap_x(m, pl, &f, 0, 1)) pl->ax.fsize = 7.5;
            else {
                pl->ax.rotate = 1;
                double maxw = 0;
                for (size_t i = 0; i < pl->ax.nt; i++) {
                    double w, h;
                    mlmp__text_size(m, pl->ax.tl[i], MLMP_F_TICK, 1, 0, &w, &h);
                    double rh = w * 0.7071 + h * 0.7071;
                    if (rh > maxw) maxw = rh;
                }
                double grow = maxw - tick_h;
                if (grow > 0) pl->plot.h = fmax(20, pl->plot.h - grow);
                size_t stride = 1;
                while (stride < pl->ax.nt && overlap_x(m, pl, &MLMP_F_TICK, 1, stride)) stride++;
                for (size_t i = 0; i < pl->ax.nt; i++) pl->ax.show[i] = (i % stride) == 0;
            }
        } else {
            size_t stride = 2;
            while (stride < pl->ax.nt && overlap_x(m, pl, &MLMP_F_TICK, 0, stride)) stride++;
            for (size_t i = 0; i < pl->ax.nt; i++) pl->ax.show[i] = (i % stride) == 0;
        }
    }
    /* y tick labels: thin when closer than their height */
    pl->ay.fsize = MLMP_F_TICK.size;
    if (pl->ay.nt > 1) {
        double minsp = INFINITY;
        for (size_t i = 1; i < pl->ay.nt; i++)
            minsp = fmin(minsp, fabs(mlmp__py(pl, pl->ay.tv[i]) - mlmp__py(pl, pl->ay.tv[i - 1])));
        if (minsp < lab_h + 1) {
            if (pl->ay.categorical && minsp >= 7.5 * 1.2) pl->ay.fsize = fmax(5.5, minsp / 1.25);
            else {
                size_t stride = (size_t)ceil((lab_h + 2) / fmax(minsp, 0.1));
                for (size_t i = 0; i < pl->ay.nt; i++) pl->ay.show[i] = (i % stride) == 0;
            }
        }
    }
    if (pl->cbar) {
        double bx = pl->plot.x + pl->plot.w + 10;
        pl->cbar_rect = (mlmp__rect){bx, pl->plot.y, 11, pl->plot.h};
    }
    if (pl->has_legend) {
        if (outside) {
            double lx = pl->plot.x + pl->plot.w + (pl->cbar ? cbw : 0) + 8;
            pl->legend = (mlmp__rect){lx, pl->plot.y, legw, legh};
            pl->legend_corner = 6;
        } else {
            int forced = -1;
            switch (p->legend) {
            case MLMP_LEGEND_UPPER_RIGHT: forced = 0; break;
            case MLMP_LEGEND_UPPER_LEFT: forced = 1; break;
            case MLMP_LEGEND_LOWER_RIGHT: forced = 2; break;
            case MLMP_LEGEND_LOWER_LEFT: forced = 3; break;
            default: break;
            }
            place_legend_inside(p, pl, legw, legh, forced);
        }
    }
}

static int y_free(const mlmp_panel_t *p, const mlmp__playout *pl) {
    return !p->y.has_lim && !has_kind(p, MLMP_S_HEATMAP) && !pl->horizontal && !p->y.categorical &&
           !has_kind(p, MLMP_S_AREA);
}

static void layout_panel(mlmp__text *m, const mlmp_figure *fig, const mlmp_panel_t *p, mlmp__playout *pl) {
    pl->p = p;
    double top = pl->cell.y + GUT + title_block(m, p, pl, pl->cell.w - 2 * GUT);
    if (p->text && !p->head) { pl->kind = MLMP_PL_TEXT; layout_text_panel(m, p, pl, top); return; }
    if (has_kind(p, MLMP_S_PIE)) { pl->kind = MLMP_PL_PIE; layout_pie(m, p, pl, top); return; }
    pl->kind = MLMP_PL_AXES;
    pl->horizontal = p->bars_horizontal && has_kind(p, MLMP_S_BARS);
    int outside = p->legend == MLMP_LEGEND_OUTSIDE;
    layout_axes(m, fig, p, pl, top, 0, outside);
    if (!pl->has_legend || p->legend != MLMP_LEGEND_AUTO) return;
    int covered = place_legend_inside(p, pl, pl->legend.w, pl->legend.h, -1);
    if (covered == 0) return;
    if (y_free(p, pl)) {
        layout_axes(m, fig, p, pl, top, pl->legend.h + 12, 0);
        covered = place_legend_inside(p, pl, pl->legend.w, pl->legend.h, -1);
        if (covered == 0) return;
    }
    layout_axes(m, fig, p, pl, top, 0, 1);
}

mlmp_layout *mlmp__layout_build(const mlmp_figure *fig, mlmp__text *m, double w_pt, double h_pt,
                                char *err, size_t errlen) {
    if (!fig) { mlmp__err(err, errlen, "plots: no figure"); return NULL; }
    if (fig->error[0]) { mlmp__err(err, errlen, "plots: figure '%s': %s", fig->title ? fig->title : "", fig->error); return NULL; }
    mlmp_layout *L = calloc(1, sizeof *L);
    if (L) L->pl = calloc((size_t)fig->rows * (size_t)fig->cols, sizeof *L->pl);
    if (!L || !L->pl) { free(L); mlmp__err(err, errlen, "plots: out of memory laying out a figure"); return NULL; }
    L->fig = fig; L->w_pt = w_pt; L->h_pt = h_pt; L->scale = fig->dpi / 72.0;
    double th = 0;
    if (fig->title && *fig->title) mlmp__text_size(m, fig->title, MLMP_F_TITLE, 1, w_pt - 20, NULL, &th);
    L->title_h = th;
    double gx = 6, gy = 8 + (th > 0 ? th + 8 : 0);
    double cw = (w_pt - 2 * gx) / fig->cols, ch = (h_pt - gy - 6) / fig->rows;
    for (int r = 0; r < fig->rows; r++)
        for (int c = 0; c < fig->cols; c++) {
            const mlmp_panel_t *p = &fig->panels[r * fig->cols + c];
            mlmp__playout *pl = &L->pl[r * fig->cols + c];
            if (p->covered || mlmp__panel_empty(p)) { pl->kind = MLMP_PL_NONE; continue; }
            pl->cell = (mlmp__rect){gx + c * cw, gy + r * ch, cw * p->colspan, ch * p->rowspan};
            layout_panel(m, fig, p, pl);
        }
    return L;
}

/* ---- public queries ------------------------------------------------------------------ */
mlmp_layout *mlmp_layout_new(const mlmp_figure *fig, char *err, size_t errlen) {
    mlmp__text m;
    if (mlmp__text_init_measure(&m)) { mlmp__err(err, errlen, "plots: cannot create a text measuring context"); return NULL; }
    mlmp_layout *L = fig ? mlmp__layout_build(fig, &m, fig->w_in * 72.0, fig->h_in * 72.0, err, errlen)
                         : (mlmp__err(err, errlen, "plots: no figure"), NULL);
    mlmp__text_free(&m);
    return L;
}

void mlmp_layout_free(mlmp_layout *L) {
    if (!L) return;
    free(L->pl);
    free(L);
}

void mlmp_layout_size_px(const mlmp_layout *L, int *w, int *h) {
    if (w) *w = L ? (int)lround(L->fig->w_in * L->fig->dpi) : 0;
    if (h) *h = L ? (int)lround(L->fig->h_in * L->fig->dpi) : 0;
}

static const mlmp__playout *get_pl(const mlmp_layout *L, int r, int c) {
    if (!L || r < 0 || c < 0 || r >= L->fig->rows || c >= L->fig->cols) return NULL;
    const mlmp__playout *pl = &L->pl[r * L->fig->cols + c];
    return pl->kind == MLMP_PL_NONE ? NULL : pl;
}

int mlmp_layout_plot_rect(const mlmp_layout *L, int r, int c, double *x, double *y, double *w, double *h) {
    const mlmp__playout *pl = get_pl(L, r, c);
    if (!pl) return -1;
    double s = L->scale;
    if (x) *x = pl->plot.x * s;
    if (y) *y = pl->plot.y * s;
    if (w) *w = pl->plot.w * s;
    if (h) *h = pl->plot.h * s;
    return 0;
}

int mlmp_layout_data_to_px(const mlmp_layout *L, int r, int c, double x, double y, double *px, double *py) {
    const mlmp__playout *pl = get_pl(L, r, c);
    if (!pl || pl->kind != MLMP_PL_AXES) return -1;
    double a = mlmp__px(pl, x), b = mlmp__py(pl, y);
    if (!isfinite(a) || !isfinite(b)) return -1;
    if (px) *px = a * L->scale;
    if (py) *py = b * L->scale;
    return 0;
}

int mlmp_layout_legend_rect(const mlmp_layout *L, int r, int c, double *x, double *y, double *w, double *h) {
    const mlmp__playout *pl = get_pl(L, r, c);
    if (!pl || pl->kind != MLMP_PL_AXES || !pl->has_legend) return -1;
    double s = L->scale;
    if (x) *x = pl->legend.x * s;
    if (y) *y = pl->legend.y * s;
    if (w) *w = pl->legend.w * s;
    if (h) *h = pl->legend.h * s;
    return 0;
}
