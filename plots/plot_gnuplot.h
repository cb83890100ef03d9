/* plot_gnuplot.h - the gnuplot renderer of the figure model (plot.h): the figure is written as
 * an editable gnuplot script (<base>.gp) plus data files (<base>_r<R>c<C>_s<K>.dat) next to
 * the output, then gnuplot is run (popen; pngcairo, svg or pdfcairo terminal) to draw it.
 * Students can edit the script and re-run it:   cd DIR && gnuplot <base>.gp
 * The gnuplot binary is $MLM_GNUPLOT when set, else "gnuplot" on the PATH. */
#ifndef MLMP_PLOT_GNUPLOT_H
#define MLMP_PLOT_GNUPLOT_H
#include <stddef.h>

#include "plot.h"

/* Status returned when gnuplot is not installed (or $MLM_GNUPLOT names a missing binary). */
#define MLMP_GNUPLOT_MISSING 2

/* Write the script and data files for out_path (".png", ".svg" or ".pdf"; <base> is out_path
 * without its extension) and run gnuplot to produce out_path (written atomically).
 * Returns 0 on success; MLMP_GNUPLOT_MISSING when gnuplot cannot be found (the script and data
 * are still written, err says so); -1 on any other error (bad figure, cannot write, gnuplot
 * failed - err holds gnuplot's first error line and its exit status). */
int mlmp_gnuplot_render(const mlmp_figure *fig, const char *out_path, char *err, size_t errlen);

/* Only write <base>.gp and the .dat files (no gnuplot run). Returns 0 or -1 + err. */
int mlmp_gnuplot_write(const mlmp_figure *fig, const char *out_path, char *err, size_t errlen);

/* 1 when the gnuplot binary can be found and executed, else 0 with the reason in err. */
int mlmp_gnuplot_available(char *err, size_t errlen);
#endif
