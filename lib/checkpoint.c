/* checkpoint.c - llama2.c checkpoint read and write, every header field and the file length
 * checked before anything is allocated or read. */
#include "checkpoint.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HEADER_BYTES 28

static int32_t le32(const unsigned char *b) {
    return (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
}

static void put_le32(unsigned char *b, int32_t v) {
    uint32_t u = (uint32_t)v;
    b[0] = (unsigned char)u; b[1] = (unsigned char)(u >> 8); b[2] = (unsigned char)(u >> 16); b[3] = (unsigned char)(u >> 24);
}

/* Float32 elements the file must hold after the header for cfg. */
static uint64_t body_floats(const mlm_config *c) {
    uint64_t d = (uint64_t)c->d_model, L = (uint64_t)c->n_layers, V = (uint64_t)c->vocab_size,
             ff = (uint64_t)c->d_ff, hs = (uint64_t)c->head_dim, kvd = (uint64_t)mlm_kv_dim(c);
    uint64_t n = V * d + L * d * 2 + L * d * d * 2 + L * kvd * d * 2 + L * ff * d * 3 + d;
    n += (uint64_t)c->max_seq_len * hs; /* the two RoPE tables, seq_len x head_size/2 each */
    if (!c->tied) n += V * d;
    return n;
}

static mlm_status header_to_config(mlm_config *c, const unsigned char *h, const char *path, mlm_err *e) {
    int32_t dim = le32(h), hidden = le32(h + 4), layers = le32(h + 8), heads = le32(h + 12), kv = le32(h + 16),
            vocab = le32(h + 20), seq = le32(h + 24);
    const char *names[] = {"dim", "hidden_dim", "n_layers", "n_heads", "n_kv_heads", "vocab_size", "seq_len"};
    int32_t vals[] = {dim, hidden, layers, heads, kv, vocab < 0 && vocab != INT32_MIN ? -vocab : vocab, seq};
    for (int i = 0; i < 7; i++)
        if (vals[i] <= 0 || (i == 5 && vocab == INT32_MIN))
            return mlm_fail(e, MLM_EFORMAT, "checkpoint '%s': header field %s is %d, not a positive size", path,
                            names[i], i == 5 ? vocab : vals[i]);
    if (dim % heads != 0)
        return mlm_fail(e, MLM_EFORMAT, "checkpoint '%s': header says dim %d is not divisible by n_heads %d", path, dim,
                        heads);
    mlm_config_default(c);
    const char *base = strrchr(path, '/');
    snprintf(c->name, sizeof c->name, "%s", base ? base + 1 : path);
    c->d_model = dim;
    c->d_ff = hidden;
    c->n_layers = layers;
    c->n_heads = heads;
    c->n_kv_heads = kv;
    c->head_dim = dim / heads;
    c->vocab_size = vocab < 0 ? -vocab : vocab;
    c->tied = vocab > 0;
    c->max_seq_len = seq;
    snprintf(c->source, sizeof c->source, "llama2.c checkpoint header of '%s'", path);
    char where[300];
    snprintf(where, sizeof where, "checkpoint '%s'", path);
    return mlm_config_validate(c, where, e);
}

static mlm_status open_checked(const char *path, mlm_config *c, FILE **fp, uint64_t *file_len, mlm_err *e) {
    FILE *f = fopen(path, "rb");
    if (!f) return mlm_fail(e, MLM_EIO, "checkpoint '%s': cannot open: %s", path, strerror(errno));
    unsigned char h[HEADER_BYTES];
    if (fread(h, 1, HEADER_BYTES, f) != HEADER_BYTES) {
        fclose(f);
        return mlm_fail(e, MLM_EFORMAT, "checkpoint '%s': shorter than the 28-byte header", path);
    }
    mlm_status st = header_to_config(c, h, path, e);
    if (st) { fclose(f); return st; }
    if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return mlm_fail(e, MLM_EIO, "checkpoint '%s': cannot seek", path); }
    long len = ftell(f);
    if (len < 0) { fclose(f); return mlm_fail(e, MLM_EIO, "checkpoint '%s': cannot size", path); }
    *fp = f;
    *file_len = (uint64_t)len;
    return MLM_OK;
}

mlm_status mlm_llama2c_read_config(mlm_config *c, const char *path, mlm_err *e) {
    FILE *f;
    uint64_t len;
    mlm_status st = open_checked(path, c, &f, &len, e);
    if (st) return st;
    fclose(f);
    uint64_t want = HEADER_BYTES + 4 * body_floats(c);
    if (len != want)
        return mlm_fail(e, MLM_EFORMAT, "checkpoint '%s': header implies %llu bytes but the file holds %llu", path,
                        (unsigned long long)want, (unsigned long long)len);
    return MLM_OK;
}

/* Reads n float32 into dst (converted to mlm_real) through a bounded buffer. */
static int read_floats(FILE *f, mlm_real *dst, uint64_t n) {
    float buf[4096];
    while (n > 0) {
        size_t k = n < 4096 ? (size_t)n : 4096;
        if (fread(buf, sizeof(float), k, f) != k) return -1;
        for (size_t i = 0; i < k; i++) dst[i] = (mlm_real)buf[i];
        dst += k;
        n -= k;
    }
    return 0;
}

static int write_floats(FILE *f, const mlm_real *src, uint64_t n) {
    float buf[4096];
    while (n > 0) {
        size_t k = n < 4096 ? (size_t)n : 4096;
        for (size_t i = 0; i < k; i++) buf[i] = (float)src[i];
        if (fwrite(buf, sizeof(float), k, f) != k) return -1;
        src += k;
        n -= k;
    }
    return 0;
}

mlm_model *mlm_llama2c_load(const char *path, mlm_err *e) {
    mlm_config c;
    FILE *f;
    uint64_t len;
    if (open_checked(path, &c, &f, &len, e)) return NULL;
    uint64_t want = HEADER_BYTES + 4 * body_floats(&c);
    if (len != want) {
        fclose(f);
        mlm_fail(e, MLM_EFORMAT, "checkpoint '%s': header implies %llu bytes but the file holds %llu%s", path,
                 (unsigned long long)want, (unsigned long long)len, len < want ? " (truncated?)" : "");
        return NULL;
    }
    mlm_model *m = mlm_model_new(&c, e);
    if (!m) { fclose(f); return NULL; }
    const mlm_params *w = &m->w;
    int64_t d = c.d_model, L = c.n_layers, V = c.vocab_size, ff = c.d_ff, qd = mlm_q_dim(&c), kvd = mlm_kv_dim(&c);
    fseek(f, HEADER_BYTES, SEEK_SET);
    int bad = read_floats(f, w->tok_emb, (uint64_t)(V * d)) || read_floats(f, w->attn_norm, (uint64_t)(L * d)) ||
              read_floats(f, w->wq, (uint64_t)(L * qd * d)) || read_floats(f, w->wk, (uint64_t)(L * kvd * d)) ||
              read_floats(f, w->wv, (uint64_t)(L * kvd * d)) || read_floats(f, w->wo, (uint64_t)(L * d * qd)) ||
              read_floats(f, w->ffn_norm, (uint64_t)(L * d)) || read_floats(f, w->w_gate, (uint64_t)(L * ff * d)) ||
              read_floats(f, w->w_down, (uint64_t)(L * d * ff)) || read_floats(f, w->w_up, (uint64_t)(L * ff * d)) ||
              read_floats(f, w->final_norm, (uint64_t)d);
    if (!bad && fseek(f, (long)(4 * (uint64_t)c.max_seq_len * (uint64_t)c.head_dim), SEEK_CUR) != 0) bad = 1;
    if (!bad && !c.tied) bad = read_floats(f, w->lm_head, (uint64_t)(V * d));
    fclose(f);
    if (bad) {
        mlm_fail(e, MLM_EFORMAT, "checkpoint '%s': short read of the weights", path);
        mlm_model_free(m);
        return NULL;
    }
    for (int64_t i = 0; i < m->n_params; i++)
        if (!isfinite((double)m->mem[i])) {
            mlm_fail(e, MLM_EFORMAT, "checkpoint '%s': weight %lld is NaN or Inf", path, (long long)i);
            mlm_model_free(m);
            return NULL;
        }
    return m;
}

int mlm_llama2c_can_express(const mlm_config *c, mlm_err *e) {
    const char *why = NULL;
    if (c->norm_pos != MLM_PRENORM) why = "post-norm blocks";
    else if (c->ffn != MLM_FFN_SWIGLU) why = "a ReLU FFN";
    else if (c->rope_theta != 10000.0) why = "rope_theta other than 10000";
    else if (c->head_dim * c->n_heads != c->d_model) why = "head_dim other than dim / n_heads";
    else if (c->sliding_window != 0) why = "a sliding window";
    if (why) mlm_fail(e, MLM_EINVAL, "%s: the llama2.c format cannot express %s", c->name, why);
    return why == NULL;
}

mlm_status mlm_llama2c_save(const mlm_model *m, const char *path, mlm_err *e) {
    const mlm_config *c = &m->cfg;
    if (!mlm_llama2c_can_express(c, e)) {
        char msg[512];
        snprintf(msg, sizeof msg, "%s", e ? e->msg : "");
        return mlm_fail(e, MLM_EINVAL, "checkpoint '%s': %s", path, msg);
    }
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 16);
    if (!tmp) return mlm_fail(e, MLM_ENOMEM, "checkpoint '%s': out of memory", path);
    snprintf(tmp, pl + 16, "%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        mlm_status st = mlm_fail(e, MLM_EIO, "checkpoint '%s': cannot write: %s", path, strerror(errno));
        free(tmp);
        return st;
    }
    unsigned char h[HEADER_BYTES];
    int32_t vals[7] = {c->d_model, c->d_ff, c->n_layers, c->n_heads, c->n_kv_heads,
                       c->tied ? c->vocab_size : -c->vocab_size, c->max_seq_len};
    for (int i = 0; i < 7; i++) put_le32(h + 4 * i, vals[i]);
    const mlm_params *w = &m->w;
    int64_t d = c->d_model, L = c->n_layers, V = c->vocab_size, ff = c->d_ff, qd = mlm_q_dim(c), kvd = mlm_kv_dim(c);
    int bad = fwrite(h, 1, HEADER_BYTES, f) != HEADER_BYTES;
    bad = bad || write_floats(f, w->tok_emb, (uint64_t)(V * d)) || write_floats(f, w->attn_norm, (uint64_t)(L * d)) ||
          write_floats(f, w->wq, (uint64_t)(L * qd * d)) || write_floats(f, w->wk, (uint64_t)(L * kvd * d)) ||
          write_floats(f, w->wv, (uint64_t)(L * kvd * d)) || write_floats(f, w->wo, (uint64_t)(L * d * qd)) ||
          write_floats(f, w->ffn_norm, (uint64_t)(L * d)) || write_floats(f, w->w_gate, (uint64_t)(L * ff * d)) ||
          write_floats(f, w->w_down, (uint64_t)(L * d * ff)) || write_floats(f, w->w_up, (uint64_t)(L * ff * d)) ||
          write_floats(f, w->final_norm, (uint64_t)d);
    /* the RoPE tables llama2.c's legacy export writes (freq_cis_real, freq_cis_imag) */
    int64_t hs = c->head_dim;
    for (int part = 0; part < 2 && !bad; part++)
        for (int64_t t = 0; t < c->max_seq_len && !bad; t++)
            for (int64_t i = 0; i < hs / 2 && !bad; i++) {
                double ang = (double)t * pow(10000.0, -2.0 * (double)i / (double)hs);
                float v = (float)(part == 0 ? cos(ang) : sin(ang));
                bad = fwrite(&v, sizeof v, 1, f) != 1;
            }
    if (!bad && !c->tied) bad = write_floats(f, w->lm_head, (uint64_t)(V * d));
    bad = (fclose(f) != 0) || bad;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        free(tmp);
        return mlm_fail(e, MLM_EIO, "checkpoint '%s': write failed", path);
    }
    free(tmp);
    return MLM_OK;
}
