/* probe.c - per-stage statistics and kept tensors. */
#include "probe.h"

#include "cpu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mlm_probe {
    char *keep;          /* comma-separated globs, owned */
    mlm_record *recs;
    int n, cap;
    double *rows;        /* per-row partial statistics (4 per row), grown on demand */
    int64_t rows_cap;
};

/* Statistics of one row in 8 independent lanes added in a fixed order, so the loop
 * vectorises without reassociation and the result does not depend on the thread that runs
 * it. NaN is skipped by min and max. */
#define STAT_LANES 8
static void row_stats_portable(const mlm_real *x, int64_t n, double out[4]) {
    double s[STAT_LANES] = {0}, q[STAT_LANES] = {0}, lo[STAT_LANES], hi[STAT_LANES];
    for (int l = 0; l < STAT_LANES; l++) { lo[l] = INFINITY; hi[l] = -INFINITY; }
    int64_t j = 0;
    for (; j + STAT_LANES <= n; j += STAT_LANES)
        for (int l = 0; l < STAT_LANES; l++) {
            double v = (double)x[j + l];
            s[l] += v;
            q[l] += v * v;
            lo[l] = v < lo[l] ? v : lo[l];
            hi[l] = v > hi[l] ? v : hi[l];
        }
    double ts = 0, tq = 0, tlo = INFINITY, thi = -INFINITY;
    for (int l = 0; l < STAT_LANES; l++) {
        ts += s[l];
        tq += q[l];
        tlo = lo[l] < tlo ? lo[l] : tlo;
        thi = hi[l] > thi ? hi[l] : thi;
    }
    for (; j < n; j++) {
        double v = (double)x[j];
        ts += v;
        tq += v * v;
        tlo = v < tlo ? v : tlo;
        thi = v > thi ? v : thi;
    }
    out[0] = ts;
    out[1] = tq;
    out[2] = tlo;
    out[3] = thi;
}

#if !defined(MLM_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define PROBE_HAVE_AVX512 1
#include <immintrin.h>
/* The AVX-512 path: 16 double lanes in two registers per statistic (two chains, so the adds
 * never wait on each other), the square summed by FMA, the tail masked; then the two halves
 * lane by lane and a fixed reduction. Its bits differ from the portable path's by rounding;
 * like it, it depends on nothing but the row. */
__attribute__((target("avx512f,avx512vl,fma"))) static void row_stats_avx512(const float *x, int64_t n, double out[4]) {
    __m512d s0 = _mm512_setzero_pd(), s1 = s0, q0 = s0, q1 = s0;
    __m512d lo0 = _mm512_set1_pd(INFINITY), lo1 = lo0, hi0 = _mm512_set1_pd(-INFINITY), hi1 = hi0;
    int64_t j = 0;
    for (; j + 16 <= n; j += 16) {
        __m512d v0 = _mm512_cvtps_pd(_mm256_loadu_ps(x + j)), v1 = _mm512_cvtps_pd(_mm256_loadu_ps(x + j + 8));
        s0 = _mm512_add_pd(s0, v0);
        s1 = _mm512_add_pd(s1, v1);
        q0 = _mm512_fmadd_pd(v0, v0, q0);
        q1 = _mm512_fmadd_pd(v1, v1, q1);
        lo0 = _mm512_min_pd(v0, lo0); /* a NaN v leaves lo: min/max return their second operand */
        lo1 = _mm512_min_pd(v1, lo1);
        hi0 = _mm512_max_pd(v0, hi0);
        hi1 = _mm512_max_pd(v1, hi1);
    }
    if (j < n) {
        int64_t left = n - j;
        __mmask8 m0 = (__mmask8)(left >= 8 ? 0xFF : (1u << left) - 1), m1 = (__mmask8)(left > 8 ? (1u << (left - 8)) - 1 : 0);
        __m512d v0 = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m0, x + j)), v1 = _mm512_cvtps_pd(_mm256_maskz_loadu_ps(m1, x + j + 8));
        s0 = _mm512_add_pd(s0, v0);
        s1 = _mm512_add_pd(s1, v1);
        q0 = _mm512_fmadd_pd(v0, v0, q0);
        q1 = _mm512_fmadd_pd(v1, v1, q1);
        lo0 = _mm512_mask_min_pd(lo0, m0, v0, lo0);
        lo1 = _mm512_mask_min_pd(lo1, m1, v1, lo1);
        hi0 = _mm512_mask_max_pd(hi0, m0, v0, hi0);
        hi1 = _mm512_mask_max_pd(hi1, m1, v1, hi1);
    }
    out[0] = _mm512_reduce_add_pd(_mm512_add_pd(s0, s1));
    out[1] = _mm512_reduce_add_pd(_mm512_add_pd(q0, q1));
    out[2] = _mm512_reduce_min_pd(_mm512_min_pd(lo0, lo1));
    out[3] = _mm512_reduce_max_pd(_mm512_max_pd(hi0, hi1));
}
#endif

static void row_stats(const mlm_real *x, int64_t n, double out[4]) {
#ifdef PROBE_HAVE_AVX512
    if (mlm_cpu_isa() == MLM_ISA_AVX512) {
        row_stats_avx512(x, n, out);
        return;
    }
#endif
    row_stats_portable(x, n, out);
}

mlm_probe *mlm_probe_new(const char *keep) {
    mlm_probe *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    if (keep && *keep) {
        p->keep = strdup(keep);
        if (!p->keep) { free(p); return NULL; }
    }
    return p;
}

static void rec_free(mlm_record *r) {
    free(r->row_rms);
    free(r->data);
    r->row_rms = NULL;
    r->data = NULL;
}

void mlm_probe_clear(mlm_probe *p) {
    if (!p) return;
    for (int i = 0; i < p->n; i++) rec_free(&p->recs[i]);
    p->n = 0;
}

void mlm_probe_free(mlm_probe *p) {
    if (!p) return;
    mlm_probe_clear(p);
    free(p->recs);
    free(p->rows);
    free(p->keep);
    free(p);
}

int mlm_glob_match(const char *pat, const char *s) {
    /* iterative matcher with single-star backtracking */
    const char *star = NULL, *ss = NULL;
    while (*s) {
        if (*pat == '?' || *pat == *s) { pat++; s++; }
        else if (*pat == '*') { star = pat++; ss = s; }
        else if (star) { pat = star + 1; s = ++ss; }
        else return 0;
    }
    while (*pat == '*') pat++;
    return *pat == '\0';
}

int mlm_probe_keeps(const mlm_probe *p, const char *name) {
    if (!p || !p->keep) return 0;
    const char *g = p->keep;
    char buf[256];
    while (*g) {
        const char *c = strchr(g, ',');
        size_t len = c ? (size_t)(c - g) : strlen(g);
        if (len > 0 && len < sizeof buf) {
            memcpy(buf, g, len);
            buf[len] = '\0';
            if (mlm_glob_match(buf, name)) return 1;
        }
        if (!c) break;
        g = c + 1;
    }
    return 0;
}

static mlm_record *slot(mlm_probe *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->recs[i].name, name)) {
            rec_free(&p->recs[i]);
            return &p->recs[i];
        }
    if (p->n == p->cap) {
        int nc = p->cap ? 2 * p->cap : 64;
        mlm_record *nr = realloc(p->recs, (size_t)nc * sizeof *nr);
        if (!nr) return NULL;
        p->recs = nr;
        p->cap = nc;
    }
    return &p->recs[p->n++];
}

void mlm_probe_row_stats(const mlm_real *x, int64_t nrows, int64_t cols, double *out) {
    for (int64_t i = 0; i < nrows; i++) row_stats(x + i * cols, cols, out + 4 * i);
}

/* The record; given: the per-row partials already computed (mlm_probe_row_stats), or NULL. */
static mlm_record *record(mlm_probe *p, const char *name, const mlm_real *x, int ndim, const int64_t *shape,
                          uint64_t flops, const double *given) {
    if (!p) return NULL;
    if (ndim < 0 || ndim > MLM_MAX_DIMS) return NULL;
    mlm_record *r = slot(p, name);
    if (!r) return NULL;
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->ndim = ndim;
    int64_t numel = 1;
    for (int i = 0; i < ndim; i++) { r->shape[i] = shape[i]; numel *= shape[i]; }
    r->numel = numel;
    r->flops = flops;
    int64_t cols = ndim > 0 ? shape[ndim - 1] : 1;
    r->n_rows = cols > 0 ? numel / cols : 0;
    if (numel > 0 && x) {
        double s = 0, ss = 0, mn = INFINITY, mx = -INFINITY, rsum = 0;
        int64_t nr = r->n_rows;
        r->row_rms = malloc((size_t)nr * sizeof(float));
        const double *rows = given;
        if (!rows) {
            if (nr > p->rows_cap) {
                double *nrw = realloc(p->rows, (size_t)nr * 4 * sizeof(double));
                if (!nrw) { free(r->row_rms); r->row_rms = NULL; return r; } /* out of memory: no statistics */
                p->rows = nrw;
                p->rows_cap = nr;
            }
            /* rows in parallel (each by one thread), then combined in row order: the same
             * bits for any thread count */
#pragma omp parallel for schedule(static) if (numel > 65536)
            for (int64_t i = 0; i < nr; i++) row_stats(x + i * cols, cols, p->rows + 4 * i);
            rows = p->rows;
        }
        for (int64_t i = 0; i < nr; i++) {
            const double *st = rows + 4 * i;
            s += st[0];
            ss += st[1];
            mn = st[2] < mn ? st[2] : mn;
            mx = st[3] > mx ? st[3] : mx;
            double rr = sqrt(st[1] / (double)cols);
            rsum += rr;
            if (r->row_rms) r->row_rms[i] = (float)rr;
        }
        r->norm = sqrt(ss);
        r->mean = s / (double)numel;
        double var = ss / (double)numel - r->mean * r->mean;
        r->std = sqrt(var > 0 ? var : 0);
        r->min = mn;
        r->max = mx;
        r->rms_mean = r->n_rows ? rsum / (double)r->n_rows : 0;
        if (mlm_probe_keeps(p, name)) {
            r->data = malloc((size_t)numel * sizeof(mlm_real));
            if (r->data) memcpy(r->data, x, (size_t)numel * sizeof(mlm_real));
        }
    }
    return r;
}

mlm_record *mlm_probe_record(mlm_probe *p, const char *name, const mlm_real *x, int ndim, const int64_t *shape,
                             uint64_t flops) {
    return record(p, name, x, ndim, shape, flops, NULL);
}

mlm_record *mlm_probe_record_rows(mlm_probe *p, const char *name, const mlm_real *x, int ndim, const int64_t *shape,
                                  uint64_t flops, const double *rows) {
    return record(p, name, x, ndim, shape, flops, rows);
}

mlm_record *mlm_probe_scalar(mlm_probe *p, const char *name, double value, uint64_t flops) {
    if (!p) return NULL;
    mlm_record *r = mlm_probe_record(p, name, NULL, 0, NULL, flops);
    if (!r) return NULL;
    r->numel = 1;
    r->n_rows = 0;
    r->has_value = 1;
    r->value = value;
    r->norm = fabs(value);
    r->mean = r->min = r->max = value;
    return r;
}

int mlm_probe_count(const mlm_probe *p) { return p ? p->n : 0; }

const mlm_record *mlm_probe_at(const mlm_probe *p, int i) {
    return (p && i >= 0 && i < p->n) ? &p->recs[i] : NULL;
}

const mlm_record *mlm_probe_find(const mlm_probe *p, const char *name) {
    if (!p) return NULL;
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->recs[i].name, name)) return &p->recs[i];
    return NULL;
}

uint64_t mlm_probe_flops(const mlm_probe *p, const char *glob) {
    uint64_t f = 0;
    for (int i = 0; i < mlm_probe_count(p); i++)
        if (!glob || mlm_glob_match(glob, p->recs[i].name)) f += p->recs[i].flops;
    return f;
}

mlm_record *mlm_probe_add_record(mlm_probe *p, const mlm_record *src) {
    if (!p) return NULL;
    mlm_record *r = slot(p, src->name);
    if (!r) return NULL;
    *r = *src;
    return r;
}
