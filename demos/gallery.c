/* gallery.c - every series type of plots/ through both renderers: one gallery figure as PNG,
 * SVG and PDF from Cairo and as .gp + .dat + PNG from gnuplot, a sample architecture diagram
 * (PNG, SVG, PDF) and a sample 3-page report PDF.
 *
 *   gallery --out DIR        (make gallery writes results/gallery/) */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "diagram.h"
#include "plot.h"
#include "plot_cairo.h"
#include "plot_gnuplot.h"
#include "report.h"

/* deterministic N(0,1) samples (xorshift + Box-Muller), so the gallery is reproducible */
static unsigned long long rng_state = 42;
static double urand(void) {
    rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}
static double nrand(void) {
    double u = urand(), v = urand();
    if (u < 1e-300) u = 1e-300;
    return sqrt(-2 * log(u)) * cos(2 * 3.14159265358979323846 * v);
}

static mlmp_figure *gallery_figure(void) {
    mlmp_figure *fig = mlmp_figure_new("Plot gallery: every series type of MicroLM Lab", 3, 4);
    if (!fig) return NULL;
    mlmp_figure_set_size_px(fig, 2400, 1800, 150);

    /* (0,0) lines: markers, dashes, reference line, annotation */
    mlmp_panel_t *p = mlmp_panel(fig, 0, 0);
    mlmp_panel_set_title(p, "Lines, markers and dashes", "x, attn_out and h = x + attn_out");
    mlmp_panel_set_xlabel(p, "dimension");
    mlmp_panel_set_ylabel(p, "value");
    double x[32], a[32], b[32], h[32];
    for (int i = 0; i < 32; i++) { x[i] = i; a[i] = nrand(); b[i] = 0.8 * nrand(); h[i] = a[i] + b[i]; }
    mlmp_series *s = mlmp_add_line(p, x, a, 32, "x (input)");
    mlmp_series_set_marker(s, MLMP_MARKER_CIRCLE); mlmp_series_set_width(s, 1.1); mlmp_series_set_marker_size(s, 3.5);
    s = mlmp_add_line(p, x, b, 32, "attn_out");
    mlmp_series_set_marker(s, MLMP_MARKER_SQUARE); mlmp_series_set_width(s, 1.1); mlmp_series_set_marker_size(s, 3.5);
    s = mlmp_add_line(p, x, h, 32, "h = x + attn_out");
    mlmp_series_set_marker(s, MLMP_MARKER_TRIANGLE); mlmp_series_set_dash(s, MLMP_DASH_DASHED); mlmp_series_set_width(s, 1.1);
    mlmp_add_hline(p, 0.0, NULL);
    mlmp_add_annotation(p, 9, h[9], "peak");

    /* (0,1) scatter coloured through a colormap, identity line */
    p = mlmp_panel(fig, 0, 1);
    mlmp_panel_set_title(p, "Scatter through a colormap", "hidden vs up, coloured by |gate|");
    mlmp_panel_set_xlabel(p, "up");
    mlmp_panel_set_ylabel(p, "hidden = SiLU(gate) \xc2\xb7 up");
    double up[64], hid[64], g[64];
    for (int i = 0; i < 64; i++) {
        double gate = nrand();
        up[i] = nrand(); g[i] = fabs(gate);
        hid[i] = gate / (1 + exp(-gate)) * up[i];
    }
    s = mlmp_add_scatter(p, up, hid, 64, NULL);
    mlmp_scatter_set_values(s, g, 64, MLMP_CMAP_VIRIDIS, "|gate|");
    double idx[2] = {-3, 3};
    s = mlmp_add_line(p, idx, idx, 2, "identity");
    mlmp_series_set_dash(s, MLMP_DASH_DOTTED); mlmp_series_set_color(s, mlmp_rgb(0x555555));

    /* (0,2) grouped bars with value labels */
    p = mlmp_panel(fig, 0, 2);
    mlmp_panel_set_title(p, "Grouped bars with value labels", "parameters per block (millions)");
    const char *models[] = {"Llama 2 7B", "Llama 2 70B", "Llama 3 8B", "Mistral 7B"};
    mlmp_panel_set_xcategories(p, models, 4);
    mlmp_panel_set_ylabel(p, "parameters (M)");
    double attn[4] = {67.1, 151.0, 41.9, 41.9}, ffn[4] = {135.3, 704.6, 176.2, 176.2}, norm[4] = {0.008, 0.016, 0.008, 0.008};
    s = mlmp_add_bars(p, attn, 4, "Attention"); mlmp_bars_set_value_format(s, "%.0f");
    s = mlmp_add_bars(p, ffn, 4, "FFN (SwiGLU)"); mlmp_bars_set_value_format(s, "%.0f");
    mlmp_add_bars(p, norm, 4, "Norms (\xc3\x97" "2)");

    /* (0,3) stacked percentage bars, labels inside, 2/3 line */
    p = mlmp_panel(fig, 0, 3);
    mlmp_panel_set_title(p, "Stacked bars, labels inside", "FFN share: 67% with MHA, 80%+ with GQA");
    mlmp_panel_set_xcategories(p, models, 4);
    mlmp_panel_set_ylabel(p, "% of block parameters");
    mlmp_panel_set_bar_mode(p, MLMP_BARS_STACKED);
    double fp[4] = {66.8, 82.4, 80.8, 80.8}, ap[4] = {33.2, 17.6, 19.2, 19.2};
    s = mlmp_add_bars(p, fp, 4, "FFN %"); mlmp_bars_set_value_format(s, "%.1f%%"); mlmp_bars_set_labels_inside(s, 1);
    mlmp_series_set_color(s, mlmp_rgb(0xd55e00));
    s = mlmp_add_bars(p, ap, 4, "Attention %"); mlmp_bars_set_value_format(s, "%.1f%%"); mlmp_bars_set_labels_inside(s, 1);
    mlmp_series_set_color(s, mlmp_rgb(0x0072b2));
    mlmp_add_hline(p, 200.0 / 3, "2/3 mark");

    /* (1,0) horizontal bars, one colour per group */
    p = mlmp_panel(fig, 1, 0);
    mlmp_panel_set_title(p, "Horizontal bars", "Frobenius norm of every step");
    const char *steps[] = {"input x", "x_norm", "Q", "K", "V", "Q after RoPE", "attention A", "attn_out", "h = x + attn", "output"};
    double norms[10] = {31.7, 32.0, 31.8, 26.5, 26.4, 31.8, 5.4, 24.0, 40.6, 42.3};
    mlmp_color cols[10];
    unsigned grp[10] = {0x0072b2, 0x0072b2, 0x009e73, 0x009e73, 0x009e73, 0x009e73, 0xcc79a7, 0xcc79a7, 0xe69f00, 0x3d3d3d};
    for (int i = 0; i < 10; i++) cols[i] = mlmp_rgb(grp[i]);
    mlmp_panel_set_bars_horizontal(p, 1);
    mlmp_panel_set_ycategories(p, steps, 10);
    mlmp_panel_set_xlabel(p, "\xe2\x80\x96T\xe2\x80\x96<sub>F</sub>");
    s = mlmp_add_bars(p, norms, 10, NULL);
    mlmp_series_set_colors(s, cols, 10);
    mlmp_bars_set_value_format(s, "%.1f");

    /* (1,1) stacked areas with a vertical crossover line, log2 x axis */
    p = mlmp_panel(fig, 1, 1);
    mlmp_panel_set_title(p, "Stacked areas, log\xe2\x82\x82 axis", "FLOP share vs sequence length");
    mlmp_panel_set_xscale(p, MLMP_SCALE_LOG2);
    mlmp_panel_set_xlabel(p, "sequence length L");
    mlmp_panel_set_ylabel(p, "% of FLOPs");
    double L[9], sf[9], sp[9], sc[9];
    for (int i = 0; i < 9; i++) {
        L[i] = 128.0 * pow(2, i);
        double f = 6 * 4096.0 * 14336, pr = 2 * 4096.0 * 4096 * 2 + 4 * 4096.0 * 1024, c = (4 * 128 + 5) * 32 * L[i];
        double t = f + pr + c;
        sf[i] = 100 * f / t; sp[i] = 100 * pr / t; sc[i] = 100 * c / t;
    }
    const double *layers[3] = {sf, sp, sc};
    const char *lnames[3] = {"FFN", "Attn proj", "Attn core"};
    mlmp_add_area_stack(p, L, 9, layers, 3, lnames);
    mlmp_add_vline(p, 21296, "crossover L = 21296");

    /* (1,2) pie with pulled-out wedges */
    p = mlmp_panel(fig, 1, 2);
    mlmp_panel_set_title(p, "Pie with pulled-out wedges", "Llama 3 8B block: 218.1M parameters");
    double pv[7] = {16.8, 4.2, 4.2, 16.8, 58.7, 58.7, 58.7};
    const char *pn[7] = {"W<sub>Q</sub>", "W<sub>K</sub>", "W<sub>V</sub>", "W<sub>O</sub>", "W<sub>gate</sub>", "W<sub>up</sub>", "W<sub>down</sub>"};
    double ex[7] = {0, 0, 0, 0, 0.06, 0.06, 0.06};
    mlmp_color pc[7];
    for (int i = 0; i < 7; i++) pc[i] = mlmp_rgb(i < 4 ? (i % 2 ? 0x56b4e9 : 0x0072b2) : (i % 2 ? 0xe69f00 : 0xd55e00));
    s = mlmp_add_pie(p, pv, 7, pn);
    mlmp_pie_set_explode(s, ex, 7);
    mlmp_series_set_colors(s, pc, 7);

    /* (1,3) heatmap with numbers and token tick labels */
    p = mlmp_panel(fig, 1, 3);
    mlmp_panel_set_title(p, "Heatmap with numbers", "causal attention weights, token labels");
    const char *tok[6] = {"The", "cat", "sat", "on", "the", "mat"};
    double att[36];
    for (int i = 0; i < 6; i++) {
        double sum = 0;
        for (int j = 0; j < 6; j++) { att[i * 6 + j] = j <= i ? exp(nrand()) : 0; sum += att[i * 6 + j]; }
        for (int j = 0; j < 6; j++) att[i * 6 + j] /= sum;
    }
    s = mlmp_add_heatmap(p, att, 6, 6, MLMP_CMAP_BLUES);
    mlmp_heatmap_set_range(s, 0, 1);
    mlmp_heatmap_set_numbers(s, "%.2f");
    mlmp_heatmap_set_colorbar(s, 1, "weight");
    mlmp_panel_set_xcategories(p, tok, 6);
    mlmp_panel_set_ycategories(p, tok, 6);
    mlmp_panel_set_xlabel(p, "key");
    mlmp_panel_set_ylabel(p, "query");

    /* (2,0) box plots with a dashed reference line */
    p = mlmp_panel(fig, 2, 0);
    mlmp_panel_set_title(p, "Box plots", "per-token RMS; output is not normalised");
    double s1[16], s2[16], s3[16];
    for (int i = 0; i < 16; i++) { s1[i] = 1 + 0.002 * nrand(); s2[i] = 1 + 0.002 * nrand(); s3[i] = 1.3 + 0.12 * nrand(); }
    s3[3] = 1.75;
    const double *smp[3] = {s1, s2, s3};
    size_t cnt[3] = {16, 16, 16};
    const char *bn[3] = {"x_norm\n(pre-attn)", "h_norm\n(pre-FFN)", "output\n(post-block)"};
    mlmp_add_boxplot(p, smp, cnt, 3, bn);
    s = mlmp_add_hline(p, 1.0, "RMS = 1.0");
    mlmp_series_set_color(s, mlmp_rgb(0xd55e00));
    mlmp_panel_set_ylabel(p, "RMS");

    /* (2,1) log-log lines */
    p = mlmp_panel(fig, 2, 1);
    mlmp_panel_set_title(p, "Log-log lines", "attention core is O(L\xc2\xb2), the rest O(L)");
    mlmp_panel_set_xscale(p, MLMP_SCALE_LOG);
    mlmp_panel_set_yscale(p, MLMP_SCALE_LOG);
    mlmp_panel_set_xlabel(p, "sequence length L");
    mlmp_panel_set_ylabel(p, "FLOPs");
    double fc[9], ff[9], fr[9];
    for (int i = 0; i < 9; i++) { fc[i] = (4 * 128 + 5) * 32 * L[i] * L[i]; ff[i] = 6 * 4096.0 * 14336 * L[i]; fr[i] = 4096.0 * 6 * L[i]; }
    s = mlmp_add_line(p, L, fc, 9, "attn core QK<sup>T</sup>+AV"); mlmp_series_set_marker(s, MLMP_MARKER_SQUARE);
    s = mlmp_add_line(p, L, ff, 9, "FFN SwiGLU"); mlmp_series_set_marker(s, MLMP_MARKER_TRIANGLE);
    s = mlmp_add_line(p, L, fr, 9, "RoPE"); mlmp_series_set_marker(s, MLMP_MARKER_DIAMOND);
    s = mlmp_add_vline(p, 21296, "core = FFN at L = 21296");
    mlmp_series_set_color(s, mlmp_rgb(0xd55e00));

    /* (2,2) symlog bars coloured per bar, threshold line, annotations */
    p = mlmp_panel(fig, 2, 2);
    mlmp_panel_set_title(p, "Symlog axis", "green = unaffected (0..3), red = affected (4..7)");
    mlmp_panel_set_yscale(p, MLMP_SCALE_SYMLOG);
    mlmp_panel_set_symlog_threshold(p, 1, 1e-12);
    double d[8] = {0, 0, 0, 0, 11.2, 12.5, 10.9, 11.8};
    mlmp_color dc[8];
    for (int i = 0; i < 8; i++) dc[i] = mlmp_rgb(i < 4 ? 0x009e73 : 0xd55e00);
    s = mlmp_add_bars(p, d, 8, NULL);
    mlmp_series_set_colors(s, dc, 8);
    mlmp_add_hline(p, 1e-12, "10<sup>\xe2\x88\x92" "12</sup> threshold");
    mlmp_panel_set_xlabel(p, "token position");
    mlmp_panel_set_ylabel(p, "\xe2\x80\x96\xce\x94 output\xe2\x80\x96");
    s = mlmp_add_annotation(p, 1.5, 1e-9, "unaffected");
    mlmp_series_set_color(s, mlmp_rgb(0x009e73));

    /* (2,3) text box */
    p = mlmp_panel(fig, 2, 3);
    mlmp_panel_set_title(p, "Monospace text box", NULL);
    mlmp_panel_set_text(p,
        "PRE-NORM DECODER BLOCK\n"
        "======================\n"
        "d_model = 64   d_k = 16\n"
        "heads   = 4    (h_kv = 2)\n"
        "d_ff    = 172\n\n"
        "x -> RMSNorm -> Q,K,V -> RoPE\n"
        "  -> GQA attention -> W_O\n"
        "  -> + x  (residual 1)\n"
        "h -> RMSNorm -> SwiGLU FFN\n"
        "  -> + h  (residual 2)\n\n"
        "RMS(x_norm) = 1.000\n"
        "RMS(output) = 1.315 (not normalised)");
    return fig;
}

/* A pre-norm decoder block, described as text: the diagram kind knows only boxes and arrows. */
static const char *BLOCK_DIAGRAM =
    "title \"Pre-norm decoder block (LLaMA style)\"\n"
    "node x     \"input x  (B, T, d<sub>model</sub>)\" 0 0 label\n"
    "node n1    \"RMSNorm\"                   0 1 round #e8f1fa\n"
    "node qkv   \"W<sub>Q</sub>, W<sub>K</sub>, W<sub>V</sub>\" 0 2 box #dcecf7\n"
    "node rope  \"RoPE on Q, K\"              0 3 box #dcecf7\n"
    "node attn  \"causal GQA attention\\nsoftmax(QK<sup>T</sup>/\xe2\x88\x9a" "d<sub>k</sub>) V\" 0 4 box #dcecf7\n"
    "node wo    \"W<sub>O</sub>\"             0 5 box #dcecf7\n"
    "node add1  \"+\"                         0 6 circle\n"
    "node n2    \"RMSNorm\"                   0 7 round #e8f1fa\n"
    "node ffn   \"SwiGLU FFN\\n(SiLU(xW<sub>gate</sub>) \xc2\xb7 xW<sub>up</sub>) W<sub>down</sub>\" 0 8 box #fbe3d3\n"
    "node add2  \"+\"                         0 9 circle\n"
    "node out   \"output  (B, T, d<sub>model</sub>)\" 0 10 label\n"
    "edge x n1\nedge n1 qkv\nedge qkv rope\nedge rope attn\nedge attn wo\nedge wo add1\n"
    "edge add1 n2\nedge n2 ffn\nedge ffn add2\nedge add2 out\n"
    "edge x add1 \"residual 1\" side\n"
    "edge add1 add2 \"residual 2\" side\n"
    "group \"attention sub-layer\" n1 qkv rope attn wo #e6f0fa\n"
    "group \"feed-forward sub-layer\" n2 ffn #fdeee4\n";

static int write_diagram(const char *out, char *err, size_t errlen) {
    mlmp_diagram *d = mlmp_diagram_new(NULL);
    if (!d) return snprintf(err, errlen, "out of memory"), -1;
    int rc = mlmp_diagram_parse(d, BLOCK_DIAGRAM, err, errlen);
    static const char *ext[] = {"png", "svg", "pdf"};
    char path[4096];
    for (int k = 0; k < 3 && !rc; k++) {
        snprintf(path, sizeof path, "%s/diagram.%s", out, ext[k]);
        rc = mlmp_diagram_render(d, path, 150, err, errlen);
        if (!rc) printf("wrote %s\n", path);
    }
    mlmp_diagram_free(d);
    return rc;
}

static int write_report(const char *out, const mlmp_figure *fig, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/gallery_report.pdf", out);
    mlmp_report *r = mlmp_report_new(path, err, errlen);
    if (!r) return -1;
    const char *sub[] = {"Plot gallery and report sample", "every series type, both renderers", "seed 42, 3 pages"};
    const char *para[] = {
        "<b>What this is.</b> A sample of the report the analyses write: a title page, a page of findings and "
        "one page per figure. Figures are drawn straight into the PDF as vectors, so they stay sharp at any zoom.",
        "<b>Text.</b> Paragraphs are pango markup, so d<sub>k</sub>, QK<sup>T</sup>, \xce\xb1 and \xe2\x88\x9a render as "
        "typeset text, and long paragraphs wrap to the page width and continue on a new page when they run out of room.",
        "<b>Figures.</b> The next page holds the gallery figure with its caption underneath."};
    int rc = mlmp_report_title_page(r, "MicroLM Lab", sub, 3, err, errlen);
    if (!rc) rc = mlmp_report_text_page(r, "Summary of findings", para, 3, err, errlen);
    if (!rc) rc = mlmp_report_figure_page(r, fig, "Figure 1: every series type of the figure model, drawn by the Cairo renderer.", err, errlen);
    if (rc) { mlmp_report_abort(r); return -1; }
    rc = mlmp_report_close(r, err, errlen);
    if (!rc) printf("wrote %s\n", path);
    return rc;
}

static int ensure_dir(const char *dir) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *q = buf + 1; *q; q++)
        if (*q == '/') { *q = 0; if (mkdir(buf, 0777) && errno != EEXIST) return -1; *q = '/'; }
    if (mkdir(buf, 0777) && errno != EEXIST) return -1;
    return 0;
}

int main(int argc, char **argv) {
    const char *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--out") && i + 1 < argc) out = argv[++i];
        else { fprintf(stderr, "usage: gallery --out DIR\n"); return 2; }
    }
    if (!out) { fprintf(stderr, "usage: gallery --out DIR\n"); return 2; }
    if (ensure_dir(out)) { fprintf(stderr, "microlm: cannot create directory %s: %s\n", out, strerror(errno)); return 1; }
    char err[512], path[4096];
    int status = 0;
    mlmp_figure *fig = gallery_figure();
    if (!fig) { fprintf(stderr, "microlm: out of memory\n"); return 1; }
    static const char *ext[] = {"png", "svg", "pdf"};
    for (int k = 0; k < 3; k++) {
        snprintf(path, sizeof path, "%s/gallery.%s", out, ext[k]);
        if (mlmp_render_file(fig, path, err, sizeof err)) { fprintf(stderr, "microlm: %s\n", err); status = 1; }
        else printf("wrote %s\n", path);
    }
    snprintf(path, sizeof path, "%s/gallery_gnuplot.png", out);
    int rc = mlmp_gnuplot_render(fig, path, err, sizeof err);
    if (rc == MLMP_GNUPLOT_MISSING) fprintf(stderr, "microlm: %s (the Cairo files above are complete)\n", err);
    else if (rc) { fprintf(stderr, "microlm: %s\n", err); status = 1; }
    else printf("wrote %s (+ gallery_gnuplot.gp and its .dat files)\n", path);
    if (write_report(out, fig, err, sizeof err)) { fprintf(stderr, "microlm: %s\n", err); status = 1; }
    if (write_diagram(out, err, sizeof err)) { fprintf(stderr, "microlm: %s\n", err); status = 1; }
    mlmp_figure_free(fig);
    mlmp_plots_cleanup();
    return status;
}
