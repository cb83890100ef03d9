/* test_bigalloc.c - lib/bigalloc.c: zeroed, aligned (64 bytes; 2 MiB for big arrays), NULL on
 * size overflow, usable to the last byte, and on Linux with transparent huge pages in
 * "always" or "madvise" mode a big array is actually backed by huge pages (AnonHugePages of
 * this process grows) when the kernel gives them at the first touch, which is what makes the
 * weight stream faster. */
#include "bigalloc.h"
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

static int all_zero(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; i++)
        if (p[i]) return 0;
    return 1;
}

/* kB of anonymous huge pages of this process (-1 when the kernel does not say). */
static long anon_huge_kb(void) {
    FILE *f = fopen("/proc/self/smaps_rollup", "r");
    if (!f) return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "AnonHugePages: %ld kB", &kb) == 1) break;
    fclose(f);
    return kb;
}

/* The bracketed word of a THP setting file ("" when absent). */
static void thp_setting(const char *file, char *out, size_t cap) {
    char path[128], line[256] = {0};
    snprintf(path, sizeof path, "/sys/kernel/mm/transparent_hugepage/%s", file);
    out[0] = 0;
    FILE *f = fopen(path, "r");
    if (!f) return;
    if (fgets(line, sizeof line, f)) {
        char *a = strchr(line, '['), *b = a ? strchr(a, ']') : NULL;
        if (a && b && (size_t)(b - a) < cap) { memcpy(out, a + 1, (size_t)(b - a - 1)); out[b - a - 1] = 0; }
    }
    fclose(f);
}

/* 1 when a madvised region gets huge pages at its first touch: THP "always" or "madvise",
 * and defrag that compacts at fault time for madvised regions. */
static int thp_at_fault(void) {
    char en[32], df[32];
    thp_setting("enabled", en, sizeof en);
    thp_setting("defrag", df, sizeof df);
    return (!strcmp(en, "always") || !strcmp(en, "madvise")) &&
           (!strcmp(df, "always") || !strcmp(df, "madvise") || !strcmp(df, "defer+madvise"));
}

int main(void) {
    const size_t sizes[] = {1, 63, 64, 4097, 1 << 20, (2 << 20) - 4, 2 << 20, (5 << 20) + 3};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        size_t n = sizes[i];
        unsigned char *p = mlm_big_calloc(n, 1);
        char what[120];
        snprintf(what, sizeof what, "%zu bytes: allocated, zeroed, 64-byte aligned", n);
        CHECK(p && all_zero(p, n) && (uintptr_t)p % 64 == 0, what);
        if (n >= (size_t)2 << 20) {
            snprintf(what, sizeof what, "%zu bytes: 2 MiB aligned (a huge page can back it)", n);
            CHECK((uintptr_t)p % ((size_t)2 << 20) == 0, what);
        }
        if (p) memset(p, 0xAB, n); /* every byte writable (ASan checks the bounds) */
        free(p);
    }
    float *f = mlm_big_calloc(1000, sizeof(float));
    CHECK(f && f[0] == 0.0f && f[999] == 0.0f, "n x size elements: zero floats");
    free(f);
    CHECK(mlm_big_calloc(SIZE_MAX / 2, 4) == NULL, "n x size overflowing size_t gives NULL");
    CHECK(mlm_big_calloc(SIZE_MAX - 100, 1) == NULL, "a size no allocator can round gives NULL");
    void *z = mlm_big_calloc(0, 4);
    CHECK(z != NULL, "zero elements: a valid pointer to free");
    free(z);
    /* the hint at work (skipped under sanitizers' allocators, which may place memory their way) */
    long before = anon_huge_kb();
    if (getenv("MLM_SANITIZE") || before < 0 || !thp_at_fault()) {
        CHECK(1, "huge pages: not checked here (THP off or deferred, no smaps_rollup, or a sanitizer build)");
    } else {
        size_t n = (size_t)16 << 20;
        unsigned char *p = mlm_big_calloc(n, 1);
        long after = anon_huge_kb();
        char what[160];
        snprintf(what, sizeof what, "16 MiB array: backed by huge pages (AnonHugePages %ld -> %ld kB)", before, after);
        CHECK(p && after - before >= 8192, what);
        free(p);
    }
    return check_done();
}
