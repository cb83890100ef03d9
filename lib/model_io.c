/* model_io.c - the project's own weight file (model_io.h). */
#include "model_io.h"

#include <stdlib.h>
#include <string.h>

#define MIO_MAGIC "MLMWEIGH"
#define MIO_HEADER 32

static void put_u32(unsigned char *b, uint32_t v) { for (int i = 0; i < 4; i++) b[i] = (unsigned char)(v >> (8 * i)); }
static void put_u64(unsigned char *b, uint64_t v) { for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i)); }
static uint32_t get_u32(const unsigned char *b) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = (v << 8) | b[i]; return v; }
static uint64_t get_u64(const unsigned char *b) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = (v << 8) | b[i]; return v; }

mlm_status mlm_model_save(const mlm_model *m, const char *path, mlm_err *e) {
    if (!m || !path) return mlm_fail(e, MLM_EINVAL, "model save: NULL argument");
    char *json = mlm_config_to_json(&m->cfg);
    if (!json) return mlm_fail(e, MLM_ENOMEM, "model '%s': out of memory", path);
    const size_t jl = strlen(json), sb = sizeof(mlm_real), n = (size_t)m->n_params;
    const size_t len = MIO_HEADER + jl + n * sb;
    unsigned char *buf = malloc(len);
    if (!buf) { free(json); return mlm_fail(e, MLM_ENOMEM, "model '%s': out of memory", path); }
    memcpy(buf, MIO_MAGIC, 8);
    put_u32(buf + 8, 1);
    put_u32(buf + 12, (uint32_t)sb);
    put_u64(buf + 16, (uint64_t)n);
    put_u64(buf + 24, (uint64_t)jl);
    memcpy(buf + MIO_HEADER, json, jl);
    unsigned char *q = buf + MIO_HEADER + jl;
    for (size_t i = 0; i < n; i++, q += sb) {
        if (sb == 8) { double d = (double)m->mem[i]; uint64_t v; memcpy(&v, &d, 8); put_u64(q, v); }
        else { float f = (float)m->mem[i]; uint32_t v; memcpy(&v, &f, 4); put_u32(q, v); }
    }
    mlm_status st = mlm_write_file_atomic(path, buf, len, e);
    free(buf);
    free(json);
    return st;
}

mlm_model *mlm_model_load(const char *path, mlm_err *e) {
    if (!path) { mlm_fail(e, MLM_EINVAL, "model load: NULL path"); return NULL; }
    char *data = NULL;
    size_t len = 0;
    if (mlm_read_file(path, (size_t)1 << 40, &data, &len, e)) return NULL;
    const unsigned char *b = (const unsigned char *)data;
    mlm_model *m = NULL;
    if (len < MIO_HEADER || memcmp(b, MIO_MAGIC, 8)) { mlm_fail(e, MLM_EFORMAT, "model '%s': not an MLMWEIGH file", path); goto done; }
    uint32_t ver = get_u32(b + 8), sb = get_u32(b + 12);
    uint64_t n = get_u64(b + 16), jl = get_u64(b + 24);
    if (ver != 1) { mlm_fail(e, MLM_EFORMAT, "model '%s': version %u, expected 1", path, ver); goto done; }
    if (sb != 4 && sb != 8) { mlm_fail(e, MLM_EFORMAT, "model '%s': scalar size %u (4 or 8 expected)", path, sb); goto done; }
    if (jl > len - MIO_HEADER || n > (len - MIO_HEADER - jl) / sb || (len - MIO_HEADER - jl) != n * sb) {
        mlm_fail(e, MLM_EFORMAT, "model '%s': header says %llu parameters and %llu config bytes but the file holds %zu bytes", path,
                 (unsigned long long)n, (unsigned long long)jl, len);
        goto done;
    }
    mlm_config c;
    if (mlm_config_from_json(&c, (const char *)b + MIO_HEADER, (size_t)jl, path, e)) goto done;
    m = mlm_model_new(&c, e);
    if (!m) goto done;
    if ((uint64_t)m->n_params != n) {
        mlm_fail(e, MLM_EFORMAT, "model '%s': config needs %lld parameters but the file holds %llu", path, (long long)m->n_params,
                 (unsigned long long)n);
        mlm_model_free(m);
        m = NULL;
        goto done;
    }
    const unsigned char *q = b + MIO_HEADER + jl;
    for (size_t i = 0; i < n; i++, q += sb) {
        if (sb == 8) { uint64_t v = get_u64(q); double d; memcpy(&d, &v, 8); m->mem[i] = (mlm_real)d; }
        else { uint32_t v = get_u32(q); float f; memcpy(&f, &v, 4); m->mem[i] = (mlm_real)f; }
    }
done:
    free(data);
    return m;
}
