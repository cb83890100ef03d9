/* mmap_file.h - read-only memory maps of whole files (weights are converted straight out of
 * the map, never read into a second buffer first), and the machine-memory check that refuses
 * a model too large for this machine before anything is allocated. */
#ifndef MLM_MMAP_FILE_H
#define MLM_MMAP_FILE_H
#include "common.h"

typedef struct {
    const unsigned char *data; /* the file's bytes (read-only), NULL for an empty file */
    size_t len;                /* file length in bytes */
} mlm_mmap;

/* Maps path read-only into *m. An empty file gives data NULL, len 0. Unmap with
 * mlm_mmap_close. On error *m is zeroed and e says why ("'x': cannot open: ..."). */
mlm_status mlm_mmap_open(mlm_mmap *m, const char *path, mlm_err *e);

/* Unmaps m and zeroes it; a zeroed m is a no-op. */
void mlm_mmap_close(mlm_mmap *m);

/* Physical memory of this machine in bytes (sysconf pages x page size); 0 when unknown.
 * The environment variable MLM_MEM_LIMIT (bytes) overrides it, for tests. */
uint64_t mlm_machine_memory(void);

/* MLM_OK when `bytes` fit in this machine's memory; otherwise MLM_ENOMEM with
 * "<what>: needs X MiB of memory for <purpose> but this machine has Y MiB". */
mlm_status mlm_check_memory(uint64_t bytes, const char *what, const char *purpose, mlm_err *e);

#endif
