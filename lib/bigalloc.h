/* bigalloc.h - zeroed allocations for big arrays (weights, gradients, optimizer state,
 * activations), backed by 2 MiB pages where the system offers them.
 *
 * Decoding reads every weight once per token and a training step sweeps its activations and
 * gradients several times, so these arrays are read as long streams. With 4 KiB pages such a
 * stream crosses a page, and may miss the TLB, every 4 KiB; with 2 MiB pages (Linux
 * transparent huge pages, asked for with madvise) it does so 512 times less often. On the
 * bench machine a plain read of the decode working set runs about 7% faster (docs/
 * performance.md). Where the hint is unavailable or refused the memory is ordinary: nothing
 * but speed depends on it. */
#ifndef MLM_BIGALLOC_H
#define MLM_BIGALLOC_H
#include <stddef.h>

/* n * size zeroed bytes, 64-byte aligned (NULL on overflow or when out of memory); arrays of
 * 2 MiB or more are 2 MiB aligned and marked for huge pages before they are first touched.
 * Free with free(). */
void *mlm_big_calloc(size_t n, size_t size);

#endif
