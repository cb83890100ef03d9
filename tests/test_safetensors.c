/* test_safetensors.c - Hugging Face safetensors and model directories: F32 / F16 / BF16,
 * single and sharded files, tied and untied, the two RoPE layouts agreeing within 1e-6,
 * llama2.c through mlm_model_open, and every malformed header, index or tensor a clear
 * one-line error naming the file. */
#include "check.h"
#include "checkpoint.h"
#include "fixtures.h"
#include "hf_model.h"
#include "open.h"
#include "safetensors.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { V = 40, T = 7 };
static const int toks[T] = {1, 5, 9, 39, 0, 17, 5};

static void conversions(void) {
    CHECK(mlm_f16_to_f32(0x3c00) == 1.0f && mlm_f16_to_f32(0xc000) == -2.0f && mlm_f16_to_f32(0x7bff) == 65504.0f,
          "f16 -> f32: 1, -2, 65504");
    CHECK(mlm_f16_to_f32(0x0001) == ldexpf(1.0f, -24) && mlm_f16_to_f32(0x03ff) == 1023 * ldexpf(1.0f, -24),
          "f16 -> f32: subnormals");
    CHECK(isinf(mlm_f16_to_f32(0x7c00)) && isnan(mlm_f16_to_f32(0x7e00)) && signbit(mlm_f16_to_f32(0x8000)),
          "f16 -> f32: Inf, NaN, -0");
    CHECK(mlm_f32_to_f16(1.0f) == 0x3c00 && mlm_f32_to_f16(65504.0f) == 0x7bff && mlm_f32_to_f16(65520.0f) == 0x7c00 &&
          mlm_f32_to_f16(ldexpf(1.0f, -24)) == 0x0001 && mlm_f32_to_f16(ldexpf(1.0f, -26)) == 0,
          "f32 -> f16: exact values, overflow to Inf, underflow to 0");
    /* 1 + 2^-11 is halfway between 1 and 1 + 2^-10: ties to even (1) */
    CHECK(mlm_f32_to_f16(1.0f + ldexpf(1.0f, -11)) == 0x3c00 && mlm_f32_to_f16(1.0f + 3 * ldexpf(1.0f, -11)) == 0x3c02,
          "f32 -> f16 rounds to nearest even");
    CHECK(mlm_f32_to_bf16(1.0f) == 0x3f80 && mlm_bf16_to_f32(0x3f80) == 1.0f && mlm_bf16_to_f32(0xc040) == -3.0f,
          "bf16 <-> f32: 1, -3");
    CHECK(mlm_f32_to_bf16(1.0f + ldexpf(1.0f, -8)) == 0x3f80 && mlm_f32_to_bf16(1.0f + 3 * ldexpf(1.0f, -8)) == 0x3f82,
          "f32 -> bf16 rounds to nearest even");
    int all = 1;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = mlm_f16_to_f32((uint16_t)h);
        if (!isnan(f) && mlm_f32_to_f16(f) != h) all = 0;
    }
    CHECK(all, "every non-NaN f16 survives f16 -> f32 -> f16");
}

/* The model's weights rounded through a 16-bit format, as a loaded file would hold them. */
static mlm_model *rounded(const mlm_model *m, mlm_st_dtype dt) {
    mlm_err e;
    mlm_model *r = mlm_model_new(&m->cfg, &e);
    for (int64_t i = 0; i < m->n_params; i++) {
        float f = (float)m->mem[i];
        r->mem[i] = dt == MLM_ST_F16 ? mlm_f16_to_f32(mlm_f32_to_f16(f)) : dt == MLM_ST_BF16 ? mlm_bf16_to_f32(mlm_f32_to_bf16(f)) : f;
    }
    return r;
}

static void formats(int tied, int kv, mlm_st_dtype dt, int shards) {
    char dir[600], name[80], what[200];
    snprintf(name, sizeof name, "hf-%s-%d-%s-%d", tied ? "tied" : "untied", kv, mlm_st_dtype_name(dt), shards);
    fx_dir(dir, sizeof dir, name);
    mlm_model *m = fx_tiny_model(tied, kv, V, 7);
    mlm_err e;
    mlm_hf_save_opts so = {dt, shards, MLM_ROPE_ADJACENT};
    snprintf(what, sizeof what, "%s: saves", name);
    CHECK(mlm_hf_save(m, dir, &so, &e) == MLM_OK, what);
    mlm_model *l = mlm_model_open(dir, NULL, &e);
    snprintf(what, sizeof what, "%s: mlm_model_open loads the directory", name);
    CHECK(l != NULL, what);
    if (!l) { printf("  %s\n", e.msg); mlm_model_free(m); return; }
    CHECK(l->cfg.tied == tied && l->cfg.n_kv_heads == kv && l->cfg.d_ff == 32 && l->cfg.vocab_size == V &&
              l->cfg.n_layers == 2 && l->cfg.head_dim == 4,
          "the shape comes back from config.json");
    mlm_model *ref = rounded(m, dt);
    mlm_real a[T * V], b[T * V], c[T * V];
    fx_logits(ref, toks, T, MLM_ROPE_ADJACENT, a);
    fx_logits(l, toks, T, MLM_ROPE_ADJACENT, b);
    fx_logits(m, toks, T, MLM_ROPE_ADJACENT, c);
    double worst = fx_max_diff(a, b, T * V);
    if (dt == MLM_ST_F32) {
        snprintf(what, sizeof what, "%s: same weights as the in-memory model", name);
        CHECK(fx_max_diff(l->mem, m->mem, m->n_params) <= (sizeof(mlm_real) == 4 ? 0 : 1e-7), what);
    }
    snprintf(what, sizeof what, "%s: logits equal the in-memory model's (weights rounded to %s)", name, mlm_st_dtype_name(dt));
    CHECK_NEAR(worst, 0, 1e-6, what);
    double tol = dt == MLM_ST_F32 ? 1e-6 : dt == MLM_ST_F16 ? 5e-3 : 5e-2;
    snprintf(what, sizeof what, "%s: logits within %s rounding of the unrounded model's", name, mlm_st_dtype_name(dt));
    CHECK_NEAR(fx_max_diff(b, c, T * V), 0, tol, what);
    printf("  %s: max |logit diff| vs unrounded model %.3g\n", name, fx_max_diff(b, c, T * V));
    mlm_model_free(ref);
    mlm_model_free(l);
    mlm_model_free(m);
}

static void rope_layouts(void) {
    /* the permutation on a head of 4: adjacent rows (0,1,2,3) are half rows (0,2,1,3) */
    mlm_real src[8] = {0, 0, 1, 1, 2, 2, 3, 3}, dst[8], back[8];
    mlm_rope_permute_rows(dst, src, 1, 4, 2, MLM_ROPE_HALF, MLM_ROPE_ADJACENT);
    CHECK(dst[0] == 0 && dst[2] == 2 && dst[4] == 1 && dst[6] == 3 && dst[7] == 3, "half -> adjacent: rows (0,2,1,3)");
    mlm_rope_permute_rows(back, dst, 1, 4, 2, MLM_ROPE_ADJACENT, MLM_ROPE_HALF);
    CHECK(memcmp(back, src, sizeof src) == 0, "adjacent -> half undoes it");
    /* the same weights in either layout give the same logits */
    mlm_model *m = fx_tiny_model(0, 2, V, 11);
    mlm_err e;
    mlm_real a[T * V], b[T * V];
    fx_logits(m, toks, T, MLM_ROPE_ADJACENT, a);
    mlm_model_convert_rope(m, MLM_ROPE_ADJACENT, MLM_ROPE_HALF, &e);
    fx_logits(m, toks, T, MLM_ROPE_HALF, b);
    CHECK_NEAR(fx_max_diff(a, b, T * V), 0, 1e-6, "in memory: permuted rows + rotate_half RoPE = adjacent RoPE (1e-6)");
    fx_logits(m, toks, T, MLM_ROPE_ADJACENT, b);
    CHECK(fx_max_diff(a, b, T * V) > 1e-3, "without the matching RoPE the permuted model differs (the test has teeth)");
    mlm_model_convert_rope(m, MLM_ROPE_HALF, MLM_ROPE_ADJACENT, &e);
    /* from files: loaded kept as HF stores it, run with rotate_half */
    char dir[600];
    fx_dir(dir, sizeof dir, "hf-rope");
    mlm_hf_save(m, dir, NULL, &e);
    mlm_hf_load_opts lo = {MLM_ROPE_HALF};
    mlm_model *h = mlm_hf_load(dir, &lo, &e);
    CHECK(h != NULL, "HF directory loads in the rotate_half layout");
    if (h) {
        fx_logits(h, toks, T, MLM_ROPE_HALF, b);
        CHECK_NEAR(fx_max_diff(a, b, T * V), 0, 1e-6, "file kept in HF layout + rotate_half = in-memory adjacent model (1e-6)");
        /* the KV cache agrees too */
        mlm_kv_cache *kv = mlm_kv_cache_new(&h->cfg, T, &e);
        mlm_fwd_opts fo = {0};
        fo.rope_layout = MLM_ROPE_HALF;
        mlm_real lg[V];
        double w = 0;
        for (int t = 0; t < T; t++) {
            mlm_decode_step(h, kv, toks[t], t, lg, &fo, NULL, &e);
            w = fmax(w, fx_max_diff(lg, a + t * V, V));
        }
        CHECK_NEAR(w, 0, 1e-5, "KV-cache decoding in the HF layout matches the full pass");
        mlm_kv_cache_free(kv);
    }
    mlm_model_free(h);
    mlm_model_free(m);
}

static void llama2c(void) {
    mlm_model *m = fx_tiny_model(1, 4, V, 3);
    char p[600];
    fx_path(p, sizeof p, "tiny.bin");
    mlm_err e;
    CHECK(mlm_llama2c_save(m, p, &e) == MLM_OK, "llama2.c checkpoint saves");
    mlm_model *l = mlm_model_open(p, NULL, &e);
    CHECK(l != NULL, "mlm_model_open loads it");
    if (l) {
        mlm_real a[T * V], b[T * V];
        fx_logits(m, toks, T, MLM_ROPE_ADJACENT, a);
        fx_logits(l, toks, T, MLM_ROPE_ADJACENT, b);
        CHECK_NEAR(fx_max_diff(a, b, T * V), 0, sizeof(mlm_real) == 4 ? 0 : 1e-6, "llama2.c: same logits as the in-memory model");
    }
    mlm_model_free(l);
    /* the same weights as an HF single .safetensors file given directly */
    char dir[600], f[700];
    fx_dir(dir, sizeof dir, "hf-file");
    mlm_hf_save(m, dir, NULL, &e);
    snprintf(f, sizeof f, "%s/model.safetensors", dir);
    CHECK(mlm_spec_has_weights(f) && mlm_spec_has_weights(dir), "a .safetensors file and an HF directory count as weights");
    l = mlm_model_open(f, NULL, &e);
    CHECK(l && fx_max_diff(l->mem, m->mem, m->n_params) <= (sizeof(mlm_real) == 4 ? 0 : 1e-7),
          "a .safetensors path loads with config.json from its directory");
    mlm_model_free(l);
    mlm_model_free(m);
}

/* ---- malformed files ---- */

static unsigned char *image(const char *header, const unsigned char *data, size_t dlen, size_t *len) {
    size_t hl = strlen(header);
    unsigned char *b = malloc(8 + hl + dlen + 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(b + 8, header, hl);
    if (dlen) memcpy(b + 8 + hl, data, dlen);
    *len = 8 + hl + dlen;
    return b;
}

static void bad_header(const char *header, size_t dlen, const char *needle, const char *what) {
    unsigned char data[64] = {0};
    size_t len;
    unsigned char *b = image(header, data, dlen, &len);
    mlm_st_file f;
    mlm_err e = {{0}};
    mlm_status st = mlm_st_parse(&f, b, len, "safetensors 'x.safetensors'", &e);
    int ok = st != MLM_OK && strstr(e.msg, needle) && strstr(e.msg, "x.safetensors") && !strchr(e.msg, '\n') && f.n == 0;
    if (!ok) printf("  status %d, message: %s\n", st, e.msg);
    CHECK(ok, what);
    free(b);
}

static void malformed(void) {
    unsigned char data[64] = {0};
    size_t len;
    unsigned char *b = image("{\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},\"__metadata__\":{\"format\":\"pt\"}}",
                             data, 24, &len);
    mlm_st_file f;
    mlm_err e;
    CHECK(mlm_st_parse(&f, b, len, "ok", &e) == MLM_OK && f.n == 1 && f.tensors[0].numel == 6 && f.tensors[0].ndim == 2,
          "a well-formed image parses");
    mlm_st_close(&f);
    mlm_status st = mlm_st_parse(&f, b, 5, "safetensors 'x.safetensors'", &e);
    CHECK(st == MLM_EFORMAT && strstr(e.msg, "8-byte"), "shorter than 8 bytes");
    int all = 1;
    for (size_t cut = 0; cut < len; cut++) all &= mlm_st_parse(&f, b, cut, "cut", &e) != MLM_OK;
    CHECK(all, "every truncation of a good image is an error");
    free(b);
    b = image("{}", data, 0, &len);
    b[0] = 0xff; b[7] = 0x7f;
    CHECK(mlm_st_parse(&f, b, len, "x.safetensors", &e) == MLM_EFORMAT && strstr(e.msg, "header length"),
          "header length beyond the file");
    free(b);
    bad_header("{\"a\":", 0, "JSON", "header that is not JSON");
    bad_header("[1,2]", 0, "JSON object", "header that is a JSON array");
    bad_header("{\"a\":{\"dtype\":\"F33\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "unknown dtype", "unknown dtype");
    bad_header("{\"a\":{\"dtype\":7,\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "dtype", "dtype not a string");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4, "shape[0]", "negative dimension");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1.5],\"data_offsets\":[0,4]}}", 4, "shape[0]", "fractional dimension");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4],\"data_offsets\":[0,4]}}", 4, "overflows",
               "shape product overflow");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "dimensions",
               "too many dimensions");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 4, "beyond", "offsets beyond the data");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,0]}}", 4, "begin", "begin after end");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,4]}}", 8, "needs 8", "size does not match the shape");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4, "data_offsets", "one offset");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               16, "overlap", "overlapping tensors");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               8, "more than once", "a name twice");
    bad_header("{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, "data_offsets", "missing offsets");
    bad_header("{\"a\":[1]}", 0, "not a JSON object", "tensor entry not an object");
    bad_header("{\"__metadata__\":{\"x\":1}}", 0, "not a string", "metadata value not a string");
    bad_header("{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, "empty name", "empty tensor name");
}

static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "w");
    if (f) { fputs(s, f); fclose(f); }
}

/* Replaces the first `from` in the file at path by `to`; 0 when found. */
static int replace_in_file(const char *path, const char *from, const char *to) {
    char *buf;
    size_t n;
    mlm_err e;
    if (mlm_read_file(path, 1 << 20, &buf, &n, &e)) return -1;
    char *q = strstr(buf, from);
    if (q) {
        FILE *f = fopen(path, "w");
        if (f) { fwrite(buf, 1, (size_t)(q - buf), f); fputs(to, f); fputs(q + strlen(from), f); fclose(f); }
    }
    free(buf);
    return q ? 0 : -1;
}

static void bad_model(const char *dir, const char *needle, const char *what) {
    mlm_err e = {{0}};
    mlm_model *m = mlm_model_open(dir, NULL, &e);
    int ok = !m && strstr(e.msg, needle) && !strchr(e.msg, '\n');
    if (!ok) printf("  message: %s\n", e.msg);
    CHECK(ok, what);
    mlm_model_free(m);
}

static void bad_models(void) {
    char dir[600], p[700];
    mlm_err e;
    mlm_model *m = fx_tiny_model(0, 2, V, 5);
    /* shard names leaving the directory */
    fx_dir(dir, sizeof dir, "hf-escape");
    mlm_hf_save_opts so = {MLM_ST_F32, 2, MLM_ROPE_ADJACENT};
    mlm_hf_save(m, dir, &so, &e);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    CHECK(replace_in_file(p, "\"model.norm.weight\":\t\"model-00002-of-00002", "\"model.norm.weight\":\t\"model-00001-of-00002") == 0,
          "(index edited)");
    bad_model(dir, "does not hold it", "an index placing a tensor in the wrong shard");
    write_text(p, "{\"metadata\":{},\"weight_map\":{\"model.embed_tokens.weight\":\"../model-00001-of-00002.safetensors\"}}");
    bad_model(dir, "not a plain file name", "a shard name with ../ is refused");
    write_text(p, "{\"metadata\":{},\"weight_map\":{\"model.embed_tokens.weight\":\"/etc/passwd\"}}");
    bad_model(dir, "not a plain file name", "an absolute shard name is refused");
    write_text(p, "{\"weight_map\":{\"model.embed_tokens.weight\":\"nothere.safetensors\"}}");
    bad_model(dir, "nothere.safetensors", "a missing shard names the file");
    write_text(p, "{\"weight_map\":{\"model.embed_tokens.weight\":\"model-00001-of-00002.safetensors\","
                  "\"model.embed_tokens.weight\":\"model-00001-of-00002.safetensors\"}}");
    bad_model(dir, "more than once", "an index listing a tensor twice");
    write_text(p, "{\"weight_map\":{\"model.embed_tokens.weight\":\"model-00001-of-00002.safetensors\"}}");
    bad_model(dir, "is missing", "an index without most tensors: the first missing one is named");
    write_text(p, "[]");
    bad_model(dir, "weight_map", "an index that is not an object");
    /* untied config without lm_head */
    fx_dir(dir, sizeof dir, "hf-nohead");
    mlm_model *t = fx_tiny_model(1, 2, V, 5);
    mlm_hf_save(t, dir, NULL, &e);
    snprintf(p, sizeof p, "%s/config.json", dir);
    replace_in_file(p, "\"tie_word_embeddings\":\ttrue", "\"tie_word_embeddings\":\tfalse");
    bad_model(dir, "lm_head", "an untied config without lm_head.weight");
    /* wrong shape: a config with a different d_ff */
    fx_dir(dir, sizeof dir, "hf-shape");
    mlm_hf_save(m, dir, NULL, &e);
    snprintf(p, sizeof p, "%s/config.json", dir);
    replace_in_file(p, "\"intermediate_size\":\t32", "\"intermediate_size\":\t42");
    bad_model(dir, "has shape (32, 16) but config.json implies (42, 16)", "a tensor whose shape disagrees with config.json");
    /* an extra tensor the architecture does not have */
    fx_dir(dir, sizeof dir, "hf-extra");
    mlm_hf_save(m, dir, NULL, &e);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    {
        mlm_real bias[16] = {0};
        mlm_st_entry ents[1] = {{"model.layers.0.self_attn.q_proj.bias", bias, 1, {16, 0}}};
        mlm_st_file f;
        mlm_st_open(&f, p, &e);
        /* rewrite: all tensors plus a bias */
        mlm_st_entry *all = calloc((size_t)f.n + 1, sizeof *all);
        mlm_real *vals = calloc(2000, sizeof(mlm_real) * 8);
        mlm_real *v = vals;
        for (int i = 0; i < f.n; i++) {
            all[i].name = f.tensors[i].name;
            all[i].ndim = f.tensors[i].ndim;
            all[i].shape[0] = f.tensors[i].shape[0];
            all[i].shape[1] = f.tensors[i].ndim > 1 ? f.tensors[i].shape[1] : 0;
            mlm_st_read(v, &f.tensors[i], 0, f.tensors[i].numel, &e);
            all[i].data = v;
            v += f.tensors[i].numel;
        }
        all[f.n] = ents[0];
        char p2[720];
        snprintf(p2, sizeof p2, "%s/x.safetensors", dir);
        mlm_st_save(p2, all, f.n + 1, MLM_ST_F32, &e);
        mlm_st_close(&f);
        rename(p2, p);
        free(all);
        free(vals);
    }
    bad_model(dir, "q_proj.bias' is not a weight", "a tensor the Llama architecture lacks (a bias) is refused");
    /* a truncated weights file */
    fx_dir(dir, sizeof dir, "hf-trunc");
    mlm_hf_save(m, dir, NULL, &e);
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    {
        char *buf; size_t n;
        mlm_read_file(p, 1 << 24, &buf, &n, &e);
        FILE *f = fopen(p, "wb");
        fwrite(buf, 1, n - 10, f);
        fclose(f);
        free(buf);
    }
    bad_model(dir, "model.safetensors", "a truncated weights file names the file");
    /* NaN weights */
    fx_dir(dir, sizeof dir, "hf-nan");
    m->w.final_norm[3] = (mlm_real)NAN;
    mlm_hf_save(m, dir, NULL, &e);
    bad_model(dir, "NaN", "NaN weights are refused");
    /* too large for the machine: refused before allocation */
    fx_dir(dir, sizeof dir, "hf-huge");
    snprintf(p, sizeof p, "%s/config.json", dir);
    write_text(p, "{\"model_type\":\"llama\",\"hidden_size\":65536,\"intermediate_size\":262144,\"num_hidden_layers\":400,"
                  "\"num_attention_heads\":512,\"vocab_size\":256000}");
    snprintf(p, sizeof p, "%s/model.safetensors", dir);
    write_text(p, "not really");
    bad_model(dir, "this machine has", "a model larger than the machine's memory is refused with a clear message");
    setenv("MLM_MEM_LIMIT", "1000", 1);
    bad_model(dir, "memory", "MLM_MEM_LIMIT lowers the limit");
    fx_dir(dir, sizeof dir, "hf-nohead");
    fx_path(p, sizeof p, "tiny.bin");
    bad_model(p, "this machine has", "a llama2.c checkpoint over the limit is refused too");
    unsetenv("MLM_MEM_LIMIT");
    mlm_model_free(t);
    mlm_model_free(m);
}

int main(void) {
    conversions();
    mlm_st_dtype dts[3] = {MLM_ST_F32, MLM_ST_F16, MLM_ST_BF16};
    for (int i = 0; i < 3; i++) {
        formats(0, 2, dts[i], 1);
        formats(1, 4, dts[i], 1);
    }
    formats(0, 2, MLM_ST_F32, 3);
    formats(1, 1, MLM_ST_BF16, 4);
    rope_layouts();
    llama2c();
    malformed();
    bad_models();
    return check_done();
}
