/* test_hostile.c - the broken-file corpus: the project writes good files with its own writers,
 * breaks them (truncated at many points, huge counts, bad offsets, wrong dtypes, path
 * traversal in a shard index, deeply nested and huge JSON, NaN / Inf weights) and checks that
 * every loader refuses each one with a status, a one-line message naming the file and a
 * keyword for the problem; the `microlm` tool exits non-zero with one "microlm: " line and
 * leaves no output file, and the atomic writers leave no temporary behind. Runs under ASan and
 * UBSan too (make sanitize). Cases found by fuzzing (docs/security.md) are kept here. */
#include "check.h"
#include "checkpoint.h"
#include "config.h"
#include "fixtures.h"
#include "hf_model.h"
#include "open.h"
#include "safetensors.h"
#include "tokenizer.h"
#include "trace.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[512];   /* $MLM_TMP/hostile: every broken file is written here */

/* ---- helpers ------------------------------------------------------------------------------- */

static void path_of(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", dir, name); }

static int write_bytes(const char *path, const void *data, size_t len) {
    unlink(path);   /* a fresh file: rewriting a truncated one makes ext4 flush it on close (slow) */
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    int ok = fwrite(data, 1, len, f) == len;
    return (fclose(f) == 0 && ok) ? 0 : -1;
}

static char *read_bytes(const char *path, size_t *len) {
    char *buf;
    mlm_err e;
    if (mlm_read_file(path, (size_t)1 << 30, &buf, len, &e)) return NULL;
    return buf;
}

/* One line, non-empty, no control characters. */
static int one_line(const char *msg) {
    if (!msg[0]) return 0;
    for (const char *p = msg; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) return 0;
    return 1;
}

/* A refusal: status non-OK, one line naming `file`, holding `keyword` (NULL: any). */
static int refused(mlm_status st, const mlm_err *e, const char *file, const char *keyword) {
    int ok = st != MLM_OK && one_line(e->msg) && strstr(e->msg, file) && (!keyword || strstr(e->msg, keyword));
    if (!ok) printf("  status %d, message: %s\n", (int)st, st ? e->msg : "(accepted)");
    return ok;
}

/* Files in dir whose name holds ".tmp" (left-over temporaries of the atomic writers). */
static int temporaries(const char *d) {
    DIR *dp = opendir(d);
    int n = 0;
    struct dirent *de;
    while (dp && (de = readdir(dp))) n += strstr(de->d_name, ".tmp") != NULL;
    if (dp) closedir(dp);
    return n;
}

/* Replaces the first occurrence of `from` in s (NUL-terminated, malloc'd) by `to`. */
static char *replace(const char *s, const char *from, const char *to) {
    const char *p = strstr(s, from);
    if (!p) return NULL;
    size_t a = (size_t)(p - s), fl = strlen(from), tl = strlen(to), n = strlen(s);
    char *r = malloc(n - fl + tl + 1);
    if (!r) return NULL;
    memcpy(r, s, a);
    memcpy(r + a, to, tl);
    memcpy(r + a + tl, p + fl, n - a - fl + 1);
    return r;
}

/* Truncation points: every byte of the first `dense` bytes, then `spread` points to len - 1. */
static size_t cut_at(size_t i, size_t len, size_t dense, size_t spread) {
    if (i < dense) return i;
    return dense + (i - dense) * (len - dense) / spread;
}

/* Deeply nested JSON: depth copies of open, a payload, depth copies of close. */
static char *nested(const char *prefix, const char *open, const char *mid, const char *close, int depth,
                    const char *suffix) {
    size_t n = strlen(prefix) + (strlen(open) + strlen(close)) * (size_t)depth + strlen(mid) + strlen(suffix) + 1;
    char *s = malloc(n), *p = s;
    if (!s) return NULL;
    p += sprintf(p, "%s", prefix);
    for (int i = 0; i < depth; i++) p += sprintf(p, "%s", open);
    p += sprintf(p, "%s", mid);
    for (int i = 0; i < depth; i++) p += sprintf(p, "%s", close);
    sprintf(p, "%s", suffix);
    return s;
}

/* ---- project config JSON ---------------------------------------------------------------------- */

static mlm_status load_config_text(const char *name, const char *text, mlm_err *e) {
    char p[700];
    mlm_config c;
    path_of(p, sizeof p, name);
    if (write_bytes(p, text, strlen(text))) return mlm_fail(e, MLM_EIO, "test: cannot write %s", p);
    return mlm_config_load(&c, p, e);
}

static void config_case(const char *name, const char *text, const char *keyword, const char *what) {
    mlm_err e;
    mlm_status st = load_config_text(name, text, &e);
    CHECK(refused(st, &e, name, keyword), what);
}

static void test_config(void) {
    mlm_err e;
    const mlm_config *p = mlm_preset_find("block-demo");
    char *good = p ? mlm_config_to_json(p) : NULL;
    CHECK(good && load_config_text("cfg_good.json", good, &e) == MLM_OK, "config: the good file loads");
    if (good) {
        size_t len = strlen(good), bad = 0, n = 0;
        for (size_t k = 0; k < len; k++, n++) {
            char *t = strndup(good, k);
            mlm_status st = load_config_text("cfg_trunc.json", t, &e);
            if (!refused(st, &e, "cfg_trunc.json", NULL)) bad++;
            free(t);
        }
        printf("  config truncated at %zu points\n", n);
        CHECK(bad == 0, "config: truncated at every byte, each refused naming the file");
    }
    free(good);
    config_case("cfg_huge.json", "{\"d_model\": 1e12, \"n_heads\": 4}", "d_model", "config: d_model 1e12 refused");
    config_case("cfg_int.json", "{\"d_model\": 2147483648, \"n_heads\": 4}", "d_model", "config: d_model 2^31 refused");
    config_case("cfg_neg.json", "{\"d_model\": 64, \"n_heads\": -4}", "n_heads", "config: negative n_heads refused");
    config_case("cfg_type.json", "{\"d_model\": \"64\", \"n_heads\": 4}", "d_model", "config: d_model as a string refused");
    config_case("cfg_frac.json", "{\"d_model\": 64.5, \"n_heads\": 4}", "d_model", "config: fractional d_model refused");
    config_case("cfg_inf.json", "{\"d_model\": 64, \"n_heads\": 4, \"rope_theta\": 1e999}", "rope_theta",
                "config: rope_theta overflowing to Inf refused");
    config_case("cfg_heads.json", "{\"d_model\": 64, \"n_heads\": 6}", "divide", "config: heads not dividing d_model refused");
    config_case("cfg_product.json",
                "{\"d_model\": 1048576, \"n_heads\": 16384, \"n_kv_heads\": 16384, \"head_dim\": 65536, "
                "\"n_layers\": 16384, \"d_ff\": 4194304, \"vocab_size\": 16777216}",
                "parameters", "config: sizes each in range whose product overflows int64 refused (fuzz finding)");
    config_case("cfg_newline.json", "{\"d_model\": 64, \"n_heads\": 4, \"x\\ny\\u001b[31m\": 1}", "unknown field",
                "config: a key holding a newline and an escape gives a one-line message (fuzz finding)");
    config_case("cfg_array.json", "[1, 2, 3]", "object", "config: a JSON array refused");
    config_case("cfg_empty.json", "", "JSON", "config: an empty file refused");
    char *deep = nested("{\"d_model\": 64, \"n_heads\": 4, \"name\": ", "[", "1", "]", 100000, "}");
    if (deep) config_case("cfg_deep.json", deep, "JSON", "config: JSON nested 100000 deep refused");
    free(deep);
    /* over the 1 MiB cap: refused before parsing */
    size_t big = (size_t)2 << 20;
    char *huge = malloc(big + 1);
    if (huge) {
        memset(huge, ' ', big);
        const char *pre = "{\"d_model\": 64, \"n_heads\": 4, \"name\": \"";
        memcpy(huge, pre, strlen(pre));
        huge[big - 2] = '"';
        huge[big - 1] = '}';
        huge[big] = 0;
        config_case("cfg_big.json", huge, "allowed", "config: a 2 MiB file refused by size");
        free(huge);
    }
    /* sizes in range that do not fit in this machine: refused before allocation (MLM_MEM_LIMIT
     * stands in for a small machine) */
    char cp[700];
    path_of(cp, sizeof cp, "cfg_mem.json");
    const char *big_cfg = "{\"d_model\": 512, \"n_heads\": 8, \"n_layers\": 4, \"vocab_size\": 32000}";
    mlm_model *bm = NULL;
    if (write_bytes(cp, big_cfg, strlen(big_cfg)) == 0) {
        setenv("MLM_MEM_LIMIT", "1000000", 1);
        bm = mlm_model_open(cp, NULL, &e);
        unsetenv("MLM_MEM_LIMIT");
        CHECK(!bm && refused(MLM_ENOMEM, &e, "cfg_mem.json", "MiB"),
              "config: a model larger than the machine's memory refused before allocation");
    }
    mlm_model_free(bm);
    mlm_config c;
    char missing[700];
    path_of(missing, sizeof missing, "cfg_missing.json");
    mlm_status st = mlm_config_load(&c, missing, &e);
    CHECK(refused(st, &e, "cfg_missing.json", "cannot open"), "config: a missing file refused naming it");
}

/* ---- Hugging Face config.json ------------------------------------------------------------------ */

static const char *hf_good =
    "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_act\": \"silu\", "
    "\"hidden_size\": 64, \"intermediate_size\": 172, \"num_hidden_layers\": 2, \"num_attention_heads\": 4, "
    "\"num_key_value_heads\": 2, \"vocab_size\": 256, \"max_position_embeddings\": 128, \"rope_theta\": 10000.0, "
    "\"rms_norm_eps\": 1e-05, \"tie_word_embeddings\": false, \"torch_dtype\": \"float32\"}";

static mlm_status load_hf_text(const char *sub, const char *text, mlm_err *e) {
    char d[700], p[800];
    mlm_config c;
    path_of(d, sizeof d, sub);
    if (access(d, F_OK) != 0 && mkdir(d, 0777) != 0) return mlm_fail(e, MLM_EIO, "test: cannot make %s", d);
    snprintf(p, sizeof p, "%s/config.json", d);
    if (write_bytes(p, text, strlen(text))) return mlm_fail(e, MLM_EIO, "test: cannot write %s", p);
    return mlm_config_resolve(&c, d, e);
}

static void hf_case(const char *sub, const char *from, const char *to, const char *keyword, const char *what) {
    mlm_err e;
    char *t = replace(hf_good, from, to);
    mlm_status st = t ? load_hf_text(sub, t, &e) : mlm_fail(&e, MLM_EINVAL, "test: no '%s' in the good text", from);
    char name[300];
    snprintf(name, sizeof name, "%s/config.json", sub);
    CHECK(refused(st, &e, name, keyword), what);
    free(t);
}

static void test_hf_config(void) {
    mlm_err e;
    CHECK(load_hf_text("hf_good", hf_good, &e) == MLM_OK, "HF config: the good file loads");
    size_t len = strlen(hf_good), bad = 0;
    for (size_t k = 0; k < len; k++) {
        char *t = strndup(hf_good, k);
        mlm_status st = load_hf_text("hf_trunc", t, &e);
        if (!refused(st, &e, "hf_trunc/config.json", NULL)) bad++;
        free(t);
    }
    printf("  HF config truncated at %zu points\n", len);
    CHECK(bad == 0, "HF config: truncated at every byte, each refused naming the file");
    hf_case("hf_kv", "\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3", "multiple",
            "HF config: heads not a multiple of KV heads refused");
    hf_case("hf_act", "\"silu\"", "\"gelu\"", "hidden_act", "HF config: hidden_act gelu refused");
    hf_case("hf_huge", "\"vocab_size\": 256", "\"vocab_size\": 1e300", "vocab_size", "HF config: vocab_size 1e300 refused");
    hf_case("hf_neg", "\"num_hidden_layers\": 2", "\"num_hidden_layers\": -2", "num_hidden_layers",
            "HF config: negative layer count refused");
    hf_case("hf_missing", "\"hidden_size\": 64, ", "", "hidden_size", "HF config: missing hidden_size refused");
    hf_case("hf_type", "\"tie_word_embeddings\": false", "\"tie_word_embeddings\": \"no\"", "tie_word_embeddings",
            "HF config: tie_word_embeddings as a string refused");
    hf_case("hf_bias", "\"torch_dtype\"", "\"attention_bias\": true, \"torch_dtype\"", "attention_bias",
            "HF config: attention_bias true refused");
    hf_case("hf_ctrl", "\"silu\"", "\"silu\\n\\u001b]0;x\"", "hidden_act",
            "HF config: a value holding a newline gives a one-line message (fuzz finding)");
    hf_case("hf_product", "\"hidden_size\": 64", "\"hidden_size\": 1048576, \"head_dim\": 65536, \"num_hidden_layers\": 16384, "
            "\"num_attention_heads\": 16384, \"num_key_value_heads\": 16384", "parameters",
            "HF config: sizes whose product is beyond any machine refused");
    char *deep = nested("{\"hidden_size\": 64, \"x\": ", "{\"a\":", "1", "}", 50000, "}");
    if (deep) {
        mlm_status st = load_hf_text("hf_deep", deep, &e);
        CHECK(refused(st, &e, "hf_deep/config.json", "JSON"), "HF config: JSON nested 50000 deep refused");
        free(deep);
    }
}

/* ---- llama2.c checkpoints ----------------------------------------------------------------------- */

static void put_le32(unsigned char *b, int32_t v) {
    uint32_t u = (uint32_t)v;
    for (int i = 0; i < 4; i++) b[i] = (unsigned char)(u >> (8 * i));
}

/* Loads a checkpoint image written to name: header check and full load must both refuse. */
static int ckpt_refused(const char *name, const unsigned char *img, size_t len, const char *keyword) {
    char p[700];
    path_of(p, sizeof p, name);
    if (write_bytes(p, img, len)) return 0;
    mlm_config c;
    mlm_err e1, e2;
    mlm_status s1 = mlm_llama2c_read_config(&c, p, &e1);
    mlm_model *m = mlm_llama2c_load(p, &e2);
    int ok = refused(s1, &e1, name, keyword) && !m && refused(MLM_EFORMAT, &e2, name, keyword);
    mlm_model_free(m);
    return ok;
}

static void header_case(const unsigned char *good, size_t len, int field, int32_t v, const char *keyword,
                        const char *what) {
    unsigned char *img = malloc(len);
    if (!img) return;
    memcpy(img, good, len);
    put_le32(img + 4 * field, v);
    CHECK(ckpt_refused("ck_header.bin", img, len, keyword), what);
    free(img);
}

static void test_llama2c(void) {
    mlm_err e;
    mlm_model *m = fx_tiny_model(0, 2, 32, 5);
    char p[700];
    path_of(p, sizeof p, "ck_good.bin");
    CHECK(m && mlm_llama2c_save(m, p, &e) == MLM_OK, "llama2.c: the good checkpoint is written");
    mlm_model_free(m);
    size_t len = 0;
    unsigned char *good = (unsigned char *)read_bytes(p, &len);
    mlm_model *back = mlm_llama2c_load(p, &e);
    CHECK(good && back, "llama2.c: the good checkpoint loads");
    mlm_model_free(back);
    if (!good) return;
    size_t bad = 0, n = 0;
    for (size_t i = 0; i < 64 + 100; i++, n++) {
        size_t k = cut_at(i, len, 64, 100);
        if (!ckpt_refused("ck_trunc.bin", good, k, k < 28 ? "28-byte header" : "header implies")) bad++;
    }
    printf("  llama2.c checkpoint (%zu bytes) truncated at %zu points\n", len, n);
    CHECK(bad == 0, "llama2.c: truncated at 164 points, each refused naming the file");
    unsigned char *longer = malloc(len + 4);
    if (longer) {
        memcpy(longer, good, len);
        memset(longer + len, 0, 4);
        CHECK(ckpt_refused("ck_long.bin", longer, len + 4, "header implies"), "llama2.c: 4 trailing bytes refused");
        free(longer);
    }
    header_case(good, len, 5, INT32_MIN, "vocab_size", "llama2.c: vocab_size INT32_MIN refused (fuzz finding: UB negation)");
    header_case(good, len, 2, 1 << 30, "n_layers", "llama2.c: n_layers 2^30 refused");
    header_case(good, len, 0, 0x7fffffff, "dim", "llama2.c: dim 2^31-1 refused");
    header_case(good, len, 0, -16, "dim", "llama2.c: negative dim refused");
    header_case(good, len, 3, 3, "divisible", "llama2.c: dim not divisible by n_heads refused");
    header_case(good, len, 4, 8, "n_kv_heads", "llama2.c: more KV heads than heads refused");
    header_case(good, len, 6, 1 << 24, "implies", "llama2.c: seq_len 2^24 (a huge RoPE table) refused by length");
    header_case(good, len, 1, 1 << 22, "implies", "llama2.c: hidden_dim 2^22 refused by length, nothing allocated");
    /* NaN and Inf weights: a float inside wq and one in the classifier */
    float nan_f = NAN, inf_f = -INFINITY;
    unsigned char *img = malloc(len);
    if (img) {
        memcpy(img, good, len);
        memcpy(img + 28 + 4 * 700, &nan_f, 4);
        mlm_model *mm = mlm_llama2c_load((path_of(p, sizeof p, "ck_nan.bin"), write_bytes(p, img, len), p), &e);
        CHECK(!mm && refused(MLM_EFORMAT, &e, "ck_nan.bin", "NaN"), "llama2.c: a NaN weight is reported");
        mlm_model_free(mm);
        memcpy(img, good, len);
        memcpy(img + len - 8, &inf_f, 4);
        mm = mlm_llama2c_load((path_of(p, sizeof p, "ck_inf.bin"), write_bytes(p, img, len), p), &e);
        CHECK(!mm && refused(MLM_EFORMAT, &e, "ck_inf.bin", "Inf"), "llama2.c: an Inf weight in the classifier is reported");
        mlm_model_free(mm);
        free(img);
    }
    mlm_config c;
    CHECK(refused(mlm_llama2c_read_config(&c, dir, &e), &e, "hostile", NULL), "llama2.c: a directory as the path refused");
    free(good);
}

/* ---- trace JSON -------------------------------------------------------------------------------- */

static char *good_trace(void) {
    mlm_err e;
    mlm_model *m = fx_tiny_model(1, 2, 48, 9);
    if (!m) return NULL;
    mlm_trace t;
    memset(&t, 0, sizeof t);
    t.cfg = m->cfg;
    t.B = 1;
    t.T = 3;
    t.rope = t.causal = 1;
    t.tokens = malloc(3 * sizeof(int));
    t.probe = mlm_probe_new("logits");
    mlm_acts *a = mlm_acts_new(&m->cfg, 1, 3, 0, &e);
    char *s = NULL;
    if (t.tokens && t.probe && a) {
        for (int i = 0; i < 3; i++) t.tokens[i] = 3 * i + 1;
        if (mlm_forward(m, a, t.tokens, 1, 3, NULL, t.probe, &e) == MLM_OK) s = mlm_trace_to_json(&t);
    }
    mlm_acts_free(a);
    mlm_trace_clear(&t);
    mlm_model_free(m);
    return s;
}

static mlm_status load_trace_text(const char *name, const char *text, size_t len, mlm_err *e) {
    char p[700];
    path_of(p, sizeof p, name);
    if (write_bytes(p, text, len)) return mlm_fail(e, MLM_EIO, "test: cannot write %s", p);
    mlm_trace t;
    mlm_status st = mlm_trace_load(&t, p, e);
    int empty = !t.probe && !t.tokens && !t.targets && !t.pos && !t.token_strs;
    mlm_trace_clear(&t);
    if (st && !empty) return mlm_fail(e, MLM_OK, "test: refused trace not left empty");
    return st;
}

static void trace_case(const char *good, const char *from, const char *to, const char *keyword, const char *what) {
    mlm_err e;
    char *t = replace(good, from, to);
    mlm_status st = t ? load_trace_text("tr_case.json", t, strlen(t), &e) : mlm_fail(&e, MLM_EINVAL, "test: no '%s'", from);
    CHECK(refused(st, &e, "tr_case.json", keyword), what);
    free(t);
}

static void test_trace(void) {
    mlm_err e;
    char *good = good_trace();
    CHECK(good && load_trace_text("tr_good.json", good, strlen(good), &e) == MLM_OK, "trace: the good trace loads");
    if (!good) return;
    size_t len = strlen(good), bad = 0, n = 0;
    for (size_t i = 0; i < 64 + 150; i++, n++) {
        size_t k = cut_at(i, len, 64, 150);
        if (!refused(load_trace_text("tr_trunc.json", good, k, &e), &e, "tr_trunc.json", NULL)) bad++;
    }
    printf("  trace (%zu bytes) truncated at %zu points\n", len, n);
    CHECK(bad == 0, "trace: truncated at 214 points, each refused naming the file");
    trace_case(good, "\"microlm-trace\"", "\"other\"", "microlm-trace", "trace: wrong format tag refused");
    trace_case(good, "\"batch\":1", "\"batch\":1e15", "batch", "trace: batch 1e15 refused");
    trace_case(good, "\"seq\":3", "\"seq\":4", "tokens", "trace: seq disagreeing with the token count refused");
    trace_case(good, "\"tokens\":[1,4,7]", "\"tokens\":[1,4,7.5]", "tokens", "trace: a fractional token refused");
    trace_case(good, "\"shape\":[1,3,16]", "\"shape\":[1000000000,1000000000,1000000000]", "overflows",
               "trace: a shape product that overflows refused");
    trace_case(good, "\"shape\":[1,3,48]", "\"shape\":[1,3,49]", "data", "trace: kept data shorter than numel refused");
    trace_case(good, "\"flops\":0", "\"flops\":1.85e19", "flops",
               "trace: flops beyond 2^64 refused (fuzz finding: UB float-to-integer cast)");
    trace_case(good, "\"config\":{", "\"config\":{\"d_model\\n\":1,", "unknown field",
               "trace: a config key holding a newline gives a one-line message");
    trace_case(good, "\"stages\":[", "\"stages\":[7,", "stages[0]", "trace: a stage that is not an object refused");
    /* not broken, but found by fuzz_trace's round trip: FLOP counts past 1e15 lost digits */
    char *bigf = replace(good, "\"flops\":0", "\"flops\":1090071992547409920");
    mlm_trace tr1, tr2;
    int same = 0;
    if (bigf && mlm_trace_from_json(&tr1, bigf, strlen(bigf), "big", &e) == MLM_OK) {
        char *again = mlm_trace_to_json(&tr1);
        if (again && mlm_trace_from_json(&tr2, again, strlen(again), "again", &e) == MLM_OK) {
            same = mlm_probe_at(tr1.probe, 0)->flops == mlm_probe_at(tr2.probe, 0)->flops &&
                   mlm_probe_at(tr1.probe, 0)->flops > (uint64_t)1e18;
            mlm_trace_clear(&tr2);
        }
        free(again);
        mlm_trace_clear(&tr1);
    }
    free(bigf);
    CHECK(same, "trace: a FLOP count of 1.09e18 survives save -> load exactly (fuzz finding)");
    char *deep = nested("{\"format\":\"microlm-trace\",\"x\":", "[", "0", "]", 200000, "}");
    if (deep) {
        mlm_status st = load_trace_text("tr_deep.json", deep, strlen(deep), &e);
        CHECK(refused(st, &e, "tr_deep.json", "JSON"), "trace: JSON nested 200000 deep refused");
        free(deep);
    }
    /* huge: a 4 MB stage list of one repeated record is fine to parse; the point is no crash
     * and a refusal when one record is bad */
    size_t reps = 20000;
    const char *rec = "{\"name\":\"s\",\"shape\":[2],\"numel\":2,\"flops\":0,\"norm\":1,\"mean\":0,\"std\":1,\"rms_mean\":1},";
    char *t2 = replace(good, "\"stages\":[", "\"stages\":[@");
    if (t2) {
        size_t rl = strlen(rec), tl = strlen(t2);
        char *hugej = malloc(tl + rl * reps + 64);
        if (hugej) {
            char *at = strchr(t2, '@');
            size_t pre = (size_t)(at - t2), o = pre;
            memcpy(hugej, t2, pre);
            for (size_t i = 0; i < reps; i++, o += rl) memcpy(hugej + o, rec, rl);
            const char *badrec = "{\"name\":\"bad\",\"shape\":[-1],\"norm\":1},";
            memcpy(hugej + o, badrec, strlen(badrec));
            o += strlen(badrec);
            memcpy(hugej + o, at + 1, tl - pre);   /* includes the NUL */
            mlm_status st = load_trace_text("tr_huge.json", hugej, strlen(hugej), &e);
            CHECK(refused(st, &e, "tr_huge.json", "shape"), "trace: a 2 MB stage list with one bad record refused");
            free(hugej);
        }
        free(t2);
    }
    free(good);
}

/* ---- safetensors -------------------------------------------------------------------------------- */

/* A safetensors image from a header text and data bytes. */
static unsigned char *st_image(const char *json, const void *data, size_t dlen, size_t *len) {
    size_t jl = strlen(json);
    unsigned char *b = malloc(8 + jl + dlen + 1);
    if (!b) return NULL;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)jl >> (8 * i));
    memcpy(b + 8, json, jl);
    if (dlen) memcpy(b + 8 + jl, data, dlen);
    *len = 8 + jl + dlen;
    return b;
}

static mlm_status st_load(const char *name, const unsigned char *img, size_t len, mlm_err *e) {
    char p[700];
    path_of(p, sizeof p, name);
    if (write_bytes(p, img, len)) return mlm_fail(e, MLM_EIO, "test: cannot write %s", p);
    mlm_st_file f;
    mlm_status st = mlm_st_open(&f, p, e);
    if (st == MLM_OK) mlm_st_close(&f);
    return st;
}

static void st_case(const char *json, size_t dlen, const char *keyword, const char *what) {
    unsigned char data[64];
    for (int i = 0; i < 64; i++) data[i] = (unsigned char)i;
    size_t len;
    mlm_err e;
    unsigned char *img = st_image(json, data, dlen, &len);
    mlm_status st = img ? st_load("st_case.safetensors", img, len, &e) : MLM_ENOMEM;
    CHECK(refused(st, &e, "st_case.safetensors", keyword), what);
    free(img);
}

static void test_safetensors(void) {
    mlm_err e;
    mlm_real a[12], b[4];
    for (int i = 0; i < 12; i++) a[i] = (mlm_real)i;
    for (int i = 0; i < 4; i++) b[i] = (mlm_real)(10 + i);
    mlm_st_entry ents[] = {{"a", a, 2, {3, 4}}, {"b", b, 1, {4, 0}}};
    char p[700];
    path_of(p, sizeof p, "st_good.safetensors");
    CHECK(mlm_st_save(p, ents, 2, MLM_ST_F32, &e) == MLM_OK, "safetensors: the good file is written");
    size_t len = 0;
    unsigned char *good = (unsigned char *)read_bytes(p, &len);
    CHECK(good && st_load("st_good.safetensors", good, len, &e) == MLM_OK, "safetensors: the good file loads");
    if (good) {
        size_t bad = 0;
        for (size_t k = 0; k < len; k++)
            if (!refused(st_load("st_trunc.safetensors", good, k, &e), &e, "st_trunc.safetensors", NULL)) bad++;
        printf("  safetensors (%zu bytes) truncated at %zu points\n", len, len);
        CHECK(bad == 0, "safetensors: truncated at every byte, each refused naming the file");
        unsigned char *img = malloc(len);
        if (img) {
            memcpy(img, good, len);
            for (int i = 0; i < 8; i++) img[i] = 0xff;
            CHECK(refused(st_load("st_hlen.safetensors", img, len, &e), &e, "st_hlen.safetensors", "header length"),
                  "safetensors: header length 2^64-1 refused");
            memset(img, 0, 8);
            CHECK(refused(st_load("st_hzero.safetensors", img, len, &e), &e, "st_hzero.safetensors", "JSON"),
                  "safetensors: header length 0 refused");
            free(img);
        }
        free(good);
    }
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,80]}}", 8, "beyond",
            "safetensors: data offsets beyond the file refused");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}", 8, "begin",
            "safetensors: begin after end refused");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 16, "overlap",
            "safetensors: overlapping tensors refused");
    st_case("{\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype", "safetensors: unknown dtype refused");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296,4294967296],\"data_offsets\":[0,8]}}", 8,
            "overflows", "safetensors: shape product overflow refused");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "needs",
            "safetensors: shape disagreeing with the byte count refused");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "shape", "safetensors: negative size refused");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16, "more than once",
            "safetensors: a duplicate tensor name refused");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4, "dimensions",
            "safetensors: nine dimensions refused");
    st_case("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8.5]}}", 8, "data_offsets",
            "safetensors: a fractional offset refused");
    st_case("{\"__metadata__\":{\"format\":1}}", 0, "metadata", "safetensors: non-string metadata refused");
    st_case("{\"a\\nb\":{\"dtype\":\"X\\u001b[2J\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "dtype",
            "safetensors: a name and dtype holding control characters give a one-line message (fuzz finding)");
    char *deep = nested("{\"a\":", "[", "1", "]", 100000, "}");
    if (deep) {
        st_case(deep, 0, "JSON", "safetensors: a header nested 100000 deep refused");
        free(deep);
    }
    /* out of order is legal (header order need not be data order): accepted, values right */
    float two[4] = {1, 2, 3, 4};
    size_t ol;
    unsigned char *img = st_image("{\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                                  "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", two, 16, &ol);
    mlm_st_file f;
    int ok = 0;
    if (img) {
        path_of(p, sizeof p, "st_order.safetensors");
        if (write_bytes(p, img, ol) == 0 && mlm_st_open(&f, p, &e) == MLM_OK) {
            mlm_real v[2];
            const mlm_st_tensor *t = mlm_st_find(&f, "b");
            ok = t && mlm_st_read(v, t, 0, 2, &e) == MLM_OK && v[0] == 3 && v[1] == 4;
            mlm_st_close(&f);
        }
        free(img);
    }
    CHECK(ok, "safetensors: tensors listed out of data order load with the right values");
}

/* ---- Hugging Face model directories: shard index ------------------------------------------------- */

static int hf_refused(const char *d, const char *keyword) {
    mlm_err e;
    mlm_model *m = mlm_hf_load(d, NULL, &e);
    int ok = !m && refused(MLM_EFORMAT, &e, "hfdir", keyword);
    mlm_model_free(m);
    return ok;
}

static void index_case(const char *d, const char *good_index, const char *from, const char *to, const char *keyword,
                       const char *what) {
    char p[800];
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", d);
    char *t = replace(good_index, from, to);
    CHECK(t && write_bytes(p, t, strlen(t)) == 0 && hf_refused(d, keyword), what);
    free(t);
}

static void test_hf_dir(void) {
    mlm_err e;
    char d[700], p[800];
    path_of(d, sizeof d, "hfdir");
    (void)mkdir(d, 0777);
    mlm_model *m = fx_tiny_model(0, 2, 32, 11);
    mlm_hf_save_opts so = {MLM_ST_F32, 2, MLM_ROPE_ADJACENT};
    CHECK(m && mlm_hf_save(m, d, &so, &e) == MLM_OK, "HF dir: a two-shard directory is written");
    mlm_model_free(m);
    m = mlm_hf_load(d, NULL, &e);
    CHECK(m != NULL, "HF dir: it loads");
    mlm_model_free(m);
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", d);
    size_t il;
    char *idx = read_bytes(p, &il);
    if (!idx) return;
    /* a real shard outside the directory, so only the name check can refuse it */
    char shard[800], outside[800];
    snprintf(shard, sizeof shard, "%s/model-00001-of-00002.safetensors", d);
    path_of(outside, sizeof outside, "evil.safetensors");
    size_t sl;
    char *sb = read_bytes(shard, &sl);
    if (sb) { (void)write_bytes(outside, sb, sl); free(sb); }
    index_case(d, idx, "\"model-00001-of-00002.safetensors\"", "\"../evil.safetensors\"", "plain file name",
               "HF dir: shard '../evil.safetensors' in the index refused");
    char abs_s[900];
    snprintf(abs_s, sizeof abs_s, "\"%s\"", outside);
    index_case(d, idx, "\"model-00001-of-00002.safetensors\"", abs_s, "plain file name",
               "HF dir: an absolute shard path in the index refused");
    index_case(d, idx, "\"model-00001-of-00002.safetensors\"", "\"sub/../../evil.safetensors\"", "plain file name",
               "HF dir: a shard path with a slash refused");
    index_case(d, idx, "\"model-00001-of-00002.safetensors\"", "\"..\"", "plain file name", "HF dir: shard '..' refused");
    index_case(d, idx, "\"model-00001-of-00002.safetensors\"", "\"x\\nmodel.safetensors\"", "plain file name",
               "HF dir: a shard name holding a newline refused on one line");
    index_case(d, idx, "\"model-00001-of-00002.safetensors\"", "7", "file name", "HF dir: a shard name that is a number refused");
    index_case(d, idx, "\"weight_map\"", "\"weight_mop\"", "weight_map", "HF dir: an index without weight_map refused");
    index_case(d, idx, "{", "[", "weight_map", "HF dir: an index that is an array refused");
    /* truncated index */
    size_t bad = 0;
    for (size_t k = 0; k < il; k += (il / 60) + 1) {
        if (write_bytes(p, idx, k) == 0 && !hf_refused(d, NULL)) bad++;
    }
    CHECK(bad == 0, "HF dir: index truncated at 60 points, each refused naming the directory");
    (void)write_bytes(p, idx, il);
    /* NaN in a shard's weight */
    size_t shl;
    unsigned char *sh = (unsigned char *)read_bytes(shard, &shl);
    if (sh) {
        float nan_f = NAN;
        unsigned char *cp = malloc(shl);
        if (cp) {
            memcpy(cp, sh, shl);
            memcpy(cp + shl - 4, &nan_f, 4);
            (void)write_bytes(shard, cp, shl);
            CHECK(hf_refused(d, "NaN"), "HF dir: a NaN weight in a shard is reported");
            (void)write_bytes(shard, sh, shl);
            free(cp);
        }
        /* a truncated shard */
        (void)write_bytes(shard, sh, shl - 5);
        CHECK(hf_refused(d, NULL), "HF dir: a truncated shard refused");
        (void)write_bytes(shard, sh, shl);
        free(sh);
    }
    free(idx);
}

/* ---- tokenizers: llama2.c tokenizer.bin and Hugging Face tokenizer.json ------------------------- */

static int tok_refused(const char *name, const void *img, size_t len, const char *keyword) {
    char p[700];
    path_of(p, sizeof p, name);
    if (write_bytes(p, img, len)) return 0;
    mlm_err e;
    mlm_tokenizer *t = mlm_tokenizer_load(p, &e);
    int ok = !t && refused(MLM_EFORMAT, &e, name, keyword);
    if (t) printf("  loaded with vocab %d\n", mlm_tokenizer_vocab_size(t));
    mlm_tokenizer_free(t);
    return ok;
}

static void put32(unsigned char *b, int32_t v) { put_le32(b, v); }

static void tokbin_case(const unsigned char *good, size_t len, size_t at, int32_t v, const char *keyword, const char *what) {
    unsigned char *img = malloc(len);
    if (!img) return;
    memcpy(img, good, len);
    put32(img + at, v);
    CHECK(tok_refused("tok_case.bin", img, len, keyword), what);
    free(img);
}

static void tokjson_case(const char *good, const char *from, const char *to, const char *keyword, const char *what) {
    char *t = replace(good, from, to);
    CHECK(t && tok_refused("tok_case.json", t, strlen(t), keyword), what);
    free(t);
}

static void test_tokenizers(void) {
    char p[700];
    mlm_err e;
    path_of(p, sizeof p, "tok_good.bin");
    mlm_tokenizer *t = fx_write_llama2c_tokenizer(p) == 0 ? mlm_tokenizer_load(p, &e) : NULL;
    CHECK(t != NULL, "tokenizer.bin: the fixture loads");
    int full = t ? mlm_tokenizer_vocab_size(t) : 0;
    mlm_tokenizer_free(t);
    size_t len = 0;
    unsigned char *good = (unsigned char *)read_bytes(p, &len);
    if (good && len > 40) {
        /* record boundaries: a cut there is a valid, shorter vocabulary (the format has no count) */
        unsigned char *boundary = calloc(len + 1, 1);
        for (size_t o = 4; boundary && o + 8 <= len;) {
            int32_t l = (int32_t)((uint32_t)good[o + 4] | (uint32_t)good[o + 5] << 8 | (uint32_t)good[o + 6] << 16 |
                                  (uint32_t)good[o + 7] << 24);
            o += 8 + (size_t)l;
            if (o <= len) boundary[o] = 1;
        }
        size_t bad = 0, n = 0;
        for (size_t i = 0; boundary && i < 64 + 200; i++) {
            size_t k = cut_at(i, len, 64, 200);
            if (k > 4 && boundary[k]) continue;
            n++;
            if (!tok_refused("tok_trunc.bin", good, k, NULL)) bad++;
        }
        printf("  tokenizer.bin (%zu bytes, %d tokens) truncated at %zu points inside records\n", len, full, n);
        CHECK(bad == 0, "tokenizer.bin: truncated inside a record, each refused naming the file");
        free(boundary);
        tokbin_case(good, len, 0, 0, "max_token_length", "tokenizer.bin: max_token_length 0 refused");
        tokbin_case(good, len, 0, INT32_MIN, "max_token_length", "tokenizer.bin: max_token_length INT32_MIN refused");
        tokbin_case(good, len, 0, 0x7fffffff, "max_token_length", "tokenizer.bin: max_token_length 2^31-1 refused");
        tokbin_case(good, len, 8, -1, "length", "tokenizer.bin: a negative token length refused");
        tokbin_case(good, len, 8, 0x7fffffff, "length", "tokenizer.bin: token length 2^31-1 refused");
        float nan_f = NAN;
        int32_t nb;
        memcpy(&nb, &nan_f, 4);
        tokbin_case(good, len, 4, nb, "NaN", "tokenizer.bin: a NaN score refused");
        CHECK(tok_refused("tok_empty.bin", good, 0, "shorter"), "tokenizer.bin: an empty file refused");
    }
    free(good);

    path_of(p, sizeof p, "tok_good.json");
    t = fx_write_hf_spm_tokenizer(p) == 0 ? mlm_tokenizer_load(p, &e) : NULL;
    CHECK(t != NULL, "tokenizer.json: the fixture loads");
    mlm_tokenizer_free(t);
    char *js = read_bytes(p, &len);
    if (!js) return;
    size_t bad = 0, n = 0;
    for (size_t i = 0; i < 32 + 100; i++, n++) {
        size_t k = cut_at(i, len, 32, 100);
        if (!tok_refused("tok_trunc.json", js, k, NULL)) bad++;
    }
    printf("  tokenizer.json (%zu bytes) truncated at %zu points\n", len, n);
    CHECK(bad == 0, "tokenizer.json: truncated at 132 points, each refused naming the file");
    tokjson_case(js, "\"<s>\":1,", "\"<s>\":-1,", "valid id", "tokenizer.json: a negative id refused");
    tokjson_case(js, "\"<s>\":1,", "\"<s>\":1.5,", "valid id", "tokenizer.json: a fractional id refused");
    tokjson_case(js, "\"<s>\":1,", "\"<s>\":1e30,", "valid id", "tokenizer.json: an id of 1e30 refused");
    tokjson_case(js, "\"<s>\":1,", "\"<s>\":0,", "both", "tokenizer.json: two tokens with one id refused");
    tokjson_case(js, "\"merges\":[", "\"merges\":[\"zz qq\",", "not in the vocabulary",
                 "tokenizer.json: a merge of unknown tokens refused");
    tokjson_case(js, "\"merges\":[", "\"merges\":[7,", "merge", "tokenizer.json: a merge that is a number refused");
    tokjson_case(js, "\"type\":\"BPE\"", "\"type\":\"Unigram\"", "not supported", "tokenizer.json: a Unigram model refused");
    tokjson_case(js, "\"vocab\":{", "\"vocab\":{\"x\\ny\":-3,", "valid id",
                 "tokenizer.json: a token name holding a newline gives a one-line message");
    /* a sparse id: a few bytes must not make a vocabulary of a million empty tokens */
    tokjson_case(js, "\"<s>\":1,", "\"<s>\":1,\"far\":1000000,", "id",
                 "tokenizer.json: one id of 1000000 in a 300-token vocabulary refused (sparse ids)");
    char *deep = nested("{\"model\":", "[", "1", "]", 100000, "}");
    if (deep) {
        CHECK(tok_refused("tok_deep.json", deep, strlen(deep), "JSON"), "tokenizer.json: JSON nested 100000 deep refused");
        free(deep);
    }
    free(js);
}

/* ---- the tool and the writers: no output file on failure ------------------------------------------ */

static char bin[600];

static void cli_case(const char *model_name, const char *keyword, const char *what) {
    char out[700], err[700], cmd[3000], model[700];
    path_of(out, sizeof out, "cli_out.json");
    path_of(err, sizeof err, "cli_err.txt");
    path_of(model, sizeof model, model_name);
    unlink(out);
    snprintf(cmd, sizeof cmd, "%s trace --model '%s' --tokens 1,2 --json '%s' >/dev/null 2>'%s'", bin, model, out, err);
    int st = system(cmd);
    int code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
    size_t n = 0;
    char *msg = read_bytes(err, &n);
    int lines = 0;
    for (size_t i = 0; msg && i < n; i++) lines += msg[i] == '\n';
    int ok = code != 0 && msg && lines == 1 && !strncmp(msg, "microlm: ", 9) && strstr(msg, model_name) &&
             strstr(msg, keyword) && access(out, F_OK) != 0 && temporaries(dir) == 0;
    if (!ok) printf("  exit %d, %d lines: %s", code, lines, msg ? msg : "(none)\n");
    CHECK(ok, what);
    free(msg);
}

static void test_cli_and_writers(void) {
    const char *b = getenv("MLM_BUILD");
    snprintf(bin, sizeof bin, "%s/microlm", b ? b : "build/float");
    if (access(bin, X_OK) == 0) {
        char p[700];
        path_of(p, sizeof p, "cli_cfg.json");
        (void)write_bytes(p, "{\"d_model\": 64, \"n_heads\": 4, \"n_layers\": \"2\"}", 46);
        cli_case("cli_cfg.json", "n_layers", "microlm trace: a bad config JSON, one line, exit != 0, no output file");
        path_of(p, sizeof p, "cli_trunc.bin");
        unsigned char h[40] = {16, 0, 0, 0, 32, 0, 0, 0, 2, 0, 0, 0, 4, 0, 0, 0, 2, 0, 0, 0, 32, 0, 0, 0, 64, 0, 0, 0};
        (void)write_bytes(p, h, sizeof h);
        cli_case("cli_trunc.bin", "header implies", "microlm trace: a truncated checkpoint, one line, no output file");
        path_of(p, sizeof p, "cli_nan.bin");
        mlm_err e;
        mlm_model *m = fx_tiny_model(1, 2, 32, 3);
        if (m) {
            if (mlm_llama2c_save(m, p, &e) == MLM_OK) {
                size_t len;
                unsigned char *img = (unsigned char *)read_bytes(p, &len);
                float nan_f = NAN;
                if (img) { memcpy(img + 100, &nan_f, 4); (void)write_bytes(p, img, len); free(img); }
            }
            mlm_model_free(m);
        }
        cli_case("cli_nan.bin", "NaN", "microlm trace: a NaN weight reported, one line, no output file");
        char hd[600];
        path_of(hd, sizeof hd, "cli_hf");
        (void)mkdir(hd, 0777);
        snprintf(p, sizeof p, "%s/config.json", hd);
        (void)write_bytes(p, hf_good, strlen(hf_good));
        snprintf(p, sizeof p, "%s/model.safetensors", hd);
        (void)write_bytes(p, "\xff\xff\xff\xff\xff\xff\xff\x7f{}", 10);
        cli_case("cli_hf", "header length", "microlm trace: a bad safetensors file, one line, no output file");
    } else {
        printf("  (no %s: CLI cases skipped)\n", bin);
    }
    /* writers: a failed write leaves neither the file nor a temporary */
    mlm_err e;
    char sub[700], target[800];
    path_of(sub, sizeof sub, "wdir");
    (void)mkdir(sub, 0777);
    snprintf(target, sizeof target, "%s/occupied", sub);
    (void)mkdir(target, 0777);   /* a directory where the file should go: rename fails */
    mlm_trace t;
    memset(&t, 0, sizeof t);
    t.cfg = fx_tiny_config(1, 2, 32);
    t.probe = mlm_probe_new(NULL);
    CHECK(mlm_trace_save(&t, target, &e) != MLM_OK && one_line(e.msg) && strstr(e.msg, "occupied") && temporaries(sub) == 0,
          "trace save onto a directory fails naming it and leaves no temporary");
    mlm_trace_clear(&t);
    mlm_model *m = fx_tiny_model(1, 2, 32, 3);
    CHECK(m && mlm_llama2c_save(m, target, &e) != MLM_OK && strstr(e.msg, "occupied") && temporaries(sub) == 0,
          "llama2.c save onto a directory fails and leaves no temporary");
    if (m) m->cfg.norm_pos = MLM_POSTNORM;
    char pn[800];
    snprintf(pn, sizeof pn, "%s/post.bin", sub);
    CHECK(m && mlm_llama2c_save(m, pn, &e) != MLM_OK && access(pn, F_OK) != 0 && temporaries(sub) == 0,
          "llama2.c save of a post-norm model refused, nothing written");
    mlm_model_free(m);
    mlm_real v[2] = {1, 2};
    mlm_st_entry ent = {"x", v, 1, {2, 0}};
    CHECK(mlm_st_save(target, &ent, 1, MLM_ST_F32, &e) != MLM_OK && strstr(e.msg, "occupied") && temporaries(sub) == 0,
          "safetensors save onto a directory fails and leaves no temporary");
}

int main(void) {
    fx_dir(dir, sizeof dir, "hostile");
    double t0 = mlm_now();
    void (*parts[])(void) = {test_config, test_hf_config, test_llama2c, test_trace, test_safetensors, test_hf_dir,
                             test_tokenizers, test_cli_and_writers};
    for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++) {
        double t1 = mlm_now();
        parts[i]();
        if (getenv("MLM_HOSTILE_TIMES")) printf("  part %zu: %.2f s\n", i, mlm_now() - t1);
    }
    printf("  corpus test ran in %.2f s\n", mlm_now() - t0);
    return check_done();
}
