/* mmap_file.c - read-only file maps and the machine-memory check (POSIX mmap, sysconf). */
#include "mmap_file.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

mlm_status mlm_mmap_open(mlm_mmap *m, const char *path, mlm_err *e) {
    memset(m, 0, sizeof *m);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return mlm_fail(e, MLM_EIO, "'%s': cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int err = errno;
        close(fd);
        return mlm_fail(e, MLM_EIO, "'%s': cannot stat: %s", path, strerror(err));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return mlm_fail(e, MLM_EIO, "'%s': not a regular file", path);
    }
    if (sb.st_size == 0) { close(fd); return MLM_OK; }
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return mlm_fail(e, MLM_ENOMEM, "'%s': too large to map", path);
    }
    void *p = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    int err = errno;
    close(fd);
    if (p == MAP_FAILED) return mlm_fail(e, MLM_EIO, "'%s': cannot memory-map: %s", path, strerror(err));
    m->data = p;
    m->len = (size_t)sb.st_size;
    return MLM_OK;
}

void mlm_mmap_close(mlm_mmap *m) {
    if (!m) return;
    if (m->data) munmap((void *)m->data, m->len);
    m->data = NULL;
    m->len = 0;
}

uint64_t mlm_machine_memory(void) {
    const char *s = getenv("MLM_MEM_LIMIT");
    if (s && *s) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(s, &end, 10);
        if (!errno && *end == '\0' && v > 0) return (uint64_t)v;
    }
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    if (pages <= 0 || psz <= 0) return 0;
    return (uint64_t)pages * (uint64_t)psz;
}

mlm_status mlm_check_memory(uint64_t bytes, const char *what, const char *purpose, mlm_err *e) {
    uint64_t have = mlm_machine_memory();
    if (have && bytes > have)
        return mlm_fail(e, MLM_ENOMEM, "%s: needs %.0f MiB of memory for %s but this machine has %.0f MiB", what,
                        (double)bytes / 1048576.0, purpose, (double)have / 1048576.0);
    return MLM_OK;
}
