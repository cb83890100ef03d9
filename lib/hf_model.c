/* hf_model.c - Hugging Face model directories <-> mlm_model: config.json through
 * mlm_config_from_hf_json, weights from one or several memory-mapped safetensors files, the
 * rotate_half <-> adjacent row permutation of W_q and W_k, and the writer for the project's
 * own test and benchmark models. */
#include "hf_model.h"
#include "mmap_file.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_JSON_BYTES (64u << 20)
#define MAX_SHARDS 4096

/* ---- RoPE row permutation ---------------------------------------------------------------- */

void mlm_rope_permute_rows(mlm_real *dst, const mlm_real *src, int64_t H, int64_t hd, int64_t cols,
                           mlm_rope_layout from, mlm_rope_layout to) {
    int64_t half = hd / 2;
    for (int64_t h = 0; h < H; h++)
        for (int64_t r = 0; r < hd; r++) {
            int64_t s = r;
            if (from != to && r < 2 * half) {
                /* r indexes the destination layout; s is the same dimension in the source */
                if (to == MLM_ROPE_ADJACENT) s = (r % 2) * half + r / 2;    /* adjacent 2i+p <- half p*hd/2+i */
                else s = 2 * (r % half) + r / half;                          /* half p*hd/2+i <- adjacent 2i+p */
            }
            memcpy(dst + (h * hd + r) * cols, src + (h * hd + s) * cols, (size_t)cols * sizeof(mlm_real));
        }
}

mlm_status mlm_model_convert_rope(mlm_model *m, mlm_rope_layout from, mlm_rope_layout to, mlm_err *e) {
    if (from == to) return MLM_OK;
    const mlm_config *c = &m->cfg;
    int64_t d = c->d_model, hd = c->head_dim, qd = mlm_q_dim(c), kvd = mlm_kv_dim(c);
    mlm_real *tmp = malloc((size_t)(qd * d) * sizeof(mlm_real));
    if (!tmp) return mlm_fail(e, MLM_ENOMEM, "%s: out of memory", c->name);
    for (int l = 0; l < c->n_layers; l++) {
        mlm_real *wq = m->w.wq + (int64_t)l * qd * d, *wk = m->w.wk + (int64_t)l * kvd * d;
        mlm_rope_permute_rows(tmp, wq, c->n_heads, hd, d, from, to);
        memcpy(wq, tmp, (size_t)(qd * d) * sizeof(mlm_real));
        mlm_rope_permute_rows(tmp, wk, c->n_kv_heads, hd, d, from, to);
        memcpy(wk, tmp, (size_t)(kvd * d) * sizeof(mlm_real));
    }
    free(tmp);
    return MLM_OK;
}

/* ---- the expected tensors ------------------------------------------------------------------ */

typedef struct {
    char name[96];
    mlm_real *dst;
    int64_t rows, cols;   /* cols 0: a vector of rows elements */
    int64_t heads;        /* > 0: W_q / W_k rows, permuted per head */
    int found;
} want_t;

/* Fills w (capacity 3 + 9L) with the tensors cfg needs, pointing into m. Returns the count. */
static int expected(const mlm_model *m, want_t *w) {
    const mlm_config *c = &m->cfg;
    const mlm_params *p = &m->w;
    int64_t d = c->d_model, ff = c->d_ff, qd = mlm_q_dim(c), kvd = mlm_kv_dim(c), V = c->vocab_size;
    int n = 0;
#define ADD(dst_, r_, c_, h_, ...) do { want_t *x_ = &w[n++]; memset(x_, 0, sizeof *x_); \
        snprintf(x_->name, sizeof x_->name, __VA_ARGS__); x_->dst = (dst_); x_->rows = (r_); x_->cols = (c_); x_->heads = (h_); } while (0)
    ADD(p->tok_emb, V, d, 0, "model.embed_tokens.weight");
    for (int l = 0; l < c->n_layers; l++) {
        ADD(p->attn_norm + l * d, d, 0, 0, "model.layers.%d.input_layernorm.weight", l);
        ADD(p->wq + l * qd * d, qd, d, c->n_heads, "model.layers.%d.self_attn.q_proj.weight", l);
        ADD(p->wk + l * kvd * d, kvd, d, c->n_kv_heads, "model.layers.%d.self_attn.k_proj.weight", l);
        ADD(p->wv + l * kvd * d, kvd, d, 0, "model.layers.%d.self_attn.v_proj.weight", l);
        ADD(p->wo + l * d * qd, d, qd, 0, "model.layers.%d.self_attn.o_proj.weight", l);
        ADD(p->ffn_norm + l * d, d, 0, 0, "model.layers.%d.post_attention_layernorm.weight", l);
        ADD(p->w_gate + l * ff * d, ff, d, 0, "model.layers.%d.mlp.gate_proj.weight", l);
        ADD(p->w_up + l * ff * d, ff, d, 0, "model.layers.%d.mlp.up_proj.weight", l);
        ADD(p->w_down + l * d * ff, d, ff, 0, "model.layers.%d.mlp.down_proj.weight", l);
    }
    ADD(p->final_norm, d, 0, 0, "model.norm.weight");
    if (!c->tied) ADD(p->lm_head, V, d, 0, "lm_head.weight");
#undef ADD
    return n;
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

static int is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

int mlm_is_hf_model(const char *path) {
    struct stat sb;
    if (stat(path, &sb) != 0) return 0;
    if (S_ISREG(sb.st_mode)) return ends_with(path, ".safetensors");
    if (!S_ISDIR(sb.st_mode)) return 0;
    char p[4200];
    snprintf(p, sizeof p, "%s/config.json", path);
    if (!is_file(p)) return 0;
    snprintf(p, sizeof p, "%s/model.safetensors", path);
    if (is_file(p)) return 1;
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", path);
    return is_file(p);
}

/* Total bytes of a model with cfg's layout (without allocating it). */
static uint64_t model_bytes(const mlm_config *c) {
    uint64_t d = (uint64_t)c->d_model, L = (uint64_t)c->n_layers, V = (uint64_t)c->vocab_size, ff = (uint64_t)c->d_ff,
             qd = (uint64_t)mlm_q_dim(c), kvd = (uint64_t)mlm_kv_dim(c);
    double n = (double)V * d + (double)L * (2.0 * d + 2.0 * qd * d + 2.0 * kvd * d + 3.0 * ff * d) + d;
    if (!c->tied) n += (double)V * d;
    n *= sizeof(mlm_real);
    return n > 1.8e19 ? UINT64_MAX : (uint64_t)n;
}

/* A shard file name from the index: a plain file name inside the model directory. */
static int safe_shard_name(const char *s) {
    if (!s[0] || !strcmp(s, ".") || !strcmp(s, "..")) return 0;
    for (const char *p = s; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20) return 0;
    return strlen(s) < 256;
}

typedef struct {
    int n_shards;
    char **shard_names;   /* (n_shards) owned */
    mlm_st_file *shards;  /* (n_shards) */
    cJSON *index;         /* the parsed index JSON, or NULL */
    const cJSON *weight_map;
} weights_t;

static void weights_free(weights_t *w) {
    for (int i = 0; i < w->n_shards; i++) {
        mlm_st_close(&w->shards[i]);
        free(w->shard_names[i]);
    }
    free(w->shards);
    free(w->shard_names);
    cJSON_Delete(w->index);
    memset(w, 0, sizeof *w);
}

static mlm_status open_shard(weights_t *w, const char *dir, const char *name, mlm_err *e) {
    char p[4400];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    w->shard_names[w->n_shards] = strdup(name);
    if (!w->shard_names[w->n_shards]) return mlm_fail(e, MLM_ENOMEM, "model '%s': out of memory", dir);
    mlm_status st = mlm_st_open(&w->shards[w->n_shards], p, e);
    if (st) { free(w->shard_names[w->n_shards]); w->shard_names[w->n_shards] = NULL; return st; }
    w->n_shards++;
    return MLM_OK;
}

/* Opens the weights: one file, or the index and every shard it names. */
static mlm_status weights_open(weights_t *w, const char *dir, const char *single, mlm_err *e) {
    memset(w, 0, sizeof *w);
    char ip[4200];
    snprintf(ip, sizeof ip, "%s/model.safetensors.index.json", dir);
    if (single || !is_file(ip)) {
        char sp[4200];
        snprintf(sp, sizeof sp, "%s/model.safetensors", dir);
        if (!single && !is_file(sp))
            return mlm_fail(e, MLM_EIO, "model '%s': neither model.safetensors nor model.safetensors.index.json in it", dir);
        w->shards = calloc(1, sizeof *w->shards);
        w->shard_names = calloc(1, sizeof *w->shard_names);
        if (!w->shards || !w->shard_names) { weights_free(w); return mlm_fail(e, MLM_ENOMEM, "model '%s': out of memory", dir); }
        const char *base = single ? strrchr(single, '/') : NULL;
        mlm_status st = open_shard(w, dir, single ? (base ? base + 1 : single) : "model.safetensors", e);
        if (st) weights_free(w);
        return st;
    }
    char *buf;
    size_t len;
    mlm_status st = mlm_read_file(ip, MAX_JSON_BYTES, &buf, &len, e);
    if (st) return st;
    w->index = cJSON_ParseWithLength(buf, len);
    free(buf);
    const cJSON *wm = w->index ? cJSON_GetObjectItemCaseSensitive(w->index, "weight_map") : NULL;
    if (!cJSON_IsObject(wm)) {
        weights_free(w);
        return mlm_fail(e, MLM_EFORMAT, "index '%s': not a JSON object with a \"weight_map\" object", ip);
    }
    w->weight_map = wm;
    int n = 0;
    for (const cJSON *it = wm->child; it; it = it->next) {
        if (!cJSON_IsString(it) || !it->string) {
            st = mlm_fail(e, MLM_EFORMAT, "index '%s': weight_map value of '%.80s' is not a file name", ip, it->string ? it->string : "");
            goto fail;
        }
        if (!safe_shard_name(it->valuestring)) {
            st = mlm_fail(e, MLM_EFORMAT, "index '%s': shard name '%.80s' is not a plain file name inside the model directory", ip,
                          it->valuestring);
            goto fail;
        }
        for (const cJSON *jt = wm->child; jt != it; jt = jt->next)
            if (!strcmp(jt->string, it->string)) {
                st = mlm_fail(e, MLM_EFORMAT, "index '%s': tensor '%.80s' is listed more than once", ip, it->string);
                goto fail;
            }
        n++;
    }
    if (n == 0) { st = mlm_fail(e, MLM_EFORMAT, "index '%s': weight_map is empty", ip); goto fail; }
    w->shards = calloc((size_t)n, sizeof *w->shards);
    w->shard_names = calloc((size_t)n, sizeof *w->shard_names);
    if (!w->shards || !w->shard_names) { st = mlm_fail(e, MLM_ENOMEM, "model '%s': out of memory", dir); goto fail; }
    for (const cJSON *it = wm->child; it; it = it->next) {
        int seen = 0;
        for (int i = 0; i < w->n_shards && !seen; i++) seen = !strcmp(w->shard_names[i], it->valuestring);
        if (seen) continue;
        if (w->n_shards >= MAX_SHARDS) { st = mlm_fail(e, MLM_EFORMAT, "index '%s': more than %d shards", ip, MAX_SHARDS); goto fail; }
        if ((st = open_shard(w, dir, it->valuestring, e))) goto fail;
    }
    return MLM_OK;
fail:
    weights_free(w);
    return st;
}

/* The tensor called name: in the shard the index names, or in the single file. */
static const mlm_st_tensor *weights_find(const weights_t *w, const char *name, const char **shard, mlm_err *e,
                                         mlm_status *st) {
    *st = MLM_OK;
    if (!w->weight_map) {
        *shard = w->shard_names[0];
        return mlm_st_find(&w->shards[0], name);
    }
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(w->weight_map, name);
    if (!it) return NULL;
    *shard = it->valuestring;
    for (int i = 0; i < w->n_shards; i++)
        if (!strcmp(w->shard_names[i], it->valuestring)) {
            const mlm_st_tensor *t = mlm_st_find(&w->shards[i], name);
            if (!t) *st = mlm_fail(e, MLM_EFORMAT, "%s: the index places tensor '%.80s' here but the file does not hold it",
                                   w->shards[i].where, name);
            return t;
        }
    return NULL;
}

static int is_ignored(const char *name) { return ends_with(name, "rotary_emb.inv_freq"); }

static mlm_status load_weights(mlm_model *m, const weights_t *w, const char *dir, mlm_rope_layout layout, mlm_err *e) {
    const mlm_config *c = &m->cfg;
    int cap = 3 + 9 * c->n_layers, n;
    want_t *want = calloc((size_t)cap, sizeof *want);
    if (!want) return mlm_fail(e, MLM_ENOMEM, "model '%s': out of memory", dir);
    n = expected(m, want);
    mlm_status st = MLM_OK;
    for (int i = 0; i < n && !st; i++) {
        want_t *x = &want[i];
        const char *shard = NULL;
        const mlm_st_tensor *t = weights_find(w, x->name, &shard, e, &st);
        if (st) break;
        if (!t) {
            if (!strcmp(x->name, "lm_head.weight"))
                st = mlm_fail(e, MLM_EFORMAT, "model '%s': no lm_head.weight, and config.json does not set tie_word_embeddings", dir);
            else st = mlm_fail(e, MLM_EFORMAT, "model '%s': tensor '%s' is missing", dir, x->name);
            break;
        }
        x->found = 1;
        int shape_ok = x->cols ? (t->ndim == 2 && t->shape[0] == x->rows && t->shape[1] == x->cols)
                               : (t->ndim == 1 && t->shape[0] == x->rows);
        if (!shape_ok) {
            char got[96] = "(";
            for (int k = 0; k < t->ndim; k++)
                snprintf(got + strlen(got), sizeof got - strlen(got), "%s%lld", k ? ", " : "", (long long)t->shape[k]);
            snprintf(got + strlen(got), sizeof got - strlen(got), ")");
            if (x->cols)
                st = mlm_fail(e, MLM_EFORMAT, "model '%s': tensor '%s' in %s has shape %s but config.json implies (%lld, %lld)", dir,
                              x->name, shard, got, (long long)x->rows, (long long)x->cols);
            else
                st = mlm_fail(e, MLM_EFORMAT, "model '%s': tensor '%s' in %s has shape %s but config.json implies (%lld)", dir,
                              x->name, shard, got, (long long)x->rows);
            break;
        }
        if (t->dtype != MLM_ST_F32 && t->dtype != MLM_ST_F16 && t->dtype != MLM_ST_BF16) {
            st = mlm_fail(e, MLM_EFORMAT, "model '%s': tensor '%s' has dtype %s; only F32, F16 and BF16 are supported", dir,
                          x->name, mlm_st_dtype_name(t->dtype));
            break;
        }
        int64_t cols = x->cols ? x->cols : 1;
        if (x->heads > 0 && layout == MLM_ROPE_ADJACENT) {
            /* HF stores rotate_half rows; read each row into its adjacent-layout place */
            int64_t hd = x->rows / x->heads, half = hd / 2;
            for (int64_t r = 0; r < x->rows && !st; r++) {
                int64_t h = r / hd, j = r % hd, s = j < 2 * half ? (j % 2) * half + j / 2 : j;
                st = mlm_st_read(x->dst + r * cols, t, (uint64_t)((h * hd + s) * cols), (uint64_t)cols, e);
            }
        } else {
            st = mlm_st_read(x->dst, t, 0, (uint64_t)(x->rows * cols), e);
        }
    }
    /* every tensor in the files must be one the architecture uses */
    for (int s = 0; s < w->n_shards && !st; s++)
        for (int i = 0; i < w->shards[s].n && !st; i++) {
            const char *nm = w->shards[s].tensors[i].name;
            if (is_ignored(nm)) continue;
            if (w->weight_map) {
                const cJSON *it = cJSON_GetObjectItemCaseSensitive(w->weight_map, nm);
                if (it && strcmp(it->valuestring, w->shard_names[s])) continue;  /* the index places it elsewhere */
            }
            int known = 0;
            for (int k = 0; k < n && !known; k++) known = !strcmp(want[k].name, nm);
            if (!known && c->tied && !strcmp(nm, "lm_head.weight")) known = 1;   /* a tied copy: unused */
            if (!known)
                st = mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' is not a weight of the Llama architecture with this config",
                              w->shards[s].where, nm);
        }
    free(want);
    if (st) return st;
    for (int64_t i = 0; i < m->n_params; i++)
        if (!isfinite((double)m->mem[i])) {
            const char *which = "?";
            for (int k = 0; k < m->n_tensors; k++)
                if (i >= m->tensors[k].offset && i < m->tensors[k].offset + m->tensors[k].numel) which = m->tensors[k].name;
            return mlm_fail(e, MLM_EFORMAT, "model '%s': weight %s holds NaN or Inf", dir, which);
        }
    return MLM_OK;
}

mlm_model *mlm_hf_load(const char *path, const mlm_hf_load_opts *o, mlm_err *e) {
    mlm_rope_layout layout = o ? o->rope_layout : MLM_ROPE_ADJACENT;
    struct stat sb;
    if (stat(path, &sb) != 0) { mlm_fail(e, MLM_EIO, "model '%s': no such file or directory", path); return NULL; }
    char dir[4096];
    const char *single = NULL;
    if (S_ISDIR(sb.st_mode)) snprintf(dir, sizeof dir, "%s", path);
    else {
        single = path;
        const char *sl = strrchr(path, '/');
        if (sl) snprintf(dir, sizeof dir, "%.*s", (int)(sl - path), path);
        else snprintf(dir, sizeof dir, ".");
        if (!dir[0]) snprintf(dir, sizeof dir, "/");
    }
    char cp[4200];
    snprintf(cp, sizeof cp, "%s/config.json", dir);
    if (!is_file(cp)) { mlm_fail(e, MLM_EIO, "model '%s': no config.json in '%s' to give the shape", path, dir); return NULL; }
    char *buf;
    size_t len;
    if (mlm_read_file(cp, 1u << 20, &buf, &len, e)) return NULL;
    mlm_config c;
    char where[4300];
    snprintf(where, sizeof where, "config '%s'", cp);
    mlm_status st = mlm_config_from_hf_json(&c, buf, len, where, e);
    free(buf);
    if (st) return NULL;
    if (!strcmp(c.name, "hf-config")) {
        const char *b = strrchr(dir, '/');
        snprintf(c.name, sizeof c.name, "%.63s", b && b[1] ? b + 1 : dir);
    }
    char what[4200];
    snprintf(what, sizeof what, "model '%s'", path);
    if (mlm_check_memory(model_bytes(&c), what, "its weights", e)) return NULL;
    weights_t w;
    if (weights_open(&w, dir, single, e)) return NULL;
    mlm_model *m = mlm_model_new(&c, e);
    if (!m) { weights_free(&w); return NULL; }
    st = load_weights(m, &w, dir, layout, e);
    weights_free(&w);
    if (st) { mlm_model_free(m); return NULL; }
    return m;
}

/* ---- writing ------------------------------------------------------------------------------- */

static mlm_status save_config(const mlm_config *c, const char *dir, mlm_st_dtype dt, mlm_err *e) {
    cJSON *r = cJSON_CreateObject();
    cJSON *arch = cJSON_AddArrayToObject(r, "architectures");
    cJSON_AddItemToArray(arch, cJSON_CreateString("LlamaForCausalLM"));
    cJSON_AddStringToObject(r, "model_type", "llama");
    cJSON_AddStringToObject(r, "_name_or_path", c->name);
    cJSON_AddStringToObject(r, "hidden_act", "silu");
    cJSON_AddNumberToObject(r, "hidden_size", c->d_model);
    cJSON_AddNumberToObject(r, "intermediate_size", c->d_ff);
    cJSON_AddNumberToObject(r, "num_hidden_layers", c->n_layers);
    cJSON_AddNumberToObject(r, "num_attention_heads", c->n_heads);
    cJSON_AddNumberToObject(r, "num_key_value_heads", c->n_kv_heads);
    cJSON_AddNumberToObject(r, "head_dim", c->head_dim);
    cJSON_AddNumberToObject(r, "vocab_size", c->vocab_size);
    cJSON_AddNumberToObject(r, "max_position_embeddings", c->max_seq_len);
    cJSON_AddNumberToObject(r, "rope_theta", c->rope_theta);
    cJSON_AddNumberToObject(r, "rms_norm_eps", c->norm_eps);
    cJSON_AddBoolToObject(r, "tie_word_embeddings", c->tied);
    cJSON_AddBoolToObject(r, "attention_bias", 0);
    cJSON_AddBoolToObject(r, "mlp_bias", 0);
    if (c->sliding_window > 0) cJSON_AddNumberToObject(r, "sliding_window", c->sliding_window);
    cJSON_AddStringToObject(r, "torch_dtype", dt == MLM_ST_F32 ? "float32" : dt == MLM_ST_F16 ? "float16" : "bfloat16");
    char *js = cJSON_Print(r);
    cJSON_Delete(r);
    if (!js) return mlm_fail(e, MLM_ENOMEM, "config: out of memory");
    char p[4200];
    snprintf(p, sizeof p, "%s/config.json", dir);
    mlm_status st = mlm_write_file_atomic(p, js, strlen(js), e);
    free(js);
    return st;
}

mlm_status mlm_hf_save(const mlm_model *m, const char *dir, const mlm_hf_save_opts *o, mlm_err *e) {
    mlm_hf_save_opts def = {MLM_ST_F32, 1, MLM_ROPE_ADJACENT};
    if (!o) o = &def;
    const mlm_config *c = &m->cfg;
    if (c->norm_pos != MLM_PRENORM || c->ffn != MLM_FFN_SWIGLU)
        return mlm_fail(e, MLM_EINVAL, "model '%s': the Llama architecture has pre-norm blocks and a SwiGLU FFN", dir);
    int cap = 3 + 9 * c->n_layers;
    want_t *want = calloc((size_t)cap, sizeof *want);
    mlm_st_entry *ents = calloc((size_t)cap, sizeof *ents);
    int64_t d = c->d_model, qd = mlm_q_dim(c);
    mlm_real *perm = malloc((size_t)(qd * d) * (size_t)c->n_layers * 2 * sizeof(mlm_real));
    mlm_status st = MLM_OK;
    if (!want || !ents || !perm) { st = mlm_fail(e, MLM_ENOMEM, "model '%s': out of memory", dir); goto done; }
    int n = expected(m, want);
    mlm_real *pp = perm;
    for (int i = 0; i < n; i++) {
        want_t *x = &want[i];
        ents[i].name = x->name;
        ents[i].data = x->dst;
        ents[i].ndim = x->cols ? 2 : 1;
        ents[i].shape[0] = x->rows;
        ents[i].shape[1] = x->cols;
        if (x->heads > 0 && o->rope_layout != MLM_ROPE_HALF) {
            mlm_rope_permute_rows(pp, x->dst, x->heads, x->rows / x->heads, x->cols, o->rope_layout, MLM_ROPE_HALF);
            ents[i].data = pp;
            pp += x->rows * x->cols;
        }
    }
    if ((st = save_config(c, dir, o->dtype, e))) goto done;
    char p[4200];
    if (o->n_shards <= 1) {
        snprintf(p, sizeof p, "%s/model.safetensors", dir);
        st = mlm_st_save(p, ents, n, o->dtype, e);
        goto done;
    }
    int ns = o->n_shards < n ? o->n_shards : n;
    cJSON *idx = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(idx, "metadata");
    cJSON_AddNumberToObject(meta, "total_size", (double)m->n_params * (double)mlm_st_dtype_size(o->dtype));
    cJSON *wm = cJSON_AddObjectToObject(idx, "weight_map");
    for (int s = 0; s < ns && !st; s++) {
        int lo = (int)((int64_t)n * s / ns), hi = (int)((int64_t)n * (s + 1) / ns);
        char name[96];
        snprintf(name, sizeof name, "model-%05d-of-%05d.safetensors", s + 1, ns);
        snprintf(p, sizeof p, "%s/%s", dir, name);
        st = mlm_st_save(p, ents + lo, hi - lo, o->dtype, e);
        for (int i = lo; i < hi; i++) cJSON_AddStringToObject(wm, ents[i].name, name);
    }
    char *js = st ? NULL : cJSON_Print(idx);
    cJSON_Delete(idx);
    if (!st) {
        if (!js) st = mlm_fail(e, MLM_ENOMEM, "model '%s': out of memory", dir);
        else {
            snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
            st = mlm_write_file_atomic(p, js, strlen(js), e);
        }
    }
    free(js);
done:
    free(perm);
    free(ents);
    free(want);
    return st;
}
