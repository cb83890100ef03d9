/* args.c - strict number and list parsing for command-line flags; human number formats. */
#include "args.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int mlm_arg_long(const char *s, long min, long max, long *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || *end != '\0' || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int mlm_arg_double(const char *s, double min, double max, double *out) {
    if (!s || !*s) return -1;
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || *end != '\0' || !isfinite(v) || v < min || v > max) return -1;
    *out = v;
    return 0;
}

int mlm_arg_int_list(const char *s, long min, long max, int max_count, int **out, int *n) {
    *out = NULL;
    *n = 0;
    if (!s || !*s) return -1;
    int cap = 1;
    for (const char *c = s; *c; c++) if (*c == ',') cap++;
    if (cap > max_count) return -1;
    int *v = malloc((size_t)cap * sizeof(int));
    if (!v) return -1;
    char item[32];
    int k = 0;
    const char *p = s;
    while (1) {
        const char *c = strchr(p, ',');
        size_t len = c ? (size_t)(c - p) : strlen(p);
        long x;
        if (len == 0 || len >= sizeof item) { free(v); return -1; }
        memcpy(item, p, len);
        item[len] = '\0';
        if (mlm_arg_long(item, min, max, &x)) { free(v); return -1; }
        v[k++] = (int)x;
        if (!c) break;
        p = c + 1;
    }
    *out = v;
    *n = k;
    return 0;
}

char *mlm_fmt_int(uint64_t v, char *buf, int cap) {
    char tmp[32];
    int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v), o = 0;
    for (int i = 0; i < n && o < cap - 1; i++) {
        if (i > 0 && (n - i) % 3 == 0 && o < cap - 2) buf[o++] = ',';
        buf[o++] = tmp[i];
    }
    buf[o] = '\0';
    return buf;
}

char *mlm_fmt_si(double v, char *buf, int cap) {
    const char *u[] = {"", "k", "M", "G", "T", "P", "E"};
    int i = 0;
    double a = fabs(v);
    while (a >= 1000 && i < 6) { a /= 1000; v /= 1000; i++; }
    if (i == 0) snprintf(buf, (size_t)cap, "%.0f", v);
    else snprintf(buf, (size_t)cap, "%.2f%s", v, u[i]);
    return buf;
}
