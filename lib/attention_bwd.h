/* attention_bwd.h - internal to lib/: one task of the fast attention backward
 * (mlm_attention_backward, kernels_bwd.h), shared by its portable loop (attention_bwd.c) and
 * its AVX-512 path (attention_bwd_avx512.c: float build, x86-64, GCC; MLM_ATTN_BWD_AVX512
 * defined; the caller takes it when mlm_cpu_isa() == MLM_ISA_AVX512 and the head size is a
 * multiple of 16 up to MLM_ATTN_BWD_MAXHD). */
#ifndef MLM_ATTENTION_BWD_H
#define MLM_ATTENTION_BWD_H
#include "kernels_bwd.h"

/* What one (sequence b, KV head hk) task needs: the tensors, sizes and where the pass starts. */
typedef struct {
    mlm_real *dq, *dk, *dv, *dprobs, *dscores;
    const mlm_real *dheads, *q, *k, *v, *probs;
    int64_t B, T, H, Hkv, hd, group; /* group = H / Hkv */
    const mlm_attn_opts *o;
    mlm_attn_from from;
    mlm_real scale; /* 1 / sqrt(hd) */
} mlm_attn_bwd_task;

#if !defined(MLM_DOUBLE) && defined(__x86_64__) && defined(__GNUC__)
#define MLM_ATTN_BWD_AVX512 1
#define MLM_ATTN_BWD_MAXHD 128 /* the transposed V chunk lives on the stack: hd * 48 floats */

/* The task (b, hk) on the AVX-512 path: WRITES dprobs (from HEADS), dscores (unless from
 * SCORES) and dq of the query heads reading hk; ADDS to dk, dv of (b, hk), which the caller
 * has zeroed. Returns the number of computed scores. */
uint64_t mlm_attn_bwd_task_avx512(const mlm_attn_bwd_task *a, int64_t b, int64_t hk);
#endif

#endif
