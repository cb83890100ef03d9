/* colormap.h - colours for plots/: RGBA colours, perceptually ordered colormaps (sequential
 * blue, diverging red-blue, viridis) and a colour-blind-safe qualitative palette (Okabe-Ito).
 * Pure functions, no allocation, no drawing. */
#ifndef MLMP_COLORMAP_H
#define MLMP_COLORMAP_H
#include <stddef.h>

/* A colour with components in [0, 1]; a = 1 is opaque. */
typedef struct { double r, g, b, a; } mlmp_color;

typedef enum {
    MLMP_CMAP_BLUES = 0,  /* sequential: near-white (0) to dark blue (1) */
    MLMP_CMAP_RDBU,       /* diverging: dark blue (0), white (0.5), dark red (1) */
    MLMP_CMAP_VIRIDIS,    /* sequential, perceptually uniform: purple (0) to yellow (1) */
    MLMP_CMAP_GREYS,      /* sequential: white (0) to black (1) */
    MLMP_CMAP_COUNT
} mlmp_cmap;

/* Opaque colour from 0xRRGGBB. */
mlmp_color mlmp_rgb(unsigned hex);
/* Colour from 0xRRGGBB with alpha a (clamped to [0, 1]). */
mlmp_color mlmp_rgba(unsigned hex, double a);

/* Colour of cmap at t in [0, 1] (t is clamped; NaN gives mid grey; an unknown cmap gives
 * the BLUES map). Linear interpolation between the map's published control colours. */
mlmp_color mlmp_cmap_at(mlmp_cmap cmap, double t);

/* Short name of the map ("blues", "rdbu", "viridis", "greys"); "?" for an unknown value. */
const char *mlmp_cmap_name(mlmp_cmap cmap);

/* i-th colour of the qualitative palette (Okabe-Ito, reordered so that the first colours are
 * the most distinct on white); wraps around after mlmp_palette_size() colours. */
mlmp_color mlmp_palette(size_t i);
size_t mlmp_palette_size(void);

/* Relative luminance (0 black .. 1 white), for choosing black or white text over a colour. */
double mlmp_luminance(mlmp_color c);

/* Colour as "#rrggbb" into buf (at least 8 bytes). Returns buf. */
char *mlmp_color_hex(mlmp_color c, char *buf);
#endif
