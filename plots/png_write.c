/* png_write.c - fast PNG encoder (see png_write.h): CRC-32, Adler-32, per-row filter choice,
 * greedy hash-chain-free LZ77 with a 32 KiB window and the fixed Huffman code of RFC 1951. */
#include "png_write.h"
#include "plot_util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { unsigned char *p; size_t len, cap; int failed; uint64_t bits; int nbits; } obuf;

static void ob_reserve(obuf *o, size_t more) {
    if (o->failed || o->len + more <= o->cap) return;
    size_t nc = o->cap ? o->cap : 1 << 16;
    while (nc < o->len + more) nc *= 2;
    unsigned char *np = realloc(o->p, nc);
    if (!np) { o->failed = 1; return; }
    o->p = np; o->cap = nc;
}
static void ob_byte(obuf *o, unsigned b) { ob_reserve(o, 1); if (!o->failed) o->p[o->len++] = (unsigned char)b; }
static void ob_be32(obuf *o, uint32_t v) { ob_byte(o, v >> 24); ob_byte(o, (v >> 16) & 255); ob_byte(o, (v >> 8) & 255); ob_byte(o, v & 255); }

/* LSB-first bit writer; the caller reserves room for the whole deflate stream first */
static inline void put_bits(obuf *o, uint32_t v, int n) {
    o->bits |= (uint64_t)v << o->nbits;
    o->nbits += n;
    if (o->nbits >= 32) {
        if (o->len + 4 <= o->cap) {
            o->p[o->len] = (unsigned char)o->bits; o->p[o->len + 1] = (unsigned char)(o->bits >> 8);
            o->p[o->len + 2] = (unsigned char)(o->bits >> 16); o->p[o->len + 3] = (unsigned char)(o->bits >> 24);
            o->len += 4;
        } else o->failed = 1;
        o->bits >>= 32; o->nbits -= 32;
    }
}
static void flush_bits(obuf *o) {
    while (o->nbits > 0) { ob_byte(o, (unsigned)(o->bits & 255)); o->bits >>= 8; o->nbits -= 8; }
    o->nbits = 0; o->bits = 0;
}
static inline uint32_t rev(uint32_t v, int n) {
    uint32_t r = 0;
    for (int i = 0; i < n; i++) { r = (r << 1) | (v & 1); v >>= 1; }
    return r;
}
/* fixed Huffman literal/length codes, bit-reversed for the LSB-first writer */
static uint32_t sym_code[288];
static int sym_len[288];
static void sym_init(void) {
    for (int s = 0; s < 288; s++) {
        if (s < 144) { sym_code[s] = rev(0x30 + (uint32_t)s, 8); sym_len[s] = 8; }
        else if (s < 256) { sym_code[s] = rev(0x190 + (uint32_t)(s - 144), 9); sym_len[s] = 9; }
        else if (s < 280) { sym_code[s] = rev((uint32_t)(s - 256), 7); sym_len[s] = 7; }
        else { sym_code[s] = rev(0xc0 + (uint32_t)(s - 280), 8); sym_len[s] = 8; }
    }
}
static inline void put_sym(obuf *o, int s) { put_bits(o, sym_code[s], sym_len[s]); }

static const int LBASE[29] = {3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258};
static const int LEXTRA[29] = {0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0};
static const int DBASE[30] = {1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577};
static const int DEXTRA[30] = {0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13};

static void put_match(obuf *o, int len, int dist) {
    int l = 28;
    while (LBASE[l] > len) l--;
    put_sym(o, 257 + l);
    if (LEXTRA[l]) put_bits(o, (uint32_t)(len - LBASE[l]), LEXTRA[l]);
    int d = 29;
    while (DBASE[d] > dist) d--;
    put_bits(o, rev((uint32_t)d, 5), 5);
    if (DEXTRA[d]) put_bits(o, (uint32_t)(dist - DBASE[d]), DEXTRA[d]);
}

#define HBITS 16
static void deflate_fixed(obuf *o, const unsigned char *d, size_t n) {
    int32_t *head = malloc(sizeof(int32_t) << HBITS);
    if (!head) { o->failed = 1; return; }
    memset(head, 0xff, sizeof(int32_t) << HBITS);
    ob_reserve(o, n + n / 8 + 1024);   /* fixed codes: at most 9 bits per byte */
    if (o->failed) { free(head); return; }
    put_bits(o, 1, 1);   /* BFINAL */
    put_bits(o, 1, 2);   /* BTYPE = 01, fixed Huffman */
    size_t i = 0;
    while (i < n) {
        int best = 0, bdist = 0;
        if (i + 3 <= n) {
            uint32_t h = ((uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2]) * 2654435761u >> (32 - HBITS);
            /* candidates: the hashed position, one pixel back (3) and one byte back (1) */
            int32_t cands[3] = {(int32_t)i - 1, (int32_t)i - 3, head[h]};
            head[h] = (int32_t)i;
            size_t maxl = n - i < 258 ? n - i : 258;
            for (int k = 0; k < 3; k++) {
                int32_t c = cands[k];
                if (c < 0 || (size_t)c >= i || i - (size_t)c > 32768) continue;
                size_t l = 0;
                const unsigned char *pa = d + (size_t)c, *pb = d + i;
                while (l + 8 <= maxl) {
                    uint64_t x, y;
                    memcpy(&x, pa + l, 8); memcpy(&y, pb + l, 8);
                    if (x != y) break;
                    l += 8;
                }
                while (l < maxl && pa[l] == pb[l]) l++;
                if ((int)l > best) { best = (int)l; bdist = (int)(i - (size_t)c); }
                if (l == maxl) break;
            }
        }
        if (best >= 3) {
            put_match(o, best, bdist);
            /* index a few positions inside long matches so later text finds them */
            size_t end = i + (size_t)best;
            for (size_t j = i + 1; j + 3 <= n && j < end && j < i + 16; j++) {
                uint32_t h = ((uint32_t)d[j] << 16 | (uint32_t)d[j + 1] << 8 | d[j + 2]) * 2654435761u >> (32 - HBITS);
                head[h] = (int32_t)j;
            }
            i = end;
        } else put_sym(o, d[i++]);
    }
    put_sym(o, 256);
    flush_bits(o);
    free(head);
}

static uint32_t crc_table[256];
static int crc_ready;
static void crc_init(void) {
    for (uint32_t n = 0; n < 256; n++) {
        uint32_t c = n;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320u ^ (c >> 1) : c >> 1;
        crc_table[n] = c;
    }
    crc_ready = 1;
}
static uint32_t crc(const unsigned char *p, size_t n) {
    uint32_t c = 0xffffffffu;
    for (size_t i = 0; i < n; i++) c = crc_table[(c ^ p[i]) & 255] ^ (c >> 8);
    return c ^ 0xffffffffu;
}

static void chunk(obuf *o, const char *type, const unsigned char *data, size_t n) {
    ob_be32(o, (uint32_t)n);
    size_t start = o->len;
    for (int k = 0; k < 4; k++) ob_byte(o, (unsigned char)type[k]);
    ob_reserve(o, n);
    if (o->failed) return;
    if (n) memcpy(o->p + o->len, data, n);
    o->len += n;
    ob_be32(o, crc(o->p + start, n + 4));
}

int mlmp__png_write(cairo_surface_t *surf, const char *path, char *err, size_t errlen) {
    if (!crc_ready) { crc_init(); sym_init(); }
    cairo_surface_flush(surf);
    int w = cairo_image_surface_get_width(surf), h = cairo_image_surface_get_height(surf);
    int stride = cairo_image_surface_get_stride(surf);
    const unsigned char *src = cairo_image_surface_get_data(surf);
    if (!src || w <= 0 || h <= 0) return mlmp__err(err, errlen, "plots: %s: empty image", path);
    size_t rowb = (size_t)w * 3, rawn = (rowb + 1) * (size_t)h;
    unsigned char *raw = malloc(rawn), *prev = calloc(rowb, 1), *cur = malloc(rowb);
    if (!raw || !prev || !cur) { free(raw); free(prev); free(cur); return mlmp__err(err, errlen, "plots: %s: out of memory", path); }
    for (int y = 0; y < h; y++) {
        const uint32_t *px = (const uint32_t *)(const void *)(src + (size_t)y * (size_t)stride);
        for (int x = 0; x < w; x++) {
            uint32_t v = px[x];
            cur[3 * x] = (unsigned char)(v >> 16); cur[3 * x + 1] = (unsigned char)(v >> 8); cur[3 * x + 2] = (unsigned char)v;
        }
        unsigned char *out = raw + (size_t)y * (rowb + 1);
        /* choose Sub or Up by the smaller sum of |filtered byte| */
        unsigned long ssub = 0, sup = 0;
        for (size_t i = 0; i < rowb; i += 5) {   /* a sample of the row is enough to choose */
            unsigned char a = (unsigned char)(cur[i] - (i >= 3 ? cur[i - 3] : 0)), b = (unsigned char)(cur[i] - prev[i]);
            ssub += a < 128 ? a : 256 - a;
            sup += b < 128 ? b : 256 - b;
        }
        if (y > 0 && sup < ssub) {
            out[0] = 2;
            for (size_t i = 0; i < rowb; i++) out[1 + i] = (unsigned char)(cur[i] - prev[i]);
        } else {
            out[0] = 1;
            for (size_t i = 0; i < rowb; i++) out[1 + i] = (unsigned char)(cur[i] - (i >= 3 ? cur[i - 3] : 0));
        }
        unsigned char *t = prev; prev = cur; cur = t;
    }
    free(prev); free(cur);
    obuf z = {0};
    ob_byte(&z, 0x78); ob_byte(&z, 0x01);
    deflate_fixed(&z, raw, rawn);
    uint32_t a = 1, b = 0;
    for (size_t i = 0; i < rawn;) {
        size_t blk = rawn - i < 5552 ? rawn - i : 5552;
        const unsigned char *q = raw + i;
        size_t k = 0;
        for (; k + 4 <= blk; k += 4) {
            a += q[k]; b += a; a += q[k + 1]; b += a; a += q[k + 2]; b += a; a += q[k + 3]; b += a;
        }
        for (; k < blk; k++) { a += q[k]; b += a; }
        a %= 65521; b %= 65521; i += blk;
    }
    ob_be32(&z, b << 16 | a);
    free(raw);
    obuf o = {0};
    static const unsigned char sig[8] = {137, 80, 78, 71, 13, 10, 26, 10};
    for (int k = 0; k < 8; k++) ob_byte(&o, sig[k]);
    unsigned char ihdr[13] = {(unsigned char)(w >> 24), (unsigned char)(w >> 16), (unsigned char)(w >> 8), (unsigned char)w,
                              (unsigned char)(h >> 24), (unsigned char)(h >> 16), (unsigned char)(h >> 8), (unsigned char)h,
                              8, 2, 0, 0, 0};
    chunk(&o, "IHDR", ihdr, 13);
    if (!z.failed) chunk(&o, "IDAT", z.p, z.len);
    chunk(&o, "IEND", NULL, 0);
    free(z.p);
    if (o.failed || z.failed) { free(o.p); return mlmp__err(err, errlen, "plots: %s: out of memory encoding PNG", path); }
    FILE *f = fopen(path, "wb");
    if (!f) { free(o.p); return mlmp__err(err, errlen, "plots: %s: cannot write: %s", path, strerror(errno)); }
    int bad = fwrite(o.p, 1, o.len, f) != o.len;
    bad |= fclose(f) != 0;
    free(o.p);
    if (bad) { remove(path); return mlmp__err(err, errlen, "plots: %s: write failed", path); }
    return 0;
}
