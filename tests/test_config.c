/* test_config.c - the strict config format: round-trip, every bad-config case with the field
 * named in the message, presets valid, MODEL resolution. */
#include "check.h"
#include "config.h"
#include "hf_model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void bad(const char *json, const char *must_contain, const char *what) {
    mlm_config c;
    mlm_err e = {{0}};
    mlm_status st = mlm_config_from_json(&c, json, strlen(json), "config 'x.json'", &e);
    int ok = st != MLM_OK && strstr(e.msg, must_contain) && strstr(e.msg, "x.json") && !strchr(e.msg, '\n');
    if (!ok) printf("  message was: %s\n", e.msg);
    CHECK(ok, what);
}

int main(void) {
    /* every preset validates and round-trips */
    int all = 1;
    for (int i = 0; i < mlm_preset_count(); i++) {
        const mlm_config *p = mlm_preset_at(i);
        mlm_err e;
        if (mlm_config_validate(p, p->name, &e)) { all = 0; printf("  %s\n", e.msg); }
        char *s = mlm_config_to_json(p);
        mlm_config q;
        if (mlm_config_from_json(&q, s, strlen(s), p->name, &e) || memcmp(&q, p, sizeof q) != 0) {
            all = 0;
            printf("  round-trip of %s failed: %s\n", p->name, e.msg);
        }
        free(s);
    }
    CHECK(all, "every preset validates and round-trips through JSON exactly");
    CHECK(mlm_preset_find("block-demo") && mlm_preset_find("microlm") && mlm_preset_find("stories15m"), "foundation presets exist");
    const mlm_config *s15 = mlm_preset_find("stories15m");
    CHECK(s15->d_model == 288 && s15->d_ff == 768 && s15->n_layers == 6 && s15->n_heads == 6 && s15->vocab_size == 32000 &&
              s15->max_seq_len == 256, "stories15m has the llama2.c shape");
    const mlm_config *bd = mlm_preset_find("block-demo");
    CHECK(bd->d_model == 64 && bd->n_heads == 4 && bd->n_kv_heads == 2 && bd->d_ff == 172 && bd->head_dim == 16,
          "block-demo is the seed demo's block");
    CHECK(mlm_preset_find("microlm")->n_layers == 8, "microlm has the seed diagram's 8 blocks");

    /* defaults and derived fields */
    mlm_config c;
    mlm_err e;
    const char *ok = "{\"d_model\": 96, \"n_heads\": 6}";
    CHECK(mlm_config_from_json(&c, ok, strlen(ok), "t", &e) == MLM_OK && c.head_dim == 16 && c.n_kv_heads == 6 && c.d_ff == 256,
          "missing head_dim, n_kv_heads, d_ff take d/h, h and 8/3 d rounded to 4");
    const char *hd = "{\"d_model\": 100, \"n_heads\": 3, \"head_dim\": 32, \"n_kv_heads\": 1}";
    CHECK(mlm_config_from_json(&c, hd, strlen(hd), "t", &e) == MLM_OK && c.head_dim == 32, "heads need not divide d_model when head_dim is given");
    /* save / load through a file */
    char path[512];
    snprintf(path, sizeof path, "%s/cfg.json", getenv("MLM_TMP") ? getenv("MLM_TMP") : "/tmp");
    c.norm_pos = MLM_POSTNORM;
    c.ffn = MLM_FFN_RELU;
    c.tied = 1;
    CHECK(mlm_config_save(&c, path, &e) == MLM_OK, "config saves");
    mlm_config d;
    CHECK(mlm_config_load(&d, path, &e) == MLM_OK && memcmp(&c, &d, sizeof c) == 0, "config file round-trips (post-norm, relu, tied)");
    mlm_config r;
    CHECK(mlm_config_resolve(&r, path, &e) == MLM_OK && r.d_model == 100, "MODEL resolves a config file");
    CHECK(mlm_config_resolve(&r, "stories15m", &e) == MLM_OK && r.d_model == 288, "MODEL resolves a preset");
    CHECK(mlm_config_resolve(&r, "no-such-model", &e) != MLM_OK && strstr(e.msg, "no-such-model"), "unknown MODEL is an error naming it");
    /* a Hugging Face directory and its .safetensors file resolve through the config.json */
    {
        char hf[600], st[700];
        snprintf(hf, sizeof hf, "%s/hfcfg", getenv("MLM_TMP") ? getenv("MLM_TMP") : "/tmp");
        mkdir(hf, 0777);
        mlm_model *m = mlm_model_new(mlm_preset_find("block-demo"), &e);
        mlm_hf_save_opts so = {MLM_ST_F32, 1, MLM_ROPE_ADJACENT};
        int saved = m && mlm_hf_save(m, hf, &so, &e) == MLM_OK;
        snprintf(st, sizeof st, "%s/model.safetensors", hf);
        CHECK(saved && mlm_config_resolve(&r, hf, &e) == MLM_OK && r.d_model == 64 && r.n_kv_heads == 2,
              "MODEL resolves a Hugging Face directory");
        CHECK(saved && mlm_config_resolve(&r, st, &e) == MLM_OK && r.d_model == 64, "MODEL resolves a .safetensors file by its config.json");
        mlm_model_free(m);
    }

    /* every bad-config case names the field */
    bad("{\"d_model\": 64, \"n_heads\": 4, \"colour\": 1}", "\"colour\"", "unknown key is an error naming it");
    bad("{\"d_model\": \"64\", \"n_heads\": 4}", "\"d_model\"", "wrong type (string for int) names the field");
    bad("{\"d_model\": 64.5, \"n_heads\": 4}", "\"d_model\"", "a fractional size names the field");
    bad("{\"d_model\": 64, \"n_heads\": 4, \"tied_embeddings\": 1}", "tied_embeddings", "wrong type (number for bool) names the field");
    bad("{\"d_model\": 0, \"n_heads\": 4}", "\"d_model\"", "zero d_model names the field");
    bad("{\"d_model\": 64, \"n_heads\": -4}", "\"n_heads\"", "negative n_heads names the field");
    bad("{\"d_model\": 64, \"n_heads\": 4, \"d_ff\": 0}", "\"d_ff\"", "zero d_ff names the field");
    bad("{\"d_model\": 64, \"n_heads\": 4, \"vocab_size\": -1}", "\"vocab_size\"", "negative vocab names the field");
    bad("{\"d_model\": 64, \"n_heads\": 5}", "n_heads (5) does not divide d_model (64)", "heads not dividing d_model without head_dim");
    bad("{\"d_model\": 64, \"n_heads\": 4, \"n_kv_heads\": 3}", "n_heads (4) must be a multiple of n_kv_heads (3)", "n_heads not a multiple of n_kv_heads");
    bad("{\"d_model\": 64, \"n_heads\": 4, \"norm\": \"middle\"}", "\"norm\"", "bad norm placement names the field");
    bad("{\"d_model\": 64, \"n_heads\": 4, \"ffn\": \"gelu\"}", "\"ffn\"", "bad ffn kind names the field");
    bad("{\"d_model\": 64, \"n_heads\": 4, \"norm_eps\": -1}", "norm_eps", "negative norm_eps names the field");
    bad("{\"d_model\": 64, \"n_heads\": 4, \"rope_theta\": 0}", "rope_theta", "zero rope_theta names the field");
    bad("{\"d_model\": 64, \"n_heads\": 4, \"head_dim\": 15}", "head_dim", "odd head_dim (RoPE needs pairs) names the field");
    bad("{\"n_heads\": 4}", "\"d_model\"", "missing d_model names the field");
    bad("{\"d_model\": 64, \"n_heads\": 4,", "not valid JSON", "malformed JSON is an error");
    bad("[1, 2]", "JSON object", "a non-object is an error");
    bad("{\"d_model\": 1e300, \"n_heads\": 4}", "\"d_model\"", "a huge size is an error");
    CHECK(mlm_config_load(&c, "/nonexistent/cfg.json", &e) == MLM_EIO && strstr(e.msg, "/nonexistent/cfg.json"),
          "a missing file is an error naming it");
    return check_done();
}
