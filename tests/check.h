/* check.h - the test harness: a handful of macros, "name ... ok" or "FAIL file:line", and the
 * closing line "N passed, N failed" with a non-zero exit status on any failure.
 *
 *   CHECK(cond, "what")                 one boolean check
 *   CHECK_NEAR(a, b, tol, "what")       |a - b| <= tol, prints the difference on failure
 *   CHECK_CLOSE(a, b, rel, abs, "what") |a - b| <= abs + rel * |b|
 *   return check_done();                at the end of main
 *
 * Checks never abort: a test program runs every check and reports all of them. */
#ifndef MLM_CHECK_H
#define MLM_CHECK_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int check_passed_, check_failed_;

static inline void check_report_(int ok, const char *file, int line, const char *what, const char *extra) {
    if (ok) { check_passed_++; printf("%s ... ok\n", what); }
    else { check_failed_++; printf("FAIL %s:%d %s%s%s\n", file, line, what, extra ? ": " : "", extra ? extra : ""); }
    fflush(stdout);
}

#define CHECK(cond, what) check_report_(!!(cond), __FILE__, __LINE__, (what), NULL)

#define CHECK_NEAR(a, b, tol, what) do { \
    double a_ = (double)(a), b_ = (double)(b), t_ = (double)(tol); char m_[160]; \
    snprintf(m_, sizeof m_, "got %.10g, want %.10g, diff %.3g > tol %.3g", a_, b_, fabs(a_ - b_), t_); \
    check_report_(fabs(a_ - b_) <= t_, __FILE__, __LINE__, (what), m_); } while (0)

#define CHECK_CLOSE(a, b, rel, abs_, what) do { \
    double a_ = (double)(a), b_ = (double)(b); double t_ = (double)(abs_) + (double)(rel) * fabs(b_); \
    char m_[160]; snprintf(m_, sizeof m_, "got %.10g, want %.10g, diff %.3g > tol %.3g", a_, b_, fabs(a_ - b_), t_); \
    check_report_(fabs(a_ - b_) <= t_, __FILE__, __LINE__, (what), m_); } while (0)

static inline int check_done(void) {
    printf("%d passed, %d failed\n", check_passed_, check_failed_);
    return check_failed_ ? 1 : 0;
}
#endif
