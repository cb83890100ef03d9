/* common.h - what every module of libmicrolm shares: the scalar type, status codes, the
 * error buffer, and small file helpers (whole-file read, atomic write). */
#ifndef MLM_COMMON_H
#define MLM_COMMON_H
#include <stddef.h>
#include <stdint.h>

/* The one scalar type of the library. Build with -DMLM_DOUBLE (make SCALAR=double) for the
 * double build that the gradient checks use. */
#ifdef MLM_DOUBLE
typedef double mlm_real;
#define MLM_REAL_NAME "double"
#else
typedef float mlm_real;
#define MLM_REAL_NAME "float"
#endif

typedef enum {
    MLM_OK = 0,
    MLM_EINVAL = 1,  /* a bad argument, config field or flag */
    MLM_EIO = 2,     /* a file could not be opened, read or written */
    MLM_EFORMAT = 3, /* a file's content is malformed, truncated or inconsistent */
    MLM_ENOMEM = 4   /* an allocation failed or would be too large */
} mlm_status;

/* One-line error message, filled by the function that failed. Pass NULL to ignore. */
typedef struct { char msg[512]; } mlm_err;

/* Formats msg into e (if e is non-NULL) and returns status, so callers write
 * `return mlm_fail(e, MLM_EINVAL, "config '%s': n_heads must be positive", path);` */
mlm_status mlm_fail(mlm_err *e, mlm_status status, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Reads a whole file into a malloc'd, NUL-terminated buffer (*len excludes the NUL).
 * Refuses files larger than max_bytes. Caller frees *out. */
mlm_status mlm_read_file(const char *path, size_t max_bytes, char **out, size_t *len, mlm_err *e);

/* Writes len bytes to path atomically: a temporary file in the same directory, then rename.
 * On any failure the temporary is removed and path is left untouched. */
mlm_status mlm_write_file_atomic(const char *path, const void *data, size_t len, mlm_err *e);

/* a * b with overflow check against limit; returns 0 and sets *out, or -1 on overflow. */
int mlm_mul_ok(uint64_t a, uint64_t b, uint64_t limit, uint64_t *out);

/* Seconds from a monotonic clock. */
double mlm_now(void);

#endif
