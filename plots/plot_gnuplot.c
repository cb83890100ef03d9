/* plot_gnuplot.c - write a figure as a gnuplot script + .dat files and run gnuplot on it.
 * Axis limits, ticks and legend corners come from the Cairo layout (plot_layout.c), so both
 * renderers agree; where gnuplot cannot express a detail the script says so in a comment. */
#include "plot_gnuplot.h"
#include "plot_layout.h"
#include "plot_util.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- strings ----------------------------------------------------------------------------- */
/* pango markup -> gnuplot enhanced text (enhanced = 0: plain text, nothing parsed), escaped for a
 * double-quoted gnuplot string */
static void gp_text(mlmp__buf *b, const char *s, int enhanced) {
    if (!s) return;
    for (const char *p = s; *p;) {
        if (*p == '<' && enhanced) {
            const char *e = strchr(p, '>');
            if (e) {
                size_t n = (size_t)(e - p + 1);
                if (enhanced) {
                    if (!strncmp(p, "<sup>", n)) mlmp__bprintf(b, "^{");
                    else if (!strncmp(p, "<sub>", n)) mlmp__bprintf(b, "_{");
                    else if (!strncmp(p, "<b>", n)) mlmp__bprintf(b, "{/:Bold ");
                    else if (!strncmp(p, "<i>", n)) mlmp__bprintf(b, "{/:Italic ");
                    else if (!strncmp(p, "</sup>", n) || !strncmp(p, "</sub>", n) || !strncmp(p, "</b>", n) ||
                             !strncmp(p, "</i>", n)) mlmp__bprintf(b, "}");
                }
                p = e + 1;
                continue;
            }
        }
        if (*p == '&' && enhanced) {
            static const struct { const char *ent, *ch; } ents[] = {{"&lt;", "<"}, {"&gt;", ">"}, {"&amp;", "&"}, {"&quot;", "\""}, {"&apos;", "'"}};
            int done = 0;
            for (size_t k = 0; k < sizeof ents / sizeof ents[0]; k++)
                if (!strncmp(p, ents[k].ent, strlen(ents[k].ent))) {
                    char c = ents[k].ch[0];
                    if (c == '"') mlmp__bprintf(b, "\\\"");
                    else if (enhanced && c == '&') mlmp__bprintf(b, "\\\\&");
                    else mlmp__bprintf(b, "%c", c);
                    p += strlen(ents[k].ent); done = 1; break;
                }
            if (done) continue;
        }
        char c = *p++;
        if (c == '"') mlmp__bprintf(b, "\\\"");
        else if (c == '\\') mlmp__bprintf(b, "\\\\\\\\");
        else if (c == '\n') mlmp__bprintf(b, "\\n");
        else if (enhanced && strchr("^_@&~{}", c)) mlmp__bprintf(b, "\\\\%c", c);
        else mlmp__bprintf(b, "%c", c);
    }
}

static void q(mlmp__buf *b, const char *s) { mlmp__bprintf(b, "\""); gp_text(b, s, 1); mlmp__bprintf(b, "\""); }

static const char *hex(mlmp_color c, char *buf) { return mlmp_color_hex(c, buf); }

static unsigned rgb_int(mlmp_color c) {
    return (unsigned)lround(c.r * 255) << 16 | (unsigned)lround(c.g * 255) << 8 | (unsigned)lround(c.b * 255);
}

/* ---- data files ---------------------------------------------------------------------------- */
typedef struct {
    char dir[2048], base[512];     /* output directory and base name (no extension) */
} gp_files;

static int dat_open(gp_files *F, int r, int c, int k, char *name, size_t nlen, mlmp__buf *d) {
    snprintf(name, nlen, "%s_r%dc%d_s%d.dat", F->base, r, c, k);
    memset(d, 0, sizeof *d);
    return 0;
}

static int dat_commit(gp_files *F, const char *name, mlmp__buf *d, char *err, size_t errlen) {
    char path[4096], tmp[4200];
    snprintf(path, sizeof path, "%s/%s", F->dir, name);
    if (d->failed) { free(d->s); return mlmp__err(err, errlen, "plots: %s: out of memory", path); }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *f = fopen(tmp, "w");
    if (!f) { free(d->s); return mlmp__err(err, errlen, "plots: %s: cannot write: %s", tmp, strerror(errno)); }
    size_t n = d->len;
    int bad = (n && fwrite(d->s, 1, n, f) != n);
    bad |= fclose(f) != 0;
    free(d->s);
    memset(d, 0, sizeof *d);
    if (bad) { remove(tmp); return mlmp__err(err, errlen, "plots: %s: write failed", path); }
    if (mlmp__commit_file(tmp, path, err, errlen)) return -1;
    return 0;
}

static void num(mlmp__buf *d, double v) {
    if (isfinite(v)) mlmp__bprintf(d, "%.10g", v); else mlmp__bprintf(d, "NaN");
}

static int has_heat(const mlmp_panel_t *p) {
    for (const mlmp_series *s = p->head; s; s = s->next) if (s->kind == MLMP_S_HEATMAP) return 1;
    return 0;
}

/* ---- panel scripts ---------------------------------------------------------------------------- */
static const int PT[] = {-1, 7, 5, 9, 11, 13, 2, 1};

static void palette(mlmp__buf *b, mlmp_cmap cm, double lo, double hi) {
    char h[8];
    mlmp__bprintf(b, "set palette defined (");
    for (int k = 0; k <= 16; k++) mlmp__bprintf(b, "%s%g '%s'", k ? ", " : "", k / 16.0, hex(mlmp_cmap_at(cm, k / 16.0), h));
    mlmp__bprintf(b, ")\nset cbrange [%.10g:%.10g]\n", lo, hi);
}

static void axis_setup(mlmp__buf *b, const mlmp__axis_rt *a, const char *ax) {
    double lo = mlmp_scale_inv(a->scale, a->lt, a->tlo), hi = mlmp_scale_inv(a->scale, a->lt, a->thi);
    if (a->scale == MLMP_SCALE_LOG) mlmp__bprintf(b, "set logscale %s 10\n", ax);
    else if (a->scale == MLMP_SCALE_LOG2) mlmp__bprintf(b, "set logscale %s 2\n", ax);
    else if (a->scale == MLMP_SCALE_SYMLOG)
        mlmp__bprintf(b, "# symlog: linear within +-%g, logarithmic beyond\n"
                         "set nonlinear %s via sgn(%s)*log10(1+abs(%s)/%.10g) inverse sgn(%s)*%.10g*(10**abs(%s)-1)\n",
                      a->lt, ax, ax, ax, a->lt, ax, a->lt, ax);
    if (a->invert) mlmp__bprintf(b, "set %srange [%.10g:%.10g]\n", ax, hi, lo);
    else mlmp__bprintf(b, "set %srange [%.10g:%.10g]\n", ax, lo, hi);
    mlmp__bprintf(b, "set %stics (", ax);
    int first = 1;
    for (size_t i = 0; i < a->nt; i++) {
        mlmp__bprintf(b, "%s", first ? "" : ", ");
        first = 0;
        if (a->show[i]) q(b, a->tl[i]); else mlmp__bprintf(b, "\"\"");
        mlmp__bprintf(b, " %.10g", a->tv[i]);
    }
    mlmp__bprintf(b, ")%s\n", a->rotate && ax[0] == 'x' ? " rotate by 45 right" : "");
    if (a->grid) mlmp__bprintf(b, "set grid %stics lc rgb '#e0e0e0' lw 0.6 dt 1\n", ax);
}

static int panel_script(mlmp__buf *b, gp_files *F, const mlmp_figure *fig, const mlmp_layout *L,
                        const mlmp__playout *pl, int r, int c, char *err, size_t errlen) {
    const mlmp_panel_t *p = pl->p;
    char h[8], name[600];
    mlmp__buf d;
    mlmp__bprintf(b, "\n# ---- panel (%d, %d) ----------------------------------------------\n", r, c);
    mlmp__bprintf(b, "reset\nset style fill solid 1.0 noborder\nset border lw 0.9 lc rgb '#333333'\nset tics out nomirror scale 0.6\n");
    mlmp__bprintf(b, "set origin %.5f, %.5f\nset size %.5f, %.5f\n", pl->cell.x / L->w_pt, 1 - (pl->cell.y + pl->cell.h) / L->h_pt,
                  pl->cell.w / L->w_pt, pl->cell.h / L->h_pt);
    if (p->title1 || p->title2) {
        mlmp__bprintf(b, "set title \"");
        if (p->title1) { mlmp__bprintf(b, "{/:Bold "); gp_text(b, p->title1, 1); mlmp__bprintf(b, "}"); }
        if (p->title1 && p->title2) mlmp__bprintf(b, "\\n");
        if (p->title2) { mlmp__bprintf(b, "{/=9 {/:Italic "); gp_text(b, p->title2, 1); mlmp__bprintf(b, "}}"); }
        mlmp__bprintf(b, "\" font \",10.5\" tc rgb '#222222'\n");
    }
    if (pl->kind == MLMP_PL_TEXT) {
        mlmp__bprintf(b, "unset border\nunset tics\nunset key\nset xrange [0:1]\nset yrange [0:1]\n"
                         "set object 1 rect from graph 0.02,0.02 to graph 0.98,0.98 fc rgb '#fffbe6' fs solid 1.0 border lc rgb '#555555'\n"
                         "set label 1 \"");
        gp_text(b, p->text, 0);
        mlmp__bprintf(b, "\" at graph 0.05,0.95 left front font \"DejaVu Sans Mono,%.1f\" noenhanced\nplot NaN notitle\n", pl->tfs * 0.95);
        return 0;
    }
    if (pl->kind == MLMP_PL_PIE) {
        const mlmp_series *s = p->head;
        while (s && s->kind != MLMP_S_PIE) s = s->next;
        if (!s) return 0;
        double tot = 0;
        for (size_t i = 0; i < s->n; i++) tot += s->y[i];
        mlmp__bprintf(b, "# pie: wedges are circle objects; the Cairo renderer's label spreading is not reproduced\n"
                         "unset border\nunset tics\nunset key\nset size ratio -1\nset xrange [-1.6:1.6]\nset yrange [-1.35:1.35]\n");
        double a = 90;
        for (size_t i = 0; i < s->n; i++) {
            double da = s->y[i] / tot * 360, mid = (a + da / 2) * M_PI / 180;
            double e = s->explode ? s->explode[i] : 0;
            double cx = e * cos(mid), cy = e * sin(mid);
            mlmp_color col = mlmp__item_color(p, s, i);
            mlmp__bprintf(b, "set object %zu circle at %.5f,%.5f size 1 arc [%.4f:%.4f] fc rgb '%s' fs solid 1.0 border lc rgb 'white' lw 1.5\n",
                          i + 1, cx, cy, a, a + da, hex(col, h));
            const char *nm = s->names && s->names[i] ? s->names[i] : "";
            mlmp__bprintf(b, "set label %zu ", i + 1);
            mlmp__buf t = {0};
            mlmp__bprintf(&t, "%s (%.1f%%)", nm, 100 * s->y[i] / tot);
            q(b, t.s ? t.s : "");
            free(t.s);
            mlmp__bprintf(b, " at %.5f,%.5f %s font \",9\"\n", cx + 1.13 * cos(mid), cy + 1.13 * sin(mid), cos(mid) >= 0 ? "left" : "right");
            a += da;
        }
        mlmp__bprintf(b, "plot NaN notitle\n");
        return 0;
    }
    /* axes */
    if (p->x.label) { mlmp__bprintf(b, "set xlabel "); q(b, p->x.label); mlmp__bprintf(b, " font \",9.5\"\n"); }
    if (p->y.label) { mlmp__bprintf(b, "set ylabel "); q(b, p->y.label); mlmp__bprintf(b, " font \",9.5\"\n"); }
    axis_setup(b, &pl->ax, "x");
    axis_setup(b, &pl->ay, "y");
    static const char *corner[] = {"top right", "top left", "bottom right", "bottom left", "top center", "bottom center", "outside right top"};
    if (pl->has_legend)
        mlmp__bprintf(b, "set key %s opaque box lc rgb '#cccccc' font \",8\" samplen 2.5 spacing 1.1 reverse Left\n",
                      corner[pl->legend_corner < 0 || pl->legend_corner > 6 ? 0 : pl->legend_corner]);
    else mlmp__bprintf(b, "unset key\n");
    if (pl->cbar) {
        palette(b, pl->cbar->cmap, pl->clo, pl->chi);
        if (pl->cbar->cbar_label) { mlmp__bprintf(b, "set cblabel "); q(b, pl->cbar->cbar_label); mlmp__bprintf(b, "\n"); }
    } else mlmp__bprintf(b, "unset colorbox\n");
    if (has_heat(p)) mlmp__bprintf(b, "set size ratio -1\n");
    /* reference lines and annotations are objects, set before plot */
    int k = 0, arrows = 0, labels = 0;
    for (const mlmp_series *s = p->head; s; s = s->next, k++) {
        mlmp_color col = mlmp__series_color(p, s);
        if (s->kind == MLMP_S_HLINE)
            mlmp__bprintf(b, "set arrow %d from graph 0, first %.10g to graph 1, first %.10g nohead dt %d lw %.2f lc rgb '%s' front\n",
                          ++arrows, s->ay, s->ay, s->dash + 1, s->lw, hex(col, h));
        else if (s->kind == MLMP_S_VLINE)
            mlmp__bprintf(b, "set arrow %d from first %.10g, graph 0 to first %.10g, graph 1 nohead dt %d lw %.2f lc rgb '%s' front\n",
                          ++arrows, s->ax, s->ax, s->dash + 1, s->lw, hex(col, h));
        else if (s->kind == MLMP_S_TEXT) {
            mlmp__bprintf(b, "set label %d ", ++labels);
            q(b, s->text);
            mlmp__bprintf(b, " at first %.10g, first %.10g %s offset 0,%s tc rgb '%s' font \",%.1f\" front\n", s->ax, s->ay,
                          s->halign == MLMP_ALIGN_START ? "left" : s->halign == MLMP_ALIGN_END ? "right" : "center",
                          s->valign == MLMP_ALIGN_END ? "0.6" : s->valign == MLMP_ALIGN_START ? "-0.6" : "0", hex(col, h), s->fontsize);
        }
    }
    mlmp__bprintf(b, "set boxwidth 0.5\nset style boxplot outliers pointtype 6 range 1.5\n");
    /* plot elements */
    mlmp__buf pe = {0};
    int first = 1;
#define SEP() do { mlmp__bprintf(&pe, first ? "plot " : ", \\\n     "); first = 0; } while (0)
    k = 0;
    for (const mlmp_series *s = p->head; s; s = s->next, k++) {
        mlmp_color col = mlmp__series_color(p, s);
        switch (s->kind) {
        case MLMP_S_LINE: case MLMP_S_SCATTER: {
            dat_open(F, r, c, k, name, sizeof name, &d);
            mlmp__bprintf(&d, "# x y%s\n", s->has_c ? " colour-value" : "");
            for (size_t i = 0; i < s->n; i++) {
                if (!isfinite(s->x[i]) || !isfinite(s->y[i])) { mlmp__bprintf(&d, "\n"); continue; }
                num(&d, s->x[i]); mlmp__bprintf(&d, " "); num(&d, s->y[i]);
                if (s->has_c) { mlmp__bprintf(&d, " "); num(&d, s->c[i]); }
                mlmp__bprintf(&d, "\n");
            }
            if (dat_commit(F, name, &d, err, errlen)) { free(pe.s); return -1; }
            SEP();
            if (s->kind == MLMP_S_SCATTER)
                mlmp__bprintf(&pe, "'%s' using 1:2%s with points pt 7 ps %.2f lc %s%s%s", name, s->has_c ? ":3" : "", s->msize / 6.0,
                              s->has_c ? "palette" : "rgb '", s->has_c ? "" : hex(col, h), s->has_c ? "" : "'");
            else if (s->marker)
                mlmp__bprintf(&pe, "'%s' using 1:2 with linespoints lw %.2f dt %d pt %d ps %.2f lc rgb '%s'", name, s->lw, s->dash + 1,
                              PT[s->marker & 7], s->msize / 8.0, hex(col, h));
            else mlmp__bprintf(&pe, "'%s' using 1:2 with lines lw %.2f dt %d lc rgb '%s'", name, s->lw, s->dash + 1, hex(col, h));
            if (s->label) { mlmp__bprintf(&pe, " title "); q(&pe, s->label); } else mlmp__bprintf(&pe, " notitle");
            break;
        }
        case MLMP_S_BARS: {
            dat_open(F, r, c, k, name, sizeof name, &d);
            mlmp__bprintf(&d, "# x-centre y-centre x-half y-half rgb label\n");
            for (size_t i = 0; i < s->n; i++) {
                double cc, cw, v0, v1;
                mlmp__bar_geom(p, s, i, &cc, &cw, &v0, &v1);
                const mlmp__axis_rt *va = pl->horizontal ? &pl->ax : &pl->ay;
                if (!isfinite(mlmp_scale_fwd(va->scale, va->lt, v0))) v0 = mlmp_scale_inv(va->scale, va->lt, va->tlo);
                char lab[128];
                mlmp__bar_label(s, i, lab, sizeof lab);
                mlmp__buf t = {0};
                gp_text(&t, lab, 1);
                double vc = (v0 + v1) / 2, vh = fabs(v1 - v0) / 2;
                if (va->scale != MLMP_SCALE_LINEAR) { vc = v1; vh = 0; }  /* nonlinear: see comment in the script */
                if (pl->horizontal) mlmp__bprintf(&d, "%.10g %.10g %.10g %.10g %u \"%s\" %.10g %.10g\n", vc, cc, vh, cw / 2, rgb_int(mlmp__item_color(p, s, i)), t.s ? t.s : "", v1, v0);
                else mlmp__bprintf(&d, "%.10g %.10g %.10g %.10g %u \"%s\" %.10g %.10g\n", cc, vc, cw / 2, vh, rgb_int(mlmp__item_color(p, s, i)), t.s ? t.s : "", v1, v0);
                free(t.s);
            }
            if (dat_commit(F, name, &d, err, errlen)) { free(pe.s); return -1; }
            const mlmp__axis_rt *va = pl->horizontal ? &pl->ax : &pl->ay;
            SEP();
            if (va->scale == MLMP_SCALE_LINEAR)
                mlmp__bprintf(&pe, "'%s' using 1:2:3:4:5 with boxxyerror fs solid 1.0 border lc rgb 'white' lc rgb variable", name);
            else if (pl->horizontal)
                mlmp__bprintf(&pe, "'%s' using (($7+$8)/2):2:($8):($7):($2-$4):($2+$4):5 with boxxyerror fs solid 1.0 border lc rgb 'white' lc rgb variable", name);
            else
                mlmp__bprintf(&pe, "'%s' using 1:(($7+$8)/2):($1-$3):($1+$3):($8):($7):5 with boxxyerror fs solid 1.0 border lc rgb 'white' lc rgb variable", name);
            mlmp__bprintf(&pe, " notitle");
            if (s->label) { SEP(); mlmp__bprintf(&pe, "NaN with boxes fs solid 1.0 lc rgb '%s' title ", hex(s->colors ? s->colors[0] : col, h)); q(&pe, s->label); }
            if (s->value_fmt || s->value_labels) {
                SEP();
                if (s->labels_inside) mlmp__bprintf(&pe, "'%s' using 1:2:6 with labels tc rgb 'white' font \",7.5\" notitle", name);
                else if (pl->horizontal) mlmp__bprintf(&pe, "'%s' using 7:2:6 with labels left offset 0.5,0 font \",7.5\" notitle", name);
                else mlmp__bprintf(&pe, "'%s' using 1:7:6 with labels center offset 0,0.6 font \",7.5\" notitle", name);
            }
            break;
        }
        case MLMP_S_AREA: {
            dat_open(F, r, c, k, name, sizeof name, &d);
            mlmp__bprintf(&d, "# x, then lower and upper edge of every layer\n");
            for (size_t i = 0; i < s->n; i++) {
                double base = 0;
                num(&d, s->x[i]);
                for (size_t l = 0; l < s->nlayers; l++) {
                    double v = isfinite(s->layers[l][i]) ? s->layers[l][i] : 0;
                    mlmp__bprintf(&d, " %.10g %.10g", base, base + v);
                    base += v;
                }
                mlmp__bprintf(&d, "\n");
            }
            if (dat_commit(F, name, &d, err, errlen)) { free(pe.s); return -1; }
            for (size_t l = 0; l < s->nlayers; l++) {
                SEP();
                mlmp__bprintf(&pe, "'%s' using 1:%zu:%zu with filledcurves fs solid %.2f lc rgb '%s'", name, 2 + 2 * l, 3 + 2 * l,
                              s->alpha, hex(mlmp__item_color(p, s, l), h));
                if (s->layer_labels && s->layer_labels[l]) { mlmp__bprintf(&pe, " title "); q(&pe, s->layer_labels[l]); }
                else mlmp__bprintf(&pe, " notitle");
            }
            break;
        }
        case MLMP_S_HEATMAP: {
            double lo, hi;
            mlmp__color_range(fig, s, &lo, &hi);
            dat_open(F, r, c, k, name, sizeof name, &d);
            for (size_t i = 0; i < s->rows; i++) {
                for (size_t j = 0; j < s->cols; j++) { if (j) mlmp__bprintf(&d, " "); num(&d, s->z[i * s->cols + j]); }
                mlmp__bprintf(&d, "\n");
            }
            if (dat_commit(F, name, &d, err, errlen)) { free(pe.s); return -1; }
            SEP();
            mlmp__bprintf(&pe, "'%s' matrix with image pixels notitle", name);
            if (s->num_fmt) {
                char lname[600];
                snprintf(lname, sizeof lname, "%s_r%dc%d_s%d_labels.dat", F->base, r, c, k);
                mlmp__bprintf(&d, "# column row \"text\" text-colour\n");
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
#endif
                for (size_t i = 0; i < s->rows; i++)
                    for (size_t j = 0; j < s->cols; j++) {
                        double v = s->z[i * s->cols + j];
                        if (!isfinite(v)) continue;
                        char t[64];
                        snprintf(t, sizeof t, s->num_fmt, v);
                        mlmp_color cc = mlmp_cmap_at(s->cmap, (v - lo) / (hi - lo));
                        mlmp__bprintf(&d, "%zu %zu \"%s\" %u\n", j, i, t, mlmp_luminance(cc) < 0.4 ? 0xffffffu : 0x222222u);
                    }
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
                if (dat_commit(F, lname, &d, err, errlen)) { free(pe.s); return -1; }
                SEP();
                mlmp__bprintf(&pe, "'%s' using 1:2:3:4 with labels tc rgb variable font \",7\" notitle", lname);
            }
            break;
        }
        case MLMP_S_BOXPLOT: {
            dat_open(F, r, c, k, name, sizeof name, &d);
            mlmp__bprintf(&d, "# one block of samples per group (blocks separated by two blank lines)\n");
            for (size_t g = 0; g < s->ngroups; g++) {
                for (size_t i = 0; i < s->counts[g]; i++) { num(&d, s->samples[g][i]); mlmp__bprintf(&d, "\n"); }
                if (!s->counts[g]) mlmp__bprintf(&d, "NaN\n");
                mlmp__bprintf(&d, "\n\n");
            }
            if (dat_commit(F, name, &d, err, errlen)) { free(pe.s); return -1; }
            mlmp__bprintf(b, "# box plots: gnuplot computes its own quartiles (same 1.5 IQR whiskers as the Cairo renderer)\n");
            for (size_t g = 0; g < s->ngroups; g++) {
                SEP();
                mlmp__bprintf(&pe, "'%s' index %zu using (%zu):1 with boxplot fs solid 0.6 lc rgb '%s' lw 1 notitle", name, g, g,
                              hex(mlmp__item_color(p, s, g), h));
            }
            break;
        }
        case MLMP_S_HLINE: case MLMP_S_VLINE:
            if (s->label) {
                SEP();
                mlmp__bprintf(&pe, "NaN with lines dt %d lw %.2f lc rgb '%s' title ", s->dash + 1, s->lw, hex(col, h));
                q(&pe, s->label);
            }
            break;
        default: break;
        }
    }
#undef SEP
    if (first) mlmp__bprintf(b, "plot NaN notitle\n");
    else mlmp__bprintf(b, "%s\n", pe.s);
    int bad = pe.failed;
    free(pe.s);
    return bad ? mlmp__err(err, errlen, "plots: out of memory writing a gnuplot script") : 0;
}

/* ---- the whole script ------------------------------------------------------------------------ */
static int split_path(const char *out, gp_files *F, const char **ext, char *err, size_t errlen) {
    const char *slash = strrchr(out, '/');
    const char *file = slash ? slash + 1 : out;
    if (slash) {
        size_t n = (size_t)(slash - out);
        if (n >= sizeof F->dir) return mlmp__err(err, errlen, "plots: %s: path too long", out);
        memcpy(F->dir, out, n); F->dir[n] = 0;
        if (n == 0) strcpy(F->dir, "/");
    } else strcpy(F->dir, ".");
    *ext = mlmp__ext(out);
    size_t bl = strlen(file) - (**ext ? strlen(*ext) + 1 : 0);
    if (bl == 0 || bl >= sizeof F->base) return mlmp__err(err, errlen, "plots: %s: bad output name", out);
    memcpy(F->base, file, bl); F->base[bl] = 0;
    for (const char *c = F->base; *c; c++)
        if (*c == '\'' || *c == '"' || *c == '\\') return mlmp__err(err, errlen, "plots: %s: quotes in the file name are not supported", out);
    if (strcmp(*ext, "png") && strcmp(*ext, "svg") && strcmp(*ext, "pdf"))
        return mlmp__err(err, errlen, "plots: %s: unknown extension '%s' (want .png, .svg or .pdf)", out, *ext);
    return 0;
}

static int write_all(const mlmp_figure *fig, const char *out, gp_files *F, char *err, size_t errlen) {
    const char *ext = "";
    if (!fig || !out) return mlmp__err(err, errlen, "plots: gnuplot: no figure or no output path");
    if (split_path(out, F, &ext, err, errlen)) return -1;
    mlmp_layout *L = mlmp_layout_new(fig, err, errlen);
    if (!L) return -1;
    mlmp__buf b = {0};
    int W = (int)lround(fig->w_in * fig->dpi), H = (int)lround(fig->h_in * fig->dpi);
    mlmp__bprintf(&b,
        "# %s.gp - written by MicroLM Lab (plots/plot_gnuplot.c) with its .dat files.\n"
        "# Edit freely and re-run:   gnuplot %s.gp            (writes %s.%s)\n"
        "# Other format / name:      gnuplot -e \"term='svg'; outfile='x.svg'\" %s.gp   (term: png, svg, pdf)\n"
        "# Axis limits, ticks and legend corners were computed by the Cairo renderer so both agree.\n\n",
        F->base, F->base, F->base, ext, F->base);
    mlmp__bprintf(&b, "if (!exists(\"term\")) term = '%s'\nif (!exists(\"outfile\")) outfile = '%s.%s'\n", ext, F->base, ext);
    double fs = fig->dpi / 72.0;
    mlmp__bprintf(&b,
        "if (term eq 'png') {\n"
        "    set terminal pngcairo size %d,%d enhanced font 'DejaVu Sans,8.5' fontscale %.3f linewidth %.3f background '#ffffff'\n"
        "} else { if (term eq 'svg') {\n"
        "    set terminal svg size %d,%d enhanced font 'DejaVu Sans,8.5' background '#ffffff'\n"
        "} else {\n"
        "    set terminal pdfcairo size %.3fin,%.3fin enhanced font 'DejaVu Sans,8.5' background '#ffffff'\n"
        "} }\n"
        "set output outfile\n"
        "set encoding utf8\n",
        W, H, fs * 0.75, fs * 0.75, (int)lround(fig->w_in * 72), (int)lround(fig->h_in * 72), fig->w_in, fig->h_in);
    mlmp__bprintf(&b, "set multiplot title ");
    mlmp__bprintf(&b, "\"{/:Bold ");
    gp_text(&b, fig->title ? fig->title : "", 1);
    mlmp__bprintf(&b, "}\" font ',15'\n");
    int rc = 0;
    for (int r = 0; r < fig->rows && !rc; r++)
        for (int c = 0; c < fig->cols && !rc; c++) {
            const mlmp__playout *pl = &L->pl[r * fig->cols + c];
            if (pl->kind == MLMP_PL_NONE) continue;
            rc = panel_script(&b, F, fig, L, pl, r, c, err, errlen);
        }
    mlmp__bprintf(&b, "\nunset multiplot\nset output\n");
    mlmp_layout_free(L);
    if (rc) { free(b.s); return -1; }
    char name[600];
    snprintf(name, sizeof name, "%s.gp", F->base);
    if (b.failed) { free(b.s); return mlmp__err(err, errlen, "plots: out of memory writing %s", name); }
    /* dat_commit writes atomically and records the file; the script is the last file written */
    return dat_commit(F, name, &b, err, errlen);
}

int mlmp_gnuplot_write(const mlmp_figure *fig, const char *out_path, char *err, size_t errlen) {
    gp_files F;
    memset(&F, 0, sizeof F);
    int rc = write_all(fig, out_path, &F, err, errlen);
    return rc;
}

static const char *gp_binary(void) {
    const char *e = getenv("MLM_GNUPLOT");
    return e && *e ? e : "gnuplot";
}

int mlmp_gnuplot_available(char *err, size_t errlen) {
    const char *bin = gp_binary();
    if (strchr(bin, '/')) {
        if (access(bin, X_OK) == 0) return 1;
        mlmp__err(err, errlen, "plots: gnuplot not found: MLM_GNUPLOT=%s is not an executable file (install gnuplot, e.g. apt-get install gnuplot-nox, or fix MLM_GNUPLOT)", bin);
        return 0;
    }
    const char *path = getenv("PATH");
    if (path) {
        const char *p = path;
        while (*p) {
            const char *e = strchr(p, ':');
            size_t n = e ? (size_t)(e - p) : strlen(p);
            char cand[4096];
            if (n && n + strlen(bin) + 2 < sizeof cand) {
                memcpy(cand, p, n);
                snprintf(cand + n, sizeof cand - n, "/%s", bin);
                if (access(cand, X_OK) == 0) return 1;
            }
            if (!e) break;
            p = e + 1;
        }
    }
    mlmp__err(err, errlen, "plots: gnuplot not found: '%s' is not on the PATH (install gnuplot, e.g. apt-get install gnuplot-nox; the Cairo output does not need it)", bin);
    return 0;
}

/* single-quote s for /bin/sh */
static void shq(mlmp__buf *b, const char *s) {
    mlmp__bprintf(b, "'");
    for (; *s; s++) { if (*s == '\'') mlmp__bprintf(b, "'\\''"); else mlmp__bprintf(b, "%c", *s); }
    mlmp__bprintf(b, "'");
}

int mlmp_gnuplot_render(const mlmp_figure *fig, const char *out_path, char *err, size_t errlen) {
    gp_files F;
    memset(&F, 0, sizeof F);
    int rc = write_all(fig, out_path, &F, err, errlen);
    if (rc) return -1;
    char why[512];
    if (!mlmp_gnuplot_available(why, sizeof why)) {
        mlmp__err(err, errlen, "%s; script written to %s/%s.gp", why, F.dir, F.base);
        return MLMP_GNUPLOT_MISSING;
    }
    const char *ext = mlmp__ext(out_path);
    char tmpname[700];
    snprintf(tmpname, sizeof tmpname, "%s.%s.tmp", F.base, ext);
    mlmp__buf cmd = {0}, e = {0};
    mlmp__bprintf(&cmd, "cd ");
    shq(&cmd, F.dir);
    mlmp__bprintf(&cmd, " && ");
    shq(&cmd, gp_binary());
    mlmp__bprintf(&e, "term='%s'; outfile='%s'", ext, tmpname);
    mlmp__bprintf(&cmd, " -e ");
    shq(&cmd, e.s ? e.s : "");
    mlmp__bprintf(&cmd, " ");
    char gp[600];
    snprintf(gp, sizeof gp, "%s.gp", F.base);
    shq(&cmd, gp);
    mlmp__bprintf(&cmd, " 2>&1");
    free(e.s);
    if (cmd.failed) { free(cmd.s); return mlmp__err(err, errlen, "plots: out of memory"); }
    fflush(NULL);
    FILE *pp = popen(cmd.s, "r");
    free(cmd.s);
    char tmppath[4096];
    snprintf(tmppath, sizeof tmppath, "%s/%s", F.dir, tmpname);
    if (!pp) { remove(tmppath); return mlmp__err(err, errlen, "plots: %s: cannot start gnuplot: %s", out_path, strerror(errno)); }
    char line[512], first_err[512] = "";
    while (fgets(line, sizeof line, pp)) {
        line[strcspn(line, "\n")] = 0;
        if (!first_err[0] && (strstr(line, "rror") || strstr(line, "line "))) snprintf(first_err, sizeof first_err, "%s", line);
    }
    int st = pclose(pp);
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        remove(tmppath);
        int code = st == -1 ? -1 : WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (code == 127) {
            mlmp__err(err, errlen, "plots: gnuplot not found: '%s' could not be run (exit 127); script written to %s/%s.gp", gp_binary(), F.dir, F.base);
            return MLMP_GNUPLOT_MISSING;
        }
        return mlmp__err(err, errlen, "plots: %s: gnuplot failed (exit status %d)%s%s", out_path, code, first_err[0] ? ": " : "", first_err);
    }
    if (first_err[0] && strstr(first_err, "rror")) {
        /* gnuplot reports some errors (e.g. in a multiplot) without a failing exit status */
        remove(tmppath);
        return mlmp__err(err, errlen, "plots: %s: gnuplot reported: %s", out_path, first_err);
    }
    return mlmp__commit_file(tmppath, out_path, err, errlen);
}
