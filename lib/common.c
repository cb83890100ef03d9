/* common.c - error formatting, whole-file reads, atomic writes, overflow-checked products. */
#include "common.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

mlm_status mlm_fail(mlm_err *e, mlm_status status, const char *fmt, ...) {
    if (e) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
        va_end(ap);
        /* one line: names and keys copied from a hostile file may hold newlines or escapes */
        for (char *p = e->msg; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    }
    return status;
}

mlm_status mlm_read_file(const char *path, size_t max_bytes, char **out, size_t *len, mlm_err *e) {
    *out = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return mlm_fail(e, MLM_EIO, "'%s': cannot open: %s", path, strerror(errno));
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return mlm_fail(e, MLM_EIO, "'%s': cannot seek", path); }
    long n = ftell(f);
    if (n < 0) { fclose(f); return mlm_fail(e, MLM_EIO, "'%s': cannot size (not a regular file?)", path); }
    if ((size_t)n > max_bytes) {
        fclose(f);
        return mlm_fail(e, MLM_EFORMAT, "'%s': file is %ld bytes, more than the %zu allowed", path, n, max_bytes);
    }
    rewind(f);
    char *buf = malloc((size_t)n + 1);
    if (!buf) { fclose(f); return mlm_fail(e, MLM_ENOMEM, "'%s': out of memory reading %ld bytes", path, n); }
    size_t got = fread(buf, 1, (size_t)n, f);
    fclose(f);
    if (got != (size_t)n) { free(buf); return mlm_fail(e, MLM_EIO, "'%s': short read", path); }
    buf[n] = '\0';
    *out = buf;
    if (len) *len = (size_t)n;
    return MLM_OK;
}

mlm_status mlm_write_file_atomic(const char *path, const void *data, size_t len, mlm_err *e) {
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 32);
    if (!tmp) return mlm_fail(e, MLM_ENOMEM, "'%s': out of memory", path);
    snprintf(tmp, pl + 32, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        mlm_status s = mlm_fail(e, MLM_EIO, "'%s': cannot write: %s", path, strerror(errno));
        free(tmp);
        return s;
    }
    int ok = fwrite(data, 1, len, f) == len;
    ok = (fflush(f) == 0) && ok;
    ok = (fclose(f) == 0) && ok;
    if (!ok || rename(tmp, path) != 0) {
        mlm_status s = mlm_fail(e, MLM_EIO, "'%s': write failed: %s", path, strerror(errno));
        remove(tmp);
        free(tmp);
        return s;
    }
    free(tmp);
    return MLM_OK;
}

int mlm_mul_ok(uint64_t a, uint64_t b, uint64_t limit, uint64_t *out) {
    if (a != 0 && b > limit / a) return -1;
    *out = a * b;
    return 0;
}

double mlm_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
