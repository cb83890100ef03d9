/* plot_cairo.c - draw a laid-out figure (plot_layout.c) with Cairo and write PNG / SVG / PDF
 * files atomically. Drawing order per panel: grid, areas, heatmaps, bars, boxes, lines,
 * scatter, reference lines (all clipped to the plot area), then spines, ticks, value labels,
 * annotations, axis labels, legend, colorbar and titles (never clipped). */
#include "plot_layout.h"
#include "plot_util.h"
#include "png_write.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    cairo_t *cr;
    mlmp__text t;
    const mlmp_figure *fig;
    const mlmp_layout *L;
} rctx;

static const mlmp_color INK = {0.13, 0.13, 0.13, 1}, GREY = {0.33, 0.33, 0.33, 1},
                        GRID = {0.88, 0.88, 0.88, 1}, SPINE = {0.2, 0.2, 0.2, 1},
                        WHITE = {1, 1, 1, 1};

static void src(cairo_t *cr, mlmp_color c) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a); }
static void src_a(cairo_t *cr, mlmp_color c, double a) { cairo_set_source_rgba(cr, c.r, c.g, c.b, c.a * a); }

static void set_dash(cairo_t *cr, int dash, double lw) {
    double u = lw < 1 ? 1 : lw;
    double d1[] = {3.7 * u, 1.6 * u}, d2[] = {1 * u, 1.65 * u}, d3[] = {6.4 * u, 1.6 * u, 1 * u, 1.6 * u};
    switch (dash) {
    case MLMP_DASH_DASHED: cairo_set_dash(cr, d1, 2, 0); break;
    case MLMP_DASH_DOTTED: cairo_set_dash(cr, d2, 2, 0); break;
    case MLMP_DASH_DASHDOT: cairo_set_dash(cr, d3, 4, 0); break;
    default: cairo_set_dash(cr, NULL, 0, 0); break;
    }
}

static void marker(cairo_t *cr, int m, double x, double y, double size, mlmp_color c) {
    double r = size / 2;
    if (!isfinite(x) || !isfinite(y) || m == MLMP_MARKER_NONE) return;
    cairo_new_path(cr);
    switch (m) {
    case MLMP_MARKER_SQUARE: cairo_rectangle(cr, x - r * 0.85, y - r * 0.85, 1.7 * r, 1.7 * r); break;
    case MLMP_MARKER_TRIANGLE:
        cairo_move_to(cr, x, y - r * 1.1); cairo_line_to(cr, x + r, y + r * 0.7); cairo_line_to(cr, x - r, y + r * 0.7);
        cairo_close_path(cr); break;
    case MLMP_MARKER_TRIANGLE_DOWN:
        cairo_move_to(cr, x, y + r * 1.1); cairo_line_to(cr, x + r, y - r * 0.7); cairo_line_to(cr, x - r, y - r * 0.7);
        cairo_close_path(cr); break;
    case MLMP_MARKER_DIAMOND:
        cairo_move_to(cr, x, y - r * 1.2); cairo_line_to(cr, x + r * 0.85, y); cairo_line_to(cr, x, y + r * 1.2);
        cairo_line_to(cr, x - r * 0.85, y); cairo_close_path(cr); break;
    case MLMP_MARKER_CROSS: case MLMP_MARKER_PLUS: {
        double a = m == MLMP_MARKER_CROSS ? r * 0.8 : r;
        if (m == MLMP_MARKER_CROSS) {
            cairo_move_to(cr, x - a, y - a); cairo_line_to(cr, x + a, y + a);
            cairo_move_to(cr, x - a, y + a); cairo_line_to(cr, x + a, y - a);
        } else {
            cairo_move_to(cr, x - a, y); cairo_line_to(cr, x + a, y);
            cairo_move_to(cr, x, y - a); cairo_line_to(cr, x, y + a);
        }
        cairo_save(cr); cairo_set_dash(cr, NULL, 0, 0); cairo_set_line_width(cr, 1.3); src(cr, c); cairo_stroke(cr);
        cairo_restore(cr);
        return;
    }
    default: cairo_arc(cr, x, y, r, 0, 2 * M_PI); break;
    }
    src(cr, c);
    cairo_fill(cr);
}

static void rect_path(cairo_t *cr, double x0, double y0, double x1, double y1) {
    cairo_rectangle(cr, fmin(x0, x1), fmin(y0, y1), fabs(x1 - x0), fabs(y1 - y0));
}

static void rounded(cairo_t *cr, mlmp__rect r, double rad) {
    cairo_new_sub_path(cr);
    cairo_arc(cr, r.x + r.w - rad, r.y + rad, rad, -M_PI / 2, 0);
    cairo_arc(cr, r.x + r.w - rad, r.y + r.h - rad, rad, 0, M_PI / 2);
    cairo_arc(cr, r.x + rad, r.y + r.h - rad, rad, M_PI / 2, M_PI);
    cairo_arc(cr, r.x + rad, r.y + rad, rad, M_PI, 1.5 * M_PI);
    cairo_close_path(cr);
}

/* ---- series ---------------------------------------------------------------------------- */
static void draw_line(rctx *R, const mlmp__playout *pl, const mlmp_series *s) {
    cairo_t *cr = R->cr;
    mlmp_color c = mlmp__series_color(pl->p, s);
    if (s->kind == MLMP_S_LINE) {
        cairo_new_path(cr);
        int pen = 0;
        for (size_t i = 0; i < s->n; i++) {
            double x = mlmp__px(pl, s->x[i]), y = mlmp__py(pl, s->y[i]);
            if (!isfinite(x) || !isfinite(y)) { pen = 0; continue; }
            if (pen) cairo_line_to(cr, x, y); else cairo_move_to(cr, x, y);
            pen = 1;
        }
        cairo_set_line_width(cr, s->lw);
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
        cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
        set_dash(cr, s->dash, s->lw);
        src_a(cr, c, s->alpha);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
    }
    if (s->marker != MLMP_MARKER_NONE) {
        double lo = 0, hi = 1;
        if (s->has_c) mlmp__color_range(R->fig, s, &lo, &hi);
        for (size_t i = 0; i < s->n; i++) {
            mlmp_color mc = c;
            if (s->has_c) mc = mlmp_cmap_at(s->cmap, (s->c[i] - lo) / (hi - lo));
            mc.a *= s->alpha;
            marker(cr, s->marker, mlmp__px(pl, s->x[i]), mlmp__py(pl, s->y[i]), s->msize, mc);
        }
    }
}

static void draw_bars(rctx *R, const mlmp__playout *pl, const mlmp_series *s) {
    cairo_t *cr = R->cr;
    for (size_t i = 0; i < s->n; i++) {
        double cc, cw, v0, v1;
        mlmp__bar_geom(pl->p, s, i, &cc, &cw, &v0, &v1);
        mlmp_color c = mlmp__item_color(pl->p, s, i);
        double x0, x1, y0, y1;
        if (pl->horizontal) {
            y0 = mlmp__py(pl, cc - cw / 2); y1 = mlmp__py(pl, cc + cw / 2);
            x0 = mlmp__px(pl, v0); x1 = mlmp__px(pl, v1);
            if (!isfinite(x0)) x0 = pl->plot.x;
        } else {
            x0 = mlmp__px(pl, cc - cw / 2); x1 = mlmp__px(pl, cc + cw / 2);
            y0 = mlmp__py(pl, v0); y1 = mlmp__py(pl, v1);
            if (!isfinite(y0)) y0 = pl->plot.y + pl->plot.h;
        }
        if (!isfinite(x0) || !isfinite(x1) || !isfinite(y0) || !isfinite(y1)) continue;
        cairo_new_path(cr);
        rect_path(cr, x0, y0, x1, y1);
        src_a(cr, c, s->alpha);
        cairo_fill_preserve(cr);
        cairo_set_line_width(cr, 0.8);
        src(cr, WHITE);
        cairo_stroke(cr);
    }
}

static void draw_bar_labels(rctx *R, const mlmp__playout *pl, const mlmp_series *s) {
    if (!s->value_fmt && !s->value_labels) return;
    for (size_t i = 0; i < s->n; i++) {
        char buf[128];
        mlmp__bar_label(s, i, buf, sizeof buf);
        if (!buf[0]) continue;
        double cc, cw, v0, v1;
        mlmp__bar_geom(pl->p, s, i, &cc, &cw, &v0, &v1);
        mlmp_color c = mlmp__item_color(pl->p, s, i);
        double tw, th;
        mlmp__text_size(&R->t, buf, MLMP_F_VALUE, 1, 0, &tw, &th);
        if (s->labels_inside) {
            double xa, xb, ya, yb;
            if (pl->horizontal) { xa = mlmp__px(pl, v0); xb = mlmp__px(pl, v1); ya = mlmp__py(pl, cc - cw / 2); yb = mlmp__py(pl, cc + cw / 2); }
            else { xa = mlmp__px(pl, cc - cw / 2); xb = mlmp__px(pl, cc + cw / 2); ya = mlmp__py(pl, v0); yb = mlmp__py(pl, v1); }
            if (!isfinite(xa) || !isfinite(xb) || !isfinite(ya) || !isfinite(yb)) continue;
            mlmp__font f = MLMP_F_VALUE;
            if (fabs(xb - xa) < tw + 2) { f.size *= (fabs(xb - xa) - 2) / tw; th *= f.size / MLMP_F_VALUE.size; }
            if (f.size < 5 || fabs(yb - ya) < th) continue;
            mlmp_color tc = mlmp_luminance(c) < 0.45 ? WHITE : INK;
            mlmp__text_draw(&R->t, buf, f, 1, 0, (xa + xb) / 2, (ya + yb) / 2, 0.5, 0.5, 0, tc);
            continue;
        }
        mlmp_color tc = mlmp_luminance(c) > 0.6 ? INK : c;
        tc.r *= 0.85; tc.g *= 0.85; tc.b *= 0.85;
        if (pl->horizontal) {
            double x = mlmp__px(pl, v1), y = mlmp__py(pl, cc);
            int neg = v1 < v0;
            x += neg ? -3 : 3;
            if (!neg && x + tw > pl->plot.x + pl->plot.w) { x = mlmp__px(pl, v1) - 3; neg = 1; tc = WHITE; }
            mlmp__text_draw(&R->t, buf, MLMP_F_VALUE, 1, 0, x, y, neg ? 1 : 0, 0.5, 0, tc);
        } else {
            double x = mlmp__px(pl, cc), y = mlmp__py(pl, v1);
            int neg = v1 < v0;
            y += neg ? 2 : -2;
            double ty = neg ? y : y - th;
            if (ty < pl->plot.y) { y = mlmp__py(pl, v1) + 2; neg = 1; tc = WHITE; }
            mlmp__text_draw(&R->t, buf, MLMP_F_VALUE, 1, 0, x, y, 0.5, neg ? 0 : 1, 0, tc);
        }
    }
}

static void draw_area(rctx *R, const mlmp__playout *pl, const mlmp_series *s) {
    cairo_t *cr = R->cr;
    size_t n = s->n;
    double *base = calloc(n, sizeof *base);
    if (!base) return;
    for (size_t k = 0; k < s->nlayers; k++) {
        cairo_new_path(cr);
        for (size_t i = 0; i < n; i++) {
            double v = isfinite(s->layers[k][i]) ? s->layers[k][i] : 0;
            double x = mlmp__px(pl, s->x[i]), y = mlmp__py(pl, base[i] + v);
            if (i == 0) cairo_move_to(cr, x, y); else cairo_line_to(cr, x, y);
        }
        for (size_t i = n; i-- > 0;) {
            double y = mlmp__py(pl, base[i]);
            if (!isfinite(y)) y = pl->plot.y + pl->plot.h;
            cairo_line_to(cr, mlmp__px(pl, s->x[i]), y);
        }
        cairo_close_path(cr);
        mlmp_color c = mlmp__item_color(pl->p, s, k);
        src_a(cr, c, s->alpha);
        cairo_fill_preserve(cr);
        cairo_set_line_width(cr, 0.8);
        src(cr, c);
        cairo_stroke(cr);
        for (size_t i = 0; i < n; i++) if (isfinite(s->layers[k][i])) base[i] += s->layers[k][i];
    }
    free(base);
}

static void draw_heatmap(rctx *R, const mlmp__playout *pl, const mlmp_series *s) {
    cairo_t *cr = R->cr;
    double lo, hi;
    mlmp__color_range(R->fig, s, &lo, &hi);
    int W = (int)s->cols, H = (int)s->rows;
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) { cairo_surface_destroy(img); return; }
    cairo_surface_flush(img);
    unsigned char *data = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (int i = 0; i < H; i++)
        for (int j = 0; j < W; j++) {
            double v = s->z[(size_t)i * s->cols + (size_t)j];
            mlmp_color c = isfinite(v) ? mlmp_cmap_at(s->cmap, (v - lo) / (hi - lo)) : mlmp_rgb(0xdddddd);
            uint32_t px = (uint32_t)lround(c.r * 255) << 16 | (uint32_t)lround(c.g * 255) << 8 | (uint32_t)lround(c.b * 255);
            memcpy(data + (size_t)i * (size_t)stride + (size_t)j * 4, &px, 4);
        }
    cairo_surface_mark_dirty(img);
    double x0 = mlmp__px(pl, -0.5), x1 = mlmp__px(pl, (double)W - 0.5);
    double y0 = mlmp__py(pl, -0.5), y1 = mlmp__py(pl, (double)H - 0.5);
    cairo_save(cr);
    cairo_translate(cr, x0, y0);
    cairo_scale(cr, (x1 - x0) / W, (y1 - y0) / H);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_rectangle(cr, 0, 0, W, H);
    cairo_fill(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
}

static void draw_heat_numbers(rctx *R, const mlmp__playout *pl, const mlmp_series *s) {
    if (!s->num_fmt) return;
    double lo, hi;
    mlmp__color_range(R->fig, s, &lo, &hi);
    double cw = fabs(mlmp__px(pl, 1) - mlmp__px(pl, 0)), ch = fabs(mlmp__py(pl, 1) - mlmp__py(pl, 0));
    char buf[64];
    double maxw = 0, th = 0;
    mlmp__font f = {8.0, 0, 0, 0};
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
    for (size_t k = 0; k < s->rows * s->cols; k++) {
        snprintf(buf, sizeof buf, s->num_fmt, s->z[k]);
        double w;
        mlmp__text_size(&R->t, buf, f, 0, 0, &w, &th);
        if (w > maxw) maxw = w;
    }
    double sc = fmin(1.0, fmin(cw * 0.85 / fmax(maxw, 1), ch * 0.8 / fmax(th, 1)));
    f.size *= sc;
    if (f.size < 4.5) return;
    for (size_t i = 0; i < s->rows; i++)
        for (size_t j = 0; j < s->cols; j++) {
            double v = s->z[i * s->cols + j];
            if (!isfinite(v)) continue;
            snprintf(buf, sizeof buf, s->num_fmt, v);
            mlmp_color c = mlmp_cmap_at(s->cmap, (v - lo) / (hi - lo));
            mlmp__text_draw(&R->t, buf, f, 0, 0, mlmp__px(pl, (double)j), mlmp__py(pl, (double)i), 0.5, 0.5, 0,
                            mlmp_luminance(c) < 0.4 ? WHITE : INK);
        }
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
}

static void draw_boxplot(rctx *R, const mlmp__playout *pl, const mlmp_series *s) {
    cairo_t *cr = R->cr;
    for (size_t g = 0; g < s->ngroups; g++) {
        const mlmp_boxstat *b = &s->stats[g];
        if (!b->valid) continue;
        mlmp_color c = mlmp__item_color(pl->p, s, g);
        double xc = mlmp__px(pl, (double)g), xa = mlmp__px(pl, (double)g - 0.25), xb = mlmp__px(pl, (double)g + 0.25);
        double ca = mlmp__px(pl, (double)g - 0.12), cb = mlmp__px(pl, (double)g + 0.12);
        double q1 = mlmp__py(pl, b->q1), q3 = mlmp__py(pl, b->q3), md = mlmp__py(pl, b->med);
        double wl = mlmp__py(pl, b->wlo), wh = mlmp__py(pl, b->whi);
        cairo_set_line_width(cr, 1.0);
        src(cr, SPINE);
        cairo_new_path(cr);
        cairo_move_to(cr, xc, q1); cairo_line_to(cr, xc, wl);
        cairo_move_to(cr, xc, q3); cairo_line_to(cr, xc, wh);
        cairo_move_to(cr, ca, wl); cairo_line_to(cr, cb, wl);
        cairo_move_to(cr, ca, wh); cairo_line_to(cr, cb, wh);
        cairo_stroke(cr);
        cairo_new_path(cr);
        rect_path(cr, xa, q1, xb, q3);
        src_a(cr, c, 0.6);
        cairo_fill_preserve(cr);
        src(cr, SPINE);
        cairo_stroke(cr);
        cairo_set_line_width(cr, 2.0);
        mlmp_color mc = {c.r * 0.55, c.g * 0.55, c.b * 0.55, 1};
        src(cr, mc);
        cairo_move_to(cr, xa, md); cairo_line_to(cr, xb, md);
        cairo_stroke(cr);
        cairo_set_line_width(cr, 1.0);
        for (size_t k = 0; k < b->nout; k++) {
            double y = mlmp__py(pl, b->out[k]);
            if (!isfinite(y)) continue;
            cairo_new_path(cr);
            cairo_arc(cr, xc, y, 3, 0, 2 * M_PI);
            src(cr, SPINE);
            cairo_stroke(cr);
        }
    }
}

static void draw_refline(rctx *R, const mlmp__playout *pl, const mlmp_series *s) {
    cairo_t *cr = R->cr;
    const mlmp__rect *r = &pl->plot;
    cairo_new_path(cr);
    if (s->kind == MLMP_S_HLINE) {
        double y = mlmp__py(pl, s->ay);
        if (!isfinite(y)) return;
        cairo_move_to(cr, r->x, y); cairo_line_to(cr, r->x + r->w, y);
    } else {
        double x = mlmp__px(pl, s->ax);
        if (!isfinite(x)) return;
        cairo_move_to(cr, x, r->y); cairo_line_to(cr, x, r->y + r->h);
    }
    cairo_set_line_width(cr, s->lw);
    set_dash(cr, s->dash, s->lw);
    src_a(cr, mlmp__series_color(pl->p, s), s->alpha);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
}

static void draw_annotation(rctx *R, const mlmp__playout *pl, const mlmp_series *s) {
    double x = mlmp__px(pl, s->ax), y = mlmp__py(pl, s->ay);
    if (!isfinite(x) || !isfinite(y)) return;
    mlmp__font f = {s->fontsize, s->bold, 0, 0};
    double w, h;
    mlmp__text_size(&R->t, s->text, f, 1, 0, &w, &h);
    double ha = s->halign == MLMP_ALIGN_START ? 0 : s->halign == MLMP_ALIGN_END ? 1 : 0.5;
    double va = s->valign == MLMP_ALIGN_START ? 0 : s->valign == MLMP_ALIGN_END ? 1 : 0.5;
    if (s->valign == MLMP_ALIGN_END) y -= 3;
    if (s->valign == MLMP_ALIGN_START) y += 3;
    if (s->halign == MLMP_ALIGN_START) x += 3;
    if (s->halign == MLMP_ALIGN_END) x -= 3;
    /* keep the text inside the plot area */
    const mlmp__rect *r = &pl->plot;
    double l = x - ha * w, t = y - va * h;
    if (l < r->x + 2) x += r->x + 2 - l;
    if (l + w > r->x + r->w - 2) x -= l + w - (r->x + r->w - 2);
    if (t < r->y + 2) y += r->y + 2 - t;
    if (t + h > r->y + r->h - 2) y -= t + h - (r->y + r->h - 2);
    mlmp__text_draw(&R->t, s->text, f, 1, 0, x, y, ha, va, 0, mlmp__series_color(pl->p, s));
}

/* ---- axes ------------------------------------------------------------------------------ */
static void draw_grid(rctx *R, const mlmp__playout *pl) {
    cairo_t *cr = R->cr;
    const mlmp__rect *r = &pl->plot;
    cairo_set_line_width(cr, 0.6);
    src(cr, GRID);
    cairo_new_path(cr);
    if (pl->ax.grid)
        for (size_t i = 0; i < pl->ax.nt; i++) {
            double x = mlmp__px(pl, pl->ax.tv[i]);
            if (isfinite(x)) { cairo_move_to(cr, x, r->y); cairo_line_to(cr, x, r->y + r->h); }
        }
    if (pl->ay.grid)
        for (size_t i = 0; i < pl->ay.nt; i++) {
            double y = mlmp__py(pl, pl->ay.tv[i]);
            if (isfinite(y)) { cairo_move_to(cr, r->x, y); cairo_line_to(cr, r->x + r->w, y); }
        }
    cairo_stroke(cr);
}

static void draw_axes_frame(rctx *R, const mlmp__playout *pl) {
    cairo_t *cr = R->cr;
    const mlmp__rect *r = &pl->plot;
    const mlmp_panel_t *p = pl->p;
    cairo_set_line_width(cr, 0.9);
    src(cr, SPINE);
    cairo_new_path(cr);
    cairo_rectangle(cr, r->x, r->y, r->w, r->h);
    cairo_stroke(cr);
    cairo_set_line_width(cr, 0.8);
    double bottom = r->y + r->h;
    double lab_bottom = bottom + 3.5 + 2;
    mlmp__font fx = MLMP_F_TICK, fy = MLMP_F_TICK;
    fx.size = pl->ax.fsize; fy.size = pl->ay.fsize;
    double maxh = 0;
    for (size_t i = 0; i < pl->ax.nt; i++) {
        double x = mlmp__px(pl, pl->ax.tv[i]);
        if (!isfinite(x)) continue;
        cairo_move_to(cr, x, bottom); cairo_line_to(cr, x, bottom + 3.5);
        cairo_stroke(cr);
        if (!pl->ax.show[i]) continue;
        double w, h;
        mlmp__text_size(&R->t, pl->ax.tl[i], fx, 1, 0, &w, &h);
        if (pl->ax.rotate) {
            mlmp__text_draw(&R->t, pl->ax.tl[i], fx, 1, 0, x + 0.35 * h, lab_bottom - 0.35 * h, 1, 0, 45, INK);
            h = w * 0.7071 + h * 0.7071;
        } else {
            mlmp__text_draw(&R->t, pl->ax.tl[i], fx, 1, 0, x, lab_bottom, 0.5, 0, 0, INK);
        }
        if (h > maxh) maxh = h;
    }
    if (maxh == 0) mlmp__text_size(&R->t, "0", fx, 0, 0, NULL, &maxh);
    double maxw = 0;
    for (size_t i = 0; i < pl->ay.nt; i++) {
        double y = mlmp__py(pl, pl->ay.tv[i]);
        if (!isfinite(y)) continue;
        src(cr, SPINE);
        cairo_move_to(cr, r->x, y); cairo_line_to(cr, r->x - 3.5, y);
        cairo_stroke(cr);
        if (!pl->ay.show[i]) continue;
        double w;
        mlmp__text_size(&R->t, pl->ay.tl[i], fy, 1, 0, &w, NULL);
        if (w > maxw) maxw = w;
        mlmp__text_draw(&R->t, pl->ay.tl[i], fy, 1, 0, r->x - 3.5 - 3, y, 1, 0.5, 0, INK);
    }
    const char *xl = p->x.label, *yl = p->y.label;
    if (xl) mlmp__text_draw(&R->t, xl, MLMP_F_LABEL, 1, 0, r->x + r->w / 2, lab_bottom + maxh + 3, 0.5, 0, 0, INK);
    if (yl) mlmp__text_draw(&R->t, yl, MLMP_F_LABEL, 1, 0, r->x - 3.5 - 3 - maxw - 5, r->y + r->h / 2, 0.5, 1, 90, INK);
}

static void draw_legend_entries(rctx *R, const mlmp__playout *pl) {
    cairo_t *cr = R->cr;
    const mlmp__rect *b = &pl->legend;
    cairo_new_path(cr);
    rounded(cr, *b, 3);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.9);
    cairo_fill_preserve(cr);
    cairo_set_line_width(cr, 0.6);
    src(cr, (mlmp_color){0.8, 0.8, 0.8, 1});
    cairo_stroke(cr);
    mlmp__font f = MLMP_F_LEGEND;
    for (size_t i = 0; i < pl->nleg; i++) {
        const mlmp__leg_entry *e = &pl->leg[i];
        double y = b->y + pl->leg_pad + pl->leg_row * (double)i + pl->leg_row / 2 - 1;
        double x0 = b->x + pl->leg_pad, x1 = x0 + pl->leg_sw;
        switch (e->kind) {
        case MLMP_LEG_PATCH:
            cairo_new_path(cr);
            cairo_rectangle(cr, x0 + 2, y - 4, pl->leg_sw - 4, 8);
            src(cr, e->c);
            cairo_fill(cr);
            break;
        case MLMP_LEG_MARKER: marker(cr, e->marker ? e->marker : MLMP_MARKER_CIRCLE, (x0 + x1) / 2, y, fmin(e->msize, 7), e->c); break;
        default:
            cairo_new_path(cr);
            cairo_move_to(cr, x0, y); cairo_line_to(cr, x1, y);
            cairo_set_line_width(cr, fmin(e->lw, 2.5));
            set_dash(cr, e->dash, fmin(e->lw, 2.5) * 0.8);
            src(cr, e->c);
            cairo_stroke(cr);
            cairo_set_dash(cr, NULL, 0, 0);
            marker(cr, e->marker, (x0 + x1) / 2, y, fmin(e->msize, 6), e->c);
        }
        mlmp__text_draw(&R->t, e->label, f, 1, 0, x1 + 6, y, 0, 0.5, 0, INK);
    }
}

static void draw_colorbar(rctx *R, const mlmp__playout *pl) {
    cairo_t *cr = R->cr;
    const mlmp__rect *b = &pl->cbar_rect;
    mlmp_cmap cm = pl->cbar->cmap;
    cairo_pattern_t *g = cairo_pattern_create_linear(0, b->y + b->h, 0, b->y);
    for (int k = 0; k <= 32; k++) {
        mlmp_color c = mlmp_cmap_at(cm, k / 32.0);
        cairo_pattern_add_color_stop_rgb(g, k / 32.0, c.r, c.g, c.b);
    }
    cairo_new_path(cr);
    cairo_rectangle(cr, b->x, b->y, b->w, b->h);
    cairo_set_source(cr, g);
    cairo_fill_preserve(cr);
    cairo_pattern_destroy(g);
    cairo_set_line_width(cr, 0.8);
    src(cr, SPINE);
    cairo_stroke(cr);
    double maxw = 0;
    for (size_t i = 0; i < pl->cnt; i++) {
        double f = (pl->ctv[i] - pl->clo) / (pl->chi - pl->clo);
        if (f < -1e-9 || f > 1 + 1e-9) continue;
        double y = b->y + b->h * (1 - f);
        src(cr, SPINE);
        cairo_move_to(cr, b->x + b->w, y); cairo_line_to(cr, b->x + b->w + 3.5, y);
        cairo_stroke(cr);
        double w;
        mlmp__text_size(&R->t, pl->ctl[i], MLMP_F_TICK, 1, 0, &w, NULL);
        if (w > maxw) maxw = w;
        mlmp__text_draw(&R->t, pl->ctl[i], MLMP_F_TICK, 1, 0, b->x + b->w + 6, y, 0, 0.5, 0, INK);
    }
    if (pl->cbar->cbar_label)
        mlmp__text_draw(&R->t, pl->cbar->cbar_label, MLMP_F_LABEL, 1, 0, b->x + b->w + 6 + maxw + 5,
                        b->y + b->h / 2, 0.5, 0, 90, INK);
}

static void draw_axes_panel(rctx *R, const mlmp__playout *pl) {
    cairo_t *cr = R->cr;
    const mlmp_panel_t *p = pl->p;
    const mlmp__rect *r = &pl->plot;
    cairo_save(cr);
    cairo_rectangle(cr, r->x, r->y, r->w, r->h);
    cairo_clip(cr);
    draw_grid(R, pl);
    static const mlmp_series_kind order[] = {MLMP_S_AREA, MLMP_S_HEATMAP, MLMP_S_BARS, MLMP_S_BOXPLOT,
                                             MLMP_S_HLINE, MLMP_S_VLINE, MLMP_S_LINE, MLMP_S_SCATTER};
    for (size_t k = 0; k < sizeof order / sizeof order[0]; k++)
        for (const mlmp_series *s = p->head; s; s = s->next) {
            if (s->kind != order[k]) continue;
            switch (s->kind) {
            case MLMP_S_AREA: draw_area(R, pl, s); break;
            case MLMP_S_HEATMAP: draw_heatmap(R, pl, s); break;
            case MLMP_S_BARS: draw_bars(R, pl, s); break;
            case MLMP_S_BOXPLOT: draw_boxplot(R, pl, s); break;
            case MLMP_S_HLINE: case MLMP_S_VLINE: draw_refline(R, pl, s); break;
            default: draw_line(R, pl, s); break;
            }
        }
    cairo_restore(cr);
    for (const mlmp_series *s = p->head; s; s = s->next) {
        if (s->kind == MLMP_S_BARS) draw_bar_labels(R, pl, s);
        if (s->kind == MLMP_S_HEATMAP) draw_heat_numbers(R, pl, s);
        if (s->kind == MLMP_S_TEXT) draw_annotation(R, pl, s);
    }
    draw_axes_frame(R, pl);
    if (pl->cbar) draw_colorbar(R, pl);
    if (pl->has_legend) draw_legend_entries(R, pl);
}

/* ---- pie ------------------------------------------------------------------------------- */
typedef struct { double ang, x, y, w, h, ax, ay; int right; char text[160]; } pie_label;

static int cmp_label_y(const void *a, const void *b) {
    const pie_label *x = a, *y = b;
    return x->y < y->y ? -1 : x->y > y->y;
}

static void spread(pie_label *l, size_t n, double top, double bottom) {
    if (!n) return;
    qsort(l, n, sizeof *l, cmp_label_y);
    for (size_t i = 1; i < n; i++) {
        double miny = l[i - 1].y + (l[i - 1].h + l[i].h) / 2 + 1;
        if (l[i].y < miny) l[i].y = miny;
    }
    double over = l[n - 1].y + l[n - 1].h / 2 - bottom;
    if (over > 0)
        for (size_t i = n; i-- > 0;) {
            l[i].y -= over;
            if (i > 0) {
                double maxy = l[i].y - (l[i - 1].h + l[i].h) / 2 - 1;
                if (l[i - 1].y <= maxy) break;
                over = l[i - 1].y - maxy;
            }
        }
    if (l[0].y - l[0].h / 2 < top) l[0].y = top + l[0].h / 2;
}

static void draw_pie(rctx *R, const mlmp__playout *pl) {
    cairo_t *cr = R->cr;
    const mlmp_series *s = NULL;
    for (const mlmp_series *t = pl->p->head; t; t = t->next) if (t->kind == MLMP_S_PIE) { s = t; break; }
    if (!s) return;
    double tot = 0;
    for (size_t i = 0; i < s->n; i++) tot += s->y[i];
    double r = pl->pr, a = M_PI / 2;
    pie_label *labs = calloc(s->n, sizeof *labs);
    if (!labs) return;
    size_t nl = 0;
    for (size_t i = 0; i < s->n; i++) {
        double frac = s->y[i] / tot, da = frac * 2 * M_PI, mid = a + da / 2;
        double e = s->explode ? s->explode[i] * r : 0;
        double cx = pl->pcx + e * cos(mid), cy = pl->pcy - e * sin(mid);
        mlmp_color c = mlmp__item_color(pl->p, s, i);
        cairo_new_path(cr);
        cairo_move_to(cr, cx, cy);
        cairo_arc_negative(cr, cx, cy, r, -a, -(a + da));
        cairo_close_path(cr);
        src(cr, c);
        cairo_fill_preserve(cr);
        cairo_set_line_width(cr, 1.2);
        src(cr, WHITE);
        cairo_stroke(cr);
        char pct[48];
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
        snprintf(pct, sizeof pct, s->value_fmt ? s->value_fmt : "%.1f%%", frac * 100);
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
        double pw, ph;
        mlmp__font pf = {7.5, 0, 0, 0};
        mlmp__text_size(&R->t, pct, pf, 0, 0, &pw, &ph);
        int inside = da * r * 0.68 > pw * 0.9 + 4 && da > 0.12;
        if (inside) {
            mlmp__text_draw(&R->t, pct, pf, 0, 0, cx + 0.68 * r * cos(mid), cy - 0.68 * r * sin(mid), 0.5, 0.5, 0,
                            mlmp_luminance(c) < 0.35 ? WHITE : INK);
        }
        const char *name = s->names && s->names[i] ? s->names[i] : "";
        pie_label *L = &labs[nl++];
        if (inside || !frac) snprintf(L->text, sizeof L->text, "%s", name);
        else snprintf(L->text, sizeof L->text, "%s%s%s", name, *name ? " " : "", pct);
        L->ang = mid;
        L->ax = cx + r * 1.02 * cos(mid); L->ay = cy - r * 1.02 * sin(mid);
        L->x = cx + r * 1.12 * cos(mid); L->y = cy - r * 1.12 * sin(mid);
        L->right = cos(mid) >= 0;
        mlmp__text_size(&R->t, L->text, MLMP_F_LABEL, 1, 0, &L->w, &L->h);
        a += da;
    }
    /* labels: right side and left side spread apart vertically */
    pie_label *side[2];
    size_t ns[2] = {0, 0};
    side[0] = calloc(nl + 1, sizeof **side); side[1] = calloc(nl + 1, sizeof **side);
    if (side[0] && side[1]) {
        for (size_t i = 0; i < nl; i++) if (labs[i].text[0]) { int k = labs[i].right ? 0 : 1; side[k][ns[k]++] = labs[i]; }
        double top = pl->cell.y, bottom = pl->cell.y + pl->cell.h - 4;
        for (int k = 0; k < 2; k++) {
            double y0 = pl->pcy;
            (void)y0;
            spread(side[k], ns[k], fmax(top, pl->plot.y - 30), bottom);
            for (size_t i = 0; i < ns[k]; i++) {
                pie_label *L = &side[k][i];
                double ideal = pl->pcy - r * 1.12 * sin(L->ang);
                if (fabs(L->y - ideal) > 3) {
                    cairo_new_path(cr);
                    cairo_move_to(cr, L->ax, L->ay);
                    cairo_line_to(cr, L->x + (L->right ? -2 : 2), L->y);
                    cairo_set_line_width(cr, 0.6);
                    src(cr, GREY);
                    cairo_stroke(cr);
                }
                mlmp__text_draw(&R->t, L->text, MLMP_F_LABEL, 1, 0, L->x, L->y, L->right ? 0 : 1, 0.5, 0, INK);
            }
        }
    }
    free(side[0]); free(side[1]);
    free(labs);
}

/* ---- text panel, titles ------------------------------------------------------------------- */
static void draw_text_panel(rctx *R, const mlmp__playout *pl) {
    cairo_t *cr = R->cr;
    cairo_new_path(cr);
    rounded(cr, pl->plot, 5);
    src(cr, mlmp_rgb(0xfffbe6));
    cairo_fill_preserve(cr);
    cairo_set_line_width(cr, 1.0);
    src(cr, mlmp_rgb(0x555555));
    cairo_stroke(cr);
    mlmp__font f = {pl->tfs, 0, 0, 1};
    double w, h;
    mlmp__text_size(&R->t, pl->p->text, f, 0, 0, &w, &h);
    mlmp__text_draw(&R->t, pl->p->text, f, 0, 0, pl->plot.x + (pl->plot.w - w) / 2, pl->plot.y + (pl->plot.h - h) / 2,
                    0, 0, 0, INK);
}

static void draw_titles(rctx *R, const mlmp__playout *pl) {
    const mlmp_panel_t *p = pl->p;
    double cx = pl->cell.x + pl->cell.w / 2, y = pl->cell.y + 7, wrap = pl->cell.w - 14;
    /* centre titles over the plot area when it is off-centre in its cell */
    if (pl->kind == MLMP_PL_AXES) {
        double pcx = pl->plot.x + pl->plot.w / 2, half = fmin(pcx - pl->cell.x, pl->cell.x + pl->cell.w - pcx) - 7;
        double need = 0, w;
        if (p->title1) { mlmp__text_size(&R->t, p->title1, MLMP_F_T1, 1, 0, &w, NULL); need = fmax(need, w); }
        if (p->title2) { mlmp__text_size(&R->t, p->title2, MLMP_F_T2, 1, 0, &w, NULL); need = fmax(need, w); }
        if (need / 2 <= half) cx = pcx;
    }
    if (p->title1) mlmp__text_draw(&R->t, p->title1, MLMP_F_T1, 1, wrap, cx, y, 0.5, 0, 0, INK);
    if (p->title2) mlmp__text_draw(&R->t, p->title2, MLMP_F_T2, 1, wrap, cx, y + pl->t1h, 0.5, 0, 0, GREY);
}

static void draw_figure(rctx *R) {
    const mlmp_figure *fig = R->fig;
    const mlmp_layout *L = R->L;
    cairo_t *cr = R->cr;
    cairo_save(cr);
    cairo_new_path(cr);
    cairo_rectangle(cr, 0, 0, L->w_pt, L->h_pt);
    src(cr, WHITE);
    cairo_fill(cr);
    if (fig->title && *fig->title)
        mlmp__text_draw(&R->t, fig->title, MLMP_F_TITLE, 1, L->w_pt - 20, L->w_pt / 2, 8, 0.5, 0, 0, INK);
    for (int i = 0; i < fig->rows * fig->cols; i++) {
        const mlmp__playout *pl = &L->pl[i];
        switch (pl->kind) {
        case MLMP_PL_AXES: draw_axes_panel(R, pl); break;
        case MLMP_PL_PIE: draw_pie(R, pl); break;
        case MLMP_PL_TEXT: draw_text_panel(R, pl); break;
        default: continue;
        }
        draw_titles(R, pl);
    }
    cairo_restore(cr);
}

int mlmp_render_cairo(const mlmp_figure *fig, cairo_t *cr, double w_pt, double h_pt, char *err, size_t errlen) {
    if (!fig || !cr) return mlmp__err(err, errlen, "plots: mlmp_render_cairo: no figure or no cairo context");
    if (!(w_pt > 10 && h_pt > 10)) return mlmp__err(err, errlen, "plots: mlmp_render_cairo: box %g x %g pt too small", w_pt, h_pt);
    mlmp__text m;
    if (mlmp__text_init_measure(&m)) return mlmp__err(err, errlen, "plots: cannot create a text context");
    mlmp_layout *L = mlmp__layout_build(fig, &m, w_pt, h_pt, err, errlen);
    mlmp__text_free(&m);
    if (!L) return -1;
    rctx R = {cr, {0}, fig, L};
    if (mlmp__text_init_cr(&R.t, cr)) { mlmp_layout_free(L); return mlmp__err(err, errlen, "plots: cannot create a text context"); }
    draw_figure(&R);
    mlmp__text_free(&R.t);
    mlmp_layout_free(L);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS)
        return mlmp__err(err, errlen, "plots: cairo: %s", cairo_status_to_string(cairo_status(cr)));
    return 0;
}

/* ---- files ----------------------------------------------------------------------------- */
typedef enum { OUT_PNG, OUT_SVG, OUT_PDF } out_kind;

static int render_to(const mlmp_figure *fig, const char *path, out_kind kind, char *err, size_t errlen) {
    if (!fig || !path) return mlmp__err(err, errlen, "plots: render: no figure or no path");
    if (fig->error[0]) return mlmp__err(err, errlen, "plots: %s: figure '%s': %s", path, fig->title ? fig->title : "", fig->error);
    char tmp[4096];
    if (mlmp__tmp_path(tmp, sizeof tmp, path)) return mlmp__err(err, errlen, "plots: %s: path too long", path);
    double w_pt = fig->w_in * 72, h_pt = fig->h_in * 72, s = fig->dpi / 72.0;
    cairo_surface_t *surf;
    if (kind == OUT_PNG)
        surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)lround(fig->w_in * fig->dpi), (int)lround(fig->h_in * fig->dpi));
    else if (kind == OUT_SVG) surf = cairo_svg_surface_create(tmp, w_pt, h_pt);
    else surf = cairo_pdf_surface_create(tmp, w_pt, h_pt);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        int st = cairo_surface_status(surf);
        cairo_surface_destroy(surf);
        remove(tmp);
        return mlmp__err(err, errlen, "plots: %s: cannot create surface: %s", path, cairo_status_to_string(st));
    }
    if (kind == OUT_PDF) cairo_pdf_surface_set_metadata(surf, CAIRO_PDF_METADATA_CREATOR, "MicroLM Lab plots");
    cairo_t *cr = cairo_create(surf);
    if (kind == OUT_PNG) cairo_scale(cr, s, s);
    int rc = mlmp_render_cairo(fig, cr, w_pt, h_pt, err, errlen);
    cairo_destroy(cr);
    if (rc == 0 && kind == OUT_PNG) {
        rc = mlmp__png_write(surf, tmp, err, errlen);
    }
    cairo_surface_finish(surf);
    if (rc == 0 && cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS)
        rc = mlmp__err(err, errlen, "plots: %s: cannot write: %s", path, cairo_status_to_string(cairo_surface_status(surf)));
    cairo_surface_destroy(surf);
    if (rc) { remove(tmp); return rc; }
    return mlmp__commit_file(tmp, path, err, errlen);
}

int mlmp_render_png(const mlmp_figure *fig, const char *path, char *err, size_t errlen) { return render_to(fig, path, OUT_PNG, err, errlen); }
int mlmp_render_svg(const mlmp_figure *fig, const char *path, char *err, size_t errlen) { return render_to(fig, path, OUT_SVG, err, errlen); }
int mlmp_render_pdf(const mlmp_figure *fig, const char *path, char *err, size_t errlen) { return render_to(fig, path, OUT_PDF, err, errlen); }

int mlmp_render_file(const mlmp_figure *fig, const char *path, char *err, size_t errlen) {
    if (!path) return mlmp__err(err, errlen, "plots: render: no path");
    const char *e = mlmp__ext(path);
    if (!strcmp(e, "png") || !strcmp(e, "PNG")) return mlmp_render_png(fig, path, err, errlen);
    if (!strcmp(e, "svg") || !strcmp(e, "SVG")) return mlmp_render_svg(fig, path, err, errlen);
    if (!strcmp(e, "pdf") || !strcmp(e, "PDF")) return mlmp_render_pdf(fig, path, err, errlen);
    return mlmp__err(err, errlen, "plots: %s: unknown extension '%s' (want .png, .svg or .pdf)", path, e);
}

void mlmp_plots_cleanup(void) {
    /* Drop pango's default font map. cairo's and fontconfig's process-wide caches are left to
     * the process exit: cairo_debug_reset_static_data() asserts when a font is still alive and
     * FcFini() races with the thread pango >= 1.50 starts to load fontconfig, so either can
     * abort a program; the sanitizer run suppresses those library-internal blocks instead
     * (tests/lsan.supp). */
    pango_cairo_font_map_set_default(NULL);
}
