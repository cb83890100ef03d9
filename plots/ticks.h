/* ticks.h - axis scales (linear, log10, log2, symlog) and "nice" tick positions and labels.
 * Pure functions on numbers; labels are pango markup ("10<sup>3</sup>", "\u22122.5"). */
#ifndef MLMP_TICKS_H
#define MLMP_TICKS_H
#include <stddef.h>

typedef enum {
    MLMP_SCALE_LINEAR = 0,
    MLMP_SCALE_LOG,     /* log10; values <= 0 are not drawn */
    MLMP_SCALE_LOG2,    /* log2; values <= 0 are not drawn */
    MLMP_SCALE_SYMLOG   /* sign(v) * log10(1 + |v| / linthresh): linear near 0, log beyond */
} mlmp_scale;

/* Forward transform of v into axis space; NaN when v cannot be shown on that scale
 * (v <= 0 on log scales, non-finite v). linthresh is used by SYMLOG only (<= 0 means 1). */
double mlmp_scale_fwd(mlmp_scale s, double linthresh, double v);
/* Inverse of mlmp_scale_fwd. */
double mlmp_scale_inv(mlmp_scale s, double linthresh, double t);

/* Linear nice ticks: the smallest step of the form {1, 2, 2.5, 5} x 10^k for which at most
 * maxticks multiples of the step lie in [lo, hi]; writes those multiples (ascending, at most
 * cap) to out and returns how many; *step_out (may be NULL) gets the step. lo > hi is
 * swapped; lo == hi or a non-finite bound gives 0 ticks. maxticks < 2 counts as 2.
 * Example: [0, 7.3] with maxticks 8 gives 0, 1, ..., 7. */
size_t mlmp_nice_ticks(double lo, double hi, size_t maxticks, double *out, size_t cap,
                       double *step_out);

/* Ticks for a log axis of the given base (10 or 2) over the data range [lo, hi] (lo > 0):
 * whole powers of base, every k-th power when there would be more than maxticks; when fewer
 * than two powers fall in range, 1-2-5 multiples (base 10) or linear nice ticks. */
size_t mlmp_log_ticks(double lo, double hi, double base, size_t maxticks, double *out,
                      size_t cap);

/* Ticks for a symlog axis: 0 and +-linthresh * 10^k inside [lo, hi], thinned to maxticks. */
size_t mlmp_symlog_ticks(double lo, double hi, double linthresh, size_t maxticks, double *out,
                         size_t cap);

/* Dispatch on scale: ticks for the data range [lo, hi]. */
size_t mlmp_axis_ticks(mlmp_scale s, double linthresh, double lo, double hi, size_t maxticks,
                       double *out, size_t cap);

/* Label of tick value v as pango markup into buf. ticks/n are all ticks of the axis (they set
 * the number of decimals for linear axes so that labels of one axis agree). Log axes give
 * "10<sup>k</sup>" / "2<sup>k</sup>" for exact powers. Minus signs are U+2212. */
void mlmp_tick_label(mlmp_scale s, double v, const double *ticks, size_t n, char *buf,
                     size_t len);
#endif
