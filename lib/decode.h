/* decode.h - internal: the untraced decode step in one parallel region (decode.c), called by
 * forward.c's decode_step when no probe is attached. */
#ifndef MLM_DECODE_H
#define MLM_DECODE_H
#include "bf16.h"
#include "forward.h"

/* 1 when mlm_decode_layers handles this model and these options (pre-norm blocks, rows short
 * enough for its stack buffers); otherwise the caller takes the traced block path. */
int mlm_decode_fits(const mlm_config *c, const mlm_fwd_opts *o);

/* The blocks, the final norm and the lm_head of one decode step, in a single parallel region:
 * reads the embedded token from c->step->resid and the RoPE table from c->step->rope_cs
 * (forward.c prepares both), appends the step's K and V at position c->len of every layer,
 * writes the logits to c->step->logits and, when logits is not NULL, to logits too. bw NULL
 * reads the float32 matrices, otherwise their bfloat16 copy. Every element takes the kernel and
 * operation order of the traced path (block_forward), so both give the same bits, whatever the
 * thread count. Does not touch c->len. */
void mlm_decode_layers(const mlm_model *m, const mlm_bf16_weights *bw, mlm_kv_cache *c, const mlm_fwd_opts *o,
                       mlm_real *logits);

#endif
