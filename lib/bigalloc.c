/* bigalloc.c - zeroed big arrays on huge pages where possible (contract: bigalloc.h). */
#define _DEFAULT_SOURCE /* madvise and MADV_HUGEPAGE in <sys/mman.h> */
#include "bigalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#endif

#define HUGE_PAGE ((size_t)2 << 20)

void *mlm_big_calloc(size_t n, size_t size) {
    if (size && n > SIZE_MAX / size) return NULL;
    size_t bytes = n * size;
    if (bytes > SIZE_MAX - HUGE_PAGE) return NULL;
    size_t align = bytes >= HUGE_PAGE ? HUGE_PAGE : 64;
    size_t rounded = bytes ? (bytes + align - 1) / align * align : align;
    void *p = aligned_alloc(align, rounded);
    if (!p) return NULL;
#if defined(__linux__) && defined(MADV_HUGEPAGE)
    if (align == HUGE_PAGE) (void)madvise(p, rounded, MADV_HUGEPAGE); /* a hint: refused means ordinary pages */
#endif
    memset(p, 0, rounded); /* first touch, after the hint */
    return p;
}
