/* test_bigalloc.c - lib/bigalloc.c: zeroed (also where the allocator hands back memory it had
 * given out and we had dirtied), aligned (64 bytes; 2 MiB for big arrays), NULL on size
 * overflow, usable to the last byte; on Linux with transparent huge pages in "always" or
 * "madvise" mode a big array's mapping is eligible for huge pages (smaps THPeligible: the
 * madvise took), and how much of it the kernel actually backed with them is reported (that
 * depends on the machine's free memory, so it is not a pass/fail check). */
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

/* THPeligible of the mapping that holds p in /proc/self/smaps: 1 or 0, -1 when not reported. */
static int thp_eligible(const void *p) {
    FILE *f = fopen("/proc/self/smaps", "r");
    if (!f) return -1;
    char line[512];
    int in = 0, res = -1;
    uintptr_t a = (uintptr_t)p;
    while (fgets(line, sizeof line, f)) {
        unsigned long lo, hi;
        char dash;
        if (sscanf(line, "%lx%c%lx ", &lo, &dash, &hi) == 3 && dash == '-') {
            if (in) break;
            in = a >= lo && a < hi;
            continue;
        }
        int v;
        if (in && sscanf(line, "THPeligible: %d", &v) == 1) { res = v; break; }
    }
    fclose(f);
    return res;
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
    /* dirty, free and ask again: the allocator may hand the same block back */
    for (int round = 0; round < 2; round++) {
        unsigned char *p = mlm_big_calloc(4096, 1);
        int zero = p && all_zero(p, 4096);
        if (p) memset(p, 0x5A, 4096);
        free(p);
        CHECK(zero, round ? "a block allocated after a dirtied one was freed: zeroed" : "a small block: zeroed");
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
    size_t n = (size_t)16 << 20;
    unsigned char *p = mlm_big_calloc(n, 1);
    int elig = p ? thp_eligible(p + n / 2) : -1;
    if (elig < 0 || !thp_at_fault()) {
        printf("huge pages: not checked here (THP off or deferred, or no THPeligible in smaps)\n");
    } else {
        CHECK(elig == 1, "16 MiB array: its mapping is eligible for transparent huge pages (the madvise took)");
        printf("  16 MiB array: AnonHugePages of this process %ld -> %ld kB\n", before, anon_huge_kb());
    }
    free(p);
    return check_done();
}
