/* plot_util.c - private helpers of plots/: error formatting, copies, atomic output files. */
#include "plot_util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mlmp__err(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

char *mlmp__strdup(const char *s) {
    if (!s) return NULL;
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

double *mlmp__dupd(const double *src, size_t n) {
    if (!src || n == 0) return NULL;
    double *d = malloc(n * sizeof *d);
    if (d) memcpy(d, src, n * sizeof *d);
    return d;
}

int mlmp__tmp_path(char *buf, size_t buflen, const char *path) {
    int k = snprintf(buf, buflen, "%s.tmp", path);
    return (k < 0 || (size_t)k >= buflen) ? -1 : 0;
}

int mlmp__commit_file(const char *tmp, const char *path, char *err, size_t errlen) {
    if (rename(tmp, path) != 0) {
        int e = errno;
        remove(tmp);
        return mlmp__err(err, errlen, "%s: cannot rename from %s: %s", path, tmp, strerror(e));
    }
    return 0;
}

const char *mlmp__ext(const char *path) {
    const char *dot = strrchr(path, '.');
    const char *slash = strrchr(path, '/');
    if (!dot || (slash && dot < slash)) return "";
    return dot + 1;
}

int mlmp__bprintf(mlmp__buf *b, const char *fmt, ...) {
    if (b->failed) return -1;
    for (;;) {
        size_t room = b->cap - b->len;
        va_list ap;
        va_start(ap, fmt);
        int k = b->s ? vsnprintf(b->s + b->len, room, fmt, ap) : -2;
        va_end(ap);
        if (k == -1) { b->failed = 1; return -1; }
        if (k >= 0 && (size_t)k < room) { b->len += (size_t)k; return 0; }
        size_t need = b->len + (k > 0 ? (size_t)k : 0) + 1;
        size_t cap = b->cap ? b->cap * 2 : 1024;
        while (cap < need) cap *= 2;
        char *ns = realloc(b->s, cap);
        if (!ns) { b->failed = 1; return -1; }
        b->s = ns; b->cap = cap;
    }
}
