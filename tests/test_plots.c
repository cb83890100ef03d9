/* test_plots.c - plots/: nice ticks, scales and colormaps with exact values; every series type
 * through the Cairo renderer, with known data checked at known pixels (heatmap cell, bar top,
 * line end), non-blank plot areas, legend placement, well-formed SVG / PDF, atomic writes and
 * clear errors for bad figures. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "colormap.h"
#include "plot.h"
#include "plot_cairo.h"
#include "ticks.h"
#include "diagram.h"
#include "plot_gnuplot.h"
#include "report.h"

/* ---- helpers: temp paths under $MLM_TMP, PNG pixels, whole files, PDF / SVG checks ---- */

static inline const char *tmpdir_(void) {
    const char *t = getenv("MLM_TMP");
    return t && *t ? t : "/tmp";
}

static inline void tmp_path(char *buf, size_t len, const char *name) {
    snprintf(buf, len, "%s/%s", tmpdir_(), name);
}

/* whole file into a NUL-terminated heap buffer (NULL when unreadable); *len gets its size */
static inline char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc((size_t)(n < 0 ? 0 : n) + 1);
    if (!b) { fclose(f); return NULL; }
    size_t got = fread(b, 1, (size_t)(n < 0 ? 0 : n), f);
    fclose(f);
    b[got] = 0;
    if (len) *len = got;
    return b;
}

static inline int file_exists(const char *path) {
    FILE *f = fopen(path, "rb");
    if (f) fclose(f);
    return f != NULL;
}

/* pixel (x, y) of an image surface as a colour (alpha ignored) */
static inline mlmp_color pixel(cairo_surface_t *s, int x, int y) {
    mlmp_color c = {-1, -1, -1, 1};
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    if (x < 0 || y < 0 || x >= w || y >= h) return c;
    cairo_surface_flush(s);
    const unsigned char *d = cairo_image_surface_get_data(s);
    unsigned v;
    memcpy(&v, d + (size_t)y * (size_t)cairo_image_surface_get_stride(s) + (size_t)x * 4, 4);
    c.r = ((v >> 16) & 0xff) / 255.0; c.g = ((v >> 8) & 0xff) / 255.0; c.b = (v & 0xff) / 255.0;
    return c;
}

/* largest channel difference between two colours, in 0..255 units */
static inline double color_diff(mlmp_color a, mlmp_color b) {
    double d = fabs(a.r - b.r);
    if (fabs(a.g - b.g) > d) d = fabs(a.g - b.g);
    if (fabs(a.b - b.b) > d) d = fabs(a.b - b.b);
    return d * 255.0;
}

/* fraction of pixels in a rectangle that are not (near) white */
static inline double ink_fraction(cairo_surface_t *s, double x, double y, double w, double h) {
    long ink = 0, tot = 0;
    for (int j = (int)y + 2; j < (int)(y + h) - 2; j += 2)
        for (int i = (int)x + 2; i < (int)(x + w) - 2; i += 2) {
            mlmp_color c = pixel(s, i, j);
            tot++;
            if (c.r < 0.96 || c.g < 0.96 || c.b < 0.96) ink++;
        }
    return tot ? (double)ink / (double)tot : 0;
}

/* counts "/Type /Page" objects (not "/Pages") in a PDF file; -1 when unreadable or not a PDF */
static inline int pdf_pages(const char *path) {
    size_t n;
    char *b = slurp(path, &n);
    if (!b) return -1;
    if (n < 8 || memcmp(b, "%PDF-", 5) != 0) { free(b); return -1; }
    int pages = 0;
    for (size_t i = 0; i + 10 < n; i++)
        if (!memcmp(b + i, "/Type /Page", 11) && !(i + 11 < n && b[i + 11] == 's')) pages++;
    int eof = 0;
    for (size_t i = n > 64 ? n - 64 : 0; i + 5 <= n; i++) if (!memcmp(b + i, "%%EOF", 5)) eof = 1;
    free(b);
    return eof ? pages : -1;
}

/* 1 when the file looks like a complete SVG document */
static inline int svg_ok(const char *path) {
    size_t n;
    char *b = slurp(path, &n);
    if (!b) return 0;
    int ok = !strncmp(b, "<?xml", 5) && strstr(b, "<svg") != NULL;
    size_t e = n;
    while (e > 0 && (b[e - 1] == '\n' || b[e - 1] == ' ' || b[e - 1] == '\r')) e--;
    ok = ok && e >= 6 && !memcmp(b + e - 6, "</svg>", 6);
    free(b);
    return ok;
}

static void test_ticks(void) {
    double t[64], step;
    size_t n = mlmp_nice_ticks(0, 7.3, 8, t, 64, &step);
    int ok = n == 8;
    for (size_t i = 0; ok && i < n; i++) ok = t[i] == (double)i;
    CHECK(ok && step == 1, "nice ticks [0, 7.3] max 8 are 0, 1, ..., 7");
    n = mlmp_nice_ticks(0, 7.3, 4, t, 64, &step);
    CHECK(n == 4 && t[0] == 0 && t[1] == 2 && t[2] == 4 && t[3] == 6 && step == 2, "nice ticks [0, 7.3] max 4 are 0, 2, 4, 6");
    n = mlmp_nice_ticks(-1, 1, 5, t, 64, &step);
    CHECK(n == 5 && t[0] == -1 && t[2] == 0 && t[4] == 1 && step == 0.5, "nice ticks [-1, 1] max 5 step 0.5, exact 0");
    n = mlmp_nice_ticks(0.013, 0.087, 6, t, 64, &step);
    CHECK(n >= 3 && n <= 6 && fabs(t[0] - 0.02) < 1e-12, "nice ticks on a small range start at 0.02");
    CHECK(mlmp_nice_ticks(3, 3, 5, t, 64, NULL) == 0, "empty range gives no ticks");
    CHECK(mlmp_nice_ticks(0, NAN, 5, t, 64, NULL) == 0, "NaN bound gives no ticks");
    n = mlmp_log_ticks(1, 1e5, 10, 10, t, 64);
    ok = n == 6;
    for (size_t i = 0; ok && i < n; i++) ok = fabs(t[i] - pow(10, (double)i)) < 1e-9 * t[i];
    CHECK(ok, "log ticks [1, 1e5] are the decades 1 .. 1e5");
    n = mlmp_log_ticks(3, 2000, 10, 10, t, 64);
    CHECK(n == 3 && t[0] == 10 && t[1] == 100 && t[2] == 1000, "log ticks [3, 2000] are 10, 100, 1000");
    n = mlmp_log_ticks(1e-3, 1e13, 10, 6, t, 64);
    CHECK(n >= 2 && n <= 6, "log ticks over 16 decades thinned to <= 6");
    n = mlmp_log_ticks(128, 32768, 2, 10, t, 64);
    CHECK(n == 9 && t[0] == 128 && t[8] == 32768, "log2 ticks [128, 32768] are 2^7 .. 2^15");
    n = mlmp_symlog_ticks(0, 10, 1e-12, 8, t, 64);
    CHECK(n >= 2 && n <= 8 && t[0] == 0, "symlog ticks start at 0, at most 8");
    char b[128];
    mlmp_tick_label(MLMP_SCALE_LOG, 1000, NULL, 0, b, sizeof b);
    CHECK(!strcmp(b, "10<sup>3</sup>"), "log label 10<sup>3</sup>");
    mlmp_tick_label(MLMP_SCALE_LOG, 1e-4, NULL, 0, b, sizeof b);
    CHECK(!strcmp(b, "10<sup>\xe2\x88\x92" "4</sup>"), "log label 10^-4 with a true minus");
    double lt[3] = {-2.5, 0, 2.5};
    mlmp_tick_label(MLMP_SCALE_LINEAR, -2.5, lt, 3, b, sizeof b);
    CHECK(!strcmp(b, "\xe2\x88\x92" "2.5"), "linear label -2.5");
    double lt2[3] = {0, 0.5, 1};
    mlmp_tick_label(MLMP_SCALE_LINEAR, 1, lt2, 3, b, sizeof b);
    CHECK(!strcmp(b, "1.0"), "linear labels of one axis share decimals (1.0 next to 0.5)");
    double lt3[2] = {0, 2e6};
    mlmp_tick_label(MLMP_SCALE_LINEAR, 2e6, lt3, 2, b, sizeof b);
    CHECK(strstr(b, "10<sup>6</sup>") != NULL, "huge linear values in scientific form");
    CHECK_NEAR(mlmp_scale_inv(MLMP_SCALE_SYMLOG, 0.1, mlmp_scale_fwd(MLMP_SCALE_SYMLOG, 0.1, -42.0)), -42.0, 1e-9, "symlog round trip");
    CHECK(isnan(mlmp_scale_fwd(MLMP_SCALE_LOG, 1, -1)), "log of a negative value is NaN");
    CHECK_NEAR(mlmp_scale_fwd(MLMP_SCALE_LOG2, 1, 1024), 10, 1e-12, "log2 of 1024");
}

static void test_colormaps(void) {
    char h[8];
    CHECK(!strcmp(mlmp_color_hex(mlmp_cmap_at(MLMP_CMAP_BLUES, 0), h), "#f7fbff"), "blues(0) = #f7fbff");
    CHECK(!strcmp(mlmp_color_hex(mlmp_cmap_at(MLMP_CMAP_BLUES, 1), h), "#08306b"), "blues(1) = #08306b");
    CHECK(!strcmp(mlmp_color_hex(mlmp_cmap_at(MLMP_CMAP_VIRIDIS, 0), h), "#440154"), "viridis(0) = #440154");
    CHECK(!strcmp(mlmp_color_hex(mlmp_cmap_at(MLMP_CMAP_VIRIDIS, 1), h), "#fde725"), "viridis(1) = #fde725");
    CHECK(!strcmp(mlmp_color_hex(mlmp_cmap_at(MLMP_CMAP_RDBU, 0), h), "#053061"), "rdbu(0) = dark blue #053061");
    CHECK(!strcmp(mlmp_color_hex(mlmp_cmap_at(MLMP_CMAP_RDBU, 0.5), h), "#f7f7f7"), "rdbu(0.5) = white #f7f7f7");
    CHECK(!strcmp(mlmp_color_hex(mlmp_cmap_at(MLMP_CMAP_RDBU, 1), h), "#67001f"), "rdbu(1) = dark red #67001f");
    CHECK(!strcmp(mlmp_color_hex(mlmp_cmap_at(MLMP_CMAP_BLUES, -3), h), "#f7fbff"), "t < 0 clamps");
    CHECK(!strcmp(mlmp_color_hex(mlmp_cmap_at(MLMP_CMAP_BLUES, NAN), h), "#999999"), "NaN is grey");
    /* sequential maps are monotone in luminance */
    int mono = 1;
    for (int k = 1; k <= 50; k++) {
        if (mlmp_luminance(mlmp_cmap_at(MLMP_CMAP_BLUES, k / 50.0)) > mlmp_luminance(mlmp_cmap_at(MLMP_CMAP_BLUES, (k - 1) / 50.0)) + 1e-9) mono = 0;
        if (mlmp_luminance(mlmp_cmap_at(MLMP_CMAP_VIRIDIS, k / 50.0)) < mlmp_luminance(mlmp_cmap_at(MLMP_CMAP_VIRIDIS, (k - 1) / 50.0)) - 1e-9) mono = 0;
    }
    CHECK(mono, "blues darkens and viridis brightens monotonically");
    CHECK(!strcmp(mlmp_color_hex(mlmp_palette(0), h), "#0072b2") && mlmp_palette_size() == 8, "palette is Okabe-Ito, 8 colours");
    double mind = 1e9;
    for (size_t i = 0; i < 6; i++)
        for (size_t j = i + 1; j < 6; j++) mind = fmin(mind, color_diff(mlmp_palette(i), mlmp_palette(j)));
    CHECK(mind > 60, "first six palette colours are clearly distinct");
}

/* a 2 x 3 figure with every series type and data at known places */
static mlmp_figure *all_series_figure(void) {
    mlmp_figure *fig = mlmp_figure_new("All series <i>types</i>: \xce\xb1, d<sub>k</sub>", 2, 3);
    mlmp_panel_t *p = mlmp_panel(fig, 0, 0);
    mlmp_panel_set_title(p, "Heatmap", "cell (1, 2) = 1");
    double z[16] = {0};
    z[1 * 4 + 2] = 1.0;
    z[3 * 4 + 3] = 0.5;
    mlmp_series *s = mlmp_add_heatmap(p, z, 4, 4, MLMP_CMAP_BLUES);
    mlmp_heatmap_set_range(s, 0, 1);
    mlmp_heatmap_set_numbers(s, "%.1f");
    const char *tok[4] = {"The", "cat", "sat", "on"};
    mlmp_panel_set_xcategories(p, tok, 4);
    mlmp_panel_set_ycategories(p, tok, 4);

    p = mlmp_panel(fig, 0, 1);
    mlmp_panel_set_title(p, "Bars", "grouped, value labels");
    double v[3] = {1, 2, 3};
    s = mlmp_add_bars(p, v, 3, "bars");
    mlmp_series_set_color(s, mlmp_rgb(0xd55e00));
    mlmp_add_hline(p, 1.5, "ref");
    mlmp_add_annotation(p, 0, 1, "note");

    p = mlmp_panel(fig, 0, 2);
    mlmp_panel_set_title(p, "Line and scatter", NULL);
    mlmp_panel_set_xlabel(p, "x");
    mlmp_panel_set_ylabel(p, "y");
    double x[11], y[11], c[11];
    for (int i = 0; i <= 10; i++) { x[i] = i; y[i] = i; c[i] = i; }
    s = mlmp_add_line(p, x, y, 11, "y = x");
    mlmp_series_set_color(s, mlmp_rgb(0x0072b2));
    mlmp_series_set_width(s, 3);
    double sy[11];
    for (int i = 0; i <= 10; i++) sy[i] = 10 - i;
    s = mlmp_add_scatter(p, x, sy, 11, "scatter");
    mlmp_scatter_set_values(s, c, 11, MLMP_CMAP_VIRIDIS, "c");
    mlmp_add_vline(p, 5, NULL);

    p = mlmp_panel(fig, 1, 0);
    mlmp_panel_set_title(p, "Pie", NULL);
    double pv[3] = {1, 2, 3};
    const char *pn[3] = {"a", "b", "c"};
    double ex[3] = {0, 0.1, 0};
    s = mlmp_add_pie(p, pv, 3, pn);
    mlmp_pie_set_explode(s, ex, 3);

    p = mlmp_panel(fig, 1, 1);
    mlmp_panel_set_title(p, "Box plot and areas", NULL);
    double g1[5] = {1, 2, 3, 4, 5}, g2[6] = {2, 3, 3, 3, 4, 20};
    const double *gs[2] = {g1, g2};
    size_t gc[2] = {5, 6};
    const char *gn[2] = {"one", "two"};
    mlmp_add_boxplot(p, gs, gc, 2, gn);

    p = mlmp_panel(fig, 1, 2);
    mlmp_panel_set_text(p, "text panel\n<not markup> & fine");
    return fig;
}

static void test_render(void) {
    char err[512] = "", png[1024], svg[1024], pdf[1024];
    tmp_path(png, sizeof png, "test_plots_all.png");
    tmp_path(svg, sizeof svg, "test_plots_all.svg");
    tmp_path(pdf, sizeof pdf, "test_plots_all.pdf");
    mlmp_figure *fig = all_series_figure();
    CHECK(fig && mlmp_figure_error(fig)[0] == 0, "figure with every series type builds without error");
    CHECK(mlmp_render_png(fig, png, err, sizeof err) == 0, "render PNG");
    if (err[0]) printf("  (%s)\n", err);
    CHECK(mlmp_render_svg(fig, svg, err, sizeof err) == 0 && svg_ok(svg), "render SVG: <?xml ... <svg ... </svg>");
    CHECK(mlmp_render_pdf(fig, pdf, err, sizeof err) == 0 && pdf_pages(pdf) == 1, "render PDF: one page, %%EOF");
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", png);
    CHECK(!file_exists(tmp), "no .tmp file left after a write");

    cairo_surface_t *img = cairo_image_surface_create_from_png(png);
    CHECK(cairo_surface_status(img) == CAIRO_STATUS_SUCCESS, "PNG reads back");
    CHECK(cairo_image_surface_get_width(img) == 2400 && cairo_image_surface_get_height(img) == 1480, "default PNG is 2400 x 1480");
    mlmp_layout *L = mlmp_layout_new(fig, err, sizeof err);
    CHECK(L != NULL, "layout query");
    int w, h;
    mlmp_layout_size_px(L, &w, &h);
    CHECK(w == 2400 && h == 1480, "layout size matches the PNG");
    /* every panel's plot area holds ink */
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++) {
            double x, y, pw, ph;
            char what[64];
            snprintf(what, sizeof what, "panel (%d, %d) plot area not blank", r, c);
            int ok = mlmp_layout_plot_rect(L, r, c, &x, &y, &pw, &ph) == 0 && pw > 20 && ph > 20;
            CHECK(ok && ink_fraction(img, x, y, pw, ph) > 0.02, what);
        }
    double px, py;
    /* heatmap cell (row 1, col 2) = 1.0 -> darkest blue; cell (0, 0) = 0 -> lightest */
    CHECK(mlmp_layout_data_to_px(L, 0, 0, 2, 1, &px, &py) == 0, "heatmap cell centre maps to a pixel");
    mlmp_color got = pixel(img, (int)px + 8, (int)py + 8);   /* off-centre: the number sits at the centre */
    CHECK(color_diff(got, mlmp_cmap_at(MLMP_CMAP_BLUES, 1)) < 3, "heatmap cell (1, 2) has the colour of 1.0");
    mlmp_layout_data_to_px(L, 0, 0, 0.3, 0.3, &px, &py);
    CHECK(color_diff(pixel(img, (int)px, (int)py), mlmp_cmap_at(MLMP_CMAP_BLUES, 0)) < 3, "heatmap cell (0, 0) has the colour of 0");
    mlmp_layout_data_to_px(L, 0, 0, 3.3, 3.3, &px, &py);
    CHECK(color_diff(pixel(img, (int)px, (int)py), mlmp_cmap_at(MLMP_CMAP_BLUES, 0.5)) < 3, "heatmap cell (3, 3) has the colour of 0.5");
    /* bar 2 (value 3): just below its top is bar colour, just above is not */
    CHECK(mlmp_layout_data_to_px(L, 0, 1, 2, 3, &px, &py) == 0, "bar top maps to a pixel");
    CHECK(color_diff(pixel(img, (int)px, (int)py + 4), mlmp_rgb(0xd55e00)) < 3, "below the top of bar 2 is the bar colour");
    CHECK(color_diff(pixel(img, (int)px - 15, (int)py - 4), mlmp_rgb(0xd55e00)) > 40, "above the top of bar 2 is not");
    mlmp_layout_data_to_px(L, 0, 1, 2, 2.2, &px, &py);
    CHECK(color_diff(pixel(img, (int)px, (int)py), mlmp_rgb(0xd55e00)) < 3, "bar 2 at value 2.2 is bar colour");
    /* line end (10, 10) and middle (5, 5) are line colour */
    CHECK(mlmp_layout_data_to_px(L, 0, 2, 10, 10, &px, &py) == 0, "line end maps to a pixel");
    CHECK(color_diff(pixel(img, (int)lround(px), (int)lround(py)), mlmp_rgb(0x0072b2)) < 10, "line end pixel has the line colour");
    mlmp_layout_data_to_px(L, 0, 2, 2.5, 2.5, &px, &py);
    CHECK(color_diff(pixel(img, (int)lround(px), (int)lround(py)), mlmp_rgb(0x0072b2)) < 10, "line at (2.5, 2.5) has the line colour");
    /* the line's legend must not sit on the line */
    double lx, ly, lw, lh, x0, y0, x1, y1;
    CHECK(mlmp_layout_legend_rect(L, 0, 2, &lx, &ly, &lw, &lh) == 0, "line panel has a legend");
    mlmp_layout_data_to_px(L, 0, 2, 0, 0, &x0, &y0);
    mlmp_layout_data_to_px(L, 0, 2, 10, 10, &x1, &y1);
    int hit = 0;
    for (int k = 0; k <= 100; k++) {
        double qx = x0 + (x1 - x0) * k / 100, qy = y0 + (y1 - y0) * k / 100;
        if (qx >= lx && qx <= lx + lw && qy >= ly && qy <= ly + lh) hit = 1;
        double sx = x0 + (x1 - x0) * k / 100, sy = y1 + (y0 - y1) * k / 100; /* scatter diagonal */
        if (sx >= lx && sx <= lx + lw && sy >= ly && sy <= ly + lh) hit = 1;
    }
    CHECK(!hit, "legend covers neither the line nor the scatter");
    CHECK(mlmp_layout_data_to_px(L, 1, 0, 0, 0, &px, &py) == -1, "pie panel has no data mapping");
    CHECK(mlmp_layout_plot_rect(L, 5, 5, NULL, NULL, NULL, NULL) == -1, "out-of-grid panel is an error");
    mlmp_layout_free(L);
    cairo_surface_destroy(img);
    mlmp_figure_free(fig);
    remove(png); remove(svg); remove(pdf);
}

static void test_dpi_and_log(void) {
    char err[512] = "", png[1024];
    tmp_path(png, sizeof png, "test_plots_dpi.png");
    mlmp_figure *fig = mlmp_figure_new("log", 1, 1);
    mlmp_figure_set_size_in(fig, 4, 3);
    mlmp_figure_set_dpi(fig, 100);
    mlmp_panel_t *p = mlmp_panel(fig, 0, 0);
    mlmp_panel_set_xscale(p, MLMP_SCALE_LOG);
    mlmp_panel_set_yscale(p, MLMP_SCALE_LOG);
    double x[3] = {10, 100, 1000}, y[3] = {1, 1e3, 1e6};
    mlmp_series *s = mlmp_add_line(p, x, y, 3, NULL);
    mlmp_series_set_color(s, mlmp_rgb(0x009e73));
    mlmp_series_set_width(s, 3);
    CHECK(mlmp_render_png(fig, png, err, sizeof err) == 0, "render a 4 x 3 in figure at 100 dpi");
    cairo_surface_t *img = cairo_image_surface_create_from_png(png);
    CHECK(cairo_image_surface_get_width(img) == 400 && cairo_image_surface_get_height(img) == 300, "PNG is 400 x 300");
    mlmp_layout *L = mlmp_layout_new(fig, err, sizeof err);
    double ax, ay, bx, by, cx, cy;
    mlmp_layout_data_to_px(L, 0, 0, 10, 1, &ax, &ay);
    mlmp_layout_data_to_px(L, 0, 0, 100, 1e3, &bx, &by);
    mlmp_layout_data_to_px(L, 0, 0, 1000, 1e6, &cx, &cy);
    CHECK_NEAR(bx - ax, cx - bx, 1e-9, "log x: equal decades are equal distances");
    CHECK_NEAR(by - ay, cy - by, 1e-9, "log y: equal decades are equal distances");
    mlmp_layout_data_to_px(L, 0, 0, 316.227766, 31622.7766, &bx, &by);
    CHECK(color_diff(pixel(img, (int)lround(bx), (int)lround(by)), mlmp_rgb(0x009e73)) < 12, "log-log line passes through its geometric midpoint");
    CHECK(mlmp_layout_data_to_px(L, 0, 0, -1, 1, &bx, &by) == -1, "x <= 0 on a log axis has no pixel");
    mlmp_layout_free(L);
    cairo_surface_destroy(img);
    mlmp_figure_free(fig);
    remove(png);
}

static void test_errors(void) {
    char err[512] = "";
    mlmp_figure *fig = mlmp_figure_new("bad", 1, 2);
    CHECK(mlmp_panel(fig, 3, 0) == NULL, "panel outside the grid is NULL");
    CHECK(strstr(mlmp_figure_error(fig), "outside") != NULL, "and the figure records why");
    mlmp_series *s = mlmp_add_line(mlmp_panel(fig, 0, 0), NULL, NULL, 0, "x");
    CHECK(s == NULL, "a line without data is NULL");
    mlmp_series_set_color(s, mlmp_rgb(0));   /* NULL-safe */
    char png[1024];
    tmp_path(png, sizeof png, "test_plots_bad.png");
    int rc = mlmp_render_png(fig, png, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "test_plots_bad.png") && strstr(err, "outside"), "bad figure refused with path and reason");
    CHECK(!file_exists(png), "no file written for a bad figure");
    mlmp_figure_free(fig);
    fig = mlmp_figure_new("ok", 1, 1);
    double y[2] = {1, 2};
    mlmp_add_line(mlmp_panel(fig, 0, 0), NULL, y, 2, NULL);
    rc = mlmp_render_png(fig, "/nonexistent-dir/x.png", err, sizeof err);
    CHECK(rc == -1 && strstr(err, "/nonexistent-dir/x.png"), "unwritable path: error names the file");
    rc = mlmp_render_file(fig, "/tmp/x.bmp", err, sizeof err);
    CHECK(rc == -1 && strstr(err, "extension"), "unknown extension is an error");
    CHECK(mlmp_render_png(NULL, "x.png", err, sizeof err) == -1, "NULL figure is an error");
    double pv[2] = {1, -1};
    CHECK(mlmp_add_pie(mlmp_panel(fig, 0, 0), pv, 2, NULL) == NULL, "pie with a negative value is refused");
    mlmp_figure_free(fig);
    mlmp_figure_free(NULL);
    CHECK(mlmp_figure_new("x", 0, 3) == NULL && mlmp_figure_new("x", 17, 1) == NULL, "bad grid sizes are refused");
}

static void test_copies(void) {
    /* the figure owns copies: changing the caller's arrays afterwards changes nothing */
    char err[512], a[1024], b[1024];
    tmp_path(a, sizeof a, "test_plots_copy_a.png");
    tmp_path(b, sizeof b, "test_plots_copy_b.png");
    double *y = malloc(4 * sizeof *y);
    char *label = malloc(16);
    for (int i = 0; i < 4; i++) y[i] = i;
    strcpy(label, "series");
    mlmp_figure *fig = mlmp_figure_new("copies", 1, 1);
    mlmp_figure_set_size_px(fig, 300, 200, 72);
    mlmp_add_line(mlmp_panel(fig, 0, 0), NULL, y, 4, label);
    mlmp_render_png(fig, a, err, sizeof err);
    for (int i = 0; i < 4; i++) y[i] = -100;
    strcpy(label, "changed");
    free(y); free(label);
    mlmp_render_png(fig, b, err, sizeof err);
    size_t na, nb;
    char *da = slurp(a, &na), *db = slurp(b, &nb);
    CHECK(da && db && na == nb && !memcmp(da, db, na), "figure keeps its own copies of data and labels");
    free(da); free(db);
    mlmp_figure_free(fig);
    remove(a); remove(b);
}

static void test_gnuplot(void) {
    char err[512] = "", png[1024], gp[1024], dat[1024];
    tmp_path(png, sizeof png, "test_plots_gp.png");
    tmp_path(gp, sizeof gp, "test_plots_gp.gp");
    tmp_path(dat, sizeof dat, "test_plots_gp_r0c0_s0.dat");
    mlmp_figure *fig = all_series_figure();
    /* areas and a symlog axis too, so that every series type goes through gnuplot */
    mlmp_figure *fig2 = mlmp_figure_new("areas", 1, 2);
    mlmp_figure_set_size_px(fig2, 800, 400, 100);
    double x[4] = {1, 2, 4, 8}, a[4] = {1, 2, 3, 4}, b[4] = {4, 3, 2, 1};
    const double *ly[2] = {a, b};
    const char *ln[2] = {"a", "b"};
    mlmp_panel_t *p = mlmp_panel(fig2, 0, 0);
    mlmp_panel_set_xscale(p, MLMP_SCALE_LOG2);
    mlmp_add_area_stack(p, x, 4, ly, 2, ln);
    p = mlmp_panel(fig2, 0, 1);
    mlmp_panel_set_yscale(p, MLMP_SCALE_SYMLOG);
    mlmp_panel_set_symlog_threshold(p, 1, 1e-6);
    mlmp_panel_set_bars_horizontal(p, 0);
    double v[3] = {0, 1e-3, 10};
    mlmp_bars_set_value_format(mlmp_add_bars(p, v, 3, "bars"), "%.0e");

    char *saved = getenv("MLM_GNUPLOT") ? strdup(getenv("MLM_GNUPLOT")) : NULL;
    unsetenv("MLM_GNUPLOT");
    int have = mlmp_gnuplot_available(err, sizeof err);
    if (!have) printf("  (gnuplot not installed here: %s)\n", err);
    int rc = mlmp_gnuplot_render(fig, png, err, sizeof err);
    if (rc) printf("  (%s)\n", err);
    CHECK(file_exists(gp) && file_exists(dat), "gnuplot: .gp script and .dat files written next to the output");
    size_t n;
    char *script = slurp(gp, &n);
    CHECK(script && strstr(script, "set multiplot") && strstr(script, "with image") && strstr(script, "with boxxyerror") &&
          strstr(script, "with boxplot") && strstr(script, "circle") && strstr(script, "pngcairo") &&
          strstr(script, "with points") && strstr(script, "DejaVu Sans Mono"),
          "gnuplot script holds multiplot, image, boxes, boxplot, pie wedges, points, text box");
    free(script);
    if (have) {
        CHECK(rc == 0, "gnuplot run succeeds (pclose status 0)");
        cairo_surface_t *img = cairo_image_surface_create_from_png(png);
        CHECK(cairo_surface_status(img) == CAIRO_STATUS_SUCCESS && cairo_image_surface_get_width(img) == 2400 &&
              cairo_image_surface_get_height(img) == 1480, "gnuplot PNG is 2400 x 1480");
        CHECK(ink_fraction(img, 0, 0, 2400, 1480) > 0.03, "gnuplot PNG is not blank");
        cairo_surface_destroy(img);
        char p2[1024];
        tmp_path(p2, sizeof p2, "test_plots_gp2.svg");
        CHECK(mlmp_gnuplot_render(fig2, p2, err, sizeof err) == 0 && svg_ok(p2), "gnuplot SVG (areas, log2, symlog bars) is well formed");
        remove(p2);
        tmp_path(p2, sizeof p2, "test_plots_gp2.pdf");
        CHECK(mlmp_gnuplot_render(fig2, p2, err, sizeof err) == 0 && pdf_pages(p2) == 1, "gnuplot PDF has one page");
        remove(p2);
        char tmp[1100];
        snprintf(tmp, sizeof tmp, "%s.png.tmp", png);
        CHECK(!file_exists(tmp), "no temporary gnuplot output left behind");
    }
    /* a missing gnuplot is reported clearly, and Cairo still works */
    remove(png);
    setenv("MLM_GNUPLOT", "/nonexistent/bin/gnuplot", 1);
    err[0] = 0;
    rc = mlmp_gnuplot_render(fig, png, err, sizeof err);
    CHECK(rc == MLMP_GNUPLOT_MISSING, "missing gnuplot: status MLMP_GNUPLOT_MISSING");
    CHECK(strstr(err, "gnuplot not found") && strstr(err, "/nonexistent/bin/gnuplot"), "missing gnuplot: message names the binary");
    printf("  (message: %s)\n", err);
    CHECK(!file_exists(png) && file_exists(gp), "missing gnuplot: no image, but the script is still written");
    CHECK(mlmp_gnuplot_available(err, sizeof err) == 0, "mlmp_gnuplot_available says no");
    CHECK(mlmp_render_png(fig, png, err, sizeof err) == 0 && file_exists(png), "Cairo output works without gnuplot");
    setenv("MLM_GNUPLOT", "/bin/false", 1);
    rc = mlmp_gnuplot_render(fig, png, err, sizeof err);
    CHECK(rc == -1 && strstr(err, "exit status 1"), "a failing gnuplot is reported with its exit status");
    if (saved) { setenv("MLM_GNUPLOT", saved, 1); free(saved); } else unsetenv("MLM_GNUPLOT");
    CHECK(mlmp_gnuplot_render(fig, "/tmp/x.bmp", err, sizeof err) == -1 && strstr(err, "extension"), "gnuplot: unknown extension refused");
    /* clean up the script and data files */
    remove(png); remove(gp);
    for (int r = 0; r < 2; r++)
        for (int c = 0; c < 3; c++)
            for (int k = 0; k < 4; k++) {
                char name[256];
                snprintf(name, sizeof name, "test_plots_gp_r%dc%d_s%d.dat", r, c, k);
                tmp_path(dat, sizeof dat, name); remove(dat);
                snprintf(name, sizeof name, "test_plots_gp_r%dc%d_s%d_labels.dat", r, c, k);
                tmp_path(dat, sizeof dat, name); remove(dat);
                snprintf(name, sizeof name, "test_plots_gp2_r%dc%d_s%d.dat", r, c, k);
                tmp_path(dat, sizeof dat, name); remove(dat);
            }
    tmp_path(dat, sizeof dat, "test_plots_gp2.gp"); remove(dat);
    mlmp_figure_free(fig);
    mlmp_figure_free(fig2);
}

static void test_diagram(void) {
    char err[512] = "", path[1024];
    mlmp_diagram *d = mlmp_diagram_new("block");
    int rc = mlmp_diagram_parse(d,
        "# a tiny block\n"
        "node x \"input x\" 0 0 label\n"
        "node n \"RMSNorm\" 0 1 round #e8f1fa\n"
        "node a \"attention (d<sub>k</sub> = 16)\" 0 2 box\n"
        "node p \"+\" 0 3 circle\n"
        "edge x n\nedge n a\nedge a p\nedge x p \"residual\" side\n"
        "group \"sub-layer\" n a\n", err, sizeof err);
    CHECK(rc == 0, "diagram description parses");
    double w, h;
    CHECK(mlmp_diagram_size(d, &w, &h, err, sizeof err) == 0 && w > 100 && h > 150, "diagram measures its size");
    tmp_path(path, sizeof path, "test_plots_diagram.png");
    CHECK(mlmp_diagram_render(d, path, 100, err, sizeof err) == 0, "diagram PNG");
    cairo_surface_t *img = cairo_image_surface_create_from_png(path);
    CHECK(cairo_image_surface_get_width(img) == (int)ceil(w * 100 / 72) && ink_fraction(img, 0, 0, w * 100 / 72, h * 100 / 72) > 0.03,
          "diagram PNG has the measured size and is not blank");
    cairo_surface_destroy(img);
    remove(path);
    tmp_path(path, sizeof path, "test_plots_diagram.svg");
    CHECK(mlmp_diagram_render(d, path, 100, err, sizeof err) == 0 && svg_ok(path), "diagram SVG is well formed");
    remove(path);
    tmp_path(path, sizeof path, "test_plots_diagram.pdf");
    CHECK(mlmp_diagram_render(d, path, 100, err, sizeof err) == 0 && pdf_pages(path) == 1, "diagram PDF has one page");
    remove(path);
    rc = mlmp_diagram_parse(d, "node y \"y\" 1 0\nedge y nowhere\n", err, sizeof err);
    CHECK(rc == -1 && strstr(err, "line 2") && strstr(err, "nowhere"), "bad description: error names the line and the node");
    CHECK(mlmp_diagram_node(d, "x", "dup", 0, 0, MLMP_NODE_BOX, (mlmp_color){0, 0, 0, 0}, err, sizeof err) == -1 &&
          strstr(err, "twice"), "duplicate node id refused");
    CHECK(mlmp_diagram_parse(d, "frobnicate\n", err, sizeof err) == -1 && strstr(err, "frobnicate"), "unknown keyword refused");
    mlmp_diagram_free(d);
    mlmp_diagram_free(NULL);
}

static void test_report(void) {
    char err[512] = "", path[1024];
    tmp_path(path, sizeof path, "test_plots_report.pdf");
    remove(path);
    mlmp_report *r = mlmp_report_new(path, err, sizeof err);
    CHECK(r != NULL, "report created");
    const char *sub[2] = {"subtitle one", "seed 42"};
    const char *para[2] = {"First paragraph with d<sub>k</sub> and \xce\xb1.", "Second paragraph."};
    CHECK(mlmp_report_title_page(r, "Report title", sub, 2, err, sizeof err) == 0, "title page");
    CHECK(mlmp_report_text_page(r, "Findings", para, 2, err, sizeof err) == 0, "text page");
    mlmp_figure *fig = all_series_figure();
    CHECK(mlmp_report_figure_page(r, fig, "Figure 1: all series.", err, sizeof err) == 0, "figure page");
    CHECK(mlmp_report_pages(r) == 3, "three pages so far");
    char tmp[1100];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    CHECK(!file_exists(path), "report file appears only at close");
    CHECK(mlmp_report_close(r, err, sizeof err) == 0, "report closes");
    CHECK(pdf_pages(path) == 3 && !file_exists(tmp), "report PDF has 3 pages, no .tmp left");
    remove(path);
    /* long text continues on more pages */
    r = mlmp_report_new(path, err, sizeof err);
    const char *many[60];
    for (int i = 0; i < 60; i++) many[i] = "A long paragraph that repeats itself so that the text page overflows. "
                                           "A long paragraph that repeats itself so that the text page overflows.";
    mlmp_report_text_page(r, "Long", many, 60, err, sizeof err);
    CHECK(mlmp_report_pages(r) >= 2, "long text continues on a second page");
    mlmp_report_close(r, err, sizeof err);
    remove(path);
    /* a bad figure fails the report and nothing is written */
    r = mlmp_report_new(path, err, sizeof err);
    mlmp_figure *bad = mlmp_figure_new("bad", 1, 1);
    mlmp_add_line(mlmp_panel(bad, 0, 0), NULL, NULL, 0, NULL);
    CHECK(mlmp_report_figure_page(r, bad, NULL, err, sizeof err) == -1 && strstr(err, "no data"), "bad figure page refused with the reason");
    CHECK(mlmp_report_close(r, err, sizeof err) == -1 && !file_exists(path) && !file_exists(tmp), "failed report leaves no file");
    CHECK(mlmp_report_new("/nonexistent-dir/r.pdf", err, sizeof err) == NULL && strstr(err, "/nonexistent-dir/r.pdf"), "unwritable report path: error names it");
    mlmp_figure_free(bad);
    mlmp_figure_free(fig);
}

int main(void) {
    test_ticks();
    test_colormaps();
    test_render();
    test_dpi_and_log();
    test_errors();
    test_copies();
    test_gnuplot();
    test_diagram();
    test_report();
    mlmp_plots_cleanup();
    return check_done();
}
