/* report.c - multi-page PDF report with Cairo + pango (see report.h). */
#include "report.h"
#include "plot_cairo.h"
#include "plot_text.h"
#include "plot_util.h"

#include <cairo-pdf.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PAGE_W 792.0
#define PAGE_H 612.0
#define MARGIN 54.0

struct mlmp_report {
    char *path, *tmp;
    cairo_surface_t *surf;
    cairo_t *cr;
    mlmp__text t;
    int pages, failed;
};

static const mlmp_color INK = {0.12, 0.12, 0.12, 1}, GREY = {0.4, 0.4, 0.4, 1};

mlmp_report *mlmp_report_new(const char *path, char *err, size_t errlen) {
    if (!path) { mlmp__err(err, errlen, "plots: report: no path"); return NULL; }
    mlmp_report *r = calloc(1, sizeof *r);
    if (!r) { mlmp__err(err, errlen, "plots: report %s: out of memory", path); return NULL; }
    r->path = mlmp__strdup(path);
    r->tmp = malloc(strlen(path) + 5);
    if (!r->path || !r->tmp) { free(r->path); free(r->tmp); free(r); mlmp__err(err, errlen, "plots: report %s: out of memory", path); return NULL; }
    sprintf(r->tmp, "%s.tmp", path);
    r->surf = cairo_pdf_surface_create(r->tmp, PAGE_W, PAGE_H);
    if (cairo_surface_status(r->surf) != CAIRO_STATUS_SUCCESS) {
        mlmp__err(err, errlen, "plots: report %s: cannot create: %s", path, cairo_status_to_string(cairo_surface_status(r->surf)));
        cairo_surface_destroy(r->surf);
        remove(r->tmp);
        free(r->path); free(r->tmp); free(r);
        return NULL;
    }
    cairo_pdf_surface_set_metadata(r->surf, CAIRO_PDF_METADATA_CREATOR, "MicroLM Lab plots");
    r->cr = cairo_create(r->surf);
    if (mlmp__text_init_cr(&r->t, r->cr)) {
        mlmp__err(err, errlen, "plots: report %s: no text context", path);
        mlmp_report_abort(r);
        return NULL;
    }
    return r;
}

static int check(mlmp_report *r, char *err, size_t errlen) {
    if (!r) return mlmp__err(err, errlen, "plots: report: NULL report");
    if (r->failed) return mlmp__err(err, errlen, "plots: report %s: an earlier page failed", r->path);
    return 0;
}

static void footer(mlmp_report *r) {
    char b[64];
    snprintf(b, sizeof b, "MicroLM Lab \xe2\x80\x94 page %d", r->pages + 1);
    mlmp__font f = {8, 0, 0, 0};
    mlmp__text_draw(&r->t, b, f, 0, 0, PAGE_W / 2, PAGE_H - 24, 0.5, 1, 0, GREY);
}

static int end_page(mlmp_report *r, char *err, size_t errlen) {
    footer(r);
    cairo_show_page(r->cr);
    r->pages++;
    if (cairo_status(r->cr) != CAIRO_STATUS_SUCCESS) {
        r->failed = 1;
        return mlmp__err(err, errlen, "plots: report %s: cairo: %s", r->path, cairo_status_to_string(cairo_status(r->cr)));
    }
    return 0;
}

int mlmp_report_title_page(mlmp_report *r, const char *title, const char *const *lines, size_t n, char *err, size_t errlen) {
    if (check(r, err, errlen)) return -1;
    double wrap = PAGE_W - 2 * MARGIN, y = PAGE_H * 0.30, h;
    mlmp__font ft = {28, 1, 0, 0}, fs = {14, 0, 0, 0};
    mlmp__text_size(&r->t, title ? title : "", ft, 1, wrap, NULL, &h);
    mlmp__text_draw(&r->t, title ? title : "", ft, 1, wrap, PAGE_W / 2, y, 0.5, 0, 0, INK);
    y += h + 14;
    cairo_set_source_rgb(r->cr, 0.0, 0.45, 0.7);
    cairo_set_line_width(r->cr, 2);
    cairo_move_to(r->cr, PAGE_W / 2 - 120, y); cairo_line_to(r->cr, PAGE_W / 2 + 120, y);
    cairo_stroke(r->cr);
    y += 22;
    for (size_t i = 0; i < n && lines; i++) {
        if (!lines[i]) continue;
        mlmp__text_size(&r->t, lines[i], fs, 1, wrap, NULL, &h);
        mlmp__text_draw(&r->t, lines[i], fs, 1, wrap, PAGE_W / 2, y, 0.5, 0, 0, GREY);
        y += h + 8;
    }
    return end_page(r, err, errlen);
}

int mlmp_report_text_page(mlmp_report *r, const char *heading, const char *const *paras, size_t n, char *err, size_t errlen) {
    if (check(r, err, errlen)) return -1;
    double wrap = PAGE_W - 2 * MARGIN, bottom = PAGE_H - MARGIN - 10, h;
    mlmp__font fh = {20, 1, 0, 0}, fp = {11.5, 0, 0, 0};
    int cont = 0;
    double y = 0;
#define HEAD() do { \
        char hb[512]; snprintf(hb, sizeof hb, "%s%s", heading ? heading : "", cont ? " (continued)" : ""); \
        mlmp__text_size(&r->t, hb, fh, 1, wrap, NULL, &h); \
        mlmp__text_draw(&r->t, hb, fh, 1, wrap, MARGIN, MARGIN, 0, 0, 0, INK); \
        y = MARGIN + h + 16; } while (0)
    HEAD();
    for (size_t i = 0; i < n && paras; i++) {
        if (!paras[i]) continue;
        mlmp__text_size(&r->t, paras[i], fp, 1, wrap, NULL, &h);
        if (y + h > bottom && y > MARGIN + 60) {
            if (end_page(r, err, errlen)) return -1;
            cont = 1;
            HEAD();
        }
        mlmp__text_draw(&r->t, paras[i], fp, 1, wrap, MARGIN, y, 0, 0, 0, INK);
        y += h + 10;
    }
#undef HEAD
    return end_page(r, err, errlen);
}

/* The box a figure or diagram page draws in: (36, top), bw x bh, above a wrapped caption. */
typedef struct { double top, bw, bh, wrap; mlmp__font fc; } page_box;

static page_box caption_box(mlmp_report *r, const char *caption) {
    page_box b = {30, PAGE_W - 2 * 36, 0, PAGE_W - 2 * MARGIN, {10.5, 0, 1, 0}};
    double ch = 0;
    if (caption) mlmp__text_size(&r->t, caption, b.fc, 1, b.wrap, NULL, &ch);
    b.bh = PAGE_H - b.top - 36 - (ch > 0 ? ch + 12 : 0);
    return b;
}

/* Ends a page whose drawing returned rc: on failure the half-drawn page is still finished so
 * the PDF stays valid, but the report is marked failed. */
static int finish_page(mlmp_report *r, int rc, const page_box *b, const char *caption, char *err, size_t errlen) {
    if (rc) {
        r->failed = 1;
        cairo_show_page(r->cr);
        return -1;
    }
    if (caption) mlmp__text_draw(&r->t, caption, b->fc, 1, b->wrap, MARGIN, b->top + b->bh + 8, 0, 0, 0, INK);
    return end_page(r, err, errlen);
}

int mlmp_report_figure_page(mlmp_report *r, const mlmp_figure *fig, const char *caption, char *err, size_t errlen) {
    if (check(r, err, errlen)) return -1;
    if (!fig) return mlmp__err(err, errlen, "plots: report %s: no figure", r->path);
    page_box b = caption_box(r, caption);
    /* scale the figure's own size down to the box, but not below 70% so its fonts stay
     * readable: below that the figure is laid out afresh for a larger virtual page */
    double nw = 0, nh = 0;
    mlmp_figure_size_pt(fig, &nw, &nh);
    double s = fmax(fmin(b.bw / nw, b.bh / nh), 0.7);
    if (s > 1) s = 1;
    cairo_save(r->cr);
    cairo_translate(r->cr, 36, b.top);
    cairo_scale(r->cr, s, s);
    int rc = mlmp_render_cairo(fig, r->cr, b.bw / s, b.bh / s, err, errlen);
    cairo_restore(r->cr);
    return finish_page(r, rc, &b, caption, err, errlen);
}

int mlmp_report_diagram_page(mlmp_report *r, const mlmp_diagram *d, const char *caption, char *err, size_t errlen) {
    if (check(r, err, errlen)) return -1;
    if (!d) return mlmp__err(err, errlen, "plots: report %s: no diagram", r->path);
    page_box b = caption_box(r, caption);
    double nw = 0, nh = 0;
    if (mlmp_diagram_size(d, &nw, &nh, err, errlen)) { r->failed = 1; return -1; }
    double s = fmin(fmin(b.bw / nw, b.bh / nh), 1.0), w = nw * s, h = nh * s;
    cairo_save(r->cr);
    cairo_translate(r->cr, 36 + (b.bw - w) / 2, b.top + (b.bh - h) / 2);
    int rc = mlmp_diagram_render_cairo(d, r->cr, w, h, err, errlen);
    cairo_restore(r->cr);
    return finish_page(r, rc, &b, caption, err, errlen);
}

int mlmp_report_pages(const mlmp_report *r) { return r ? r->pages : 0; }

static void destroy(mlmp_report *r) {
    mlmp__text_free(&r->t);
    if (r->cr) cairo_destroy(r->cr);
    if (r->surf) { cairo_surface_finish(r->surf); cairo_surface_destroy(r->surf); }
}

void mlmp_report_abort(mlmp_report *r) {
    if (!r) return;
    destroy(r);
    remove(r->tmp);
    free(r->path); free(r->tmp); free(r);
}

int mlmp_report_close(mlmp_report *r, char *err, size_t errlen) {
    if (!r) return mlmp__err(err, errlen, "plots: report: NULL report");
    int rc = 0;
    if (r->failed) rc = mlmp__err(err, errlen, "plots: report %s: not written because a page failed", r->path);
    else if (r->pages == 0) rc = mlmp__err(err, errlen, "plots: report %s: no pages", r->path);
    mlmp__text_free(&r->t);
    cairo_destroy(r->cr); r->cr = NULL;
    cairo_surface_finish(r->surf);
    if (!rc && cairo_surface_status(r->surf) != CAIRO_STATUS_SUCCESS)
        rc = mlmp__err(err, errlen, "plots: report %s: %s", r->path, cairo_status_to_string(cairo_surface_status(r->surf)));
    cairo_surface_destroy(r->surf); r->surf = NULL;
    if (rc) remove(r->tmp);
    else rc = mlmp__commit_file(r->tmp, r->path, err, errlen);
    free(r->path); free(r->tmp); free(r);
    return rc;
}
