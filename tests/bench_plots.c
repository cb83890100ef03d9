/* bench_plots.c - time rendering six figures of six panels each (the shape of the six analyses:
 * lines, bars, heatmap, box plot, stacked areas, text box) to 2400 x 1480 PNG with Cairo.
 * Prints `plots_render_6x6_png <seconds> s` and a BENCH line for tests/bench.sh (budget 1 s). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "plot.h"
#include "plot_cairo.h"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static mlmp_figure *make_figure(int k) {
    char title[64];
    snprintf(title, sizeof title, "Benchmark figure %d", k + 1);
    mlmp_figure *fig = mlmp_figure_new(title, 2, 3);
    double x[32], y[3][32], z[64], s1[16], s2[16], s3[16];
    for (int i = 0; i < 32; i++) {
        x[i] = i;
        for (int j = 0; j < 3; j++) y[j][i] = sin(0.3 * i + j + k) + 0.1 * j;
    }
    for (int i = 0; i < 64; i++) z[i] = (i / 8 >= i % 8) ? fabs(sin(i + k)) : 0;
    for (int i = 0; i < 16; i++) { s1[i] = 1 + 0.01 * sin(i); s2[i] = 1 + 0.01 * cos(i); s3[i] = 1.3 + 0.1 * sin(3 * i + k); }
    mlmp_panel_t *p = mlmp_panel(fig, 0, 0);
    mlmp_panel_set_title(p, "Lines", "three series with markers");
    for (int j = 0; j < 3; j++) {
        char l[32];
        snprintf(l, sizeof l, "series %d", j);
        mlmp_series_set_marker(mlmp_add_line(p, x, y[j], 32, l), MLMP_MARKER_CIRCLE + j);
    }
    p = mlmp_panel(fig, 0, 1);
    mlmp_panel_set_title(p, "Heatmap", "8 x 8 with colorbar");
    mlmp_heatmap_set_numbers(mlmp_add_heatmap(p, z, 8, 8, MLMP_CMAP_BLUES), "%.1f");
    p = mlmp_panel(fig, 0, 2);
    mlmp_panel_set_title(p, "Box plots", "three groups");
    const double *g[3] = {s1, s2, s3};
    size_t n[3] = {16, 16, 16};
    const char *gn[3] = {"a", "b", "c"};
    mlmp_add_boxplot(p, g, n, 3, gn);
    mlmp_add_hline(p, 1.0, "1.0");
    p = mlmp_panel(fig, 1, 0);
    mlmp_panel_set_title(p, "Bars", "grouped, labelled");
    const char *cats[4] = {"Llama 2 7B", "Llama 2 70B", "Llama 3 8B", "Mistral 7B"};
    double b1[4] = {67, 151, 42, 42}, b2[4] = {135, 705, 176, 176};
    mlmp_panel_set_xcategories(p, cats, 4);
    mlmp_bars_set_value_format(mlmp_add_bars(p, b1, 4, "attention"), "%.0f");
    mlmp_bars_set_value_format(mlmp_add_bars(p, b2, 4, "FFN"), "%.0f");
    p = mlmp_panel(fig, 1, 1);
    mlmp_panel_set_title(p, "Stacked areas", "log2 x");
    mlmp_panel_set_xscale(p, MLMP_SCALE_LOG2);
    double L[8], a1[8], a2[8];
    for (int i = 0; i < 8; i++) { L[i] = 128 << i; a1[i] = 80 - 5 * i; a2[i] = 20 + 5 * i; }
    const double *ly[2] = {a1, a2};
    const char *ln[2] = {"FFN", "attention"};
    mlmp_add_area_stack(p, L, 8, ly, 2, ln);
    p = mlmp_panel(fig, 1, 2);
    mlmp_panel_set_text(p, "KEY NUMBERS\n===========\nd_model = 64\nheads = 4 (h_kv = 2)\nd_ff = 172\nRMS(out) = 1.315");
    return fig;
}

int main(void) {
    mlmp_figure *figs[6];
    for (int k = 0; k < 6; k++) figs[k] = make_figure(k);
    const char *tmp = getenv("MLM_TMP");
    char path[1024], err[512];
    double t0 = now();
    for (int k = 0; k < 6; k++) {
        snprintf(path, sizeof path, "%s/bench_plots_%d.png", tmp && *tmp ? tmp : "/tmp", k);
        if (mlmp_render_png(figs[k], path, err, sizeof err)) { fprintf(stderr, "microlm: %s\n", err); return 1; }
    }
    double t = now() - t0;
    for (int k = 0; k < 6; k++) {
        snprintf(path, sizeof path, "%s/bench_plots_%d.png", tmp && *tmp ? tmp : "/tmp", k);
        remove(path);
        mlmp_figure_free(figs[k]);
    }
    printf("plots_render_6x6_png %.3f s\n", t);
    printf("BENCH plots_render_6x6_png %.4f s budget_1s 1.0 %.3f\n", t, t / 1.0);
    mlmp_plots_cleanup();
    return 0;
}
