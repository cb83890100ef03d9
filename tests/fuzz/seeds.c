/* seeds.c - writes the seed corpus of every libFuzzer target (tests/fuzz_*.c) under OUT/<target>/
 * from the project's own writers, so nothing is downloaded or committed:
 *   fuzz_config       mlm_config_to_json of every preset and of each variant
 *   fuzz_hf_config    Hugging Face config.json texts of the presets (and refused kinds)
 *   fuzz_llama2c      tiny checkpoints (MHA, GQA, MQA, tied, untied) and a bare header
 *   fuzz_trace        traces of a tiny model's forward pass (statistics, kept tensors)
 *   fuzz_safetensors  small F32 / F16 / BF16 files and an empty one
 *   fuzz_tokenizer_bin, fuzz_tokenizer_json   the test fixtures' tokenizers (tests/fixtures.c)
 *   fuzz_hf_index     the index of a two-shard Hugging Face directory like the target's own
 * Usage: seeds OUT   (make fuzz-seeds writes build/fuzz/seeds). Exit 1 on any failure. */
#include "checkpoint.h"
#include "fixtures.h"
#include "config.h"
#include "forward.h"
#include "hf_model.h"
#include "model.h"
#include "safetensors.h"
#include "trace.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int failures;

static void mkdir_p(const char *dir) {
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') { *p = 0; mkdir(buf, 0777); *p = '/'; }
    mkdir(buf, 0777);
}

static void put(const char *out, const char *target, const char *name, const void *data, size_t len) {
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/%s", out, target);
    mkdir_p(dir);
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "seeds: cannot write '%s': %s\n", path, strerror(errno));
        failures++;
    }
}

static void put_str(const char *out, const char *target, const char *name, const char *s) {
    put(out, target, name, s, strlen(s));
}

static void check(mlm_status st, const mlm_err *e) {
    if (st) { fprintf(stderr, "seeds: %s\n", e->msg); failures++; }
}

static mlm_config tiny(int L, int h, int kv, int tied, int V) {
    mlm_config c;
    mlm_config_default(&c);
    snprintf(c.name, sizeof c.name, "seed");
    c.d_model = 8; c.n_layers = L; c.n_heads = h; c.n_kv_heads = kv; c.head_dim = 8 / h;
    c.d_ff = 16; c.vocab_size = V; c.max_seq_len = 8; c.tied = tied;
    return c;
}

/* ---- project config JSON ---- */
static void config_seeds(const char *out) {
    char name[64];
    for (int i = 0; i < mlm_preset_count(); i++) {
        char *s = mlm_config_to_json(mlm_preset_at(i));
        snprintf(name, sizeof name, "preset_%02d.json", i);
        if (s) put_str(out, "fuzz_config", name, s);
        free(s);
    }
    mlm_config c = tiny(2, 4, 2, 0, 32);
    c.norm_pos = MLM_POSTNORM; c.ffn = MLM_FFN_RELU; c.sliding_window = 4; c.rope_scaling = 2;
    char *s = mlm_config_to_json(&c);
    if (s) put_str(out, "fuzz_config", "variants.json", s);
    free(s);
    put_str(out, "fuzz_config", "minimal.json", "{\"d_model\":64,\"n_heads\":4}");
    put_str(out, "fuzz_config", "head_dim.json", "{\"d_model\":60,\"n_heads\":4,\"head_dim\":16,\"n_kv_heads\":1}");
    put_str(out, "fuzz_config", "empty.json", "{}");
}

/* ---- Hugging Face config.json ---- */
static char *hf_json(const mlm_config *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "_name_or_path", c->name);
    cJSON *ar = cJSON_AddArrayToObject(o, "architectures");
    cJSON_AddItemToArray(ar, cJSON_CreateString(c->sliding_window ? "MistralForCausalLM" : "LlamaForCausalLM"));
    cJSON_AddStringToObject(o, "model_type", c->sliding_window ? "mistral" : "llama");
    cJSON_AddStringToObject(o, "hidden_act", c->ffn == MLM_FFN_RELU ? "relu" : "silu");
    cJSON_AddNumberToObject(o, "hidden_size", c->d_model);
    cJSON_AddNumberToObject(o, "intermediate_size", c->d_ff);
    cJSON_AddNumberToObject(o, "num_hidden_layers", c->n_layers);
    cJSON_AddNumberToObject(o, "num_attention_heads", c->n_heads);
    cJSON_AddNumberToObject(o, "num_key_value_heads", c->n_kv_heads);
    if (c->head_dim * c->n_heads != c->d_model) cJSON_AddNumberToObject(o, "head_dim", c->head_dim);
    else cJSON_AddNullToObject(o, "head_dim");
    cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(o, "max_position_embeddings", c->max_seq_len);
    cJSON_AddNumberToObject(o, "rope_theta", c->rope_theta);
    cJSON_AddNumberToObject(o, "rms_norm_eps", c->norm_eps);
    cJSON_AddBoolToObject(o, "tie_word_embeddings", c->tied);
    cJSON_AddBoolToObject(o, "attention_bias", 0);
    cJSON_AddBoolToObject(o, "mlp_bias", 0);
    if (c->sliding_window) cJSON_AddNumberToObject(o, "sliding_window", c->sliding_window);
    else cJSON_AddNullToObject(o, "sliding_window");
    if (c->rope_scaling) {
        cJSON *rs = cJSON_AddObjectToObject(o, "rope_scaling");
        cJSON_AddStringToObject(rs, "rope_type", "linear");
        cJSON_AddNumberToObject(rs, "factor", c->rope_scaling);
    } else cJSON_AddNullToObject(o, "rope_scaling");
    cJSON_AddStringToObject(o, "torch_dtype", "bfloat16");
    cJSON_AddNumberToObject(o, "bos_token_id", 1);
    cJSON_AddNumberToObject(o, "eos_token_id", 2);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

static void hf_config_seeds(const char *out) {
    char name[64];
    for (int i = 0; i < mlm_preset_count(); i++) {
        char *s = hf_json(mlm_preset_at(i));
        snprintf(name, sizeof name, "preset_%02d.json", i);
        if (s) put_str(out, "fuzz_hf_config", name, s);
        free(s);
    }
    mlm_config c = tiny(2, 4, 1, 1, 32);
    c.sliding_window = 4; c.rope_scaling = 8;
    char *s = hf_json(&c);
    if (s) put_str(out, "fuzz_hf_config", "mistral.json", s);
    free(s);
    put_str(out, "fuzz_hf_config", "rope_parameters.json",
            "{\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":2,\"num_attention_heads\":4,"
            "\"vocab_size\":100,\"rope_parameters\":{\"rope_type\":\"default\",\"rope_theta\":500000.0,\"factor\":8.0}}");
    put_str(out, "fuzz_hf_config", "moe.json",
            "{\"model_type\":\"mistral\",\"hidden_size\":64,\"intermediate_size\":128,\"num_hidden_layers\":2,"
            "\"num_attention_heads\":4,\"vocab_size\":100,\"num_local_experts\":8}");
}

/* ---- llama2.c checkpoints ---- */
static void llama2c_seeds(const char *out, const char *tmpdir) {
    struct { const char *name; int L, h, kv, tied; } v[] = {
        {"mha_tied.bin", 1, 2, 2, 1}, {"gqa_untied.bin", 2, 4, 2, 0}, {"mqa_tied.bin", 1, 4, 1, 1}};
    mlm_err e;
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        mlm_config c = tiny(v[i].L, v[i].h, v[i].kv, v[i].tied, 16);
        mlm_model *m = mlm_model_new(&c, &e);
        if (!m) { check(MLM_ENOMEM, &e); continue; }
        mlm_init_opts o = {7 + i, 0};
        mlm_model_init(m, &o);
        char path[1200];
        snprintf(path, sizeof path, "%s/fuzz_llama2c/%s", out, v[i].name);
        mkdir_p(tmpdir);
        char d[1100];
        snprintf(d, sizeof d, "%s/fuzz_llama2c", out);
        mkdir_p(d);
        check(mlm_llama2c_save(m, path, &e), &e);
        mlm_model_free(m);
    }
    unsigned char h[28] = {8, 0, 0, 0, 16, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0, 0, 16, 0, 0, 0, 8, 0, 0, 0};
    put(out, "fuzz_llama2c", "header_only.bin", h, sizeof h);
}

/* ---- traces ---- */
static void trace_seed(const char *out, const char *name, const char *keep, int L, int targets) {
    mlm_err e;
    mlm_config c = tiny(L, 2, 1, 0, 16);
    mlm_model *m = mlm_model_new(&c, &e);
    if (!m) { check(MLM_ENOMEM, &e); return; }
    mlm_model_init(m, NULL);
    int B = 1, T = 3;
    mlm_acts *a = mlm_acts_new(&c, B, T, 0, &e);
    mlm_trace t;
    memset(&t, 0, sizeof t);
    t.cfg = c;
    snprintf(t.model, sizeof t.model, "seed model");
    t.B = B; t.T = T; t.seed = 42; t.rope = t.causal = 1;
    t.tokens = malloc(3 * sizeof(int));
    t.targets = targets ? malloc(3 * sizeof(int)) : NULL;
    t.token_strs = calloc(3, sizeof(char *));
    for (int i = 0; i < 3 && t.tokens && t.token_strs; i++) {
        t.tokens[i] = i + 1;
        if (t.targets) t.targets[i] = i + 2;
        t.token_strs[i] = strdup(i == 1 ? "\xe2\x96\x81" "b\"\\" : "a");
    }
    t.probe = mlm_probe_new(keep);
    if (a && t.probe && t.tokens) {
        check(mlm_forward(m, a, t.tokens, B, T, NULL, t.probe, &e), &e);
        mlm_probe_scalar(t.probe, "loss", 2.5, 10);
        char *s = mlm_trace_to_json(&t);
        if (s) put_str(out, "fuzz_trace", name, s);
        free(s);
    }
    mlm_trace_clear(&t);
    mlm_acts_free(a);
    mlm_model_free(m);
}

/* ---- safetensors ---- */
static void safetensors_seeds(const char *out) {
    mlm_real a[24], b[8];
    for (int i = 0; i < 24; i++) a[i] = (mlm_real)(i - 12) * (mlm_real)0.25;
    for (int i = 0; i < 8; i++) b[i] = (mlm_real)1 + (mlm_real)i;
    mlm_st_entry ents[] = {{"model.embed_tokens.weight", a, 2, {3, 8}}, {"model.norm.weight", b, 1, {8, 0}}};
    const mlm_st_dtype dts[] = {MLM_ST_F32, MLM_ST_F16, MLM_ST_BF16};
    const char *names[] = {"f32.safetensors", "f16.safetensors", "bf16.safetensors"};
    char d[1100], path[1200];
    snprintf(d, sizeof d, "%s/fuzz_safetensors", out);
    mkdir_p(d);
    mlm_err e;
    for (int i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", d, names[i]);
        check(mlm_st_save(path, ents, 2, dts[i], &e), &e);
    }
    snprintf(path, sizeof path, "%s/empty.safetensors", d);
    check(mlm_st_save(path, ents, 0, MLM_ST_F32, &e), &e);
    const char *js = "{\"x\":{\"dtype\":\"I8\",\"shape\":[2,2],\"data_offsets\":[0,4]},"
                     "\"__metadata__\":{\"format\":\"pt\"}}";
    unsigned char hand[256];
    size_t jl = strlen(js);
    for (int i = 0; i < 8; i++) hand[i] = (unsigned char)((uint64_t)jl >> (8 * i));
    memcpy(hand + 8, js, jl);
    memcpy(hand + 8 + jl, "abcd", 4);
    put(out, "fuzz_safetensors", "i8.safetensors", hand, 8 + jl + 4);
}

/* ---- tokenizers (the fixtures of tests/fixtures.c, linked in) ---- */
static void tokenizer_seeds(const char *out) {
    char d[1100], p[1200];
    snprintf(d, sizeof d, "%s/fuzz_tokenizer_bin", out);
    mkdir_p(d);
    snprintf(p, sizeof p, "%s/spm.bin", d);
    if (fx_write_llama2c_tokenizer(p)) { fprintf(stderr, "seeds: cannot write %s\n", p); failures++; }
    snprintf(d, sizeof d, "%s/fuzz_tokenizer_json", out);
    mkdir_p(d);
    snprintf(p, sizeof p, "%s/spm.json", d);
    if (fx_write_hf_spm_tokenizer(p)) { fprintf(stderr, "seeds: cannot write %s\n", p); failures++; }
    snprintf(p, sizeof p, "%s/bytelevel.json", d);
    if (fx_write_hf_bytelevel_tokenizer(p)) { fprintf(stderr, "seeds: cannot write %s\n", p); failures++; }
    unsigned char tiny[] = {4, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 'a', 0, 0, 128, 191, 2, 0, 0, 0, 'a', 'b'};
    put(out, "fuzz_tokenizer_bin", "tiny.bin", tiny, sizeof tiny);
}

/* ---- the shard index: the one mlm_hf_save writes for the target's tiny model ---- */
static void hf_index_seeds(const char *out) {
    char d[1100], p[1200];
    snprintf(d, sizeof d, "%s/fuzz_hf_index.model", out);
    mkdir_p(d);
    mlm_config c = tiny(1, 2, 1, 1, 8);
    c.head_dim = 4; c.d_ff = 8;
    mlm_err e;
    mlm_model *m = mlm_model_new(&c, &e);
    if (!m) { check(MLM_ENOMEM, &e); return; }
    mlm_model_init(m, NULL);
    mlm_hf_save_opts o = {MLM_ST_F32, 2, MLM_ROPE_ADJACENT};
    check(mlm_hf_save(m, d, &o, &e), &e);
    mlm_model_free(m);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", d);
    size_t len;
    char *buf;
    if (mlm_read_file(p, 1 << 20, &buf, &len, &e) == MLM_OK) {
        put(out, "fuzz_hf_index", "index.json", buf, len);
        free(buf);
    }
    put_str(out, "fuzz_hf_index", "traversal.json",
            "{\"metadata\":{},\"weight_map\":{\"model.embed_tokens.weight\":\"../model-00001-of-00002.safetensors\"}}");
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: seeds OUT_DIR\n"); return 2; }
    const char *out = argv[1];
    mkdir_p(out);
    config_seeds(out);
    hf_config_seeds(out);
    llama2c_seeds(out, out);
    trace_seed(out, "stats.json", NULL, 1, 1);
    trace_seed(out, "kept.json", "logits,blocks.0.attn.probs", 1, 0);
    trace_seed(out, "all.json", "*", 1, 1);
    safetensors_seeds(out);
    tokenizer_seeds(out);
    hf_index_seeds(out);
    if (failures) fprintf(stderr, "seeds: %d failures\n", failures);
    else printf("seeds: corpora written under %s\n", out);
    return failures ? 1 : 0;
}
