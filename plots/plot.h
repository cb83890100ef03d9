/* plot.h - the figure model of MicroLM Lab: a titled grid of panels holding series. The figure
 * is data only (no drawing calls); plot_cairo.h and plot_gnuplot.h render it.
 *
 *   mlmp_figure *fig = mlmp_figure_new("Residual connections", 2, 3);
 *   mlmp_panel_t *p = mlmp_panel(fig, 0, 0);
 *   mlmp_panel_set_title(p, "Activation norm per layer", "grows with depth");
 *   mlmp_panel_set_xlabel(p, "layer"); mlmp_panel_set_ylabel(p, "\u2016h\u2016");
 *   mlmp_series *s = mlmp_add_line(p, x, y, n, "N = 8");
 *   mlmp_series_set_marker(s, MLMP_MARKER_CIRCLE);
 *   mlmp_render_png(fig, "out.png", err, sizeof err);      (plot_cairo.h)
 *   mlmp_figure_free(fig);
 *
 * Ownership: the figure copies every array and string passed in; the caller may free its own
 * data right after the call. Panels and series belong to the figure (never free them).
 * Errors: builder calls never abort. A bad argument (NULL, n == 0, out-of-range cell) or an
 * allocation failure makes the call return NULL (setters on NULL are no-ops) and records the
 * first such problem in the figure; renderers then refuse the figure with that message
 * (mlmp_figure_error() shows it). Text passed as labels and titles is pango markup
 * ("d<sub>k</sub>", "\u03b1"); text that is not valid markup is shown literally. */
#ifndef MLMP_PLOT_H
#define MLMP_PLOT_H
#include <stddef.h>

#include "colormap.h"
#include "ticks.h"

typedef struct mlmp_figure mlmp_figure;
typedef struct mlmp_panel mlmp_panel_t;   /* (the function mlmp_panel() returns one) */
typedef struct mlmp_series mlmp_series;

typedef enum { MLMP_MARKER_NONE = 0, MLMP_MARKER_CIRCLE, MLMP_MARKER_SQUARE,
               MLMP_MARKER_TRIANGLE, MLMP_MARKER_TRIANGLE_DOWN, MLMP_MARKER_DIAMOND,
               MLMP_MARKER_CROSS, MLMP_MARKER_PLUS } mlmp_marker;
typedef enum { MLMP_DASH_SOLID = 0, MLMP_DASH_DASHED, MLMP_DASH_DOTTED,
               MLMP_DASH_DASHDOT } mlmp_dash;
typedef enum { MLMP_LEGEND_AUTO = 0,   /* emptiest inside corner, else headroom / outside */
               MLMP_LEGEND_NONE, MLMP_LEGEND_UPPER_LEFT, MLMP_LEGEND_UPPER_RIGHT,
               MLMP_LEGEND_LOWER_LEFT, MLMP_LEGEND_LOWER_RIGHT,
               MLMP_LEGEND_OUTSIDE } mlmp_legend_pos;
typedef enum { MLMP_BARS_GROUPED = 0, MLMP_BARS_STACKED } mlmp_bar_mode;
typedef enum { MLMP_ALIGN_START = 0, MLMP_ALIGN_CENTER, MLMP_ALIGN_END } mlmp_align;

/* ---- figure ---------------------------------------------------------------------------- */
/* New figure with a bold title (may be NULL) and a rows x cols grid (1..16 each). Default
 * size 2400 x 1480 px at 150 dpi (16 x 9.87 in). Returns NULL only on allocation failure or
 * a bad grid size. Free with mlmp_figure_free. */
mlmp_figure *mlmp_figure_new(const char *title, int rows, int cols);
void mlmp_figure_free(mlmp_figure *fig);                              /* NULL: no-op */
void mlmp_figure_set_size_in(mlmp_figure *fig, double w_in, double h_in);
void mlmp_figure_set_size_px(mlmp_figure *fig, int w_px, int h_px, double dpi);
void mlmp_figure_set_dpi(mlmp_figure *fig, double dpi);          /* PNG resolution only */
/* First builder error recorded in the figure ("" when none). Owned by the figure. */
const char *mlmp_figure_error(const mlmp_figure *fig);
int mlmp_figure_rows(const mlmp_figure *fig);
/* Figure size in points (1/72 in); 0 x 0 for NULL. */
void mlmp_figure_size_pt(const mlmp_figure *fig, double *w_pt, double *h_pt);
int mlmp_figure_cols(const mlmp_figure *fig);

/* ---- panels ---------------------------------------------------------------------------- */
/* Panel at row r, column c (0-based); NULL (and a recorded error) when out of range. */
mlmp_panel_t *mlmp_panel(mlmp_figure *fig, int r, int c);
/* Make the panel cover rowspan x colspan cells; covered panels are hidden. */
void mlmp_panel_span(mlmp_panel_t *p, int rowspan, int colspan);
void mlmp_panel_set_title(mlmp_panel_t *p, const char *line1, const char *line2);
void mlmp_panel_set_xlabel(mlmp_panel_t *p, const char *label);
void mlmp_panel_set_ylabel(mlmp_panel_t *p, const char *label);
void mlmp_panel_set_xscale(mlmp_panel_t *p, mlmp_scale s);
void mlmp_panel_set_yscale(mlmp_panel_t *p, mlmp_scale s);
void mlmp_panel_set_symlog_threshold(mlmp_panel_t *p, int axis_y, double linthresh);
void mlmp_panel_set_xlim(mlmp_panel_t *p, double lo, double hi);       /* fixed data limits */
void mlmp_panel_set_ylim(mlmp_panel_t *p, double lo, double hi);
/* Ticks at given positions with given labels (markup; labels NULL: numbers). Copied. */
void mlmp_panel_set_xticks(mlmp_panel_t *p, const double *pos, const char *const *labels, size_t n);
void mlmp_panel_set_yticks(mlmp_panel_t *p, const double *pos, const char *const *labels, size_t n);
/* Category axes: tick i at position i with labels[i] ("\n" allowed). Copied. */
void mlmp_panel_set_xcategories(mlmp_panel_t *p, const char *const *labels, size_t n);
void mlmp_panel_set_ycategories(mlmp_panel_t *p, const char *const *labels, size_t n);
void mlmp_panel_set_legend(mlmp_panel_t *p, mlmp_legend_pos pos);
void mlmp_panel_set_grid(mlmp_panel_t *p, int on);                          /* default on */
void mlmp_panel_set_bar_mode(mlmp_panel_t *p, mlmp_bar_mode mode);
/* Horizontal bars: categories run down the y axis (first at the top), values along x. */
void mlmp_panel_set_bars_horizontal(mlmp_panel_t *p, int on);
/* Turn the panel into a monospace text box (plain text, "\n" separated lines). */
void mlmp_panel_set_text(mlmp_panel_t *p, const char *monospace_text);

/* ---- series (each returns a handle owned by the figure, NULL on error) ------------------- */
/* Line through (x[i], y[i]); x NULL means 0..n-1. Non-finite points break the line. */
mlmp_series *mlmp_add_line(mlmp_panel_t *p, const double *x, const double *y, size_t n,
                           const char *label);
/* Points; colour them through a colormap with mlmp_scatter_set_values. */
mlmp_series *mlmp_add_scatter(mlmp_panel_t *p, const double *x, const double *y, size_t n,
                              const char *label);
/* One bar per category 0..n-1; several bar series in a panel are grouped side by side, or
 * stacked after mlmp_panel_set_bar_mode(p, MLMP_BARS_STACKED). */
mlmp_series *mlmp_add_bars(mlmp_panel_t *p, const double *values, size_t n, const char *label);
/* Stacked areas: nlayers curves ys[k][0..n-1] over x[0..n-1], stacked from 0 in order. */
mlmp_series *mlmp_add_area_stack(mlmp_panel_t *p, const double *x, size_t n,
                                 const double *const *ys, size_t nlayers,
                                 const char *const *labels);
/* Pie of n values (>= 0) with wedge labels (may be NULL); percentages shown ("%.1f%%"). */
mlmp_series *mlmp_add_pie(mlmp_panel_t *p, const double *values, size_t n,
                          const char *const *labels);
/* Heatmap of a rows x cols row-major matrix; row 0 at the top, cell (i, j) centred on data
 * point (x = j, y = i). Colour range = data range unless mlmp_heatmap_set_range. */
mlmp_series *mlmp_add_heatmap(mlmp_panel_t *p, const double *values, size_t rows, size_t cols,
                              mlmp_cmap cmap);
/* Box plots of ngroups sample sets (samples[g][0..counts[g]-1]) at x = 0..ngroups-1, Tukey
 * whiskers (1.5 IQR), outliers as circles; group names become the x tick labels. */
mlmp_series *mlmp_add_boxplot(mlmp_panel_t *p, const double *const *samples,
                              const size_t *counts, size_t ngroups, const char *const *names);
/* Dashed reference lines across the whole panel. label may be NULL (no legend entry). */
mlmp_series *mlmp_add_hline(mlmp_panel_t *p, double y, const char *label);
mlmp_series *mlmp_add_vline(mlmp_panel_t *p, double x, const char *label);
/* Text at data point (x, y), centred above it by default; kept inside the plot area. */
mlmp_series *mlmp_add_annotation(mlmp_panel_t *p, double x, double y, const char *text);

/* ---- series setters (NULL series: no-op) ------------------------------------------------ */
void mlmp_series_set_color(mlmp_series *s, mlmp_color c);
void mlmp_series_set_colors(mlmp_series *s, const mlmp_color *colors, size_t n); /* per bar / wedge / layer / box */
void mlmp_series_set_marker(mlmp_series *s, mlmp_marker m);
void mlmp_series_set_dash(mlmp_series *s, mlmp_dash d);
void mlmp_series_set_width(mlmp_series *s, double line_width_pt);
void mlmp_series_set_marker_size(mlmp_series *s, double size_pt);
void mlmp_series_set_alpha(mlmp_series *s, double alpha);
void mlmp_series_set_label(mlmp_series *s, const char *label);
/* Scatter: colour point i by cmap((values[i] - lo) / (hi - lo)); colorbar with cbar_label. */
void mlmp_scatter_set_values(mlmp_series *s, const double *values, size_t n, mlmp_cmap cmap,
                             const char *cbar_label);
/* Bars: print values with printf format fmt (e.g. "%.1f"; NULL turns labels off). */
void mlmp_bars_set_value_format(mlmp_series *s, const char *fmt);
/* Bars: custom label per bar (markup; NULL entries skipped). Copied. */
void mlmp_bars_set_value_labels(mlmp_series *s, const char *const *labels, size_t n);
/* Bars: draw value labels inside the bar (white, centred) instead of past its end. */
void mlmp_bars_set_labels_inside(mlmp_series *s, int inside);
void mlmp_heatmap_set_range(mlmp_series *s, double vmin, double vmax);
/* Heatmap: print each cell's value with printf format fmt (e.g. "%.0f"); NULL: off. */
void mlmp_heatmap_set_numbers(mlmp_series *s, const char *fmt);
void mlmp_heatmap_set_colorbar(mlmp_series *s, int on, const char *label);
/* Pie: radial offsets of the wedges as a fraction of the radius (e.g. 0.06). Copied. */
void mlmp_pie_set_explode(mlmp_series *s, const double *offsets, size_t n);
/* Annotation alignment relative to its point, font size (pt), bold. */
void mlmp_annotation_set_align(mlmp_series *s, mlmp_align h, mlmp_align v);
void mlmp_annotation_set_font(mlmp_series *s, double size_pt, int bold);
/* Share one colour range among every heatmap / coloured scatter of the figure (joint min/max
 * of their data, unless a range was set explicitly on one of them). */
void mlmp_figure_share_color_scale(mlmp_figure *fig, int on);
#endif
