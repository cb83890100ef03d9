/* ticks.c - axis scale transforms and nice tick positions / labels (see ticks.h). */
#include "ticks.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static double lt(double c) { return c > 0 && isfinite(c) ? c : 1.0; }

double mlmp_scale_fwd(mlmp_scale s, double linthresh, double v) {
    if (!isfinite(v)) return NAN;
    switch (s) {
    case MLMP_SCALE_LOG: return v > 0 ? log10(v) : NAN;
    case MLMP_SCALE_LOG2: return v > 0 ? log2(v) : NAN;
    case MLMP_SCALE_SYMLOG: {
        double c = lt(linthresh);
        double t = log10(1.0 + fabs(v) / c);
        return v < 0 ? -t : t;
    }
    default: return v;
    }
}

double mlmp_scale_inv(mlmp_scale s, double linthresh, double t) {
    switch (s) {
    case MLMP_SCALE_LOG: return pow(10.0, t);
    case MLMP_SCALE_LOG2: return exp2(t);
    case MLMP_SCALE_SYMLOG: {
        double c = lt(linthresh);
        double v = c * (pow(10.0, fabs(t)) - 1.0);
        return t < 0 ? -v : v;
    }
    default: return t;
    }
}

size_t mlmp_nice_ticks(double lo, double hi, size_t maxticks, double *out, size_t cap,
                       double *step_out) {
    if (step_out) *step_out = 0;
    if (!isfinite(lo) || !isfinite(hi) || lo == hi) return 0;
    if (lo > hi) { double t = lo; lo = hi; hi = t; }
    if (maxticks < 2) maxticks = 2;
    double range = hi - lo;
    double raw = range / (double)maxticks;
    double mag = pow(10.0, floor(log10(raw)));
    static const double mult[] = {1, 2, 2.5, 5};
    double step = 0;
    long i0 = 0, i1 = -1;
    for (int dec = 0; dec < 4 && step == 0; dec++) {
        for (int m = 0; m < 4; m++) {
            double s = mult[m] * mag * pow(10.0, dec);
            long a = (long)ceil(lo / s - 1e-9), b = (long)floor(hi / s + 1e-9);
            if (b - a + 1 <= (long)maxticks) { step = s; i0 = a; i1 = b; break; }
        }
    }
    if (step == 0) return 0;
    if (step_out) *step_out = step;
    size_t n = 0;
    for (long i = i0; i <= i1 && n < cap; i++) {
        double v = (double)i * step;
        if (fabs(v) < step * 1e-9) v = 0;
        out[n++] = v;
    }
    return n;
}

size_t mlmp_log_ticks(double lo, double hi, double base, size_t maxticks, double *out,
                      size_t cap) {
    if (!(lo > 0) || !(hi > 0) || !isfinite(lo) || !isfinite(hi)) return 0;
    if (lo > hi) { double t = lo; lo = hi; hi = t; }
    if (maxticks < 2) maxticks = 2;
    double lb = log(base);
    long e0 = (long)ceil(log(lo) / lb - 1e-9), e1 = (long)floor(log(hi) / lb + 1e-9);
    long count = e1 - e0 + 1;
    size_t n = 0;
    if (count >= 2) {
        long stride = 1;
        while ((count + stride - 1) / stride > (long)maxticks) stride++;
        for (long e = e0; e <= e1 && n < cap; e++) {
            long r = e % stride;
            if (r < 0) r += stride;
            if (r == 0) out[n++] = pow(base, (double)e);
        }
        if (n >= 2) return n;
        n = 0;
    }
    if (base == 10.0) {
        static const double m125[] = {1, 2, 5};
        for (long e = e0 - 1; e <= e1 && n < cap; e++)
            for (int k = 0; k < 3 && n < cap; k++) {
                double v = m125[k] * pow(10.0, (double)e);
                if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) out[n++] = v;
            }
        if (n >= 2 && n <= maxticks) return n;
    }
    return mlmp_nice_ticks(lo, hi, maxticks, out, cap, NULL);
}

size_t mlmp_symlog_ticks(double lo, double hi, double linthresh, size_t maxticks, double *out,
                         size_t cap) {
    if (!isfinite(lo) || !isfinite(hi) || lo == hi) return 0;
    if (lo > hi) { double t = lo; lo = hi; hi = t; }
    double c = lt(linthresh);
    double amax = fmax(fabs(lo), fabs(hi));
    if (amax <= c) return mlmp_nice_ticks(lo, hi, maxticks, out, cap, NULL);
    if (maxticks < 2) maxticks = 2;
    long kmax = (long)floor(log10(amax / c) + 1e-9);
    /* candidate exponents 0..kmax on each side present; thin by a stride */
    int neg = lo < -c * (1 - 1e-9), pos = hi > c * (1 - 1e-9);
    int zero = lo <= 0 && hi >= 0;
    long per = kmax + 1;
    long stride = 1;
    while ((per + stride - 1) / stride * (neg + pos) + zero > (long)maxticks) stride++;
    size_t n = 0;
    if (neg)
        for (long k = kmax; k >= 0 && n < cap; k--)
            if ((kmax - k) % stride == 0 && !(zero && stride > 1 && 2 * k < stride)) {
                double v = -c * pow(10.0, (double)k);
                if (v >= lo * (1 + 1e-9)) out[n++] = v;
            }
    if (zero && n < cap) out[n++] = 0;
    if (pos)
        for (long k = 0; k <= kmax && n < cap; k++)
            if ((kmax - k) % stride == 0 && !(zero && stride > 1 && 2 * k < stride)) {
                double v = c * pow(10.0, (double)k);
                if (v <= hi * (1 + 1e-9)) out[n++] = v;
            }
    return n;
}

size_t mlmp_axis_ticks(mlmp_scale s, double linthresh, double lo, double hi, size_t maxticks,
                       double *out, size_t cap) {
    switch (s) {
    case MLMP_SCALE_LOG: return mlmp_log_ticks(lo, hi, 10.0, maxticks, out, cap);
    case MLMP_SCALE_LOG2: return mlmp_log_ticks(lo, hi, 2.0, maxticks, out, cap);
    case MLMP_SCALE_SYMLOG: return mlmp_symlog_ticks(lo, hi, linthresh, maxticks, out, cap);
    default: return mlmp_nice_ticks(lo, hi, maxticks, out, cap, NULL);
    }
}

#define MINUS "\xe2\x88\x92"

/* integer exponent e with base^e == v (within rounding), or 0 with *ok = 0 */
static long exact_power(double v, double base, int *ok) {
    *ok = 0;
    if (!(v > 0)) return 0;
    double e = log(v) / log(base);
    double r = round(e);
    if (fabs(e - r) < 1e-9) { *ok = 1; return (long)r; }
    return 0;
}

static void put_power(char *buf, size_t len, const char *sign, int base, long e) {
    if (e < 0) snprintf(buf, len, "%s%d<sup>" MINUS "%ld</sup>", sign, base, -e);
    else snprintf(buf, len, "%s%d<sup>%ld</sup>", sign, base, e);
}

/* plain number with a U+2212 minus sign and trailing zeros trimmed when decimals < 0 */
static void put_number(char *buf, size_t len, double v, int decimals) {
    char tmp[64];
    if (v == 0) v = 0; /* no "-0" */
    if (decimals >= 0) snprintf(tmp, sizeof tmp, "%.*f", decimals, fabs(v));
    else snprintf(tmp, sizeof tmp, "%.6g", fabs(v));
    snprintf(buf, len, "%s%s", v < 0 && strspn(tmp, "0.") != strlen(tmp) ? MINUS : "", tmp);
}

void mlmp_tick_label(mlmp_scale s, double v, const double *ticks, size_t n, char *buf,
                     size_t len) {
    if (!buf || !len) return;
    if (!isfinite(v)) { snprintf(buf, len, "?"); return; }
    int ok;
    if (s == MLMP_SCALE_LOG || s == MLMP_SCALE_SYMLOG) {
        if (v == 0) { snprintf(buf, len, "0"); return; }
        long e = exact_power(fabs(v), 10.0, &ok);
        if (ok) { put_power(buf, len, v < 0 ? MINUS : "", 10, e); return; }
        put_number(buf, len, v, -1);
        return;
    }
    if (s == MLMP_SCALE_LOG2) {
        long e = exact_power(v, 2.0, &ok);
        if (ok) { put_power(buf, len, "", 2, e); return; }
        put_number(buf, len, v, -1);
        return;
    }
    /* linear: decimals from the smallest gap between ticks; scientific for huge / tiny */
    double step = 0, amax = fabs(v);
    for (size_t i = 0; i < n; i++) {
        amax = fmax(amax, fabs(ticks[i]));
        if (i > 0) {
            double d = fabs(ticks[i] - ticks[i - 1]);
            if (d > 0 && (step == 0 || d < step)) step = d;
        }
    }
    if (step == 0) step = amax > 0 ? amax : 1;
    if (amax >= 1e6 || (amax > 0 && amax < 1e-3)) {
        if (v == 0) { snprintf(buf, len, "0"); return; }
        long e = (long)floor(log10(fabs(v)) + 1e-12);
        double m = v / pow(10.0, (double)e);
        int dec = 0;
        double ms = step / pow(10.0, (double)e);
        while (dec < 4 && fabs(ms * pow(10.0, dec) - round(ms * pow(10.0, dec))) > 1e-6) dec++;
        char mant[48];
        put_number(mant, sizeof mant, m, dec);
        if (strcmp(mant, "1") == 0) put_power(buf, len, "", 10, e);
        else if (strcmp(mant, MINUS "1") == 0) put_power(buf, len, MINUS, 10, e);
        else if (e < 0) snprintf(buf, len, "%s\xc3\x97" "10<sup>" MINUS "%ld</sup>", mant, -e);
        else snprintf(buf, len, "%s\xc3\x97" "10<sup>%ld</sup>", mant, e);
        return;
    }
    int dec = 0;
    while (dec < 8 && fabs(step * pow(10.0, dec) - round(step * pow(10.0, dec))) >
                          1e-6 * fmax(1.0, step * pow(10.0, dec)))
        dec++;
    put_number(buf, len, v, dec);
}
