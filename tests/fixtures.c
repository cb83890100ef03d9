/* fixtures.c - shared test fixtures: temp paths, tiny models, logits helpers, tokenizer
 * files in llama2.c and Hugging Face formats (see fixtures.h). */
#include "fixtures.h"
#include "rng.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void fx_path(char *buf, size_t cap, const char *name) {
    const char *t = getenv("MLM_TMP");
    snprintf(buf, cap, "%s/%s", t && *t ? t : "/tmp", name);
}

int fx_dir(char *buf, size_t cap, const char *name) {
    fx_path(buf, cap, name);
    return mkdir(buf, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

mlm_config fx_tiny_config(int tied, int kv_heads, int vocab) {
    mlm_config c;
    mlm_config_default(&c);
    snprintf(c.name, sizeof c.name, "tiny");
    c.d_model = 16;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = kv_heads;
    c.head_dim = 4;
    c.d_ff = 32;
    c.vocab_size = vocab;
    c.max_seq_len = 64;
    c.rope_theta = 10000.0;
    c.norm_eps = 1e-5;
    c.tied = tied;
    c.norm_pos = MLM_PRENORM;
    c.ffn = MLM_FFN_SWIGLU;
    c.sliding_window = 0;
    return c;
}

mlm_model *fx_tiny_model(int tied, int kv_heads, int vocab, uint64_t seed) {
    mlm_config c = fx_tiny_config(tied, kv_heads, vocab);
    mlm_err e;
    mlm_model *m = mlm_model_new(&c, &e);
    if (!m) { printf("  fixture: %s\n", e.msg); return NULL; }
    mlm_init_opts o = {seed, 0};
    mlm_model_init(m, &o);
    mlm_rng r;
    mlm_rng_seed(&r, seed + 1000);
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].is_norm)
            for (int64_t j = 0; j < m->tensors[i].numel; j++)
                m->mem[m->tensors[i].offset + j] = (mlm_real)(1.0 + 0.1 * mlm_rng_normal(&r));
    return m;
}

int fx_logits(const mlm_model *m, const int *tokens, int T, mlm_rope_layout layout, mlm_real *out) {
    mlm_err e;
    mlm_acts *a = mlm_acts_new(&m->cfg, 1, T, 0, &e);
    if (!a) return -1;
    mlm_fwd_opts o = {0};
    o.rope_layout = layout;
    int rc = mlm_forward(m, a, tokens, 1, T, &o, NULL, &e) ? -1 : 0;
    if (!rc) memcpy(out, a->logits, sizeof(mlm_real) * (size_t)T * (size_t)m->cfg.vocab_size);
    else printf("  fixture forward: %s\n", e.msg);
    mlm_acts_free(a);
    return rc;
}

double fx_max_diff(const mlm_real *a, const mlm_real *b, int64_t n) {
    double w = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > w || d != d) w = d;
    }
    return w;
}
