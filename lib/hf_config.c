/* hf_config.c - import of a Hugging Face config.json (LlamaConfig, MistralConfig) into an
 * mlm_config. Keys that do not change the architecture are ignored; keys that change it in a
 * way the project does not model are refused with a one-line error naming the key. */
#include "config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

/* Keys read as architecture; everything else is ignored (token ids, dtype, dropout, ...). */

/* Reads a positive integer key into *out. Missing: *present = 0 (and required -> error). */
static mlm_status hf_int(const cJSON *root, const char *key, int required, int *out, int *present, const char *w,
                         mlm_err *e) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (present) *present = 0;
    if (!it) {
        if (required) return mlm_fail(e, MLM_EINVAL, "%s: missing required key \"%s\"", w, key);
        return MLM_OK;
    }
    if (!cJSON_IsNumber(it))
        return mlm_fail(e, MLM_EINVAL, "%s: key \"%s\" must be an integer", w, key);
    double v = it->valuedouble;
    if (!isfinite(v) || v != floor(v))
        return mlm_fail(e, MLM_EINVAL, "%s: key \"%s\" must be an integer (got %g)", w, key, v);
    if (v <= 0) return mlm_fail(e, MLM_EINVAL, "%s: key \"%s\" must be positive (got %g)", w, key, v);
    if (v > 2147483647.0) return mlm_fail(e, MLM_EINVAL, "%s: key \"%s\" is too large (%g)", w, key, v);
    *out = (int)v;
    if (present) *present = 1;
    return MLM_OK;
}

/* Reads a positive finite number key (missing: leaves *out). */
static mlm_status hf_num(const cJSON *root, const char *key, double *out, const char *w, mlm_err *e) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it) return MLM_OK;
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return mlm_fail(e, MLM_EINVAL, "%s: key \"%s\" must be a number", w, key);
    if (!(it->valuedouble > 0))
        return mlm_fail(e, MLM_EINVAL, "%s: key \"%s\" must be positive (got %g)", w, key, it->valuedouble);
    *out = it->valuedouble;
    return MLM_OK;
}

/* A boolean key that the project can only model as false (attention_bias, mlp_bias). */
static mlm_status hf_false_only(const cJSON *root, const char *key, const char *what, const char *w, mlm_err *e) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!it || cJSON_IsNull(it)) return MLM_OK;
    if (!cJSON_IsBool(it)) return mlm_fail(e, MLM_EINVAL, "%s: key \"%s\" must be true or false", w, key);
    if (cJSON_IsTrue(it))
        return mlm_fail(e, MLM_EINVAL, "%s: key \"%s\" is true: %s are not modelled by this project", w, key, what);
    return MLM_OK;
}

/* rope_scaling (or transformers v5 rope_parameters): an object or null; records "factor". */
static mlm_status hf_rope_object(const cJSON *it, const char *key, mlm_config *c, const char *w, mlm_err *e) {
    if (!it || cJSON_IsNull(it)) return MLM_OK;
    if (!cJSON_IsObject(it)) return mlm_fail(e, MLM_EINVAL, "%s: key \"%s\" must be an object or null", w, key);
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(it, "factor");
    if (f) {
        if (!cJSON_IsNumber(f) || !isfinite(f->valuedouble) || !(f->valuedouble > 0))
            return mlm_fail(e, MLM_EINVAL, "%s: key \"%s.factor\" must be a positive number", w, key);
        c->rope_scaling = f->valuedouble;
    }
    const cJSON *th = cJSON_GetObjectItemCaseSensitive(it, "rope_theta");
    if (th) {
        if (!cJSON_IsNumber(th) || !isfinite(th->valuedouble) || !(th->valuedouble > 0))
            return mlm_fail(e, MLM_EINVAL, "%s: key \"%s.rope_theta\" must be a positive number", w, key);
        c->rope_theta = th->valuedouble;
    }
    return MLM_OK;
}

static mlm_status hf_parse(mlm_config *c, const cJSON *root, const char *w, mlm_err *e) {
    mlm_status st;
    const cJSON *it;
    mlm_config_default(c);
    snprintf(c->name, sizeof c->name, "hf-config");

    /* model_type: llama or mistral (missing: assumed llama) */
    it = cJSON_GetObjectItemCaseSensitive(root, "model_type");
    const char *mt = "llama";
    if (it) {
        if (!cJSON_IsString(it)) return mlm_fail(e, MLM_EINVAL, "%s: key \"model_type\" must be a string", w);
        mt = it->valuestring;
        if (strcmp(mt, "llama") && strcmp(mt, "mistral"))
            return mlm_fail(e, MLM_EINVAL,
                            "%s: key \"model_type\" is \"%.40s\": only \"llama\" and \"mistral\" are modelled", w, mt);
    }
    /* hidden_act: silu only (the SwiGLU FFN) */
    it = cJSON_GetObjectItemCaseSensitive(root, "hidden_act");
    if (it) {
        if (!cJSON_IsString(it)) return mlm_fail(e, MLM_EINVAL, "%s: key \"hidden_act\" must be a string", w);
        if (strcmp(it->valuestring, "silu"))
            return mlm_fail(e, MLM_EINVAL,
                            "%s: key \"hidden_act\" is \"%.40s\": only \"silu\" (SwiGLU) is modelled", w,
                            it->valuestring);
    }
    if ((st = hf_false_only(root, "attention_bias", "attention projection biases", w, e))) return st;
    if ((st = hf_false_only(root, "mlp_bias", "FFN biases", w, e))) return st;
    it = cJSON_GetObjectItemCaseSensitive(root, "num_local_experts");
    if (it && !cJSON_IsNull(it))
        return mlm_fail(e, MLM_EINVAL, "%s: key \"num_local_experts\": mixture-of-experts FFNs are not modelled", w);

    int have_kv = 0, have_hd = 0, have_max = 0;
    if ((st = hf_int(root, "hidden_size", 1, &c->d_model, NULL, w, e))) return st;
    if ((st = hf_int(root, "intermediate_size", 1, &c->d_ff, NULL, w, e))) return st;
    if ((st = hf_int(root, "num_hidden_layers", 1, &c->n_layers, NULL, w, e))) return st;
    if ((st = hf_int(root, "num_attention_heads", 1, &c->n_heads, NULL, w, e))) return st;
    if ((st = hf_int(root, "vocab_size", 1, &c->vocab_size, NULL, w, e))) return st;
    if ((st = hf_int(root, "num_key_value_heads", 0, &c->n_kv_heads, &have_kv, w, e))) return st;
    if (cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(root, "head_dim"))) have_hd = 0;
    else if ((st = hf_int(root, "head_dim", 0, &c->head_dim, &have_hd, w, e))) return st;
    if ((st = hf_int(root, "max_position_embeddings", 0, &c->max_seq_len, &have_max, w, e))) return st;
    if (!have_kv) c->n_kv_heads = c->n_heads;
    if (c->n_heads % c->n_kv_heads)
        return mlm_fail(e, MLM_EINVAL, "%s: num_attention_heads (%d) must be a multiple of num_key_value_heads (%d)", w,
                        c->n_heads, c->n_kv_heads);
    if (!have_hd) {
        if (c->d_model % c->n_heads)
            return mlm_fail(e, MLM_EINVAL, "%s: num_attention_heads (%d) does not divide hidden_size (%d) and no head_dim is given",
                            w, c->n_heads, c->d_model);
        c->head_dim = c->d_model / c->n_heads;
    }
    if (!have_max) c->max_seq_len = 2048; /* LlamaConfig's default */

    c->rope_theta = 10000.0;
    if ((st = hf_num(root, "rope_theta", &c->rope_theta, w, e))) return st;
    c->norm_eps = 1e-6; /* LlamaConfig's default */
    if ((st = hf_num(root, "rms_norm_eps", &c->norm_eps, w, e))) return st;
    if ((st = hf_rope_object(cJSON_GetObjectItemCaseSensitive(root, "rope_scaling"), "rope_scaling", c, w, e)))
        return st;
    if ((st = hf_rope_object(cJSON_GetObjectItemCaseSensitive(root, "rope_parameters"), "rope_parameters", c, w, e)))
        return st;

    it = cJSON_GetObjectItemCaseSensitive(root, "tie_word_embeddings");
    c->tied = 0;
    if (it) {
        if (!cJSON_IsBool(it)) return mlm_fail(e, MLM_EINVAL, "%s: key \"tie_word_embeddings\" must be true or false", w);
        c->tied = cJSON_IsTrue(it);
    }
    it = cJSON_GetObjectItemCaseSensitive(root, "sliding_window");
    c->sliding_window = 0;
    if (it && !cJSON_IsNull(it)) {
        if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble != floor(it->valuedouble))
            return mlm_fail(e, MLM_EINVAL, "%s: key \"sliding_window\" must be an integer or null", w);
        if (it->valuedouble < 0 || it->valuedouble > 2147483647.0)
            return mlm_fail(e, MLM_EINVAL, "%s: key \"sliding_window\" must be 0, positive or null (got %g)", w,
                            it->valuedouble);
        c->sliding_window = (int)it->valuedouble;
    }
    c->norm_pos = MLM_PRENORM;
    c->ffn = MLM_FFN_SWIGLU;

    it = cJSON_GetObjectItemCaseSensitive(root, "_name_or_path");
    if (cJSON_IsString(it) && it->valuestring[0]) {
        const char *base = strrchr(it->valuestring, '/');
        snprintf(c->name, sizeof c->name, "%.63s", base && base[1] ? base + 1 : it->valuestring);
    }
    snprintf(c->source, sizeof c->source, "Hugging Face config.json (model_type %.20s) read from %.170s", mt, w);
    return mlm_config_validate(c, w, e);
}

mlm_status mlm_config_from_hf_json(mlm_config *c, const char *json, size_t len, const char *where, mlm_err *e) {
    const char *w = where ? where : "config";
    if (!c || !json) return mlm_fail(e, MLM_EINVAL, "%s: NULL argument", w);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return mlm_fail(e, MLM_EFORMAT, "%s: not valid JSON", w);
    mlm_status st;
    mlm_config tmp;
    if (!cJSON_IsObject(root)) st = mlm_fail(e, MLM_EFORMAT, "%s: expected a JSON object", w);
    else st = hf_parse(&tmp, root, w, e);
    cJSON_Delete(root);
    if (!st) *c = tmp;   /* c is untouched on failure */
    return st;
}
