/* optim.c - AdamW, clipping, the learning-rate schedule and the optimizer-state file of
 * optim.h. */
#include "optim.h"
#include "bigalloc.h"
#include "cpu.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OPT_MAGIC "MLMADAMW"
#define OPT_VERSION 1u
#define OPT_HEADER 104 /* magic 8, version 4, scalar 4, n 8, step 8, six float64, warmup 8, total 8, min_lr_frac 8 */
#define M_PI_VALUE 3.14159265358979323846

void mlm_adamw_cfg_default(mlm_adamw_cfg *c) {
    memset(c, 0, sizeof *c);
    c->lr = 1e-3;
    c->beta1 = 0.9;
    c->beta2 = 0.95;
    c->eps = 1e-8;
    c->weight_decay = 0.1;
    c->clip = 1.0;
    c->warmup_steps = 0;
    c->total_steps = 0;
    c->min_lr_frac = 0.1;
}

mlm_status mlm_adamw_cfg_validate(const mlm_adamw_cfg *c, mlm_err *e) {
    if (!c) return mlm_fail(e, MLM_EINVAL, "adamw: NULL config");
    if (!isfinite(c->lr) || c->lr <= 0 || c->lr > 10) return mlm_fail(e, MLM_EINVAL, "adamw: lr (%g) must be in (0, 10]", c->lr);
    if (!isfinite(c->beta1) || c->beta1 < 0 || c->beta1 >= 1) return mlm_fail(e, MLM_EINVAL, "adamw: beta1 (%g) must be in [0, 1)", c->beta1);
    if (!isfinite(c->beta2) || c->beta2 < 0 || c->beta2 >= 1) return mlm_fail(e, MLM_EINVAL, "adamw: beta2 (%g) must be in [0, 1)", c->beta2);
    if (!isfinite(c->eps) || c->eps <= 0 || c->eps > 1) return mlm_fail(e, MLM_EINVAL, "adamw: eps (%g) must be in (0, 1]", c->eps);
    if (!isfinite(c->weight_decay) || c->weight_decay < 0 || c->weight_decay > 10)
        return mlm_fail(e, MLM_EINVAL, "adamw: weight_decay (%g) must be in [0, 10]", c->weight_decay);
    if (!isfinite(c->clip) || c->clip < 0) return mlm_fail(e, MLM_EINVAL, "adamw: clip (%g) must be >= 0 (0 = none)", c->clip);
    if (c->warmup_steps < 0) return mlm_fail(e, MLM_EINVAL, "adamw: warmup_steps (%lld) must be >= 0", (long long)c->warmup_steps);
    if (c->total_steps < 0) return mlm_fail(e, MLM_EINVAL, "adamw: total_steps (%lld) must be >= 0", (long long)c->total_steps);
    if (!isfinite(c->min_lr_frac) || c->min_lr_frac < 0 || c->min_lr_frac > 1)
        return mlm_fail(e, MLM_EINVAL, "adamw: min_lr_frac (%g) must be in [0, 1]", c->min_lr_frac);
    return MLM_OK;
}

static mlm_adamw *alloc_state(const mlm_adamw_cfg *c, int64_t n, mlm_err *e) {
    if (n < 1 || (uint64_t)n > ((uint64_t)1 << 40)) { mlm_fail(e, MLM_EINVAL, "adamw: parameter count %lld out of range", (long long)n); return NULL; }
    mlm_adamw *o = calloc(1, sizeof *o);
    if (!o) { mlm_fail(e, MLM_ENOMEM, "adamw: out of memory"); return NULL; }
    o->cfg = *c;
    o->n = n;
    o->m = mlm_big_calloc((size_t)n, sizeof(mlm_real));
    o->v = mlm_big_calloc((size_t)n, sizeof(mlm_real));
    o->decay = malloc((size_t)n);
    if (!o->m || !o->v || !o->decay) {
        mlm_adamw_free(o);
        mlm_fail(e, MLM_ENOMEM, "adamw: out of memory for %lld parameters", (long long)n);
        return NULL;
    }
    memset(o->decay, 1, (size_t)n);
    return o;
}

mlm_adamw *mlm_adamw_new(const mlm_adamw_cfg *c, int64_t n, mlm_err *e) {
    if (mlm_adamw_cfg_validate(c, e)) return NULL;
    return alloc_state(c, n, e);
}

void mlm_adamw_free(mlm_adamw *o) {
    if (!o) return;
    free(o->m);
    free(o->v);
    free(o->decay);
    free(o);
}

mlm_status mlm_adamw_decay_from_layout(mlm_adamw *o, const mlm_tensor_info *t, int n_tensors, mlm_err *e) {
    if (!o || !t || n_tensors < 1) return mlm_fail(e, MLM_EINVAL, "adamw: decay mask needs a state and a layout");
    for (int i = 0; i < n_tensors; i++)
        if (t[i].offset < 0 || t[i].numel < 0 || t[i].offset + t[i].numel > o->n)
            return mlm_fail(e, MLM_EINVAL, "adamw: tensor '%s' [%lld, +%lld) outside the %lld parameters", t[i].name,
                            (long long)t[i].offset, (long long)t[i].numel, (long long)o->n);
    for (int i = 0; i < n_tensors; i++) memset(o->decay + t[i].offset, t[i].is_norm ? 0 : 1, (size_t)t[i].numel);
    return MLM_OK;
}

double mlm_lr_at(const mlm_adamw_cfg *c, int64_t t) {
    if (t < 1) t = 1;
    if (c->warmup_steps > 0 && t <= c->warmup_steps) return c->lr * (double)t / (double)c->warmup_steps;
    if (c->total_steps <= c->warmup_steps) return c->lr;
    if (t >= c->total_steps) return c->lr * c->min_lr_frac;
    double progress = (double)(t - c->warmup_steps) / (double)(c->total_steps - c->warmup_steps);
    double cosine = 0.5 * (1.0 + cos(M_PI_VALUE * progress));
    return c->lr * (c->min_lr_frac + (1.0 - c->min_lr_frac) * cosine);
}

/* ---- gradient norm, clipping and the step ----------------------------------------------- */
/* Each kernel has a plain C path and, in the float build on an AVX-512 CPU (cpu.h), a vector
 * path doing the same double operations in the same order, so both give the same bits. */

#if !defined(MLM_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define OPT_AVX512 1
#include <immintrin.h>
#define TGT __attribute__((target("avx512f,avx512bw,avx512vl,fma")))
#endif

#define NORM_CHUNKS 64 /* fixed partial sums, added in chunk order: the same bits for any thread count */
#define PAR_MIN 262144 /* below this many elements one thread does the work */

static inline int use_avx512(void) {
#ifdef OPT_AVX512
    return mlm_cpu_isa() == MLM_ISA_AVX512;
#else
    return 0;
#endif
}

/* Sum of squares of g (n) in double: lane l (0..7) takes the elements l mod 8 in increasing
 * order, the lanes are added by a fixed tree, then the tail in order. */
static double sumsq_portable(const mlm_real *g, int64_t n) {
    double acc[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) {
            double x = (double)g[i + l];
            acc[l] += x * x;
        }
    double s = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
    for (; i < n; i++) s += (double)g[i] * (double)g[i];
    return s;
}

#ifdef OPT_AVX512
TGT static double sumsq_avx512(const float *g, int64_t n) {
    __m512d acc = _mm512_setzero_pd();
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m512d x = _mm512_cvtps_pd(_mm256_loadu_ps(g + i));
        acc = _mm512_add_pd(acc, _mm512_mul_pd(x, x)); /* no FMA: the portable path's two roundings */
    }
    double a[8];
    _mm512_storeu_pd(a, acc);
    double s = ((a[0] + a[4]) + (a[1] + a[5])) + ((a[2] + a[6]) + (a[3] + a[7]));
    for (; i < n; i++) s += (double)g[i] * (double)g[i];
    return s;
}
#endif

double mlm_grad_norm(const mlm_real *g, int64_t n) {
    double part[NORM_CHUNKS];
    const int fast = use_avx512();
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int ch = 0; ch < NORM_CHUNKS; ch++) {
        int64_t i0 = n * ch / NORM_CHUNKS, i1 = n * (ch + 1) / NORM_CHUNKS;
#ifdef OPT_AVX512
        if (fast) { part[ch] = sumsq_avx512(g + i0, i1 - i0); continue; }
#endif
        (void)fast;
        part[ch] = sumsq_portable(g + i0, i1 - i0);
    }
    double s = 0;
    for (int ch = 0; ch < NORM_CHUNKS; ch++) s += part[ch];
    return sqrt(s);
}

/* 1 and *s = max_norm / norm when a gradient of this norm is to be scaled (clipping on, the
 * norm finite and above max_norm); 0 otherwise. */
static int clip_scale(double norm, double max_norm, double *s) {
    if (!(max_norm > 0 && norm > max_norm && isfinite(norm))) return 0;
    *s = max_norm / norm;
    return 1;
}

double mlm_grad_clip(mlm_real *g, int64_t n, double max_norm) {
    double norm = mlm_grad_norm(g, n), s;
    if (clip_scale(norm, max_norm, &s)) {
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
        for (int64_t i = 0; i < n; i++) g[i] = (mlm_real)((double)g[i] * s);
    }
    return norm;
}

/* Index of the first non-finite gradient, or n. Chunks in parallel; a chunk is scanned element
 * by element only when its flag sum (0 * g: 0 for finite g, NaN otherwise) is not 0. */
static int64_t first_nonfinite(const mlm_real *g, int64_t n) {
    int64_t first = n;
#pragma omp parallel for schedule(static) reduction(min : first) if (n > PAR_MIN)
    for (int ch = 0; ch < NORM_CHUNKS; ch++) {
        int64_t i0 = n * ch / NORM_CHUNKS, i1 = n * (ch + 1) / NORM_CHUNKS, i = i0;
        mlm_real flag[8] = {0};
        for (; i + 8 <= i1; i += 8)
            for (int l = 0; l < 8; l++) flag[l] += g[i + l] * 0;
        int bad = 0;
        for (int l = 0; l < 8; l++) bad |= flag[l] != 0;
        for (; i < i1; i++) bad |= !isfinite((double)g[i]);
        if (bad)
            for (i = i0; i < i1; i++)
                if (!isfinite((double)g[i])) { if (i < first) first = i; break; }
    }
    return first;
}

/* The AdamW constants of one step; when clipped, each gradient is first scaled as mlm_grad_clip
 * scales it (g = (mlm_real)(g * scale)), without being written back. */
typedef struct { double lr, lrwd, b1, omb1, b2, omb2, bc1, bc2, eps, scale; int clipped; } adamw_k;

/* Elements [i0, i1): the formula of optim.h in double, in this order of operations. */
static void adamw_portable(const adamw_k *k, mlm_real *p, const mlm_real *g, mlm_real *m, mlm_real *v,
                           const unsigned char *decay, int64_t i0, int64_t i1) {
    for (int64_t i = i0; i < i1; i++) {
        double pi = (double)p[i], gi = (double)g[i];
        if (k->clipped) gi = (double)(mlm_real)(gi * k->scale);
        if (decay[i]) pi -= k->lrwd * pi;
        double mi = k->b1 * (double)m[i] + k->omb1 * gi;
        double vi = k->b2 * (double)v[i] + k->omb2 * gi * gi;
        m[i] = (mlm_real)mi;
        v[i] = (mlm_real)vi;
        pi -= k->lr * (mi / k->bc1) / (sqrt(vi / k->bc2) + k->eps);
        p[i] = (mlm_real)pi;
    }
}

#ifdef OPT_AVX512
/* 8 elements at a time, each operation of adamw_portable as one correctly rounded vector
 * operation (no FMA), so the bits are the portable path's. */
TGT static inline __attribute__((always_inline)) void adamw_avx512_body(const adamw_k *k, float *p, const float *g, float *m,
                                                                        float *v, const unsigned char *decay, int64_t i0,
                                                                        int64_t i1, const int scaled) {
    const __m512d lr = _mm512_set1_pd(k->lr), lrwd = _mm512_set1_pd(k->lrwd), b1 = _mm512_set1_pd(k->b1),
                  omb1 = _mm512_set1_pd(k->omb1), b2 = _mm512_set1_pd(k->b2), omb2 = _mm512_set1_pd(k->omb2),
                  bc1 = _mm512_set1_pd(k->bc1), bc2 = _mm512_set1_pd(k->bc2), eps = _mm512_set1_pd(k->eps),
                  scale = _mm512_set1_pd(k->scale);
    int64_t i = i0;
    for (; i + 8 <= i1; i += 8) {
        __m512d pi = _mm512_cvtps_pd(_mm256_loadu_ps(p + i)), gi = _mm512_cvtps_pd(_mm256_loadu_ps(g + i));
        if (scaled) gi = _mm512_cvtps_pd(_mm512_cvtpd_ps(_mm512_mul_pd(gi, scale)));
        __m128i db = _mm_loadl_epi64((const __m128i *)(decay + i));
        __mmask8 dm = (__mmask8)_mm_test_epi8_mask(db, db);
        pi = _mm512_mask_sub_pd(pi, dm, pi, _mm512_mul_pd(lrwd, pi));
        __m512d mi = _mm512_add_pd(_mm512_mul_pd(b1, _mm512_cvtps_pd(_mm256_loadu_ps(m + i))), _mm512_mul_pd(omb1, gi));
        __m512d vi = _mm512_add_pd(_mm512_mul_pd(b2, _mm512_cvtps_pd(_mm256_loadu_ps(v + i))),
                                   _mm512_mul_pd(_mm512_mul_pd(omb2, gi), gi));
        _mm256_storeu_ps(m + i, _mm512_cvtpd_ps(mi));
        _mm256_storeu_ps(v + i, _mm512_cvtpd_ps(vi));
        __m512d step = _mm512_div_pd(_mm512_mul_pd(lr, _mm512_div_pd(mi, bc1)),
                                     _mm512_add_pd(_mm512_sqrt_pd(_mm512_div_pd(vi, bc2)), eps));
        _mm256_storeu_ps(p + i, _mm512_cvtpd_ps(_mm512_sub_pd(pi, step)));
    }
    adamw_portable(k, p, g, m, v, decay, i, i1);
}

TGT static void adamw_avx512(const adamw_k *k, float *p, const float *g, float *m, float *v, const unsigned char *decay,
                             int64_t i0, int64_t i1) {
    if (k->clipped) adamw_avx512_body(k, p, g, m, v, decay, i0, i1, 1);
    else adamw_avx512_body(k, p, g, m, v, decay, i0, i1, 0);
}
#endif

/* The update of every element with gradients already known to be finite. */
static void adamw_update(mlm_adamw *o, mlm_real *p, const mlm_real *g, double lr, int clipped, double scale) {
    const int64_t n = o->n;
    const double b1 = o->cfg.beta1, b2 = o->cfg.beta2, t = (double)(o->step + 1);
    const adamw_k k = {lr, lr * o->cfg.weight_decay, b1, 1.0 - b1, b2, 1.0 - b2, 1.0 - pow(b1, t), 1.0 - pow(b2, t), o->cfg.eps, scale, clipped};
    const int fast = use_avx512();
    /* fixed chunks: each element's arithmetic is its own, so chunks only split the work */
#pragma omp parallel for schedule(static) if (n > PAR_MIN)
    for (int ch = 0; ch < NORM_CHUNKS; ch++) {
        int64_t i0 = n * ch / NORM_CHUNKS, i1 = n * (ch + 1) / NORM_CHUNKS;
#ifdef OPT_AVX512
        if (fast) { adamw_avx512(&k, p, g, o->m, o->v, o->decay, i0, i1); continue; }
#endif
        (void)fast;
        adamw_portable(&k, p, g, o->m, o->v, o->decay, i0, i1);
    }
    o->step++;
}

/* The checks both step calls make before touching anything. */
static mlm_status check_step(const mlm_adamw *o, const mlm_real *p, const mlm_real *g, double lr, mlm_err *e) {
    if (!o || !p || !g) return mlm_fail(e, MLM_EINVAL, "adamw step: NULL argument");
    if (!isfinite(lr) || lr < 0) return mlm_fail(e, MLM_EINVAL, "adamw step: lr (%g) must be finite and >= 0", lr);
    return MLM_OK;
}

/* MLM_EINVAL naming the first non-finite gradient, or MLM_OK when every one is finite. */
static mlm_status check_finite(const mlm_adamw *o, const mlm_real *g, mlm_err *e) {
    const int64_t bad = first_nonfinite(g, o->n);
    if (bad < o->n) return mlm_fail(e, MLM_EINVAL, "adamw step %lld: gradient %lld is not finite", (long long)o->step + 1, (long long)bad);
    return MLM_OK;
}

mlm_status mlm_adamw_step(mlm_adamw *o, mlm_real *p, const mlm_real *g, double lr, mlm_err *e) {
    mlm_status st = check_step(o, p, g, lr, e);
    if (!st) st = check_finite(o, g, e);
    if (st) return st;
    adamw_update(o, p, g, lr, 0, 1.0);
    return MLM_OK;
}

mlm_status mlm_adamw_step_clipped(mlm_adamw *o, mlm_real *p, const mlm_real *g, double lr, double *norm, mlm_err *e) {
    mlm_status st = check_step(o, p, g, lr, e);
    if (st) return st;
    const double gn = mlm_grad_norm(g, o->n);
    if (norm) *norm = gn;
    /* A finite sum of squares means every gradient is finite; only a non-finite one (or, in
     * the double build, squares past DBL_MAX) needs the element scan. */
    if (!isfinite(gn) && (st = check_finite(o, g, e))) return st;
    double s = 1.0;
    const int clipped = clip_scale(gn, o->cfg.clip, &s);
    adamw_update(o, p, g, lr, clipped, s);
    return MLM_OK;
}

/* ---- file ------------------------------------------------------------------------------ */

static void put_u32(unsigned char *b, uint32_t v) { for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i)); }
static void put_u64(unsigned char *b, uint64_t v) { for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i)); }
static void put_f64(unsigned char *b, double d) { uint64_t v; memcpy(&v, &d, 8); put_u64(b, v); }
static void put_f32(unsigned char *b, float f) { uint32_t v; memcpy(&v, &f, 4); put_u32(b, v); }
static uint32_t get_u32(const unsigned char *b) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = (v << 8) | b[i]; return v; }
static uint64_t get_u64(const unsigned char *b) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = (v << 8) | b[i]; return v; }
static double get_f64(const unsigned char *b) { uint64_t v = get_u64(b); double d; memcpy(&d, &v, 8); return d; }
static float get_f32(const unsigned char *b) { uint32_t v = get_u32(b); float f; memcpy(&f, &v, 4); return f; }

mlm_status mlm_adamw_save(const mlm_adamw *o, const char *path, mlm_err *e) {
    if (!o || !path) return mlm_fail(e, MLM_EINVAL, "adamw save: NULL argument");
    const size_t sb = sizeof(mlm_real), n = (size_t)o->n;
    size_t len = OPT_HEADER + 2 * n * sb + n;
    unsigned char *buf = malloc(len);
    if (!buf) return mlm_fail(e, MLM_ENOMEM, "optimizer state '%s': out of memory", path);
    unsigned char *b = buf;
    memcpy(b, OPT_MAGIC, 8);
    put_u32(b + 8, OPT_VERSION);
    put_u32(b + 12, (uint32_t)sb);
    put_u64(b + 16, (uint64_t)o->n);
    put_u64(b + 24, (uint64_t)o->step);
    const double f[6] = {o->cfg.lr, o->cfg.beta1, o->cfg.beta2, o->cfg.eps, o->cfg.weight_decay, o->cfg.clip};
    for (int i = 0; i < 6; i++) put_f64(b + 32 + 8 * i, f[i]);
    put_u64(b + 80, (uint64_t)o->cfg.warmup_steps);
    put_u64(b + 88, (uint64_t)o->cfg.total_steps);
    put_f64(b + 96, o->cfg.min_lr_frac);
    b += OPT_HEADER;
    for (int pass = 0; pass < 2; pass++) {
        const mlm_real *src = pass ? o->v : o->m;
        for (size_t i = 0; i < n; i++, b += sb) {
            if (sb == 8) put_f64(b, (double)src[i]);
            else put_f32(b, (float)src[i]);
        }
    }
    memcpy(b, o->decay, n);
    mlm_status st = mlm_write_file_atomic(path, buf, len, e);
    free(buf);
    return st;
}

mlm_adamw *mlm_adamw_load(const char *path, mlm_err *e) {
    if (!path) { mlm_fail(e, MLM_EINVAL, "adamw load: NULL path"); return NULL; }
    char *data = NULL;
    size_t len = 0;
    if (mlm_read_file(path, (size_t)1 << 40, &data, &len, e)) return NULL;
    const unsigned char *b = (const unsigned char *)data;
    mlm_adamw *o = NULL;
    if (len < OPT_HEADER || memcmp(b, OPT_MAGIC, 8)) {
        mlm_fail(e, MLM_EFORMAT, "optimizer state '%s': not an MLMADAMW file (%zu bytes)", path, len);
        goto done;
    }
    uint32_t ver = get_u32(b + 8), sb = get_u32(b + 12);
    uint64_t n = get_u64(b + 16), step = get_u64(b + 24);
    if (ver != OPT_VERSION) { mlm_fail(e, MLM_EFORMAT, "optimizer state '%s': version %u, expected %u", path, ver, OPT_VERSION); goto done; }
    if (sb != 4 && sb != 8) { mlm_fail(e, MLM_EFORMAT, "optimizer state '%s': scalar size %u (4 or 8 expected)", path, sb); goto done; }
    if (n < 1 || n > ((uint64_t)1 << 40) || (len - OPT_HEADER) / (2 * sb + 1) != n || (len - OPT_HEADER) % (2 * sb + 1)) {
        mlm_fail(e, MLM_EFORMAT, "optimizer state '%s': header says %llu parameters but the file holds %zu bytes", path,
                 (unsigned long long)n, len);
        goto done;
    }
    if (step > ((uint64_t)1 << 62)) { mlm_fail(e, MLM_EFORMAT, "optimizer state '%s': step %llu out of range", path, (unsigned long long)step); goto done; }
    mlm_adamw_cfg c;
    c.lr = get_f64(b + 32);
    c.beta1 = get_f64(b + 40);
    c.beta2 = get_f64(b + 48);
    c.eps = get_f64(b + 56);
    c.weight_decay = get_f64(b + 64);
    c.clip = get_f64(b + 72);
    c.warmup_steps = (int64_t)get_u64(b + 80);
    c.total_steps = (int64_t)get_u64(b + 88);
    c.min_lr_frac = get_f64(b + 96);
    mlm_err e2;
    if (mlm_adamw_cfg_validate(&c, &e2)) { mlm_fail(e, MLM_EFORMAT, "optimizer state '%s': %s", path, e2.msg); goto done; }
    o = alloc_state(&c, (int64_t)n, e);
    if (!o) goto done;
    o->step = (int64_t)step;
    const unsigned char *q = b + OPT_HEADER;
    for (int pass = 0; pass < 2; pass++) {
        mlm_real *dst = pass ? o->v : o->m;
        for (size_t i = 0; i < n; i++, q += sb) dst[i] = sb == 8 ? (mlm_real)get_f64(q) : (mlm_real)get_f32(q);
    }
    for (size_t i = 0; i < n; i++) {
        if (q[i] > 1) {
            mlm_fail(e, MLM_EFORMAT, "optimizer state '%s': decay flag %zu is %u (0 or 1 expected)", path, i, q[i]);
            mlm_adamw_free(o);
            o = NULL;
            goto done;
        }
        o->decay[i] = q[i];
    }
    for (size_t i = 0; i < n; i++)
        if (!isfinite((double)o->m[i]) || !isfinite((double)o->v[i]) || o->v[i] < 0) {
            mlm_fail(e, MLM_EFORMAT, "optimizer state '%s': moment %zu is not finite (or v < 0)", path, i);
            mlm_adamw_free(o);
            o = NULL;
            goto done;
        }
done:
    free(data);
    return o;
}
