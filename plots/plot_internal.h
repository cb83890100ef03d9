/* plot_internal.h - the figure model's data structures, shared by plot.c and the renderers
 * (plot_cairo.c, plot_gnuplot.c). Not a public header: demo code uses plot.h only. */
#ifndef MLMP_PLOT_INTERNAL_H
#define MLMP_PLOT_INTERNAL_H
#include "plot.h"

typedef enum { MLMP_S_LINE, MLMP_S_SCATTER, MLMP_S_BARS, MLMP_S_AREA, MLMP_S_PIE,
               MLMP_S_HEATMAP, MLMP_S_BOXPLOT, MLMP_S_HLINE, MLMP_S_VLINE,
               MLMP_S_TEXT } mlmp_series_kind;

/* Box-plot statistics of one sample set (numpy's linear-interpolation quartiles). */
typedef struct { double q1, med, q3, wlo, whi; size_t nout; double *out; int valid; } mlmp_boxstat;

struct mlmp_series {
    mlmp_series_kind kind;
    char *label;
    mlmp_color color; int has_color;
    mlmp_color *colors; size_t ncolors;        /* per item */
    size_t n;
    double *x, *y;                  /* line, scatter, area x; bars / pie values in y */
    int marker, dash; double lw, msize, alpha;
    /* scatter colour values */
    double *c; mlmp_cmap cmap; char *cbar_label; int has_c;
    /* bars */
    char *value_fmt; char **value_labels; size_t nvalue_labels; int labels_inside;
    /* stacked areas: layers[k][0..n-1] */
    size_t nlayers; double **layers; char **layer_labels;
    /* heatmap */
    size_t rows, cols; double *z; double vmin, vmax; int has_range; char *num_fmt;
    int colorbar;
    /* pie */
    char **names; double *explode;
    /* box plot */
    size_t ngroups; mlmp_boxstat *stats; char **group_names; double **samples; size_t *counts;
    /* annotation / reference line value */
    char *text; double ax, ay; int halign, valign; double fontsize; int bold;
    mlmp_series *next;
};

typedef struct {
    mlmp_scale scale; double linthresh;
    int has_lim; double lo, hi;
    double *tick_pos; char **tick_labels; size_t nticks; int has_ticks; int categorical;
    char *label;
} mlmp_axis;

struct mlmp_panel {
    mlmp_figure *fig;
    int row, col, rowspan, colspan, covered;
    char *title1, *title2;
    mlmp_axis x, y;
    int legend, grid, bar_mode, bars_horizontal;
    char *text;
    mlmp_series *head, *tail;
    size_t nseries;
};

struct mlmp_figure {
    char *title;
    int rows, cols;
    double w_in, h_in, dpi;
    int share_clim;
    mlmp_panel_t *panels;                 /* rows * cols, row-major */
    char error[256];
};

/* Colour range of a colour-mapped series after sharing (figure-wide when share_clim). */
void mlmp__color_range(const mlmp_figure *fig, const mlmp_series *s, double *lo, double *hi);
/* Colour of series s in its panel: explicit, else the palette colour of its index among the
 * panel's colour-consuming series. */
mlmp_color mlmp__series_color(const mlmp_panel_t *p, const mlmp_series *s);
/* Colour of item i of a multi-colour series (bars, pie wedges, area layers, boxes). */
mlmp_color mlmp__item_color(const mlmp_panel_t *p, const mlmp_series *s, size_t i);
/* 1 when the panel draws nothing (no series, no text). */
int mlmp__panel_empty(const mlmp_panel_t *p);
#endif
