/* test_plots_text.c - text panels are plain text in both renderers: '<', '>' and '&' reach the
 * gnuplot script as written (markup is parsed only in titles, labels and annotations). */
#include "check.h"
#include "plot.h"
#include "plot_cairo.h"
#include "plot_gnuplot.h"

#include <stdlib.h>
#include <string.h>

int main(void) {
    const char *tmp = getenv("MLM_TMP") ? getenv("MLM_TMP") : "/tmp";
    mlmp_figure *fig = mlmp_figure_new("text <b>panel</b>", 1, 1);
    mlmp_panel_set_text(mlmp_panel(fig, 0, 0), "if a < b and c > d: x & y");
    char path[600], gp[600], err[512];
    snprintf(path, sizeof path, "%s/textpanel.png", tmp);
    snprintf(gp, sizeof gp, "%s/textpanel.gp", tmp);
    CHECK(mlmp_gnuplot_write(fig, path, err, sizeof err) == 0, "the gnuplot script of a text panel is written");
    FILE *f = fopen(gp, "rb");
    char buf[1 << 16];
    size_t n = f ? fread(buf, 1, sizeof buf - 1, f) : 0;
    if (f) fclose(f);
    buf[n] = '\0';
    CHECK(strstr(buf, "if a < b and c > d: x & y") != NULL, "a text panel keeps '<', '>' and '&' literally in the gnuplot script");
    CHECK(strstr(buf, "<b>") == NULL, "the title's markup is translated, not copied");
    mlmp_figure_free(fig);
    mlmp_plots_cleanup(); /* pango and fontconfig caches: a clean exit for the leak checker */
    return check_done();
}
