/* diagram.c - boxes, arrows and grouped regions laid out on a measured grid (see diagram.h). */
#include "diagram.h"
#include "plot_text.h"
#include "plot_util.h"
#include "png_write.h"

#include <cairo-pdf.h>
#include <cairo-svg.h>
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *id, *label; double col, row; int shape; mlmp_color fill; double x, y, w, h; } dnode;
typedef struct { int from, to; char *label; int route; } dedge;
typedef struct { char *label; int *members; size_t n; mlmp_color fill; } dgroup;

struct mlmp_diagram {
    char *title;
    dnode *nodes; size_t nn, cn;
    dedge *edges; size_t ne, ce;
    dgroup *groups; size_t ng, cg;
};

static const mlmp__font F_NODE = {10, 0, 0, 0}, F_EDGE = {8, 0, 1, 0}, F_GROUP = {9, 1, 0, 0},
                        F_TITLE = {14, 1, 0, 0};

mlmp_diagram *mlmp_diagram_new(const char *title) {
    mlmp_diagram *d = calloc(1, sizeof *d);
    if (d && title && !(d->title = mlmp__strdup(title))) { free(d); return NULL; }
    return d;
}

void mlmp_diagram_free(mlmp_diagram *d) {
    if (!d) return;
    for (size_t i = 0; i < d->nn; i++) { free(d->nodes[i].id); free(d->nodes[i].label); }
    for (size_t i = 0; i < d->ne; i++) free(d->edges[i].label);
    for (size_t i = 0; i < d->ng; i++) { free(d->groups[i].label); free(d->groups[i].members); }
    free(d->nodes); free(d->edges); free(d->groups); free(d->title); free(d);
}

static int find(const mlmp_diagram *d, const char *id) {
    for (size_t i = 0; i < d->nn; i++) if (!strcmp(d->nodes[i].id, id)) return (int)i;
    return -1;
}

static int grow(void **arr, size_t *cap, size_t n, size_t sz) {
    if (n < *cap) return 0;
    size_t nc = *cap ? *cap * 2 : 8;
    void *p = realloc(*arr, nc * sz);
    if (!p) return -1;
    *arr = p; *cap = nc;
    return 0;
}

int mlmp_diagram_node(mlmp_diagram *d, const char *id, const char *label, double col, double row,
                      mlmp_node_shape shape, mlmp_color fill, char *err, size_t errlen) {
    if (!d || !id || !*id) return mlmp__err(err, errlen, "plots: diagram: node without an id");
    if (find(d, id) >= 0) return mlmp__err(err, errlen, "plots: diagram: node '%s' defined twice", id);
    if (!isfinite(col) || !isfinite(row) || col < 0 || row < 0 || col > 100 || row > 100)
        return mlmp__err(err, errlen, "plots: diagram: node '%s' at bad grid position (%g, %g)", id, col, row);
    if (grow((void **)&d->nodes, &d->cn, d->nn, sizeof *d->nodes)) return mlmp__err(err, errlen, "plots: diagram: out of memory");
    dnode *n = &d->nodes[d->nn];
    memset(n, 0, sizeof *n);
    n->id = mlmp__strdup(id);
    n->label = mlmp__strdup(label ? label : id);
    if (!n->id || !n->label) { free(n->id); free(n->label); return mlmp__err(err, errlen, "plots: diagram: out of memory"); }
    n->col = col; n->row = row; n->shape = shape;
    n->fill = fill.a > 0 ? fill : shape == MLMP_NODE_CIRCLE ? mlmp_rgb(0xffffff) : mlmp_rgb(0xeef4fb);
    d->nn++;
    return 0;
}

int mlmp_diagram_edge(mlmp_diagram *d, const char *from, const char *to, const char *label,
                      mlmp_edge_route route, char *err, size_t errlen) {
    if (!d || !from || !to) return mlmp__err(err, errlen, "plots: diagram: edge without ends");
    int a = find(d, from), b = find(d, to);
    if (a < 0 || b < 0) return mlmp__err(err, errlen, "plots: diagram: edge %s -> %s: unknown node '%s'", from, to, a < 0 ? from : to);
    if (grow((void **)&d->edges, &d->ce, d->ne, sizeof *d->edges)) return mlmp__err(err, errlen, "plots: diagram: out of memory");
    dedge *e = &d->edges[d->ne];
    e->from = a; e->to = b; e->route = route; e->label = NULL;
    if (label && !(e->label = mlmp__strdup(label))) return mlmp__err(err, errlen, "plots: diagram: out of memory");
    d->ne++;
    return 0;
}

int mlmp_diagram_group(mlmp_diagram *d, const char *label, const char *const *ids, size_t n,
                       mlmp_color fill, char *err, size_t errlen) {
    if (!d || !ids || !n) return mlmp__err(err, errlen, "plots: diagram: empty group");
    if (grow((void **)&d->groups, &d->cg, d->ng, sizeof *d->groups)) return mlmp__err(err, errlen, "plots: diagram: out of memory");
    dgroup *g = &d->groups[d->ng];
    memset(g, 0, sizeof *g);
    g->members = malloc(n * sizeof *g->members);
    if (!g->members) return mlmp__err(err, errlen, "plots: diagram: out of memory");
    for (size_t i = 0; i < n; i++) {
        int k = ids[i] ? find(d, ids[i]) : -1;
        if (k < 0) { free(g->members); return mlmp__err(err, errlen, "plots: diagram: group '%s': unknown node '%s'", label ? label : "", ids[i] ? ids[i] : "(null)"); }
        g->members[i] = k;
    }
    g->n = n;
    g->fill = fill.a > 0 ? fill : mlmp_rgba(0xfff3d6, 0.7);
    if (label && !(g->label = mlmp__strdup(label))) { free(g->members); return mlmp__err(err, errlen, "plots: diagram: out of memory"); }
    d->ng++;
    return 0;
}

/* ---- parser ----------------------------------------------------------------------------- */
/* next token of a line: "quoted string" or a run of non-blanks; returns 0 at end of line */
static int token(const char **p, char *out, size_t len) {
    const char *s = *p;
    while (*s == ' ' || *s == '\t') s++;
    if (!*s || *s == '\n') { *p = s; return 0; }
    size_t n = 0;
    if (*s == '"') {
        s++;
        while (*s && *s != '"' && *s != '\n') {
            if (*s == '\\' && s[1] == 'n') { if (n + 1 < len) out[n++] = '\n'; s += 2; continue; }
            if (n + 1 < len) out[n++] = *s;
            s++;
        }
        if (*s == '"') s++;
    } else {
        while (*s && *s != ' ' && *s != '\t' && *s != '\n') { if (n + 1 < len) out[n++] = *s; s++; }
    }
    out[n] = 0;
    *p = s;
    return 1;
}

static int parse_color(const char *s, mlmp_color *c) {
    if (s[0] != '#' || strlen(s) != 7) return -1;
    char *end;
    unsigned long v = strtoul(s + 1, &end, 16);
    if (*end) return -1;
    *c = mlmp_rgb((unsigned)v);
    return 0;
}

int mlmp_diagram_parse(mlmp_diagram *d, const char *text, char *err, size_t errlen) {
    if (!d || !text) return mlmp__err(err, errlen, "plots: diagram: nothing to parse");
    int lineno = 0;
    char sub[400];
    for (const char *p = text; *p;) {
        lineno++;
        const char *eol = strchr(p, '\n');
        char tok[8][256];
        int nt = 0;
        const char *q = p;
        while (nt < 8 && token(&q, tok[nt], sizeof tok[nt])) nt++;
        if (nt && tok[0][0] != '#') {
            int rc = 0;
            if (!strcmp(tok[0], "title") && nt >= 2) {
                free(d->title);
                if (!(d->title = mlmp__strdup(tok[1]))) rc = mlmp__err(sub, sizeof sub, "out of memory");
            } else if (!strcmp(tok[0], "node") && nt >= 5) {
                char *e1, *e2;
                double col = strtod(tok[3], &e1), row = strtod(tok[4], &e2);
                int shape = MLMP_NODE_BOX;
                mlmp_color fill = {0, 0, 0, 0};
                if (*e1 || *e2) rc = mlmp__err(sub, sizeof sub, "node '%s': column and row must be numbers", tok[1]);
                for (int k = 5; !rc && k < nt; k++) {
                    if (!strcmp(tok[k], "box")) shape = MLMP_NODE_BOX;
                    else if (!strcmp(tok[k], "round")) shape = MLMP_NODE_ROUND;
                    else if (!strcmp(tok[k], "circle")) shape = MLMP_NODE_CIRCLE;
                    else if (!strcmp(tok[k], "label")) shape = MLMP_NODE_LABEL;
                    else if (parse_color(tok[k], &fill)) rc = mlmp__err(sub, sizeof sub, "node '%s': unknown option '%s'", tok[1], tok[k]);
                }
                if (!rc) rc = mlmp_diagram_node(d, tok[1], tok[2], col, row, shape, fill, sub, sizeof sub);
            } else if (!strcmp(tok[0], "edge") && nt >= 3) {
                const char *label = NULL;
                int route = MLMP_EDGE_DIRECT;
                for (int k = 3; k < nt; k++) { if (!strcmp(tok[k], "side")) route = MLMP_EDGE_SIDE; else label = tok[k]; }
                rc = mlmp_diagram_edge(d, tok[1], tok[2], label, route, sub, sizeof sub);
            } else if (!strcmp(tok[0], "group") && nt >= 3) {
                const char *ids[6];
                mlmp_color fill = {0, 0, 0, 0};
                size_t n = 0;
                for (int k = 2; k < nt; k++) { if (tok[k][0] == '#') parse_color(tok[k], &fill); else ids[n++] = tok[k]; }
                rc = mlmp_diagram_group(d, tok[1], ids, n, fill, sub, sizeof sub);
            } else rc = mlmp__err(sub, sizeof sub, "cannot read '%s' (want title, node, edge or group)", tok[0]);
            if (rc) return mlmp__err(err, errlen, "plots: diagram description line %d: %s", lineno, sub);
        }
        if (!eol) break;
        p = eol + 1;
    }
    return 0;
}

/* ---- layout --------------------------------------------------------------------------------- */
typedef struct { double w, h, title_h, *colx, *rowy; size_t ncol, nrow; } dlayout;

#define CGAP 46.0
#define RGAP 30.0
#define PAD 22.0

static int layout(const mlmp_diagram *d, mlmp__text *t, dlayout *L, char *err, size_t errlen) {
    memset(L, 0, sizeof *L);
    double maxc = 0, maxr = 0;
    for (size_t i = 0; i < d->nn; i++) { maxc = fmax(maxc, d->nodes[i].col); maxr = fmax(maxr, d->nodes[i].row); }
    L->ncol = (size_t)ceil(maxc) + 1; L->nrow = (size_t)ceil(maxr) + 1;
    double *cw = calloc(L->ncol + 1, sizeof *cw), *rh = calloc(L->nrow + 1, sizeof *rh);
    L->colx = calloc(L->ncol + 1, sizeof *L->colx); L->rowy = calloc(L->nrow + 1, sizeof *L->rowy);
    if (!cw || !rh || !L->colx || !L->rowy) {
        free(cw); free(rh); free(L->colx); free(L->rowy);
        return mlmp__err(err, errlen, "plots: diagram: out of memory");
    }
    for (size_t i = 0; i < d->nn; i++) {
        dnode *n = &d->nodes[i];
        double w, h;
        mlmp__text_size(t, n->label, F_NODE, 1, 0, &w, &h);
        if (n->shape == MLMP_NODE_CIRCLE) { double s = fmax(w, h) + 10; n->w = n->h = fmax(s, 22); }
        else if (n->shape == MLMP_NODE_LABEL) { n->w = w + 4; n->h = h + 2; }
        else { n->w = fmax(w + 24, 70); n->h = h + 14; }
        size_t c = (size_t)floor(n->col), r = (size_t)floor(n->row);
        cw[c] = fmax(cw[c], n->w); rh[r] = fmax(rh[r], n->h);
    }
    mlmp__text_size(t, d->title ? d->title : "", F_TITLE, 1, 0, NULL, &L->title_h);
    double x = PAD + 40;  /* room for group labels / side routes on the left */
    for (size_t c = 0; c < L->ncol; c++) { L->colx[c] = x + cw[c] / 2; x += cw[c] + CGAP + 40; }
    L->colx[L->ncol] = x;
    double y = PAD + (d->title ? L->title_h + 14 : 0) + 16;
    for (size_t r = 0; r < L->nrow; r++) { L->rowy[r] = y + rh[r] / 2; y += rh[r] + RGAP; }
    L->rowy[L->nrow] = y;
    L->w = x - CGAP - 40 + PAD + 110; L->h = y - RGAP + PAD + 10;
    /* fractional positions interpolate between neighbouring columns / rows */
    for (size_t i = 0; i < d->nn; i++) {
        dnode *n = &d->nodes[i];
        size_t c = (size_t)floor(n->col), r = (size_t)floor(n->row);
        double fc = n->col - (double)c, fr = n->row - (double)r;
        double nx = c + 1 < L->ncol ? L->colx[c + 1] : L->colx[c] + cw[c] + CGAP;
        double ny = r + 1 < L->nrow ? L->rowy[r + 1] : L->rowy[r] + rh[r] + RGAP;
        n->x = L->colx[c] + fc * (nx - L->colx[c]);
        n->y = L->rowy[r] + fr * (ny - L->rowy[r]);
    }
    free(cw); free(rh);
    return 0;
}

/* ---- drawing -------------------------------------------------------------------------------- */
static void arrow_head(cairo_t *cr, double x0, double y0, double x1, double y1) {
    double a = atan2(y1 - y0, x1 - x0), s = 7;
    cairo_move_to(cr, x1, y1);
    cairo_line_to(cr, x1 - s * cos(a - 0.4), y1 - s * sin(a - 0.4));
    cairo_line_to(cr, x1 - s * cos(a + 0.4), y1 - s * sin(a + 0.4));
    cairo_close_path(cr);
    cairo_fill(cr);
}

/* point where the ray from the node centre towards (tx, ty) leaves the node */
static void exit_point(const dnode *n, double tx, double ty, double *x, double *y) {
    double dx = tx - n->x, dy = ty - n->y;
    if (n->shape == MLMP_NODE_CIRCLE) {
        double l = hypot(dx, dy);
        *x = n->x + (l > 0 ? dx / l * n->w / 2 : 0); *y = n->y + (l > 0 ? dy / l * n->h / 2 : 0);
        return;
    }
    double sx = dx != 0 ? (n->w / 2) / fabs(dx) : INFINITY, sy = dy != 0 ? (n->h / 2) / fabs(dy) : INFINITY;
    double s = fmin(sx, sy);
    if (!isfinite(s)) s = 0;
    *x = n->x + dx * s; *y = n->y + dy * s;
}

static void draw(const mlmp_diagram *d, mlmp__text *t, const dlayout *L) {
    cairo_t *cr = t->cr;
    mlmp_color ink = {0.15, 0.15, 0.15, 1};
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    if (d->title) mlmp__text_draw(t, d->title, F_TITLE, 1, 0, L->w / 2, PAD, 0.5, 0, 0, ink);
    /* groups */
    for (size_t g = 0; g < d->ng; g++) {
        const dgroup *G = &d->groups[g];
        double x0 = INFINITY, y0 = INFINITY, x1 = -INFINITY, y1 = -INFINITY;
        for (size_t k = 0; k < G->n; k++) {
            const dnode *n = &d->nodes[G->members[k]];
            x0 = fmin(x0, n->x - n->w / 2); x1 = fmax(x1, n->x + n->w / 2);
            y0 = fmin(y0, n->y - n->h / 2); y1 = fmax(y1, n->y + n->h / 2);
        }
        double lh = 0, lw = 0, cmin = INFINITY;
        for (size_t k = 0; k < G->n; k++) cmin = fmin(cmin, d->nodes[G->members[k]].x);
        if (G->label) mlmp__text_size(t, G->label, F_GROUP, 1, 0, &lw, &lh);
        x0 -= 14; x1 += 34; y0 -= 10 + lh; y1 += 10;
        /* keep the label clear of arrows running down the nodes' centre line */
        if (x0 + 8 + lw > cmin - 8) x0 = cmin - 16 - lw;
        cairo_new_path(cr);
        double r = 8;
        cairo_arc(cr, x1 - r, y0 + r, r, -M_PI / 2, 0); cairo_arc(cr, x1 - r, y1 - r, r, 0, M_PI / 2);
        cairo_arc(cr, x0 + r, y1 - r, r, M_PI / 2, M_PI); cairo_arc(cr, x0 + r, y0 + r, r, M_PI, 1.5 * M_PI);
        cairo_close_path(cr);
        cairo_set_source_rgba(cr, G->fill.r, G->fill.g, G->fill.b, G->fill.a);
        cairo_fill_preserve(cr);
        double dash[2] = {4, 3};
        cairo_set_dash(cr, dash, 2, 0);
        cairo_set_line_width(cr, 1);
        cairo_set_source_rgb(cr, 0.55, 0.45, 0.25);
        cairo_stroke(cr);
        cairo_set_dash(cr, NULL, 0, 0);
        if (G->label) mlmp__text_draw(t, G->label, F_GROUP, 1, 0, x0 + 8, y0 + 4, 0, 0, 0, (mlmp_color){0.45, 0.33, 0.1, 1});
    }
    /* edges under nodes */
    cairo_set_line_width(cr, 1.3);
    for (size_t i = 0; i < d->ne; i++) {
        const dedge *e = &d->edges[i];
        const dnode *a = &d->nodes[e->from], *b = &d->nodes[e->to];
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        double lx, ly;
        if (e->route == MLMP_EDGE_SIDE) {
            /* run right of every node (and its group's border) between the two ends */
            double xs = fmax(a->x + a->w / 2, b->x + b->w / 2), ylo = fmin(a->y, b->y), yhi = fmax(a->y, b->y);
            int grouped = 0;
            for (size_t k = 0; k < d->nn; k++) {
                const dnode *n = &d->nodes[k];
                if (n->y + n->h / 2 < ylo || n->y - n->h / 2 > yhi) continue;
                xs = fmax(xs, n->x + n->w / 2);
                for (size_t g = 0; g < d->ng; g++)
                    for (size_t m = 0; m < d->groups[g].n; m++) if (d->groups[g].members[m] == (int)k) grouped = 1;
            }
            xs += grouped ? 48 : 22;
            double ax = a->x + a->w / 2, bx = b->x + b->w / 2;
            cairo_new_path(cr);
            cairo_move_to(cr, ax, a->y); cairo_line_to(cr, xs, a->y); cairo_line_to(cr, xs, b->y); cairo_line_to(cr, bx + 1, b->y);
            cairo_stroke(cr);
            arrow_head(cr, xs, b->y, bx, b->y);
            lx = xs + 4; ly = (a->y + b->y) / 2;
            if (e->label) mlmp__text_draw(t, e->label, F_EDGE, 1, 0, lx, ly, 0, 0.5, 0, (mlmp_color){0.35, 0.35, 0.35, 1});
            continue;
        }
        double x0, y0, x1, y1;
        int aligned = fabs(a->x - b->x) < 1 || fabs(a->y - b->y) < 1;
        if (aligned) {
            exit_point(a, b->x, b->y, &x0, &y0);
            exit_point(b, a->x, a->y, &x1, &y1);
            cairo_new_path(cr); cairo_move_to(cr, x0, y0); cairo_line_to(cr, x1, y1); cairo_stroke(cr);
            arrow_head(cr, x0, y0, x1, y1);
            lx = (x0 + x1) / 2 + 5; ly = (y0 + y1) / 2;
        } else {
            /* elbow: leave vertically, arrive horizontally */
            exit_point(a, a->x, b->y, &x0, &y0);
            exit_point(b, a->x, b->y, &x1, &y1);
            cairo_new_path(cr); cairo_move_to(cr, x0, y0); cairo_line_to(cr, a->x, b->y); cairo_line_to(cr, x1, y1); cairo_stroke(cr);
            arrow_head(cr, a->x, b->y, x1, y1);
            lx = a->x + 5; ly = (y0 + b->y) / 2;
        }
        if (e->label) mlmp__text_draw(t, e->label, F_EDGE, 1, 0, lx, ly, 0, 0.5, 0, (mlmp_color){0.35, 0.35, 0.35, 1});
    }
    for (size_t i = 0; i < d->nn; i++) {
        const dnode *n = &d->nodes[i];
        double x0 = n->x - n->w / 2, y0 = n->y - n->h / 2;
        cairo_new_path(cr);
        if (n->shape == MLMP_NODE_CIRCLE) cairo_arc(cr, n->x, n->y, n->w / 2, 0, 2 * M_PI);
        else if (n->shape == MLMP_NODE_ROUND) {
            double r = fmin(9, n->h / 2);
            cairo_arc(cr, x0 + n->w - r, y0 + r, r, -M_PI / 2, 0); cairo_arc(cr, x0 + n->w - r, y0 + n->h - r, r, 0, M_PI / 2);
            cairo_arc(cr, x0 + r, y0 + n->h - r, r, M_PI / 2, M_PI); cairo_arc(cr, x0 + r, y0 + r, r, M_PI, 1.5 * M_PI);
            cairo_close_path(cr);
        } else if (n->shape == MLMP_NODE_BOX) cairo_rectangle(cr, x0, y0, n->w, n->h);
        if (n->shape != MLMP_NODE_LABEL) {
            cairo_set_source_rgba(cr, n->fill.r, n->fill.g, n->fill.b, n->fill.a);
            cairo_fill_preserve(cr);
            cairo_set_line_width(cr, 1.2);
            cairo_set_source_rgb(cr, 0.25, 0.25, 0.3);
            cairo_stroke(cr);
        }
        mlmp__text_draw(t, n->label, F_NODE, 1, 0, n->x, n->y, 0.5, 0.5, 0, ink);
    }
}

int mlmp_diagram_size(const mlmp_diagram *d, double *w_pt, double *h_pt, char *err, size_t errlen) {
    if (!d || !d->nn) return mlmp__err(err, errlen, "plots: diagram: no nodes");
    mlmp__text t;
    if (mlmp__text_init_measure(&t)) return mlmp__err(err, errlen, "plots: diagram: no text context");
    dlayout L;
    int rc = layout(d, &t, &L, err, errlen);
    mlmp__text_free(&t);
    if (rc) return -1;
    if (w_pt) *w_pt = L.w;
    if (h_pt) *h_pt = L.h;
    free(L.colx); free(L.rowy);
    return 0;
}

int mlmp_diagram_render_cairo(const mlmp_diagram *d, cairo_t *cr, double w_pt, double h_pt, char *err, size_t errlen) {
    if (!d || !d->nn || !cr) return mlmp__err(err, errlen, "plots: diagram: nothing to draw");
    mlmp__text m;
    if (mlmp__text_init_measure(&m)) return mlmp__err(err, errlen, "plots: diagram: no text context");
    dlayout L;
    int rc = layout(d, &m, &L, err, errlen);
    mlmp__text_free(&m);
    if (rc) return -1;
    cairo_save(cr);
    double s = fmin(w_pt / L.w, h_pt / L.h);
    cairo_translate(cr, (w_pt - L.w * s) / 2, (h_pt - L.h * s) / 2);
    cairo_scale(cr, s, s);
    mlmp__text t;
    if (mlmp__text_init_cr(&t, cr)) { cairo_restore(cr); free(L.colx); free(L.rowy); return mlmp__err(err, errlen, "plots: diagram: no text context"); }
    draw(d, &t, &L);
    mlmp__text_free(&t);
    cairo_restore(cr);
    free(L.colx); free(L.rowy);
    if (cairo_status(cr) != CAIRO_STATUS_SUCCESS) return mlmp__err(err, errlen, "plots: diagram: cairo: %s", cairo_status_to_string(cairo_status(cr)));
    return 0;
}

int mlmp_diagram_render(const mlmp_diagram *d, const char *path, double dpi, char *err, size_t errlen) {
    if (!path) return mlmp__err(err, errlen, "plots: diagram: no path");
    double w, h;
    if (mlmp_diagram_size(d, &w, &h, err, errlen)) return -1;
    if (!(dpi >= 10 && dpi <= 1200)) dpi = 150;
    const char *ext = mlmp__ext(path);
    char tmp[4096];
    if (mlmp__tmp_path(tmp, sizeof tmp, path)) return mlmp__err(err, errlen, "plots: %s: path too long", path);
    cairo_surface_t *s;
    int png = !strcmp(ext, "png");
    if (png) s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, (int)ceil(w * dpi / 72), (int)ceil(h * dpi / 72));
    else if (!strcmp(ext, "svg")) s = cairo_svg_surface_create(tmp, w, h);
    else if (!strcmp(ext, "pdf")) s = cairo_pdf_surface_create(tmp, w, h);
    else return mlmp__err(err, errlen, "plots: %s: unknown extension '%s' (want .png, .svg or .pdf)", path, ext);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        int st = cairo_surface_status(s);
        cairo_surface_destroy(s);
        remove(tmp);
        return mlmp__err(err, errlen, "plots: %s: cannot create: %s", path, cairo_status_to_string(st));
    }
    cairo_t *cr = cairo_create(s);
    if (png) cairo_scale(cr, dpi / 72, dpi / 72);
    int rc = mlmp_diagram_render_cairo(d, cr, w, h, err, errlen);
    cairo_destroy(cr);
    if (!rc && png) {
        rc = mlmp__png_write(s, tmp, err, errlen);
    }
    cairo_surface_finish(s);
    if (!rc && cairo_surface_status(s)) rc = mlmp__err(err, errlen, "plots: %s: %s", path, cairo_status_to_string(cairo_surface_status(s)));
    cairo_surface_destroy(s);
    if (rc) { remove(tmp); return -1; }
    return mlmp__commit_file(tmp, path, err, errlen);
}
