/* demo.h - what every analysis program shares: the common flags (--out, --backend, --seed,
 * --quiet), rendering a figure to PNG, SVG and PDF through Cairo or gnuplot, and writing the
 * computed numbers as JSON. Errors are printed as one line "<program>: <message>". */
#ifndef MLM_DEMO_H
#define MLM_DEMO_H
#include <stdint.h>

#include <cjson/cJSON.h>

#include "plot.h"

typedef struct {
    const char *prog;     /* program name for messages, e.g. "01_forward_pass" */
    const char *out_dir;  /* --out DIR (default "results") */
    int gnuplot;          /* --backend gnuplot */
    uint64_t seed;        /* --seed N (default 42) */
    int quiet;            /* --quiet: no tables on stdout */
} mlm_demo;

void mlm_demo_init(mlm_demo *d, const char *prog);

/* Tries argv[*i] as a common flag. Returns 1 when consumed (advancing *i past its value),
 * 0 when it is not a common flag, -1 on a bad value (message printed). */
int mlm_demo_arg(mlm_demo *d, int argc, char **argv, int *i);

/* Prints the common flags' help lines. */
void mlm_demo_usage_common(void);

/* Creates the output directory. 0 or -1 (message printed). */
int mlm_demo_prepare(const mlm_demo *d);

/* Renders fig to <out>/<base>.png, .svg and .pdf (gnuplot: also <base>.gp and .dat files).
 * Returns 0, or -1 with the message printed. A missing gnuplot falls back to Cairo with a
 * clear note. */
int mlm_demo_render(const mlm_demo *d, const mlmp_figure *fig, const char *base);

/* Writes root to <out>/<base>.json atomically and deletes root. 0 or -1 (printed). */
int mlm_demo_save_json(const mlm_demo *d, cJSON *root, const char *base);

/* Prints "<prog>: <message>" on stderr; returns 1 (the exit status). */
int mlm_demo_fail(const mlm_demo *d, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* cJSON helpers: arrays of doubles / ints. */
cJSON *mlm_json_doubles(const double *v, int n);
cJSON *mlm_json_ints(const int *v, int n);

#endif
