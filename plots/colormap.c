/* colormap.c - colormaps (ColorBrewer Blues / RdBu, matplotlib viridis) and the Okabe-Ito
 * qualitative palette. Control colours are the published ones; between them we interpolate
 * linearly in sRGB, as matplotlib's LinearSegmentedColormap does. */
#include "colormap.h"

#include <math.h>
#include <stdio.h>

static const unsigned blues[] = {0xf7fbff, 0xdeebf7, 0xc6dbef, 0x9ecae1, 0x6baed6,
                                 0x4292c6, 0x2171b5, 0x08519c, 0x08306b};
static const unsigned rdbu[] = {0x053061, 0x2166ac, 0x4393c3, 0x92c5de, 0xd1e5f0, 0xf7f7f7,
                                0xfddbc7, 0xf4a582, 0xd6604d, 0xb2182b, 0x67001f};
static const unsigned viridis[] = {0x440154, 0x482878, 0x3e4989, 0x31688e, 0x26828e,
                                   0x1f9e89, 0x35b779, 0x6ece58, 0xb5de2b, 0xfde725};
static const unsigned greys[] = {0xffffff, 0xf0f0f0, 0xd9d9d9, 0xbdbdbd, 0x969696,
                                 0x737373, 0x525252, 0x252525, 0x000000};
/* Okabe & Ito (2008): blue, vermillion, bluish green, orange, reddish purple, sky blue,
 * dark grey (for black), yellow (last: weak on white). */
static const unsigned okabe_ito[] = {0x0072b2, 0xd55e00, 0x009e73, 0xe69f00,
                                     0xcc79a7, 0x56b4e9, 0x3d3d3d, 0xf0e442};

mlmp_color mlmp_rgba(unsigned hex, double a) {
    mlmp_color c;
    c.r = ((hex >> 16) & 0xff) / 255.0;
    c.g = ((hex >> 8) & 0xff) / 255.0;
    c.b = (hex & 0xff) / 255.0;
    c.a = a < 0 ? 0 : a > 1 ? 1 : a;
    return c;
}

mlmp_color mlmp_rgb(unsigned hex) { return mlmp_rgba(hex, 1.0); }

mlmp_color mlmp_cmap_at(mlmp_cmap cmap, double t) {
    const unsigned *tab = blues;
    size_t n = sizeof blues / sizeof blues[0];
    switch (cmap) {
    case MLMP_CMAP_RDBU: tab = rdbu; n = sizeof rdbu / sizeof rdbu[0]; break;
    case MLMP_CMAP_VIRIDIS: tab = viridis; n = sizeof viridis / sizeof viridis[0]; break;
    case MLMP_CMAP_GREYS: tab = greys; n = sizeof greys / sizeof greys[0]; break;
    default: break;
    }
    if (isnan(t)) return mlmp_rgb(0x999999);
    if (t < 0) t = 0;
    if (t > 1) t = 1;
    double f = t * (double)(n - 1);
    size_t i = (size_t)f;
    if (i >= n - 1) return mlmp_rgb(tab[n - 1]);
    double u = f - (double)i;
    mlmp_color a = mlmp_rgb(tab[i]), b = mlmp_rgb(tab[i + 1]);
    mlmp_color c = {a.r + (b.r - a.r) * u, a.g + (b.g - a.g) * u, a.b + (b.b - a.b) * u, 1.0};
    return c;
}

const char *mlmp_cmap_name(mlmp_cmap cmap) {
    switch (cmap) {
    case MLMP_CMAP_BLUES: return "blues";
    case MLMP_CMAP_RDBU: return "rdbu";
    case MLMP_CMAP_VIRIDIS: return "viridis";
    case MLMP_CMAP_GREYS: return "greys";
    default: return "?";
    }
}

size_t mlmp_palette_size(void) { return sizeof okabe_ito / sizeof okabe_ito[0]; }

mlmp_color mlmp_palette(size_t i) { return mlmp_rgb(okabe_ito[i % mlmp_palette_size()]); }

double mlmp_luminance(mlmp_color c) {
    /* sRGB -> linear, then Rec. 709 weights */
    double v[3] = {c.r, c.g, c.b};
    for (int k = 0; k < 3; k++)
        v[k] = v[k] <= 0.04045 ? v[k] / 12.92 : pow((v[k] + 0.055) / 1.055, 2.4);
    return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2];
}

char *mlmp_color_hex(mlmp_color c, char *buf) {
    int r = (int)lround(c.r * 255), g = (int)lround(c.g * 255), b = (int)lround(c.b * 255);
    snprintf(buf, 8, "#%02x%02x%02x", r & 0xff, g & 0xff, b & 0xff);
    return buf;
}
