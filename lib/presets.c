/* presets.c - named model shapes: the project's own teaching models and real models' published
 * shapes. Each records where its numbers come from (the "source" field). */
#include "config.h"

#include <string.h>

/* P(name, d, layers, heads, kv, head_dim, d_ff, vocab, seq, theta, eps, tied, source) */
#define P(nm, d, L, h, kv, hd, ff, V, S, th, ep, ti, src)                                          \
    { .name = nm, .d_model = d, .n_layers = L, .n_heads = h, .n_kv_heads = kv, .head_dim = hd,  \
      .d_ff = ff, .vocab_size = V, .max_seq_len = S, .rope_theta = th, .norm_eps = ep,         \
      .tied = ti, .norm_pos = MLM_PRENORM, .ffn = MLM_FFN_SWIGLU, .source = src }

/* R(..., rope_scaling factor, sliding window, source): P plus the two informational extras. */
#define R(nm, d, L, h, kv, hd, ff, V, S, th, ep, ti, rs, sw, src)                                  \
    { .name = nm, .d_model = d, .n_layers = L, .n_heads = h, .n_kv_heads = kv, .head_dim = hd,  \
      .d_ff = ff, .vocab_size = V, .max_seq_len = S, .rope_theta = th, .norm_eps = ep,         \
      .tied = ti, .rope_scaling = rs, .sliding_window = sw, .norm_pos = MLM_PRENORM,           \
      .ffn = MLM_FFN_SWIGLU, .source = src }

static const mlm_config presets[] = {
    P("block-demo", 64, 1, 4, 2, 16, 172, 256, 32, 10000.0, 1e-5, 0,
      "the seed demo's block (ANALYSES.md): d 64, 4 heads, 2 KV heads, d_ff 172"),
    P("microlm", 128, 8, 4, 2, 32, 344, 256, 256, 10000.0, 1e-5, 0,
      "the seed diagram's MicroLM: 8 blocks; small dims chosen by this project (docs/architecture.md)"),
    P("stories15m", 288, 6, 6, 6, 48, 768, 32000, 256, 10000.0, 1e-5, 1,
      "llama2.c stories15M.bin header: dim 288, hidden 768, 6 layers, 6 heads, vocab 32000, seq 256"),
    /* ---- real models: the numbers of their published config.json / params.json / llama2.c
     * headers (docs/accounting.md lists each with its published parameter total) ---- */
    P("stories42m", 512, 8, 8, 8, 64, 1376, 32000, 1024, 10000.0, 1e-5, 1,
      "llama2.c stories42M.bin header (karpathy/tinyllamas): dim 512, hidden 1376, 8 layers,"
      " 8 heads, vocab 32000, seq 1024; shared classifier"),
    P("stories110m", 768, 12, 12, 12, 64, 2048, 32000, 1024, 10000.0, 1e-5, 1,
      "llama2.c stories110M.bin header (karpathy/tinyllamas): dim 768, hidden 2048, 12 layers,"
      " 12 heads, vocab 32000, seq 1024; shared classifier"),
    P("llama2-7b", 4096, 32, 32, 32, 128, 11008, 32000, 4096, 10000.0, 1e-5, 0,
      "meta-llama/Llama-2-7b-hf config.json (hidden 4096, 32 layers, 32 heads, intermediate 11008,"
      " vocab 32000, max 4096, rms_norm_eps 1e-5)"),
    P("llama2-13b", 5120, 40, 40, 40, 128, 13824, 32000, 4096, 10000.0, 1e-5, 0,
      "meta-llama/Llama-2-13b-hf config.json (hidden 5120, 40 layers, 40 heads,"
      " intermediate 13824, vocab 32000, max 4096)"),
    P("llama2-70b", 8192, 80, 64, 8, 128, 28672, 32000, 4096, 10000.0, 1e-5, 0,
      "meta-llama/Llama-2-70b-hf config.json (hidden 8192, 80 layers, 64 heads, 8 KV heads,"
      " intermediate 28672, vocab 32000, max 4096)"),
    P("llama3-8b", 4096, 32, 32, 8, 128, 14336, 128256, 8192, 500000.0, 1e-5, 0,
      "meta-llama/Meta-Llama-3-8B config.json (hidden 4096, 32 layers, 32 heads, 8 KV heads,"
      " intermediate 14336, vocab 128256, max 8192, rope_theta 500000)"),
    P("llama3-70b", 8192, 80, 64, 8, 128, 28672, 128256, 8192, 500000.0, 1e-5, 0,
      "meta-llama/Meta-Llama-3-70B config.json (hidden 8192, 80 layers, 64 heads, 8 KV heads,"
      " intermediate 28672, vocab 128256, max 8192, rope_theta 500000)"),
    R("llama3.1-405b", 16384, 126, 128, 8, 128, 53248, 128256, 131072, 500000.0, 1e-5, 0, 8.0, 0,
      "meta-llama/Llama-3.1-405B config.json (hidden 16384, 126 layers, 128 heads, 8 KV heads,"
      " intermediate 53248, vocab 128256, max 131072, rope_scaling llama3 factor 8)"),
    R("llama3.2-1b", 2048, 16, 32, 8, 64, 8192, 128256, 131072, 500000.0, 1e-5, 1, 32.0, 0,
      "meta-llama/Llama-3.2-1B config.json (hidden 2048, 16 layers, 32 heads, 8 KV heads,"
      " head_dim 64, intermediate 8192, vocab 128256, tied, rope_scaling factor 32)"),
    R("llama3.2-3b", 3072, 28, 24, 8, 128, 8192, 128256, 131072, 500000.0, 1e-5, 1, 32.0, 0,
      "meta-llama/Llama-3.2-3B config.json (hidden 3072, 28 layers, 24 heads, 8 KV heads,"
      " head_dim 128, intermediate 8192, vocab 128256, tied, rope_scaling factor 32)"),
    R("mistral-7b", 4096, 32, 32, 8, 128, 14336, 32000, 32768, 10000.0, 1e-5, 0, 0.0, 4096,
      "mistralai/Mistral-7B-v0.1 config.json (hidden 4096, 32 layers, 32 heads, 8 KV heads,"
      " intermediate 14336, vocab 32000, max 32768, sliding_window 4096)"),
    P("tinyllama-1.1b", 2048, 22, 32, 4, 64, 5632, 32000, 2048, 10000.0, 1e-5, 0,
      "TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T config.json (hidden 2048, 22 layers,"
      " 32 heads, 4 KV heads, intermediate 5632, vocab 32000, max 2048)"),
    P("smollm2-135m", 576, 30, 9, 3, 64, 1536, 49152, 8192, 100000.0, 1e-5, 1,
      "HuggingFaceTB/SmolLM2-135M config.json (hidden 576, 30 layers, 9 heads, 3 KV heads,"
      " intermediate 1536, vocab 49152, max 8192, rope_theta 100000, tied)"),
    P("smollm2-360m", 960, 32, 15, 5, 64, 2560, 49152, 8192, 100000.0, 1e-5, 1,
      "HuggingFaceTB/SmolLM2-360M config.json (hidden 960, 32 layers, 15 heads, 5 KV heads,"
      " intermediate 2560, vocab 49152, max 8192, rope_theta 100000, tied)"),
    P("smollm2-1.7b", 2048, 24, 32, 32, 64, 8192, 49152, 8192, 130000.0, 1e-5, 1,
      "HuggingFaceTB/SmolLM2-1.7B config.json (hidden 2048, 24 layers, 32 heads, 32 KV heads,"
      " intermediate 8192, vocab 49152, max 8192, rope_theta 130000, tied)"),
    P("codellama-34b", 8192, 48, 64, 8, 128, 22016, 32000, 16384, 1000000.0, 1e-5, 0,
      "codellama/CodeLlama-34b-hf config.json (hidden 8192, 48 layers, 64 heads, 8 KV heads,"
      " intermediate 22016, vocab 32000, max 16384, rope_theta 1e6)"),
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
