/* test_hf_config.c - Hugging Face config.json import: every preset's own config.json (written
 * by the fixture generator below into $MLM_TMP) imports back to the preset's shape and
 * parameter total; defaults; and every unsupported or malformed file gets a clear one-line
 * error that starts with the `where` argument and names the key. */
#include "check.h"
#include "config.h"
#include "params.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static char tmpdir[1024];

/* ---- fixtures ----------------------------------------------------------------------------- */

/* The config.json a preset's model would ship with (LlamaConfig / MistralConfig keys, plus
 * keys that do not change the architecture, which the importer must ignore). */
static char *hf_json_of(const mlm_config *c) {
    cJSON *o = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(o, "architectures");
    int mistral = c->sliding_window > 0;
    cJSON_AddItemToArray(arch, cJSON_CreateString(mistral ? "MistralForCausalLM" : "LlamaForCausalLM"));
    cJSON_AddStringToObject(o, "_name_or_path", c->name);
    cJSON_AddBoolToObject(o, "attention_bias", 0);
    cJSON_AddNumberToObject(o, "attention_dropout", 0.0);
    cJSON_AddNumberToObject(o, "bos_token_id", 1);
    cJSON *eos = cJSON_AddArrayToObject(o, "eos_token_id");
    cJSON_AddItemToArray(eos, cJSON_CreateNumber(2));
    cJSON_AddItemToArray(eos, cJSON_CreateNumber(3));
    cJSON_AddNumberToObject(o, "head_dim", c->head_dim);
    cJSON_AddStringToObject(o, "hidden_act", "silu");
    cJSON_AddNumberToObject(o, "hidden_size", c->d_model);
    cJSON_AddNumberToObject(o, "initializer_range", 0.02);
    cJSON_AddNumberToObject(o, "intermediate_size", c->d_ff);
    cJSON_AddNumberToObject(o, "max_position_embeddings", c->max_seq_len);
    cJSON_AddBoolToObject(o, "mlp_bias", 0);
    cJSON_AddStringToObject(o, "model_type", mistral ? "mistral" : "llama");
    cJSON_AddNumberToObject(o, "num_attention_heads", c->n_heads);
    cJSON_AddNumberToObject(o, "num_hidden_layers", c->n_layers);
    cJSON_AddNumberToObject(o, "num_key_value_heads", c->n_kv_heads);
    cJSON_AddNumberToObject(o, "pretraining_tp", 1);
    cJSON_AddNumberToObject(o, "rms_norm_eps", c->norm_eps);
    if (c->rope_scaling > 0) {
        cJSON *rs = cJSON_AddObjectToObject(o, "rope_scaling");
        cJSON_AddNumberToObject(rs, "factor", c->rope_scaling);
        cJSON_AddNumberToObject(rs, "high_freq_factor", 4.0);
        cJSON_AddNumberToObject(rs, "low_freq_factor", 1.0);
        cJSON_AddNumberToObject(rs, "original_max_position_embeddings", 8192);
        cJSON_AddStringToObject(rs, "rope_type", "llama3");
    } else {
        cJSON_AddNullToObject(o, "rope_scaling");
    }
    cJSON_AddNumberToObject(o, "rope_theta", c->rope_theta);
    if (mistral) cJSON_AddNumberToObject(o, "sliding_window", c->sliding_window);
    else cJSON_AddNullToObject(o, "sliding_window");
    cJSON_AddBoolToObject(o, "tie_word_embeddings", c->tied);
    cJSON_AddStringToObject(o, "torch_dtype", "bfloat16");
    cJSON_AddStringToObject(o, "transformers_version", "4.44.0");
    cJSON_AddBoolToObject(o, "use_cache", 1);
    cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

/* Writes <tmpdir>/hf-<name>/config.json; returns the directory in dir. */
static int write_fixture(const mlm_config *c, char *dir, size_t cap) {
    snprintf(dir, cap, "%s/hf-%s", tmpdir, c->name);
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) return -1;
    char path[1200];
    snprintf(path, sizeof path, "%s/config.json", dir);
    char *s = hf_json_of(c);
    if (!s) return -1;
    FILE *f = fopen(path, "w");
    int ok = f && fputs(s, f) >= 0;
    if (f && fclose(f) != 0) ok = 0;
    free(s);
    return ok ? 0 : -1;
}

static void setup_tmp(void) {
    const char *t = getenv("MLM_TMP");
    if (t && *t) snprintf(tmpdir, sizeof tmpdir, "%s", t);
    else {
        snprintf(tmpdir, sizeof tmpdir, "/tmp/mlm_hf_XXXXXX");
        if (!mkdtemp(tmpdir)) snprintf(tmpdir, sizeof tmpdir, "/tmp");
    }
}

/* ---- presets round trip --------------------------------------------------------------------- */

static void test_presets_roundtrip(void) {
    char what[800], dir[1100];
    for (int i = 0; i < mlm_preset_count(); i++) {
        const mlm_config *p = mlm_preset_at(i);
        snprintf(what, sizeof what, "%s: fixture config.json written", p->name);
        CHECK(write_fixture(p, dir, sizeof dir) == 0, what);
        mlm_config c;
        mlm_err e = {{0}};
        /* through MODEL resolution: a directory holding config.json */
        mlm_status st = mlm_config_resolve(&c, dir, &e);
        snprintf(what, sizeof what, "%s: import of its own config.json (%s)", p->name, st ? e.msg : "ok");
        CHECK(st == MLM_OK, what);
        if (st) continue;
        int same = c.d_model == p->d_model && c.n_layers == p->n_layers && c.n_heads == p->n_heads &&
                   c.n_kv_heads == p->n_kv_heads && c.head_dim == p->head_dim && c.d_ff == p->d_ff &&
                   c.vocab_size == p->vocab_size && c.max_seq_len == p->max_seq_len && c.tied == p->tied &&
                   c.rope_theta == p->rope_theta && c.norm_eps == p->norm_eps &&
                   c.sliding_window == p->sliding_window && c.rope_scaling == p->rope_scaling &&
                   c.ffn == MLM_FFN_SWIGLU && c.norm_pos == MLM_PRENORM;
        snprintf(what, sizeof what, "%s: imported shape equals the preset", p->name);
        CHECK(same, what);
        mlm_param_counts a, b;
        snprintf(what, sizeof what, "%s: imported parameter total equals the preset's", p->name);
        CHECK(!mlm_params_count(&c, &a, NULL) && !mlm_params_count(p, &b, NULL) && a.total == b.total &&
                  a.block == b.block,
              what);
        snprintf(what, sizeof what, "%s: name from _name_or_path, source names the file", p->name);
        CHECK(!strcmp(c.name, p->name) && strstr(c.source, "config.json") != NULL, what);
    }
    /* a config.json path (not a directory) resolves too */
    char path[1200];
    snprintf(path, sizeof path, "%s/hf-llama3-8b/config.json", tmpdir);
    mlm_config c;
    CHECK(!mlm_config_resolve(&c, path, NULL) && c.vocab_size == 128256, "resolve a config.json path");
}

/* ---- defaults -------------------------------------------------------------------------------- */

static mlm_status imp(const char *json, mlm_config *c, mlm_err *e) {
    return mlm_config_from_hf_json(c, json, strlen(json), "config 'x/config.json'", e);
}

static void test_defaults(void) {
    mlm_config c;
    mlm_err e = {{0}};
    const char *min = "{\"hidden_size\": 256, \"intermediate_size\": 688, \"num_hidden_layers\": 2,"
                      " \"num_attention_heads\": 8, \"vocab_size\": 1000}";
    mlm_status st = imp(min, &c, &e);
    CHECK(st == MLM_OK, "minimal config (five required keys) imports");
    CHECK(c.n_kv_heads == 8 && c.head_dim == 32 && !c.tied && c.rope_theta == 10000.0 && c.sliding_window == 0 &&
              c.rope_scaling == 0 && c.max_seq_len == 2048 && c.norm_eps == 1e-6,
          "defaults: kv = heads, head_dim = hidden/heads, untied, theta 1e4, no window, LlamaConfig max 2048 eps 1e-6");
    const char *hd = "{\"model_type\": \"llama\", \"hidden_size\": 2048, \"intermediate_size\": 5632,"
                     " \"num_hidden_layers\": 2, \"num_attention_heads\": 8, \"num_key_value_heads\": 2,"
                     " \"head_dim\": 128, \"vocab_size\": 1000, \"tie_word_embeddings\": true,"
                     " \"rope_scaling\": {\"factor\": 8.0, \"rope_type\": \"llama3\"}, \"sliding_window\": null,"
                     " \"rope_theta\": 500000.0, \"rms_norm_eps\": 1e-05, \"max_position_embeddings\": 4096,"
                     " \"torch_dtype\": \"bfloat16\", \"eos_token_id\": [1, 2], \"quantization_config\": {\"bits\": 4}}";
    st = imp(hd, &c, &e);
    CHECK(st == MLM_OK && c.head_dim == 128 && mlm_q_dim(&c) == 1024 && c.tied && c.rope_scaling == 8.0 &&
              c.rope_theta == 500000.0 && c.max_seq_len == 4096 && c.norm_eps == 1e-5,
          "head_dim as configured (8 x 128 != 2048), tied, rope_scaling factor, unknown keys ignored");
    mlm_param_counts p;
    CHECK(!mlm_params_count(&c, &p, NULL) && p.wq == 2048LL * 1024 && p.wk == 2048LL * 256,
          "W_Q uses h * head_dim, not hidden_size");
    const char *mis = "{\"model_type\": \"mistral\", \"hidden_size\": 64, \"intermediate_size\": 128,"
                      " \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"num_key_value_heads\": 2,"
                      " \"vocab_size\": 100, \"sliding_window\": 16}";
    CHECK(imp(mis, &c, NULL) == MLM_OK && c.sliding_window == 16, "mistral with a sliding window");
    const char *v5 = "{\"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 1,"
                     " \"num_attention_heads\": 4, \"vocab_size\": 100,"
                     " \"rope_parameters\": {\"rope_theta\": 130000.0, \"rope_type\": \"default\"}}";
    CHECK(imp(v5, &c, NULL) == MLM_OK && c.rope_theta == 130000.0, "transformers v5 rope_parameters.rope_theta");
}

/* ---- errors ---------------------------------------------------------------------------------- */

static void expect_error(const char *json, const char *key, const char *what) {
    mlm_config c;
    mlm_config_default(&c);
    c.d_model = 12345; /* sentinel: must be untouched on failure */
    mlm_err e = {{0}};
    mlm_status st = imp(json, &c, &e);
    char w[1000];
    snprintf(w, sizeof w, "%s -> error naming %s: \"%s\"", what, key, e.msg);
    CHECK(st != MLM_OK && !strncmp(e.msg, "config 'x/config.json': ", 24) && strstr(e.msg, key) &&
              !strchr(e.msg, '\n') && c.d_model == 12345,
          w);
}

#define BASE "\"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, " \
             "\"vocab_size\": 100"

static void test_errors(void) {
    expect_error("{" BASE ", \"attention_bias\": true}", "attention_bias", "attention_bias true");
    expect_error("{" BASE ", \"mlp_bias\": true}", "mlp_bias", "mlp_bias true");
    expect_error("{" BASE ", \"hidden_act\": \"gelu\"}", "hidden_act", "hidden_act gelu");
    expect_error("{" BASE ", \"model_type\": \"gpt2\"}", "model_type", "model_type gpt2");
    expect_error("{\"intermediate_size\": 128, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"vocab_size\": 100}",
                 "hidden_size", "missing hidden_size");
    expect_error("{\"hidden_size\": 64, \"num_hidden_layers\": 1, \"num_attention_heads\": 4, \"vocab_size\": 100}",
                 "intermediate_size", "missing intermediate_size");
    expect_error("{\"hidden_size\": \"4096\", \"intermediate_size\": 128, \"num_hidden_layers\": 1,"
                 " \"num_attention_heads\": 4, \"vocab_size\": 100}",
                 "hidden_size", "wrong type (hidden_size a string)");
    expect_error("{\"hidden_size\": 64, \"intermediate_size\": 128, \"num_hidden_layers\": -2,"
                 " \"num_attention_heads\": 4, \"vocab_size\": 100}",
                 "num_hidden_layers", "negative size");
    expect_error("{\"hidden_size\": 64.5, \"intermediate_size\": 128, \"num_hidden_layers\": 1,"
                 " \"num_attention_heads\": 4, \"vocab_size\": 100}",
                 "hidden_size", "non-integer size");
    expect_error("{" BASE ", \"tie_word_embeddings\": 1}", "tie_word_embeddings", "tie_word_embeddings not a bool");
    expect_error("{" BASE ", \"rope_scaling\": 8}", "rope_scaling", "rope_scaling not an object");
    expect_error("{" BASE ", \"rope_scaling\": {\"factor\": \"x\"}}", "rope_scaling.factor", "rope_scaling.factor a string");
    expect_error("{" BASE ", \"sliding_window\": \"4096\"}", "sliding_window", "sliding_window a string");
    expect_error("{" BASE ", \"model_type\": 7}", "model_type", "model_type not a string");
    expect_error("{" BASE ", \"num_key_value_heads\": 3}", "num_key_value_heads", "heads not a multiple of kv heads");
    expect_error("{" BASE ", \"rope_theta\": -1}", "rope_theta", "negative rope_theta");
    expect_error("{" BASE ", \"num_local_experts\": 8}", "num_local_experts", "mixture of experts");
    expect_error("{\"hidden_size\": 60, \"intermediate_size\": 128, \"num_hidden_layers\": 1,"
                 " \"num_attention_heads\": 7, \"vocab_size\": 100}",
                 "num_attention_heads", "heads not dividing hidden_size without head_dim");
    expect_error("{\"hidden_size\": 64,", "JSON", "not JSON (truncated)");
    expect_error("this is not json", "JSON", "not JSON");
    expect_error("[1, 2, 3]", "object", "a JSON array, not an object");
    mlm_config c;
    mlm_err e = {{0}};
    CHECK(mlm_config_from_hf_json(&c, "{}", 2, NULL, &e) != MLM_OK && !strncmp(e.msg, "config: ", 8),
          "where NULL -> messages start with \"config\"");
    /* a bad file through MODEL resolution names the file */
    char path[1200];
    snprintf(path, sizeof path, "%s/bad-hf-config.json", tmpdir);
    FILE *f = fopen(path, "w");
    if (f) { fputs("{" BASE ", \"hidden_act\": \"gelu_new\"}", f); fclose(f); }
    mlm_status st = mlm_config_resolve(&c, path, &e);
    CHECK(st != MLM_OK && strstr(e.msg, path) && strstr(e.msg, "hidden_act"), "resolve names the file and the key");
}

int main(void) {
    setup_tmp();
    test_presets_roundtrip();
    test_defaults();
    test_errors();
    return check_done();
}
