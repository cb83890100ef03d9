/* kernels_bwd.c - backward kernels: the fast path the backward pass uses and, where a fast
 * path exists (matmul, attention), a slow, obvious twin the tests compare against (the fast
 * attention backward itself lives in attention_bwd.c). FLOP conventions and accumulate/write
 * semantics: kernels_bwd.h. */
#include "kernels_bwd.h"

#include "bwd_avx512.h"
#include "cpu.h"
#include "expf.h"
#include "gemm.h"

#include <math.h>
#include <string.h>

#ifdef MLM_DOUBLE
#define R_EXP exp
#else
#define R_EXP mlm_exp_scalar /* the forward's exp (expf.h): a recomputed SiLU has its forward bits */
#endif

/* ---- matmul ------------------------------------------------------------------------------ */

#define MB_ROWS 64   /* dinp: token rows per parallel task */
#define MB_OROWS 64  /* dw: weight rows per parallel task */
#define MB_BLOCK 128 /* reduction block: weight rows (dinp) or token rows (dw) kept in L2 */
#define MB_LANES 8   /* columns per register tile */

/* Register tile: acc (4 rows x 8 columns) = y[r, c..c+8] + sum over k in [k0, k1), in
 * increasing order, of a[r, k] * b[k, c..c+8]; a rows are a + r*lda, b rows b + k*ldb.
 * Every element sums its terms in the same order as the plain loop, so tiling, blocking and
 * threads change no bit. */
static inline void tile4x8(mlm_real *y, int64_t ldy, const mlm_real *a, int64_t lda, int64_t sa, const mlm_real *b,
                           int64_t ldb, int64_t k0, int64_t k1) {
    /* 4-wide arrays: each loop over l is one vector operation, so the accumulators stay in
     * registers */
    mlm_real c0[4], c1[4], c2[4], c3[4], d0[4], d1[4], d2[4], d3[4];
    for (int l = 0; l < 4; l++) {
        c0[l] = y[l];           d0[l] = y[4 + l];
        c1[l] = y[ldy + l];     d1[l] = y[ldy + 4 + l];
        c2[l] = y[2 * ldy + l]; d2[l] = y[2 * ldy + 4 + l];
        c3[l] = y[3 * ldy + l]; d3[l] = y[3 * ldy + 4 + l];
    }
    const mlm_real *p0 = a, *p1 = a + lda, *p2 = a + 2 * lda, *p3 = a + 3 * lda;
    for (int64_t k = k0; k < k1; k++) {
        const mlm_real *bk = b + k * ldb;
        mlm_real a0 = p0[k * sa], a1 = p1[k * sa], a2 = p2[k * sa], a3 = p3[k * sa];
        for (int l = 0; l < 4; l++) {
            mlm_real bv = bk[l], bw = bk[4 + l];
            c0[l] += a0 * bv; d0[l] += a0 * bw;
            c1[l] += a1 * bv; d1[l] += a1 * bw;
            c2[l] += a2 * bv; d2[l] += a2 * bw;
            c3[l] += a3 * bv; d3[l] += a3 * bw;
        }
    }
    for (int l = 0; l < 4; l++) {
        y[l] = c0[l];           y[4 + l] = d0[l];
        y[ldy + l] = c1[l];     y[ldy + 4 + l] = d1[l];
        y[2 * ldy + l] = c2[l]; y[2 * ldy + 4 + l] = d2[l];
        y[3 * ldy + l] = c3[l]; y[3 * ldy + 4 + l] = d3[l];
    }
}

/* The general case of one output element range: rows [r0, r1), columns [c0, c1). */
static void tile_any(mlm_real *y, int64_t ldy, const mlm_real *a, int64_t lda, int64_t sa, const mlm_real *b,
                     int64_t ldb, int64_t k0, int64_t k1, int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    for (int64_t r = r0; r < r1; r++)
        for (int64_t c = c0; c < c1; c++) {
            mlm_real acc = y[r * ldy + c];
            for (int64_t k = k0; k < k1; k++) acc += a[r * lda + k * sa] * b[k * ldb + c];
            y[r * ldy + c] = acc;
        }
}

/* y (rows [r0, r1) x C) += A B where A[r, k] = a[r*lda + k*sa] and B (K, C) row-major, the
 * reduction over k in blocks of MB_BLOCK (kept in cache), 4 x 8 register tiles. */
static void gemm_rows(mlm_real *y, const mlm_real *a, int64_t lda, int64_t sa, const mlm_real *b, int64_t r0,
                      int64_t r1, int64_t K, int64_t C) {
    const int64_t c8 = C - C % MB_LANES;
    for (int64_t k0 = 0; k0 < K; k0 += MB_BLOCK) {
        int64_t k1 = k0 + MB_BLOCK < K ? k0 + MB_BLOCK : K;
        int64_t r = r0;
        for (; r + 4 <= r1; r += 4) {
            for (int64_t c = 0; c < c8; c += MB_LANES)
                tile4x8(y + r * C + c, C, a + r * lda, lda, sa, b + c, C, k0, k1);
            if (c8 < C) tile_any(y, C, a, lda, sa, b, C, k0, k1, r, r + 4, c8, C);
        }
        if (r < r1) tile_any(y, C, a, lda, sa, b, C, k0, k1, r, r1, 0, C);
    }
}

uint64_t mlm_matmul_backward(mlm_real *dinp, mlm_real *dw, const mlm_real *dout, const mlm_real *in, const mlm_real *w,
                             int64_t N, int64_t C, int64_t OC, uint64_t fl[2]) {
    if (mlm_gemm_fast()) { /* the AVX-512 GEMM of lib/gemm.c; the code below is the portable path */
        uint64_t f = 2 * (uint64_t)N * (uint64_t)C * (uint64_t)OC;
        if (dinp) mlm_gemm_acc(dinp, dout, OC, 1, w, N, OC, C); /* dinp (N, C) += dout (N, OC) @ w (OC, C) */
        if (dw) mlm_gemm_acc(dw, dout, 1, OC, in, OC, N, C);    /* dw (OC, C) += dout^T @ in (N, C) */
        if (fl) { fl[0] = dinp ? f : 0; fl[1] = dw ? f : 0; }
        return (dinp ? f : 0) + (dw ? f : 0);
    }
    int big = (double)N * (double)C * (double)OC > 32768.0;
    (void)big; /* read only by the OpenMP clauses */
    uint64_t f_in = 0, f_w = 0;
    if (dinp) {
        int64_t tasks = (N + MB_ROWS - 1) / MB_ROWS;
#pragma omp parallel for schedule(static) if (big)
        for (int64_t t = 0; t < tasks; t++) {
            int64_t i0 = t * MB_ROWS, i1 = i0 + MB_ROWS < N ? i0 + MB_ROWS : N;
            gemm_rows(dinp, dout, OC, 1, w, i0, i1, OC, C); /* dinp[i,c] += sum_o dout[i,o] w[o,c] */
        }
        f_in = 2 * (uint64_t)N * (uint64_t)C * (uint64_t)OC;
    }
    if (dw) {
        int64_t tasks = (OC + MB_OROWS - 1) / MB_OROWS;
#pragma omp parallel for schedule(static) if (big)
        for (int64_t t = 0; t < tasks; t++) {
            int64_t o0 = t * MB_OROWS, o1 = o0 + MB_OROWS < OC ? o0 + MB_OROWS : OC;
            gemm_rows(dw, dout, 1, OC, in, o0, o1, N, C); /* dw[o,c] += sum_i dout[i,o] in[i,c] */
        }
        f_w = 2 * (uint64_t)N * (uint64_t)C * (uint64_t)OC;
    }
    if (fl) { fl[0] = f_in; fl[1] = f_w; }
    return f_in + f_w;
}

uint64_t mlm_matmul_backward_ref(mlm_real *dinp, mlm_real *dw, const mlm_real *dout, const mlm_real *in,
                                 const mlm_real *w, int64_t N, int64_t C, int64_t OC, uint64_t fl[2]) {
    uint64_t f_in = 0, f_w = 0;
    if (dinp)
        for (int64_t i = 0; i < N; i++)
            for (int64_t c = 0; c < C; c++) {
                double s = dinp[i * C + c];
                for (int64_t o = 0; o < OC; o++) { s += (double)dout[i * OC + o] * w[o * C + c]; f_in += 2; }
                dinp[i * C + c] = (mlm_real)s;
            }
    if (dw)
        for (int64_t o = 0; o < OC; o++)
            for (int64_t c = 0; c < C; c++) {
                double s = dw[o * C + c];
                for (int64_t i = 0; i < N; i++) { s += (double)dout[i * OC + o] * in[i * C + c]; f_w += 2; }
                dw[o * C + c] = (mlm_real)s;
            }
    if (fl) { fl[0] = f_in; fl[1] = f_w; }
    return f_in + f_w;
}

/* ---- RMSNorm ----------------------------------------------------------------------------- */

uint64_t mlm_rmsnorm_backward(mlm_real *dinp, mlm_real *dg, const mlm_real *dout, const mlm_real *in,
                              const mlm_real *rstd, const mlm_real *g, int64_t N, int64_t C, uint64_t fl[2]) {
    uint64_t f_in = 0, f_g = 0;
    if (dinp) {
#pragma omp parallel for schedule(static) if (N * C > 65536)
        for (int64_t i = 0; i < N; i++) {
            const mlm_real *x = in + i * C, *dy = dout + i * C;
            mlm_real *dx = dinp + i * C;
            double dot = 0;
            for (int64_t c = 0; c < C; c++) dot += (double)g[c] * dy[c] * x[c];
            double r = rstd[i];
            mlm_real coef = (mlm_real)(dot * r * r / (double)C), rr = (mlm_real)r;
            for (int64_t c = 0; c < C; c++) dx[c] += rr * (g[c] * dy[c] - x[c] * coef);
        }
        f_in = (8 * (uint64_t)C + 3) * (uint64_t)N;
    }
    if (dg) {
        /* rows in order: each gain element sums over the rows in one fixed order */
        for (int64_t i = 0; i < N; i++) {
            const mlm_real *x = in + i * C, *dy = dout + i * C;
            mlm_real r = rstd[i];
            for (int64_t c = 0; c < C; c++) dg[c] += dy[c] * x[c] * r;
        }
        f_g = 3 * (uint64_t)C * (uint64_t)N;
    }
    if (fl) { fl[0] = f_in; fl[1] = f_g; }
    return f_in + f_g;
}

/* ---- RoPE -------------------------------------------------------------------------------- */

uint64_t mlm_rope_backward(mlm_real *din, const mlm_real *dout, const int *pos, int64_t B, int64_t T, int64_t H,
                           int64_t hd, double theta, mlm_rope_layout layout) {
    int64_t half = hd / 2;
    for (int64_t t = 0; t < T; t++) {
        double p = pos ? (double)pos[t] : (double)t;
        for (int64_t i = 0; i < half; i++) {
            double ang = p * pow(theta, -2.0 * (double)i / (double)hd);
            mlm_real c = (mlm_real)cos(ang), s = (mlm_real)sin(ang);
            int64_t ia = layout == MLM_ROPE_HALF ? i : 2 * i, ib = layout == MLM_ROPE_HALF ? i + half : 2 * i + 1;
            for (int64_t b = 0; b < B; b++)
                for (int64_t h = 0; h < H; h++) {
                    int64_t base = ((b * T + t) * H + h) * hd;
                    mlm_real g0 = dout[base + ia], g1 = dout[base + ib];
                    din[base + ia] = g0 * c + g1 * s;
                    din[base + ib] = g1 * c - g0 * s;
                }
        }
    }
    return 3 * (uint64_t)(B * T * H * hd);
}

/* ---- attention --------------------------------------------------------------------------- */

static inline void attn_range(const mlm_attn_opts *o, int64_t i, int64_t T, int64_t *lo, int64_t *hi) {
    *lo = 0;
    *hi = o->causal ? i + 1 : T;
    if (o->causal && o->window > 0 && i + 1 > o->window) *lo = i + 1 - o->window;
}

uint64_t mlm_attention_backward_ref(mlm_real *dq, mlm_real *dk, mlm_real *dv, mlm_real *dprobs,
                                    mlm_real *dscores, const mlm_real *dheads, const mlm_real *q,
                                    const mlm_real *k, const mlm_real *v, const mlm_real *probs, int64_t B,
                                    int64_t T, int64_t H, int64_t Hkv, int64_t hd, const mlm_attn_opts *o) {
    /* The textbook chain, one query head at a time: dP = dO V^T, dV += P^T dO,
     * dS = P o (dP - rowsum(P o dP)), dQ = dS K / sqrt(dk), dK += dS^T Q / sqrt(dk), where the
     * K/V of head h is KV head h / (H / Hkv), so dK and dV sum over the heads sharing it. */
    const double scale = 1.0 / sqrt((double)hd);
    memset(dq, 0, (size_t)(B * T * H * hd) * sizeof(mlm_real));
    memset(dk, 0, (size_t)(B * T * Hkv * hd) * sizeof(mlm_real));
    memset(dv, 0, (size_t)(B * T * Hkv * hd) * sizeof(mlm_real));
    uint64_t flops = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < T; i++) {
                int64_t hk = h / (H / Hkv), lo, hi;
                attn_range(o, i, T, &lo, &hi);
                const mlm_real *p = probs + ((b * H + h) * T + i) * T;
                mlm_real *dp = dprobs + ((b * H + h) * T + i) * T, *ds = dscores + ((b * H + h) * T + i) * T;
                double sum = 0;
                for (int64_t j = 0; j < T; j++) {
                    dp[j] = 0;
                    if (j < lo || j >= hi) continue;
                    double s = 0;
                    for (int64_t d = 0; d < hd; d++)
                        s += (double)dheads[((b * T + i) * H + h) * hd + d] * v[((b * T + j) * Hkv + hk) * hd + d];
                    dp[j] = (mlm_real)s;
                    sum += (double)p[j] * s;
                    for (int64_t d = 0; d < hd; d++)
                        dv[((b * T + j) * Hkv + hk) * hd + d] +=
                            (mlm_real)((double)p[j] * dheads[((b * T + i) * H + h) * hd + d]);
                }
                for (int64_t j = 0; j < T; j++) {
                    ds[j] = (j >= lo && j < hi) ? (mlm_real)((double)p[j] * ((double)dp[j] - sum)) : 0;
                    if (j < lo || j >= hi) continue;
                    for (int64_t d = 0; d < hd; d++) {
                        dq[((b * T + i) * H + h) * hd + d] +=
                            (mlm_real)((double)ds[j] * scale * k[((b * T + j) * Hkv + hk) * hd + d]);
                        dk[((b * T + j) * Hkv + hk) * hd + d] +=
                            (mlm_real)((double)ds[j] * scale * q[((b * T + i) * H + h) * hd + d]);
                    }
                }
                flops += (uint64_t)(hi - lo) * (8 * (uint64_t)hd + 5);
            }
    return flops;
}

uint64_t mlm_attention_backward_expanded(mlm_real *dkexp, mlm_real *dvexp, const mlm_real *dscores,
                                         const mlm_real *dheads, const mlm_real *q, const mlm_real *probs, int64_t B,
                                         int64_t T, int64_t H, int64_t hd, const mlm_attn_opts *o) {
    const mlm_real scale = (mlm_real)(1.0 / sqrt((double)hd));
    memset(dkexp, 0, (size_t)(B * T * H * hd) * sizeof(mlm_real));
    memset(dvexp, 0, (size_t)(B * T * H * hd) * sizeof(mlm_real));
    uint64_t n_sc = 0;
    for (int64_t b = 0; b < B; b++)
        for (int64_t h = 0; h < H; h++)
            for (int64_t i = 0; i < T; i++) {
                int64_t lo, hi;
                attn_range(o, i, T, &lo, &hi);
                const mlm_real *qi = q + ((b * T + i) * H + h) * hd, *doi = dheads + ((b * T + i) * H + h) * hd;
                const mlm_real *p = probs + ((b * H + h) * T + i) * T, *ds = dscores + ((b * H + h) * T + i) * T;
                for (int64_t j = lo; j < hi; j++) {
                    mlm_real *dkj = dkexp + ((b * T + j) * H + h) * hd, *dvj = dvexp + ((b * T + j) * H + h) * hd;
                    mlm_real g = ds[j] * scale, pj = p[j];
                    for (int64_t d = 0; d < hd; d++) {
                        dkj[d] += g * qi[d];
                        dvj[d] += pj * doi[d];
                    }
                }
                n_sc += (uint64_t)(hi - lo);
            }
    return n_sc * 4 * (uint64_t)hd;
}

/* ---- element-wise ------------------------------------------------------------------------ */

uint64_t mlm_silu_backward(mlm_real *dgate, const mlm_real *dact, const mlm_real *gate, int64_t n) {
#pragma omp parallel for schedule(static) if (n > 262144)
    for (int64_t i = 0; i < n; i++) {
        mlm_real g = gate[i], s = 1 / (1 + R_EXP(-g));
        dgate[i] = dact[i] * s * (1 + g * (1 - s));
    }
    return 9 * (uint64_t)n;
}

uint64_t mlm_swiglu_backward(mlm_real *dgate, mlm_real *dup, mlm_real *dact, const mlm_real *dhidden, const mlm_real *gate,
                             const mlm_real *up, int64_t n) {
    int fast = 0;
#ifdef MLM_BWD_AVX512
    fast = mlm_cpu_isa() == MLM_ISA_AVX512;
#endif
    (void)fast;
    const int64_t chunk = 4096; /* elements per task: whole vectors, each element on its own */
    const int64_t tasks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static) if (n > 262144)
    for (int64_t t = 0; t < tasks; t++) {
        int64_t i0 = t * chunk, i1 = i0 + chunk < n ? i0 + chunk : n;
#ifdef MLM_BWD_AVX512
        if (fast) { mlm_swiglu_rows_avx512(dgate, dup, dact, dhidden, gate, up, i0, i1); continue; }
#endif
        for (int64_t i = i0; i < i1; i++) {
            /* the operations of mlm_silu_forward, mlm_mul_backward and mlm_silu_backward */
            mlm_real g = gate[i], den = 1 + R_EXP(-g), s = 1 / den, dh = dhidden[i];
            mlm_real act = g / den, da = dh * up[i];
            dact[i] = da;
            dup[i] = dh * act;
            dgate[i] = da * s * (1 + g * (1 - s));
        }
    }
    return 15 * (uint64_t)n;
}

uint64_t mlm_mul_backward(mlm_real *da, mlm_real *db, const mlm_real *dout, const mlm_real *a, const mlm_real *b,
                          int64_t n) {
    uint64_t f = 0;
    if (da) { for (int64_t i = 0; i < n; i++) da[i] = dout[i] * b[i]; f += (uint64_t)n; }
    if (db) { for (int64_t i = 0; i < n; i++) db[i] = dout[i] * a[i]; f += (uint64_t)n; }
    return f;
}

uint64_t mlm_relu_backward(mlm_real *dx, const mlm_real *dout, const mlm_real *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) dx[i] = x[i] > 0 ? dout[i] : 0;
    return (uint64_t)n;
}

uint64_t mlm_residual_backward(mlm_real *da, mlm_real *db, const mlm_real *dout, int64_t n) {
    if (da && da != dout) memcpy(da, dout, (size_t)n * sizeof(mlm_real));
    if (db && db != dout) memcpy(db, dout, (size_t)n * sizeof(mlm_real));
    return 0;
}

uint64_t mlm_embed_backward(mlm_real *demb, const mlm_real *dout, const int *tokens, int64_t N, int64_t d) {
    for (int64_t i = 0; i < N; i++) {
        mlm_real *row = demb + (int64_t)tokens[i] * d;
        const mlm_real *g = dout + i * d;
        for (int64_t c = 0; c < d; c++) row[c] += g[c];
    }
    return (uint64_t)N * (uint64_t)d;
}

/* Rows are split into MLM_CE_CHUNKS fixed chunks whose partial losses are added in chunk
 * order, so the loss is the same bits for any thread count. */
#define MLM_CE_CHUNKS 64

uint64_t mlm_crossentropy_backward(mlm_real *dlogits, double *loss, int64_t *n_counted, const mlm_real *logits,
                                   const int *targets, int64_t N, int64_t V, uint64_t fl[2]) {
    int64_t n = 0;
    for (int64_t i = 0; i < N; i++) n += targets[i] >= 0;
    const double invn = n > 0 ? 1.0 / (double)n : 0;
    double part[MLM_CE_CHUNKS];
    int fast = 0; /* AVX-512 rows (bwd_avx512.c): a vector exp, the sum in 16 double lanes */
#ifdef MLM_BWD_AVX512
    fast = mlm_cpu_isa() == MLM_ISA_AVX512;
#endif
    (void)fast;
#pragma omp parallel for schedule(static) if (N * V > 65536)
    for (int ch = 0; ch < MLM_CE_CHUNKS; ch++) {
        int64_t i0 = N * ch / MLM_CE_CHUNKS, i1 = N * (ch + 1) / MLM_CE_CHUNKS;
        double total = 0;
        for (int64_t i = i0; i < i1; i++) {
            const mlm_real *x = logits + i * V;
            mlm_real *dx = dlogits ? dlogits + i * V : NULL;
            if (targets[i] < 0) {
                if (dx) memset(dx, 0, (size_t)V * sizeof(mlm_real));
                continue;
            }
#ifdef MLM_BWD_AVX512
            if (fast) { total += mlm_ce_row_avx512(dx, x, V, targets[i], (double)n); continue; }
#endif
            mlm_real mx = -INFINITY;
            for (int64_t j = 0; j < V; j++) if (x[j] > mx) mx = x[j];
            double sum = 0;
            if (dx) {
                for (int64_t j = 0; j < V; j++) { dx[j] = R_EXP(x[j] - mx); sum += dx[j]; }
            } else {
                for (int64_t j = 0; j < V; j++) sum += R_EXP(x[j] - mx);
            }
            total += log(sum) + (double)mx - (double)x[targets[i]];
            if (dx) {
                mlm_real inv = (mlm_real)(1.0 / (sum * (double)n));
                for (int64_t j = 0; j < V; j++) dx[j] *= inv;
                dx[targets[i]] -= (mlm_real)invn;
            }
        }
        part[ch] = total;
    }
    double total = 0;
    for (int ch = 0; ch < MLM_CE_CHUNKS; ch++) total += part[ch];
    uint64_t f_loss = (uint64_t)n * (3 * (uint64_t)V + 4) + (n > 0), f_grad = 0;
    if (dlogits && n > 0) f_grad = (uint64_t)n * ((uint64_t)V + 3) + 1; /* + 1/n */
    if (loss) *loss = n > 0 ? total / (double)n : 0;
    if (n_counted) *n_counted = n;
    if (fl) { fl[0] = f_loss; fl[1] = f_grad; }
    return f_loss + f_grad;
}
