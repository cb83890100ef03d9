/* report.c - results/report.pdf: a title page, a summary of findings whose sentences are
 * built from the numbers each analysis computed, then one page per figure with a caption on
 * how to read it. Runs every analysis (they take well under a second each) with --seed. */
#include "analysis.h"
#include "plot_cairo.h"
#include "report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    mlm_demo d;
    mlm_demo_init(&d, "report");
    for (int i = 1; i < argc; i++) {
        int r = mlm_demo_arg(&d, argc, argv, &i);
        if (r < 0) return 2;
        if (r) continue;
        if (!strcmp(argv[i], "--help")) {
            printf("usage: report [--out DIR] [--seed N]\n  writes DIR/report.pdf from every analysis\n");
            return 0;
        }
        return mlm_demo_fail(&d, "unknown option '%s' (see --help)", argv[i]) + 1;
    }
    if (mlm_demo_prepare(&d)) return 1;
    int n = mlm_analysis_count;
    mlm_analysis_out *outs = calloc((size_t)n, sizeof *outs);
    char seed[32];
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)d.seed);
    for (int k = 0; k < n; k++) {
        char *av[] = {(char *)mlm_analyses[k].name, "--seed", seed, NULL};
        if (mlm_analyses[k].run(3, av, &outs[k]) != 0 || !outs[k].fig) {
            for (int j = 0; j <= k; j++) mlm_analysis_out_free(&outs[j]);
            free(outs);
            return mlm_demo_fail(&d, "analysis %s failed; no report written", mlm_analyses[k].name);
        }
    }
    char path[4096], err[512];
    snprintf(path, sizeof path, "%s/report.pdf", d.out_dir);
    mlmp_report *r = mlmp_report_new(path, err, sizeof err);
    int rc = r ? 0 : -1;
    const char *lines[16];
    char l1[128], l2[128], l3[256], topics[16][200];
    int nl = 0;
    lines[nl++] = "Inside a LLaMA-style transformer block, measured by an instrumented C implementation";
    for (int k = 0; k < n && nl < 12; k++) {
        snprintf(topics[k], sizeof topics[k], "%d. %s", k + 1, outs[k].title);
        lines[nl++] = topics[k];
    }
    snprintf(l1, sizeof l1, "Random seed: %llu", (unsigned long long)d.seed);
    snprintf(l2, sizeof l2, "Number of figures: %d", n);
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
    mlmp_plots_cleanup();
    if (rc) return mlm_demo_fail(&d, "%s", err);
    if (!d.quiet) printf("  wrote %s (%d pages)\n", path, pages);
    return 0;
}
