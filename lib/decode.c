/* decode.c - the untraced decode step in one parallel region (contract: decode.h).
 *
 * Decoding one token reads every weight once, so it runs at the speed of memory only if every
 * thread is reading weights nearly all the time. The traced path (forward.c block_forward)
 * opens a parallel region per matrix product (about 25 per token) and does the small stages
 * between them on the master thread while the others wait. Here the threads stay in one region
 * for the whole step and meet at 4 barriers per block (5 when the KV heads do not split evenly
 * between the threads):
 *
 *   every thread: RMSNorm of the block input into its own buffer (d values: cheaper than a
 *                 barrier), then the rows of wq, wk, wv that belong to its own KV heads
 *                 (or, when the heads do not split evenly, its share of the three
 *                 matrices' rows as one list, and a barrier)
 *   its KV heads: RoPE of their q and k heads, their rows of the cache append, attention
 *                 over the cached positions                                          barrier
 *   its rows of wo, and of the residual add mid = x + attn_out                       barrier
 *   every thread: RMSNorm of mid; its rows of w_gate and w_up (the same row range), and
 *                 SiLU(gate) * up (or ReLU(up)) on those rows                         barrier
 *   its rows of w_down, and of the residual add out = mid + down                     barrier
 * then the final RMSNorm (every thread) and its rows of the lm_head.
 *
 * Same bits as the traced path: each element goes through the kernel the traced path gives it
 * (gemm.h mlm_gemm_nt_rows, bf16.h mlm_bf16_rows, kernels.h mlm_rmsnorm_row,
 * mlm_attention_decode_heads, the element-wise kernels on sub-ranges), and none of them
 * depends on the range or the thread that computes it. tests/test_decode.c checks it. */
#include "decode.h"
#include "gemm.h"
#include "vexp.h"

#include <string.h>

#ifdef _OPENMP
#include <omp.h>
#endif

/* Longest row a thread keeps on its stack (its normed input, its bfloat16 copy of a row). */
#define DEC_XMAX 8192

/* Below this many multiply-adds per token the step runs on one thread. */
#define DEC_PAR_MIN 262144.0

int mlm_decode_fits(const mlm_config *c, const mlm_fwd_opts *o) {
    (void)o;
    return c->norm_pos != MLM_POSTNORM && c->d_model <= DEC_XMAX && mlm_q_dim(c) <= DEC_XMAX && c->d_ff <= DEC_XMAX;
}

/* Thread id's share [*o0, *o1) of n rows: equal shares in multiples of 16 (the kernels' tile). */
static void share(int64_t n, int nt, int id, int64_t *o0, int64_t *o1) {
    int64_t per = (n + nt - 1) / nt;
    per = (per + 15) / 16 * 16;
    int64_t a = (int64_t)id * per;
    *o0 = a < n ? a : n;
    *o1 = a + per < n ? a + per : n;
}

/* Rows [o0, o1) of y = x @ w^T (C wide): the float32 matrix, or its bfloat16 copy (then xb and
 * fast come from mlm_bf16_row_prepare of x). */
static void mat_rows(mlm_real *y, const mlm_real *x, const mlm_real *w32, const mlm_bf16 *w16, const mlm_bf16 *xb,
                     int fast, int64_t o0, int64_t o1, int64_t C) {
    if (w16) mlm_bf16_rows(y, x, xb, fast, w16, o0, o1, C);
    else mlm_gemm_nt_rows(y, x, w32, o0, o1, C);
}

static void barrier(void) {
#pragma omp barrier
}

void mlm_decode_layers(const mlm_model *m, const mlm_bf16_weights *bw, mlm_kv_cache *c, const mlm_fwd_opts *o,
                       mlm_real *logits) {
    const mlm_config *cf = &m->cfg;
    const mlm_params *w = &m->w;
    mlm_acts *a = c->step;
    const int64_t L = cf->n_layers, d = cf->d_model, H = cf->n_heads, Hk = cf->n_kv_heads, dk = cf->head_dim,
                  qd = mlm_q_dim(cf), kvd = mlm_kv_dim(cf), ff = cf->d_ff, V = cf->vocab_size;
    const int swiglu = cf->ffn == MLM_FFN_SWIGLU;
    const int64_t n = c->len + 1, pos = c->len;
    double macs = (double)L * (double)d * (double)(2 * qd + 2 * kvd + (swiglu ? 3 : 2) * ff) + (double)V * (double)d;
    int nth = 1;
#ifdef _OPENMP
    if (macs > DEC_PAR_MIN) nth = omp_get_max_threads();
#else
    (void)macs;
#endif
    (void)nth; /* read only by the OpenMP clauses */
    /* (qd) q, (kvd) k and v of the step; (qd) the rotated q and k; shared by the team */
    mlm_real *q = a->q, *k = a->k, *v = a->v;
    mlm_real *q_rot = o->no_rope ? a->q : a->q_rot, *k_rot = o->no_rope ? a->k : a->k_rot;

#pragma omp parallel num_threads(nth) if (nth > 1)
    {
        int nt = 1, id = 0;
#ifdef _OPENMP
        nt = omp_get_num_threads();
        id = omp_get_thread_num();
#endif
        _Alignas(64) mlm_real xn[DEC_XMAX]; /* (d) this thread's copy of the normed input */
        _Alignas(64) mlm_bf16 xb[DEC_XMAX]; /* its bfloat16 rounding of a product's input */
        mlm_real rstd;
        int fast = 0;
        const int64_t hk0 = Hk * id / nt, hk1 = Hk * (id + 1) / nt, group = H / Hk;
        /* Each thread computes the q, k and v rows of its own KV heads when they split evenly,
         * so its attention needs no barrier after them; otherwise the rows go as one list. */
        const int own = Hk % nt == 0;
        int64_t wo0, wo1, ff0, ff1, v0, v1;
        share(d, nt, id, &wo0, &wo1);
        share(ff, nt, id, &ff0, &ff1);
        share(V, nt, id, &v0, &v1);
        int64_t qkv[3][2]; /* this thread's rows of wq, wk, wv */
        if (own) {
            qkv[0][0] = hk0 * group * dk, qkv[0][1] = hk1 * group * dk;
            qkv[1][0] = qkv[2][0] = hk0 * dk, qkv[1][1] = qkv[2][1] = hk1 * dk;
        } else {
            int64_t o0, o1, base = 0;
            const int64_t ocs[3] = {qd, kvd, kvd};
            share(qd + 2 * kvd, nt, id, &o0, &o1);
            for (int g = 0; g < 3; g++) {
                qkv[g][0] = o0 > base ? o0 - base : 0;
                qkv[g][1] = o1 < base + ocs[g] ? o1 - base : ocs[g];
                if (qkv[g][1] < qkv[g][0]) qkv[g][1] = qkv[g][0];
                base += ocs[g];
            }
        }
        for (int64_t l = 0; l < L; l++) {
            const mlm_real *x = a->resid + l * d;
            mlm_real *out = a->resid + (l + 1) * d;
            const mlm_real *w32[3] = {w->wq + l * qd * d, w->wk + l * kvd * d, w->wv + l * kvd * d};
            const mlm_bf16 *w16[3] = {bw ? bw->wq + l * qd * d : NULL, bw ? bw->wk + l * kvd * d : NULL,
                                      bw ? bw->wv + l * kvd * d : NULL};
            /* q, k, v */
            mlm_rmsnorm_row(xn, &rstd, x, w->attn_norm + l * d, d, cf->norm_eps);
            if (bw) fast = mlm_bf16_row_prepare(xb, xn, d);
            {
                mlm_real *ys[3] = {q, k, v};
                for (int g = 0; g < 3; g++) mat_rows(ys[g], xn, w32[g], w16[g], xb, fast, qkv[g][0], qkv[g][1], d);
            }
            if (!own) barrier();
            /* this thread's KV heads: RoPE, their new rows in the cache, attention */
            if (hk0 < hk1) {
                const int64_t h0 = hk0 * group, nh = (hk1 - hk0) * group, cbase = l * c->max_T * kvd;
                if (!o->no_rope) {
                    mlm_rope_apply(q_rot + h0 * dk, q + h0 * dk, a->rope_cs, 1, 1, nh, dk, o->rope_layout);
                    mlm_rope_apply(k_rot + hk0 * dk, k + hk0 * dk, a->rope_cs, 1, 1, hk1 - hk0, dk, o->rope_layout);
                }
                for (int64_t hk = hk0; hk < hk1; hk++) { /* row pos of each of its KV heads */
                    int64_t at = cbase + (hk * c->max_T + pos) * dk;
                    memcpy(c->k + at, k_rot + hk * dk, (size_t)dk * sizeof(mlm_real));
                    memcpy(c->v + at, v + hk * dk, (size_t)dk * sizeof(mlm_real));
                }
                mlm_attention_decode_heads(a->heads, c->row, q_rot, c->k + cbase, c->v + cbase, n, c->max_T, H, Hk, dk,
                                           cf->sliding_window, hk0, hk1);
            }
            barrier();
            /* wo and the residual add, on this thread's rows of d */
            if (bw) fast = mlm_bf16_row_prepare(xb, a->heads, qd);
            mat_rows(a->attn_out, a->heads, w->wo + l * d * qd, bw ? bw->wo + l * d * qd : NULL, xb, fast, wo0, wo1,
                     qd);
            mlm_residual_forward(a->mid + wo0, x + wo0, a->attn_out + wo0, wo1 - wo0);
            barrier();
            /* the FFN's first products and its activation, on this thread's rows of d_ff */
            mlm_rmsnorm_row(xn, &rstd, a->mid, w->ffn_norm + l * d, d, cf->norm_eps);
            if (bw) fast = mlm_bf16_row_prepare(xb, xn, d);
            mat_rows(a->up, xn, w->w_up + l * ff * d, bw ? bw->w_up + l * ff * d : NULL, xb, fast, ff0, ff1, d);
            if (swiglu) {
                mat_rows(a->gate, xn, w->w_gate + l * ff * d, bw ? bw->w_gate + l * ff * d : NULL, xb, fast, ff0, ff1,
                         d);
                mlm_silu_row(a->act + ff0, a->gate + ff0, ff1 - ff0);
                mlm_mul_forward(a->hidden + ff0, a->act + ff0, a->up + ff0, ff1 - ff0);
            } else {
                mlm_relu_forward(a->hidden + ff0, a->up + ff0, ff1 - ff0);
            }
            barrier();
            /* w_down and the residual add, on this thread's rows of d */
            if (bw) fast = mlm_bf16_row_prepare(xb, a->hidden, ff);
            mat_rows(a->down, a->hidden, w->w_down + l * d * ff, bw ? bw->w_down + l * d * ff : NULL, xb, fast, wo0,
                     wo1, ff);
            mlm_residual_forward(out + wo0, a->mid + wo0, a->down + wo0, wo1 - wo0);
            barrier();
        }
        /* final norm and this thread's rows of the lm_head */
        mlm_rmsnorm_row(xn, &rstd, a->resid + L * d, w->final_norm, d, cf->norm_eps);
        if (bw) fast = mlm_bf16_row_prepare(xb, xn, d);
        mat_rows(a->logits, xn, w->lm_head, bw ? bw->lm_head : NULL, xb, fast, v0, v1, d);
        if (logits && v0 < v1) memcpy(logits + v0, a->logits + v0, (size_t)(v1 - v0) * sizeof(mlm_real));
        (void)rstd;
    }
}
