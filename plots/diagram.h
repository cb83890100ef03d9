/* diagram.h - a second, Cairo-only figure kind for diagrams: boxes, arrows, grouped regions and
 * labels, laid out on a grid of columns and rows from a description. It knows nothing about
 * what it draws (a transformer block is just boxes and arrows to it).
 *
 * Build it with calls, or from text with mlmp_diagram_parse:
 *   title "Pre-norm decoder block"
 *   node x    "input x"        0 0 box   #e8f1fa
 *   node n1   "RMSNorm"        0 1 round
 *   node add  "+"              0 3 circle
 *   edge x n1
 *   edge x add "residual" side          (routed around the right-hand side)
 *   group "Attention sub-layer" n1 attn add
 * Nodes sit at (col, row) grid positions (fractions allowed); columns and rows are as wide and
 * tall as their measured labels need. Labels are pango markup. */
#ifndef MLMP_DIAGRAM_H
#define MLMP_DIAGRAM_H
#include <cairo.h>
#include <stddef.h>

#include "colormap.h"

typedef struct mlmp_diagram mlmp_diagram;
typedef enum { MLMP_NODE_BOX = 0, MLMP_NODE_ROUND, MLMP_NODE_CIRCLE, MLMP_NODE_LABEL } mlmp_node_shape;
typedef enum { MLMP_EDGE_DIRECT = 0,  /* straight, or one elbow when not aligned */
               MLMP_EDGE_SIDE         /* out of the right side, down/up, back in: residual paths */
} mlmp_edge_route;

/* New empty diagram (title may be NULL). NULL on allocation failure. */
mlmp_diagram *mlmp_diagram_new(const char *title);
void mlmp_diagram_free(mlmp_diagram *d);                                 /* NULL: no-op */
/* Add node id (unique) with a label at grid (col, row). fill.a == 0 picks a default.
 * 0, or -1 + err on a duplicate / missing id or no memory. */
int mlmp_diagram_node(mlmp_diagram *d, const char *id, const char *label, double col, double row,
                      mlmp_node_shape shape, mlmp_color fill, char *err, size_t errlen);
/* Arrow from node `from` to node `to`, optional label. 0, or -1 + err (unknown id). */
int mlmp_diagram_edge(mlmp_diagram *d, const char *from, const char *to, const char *label,
                      mlmp_edge_route route, char *err, size_t errlen);
/* Shaded, labelled region around the n nodes ids. 0, or -1 + err (unknown id). */
int mlmp_diagram_group(mlmp_diagram *d, const char *label, const char *const *ids, size_t n,
                       mlmp_color fill, char *err, size_t errlen);
/* Add what a text description says (format above; '#' starts a comment line, colours are
 * #rrggbb). 0, or -1 + err naming the line and the problem. */
int mlmp_diagram_parse(mlmp_diagram *d, const char *text, char *err, size_t errlen);
/* Size the diagram needs, in points (after measuring its labels). */
int mlmp_diagram_size(const mlmp_diagram *d, double *w_pt, double *h_pt, char *err, size_t errlen);
/* Draw into the caller's cairo context at (0, 0), scaled to fit w_pt x h_pt. 0 or -1 + err. */
int mlmp_diagram_render_cairo(const mlmp_diagram *d, cairo_t *cr, double w_pt, double h_pt,
                              char *err, size_t errlen);
/* Write PNG (at dpi), SVG or PDF by the path's extension, atomically. 0 or -1 + err. */
int mlmp_diagram_render(const mlmp_diagram *d, const char *path, double dpi, char *err,
                        size_t errlen);
#endif
