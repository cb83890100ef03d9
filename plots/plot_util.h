/* plot_util.h - private helpers shared by the plots/ sources: error messages, string and array
 * copies, atomic output files. Not part of the public API (names carry the mlmp__ prefix). */
#ifndef MLMP_PLOT_UTIL_H
#define MLMP_PLOT_UTIL_H
#include <stddef.h>
#include <stdio.h>

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

/* printf-style message into err[errlen] (NULL err or 0 errlen: ignored). Returns -1 so that
 * callers can write `return mlmp__err(err, errlen, "...")`. */
int mlmp__err(char *err, size_t errlen, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Heap copy of s (NULL -> NULL). Caller frees. Returns NULL on allocation failure too. */
char *mlmp__strdup(const char *s);

/* Heap copy of n doubles (n == 0 or NULL src -> NULL). Caller frees. */
double *mlmp__dupd(const double *src, size_t n);

/* "path.tmp" for atomic writes: writes into buf, returns 0, or -1 when it does not fit. */
int mlmp__tmp_path(char *buf, size_t buflen, const char *path);

/* rename(tmp, path); on failure removes tmp, fills err and returns -1. */
int mlmp__commit_file(const char *tmp, const char *path, char *err, size_t errlen);

/* Lower-case file extension of path without the dot ("" when none); points into path. */
const char *mlmp__ext(const char *path);

/* Append printf output to a growing heap string. Returns 0, or -1 on allocation failure. */
typedef struct { char *s; size_t len, cap; int failed; } mlmp__buf;
int mlmp__bprintf(mlmp__buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
#endif
