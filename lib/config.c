/* config.c - config defaults, validation, the strict project JSON format, and MODEL resolution. */
#include "config.h"
#include "checkpoint.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MLM_CONFIG_MAX_BYTES (1u << 20)

const char *mlm_ffn_name(mlm_ffn_kind k) { return k == MLM_FFN_RELU ? "relu" : "swiglu"; }
const char *mlm_norm_pos_name(mlm_norm_pos p) { return p == MLM_POSTNORM ? "post" : "pre"; }

static int default_d_ff(int d) {
    /* 8/3 d rounded up to a multiple of 4: 64 -> 172, the seed demo's block */
    int64_t f = ((int64_t)8 * d + 2) / 3;
    return (int)((f + 3) / 4 * 4);
}

void mlm_config_default(mlm_config *c) {
    memset(c, 0, sizeof *c);
    snprintf(c->name, sizeof c->name, "custom");
    c->d_model = 64;
    c->n_layers = 1;
    c->n_heads = 4;
    c->n_kv_heads = 2;
    c->head_dim = 16;
    c->d_ff = 172;
    c->vocab_size = 256;
    c->max_seq_len = 256;
    c->rope_theta = 10000.0;
    c->norm_eps = 1e-5;
    c->tied = 0;
    c->norm_pos = MLM_PRENORM;
    c->ffn = MLM_FFN_SWIGLU;
}

mlm_status mlm_config_validate(const mlm_config *c, const char *where, mlm_err *e) {
    const char *w = where ? where : "config";
    struct { const char *name; int v; int max; } sizes[] = {
        {"d_model", c->d_model, 1 << 20},      {"n_layers", c->n_layers, 1 << 14},
        {"n_heads", c->n_heads, 1 << 14},      {"n_kv_heads", c->n_kv_heads, 1 << 14},
        {"head_dim", c->head_dim, 1 << 16},    {"d_ff", c->d_ff, 1 << 22},
        {"vocab_size", c->vocab_size, 1 << 24}, {"max_seq_len", c->max_seq_len, 1 << 24},
    };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        if (sizes[i].v <= 0)
            return mlm_fail(e, MLM_EINVAL, "%s: %s must be positive (got %d)", w, sizes[i].name, sizes[i].v);
        if (sizes[i].v > sizes[i].max)
            return mlm_fail(e, MLM_EINVAL, "%s: %s = %d is larger than the supported %d", w, sizes[i].name,
                            sizes[i].v, sizes[i].max);
    }
    /* each size is bounded, their products are not: refuse counts no machine could hold before
     * anything multiplies them in int64 (layout, checkpoint sizes) */
    double per_layer = 2.0 + 2.0 * c->n_heads * c->head_dim + 2.0 * c->n_kv_heads * c->head_dim + 3.0 * c->d_ff;
    double params = 2.0 * c->vocab_size * c->d_model + (double)c->n_layers * c->d_model * per_layer;
    if (params > 1e15)
        return mlm_fail(e, MLM_EINVAL, "%s: these sizes make %.3g parameters, more than any machine holds", w, params);
    if (c->n_heads % c->n_kv_heads != 0)
        return mlm_fail(e, MLM_EINVAL, "%s: n_heads (%d) must be a multiple of n_kv_heads (%d)", w, c->n_heads,
                        c->n_kv_heads);
    if (c->head_dim % 2 != 0)
        return mlm_fail(e, MLM_EINVAL, "%s: head_dim (%d) must be even for RoPE", w, c->head_dim);
    if (!(c->rope_theta > 0) || !isfinite(c->rope_theta))
        return mlm_fail(e, MLM_EINVAL, "%s: rope_theta must be a positive number", w);
    if (!(c->norm_eps > 0) || !isfinite(c->norm_eps) || c->norm_eps > 1)
        return mlm_fail(e, MLM_EINVAL, "%s: norm_eps must be in (0, 1]", w);
    if (c->sliding_window < 0)
        return mlm_fail(e, MLM_EINVAL, "%s: sliding_window must be 0 (none) or positive", w);
    if (c->ffn != MLM_FFN_SWIGLU && c->ffn != MLM_FFN_RELU)
        return mlm_fail(e, MLM_EINVAL, "%s: ffn must be \"swiglu\" or \"relu\"", w);
    if (c->norm_pos != MLM_PRENORM && c->norm_pos != MLM_POSTNORM)
        return mlm_fail(e, MLM_EINVAL, "%s: norm must be \"pre\" or \"post\"", w);
    return MLM_OK;
}

/* ---- strict JSON ---------------------------------------------------------------------- */

static mlm_status get_int(const cJSON *it, const char *w, int *out, mlm_err *e) {
    if (!cJSON_IsNumber(it))
        return mlm_fail(e, MLM_EINVAL, "%s: field \"%s\" must be an integer", w, it->string);
    double v = it->valuedouble;
    if (!isfinite(v) || v != floor(v) || v < -2147483647.0 || v > 2147483647.0)
        return mlm_fail(e, MLM_EINVAL, "%s: field \"%s\" must be an integer (got %g)", w, it->string, v);
    if (v <= 0)
        return mlm_fail(e, MLM_EINVAL, "%s: field \"%s\" must be positive (got %g)", w, it->string, v);
    *out = (int)v;
    return MLM_OK;
}

static mlm_status get_num(const cJSON *it, const char *w, double *out, mlm_err *e) {
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble))
        return mlm_fail(e, MLM_EINVAL, "%s: field \"%s\" must be a number", w, it->string);
    *out = it->valuedouble;
    return MLM_OK;
}

static mlm_status get_str(const cJSON *it, const char *w, char *out, size_t cap, mlm_err *e) {
    if (!cJSON_IsString(it))
        return mlm_fail(e, MLM_EINVAL, "%s: field \"%s\" must be a string", w, it->string);
    if (strlen(it->valuestring) >= cap)
        return mlm_fail(e, MLM_EINVAL, "%s: field \"%s\" is longer than %zu characters", w, it->string, cap - 1);
    snprintf(out, cap, "%s", it->valuestring);
    return MLM_OK;
}

mlm_status mlm_config_from_json(mlm_config *c, const char *json, size_t len, const char *where, mlm_err *e) {
    const char *w = where ? where : "config";
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return mlm_fail(e, MLM_EFORMAT, "%s: not valid JSON", w);
    mlm_status st = MLM_OK;
    if (!cJSON_IsObject(root)) { st = mlm_fail(e, MLM_EFORMAT, "%s: expected a JSON object", w); goto done; }
    mlm_config_default(c);
    snprintf(c->name, sizeof c->name, "custom");
    int have_head_dim = 0, have_kv = 0, have_dff = 0, have_d = 0, have_h = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, root) {
        const char *k = it->string ? it->string : "";
        if (!strcmp(k, "name")) st = get_str(it, w, c->name, sizeof c->name, e);
        else if (!strcmp(k, "source")) st = get_str(it, w, c->source, sizeof c->source, e);
        else if (!strcmp(k, "d_model")) { st = get_int(it, w, &c->d_model, e); have_d = 1; }
        else if (!strcmp(k, "n_layers")) st = get_int(it, w, &c->n_layers, e);
        else if (!strcmp(k, "n_heads")) { st = get_int(it, w, &c->n_heads, e); have_h = 1; }
        else if (!strcmp(k, "n_kv_heads")) { st = get_int(it, w, &c->n_kv_heads, e); have_kv = 1; }
        else if (!strcmp(k, "head_dim")) { st = get_int(it, w, &c->head_dim, e); have_head_dim = 1; }
        else if (!strcmp(k, "d_ff")) { st = get_int(it, w, &c->d_ff, e); have_dff = 1; }
        else if (!strcmp(k, "vocab_size")) st = get_int(it, w, &c->vocab_size, e);
        else if (!strcmp(k, "max_seq_len")) st = get_int(it, w, &c->max_seq_len, e);
        else if (!strcmp(k, "rope_theta")) st = get_num(it, w, &c->rope_theta, e);
        else if (!strcmp(k, "rope_scaling")) st = get_num(it, w, &c->rope_scaling, e);
        else if (!strcmp(k, "norm_eps")) st = get_num(it, w, &c->norm_eps, e);
        else if (!strcmp(k, "sliding_window")) {
            if (cJSON_IsNumber(it) && it->valuedouble == 0) c->sliding_window = 0;
            else st = get_int(it, w, &c->sliding_window, e);
        } else if (!strcmp(k, "tied_embeddings")) {
            if (!cJSON_IsBool(it)) st = mlm_fail(e, MLM_EINVAL, "%s: field \"tied_embeddings\" must be true or false", w);
            else c->tied = cJSON_IsTrue(it);
        } else if (!strcmp(k, "norm")) {
            char s[16];
            st = get_str(it, w, s, sizeof s, e);
            if (!st) {
                if (!strcmp(s, "pre")) c->norm_pos = MLM_PRENORM;
                else if (!strcmp(s, "post")) c->norm_pos = MLM_POSTNORM;
                else st = mlm_fail(e, MLM_EINVAL, "%s: field \"norm\" must be \"pre\" or \"post\" (got \"%s\")", w, s);
            }
        } else if (!strcmp(k, "ffn")) {
            char s[16];
            st = get_str(it, w, s, sizeof s, e);
            if (!st) {
                if (!strcmp(s, "swiglu")) c->ffn = MLM_FFN_SWIGLU;
                else if (!strcmp(s, "relu")) c->ffn = MLM_FFN_RELU;
                else st = mlm_fail(e, MLM_EINVAL, "%s: field \"ffn\" must be \"swiglu\" or \"relu\" (got \"%s\")", w, s);
            }
        } else {
            st = mlm_fail(e, MLM_EINVAL, "%s: unknown field \"%s\"", w, k);
        }
        if (st) goto done;
    }
    if (!have_d) { st = mlm_fail(e, MLM_EINVAL, "%s: missing required field \"d_model\"", w); goto done; }
    if (!have_h) { st = mlm_fail(e, MLM_EINVAL, "%s: missing required field \"n_heads\"", w); goto done; }
    if (!have_kv) c->n_kv_heads = c->n_heads;
    if (!have_head_dim) {
        if (c->d_model % c->n_heads != 0) {
            st = mlm_fail(e, MLM_EINVAL, "%s: n_heads (%d) does not divide d_model (%d); give head_dim", w,
                          c->n_heads, c->d_model);
            goto done;
        }
        c->head_dim = c->d_model / c->n_heads;
    }
    if (!have_dff) c->d_ff = default_d_ff(c->d_model);
    st = mlm_config_validate(c, w, e);
done:
    cJSON_Delete(root);
    return st;
}

mlm_status mlm_config_load(mlm_config *c, const char *path, mlm_err *e) {
    char *buf;
    size_t len;
    mlm_status st = mlm_read_file(path, MLM_CONFIG_MAX_BYTES, &buf, &len, e);
    if (st) return st;
    char where[300];
    snprintf(where, sizeof where, "config '%s'", path);
    st = mlm_config_from_json(c, buf, len, where, e);
    free(buf);
    return st;
}

/* cJSON prints 15 digits when they are only approximately equal; 17 when needed, so that
 * save -> load gives the same double. */
static void add_exact(cJSON *o, const char *k, double v) {
    char buf[40];
    if (!isfinite(v)) { cJSON_AddNullToObject(o, k); return; }
    snprintf(buf, sizeof buf, "%.15g", v);
    if (strtod(buf, NULL) != v) snprintf(buf, sizeof buf, "%.17g", v);
    cJSON_AddItemToObject(o, k, cJSON_CreateRaw(buf));
}

char *mlm_config_to_json(const mlm_config *c) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "name", c->name);
    cJSON_AddNumberToObject(o, "d_model", c->d_model);
    cJSON_AddNumberToObject(o, "n_layers", c->n_layers);
    cJSON_AddNumberToObject(o, "n_heads", c->n_heads);
    cJSON_AddNumberToObject(o, "n_kv_heads", c->n_kv_heads);
    cJSON_AddNumberToObject(o, "head_dim", c->head_dim);
    cJSON_AddNumberToObject(o, "d_ff", c->d_ff);
    cJSON_AddNumberToObject(o, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(o, "max_seq_len", c->max_seq_len);
    add_exact(o, "rope_theta", c->rope_theta);
    if (c->rope_scaling != 0) add_exact(o, "rope_scaling", c->rope_scaling);
    add_exact(o, "norm_eps", c->norm_eps);
    cJSON_AddBoolToObject(o, "tied_embeddings", c->tied);
    cJSON_AddStringToObject(o, "norm", mlm_norm_pos_name(c->norm_pos));
    cJSON_AddStringToObject(o, "ffn", mlm_ffn_name(c->ffn));
    cJSON_AddNumberToObject(o, "sliding_window", c->sliding_window);
    if (c->source[0]) cJSON_AddStringToObject(o, "source", c->source);
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

mlm_status mlm_config_save(const mlm_config *c, const char *path, mlm_err *e) {
    char *s = mlm_config_to_json(c);
    if (!s) return mlm_fail(e, MLM_ENOMEM, "config '%s': out of memory", path);
    mlm_status st = mlm_write_file_atomic(path, s, strlen(s), e);
    free(s);
    return st;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

mlm_status mlm_config_resolve(mlm_config *c, const char *spec, mlm_err *e) {
    const mlm_config *p = mlm_preset_find(spec);
    if (p) { *c = *p; return MLM_OK; }
    struct stat sb;
    if (stat(spec, &sb) != 0)
        return mlm_fail(e, MLM_EINVAL, "model '%s': not a preset name and no such file (see `microlm models`)", spec);
    char path[4096];
    if (S_ISDIR(sb.st_mode)) {
        snprintf(path, sizeof path, "%s/config.json", spec);
        if (stat(path, &sb) != 0)
            return mlm_fail(e, MLM_EINVAL, "model directory '%s': no config.json in it", spec);
    } else if (ends_with(spec, ".safetensors")) {
        /* a Hugging Face weight file: its shape is in the config.json beside it */
        const char *slash = strrchr(spec, '/');
        int dl = slash ? (int)(slash - spec) : 1;
        snprintf(path, sizeof path, "%.*s/config.json", dl, slash ? spec : ".");
        if (stat(path, &sb) != 0)
            return mlm_fail(e, MLM_EINVAL, "model '%s': no config.json beside the safetensors file", spec);
    } else {
        snprintf(path, sizeof path, "%s", spec);
    }
    if (ends_with(path, ".json")) {
        char *buf;
        size_t len;
        mlm_status st = mlm_read_file(path, MLM_CONFIG_MAX_BYTES, &buf, &len, e);
        if (st) return st;
        char where[4200];
        snprintf(where, sizeof where, "config '%s'", path);
        /* A Hugging Face config names its width hidden_size; the project's names it d_model. */
        if (strstr(buf, "\"hidden_size\"") || strstr(buf, "\"model_type\"") || strstr(buf, "\"architectures\"")) st = mlm_config_from_hf_json(c, buf, len, where, e);
        else st = mlm_config_from_json(c, buf, len, where, e);
        free(buf);
        return st;
    }
    return mlm_llama2c_read_config(c, path, e);
}
