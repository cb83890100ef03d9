/* png_write.h - private: a fast PNG writer for Cairo image surfaces. Cairo's own writer goes
 * through libpng at its default (slow) zlib level and cannot be tuned; figures are mostly flat
 * colour, so a greedy LZ77 + fixed-Huffman deflate with per-row Sub/Up filters is ~5x faster
 * at a similar size. Output is a standard 8-bit RGB PNG. */
#ifndef MLMP_PNG_WRITE_H
#define MLMP_PNG_WRITE_H
#include <cairo.h>
#include <stddef.h>

/* Write an RGB24 or ARGB32 image surface to path (alpha dropped). 0, or -1 + err. */
int mlmp__png_write(cairo_surface_t *surf, const char *path, char *err, size_t errlen);
#endif
