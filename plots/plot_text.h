/* plot_text.h - private text helper of the Cairo renderer: measure and draw pango markup in
 * points with metric hinting off, so measuring on a scratch surface and drawing on the real
 * one (PNG at any dpi, SVG, PDF) give the same sizes. */
#ifndef MLMP_PLOT_TEXT_H
#define MLMP_PLOT_TEXT_H
#include <cairo.h>
#include <pango/pangocairo.h>

#include "colormap.h"

typedef struct { double size; int bold, italic, mono; } mlmp__font;

typedef struct {
    cairo_surface_t *surf;  /* scratch surface when measuring only (owned) */
    cairo_t *cr;            /* owned when surf != NULL */
    PangoContext *pc;
} mlmp__text;

/* Measuring context on a private 1x1 surface. Returns 0, or -1 on failure. */
int mlmp__text_init_measure(mlmp__text *t);
/* Drawing context on the caller's cr (not owned). Returns 0, or -1 on failure. */
int mlmp__text_init_cr(mlmp__text *t, cairo_t *cr);
void mlmp__text_free(mlmp__text *t);

/* Logical size of s in points; markup != 0 parses pango markup (falls back to plain text
 * when s is not valid markup); wrap > 0 wraps at that width. */
void mlmp__text_size(mlmp__text *t, const char *s, mlmp__font f, int markup, double wrap,
                     double *w, double *h);
/* Draw s with its box anchored at (x, y): ha, va in [0, 1] give the anchor's place in the
 * box (0 left/top, 0.5 centre, 1 right/bottom); the box is rotated by angle_deg
 * (counter-clockwise) about the anchor. */
void mlmp__text_draw(mlmp__text *t, const char *s, mlmp__font f, int markup, double wrap,
                     double x, double y, double ha, double va, double angle_deg, mlmp_color c);
#endif
