/* report.h - a multi-page PDF report drawn with Cairo: a title page, pages of findings text
 * (wrapped paragraphs, continued on new pages when long) and one page per figure with a
 * caption; figures are drawn straight into the page as vectors (plot_cairo.h). Pages are US
 * letter landscape (11 x 8.5 in), numbered in the footer.
 *
 *   mlmp_report *r = mlmp_report_new("results/report.pdf", err, sizeof err);
 *   mlmp_report_title_page(r, "MicroLM Lab", subtitle_lines, 3, err, sizeof err);
 *   mlmp_report_text_page(r, "Summary of findings", paragraphs, 4, err, sizeof err);
 *   mlmp_report_figure_page(r, fig, "Figure 1: ...", err, sizeof err);
 *   mlmp_report_close(r, err, sizeof err);      -- writes the file (atomically), frees r */
#ifndef MLMP_REPORT_H
#define MLMP_REPORT_H
#include <stddef.h>

#include "diagram.h"
#include "plot.h"

typedef struct mlmp_report mlmp_report;

/* Start a report that will be written to path (through path.tmp). NULL + err on failure. */
mlmp_report *mlmp_report_new(const char *path, char *err, size_t errlen);
/* Title page: big bold title, then subtitle lines (markup; n may be 0). 0 or -1 + err. */
int mlmp_report_title_page(mlmp_report *r, const char *title, const char *const *lines,
                           size_t n, char *err, size_t errlen);
/* Text page(s): a heading and paragraphs (markup), wrapped to the page; long text continues
 * on further pages. 0 or -1 + err. */
int mlmp_report_text_page(mlmp_report *r, const char *heading, const char *const *paragraphs,
                          size_t n, char *err, size_t errlen);
/* Figure page: fig drawn as vectors to fill the page above its caption (markup, may be NULL).
 * The report does not keep fig. 0 or -1 + err (e.g. a figure with a builder error). */
int mlmp_report_figure_page(mlmp_report *r, const mlmp_figure *fig, const char *caption,
                            char *err, size_t errlen);
/* Diagram page: the diagram drawn as vectors, scaled to fit above its caption (markup, may
 * be NULL), centred, never enlarged. 0 or -1 + err. */
int mlmp_report_diagram_page(mlmp_report *r, const mlmp_diagram *d, const char *caption,
                             char *err, size_t errlen);
/* Pages so far. */
int mlmp_report_pages(const mlmp_report *r);
/* Finish the PDF and move it into place; always frees r. After any earlier error the file is
 * not written and -1 is returned. NULL r: -1. */
int mlmp_report_close(mlmp_report *r, char *err, size_t errlen);
/* Drop the report without writing anything; frees r. NULL: no-op. */
void mlmp_report_abort(mlmp_report *r);
#endif
