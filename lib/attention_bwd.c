/* attention_bwd.c - the fast attention backward of kernels_bwd.h (mlm_attention_backward):
 * one task per (sequence b, KV head hk), which owns dk, dv of (b, hk) and dq of the query
 * heads reading hk; a portable path here, whose inner loops the compiler vectorises (dot
 * products in the fixed lanes of dot_lanes.h, element-wise updates along the head dimension),
 * and, in the float build on an AVX-512 CPU, the tiled path of attention_bwd_avx512.c. Its slow
 * twin, mlm_attention_backward_ref, stays in kernels_bwd.c.
 *
 * Portable: for each query head h reading hk and each query row i, in that order:
 *   dp_ij = do_i . v_j;  dv_j += p_ij do_i                  (from HEADS)
 *   ds_ij = p_ij (dp_ij - sum_j' p_ij' dp_ij')              (unless from SCORES)
 *   dq_i = sum_j (ds_ij / sqrt(dk)) k_j;  dk_j += (ds_ij / sqrt(dk)) q_i
 * AVX-512 (head sizes a multiple of 16 up to 128, else the portable path):
 *   dp_ij  = do_i . v_j, one FMA chain over d in order, computed 8 rows x 48 keys at a time
 *            against V transposed 48 keys at a time; only the key blocks a row group attends
 *            to (causal, window), the keys of a diagonal block past a row's range dropped.
 *   ds_ij  = p_ij (dp_ij - s_i), s_i = sum over the row's range of p dp in 16 lanes from its
 *            first key, the lanes added by _mm512_reduce_add_ps.
 *   dq_i   = (sum_j ds_ij k_j) / sqrt(dk), j increasing, one FMA chain per element.
 *   dk_j   = (sum_h sum_i ds_ij q_i) / sqrt(dk), dv_j = sum_h sum_i p_ij do_i: query heads in
 *            order, rows i increasing, one FMA chain per element (through memory between heads).
 *   The sums over j (dq) and over i (dk, dv) run 8 rows x 48 outputs in registers; where the
 *   8 rows' ranges differ (the diagonal, a window's edges) the terms outside a row's range are
 *   masked FMAs that leave it unchanged, so every element sums exactly its own terms.
 * Either way every output element sums its terms in one order fixed by the task alone, and the
 * result is the same bits for any thread count. The two paths round differently (fused
 * multiply-adds, 16 lanes instead of 8, the 1/sqrt(dk) applied after the sum). */
#include "attention_bwd.h"
#include "attn_mask.h"
#include "dot_lanes.h"

#include "cpu.h"

#include <math.h>
#include <string.h>

/* ---- portable ----------------------------------------------------------------------------- */

static uint64_t task_portable(const mlm_attn_bwd_task *a, int64_t b, int64_t hk) {
    const int64_t T = a->T, H = a->H, Hkv = a->Hkv, hd = a->hd;
    uint64_t n_sc = 0;
    for (int64_t h = hk * a->group; h < (hk + 1) * a->group; h++)
        for (int64_t i = 0; i < T; i++) {
            const mlm_real *qi = a->q + ((b * T + i) * H + h) * hd, *doi = a->dheads + ((b * T + i) * H + h) * hd;
            const mlm_real *p = a->probs + ((b * H + h) * T + i) * T;
            mlm_real *dp = a->dprobs + ((b * H + h) * T + i) * T, *ds = a->dscores + ((b * H + h) * T + i) * T;
            mlm_real *dqi = a->dq + ((b * T + i) * H + h) * hd;
            int64_t lo, hi;
            mlm_attn_range(a->o, i, T, &lo, &hi);
            n_sc += (uint64_t)(hi - lo);
            if (a->from == MLM_ATTN_FROM_HEADS) {
                for (int64_t j = 0; j < lo; j++) dp[j] = 0;
                for (int64_t j = hi; j < T; j++) dp[j] = 0;
                for (int64_t j = lo; j < hi; j++) {
                    const mlm_real *vj = a->v + ((b * T + j) * Hkv + hk) * hd;
                    mlm_real *dvj = a->dv + ((b * T + j) * Hkv + hk) * hd;
                    mlm_real pj = p[j];
                    dp[j] = mlm_dot_lanes(doi, vj, hd);
                    for (int64_t d = 0; d < hd; d++) dvj[d] += pj * doi[d];
                }
            }
            if (a->from != MLM_ATTN_FROM_SCORES) {
                mlm_real acc[MLM_DOT_LANES] = {0};
                int64_t j = lo;
                for (; j + MLM_DOT_LANES <= hi; j += MLM_DOT_LANES)
                    for (int l = 0; l < MLM_DOT_LANES; l++) acc[l] += p[j + l] * dp[j + l];
                mlm_real sum = mlm_lanes_sum(acc);
                for (; j < hi; j++) sum += p[j] * dp[j];
                for (j = 0; j < lo; j++) ds[j] = 0;
                for (j = lo; j < hi; j++) ds[j] = p[j] * (dp[j] - sum);
                for (j = hi; j < T; j++) ds[j] = 0;
            }
            for (int64_t d = 0; d < hd; d++) dqi[d] = 0;
            for (int64_t j = lo; j < hi; j++) {
                const mlm_real *kj = a->k + ((b * T + j) * Hkv + hk) * hd;
                mlm_real *dkj = a->dk + ((b * T + j) * Hkv + hk) * hd;
                mlm_real g = ds[j] * a->scale;
                for (int64_t d = 0; d < hd; d++) {
                    dqi[d] += g * kj[d];
                    dkj[d] += g * qi[d];
                }
            }
        }
    return n_sc;
}

/* ---- entry point ---------------------------------------------------------------------------- */

uint64_t mlm_attention_backward(mlm_real *dq, mlm_real *dk, mlm_real *dv, mlm_real *dprobs, mlm_real *dscores,
                                const mlm_real *dheads, const mlm_real *q, const mlm_real *k, const mlm_real *v,
                                const mlm_real *probs, int64_t B, int64_t T, int64_t H, int64_t Hkv, int64_t hd,
                                const mlm_attn_opts *o, mlm_attn_from from, uint64_t fl[5]) {
    const mlm_attn_bwd_task a = {dq, dk, dv, dprobs, dscores, dheads, q, k, v, probs, B, T, H, Hkv, hd, H / Hkv,
                                 o, from, (mlm_real)(1.0 / sqrt((double)hd))};
    int fast = 0;
#ifdef MLM_ATTN_BWD_AVX512
    fast = mlm_cpu_isa() == MLM_ISA_AVX512 && hd % 16 == 0 && hd <= MLM_ATTN_BWD_MAXHD;
#endif
    uint64_t n_sc = 0; /* computed scores */
#pragma omp parallel for collapse(2) schedule(dynamic, 1) reduction(+ : n_sc) if (B * H * T * T * hd > 65536)
    for (int64_t b = 0; b < B; b++)
        for (int64_t hk = 0; hk < Hkv; hk++) {
            /* this task owns dk, dv of (b, hk) and dq of (b, h) for the heads h reading hk */
            for (int64_t t = 0; t < T; t++) {
                memset(dk + ((b * T + t) * Hkv + hk) * hd, 0, (size_t)hd * sizeof(mlm_real));
                memset(dv + ((b * T + t) * Hkv + hk) * hd, 0, (size_t)hd * sizeof(mlm_real));
            }
#ifdef MLM_ATTN_BWD_AVX512
            if (fast) { n_sc += mlm_attn_bwd_task_avx512(&a, b, hk); continue; }
#endif
            (void)fast;
            n_sc += task_portable(&a, b, hk);
        }
    uint64_t f[5] = {0, 0, 0, 0, 0};
    if (from == MLM_ATTN_FROM_HEADS) f[0] = f[1] = n_sc * 2 * (uint64_t)hd;
    if (from != MLM_ATTN_FROM_SCORES) f[2] = 4 * n_sc;
    f[3] = n_sc * (1 + 2 * (uint64_t)hd);
    f[4] = n_sc * 2 * (uint64_t)hd;
    if (fl) memcpy(fl, f, sizeof f);
    return f[0] + f[1] + f[2] + f[3] + f[4];
}
