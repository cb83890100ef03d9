/* safetensors.c - defensive safetensors parsing (header length vs file length, JSON via
 * cJSON, dtypes, shape products, offsets inside the data region, no overlaps, unique names),
 * conversion of F32 / F16 / BF16 to mlm_real, and a writer for the project's own files. */
#include "safetensors.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct { const char *name; size_t size; } dtypes[MLM_ST_N_DTYPES] = {
    {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1},
    {"U8", 1},  {"BOOL", 1}, {"U16", 2}, {"U32", 4}, {"U64", 8}, {"F8_E4M3", 1}, {"F8_E5M2", 1}};

size_t mlm_st_dtype_size(mlm_st_dtype d) { return (unsigned)d < MLM_ST_N_DTYPES ? dtypes[d].size : 0; }
const char *mlm_st_dtype_name(mlm_st_dtype d) { return (unsigned)d < MLM_ST_N_DTYPES ? dtypes[d].name : "?"; }
int mlm_st_dtype_from_name(const char *s) {
    for (int i = 0; i < MLM_ST_N_DTYPES; i++)
        if (!strcmp(s, dtypes[i].name)) return i;
    return -1;
}

/* ---- scalar conversions ------------------------------------------------------------------ */

static float bits_f32(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f32_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

float mlm_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, ex = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (ex == 0x1f) return bits_f32(sign | 0x7f800000u | (man << 13));          /* Inf / NaN */
    if (ex == 0) {                                                                /* zero / subnormal */
        float v = (float)man * 5.9604644775390625e-8f;                            /* man x 2^-24 */
        return sign ? -v : v;
    }
    return bits_f32(sign | ((ex + 112) << 23) | (man << 13));
}

float mlm_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t mlm_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40);   /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1);                                               /* nearest even */
    return (uint16_t)(u >> 16);
}

uint16_t mlm_f32_to_f16(float f) {
    uint32_t u = f32_bits(f), sign = (u >> 16) & 0x8000, a = u & 0x7fffffffu;
    if (a > 0x7f800000u) return (uint16_t)(sign | 0x7e00);                        /* NaN */
    if (a >= 0x477ff000u) return (uint16_t)(sign | 0x7c00);                       /* rounds to Inf */
    if (a < 0x38800000u) {                                                        /* subnormal or zero */
        float v = bits_f32(a) * 16777216.0f;                                      /* x 2^24, exact */
        uint32_t m = (uint32_t)lrintf(v);                                          /* nearest even */
        return (uint16_t)(sign | m);
    }
    uint32_t r = a + 0x0fffu + ((a >> 13) & 1);                                   /* nearest even */
    return (uint16_t)(sign | ((r - 0x38000000u) >> 13));
}

/* ---- parsing ----------------------------------------------------------------------------- */

static void clear(mlm_st_file *f) {
    for (int i = 0; i < f->n; i++) free(f->tensors[i].name);
    free(f->tensors);
    f->tensors = NULL;
    f->n = 0;
}

/* A JSON number that is an integer in [0, 2^53]. */
static int json_u53(const cJSON *it, uint64_t *out) {
    if (!cJSON_IsNumber(it)) return 0;
    double v = it->valuedouble;
    if (!isfinite(v) || v < 0 || v > 9007199254740992.0 || v != floor(v)) return 0;
    *out = (uint64_t)v;
    return 1;
}

static int cmp_begin(const void *a, const void *b) {
    const mlm_st_tensor *x = *(const mlm_st_tensor *const *)a, *y = *(const mlm_st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

static int cmp_name(const void *a, const void *b) {
    return strcmp((*(const mlm_st_tensor *const *)a)->name, (*(const mlm_st_tensor *const *)b)->name);
}

static mlm_status parse_tensor(mlm_st_tensor *t, const cJSON *it, uint64_t data_len, const unsigned char *data,
                               const char *w, mlm_err *e) {
    const char *nm = it->string;
    if (!cJSON_IsObject(it)) return mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' is not a JSON object", w, nm);
    const cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(it, "shape");
    const cJSON *of = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
    if (!cJSON_IsString(dt)) return mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' has no string \"dtype\"", w, nm);
    int d = mlm_st_dtype_from_name(dt->valuestring);
    if (d < 0) return mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' has unknown dtype \"%.20s\"", w, nm, dt->valuestring);
    t->dtype = (mlm_st_dtype)d;
    if (!cJSON_IsArray(sh)) return mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' has no \"shape\" array", w, nm);
    int nd = cJSON_GetArraySize(sh);
    if (nd > MLM_ST_MAX_DIMS)
        return mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' has %d dimensions (at most %d)", w, nm, nd, MLM_ST_MAX_DIMS);
    t->ndim = nd;
    uint64_t numel = 1;
    int k = 0;
    for (const cJSON *x = sh->child; x; x = x->next, k++) {
        uint64_t v;
        if (!json_u53(x, &v) || v > (uint64_t)INT64_MAX)
            return mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' shape[%d] is not a non-negative integer", w, nm, k);
        t->shape[k] = (int64_t)v;
        if (mlm_mul_ok(numel, v, UINT64_C(1) << 62, &numel))
            return mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' shape product overflows", w, nm);
    }
    t->numel = numel;
    uint64_t bytes;
    if (mlm_mul_ok(numel, mlm_st_dtype_size(t->dtype), UINT64_C(1) << 62, &bytes))
        return mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' byte size overflows", w, nm);
    if (!cJSON_IsArray(of) || cJSON_GetArraySize(of) != 2 || !json_u53(of->child, &t->begin) ||
        !json_u53(of->child->next, &t->end))
        return mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' needs \"data_offsets\" [begin, end] of integers", w, nm);
    if (t->begin > t->end)
        return mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' data_offsets begin %llu > end %llu", w, nm,
                        (unsigned long long)t->begin, (unsigned long long)t->end);
    if (t->end > data_len)
        return mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' data_offsets end %llu lies beyond the %llu-byte data region (truncated?)",
                        w, nm, (unsigned long long)t->end, (unsigned long long)data_len);
    if (t->end - t->begin != bytes)
        return mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' holds %llu bytes but its %s shape needs %llu", w, nm,
                        (unsigned long long)(t->end - t->begin), dtypes[t->dtype].name, (unsigned long long)bytes);
    t->data = data + t->begin;
    return MLM_OK;
}

mlm_status mlm_st_parse(mlm_st_file *f, const unsigned char *buf, size_t len, const char *where, mlm_err *e) {
    memset(f, 0, sizeof *f);
    snprintf(f->where, sizeof f->where, "%s", where ? where : "safetensors");
    const char *w = f->where;
    if (!buf || len < 8) return mlm_fail(e, MLM_EFORMAT, "%s: %zu bytes, shorter than the 8-byte header length", w, buf ? len : 0);
    uint64_t n = 0;
    for (int i = 7; i >= 0; i--) n = n << 8 | buf[i];
    if (n > (uint64_t)len - 8)
        return mlm_fail(e, MLM_EFORMAT, "%s: header length %llu exceeds the %zu bytes after it (truncated or not safetensors)",
                        w, (unsigned long long)n, len - 8);
    if (n > MLM_ST_MAX_HEADER)
        return mlm_fail(e, MLM_EFORMAT, "%s: header length %llu exceeds the 100 MiB limit", w, (unsigned long long)n);
    if (n < 2 || buf[8] != '{') return mlm_fail(e, MLM_EFORMAT, "%s: header does not start with a JSON object", w);
    cJSON *root = cJSON_ParseWithLength((const char *)buf + 8, (size_t)n);
    if (!root || !cJSON_IsObject(root)) {
        cJSON_Delete(root);
        return mlm_fail(e, MLM_EFORMAT, "%s: header is not a valid JSON object", w);
    }
    const unsigned char *data = buf + 8 + n;
    uint64_t data_len = (uint64_t)len - 8 - n;
    mlm_status st = MLM_OK;
    int count = 0;
    for (const cJSON *it = root->child; it; it = it->next) count++;
    f->tensors = calloc((size_t)(count ? count : 1), sizeof *f->tensors);
    mlm_st_tensor **order = calloc((size_t)(count ? count : 1), sizeof *order);
    if (!f->tensors || !order) { st = mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w); goto done; }
    for (const cJSON *it = root->child; it; it = it->next) {
        if (!it->string) { st = mlm_fail(e, MLM_EFORMAT, "%s: header entry without a name", w); goto done; }
        if (!strcmp(it->string, "__metadata__")) {
            if (!cJSON_IsObject(it)) { st = mlm_fail(e, MLM_EFORMAT, "%s: \"__metadata__\" is not an object", w); goto done; }
            for (const cJSON *m = it->child; m; m = m->next)
                if (!cJSON_IsString(m)) {
                    st = mlm_fail(e, MLM_EFORMAT, "%s: \"__metadata__\" value '%.60s' is not a string", w, m->string ? m->string : "");
                    goto done;
                }
            continue;
        }
        mlm_st_tensor *t = &f->tensors[f->n];
        if (!it->string[0]) { st = mlm_fail(e, MLM_EFORMAT, "%s: a tensor has an empty name", w); goto done; }
        t->name = strdup(it->string);
        if (!t->name) { st = mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w); goto done; }
        f->n++;
        if ((st = parse_tensor(t, it, data_len, data, w, e))) goto done;
    }
    for (int i = 0; i < f->n; i++) order[i] = &f->tensors[i];
    qsort(order, (size_t)f->n, sizeof *order, cmp_name);
    for (int i = 1; i < f->n; i++)
        if (!strcmp(order[i - 1]->name, order[i]->name)) {
            st = mlm_fail(e, MLM_EFORMAT, "%s: tensor '%.80s' appears more than once", w, order[i]->name);
            goto done;
        }
    qsort(order, (size_t)f->n, sizeof *order, cmp_begin);
    for (int i = 1; i < f->n; i++)
        if (order[i]->begin < order[i - 1]->end) {
            st = mlm_fail(e, MLM_EFORMAT, "%s: tensors '%.60s' and '%.60s' overlap in the data region", w,
                          order[i - 1]->name, order[i]->name);
            goto done;
        }
done:
    free(order);
    cJSON_Delete(root);
    if (st) clear(f);
    return st;
}

mlm_status mlm_st_open(mlm_st_file *f, const char *path, mlm_err *e) {
    memset(f, 0, sizeof *f);
    mlm_mmap map;
    mlm_err me;
    char where[300];
    snprintf(where, sizeof where, "safetensors '%.270s'", path);
    if (mlm_mmap_open(&map, path, &me)) return mlm_fail(e, MLM_EIO, "safetensors %s", me.msg);
    mlm_status st = mlm_st_parse(f, map.data, map.len, where, e);
    if (st) { mlm_mmap_close(&map); return st; }
    f->map = map;
    return MLM_OK;
}

void mlm_st_close(mlm_st_file *f) {
    if (!f) return;
    clear(f);
    mlm_mmap_close(&f->map);
}

const mlm_st_tensor *mlm_st_find(const mlm_st_file *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (!strcmp(f->tensors[i].name, name)) return &f->tensors[i];
    return NULL;
}

static inline int little_endian(void) {
    const uint16_t one = 1;
    return *(const unsigned char *)&one == 1;
}

mlm_status mlm_st_read(mlm_real *dst, const mlm_st_tensor *t, uint64_t first, uint64_t count, mlm_err *e) {
    if (first > t->numel || count > t->numel - first)
        return mlm_fail(e, MLM_EINVAL, "tensor '%.80s': elements [%llu, +%llu) outside its %llu", t->name,
                        (unsigned long long)first, (unsigned long long)count, (unsigned long long)t->numel);
    const unsigned char *p = t->data + first * mlm_st_dtype_size(t->dtype);
    switch (t->dtype) {
    case MLM_ST_F32:
#ifndef MLM_DOUBLE
        if (little_endian()) { memcpy(dst, p, (size_t)count * 4); break; }
#endif
        for (uint64_t i = 0; i < count; i++, p += 4)
            dst[i] = (mlm_real)bits_f32((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
        break;
    case MLM_ST_F16:
        for (uint64_t i = 0; i < count; i++, p += 2) dst[i] = (mlm_real)mlm_f16_to_f32((uint16_t)(p[0] | p[1] << 8));
        break;
    case MLM_ST_BF16:
        for (uint64_t i = 0; i < count; i++, p += 2) dst[i] = (mlm_real)mlm_bf16_to_f32((uint16_t)(p[0] | p[1] << 8));
        break;
    default:
        return mlm_fail(e, MLM_EFORMAT, "tensor '%.80s' has dtype %s; only F32, F16 and BF16 weights are supported",
                        t->name, dtypes[t->dtype].name);
    }
    return MLM_OK;
}

/* ---- writing ----------------------------------------------------------------------------- */

mlm_status mlm_st_save(const char *path, const mlm_st_entry *ents, int n, mlm_st_dtype dtype, mlm_err *e) {
    if (dtype != MLM_ST_F32 && dtype != MLM_ST_F16 && dtype != MLM_ST_BF16)
        return mlm_fail(e, MLM_EINVAL, "safetensors '%s': can only write F32, F16 or BF16", path);
    size_t es = mlm_st_dtype_size(dtype);
    cJSON *root = cJSON_CreateObject();
    cJSON *meta = cJSON_AddObjectToObject(root, "__metadata__");
    cJSON_AddStringToObject(meta, "format", "pt");
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        cJSON *t = cJSON_AddObjectToObject(root, ents[i].name);
        cJSON_AddStringToObject(t, "dtype", dtypes[dtype].name);
        cJSON *sh = cJSON_AddArrayToObject(t, "shape");
        uint64_t numel = 1;
        for (int k = 0; k < ents[i].ndim; k++) {
            cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)ents[i].shape[k]));
            numel *= (uint64_t)ents[i].shape[k];
        }
        cJSON *of = cJSON_AddArrayToObject(t, "data_offsets");
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
        off += numel * es;
        cJSON_AddItemToArray(of, cJSON_CreateNumber((double)off));
    }
    char *js = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (!js) return mlm_fail(e, MLM_ENOMEM, "safetensors '%s': out of memory", path);
    size_t hl = strlen(js), pad = (8 - hl % 8) % 8;
    size_t pl = strlen(path);
    char *tmp = malloc(pl + 8);
    FILE *fp = NULL;
    if (tmp) { snprintf(tmp, pl + 8, "%s.tmp", path); fp = fopen(tmp, "wb"); }
    if (!fp) {
        mlm_status st = mlm_fail(e, MLM_EIO, "safetensors '%s': cannot write: %s", path, tmp ? strerror(errno) : "out of memory");
        free(tmp);
        free(js);
        return st;
    }
    unsigned char h[8];
    uint64_t total = hl + pad;
    for (int i = 0; i < 8; i++) h[i] = (unsigned char)(total >> (8 * i));
    int bad = fwrite(h, 1, 8, fp) != 8 || fwrite(js, 1, hl, fp) != hl || fwrite("        ", 1, pad, fp) != pad;
    free(js);
    unsigned char buf[8192];
    for (int i = 0; i < n && !bad; i++) {
        uint64_t numel = 1;
        for (int k = 0; k < ents[i].ndim; k++) numel *= (uint64_t)ents[i].shape[k];
        size_t used = 0;
        for (uint64_t j = 0; j < numel && !bad; j++) {
            float v = (float)ents[i].data[j];
            uint32_t u = dtype == MLM_ST_F32 ? f32_bits(v) : dtype == MLM_ST_F16 ? mlm_f32_to_f16(v) : mlm_f32_to_bf16(v);
            for (size_t b = 0; b < es; b++) buf[used++] = (unsigned char)(u >> (8 * b));
            if (used == sizeof buf) { bad = fwrite(buf, 1, used, fp) != used; used = 0; }
        }
        if (!bad && used) bad = fwrite(buf, 1, used, fp) != used;
    }
    bad = (fclose(fp) != 0) || bad;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        free(tmp);
        return mlm_fail(e, MLM_EIO, "safetensors '%s': write failed", path);
    }
    free(tmp);
    return MLM_OK;
}
