/* plot_cairo.h - the Cairo renderer of the figure model (plot.h): PNG at the figure's dpi, SVG
 * and PDF from the same figure, text through pangocairo (pango markup), and a layout query
 * so tests and demos can map data coordinates to device pixels.
 *
 * All geometry is computed in points (1/72 in) from measured text, so titles, tick labels and
 * legends never overlap or clip; PNG output scales points by dpi / 72. */
#ifndef MLMP_PLOT_CAIRO_H
#define MLMP_PLOT_CAIRO_H
#include <cairo.h>
#include <stddef.h>

#include "plot.h"

/* Render fig to a file. Written atomically (path.tmp, then rename): on failure no file is
 * left behind. Return 0, or -1 with a one-line message in err (bad figure - see
 * mlmp_figure_error -, unknown extension, cannot write). mlmp_render_file picks the format
 * from the extension (.png, .svg, .pdf). */
int mlmp_render_png(const mlmp_figure *fig, const char *path, char *err, size_t errlen);
int mlmp_render_svg(const mlmp_figure *fig, const char *path, char *err, size_t errlen);
int mlmp_render_pdf(const mlmp_figure *fig, const char *path, char *err, size_t errlen);
int mlmp_render_file(const mlmp_figure *fig, const char *path, char *err, size_t errlen);

/* Draw fig into the caller's cairo context, filling the box (0, 0) - (w_pt, h_pt) in the
 * current user space (laid out for that size; the caller owns cr and may scale / translate
 * it first). Used by the report to put vector figures on PDF pages. Returns 0 or -1 + err. */
int mlmp_render_cairo(const mlmp_figure *fig, cairo_t *cr, double w_pt, double h_pt,
                      char *err, size_t errlen);

/* ---- layout query: where things land in the PNG (device pixels at the figure's dpi) ---- */
typedef struct mlmp_layout mlmp_layout;
/* Lay fig out exactly as mlmp_render_png does. NULL + err on a bad figure or no memory.
 * The layout refers to fig: free it before the figure. */
mlmp_layout *mlmp_layout_new(const mlmp_figure *fig, char *err, size_t errlen);
void mlmp_layout_free(mlmp_layout *L);                                   /* NULL: no-op */
/* PNG size in pixels. */
void mlmp_layout_size_px(const mlmp_layout *L, int *w, int *h);
/* Plot rectangle (the area inside the axes) of panel (r, c) in device pixels; for a pie the
 * square around the pie, for a text panel the text box. -1 for an unknown / empty panel. */
int mlmp_layout_plot_rect(const mlmp_layout *L, int r, int c, double *x, double *y,
                          double *w, double *h);
/* Device pixel of data point (x, y) in panel (r, c) (axis scales applied). -1 when the
 * panel has no axes or the point cannot be shown (e.g. x <= 0 on a log axis). */
int mlmp_layout_data_to_px(const mlmp_layout *L, int r, int c, double x, double y,
                           double *px, double *py);
/* Legend box of panel (r, c) in device pixels; -1 when the panel has no legend. */
int mlmp_layout_legend_rect(const mlmp_layout *L, int r, int c, double *x, double *y,
                            double *w, double *h);

/* Release the font caches held by pango, fontconfig and cairo (call once at the very end of a
 * program, after every render, e.g. so that leak checkers see a clean exit). */
void mlmp_plots_cleanup(void);
#endif
