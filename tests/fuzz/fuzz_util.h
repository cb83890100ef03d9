/* fuzz_util.h - shared checks of the libFuzzer targets (tests/fuzz_*.c): the contract every
 * loader's refusal must meet, and config comparison. Header-only (static functions) so that
 * nothing here is linked into the test programs. */
#ifndef MLM_FUZZ_UTIL_H
#define MLM_FUZZ_UTIL_H
#include "config.h"
#include "model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A property of the target failed: print why and abort, so libFuzzer saves the input. */
static inline void fz_die(const char *why, const mlm_err *e) {
    fprintf(stderr, "fuzz property failed: %s%s%s\n", why, e ? ": " : "", e ? e->msg : "");
    abort();
}

/* A refusal is a non-empty message on one line (no control characters) that names the file. */
static inline void fz_check_message(const mlm_err *e, const char *file) {
    if (!e->msg[0]) fz_die("refused without a message", e);
    for (const char *p = e->msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) fz_die("message is not one printable line", e);
    if (!strstr(e->msg, file)) fz_die("message does not name the file", e);
}

static inline int fz_config_equal(const mlm_config *a, const mlm_config *b) {
    return !strcmp(a->name, b->name) && !strcmp(a->source, b->source) && a->d_model == b->d_model &&
           a->n_layers == b->n_layers && a->n_heads == b->n_heads && a->n_kv_heads == b->n_kv_heads &&
           a->head_dim == b->head_dim && a->d_ff == b->d_ff && a->vocab_size == b->vocab_size &&
           a->max_seq_len == b->max_seq_len && a->rope_theta == b->rope_theta &&
           (a->rope_scaling == b->rope_scaling || (a->rope_scaling == 0 && b->rope_scaling == 0)) &&
           a->norm_eps == b->norm_eps && a->tied == b->tied && a->norm_pos == b->norm_pos && a->ffn == b->ffn &&
           a->sliding_window == b->sliding_window;
}

/* mlm_layout on a valid config: either a refusal naming the config, or a table whose total
 * equals the parameter count computed in floating point (no silent overflow). */
static inline void fz_layout(const mlm_config *c) {
    mlm_tensor_info *t = NULL;
    int n = 0;
    int64_t total = 0;
    mlm_err e = {{0}};
    if (mlm_layout(c, &t, &n, &total, &e) != MLM_OK) {
        if (!e.msg[0]) fz_die("layout refused without a message", &e);
        return;
    }
    double d = c->d_model, L = c->n_layers, V = c->vocab_size, ff = c->d_ff, qd = (double)mlm_q_dim(c),
           kvd = (double)mlm_kv_dim(c);
    double want = V * d * (c->tied ? 1 : 2) + d + L * (2 * d + qd * d * 2 + kvd * d * 2 + ff * d * (c->ffn == MLM_FFN_RELU ? 2 : 3));
    free(t);
    if ((double)total != want && (double)total < want * 0.999) fz_die("layout total overflowed", NULL);
}

#endif
