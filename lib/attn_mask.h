/* attn_mask.h - internal to lib/: the key range a query row attends to, shared by the
 * reference attention (kernels.c) and the fast one (attention.c). */
#ifndef MLM_ATTN_MASK_H
#define MLM_ATTN_MASK_H
#include "kernels.h"

/* Row i of T attends to keys [lo, hi): causal j <= i, a sliding window the last `window`. */
static inline void mlm_attn_range(const mlm_attn_opts *o, int64_t i, int64_t T, int64_t *lo, int64_t *hi) {
    *lo = 0;
    *hi = o->causal ? i + 1 : T;
    if (o->causal && o->window > 0 && i + 1 > o->window) *lo = i + 1 - o->window;
}

#endif
