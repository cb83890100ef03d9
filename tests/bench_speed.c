/* bench_speed.c - the machine's roofline and decoding against it: the measured FMA peak and
 * read bandwidth, float32 decode with the KV cache against the bandwidth roof (weight bytes
 * per token / measured bandwidth), the opt-in bfloat16 weight store (speed-up and its logit
 * error against float32), and the roofline chart (results/roofline.png through the project's
 * plots, plus .gp/.dat through gnuplot when present) with each kernel as a point.
 *
 * BENCH lines: peak_flops, bandwidth (at the decode working-set size, sustained over a run of
 * decode length) against the DRAM bandwidth, bandwidth_burst (the fastest single pass),
 * decode_fp32_roofline (tokens/s against the roof), decode_bf16 (tokens/s against float32),
 * bf16_logit_error. */
#include "bf16.h"
#include "bigalloc.h"
#include "cpu.h"
#include "forward.h"
#include "gemm.h"
#include "plot.h"
#include "plot_cairo.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#if !defined(MLM_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define HAVE_AVX512 1
#include <immintrin.h>
/* Twelve independent FMA chains per thread (latency 4 x 2 ports needs at least 8). */
__attribute__((target("avx512f,fma"))) static double fma_loop(long n) {
    __m512 a0 = _mm512_set1_ps(1.0f), a1 = _mm512_set1_ps(1.1f), a2 = _mm512_set1_ps(1.2f), a3 = _mm512_set1_ps(1.3f),
           a4 = _mm512_set1_ps(1.4f), a5 = _mm512_set1_ps(1.5f), a6 = _mm512_set1_ps(1.6f), a7 = _mm512_set1_ps(1.7f),
           a8 = _mm512_set1_ps(1.8f), a9 = _mm512_set1_ps(1.9f), a10 = _mm512_set1_ps(2.0f), a11 = _mm512_set1_ps(2.1f);
    const __m512 m = _mm512_set1_ps(0.99999f), c = _mm512_set1_ps(1e-5f);
    for (long k = 0; k < n; k++) {
        a0 = _mm512_fmadd_ps(a0, m, c); a1 = _mm512_fmadd_ps(a1, m, c); a2 = _mm512_fmadd_ps(a2, m, c);
        a3 = _mm512_fmadd_ps(a3, m, c); a4 = _mm512_fmadd_ps(a4, m, c); a5 = _mm512_fmadd_ps(a5, m, c);
        a6 = _mm512_fmadd_ps(a6, m, c); a7 = _mm512_fmadd_ps(a7, m, c); a8 = _mm512_fmadd_ps(a8, m, c);
        a9 = _mm512_fmadd_ps(a9, m, c); a10 = _mm512_fmadd_ps(a10, m, c); a11 = _mm512_fmadd_ps(a11, m, c);
        __asm__ volatile("" : "+v"(a0), "+v"(a1), "+v"(a2), "+v"(a3), "+v"(a4), "+v"(a5));
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    return (double)_mm512_reduce_add_ps(s);
}
__attribute__((target("avx512f"))) static double read_sum(const float *p, int64_t n) {
    __m512 s0 = _mm512_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
    for (int64_t i = 0; i + 64 <= n; i += 64) {
        s0 = _mm512_add_ps(s0, _mm512_load_ps(p + i));
        s1 = _mm512_add_ps(s1, _mm512_load_ps(p + i + 16));
        s2 = _mm512_add_ps(s2, _mm512_load_ps(p + i + 32));
        s3 = _mm512_add_ps(s3, _mm512_load_ps(p + i + 48));
    }
    return (double)_mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(s0, s1), _mm512_add_ps(s2, s3)));
}
#endif

static double read_sum_portable(const float *p, int64_t n) {
    float s[16] = {0};
    for (int64_t i = 0; i + 16 <= n; i += 16)
        for (int l = 0; l < 16; l++) s[l] += p[i + l];
    double t = 0;
    for (int l = 0; l < 16; l++) t += s[l];
    return t;
}

static int nthreads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

/* FLOP/s of all threads running FMA chains at once (0 without AVX-512). */
static double measure_peak(void) {
#ifdef HAVE_AVX512
    if (mlm_cpu_isa() != MLM_ISA_AVX512) return 0;
    const long n = 20000000;
    double best = 0;
    for (int rep = 0; rep < 3; rep++) {
        double sink = 0, t0 = mlm_now();
#pragma omp parallel reduction(+ : sink)
        sink += fma_loop(n);
        double t = mlm_now() - t0;
        if (sink == 12345.0) printf(" ");
        double f = (double)n * 12 * 32 * nthreads() / t;
        if (f > best) best = f;
    }
    return best;
#else
    return 0;
#endif
}

/* One pass of all threads reading buf (n floats), each its own contiguous share. */
static double read_pass(const float *buf, int64_t n) {
    double sink = 0;
#pragma omp parallel reduction(+ : sink)
    {
        int nt = 1, id = 0;
#ifdef _OPENMP
        nt = omp_get_num_threads();
        id = omp_get_thread_num();
#endif
        int64_t per = n / nt / 64 * 64, lo = per * id, hi = id == nt - 1 ? n : lo + per;
#ifdef HAVE_AVX512
        if (mlm_cpu_isa() == MLM_ISA_AVX512) sink += read_sum(buf + lo, hi - lo);
        else
#endif
            sink += read_sum_portable(buf + lo, hi - lo);
    }
    return sink;
}

/* A buffer of about `bytes` for read_run, allocated as the weights are (bigalloc.h: huge pages
 * where the system gives them), so the roof and the decoder read the same kind of memory. */
static float *read_buf(int64_t bytes, int64_t *n) {
    *n = bytes / 4 / 1024 * 1024;
    float *buf = mlm_big_calloc((size_t)*n, 4);
    if (!buf) return NULL;
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < *n; i++) buf[i] = 1.0f;
    read_pass(buf, *n); /* warm-up */
    return buf;
}

/* Read bandwidth (bytes/s) of one run of `passes` passes over buf: its total bytes over its
 * total time, which is what a run of `passes` decode steps can stream, noise included.
 * *fastest keeps the fastest single pass seen. */
static double read_run(const float *buf, int64_t n, int passes, double *fastest) {
    double sink = 0, t0 = mlm_now(), prev = t0;
    for (int p = 0; p < passes; p++) {
        sink += read_pass(buf, n);
        double now = mlm_now();
        if ((double)n * 4 / (now - prev) > *fastest) *fastest = (double)n * 4 / (now - prev);
        prev = now;
    }
    if (sink == 1.0) printf(" ");
    return (double)n * 4 * passes / (prev - t0);
}

/* Tokens/s of decoding T tokens (best of reps); fills logits (T, V) when non-NULL. */
static double decode_rate(const mlm_model *m, const mlm_bf16_weights *bw, mlm_kv_cache *kv, const int *tok, int T,
                          mlm_real *logits, int reps) {
    double best = 0;
    mlm_err e;
    int64_t V = m->cfg.vocab_size;
    for (int r = 0; r < reps; r++) {
        mlm_kv_cache_reset(kv);
        double t0 = mlm_now();
        for (int t = 0; t < T; t++) {
            mlm_real *lg = logits ? logits + (int64_t)t * V : NULL;
            if (bw) mlm_decode_step_bf16(m, bw, kv, tok[t], t, lg, NULL, NULL, &e);
            else mlm_decode_step(m, kv, tok[t], t, lg, NULL, NULL, &e);
        }
        double rate = T / (mlm_now() - t0);
        if (rate > best) best = rate;
    }
    return best;
}

int main(void) {
    mlm_err e;
    char cpu[256];
    mlm_cpu_model(cpu, sizeof cpu);
    int th = nthreads();
    const mlm_config *c = mlm_preset_find("stories15m");
    mlm_model *m = mlm_model_new(c, &e);
    mlm_model_init(m, NULL);
    const int T = 256;
    int64_t d = c->d_model, L = c->n_layers, ff = c->d_ff, V = c->vocab_size, qd = mlm_q_dim(c), kvd = mlm_kv_dim(c);
    int64_t mat = L * (2 * qd * d + 2 * kvd * d + 3 * ff * d) + V * d; /* weights read per token */
    double kv_avg = 2.0 * (double)L * kvd * 4 * (T + 1) / 2.0;        /* KV cache bytes, mean position */
    double bytes32 = (double)mat * 4 + kv_avg, bytes16 = (double)mat * 2 + kv_avg;

    double peak = measure_peak();
    double burst_dram = 0, bw_dram = 0;
    {
        int64_t n;
        float *big = read_buf((int64_t)1 << 30, &n);
        if (big) bw_dram = read_run(big, n, 3, &burst_dram);
        free(big);
    }
    printf("machine: %s, %d threads, path %s, AVX-512 BF16 %s\n", cpu, th, mlm_isa_name(mlm_cpu_isa()),
           mlm_cpu_has_avx512_bf16() ? "yes" : "no");
    printf("  FMA peak (all threads)        %8.1f GFLOP/s\n", peak * 1e-9);
    printf("  read bandwidth, 1 GiB         %8.1f GB/s   (DRAM; 3 passes; fastest %.1f GB/s)\n", bw_dram * 1e-9,
           burst_dram * 1e-9);

    int *tok = malloc(sizeof(int) * (size_t)T);
    mlm_rng r;
    mlm_rng_seed(&r, 1);
    for (int t = 0; t < T; t++) tok[t] = (int)mlm_rng_below(&r, (uint32_t)V);
    mlm_kv_cache *kv = mlm_kv_cache_new(c, T, &e);
    mlm_real *lg32 = malloc(sizeof(mlm_real) * (size_t)(T * V)), *lg16 = malloc(sizeof(mlm_real) * (size_t)(T * V));
    mlm_bf16_weights *bw = mlm_bf16_new(m, &e);
    decode_rate(m, NULL, kv, tok, T, lg32, 1);
    decode_rate(m, bw, kv, tok, T, lg16, 1);
    /* The roof's bandwidth is measured as decoding is: a run reads a buffer of the bytes of one
     * token T times, and runs of reading and of decoding alternate (8 of each, best of each), so
     * both see the same machine; the fastest single pass is reported beside it. */
    double bw_ws = 0, bw16 = 0, burst_ws = 0, burst16 = 0, r32 = 0, r16 = 0;
    {
        int64_t n32, n16;
        float *b32 = read_buf((int64_t)bytes32, &n32), *b16 = read_buf((int64_t)bytes16, &n16);
        if (!b32 || !b16) fprintf(stderr, "bench_speed: out of memory for the read buffers\n");
        for (int rep = 0; rep < 8; rep++) {
            if (b32) bw_ws = fmax(bw_ws, read_run(b32, n32, T, &burst_ws));
            r32 = fmax(r32, decode_rate(m, NULL, kv, tok, T, NULL, 1));
            if (b16) bw16 = fmax(bw16, read_run(b16, n16, T, &burst16));
            r16 = fmax(r16, decode_rate(m, bw, kv, tok, T, NULL, 1));
        }
        free(b32);
        free(b16);
    }
    double roof32 = bw_ws / bytes32, roof16 = bw16 / bytes16;
    /* logit error of bf16 against float32, and next-token agreement */
    double maxd = 0, maxl = 0, sumsq = 0;
    int agree = 0;
    for (int t = 0; t < T; t++) {
        int64_t a32 = 0, a16 = 0;
        for (int64_t v = 0; v < V; v++) {
            double x = lg32[t * V + v], y = lg16[t * V + v];
            maxd = fmax(maxd, fabs(x - y));
            maxl = fmax(maxl, fabs(x));
            sumsq += (x - y) * (x - y);
            if (x > lg32[t * V + a32]) a32 = v;
            if (y > lg16[t * V + a16]) a16 = v;
        }
        agree += a32 == a16;
    }
    double rms = sqrt(sumsq / ((double)T * (double)V));
    printf("  read bandwidth, %5.1f MB      %8.1f GB/s   (the float32 decode working set: best of 8 runs of %d"
           " passes, between the decode runs; fastest single pass %.1f GB/s)\n",
           bytes32 * 1e-6, bw_ws * 1e-9, T, burst_ws * 1e-9);
    printf("  read bandwidth, %5.1f MB      %8.1f GB/s   (the bf16 working set, the same way; fastest %.1f GB/s)\n",
           bytes16 * 1e-6, bw16 * 1e-9, burst16 * 1e-9);
    printf("stories15m decode, %d tokens through the KV cache (best of 8 runs)\n", T);
    printf("  bytes per token: float32 %.1f MB, bf16 %.1f MB (matrices + mean KV cache read)\n", bytes32 * 1e-6,
           bytes16 * 1e-6);
    printf("  float32  %8.1f tokens/s   roof %8.1f tokens/s (%.1f GB/s / %.1f MB)   %5.1f%% of roof, %.1f GB/s achieved\n",
           r32, roof32, bw_ws * 1e-9, bytes32 * 1e-6, 100 * r32 / roof32, r32 * bytes32 * 1e-9);
    printf("  bf16     %8.1f tokens/s   roof %8.1f tokens/s (%.1f GB/s / %.1f MB)   %5.1f%% of roof; %.2fx float32"
           " (target >= 1.6)\n",
           r16, roof16, bw16 * 1e-9, bytes16 * 1e-6, 100 * r16 / roof16, r16 / r32);
    printf("  against the fastest single read pass instead (%.1f GB/s float32, %.1f GB/s bf16): float32 %.1f%%, "
           "bf16 %.1f%% of that roof\n",
           burst_ws * 1e-9, burst16 * 1e-9, 100 * r32 * bytes32 / burst_ws, 100 * r16 * bytes16 / burst16);
    printf("  bf16 logit error vs float32: max |diff| %.3g (max |logit| %.3g), rms %.3g; argmax agrees %d/%d\n", maxd,
           maxl, rms, agree, T);

    /* roofline points: the GEMM shapes of a prefill, and decoding's matrix-vector products */
    struct { const char *name; int64_t N, C, OC; } gs[] = {
        {"qkv/o T256", 256, d, d}, {"gate/up T256", 256, d, ff}, {"down T256", 256, ff, d}, {"lm_head T256", 256, d, V}};
    double px[12], py[12];
    int np = 0;
    printf("roofline points (GFLOP/s at arithmetic intensity FLOP/byte, compulsory traffic)\n");
    for (int i = 0; i < 4; i++) {
        int64_t N = gs[i].N, C = gs[i].C, OC = gs[i].OC;
        mlm_real *x = calloc((size_t)(N * C), sizeof(mlm_real)), *w = calloc((size_t)(OC * C), sizeof(mlm_real)),
                 *y = calloc((size_t)(N * OC), sizeof(mlm_real));
        mlm_gemm_nt(y, x, w, N, C, OC);
        double best = 1e9;
        for (int k = 0; k < 9; k++) {
            double t0 = mlm_now();
            mlm_gemm_nt(y, x, w, N, C, OC);
            double t = mlm_now() - t0;
            if (t < best) best = t;
        }
        double fl = 2.0 * N * C * OC, by = 4.0 * (N * C + OC * C + N * OC);
        px[np] = fl / by;
        py[np] = fl / best * 1e-9;
        printf("  gemm %-18s AI %7.1f   %7.1f GFLOP/s\n", gs[i].name, px[np], py[np]);
        np++;
        free(x); free(w); free(y);
    }
    /* the backward's products of a training step (N = 1024 rows): dinp += dout @ W, dW += dout^T @ in */
    struct { const char *name; int64_t N, C, OC; int dw; } bs[] = {
        {"dinp d>ff N1024", 1024, d, ff, 0}, {"dW d>ff N1024", 1024, d, ff, 1}, {"dinp lm_head N1024", 1024, d, V, 0},
        {"dW lm_head N1024", 1024, d, V, 1}};
    for (int i = 0; i < 4; i++) {
        int64_t N = bs[i].N, C = bs[i].C, OC = bs[i].OC;
        mlm_real *in = calloc((size_t)(N * C), sizeof(mlm_real)), *w = calloc((size_t)(OC * C), sizeof(mlm_real)),
                 *dout = calloc((size_t)(N * OC), sizeof(mlm_real)), *g = calloc((size_t)(OC * C), sizeof(mlm_real)),
                 *di = calloc((size_t)(N * C), sizeof(mlm_real));
        double best = 1e9;
        for (int k = 0; k < 6; k++) {
            double t0 = mlm_now();
            if (bs[i].dw) mlm_gemm_acc(g, dout, 1, OC, in, OC, N, C);
            else mlm_gemm_acc(di, dout, OC, 1, w, N, OC, C);
            double t = mlm_now() - t0;
            if (k > 0 && t < best) best = t; /* the first run warms up */
        }
        double fl = 2.0 * N * C * OC, by = 4.0 * (N * C + OC * C + N * OC);
        px[np] = fl / by;
        py[np] = fl / best * 1e-9;
        printf("  gemm %-18s AI %7.1f   %7.1f GFLOP/s\n", bs[i].name, px[np], py[np]);
        np++;
        free(in); free(w); free(dout); free(g); free(di);
    }
    px[np] = 2.0 * (double)mat / bytes32; py[np] = r32 * 2.0 * (double)mat * 1e-9; /* decode fp32 */
    printf("  decode float32          AI %7.2f   %7.1f GFLOP/s\n", px[np], py[np]);
    np++;
    px[np] = 2.0 * (double)mat / bytes16; py[np] = r16 * 2.0 * (double)mat * 1e-9;
    printf("  decode bf16             AI %7.2f   %7.1f GFLOP/s\n", px[np], py[np]);
    np++;

    /* the chart: the roof min(peak, AI * bandwidth) for both bandwidths, and the points */
    {
        enum { NR = 64 };
        double ax[NR], ay[NR], by[NR];
        double P = (peak > 0 ? peak : 1e11) * 1e-9;
        for (int i = 0; i < NR; i++) {
            ax[i] = pow(10, -1 + 4.0 * i / (NR - 1));
            ay[i] = fmin(P, ax[i] * bw_ws * 1e-9);
            by[i] = fmin(P, ax[i] * bw_dram * 1e-9);
        }
        mlmp_figure *fig = mlmp_figure_new("Roofline: stories15m kernels on this machine", 1, 1);
        mlmp_panel_t *pn = mlmp_panel(fig, 0, 0);
        char t2[1700];
        snprintf(t2, sizeof t2, "%s, %d threads, float32: peak %.0f GFLOP/s, %.0f GB/s (%.0f MB), %.0f GB/s (DRAM)", cpu, th,
                 P, bw_ws * 1e-9, bytes32 * 1e-6, bw_dram * 1e-9);
        mlmp_panel_set_title(pn, "GFLOP/s against arithmetic intensity", t2);
        mlmp_panel_set_xscale(pn, MLMP_SCALE_LOG);
        mlmp_panel_set_yscale(pn, MLMP_SCALE_LOG);
        mlmp_panel_set_xlabel(pn, "arithmetic intensity (FLOP per byte of compulsory traffic)");
        mlmp_panel_set_ylabel(pn, "GFLOP/s");
        mlmp_add_line(pn, ax, ay, NR, "roof: peak and working-set bandwidth");
        mlmp_series *sd = mlmp_add_line(pn, ax, by, NR, "roof: DRAM bandwidth");
        mlmp_series_set_dash(sd, MLMP_DASH_DASHED);
        mlmp_series *sg = mlmp_add_scatter(pn, px, py, 4, "GEMM, prefill T=256 (qkv/o, gate/up, down, lm_head)");
        mlmp_series_set_marker(sg, MLMP_MARKER_CIRCLE);
        mlmp_series *sb = mlmp_add_scatter(pn, px + 4, py + 4, 4, "GEMM, training backward N=1024 (dinp, dW: d_ff, lm_head)");
        mlmp_series_set_marker(sb, MLMP_MARKER_TRIANGLE);
        mlmp_series *s3 = mlmp_add_scatter(pn, px + 8, py + 8, 1, "decode float32 (KV cache)");
        mlmp_series_set_marker(s3, MLMP_MARKER_SQUARE);
        mlmp_series *s4 = mlmp_add_scatter(pn, px + 9, py + 9, 1, "decode bf16");
        mlmp_series_set_marker(s4, MLMP_MARKER_DIAMOND);
        mlmp_series *all[4] = {sg, sb, s3, s4};
        for (int i = 0; i < 4; i++) mlmp_series_set_marker_size(all[i], 8);
        char note[96];
        snprintf(note, sizeof note, "  float32 decode: %.1f%% of its roof", 100 * r32 / roof32);
        mlmp_series *a1 = mlmp_add_annotation(pn, px[8], py[8], note);
        mlmp_annotation_set_align(a1, MLMP_ALIGN_START, MLMP_ALIGN_CENTER);
        snprintf(note, sizeof note, "  bf16 decode: %.1f%% of its roof", 100 * r16 / roof16);
        mlmp_series *a2 = mlmp_add_annotation(pn, px[9], py[9], note);
        mlmp_annotation_set_align(a2, MLMP_ALIGN_START, MLMP_ALIGN_CENTER);
        snprintf(note, sizeof note, "peak %.0f GFLOP/s", P);
        mlmp_series *a3 = mlmp_add_annotation(pn, 20, P, note);
        mlmp_annotation_set_align(a3, MLMP_ALIGN_CENTER, MLMP_ALIGN_END);
        char err[256];
        mkdir("results", 0755);
        if (mlmp_render_png(fig, "results/roofline.png", err, sizeof err) == 0) printf("wrote results/roofline.png\n");
        else printf("roofline chart not written: %s\n", err);
        mlmp_figure_free(fig);
    }

    printf("BENCH peak_flops %.2f GFLOP/s fma_chains %.2f 1\n", peak * 1e-9, peak * 1e-9);
    printf("BENCH bandwidth %.2f GB/s dram_1GiB_GB/s %.2f %.3f\n", bw_ws * 1e-9, bw_dram * 1e-9, bw_ws / bw_dram);
    printf("BENCH bandwidth_burst %.2f GB/s bandwidth_sustained_GB/s %.2f %.3f\n", burst_ws * 1e-9, bw_ws * 1e-9,
           burst_ws / bw_ws);
    printf("BENCH decode_fp32_roofline %.1f tokens/s bandwidth_roof_tokens/s %.1f %.4f\n", r32, roof32, r32 / roof32);
    printf("BENCH decode_bf16 %.1f tokens/s decode_fp32_tokens/s %.1f %.4f\n", r16, r32, r16 / r32);
    printf("BENCH decode_bf16_roofline %.1f tokens/s bandwidth_roof_tokens/s %.1f %.4f\n", r16, roof16, r16 / roof16);
    printf("BENCH bf16_logit_error %.5g max_abs_diff max_abs_logit %.5g %.5g\n", maxd, maxl, maxd / maxl);
    mlm_bf16_free(bw);
    free(lg32); free(lg16); free(tok);
    mlm_kv_cache_free(kv);
    mlm_model_free(m);
    return 0;
}
