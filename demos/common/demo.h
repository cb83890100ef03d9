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

/* One program-specific flag: its name ("--seq"), kind, destination (const char **, long *,
 * double * or int * for a flag without value), accepted range (LONG, DOUBLE) and help text. */
typedef enum { MLM_OPT_STR, MLM_OPT_LONG, MLM_OPT_DOUBLE, MLM_OPT_FLAG } mlm_opt_kind;
typedef struct {
    const char *name;
    mlm_opt_kind kind;
    void *dst;
    double min, max;
    const char *help;
} mlm_demo_opt;

/* Parses argv[1..]: the common flags, then the table. Returns 0 to go on, 1 after printing
 * the usage for --help (the caller exits 0), or 2 after printing a one-line error for a bad
 * flag or value. */
int mlm_demo_parse(mlm_demo *d, int argc, char **argv, const mlm_demo_opt *opts, int nopts, const char *usage);

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
