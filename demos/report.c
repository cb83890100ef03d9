/* report.c - the main job: runs every analysis once (in report order), writes each one's
 * figure (PNG, SVG, PDF; gnuplot with --backend gnuplot), diagram and JSON into --out, prints
 * their tables, then results/report.pdf: a title page, a summary of findings whose sentences
 * are built from the computed numbers, and one page per figure (and diagram) with a caption
 * on how to read it. `make demos` runs this program. */
#include "analysis.h"
#include "common.h"
#include "plot_cairo.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Writes one analysis' files: its figure, its diagram (Cairo only) and its JSON. */
static int write_outputs(const mlm_demo *d, mlm_analysis_out *o) {
    if (mlm_demo_render(d, o->fig, o->fig_name)) return -1;
    if (o->diagram) {
        const char *ext[] = {"png", "svg", "pdf"};
        char path[4096], err[512];
        for (int k = 0; k < 3; k++) {
            snprintf(path, sizeof path, "%s/%s.%s", d->out_dir, o->name, ext[k]);
            if (mlmp_diagram_render(o->diagram, path, 150, err, sizeof err)) {
                mlm_demo_fail(d, "%s", err);
                return -1;
            }
        }
        if (!d->quiet) printf("  wrote %s/%s.{png,svg,pdf} (Cairo diagram kind)\n", d->out_dir, o->name);
    }
    cJSON *j = o->json;
    o->json = NULL;
    return mlm_demo_save_json(d, j, o->name);
}

int main(int argc, char **argv) {
    mlm_demo d;
    mlm_demo_init(&d, "report");
    const char *only = NULL;
    const mlm_demo_opt opts[] = {
        {"--only", MLM_OPT_STR, &only, 0, 0, "comma-separated analyses to run, e.g. 02_parameters,05_flops_crossover (default: all)"},
    };
    int prc = mlm_demo_parse(&d, argc, argv, opts, 1,
                             "usage: report [options]\n  runs every analysis, writes their figures and JSON and DIR/report.pdf");
    if (prc) return prc == 1 ? 0 : prc;
    /* the analyses to run, in report order */
    const mlm_analysis_entry **sel = malloc(sizeof(*sel) * (size_t)mlm_analysis_count);
    int n = 0;
    for (int k = 0; k < mlm_analysis_count; k++) {
        const char *nm = mlm_analyses[k].name;
        size_t len = strlen(nm);
        int want = !only;
        for (const char *p = only; p && *p; p = strchr(p, ',') ? strchr(p, ',') + 1 : p + strlen(p))
            if (!strncmp(p, nm, len) && (p[len] == ',' || p[len] == '\0')) want = 1;
        if (want) sel[n++] = &mlm_analyses[k];
    }
    if (n == 0) { free(sel); return mlm_demo_fail(&d, "--only '%s' names no analysis", only) + 1; }
    if (mlm_demo_prepare(&d)) { free(sel); return 1; }
    mlm_analysis_out *outs = calloc((size_t)n, sizeof *outs);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)d.seed);
    double t0 = mlm_now();
    for (int k = 0; k < n; k++) {
        char *av[] = {(char *)sel[k]->name, "--seed", seed, "--out", (char *)d.out_dir, NULL};
        if (!d.quiet) printf("== %s\n", sel[k]->name);
        outs[k].verbose = !d.quiet;
        if (sel[k]->run(5, av, &outs[k]) != 0 || !outs[k].fig || write_outputs(&d, &outs[k])) {
            mlm_demo_fail(&d, "analysis %s failed; no report written", sel[k]->name);
            for (int j = 0; j <= k; j++) mlm_analysis_out_free(&outs[j]);
            free(outs);
            free(sel);
            mlmp_plots_cleanup();
            return 1;
        }
        fflush(stdout);
    }
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/report.pdf", d.out_dir);
    mlmp_report *r = mlmp_report_new(path, err, sizeof err);
    int rc = r ? 0 : -1;
    const char **lines = malloc(sizeof(char *) * (size_t)(n + 4));
    char (*topics)[200] = malloc(sizeof(*topics) * (size_t)n);
    char l1[128], l2[128], l3[256];
    int nl = 0;
    lines[nl++] = "Inside a LLaMA-style transformer block, measured by an instrumented C implementation";
    for (int k = 0; k < n; k++) {
        snprintf(topics[k], sizeof topics[k], "%d. %s", k + 1, outs[k].title);
        lines[nl++] = topics[k];
    }
    int figures = 0;
    for (int k = 0; k < n; k++) figures += 1 + (outs[k].diagram != NULL);
    snprintf(l1, sizeof l1, "Random seed: %llu", (unsigned long long)d.seed);
    snprintf(l2, sizeof l2, "Number of figures: %d", figures);
    snprintf(l3, sizeof l3, "Every number in this report comes from a run of the project's code (demos/, lib/).");
    lines[nl++] = l1;
    lines[nl++] = l2;
    lines[nl++] = l3;
    if (!rc) rc = mlmp_report_title_page(r, "MicroLM Lab: the transformer block, measured", lines, (size_t)nl, err, sizeof err);
    const char **paras = malloc(sizeof(char *) * (size_t)n);
    char (*pb)[1800] = malloc(sizeof(*pb) * (size_t)n);
    for (int k = 0; k < n; k++) {
        snprintf(pb[k], sizeof pb[k], "<b>%d. %s.</b> %s", k + 1, outs[k].title, outs[k].finding);
        paras[k] = pb[k];
    }
    if (!rc) rc = mlmp_report_text_page(r, "Summary of findings", paras, (size_t)n, err, sizeof err);
    for (int k = 0; k < n && !rc; k++) {
        char cap[2000];
        if (outs[k].diagram) {
            snprintf(cap, sizeof cap, "<b>Figure %d: %s (diagram).</b> Every box is labelled with the live shape, norm and FLOPs "
                     "of its stage in a traced forward pass.", k + 1, outs[k].title);
            rc = mlmp_report_diagram_page(r, outs[k].diagram, cap, err, sizeof err);
            if (rc) break;
        }
        snprintf(cap, sizeof cap, "<b>Figure %d: %s.</b> %s", k + 1, outs[k].title, outs[k].caption);
        rc = mlmp_report_figure_page(r, outs[k].fig, cap, err, sizeof err);
    }
    int pages = r ? mlmp_report_pages(r) : 0;
    if (r) {
        if (rc) mlmp_report_abort(r);
        else rc = mlmp_report_close(r, err, sizeof err);
    }
    for (int k = 0; k < n; k++) mlm_analysis_out_free(&outs[k]);
    free(outs);
    free(paras);
    free(pb);
    free(lines);
    free(topics);
    free(sel);
    mlmp_plots_cleanup();
    if (rc) return mlm_demo_fail(&d, "%s", err);
    if (!d.quiet) printf("== report\n  wrote %s (%d pages) in %.1f s\n", path, pages, mlm_now() - t0);
    return 0;
}
