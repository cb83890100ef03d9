/* demo.c - common flags, rendering and JSON output of the analysis programs. */
#include "demo.h"
#include "args.h"
#include "common.h"
#include "plot_cairo.h"
#include "plot_gnuplot.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void mlm_demo_init(mlm_demo *d, const char *prog) {
    memset(d, 0, sizeof *d);
    d->prog = prog;
    d->out_dir = "results";
    d->seed = 42;
}

int mlm_demo_fail(const mlm_demo *d, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "%s: ", d->prog);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
}

void mlm_demo_usage_common(void) {
    printf("  --out DIR            output directory (default results)\n"
           "  --backend B          cairo (default) or gnuplot (also leaves the .gp and .dat files)\n"
           "  --seed N             random seed (default 42)\n"
           "  --quiet              no tables on stdout\n");
}

int mlm_demo_arg(mlm_demo *d, int argc, char **argv, int *i) {
    const char *a = argv[*i];
    int has = *i + 1 < argc;
    if (!strcmp(a, "--quiet")) { d->quiet = 1; return 1; }
    if (strcmp(a, "--out") && strcmp(a, "--backend") && strcmp(a, "--seed")) return 0;
    if (!has) { mlm_demo_fail(d, "%s needs a value", a); return -1; }
    const char *v = argv[++*i];
    if (!strcmp(a, "--out")) {
        if (!*v) { mlm_demo_fail(d, "--out needs a directory"); return -1; }
        d->out_dir = v;
    } else if (!strcmp(a, "--backend")) {
        if (!strcmp(v, "cairo")) d->gnuplot = 0;
        else if (!strcmp(v, "gnuplot")) d->gnuplot = 1;
        else { mlm_demo_fail(d, "--backend must be cairo or gnuplot (got '%s')", v); return -1; }
    } else {
        long s;
        if (mlm_arg_long(v, 0, 2147483647L, &s)) { mlm_demo_fail(d, "--seed '%s' is not a non-negative integer", v); return -1; }
        d->seed = (uint64_t)s;
    }
    return 1;
}

static void usage_table(const mlm_demo_opt *opts, int nopts, const char *usage) {
    printf("%s\n", usage);
    for (int k = 0; k < nopts; k++) {
        char left[64];
        snprintf(left, sizeof left, "%s%s", opts[k].name, opts[k].kind == MLM_OPT_FLAG ? "" : opts[k].kind == MLM_OPT_STR ? " S" : " N");
        printf("  %-20s %s\n", left, opts[k].help);
    }
    mlm_demo_usage_common();
}

int mlm_demo_parse(mlm_demo *d, int argc, char **argv, const mlm_demo_opt *opts, int nopts, const char *usage) {
    for (int i = 1; i < argc; i++) {
        int r = mlm_demo_arg(d, argc, argv, &i);
        if (r < 0) return 2;
        if (r) continue;
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage_table(opts, nopts, usage); return 1; }
        const mlm_demo_opt *o = NULL;
        for (int k = 0; k < nopts && !o; k++) if (!strcmp(a, opts[k].name)) o = &opts[k];
        if (!o) { mlm_demo_fail(d, "unknown option '%s' (see --help)", a); return 2; }
        if (o->kind == MLM_OPT_FLAG) { *(int *)o->dst = 1; continue; }
        if (i + 1 >= argc) { mlm_demo_fail(d, "%s needs a value", a); return 2; }
        const char *v = argv[++i];
        if (o->kind == MLM_OPT_STR) {
            if (!*v) { mlm_demo_fail(d, "%s needs a non-empty value", a); return 2; }
            *(const char **)o->dst = v;
        } else if (o->kind == MLM_OPT_LONG) {
            if (mlm_arg_long(v, (long)o->min, (long)o->max, (long *)o->dst)) {
                mlm_demo_fail(d, "%s '%s': expected an integer in [%.0f, %.0f]", a, v, o->min, o->max);
                return 2;
            }
        } else if (mlm_arg_double(v, o->min, o->max, (double *)o->dst)) {
            mlm_demo_fail(d, "%s '%s': expected a number in [%g, %g]", a, v, o->min, o->max);
            return 2;
        }
    }
    return 0;
}

int mlm_demo_prepare(const mlm_demo *d) {
    char path[4096];
    snprintf(path, sizeof path, "%s", d->out_dir);
    for (char *p = path + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(path, 0777) != 0 && errno != EEXIST) {
            mlm_demo_fail(d, "cannot create '%s': %s", path, strerror(errno));
            return -1;
        }
        *p = '/';
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        mlm_demo_fail(d, "cannot create '%s': %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

int mlm_demo_render(const mlm_demo *d, const mlmp_figure *fig, const char *base) {
    char path[4096], err[512];
    const char *ext[3] = {".svg", ".pdf", ".png"}; /* png last: the .gp left behind targets it */
    int use_gp = d->gnuplot;
    if (use_gp && !mlmp_gnuplot_available(err, sizeof err)) {
        fprintf(stderr, "%s: %s; rendering with Cairo instead\n", d->prog, err);
        use_gp = 0;
    }
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/%s%s", d->out_dir, base, ext[k]);
        int rc = use_gp ? mlmp_gnuplot_render(fig, path, err, sizeof err) : mlmp_render_file(fig, path, err, sizeof err);
        if (rc != 0) { mlm_demo_fail(d, "%s", err); return -1; }
    }
    if (!d->quiet) printf("  wrote %s/%s.{png,svg,pdf}%s\n", d->out_dir, base, use_gp ? " (gnuplot: .gp and .dat beside them)" : "");
    return 0;
}

int mlm_demo_save_json(const mlm_demo *d, cJSON *root, const char *base) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s.json", d->out_dir, base);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s) { mlm_demo_fail(d, "%s: out of memory", path); return -1; }
    mlm_err e;
    mlm_status st = mlm_write_file_atomic(path, s, strlen(s), &e);
    free(s);
    if (st) { mlm_demo_fail(d, "%s", e.msg); return -1; }
    if (!d->quiet) printf("  wrote %s\n", path);
    return 0;
}

cJSON *mlm_json_doubles(const double *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

cJSON *mlm_json_ints(const int *v, int n) {
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}
