/* presets.c - named model shapes: the project's own teaching models and real models' published
 * shapes. Each records where its numbers come from (the "source" field). */
#include "config.h"

#include <string.h>

/* P(name, d, layers, heads, kv, head_dim, d_ff, vocab, seq, theta, eps, tied, source) */
#define P(nm, d, L, h, kv, hd, ff, V, S, th, ep, ti, src)                                          \
    { .name = nm, .d_model = d, .n_layers = L, .n_heads = h, .n_kv_heads = kv, .head_dim = hd,  \
      .d_ff = ff, .vocab_size = V, .max_seq_len = S, .rope_theta = th, .norm_eps = ep,         \
      .tied = ti, .norm_pos = MLM_PRENORM, .ffn = MLM_FFN_SWIGLU, .source = src }

static const mlm_config presets[] = {
    P("block-demo", 64, 1, 4, 2, 16, 172, 256, 32, 10000.0, 1e-5, 0,
      "the seed demo's block (ANALYSES.md): d 64, 4 heads, 2 KV heads, d_ff 172"),
    P("microlm", 128, 8, 4, 2, 32, 344, 256, 256, 10000.0, 1e-5, 0,
      "the seed diagram's MicroLM: 8 blocks; small dims chosen by this project (docs/architecture.md)"),
    P("stories15m", 288, 6, 6, 6, 48, 768, 32000, 256, 10000.0, 1e-5, 1,
      "llama2.c stories15M.bin header: dim 288, hidden 768, 6 layers, 6 heads, vocab 32000, seq 256"),
};

int mlm_preset_count(void) { return (int)(sizeof presets / sizeof presets[0]); }

const mlm_config *mlm_preset_at(int i) {
    return (i >= 0 && i < mlm_preset_count()) ? &presets[i] : NULL;
}

const mlm_config *mlm_preset_find(const char *name) {
    if (!name) return NULL;
    for (int i = 0; i < mlm_preset_count(); i++)
        if (!strcmp(presets[i].name, name)) return &presets[i];
    return NULL;
}
