/* plot_layout.h - private: the measured layout of a figure (plot rectangles, axes with their
 * ticks, legends, colorbars, pies, text boxes), in points. Built by plot_layout.c, drawn by
 * plot_cairo.c, queried through the mlmp_layout_* functions of plot_cairo.h and used by the
 * gnuplot renderer for the legend corner. */
#ifndef MLMP_PLOT_LAYOUT_H
#define MLMP_PLOT_LAYOUT_H
#include "plot_cairo.h"
#include "plot_internal.h"
#include "plot_text.h"

#define MLMP_MAXTICKS 64
#define MLMP_TICKLEN 128

typedef struct { double x, y, w, h; } mlmp__rect;

typedef struct {
    mlmp_scale scale; double lt;
    double tlo, thi;           /* limits in transformed space */
    int invert;                /* 1: values grow downwards (y) */
    size_t nt; double tv[MLMP_MAXTICKS]; char tl[MLMP_MAXTICKS][MLMP_TICKLEN];
    unsigned char show[MLMP_MAXTICKS];   /* label shown after thinning */
    int categorical, rotate, grid;
    double fsize;              /* tick label font size */
} mlmp__axis_rt;

typedef enum { MLMP_LEG_LINE, MLMP_LEG_PATCH, MLMP_LEG_MARKER } mlmp__leg_kind;
typedef struct {
    const char *label; mlmp__leg_kind kind; mlmp_color c;
    int dash, marker; double lw, msize;
} mlmp__leg_entry;

#define MLMP_MAXLEG 24
typedef enum { MLMP_PL_NONE, MLMP_PL_AXES, MLMP_PL_TEXT, MLMP_PL_PIE } mlmp__pl_kind;

typedef struct {
    mlmp__pl_kind kind;
    const mlmp_panel_t *p;
    mlmp__rect cell, plot;
    double t1h, t2h;                     /* title line heights (0: none) */
    mlmp__axis_rt ax, ay;
    int horizontal;                      /* horizontal bars */
    /* legend */
    size_t nleg; mlmp__leg_entry leg[MLMP_MAXLEG];
    mlmp__rect legend; int has_legend, legend_corner; /* corner: 0 UR 1 UL 2 LR 3 LL 4 UC 5 LC 6 outside */
    double leg_fs, leg_row, leg_sw, leg_pad;
    /* colorbar */
    const mlmp_series *cbar; double clo, chi; mlmp__rect cbar_rect;
    size_t cnt; double ctv[16]; char ctl[16][64];
    /* text box */
    double tfs;
    /* pie */
    double pcx, pcy, pr;
} mlmp__playout;

struct mlmp_layout {
    const mlmp_figure *fig;
    double w_pt, h_pt, scale;            /* scale: device px per point */
    double title_h;
    mlmp__playout *pl;                   /* rows * cols */
};

/* Lay fig out in a w_pt x h_pt box. m measures text. Returns NULL + err on failure. */
mlmp_layout *mlmp__layout_build(const mlmp_figure *fig, mlmp__text *m, double w_pt,
                                double h_pt, char *err, size_t errlen);
/* Data -> point coordinates of a laid-out axes panel (NaN when not showable). */
double mlmp__px(const mlmp__playout *pl, double x);
double mlmp__py(const mlmp__playout *pl, double y);
/* Bar rectangle of item i of bar series s in data coordinates along (cat, val):
 * centre and width along the category axis, [v0, v1] along the value axis. */
void mlmp__bar_geom(const mlmp_panel_t *p, const mlmp_series *s, size_t i, double *cc,
                    double *cw, double *v0, double *v1);
/* Label of bar i of s into buf (custom label, else formatted value), "" when none. */
void mlmp__bar_label(const mlmp_series *s, size_t i, char *buf, size_t len);
/* Common fonts. */
extern const mlmp__font MLMP_F_TITLE, MLMP_F_T1, MLMP_F_T2, MLMP_F_LABEL, MLMP_F_TICK,
    MLMP_F_LEGEND, MLMP_F_VALUE;
#endif
