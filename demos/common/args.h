/* args.h - strict parsing of command-line values shared by the `microlm` tool and the demos:
 * every number is checked whole ("12x" is an error), lists are comma-separated. */
#ifndef MLM_ARGS_H
#define MLM_ARGS_H
#include <stdint.h>

/* Parses a base-10 integer in [min, max]; returns 0 on success, -1 otherwise. */
int mlm_arg_long(const char *s, long min, long max, long *out);
/* Parses a finite number in [min, max]. */
int mlm_arg_double(const char *s, double min, double max, double *out);
/* Parses "1,5,9" into a malloc'd array (caller frees); each value in [min, max]; at most
 * max_count values. Returns 0 and sets *out, *n; -1 on any malformed or out-of-range item. */
int mlm_arg_int_list(const char *s, long min, long max, int max_count, int **out, int *n);

/* Thousands separators: 6738415616 -> "6,738,415,616". Returns buf. */
char *mlm_fmt_int(uint64_t v, char *buf, int cap);
/* Engineering units: 1.5e9 -> "1.50G", 2.1e6 -> "2.10M". Returns buf. */
char *mlm_fmt_si(double v, char *buf, int cap);

#endif
