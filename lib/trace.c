/* trace.c - trace <-> JSON with cJSON. Numbers are written with enough digits to read back
 * the same bits (cJSON prints %.17g when %.15g does not round-trip). */
#include "trace.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MLM_TRACE_MAX_BYTES ((size_t)1 << 31)

void mlm_trace_clear(mlm_trace *t) {
    if (!t) return;
    free(t->tokens);
    free(t->targets);
    free(t->pos);
    if (t->token_strs) {
        for (int64_t i = 0; i < (int64_t)t->B * t->T; i++) free(t->token_strs[i]);
        free(t->token_strs);
    }
    mlm_probe_free(t->probe);
    memset(t, 0, sizeof *t);
}

/* A number that reads back as the same double: cJSON's own printer accepts a 15-digit form
 * that is only approximately equal, so numbers are printed here with %.17g (%.9g for values
 * that are floats). Non-finite values become null (JSON has no NaN) and load back as NaN. */
static cJSON *num_digits(double v, int digits) {
    if (!isfinite(v)) return cJSON_CreateNull();
    if (v == floor(v) && fabs(v) < 1e15) return cJSON_CreateNumber(v);   /* cJSON prints 15 digits */
    char buf[40];
    snprintf(buf, sizeof buf, "%.*g", digits, v);
    return cJSON_CreateRaw(buf);
}
static cJSON *num(double v) { return num_digits(v, 17); }
/* FLOP counts pass 1e15 (cJSON would print 15 digits): written as exact integers. */
static cJSON *u64_num(uint64_t v) {
    char buf[32];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return cJSON_CreateRaw(buf);
}
static cJSON *real_num(mlm_real v) { return num_digits((double)v, sizeof(mlm_real) == 4 ? 9 : 17); }
static void add_num(cJSON *o, const char *k, double v) { cJSON_AddItemToObject(o, k, num(v)); }

static cJSON *int_array(const int *v, int64_t n) {
    cJSON *a = cJSON_CreateArray();
    for (int64_t i = 0; a && i < n; i++) cJSON_AddItemToArray(a, cJSON_CreateNumber(v[i]));
    return a;
}

static cJSON *record_json(const mlm_record *r) {
    cJSON *o = cJSON_CreateObject();
    if (!o) return NULL;
    cJSON_AddStringToObject(o, "name", r->name);
    cJSON *sh = cJSON_AddArrayToObject(o, "shape");
    for (int i = 0; i < r->ndim; i++) cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)r->shape[i]));
    cJSON_AddNumberToObject(o, "numel", (double)r->numel);
    cJSON_AddItemToObject(o, "flops", u64_num(r->flops));
    if (r->has_value) add_num(o, "value", r->value);
    add_num(o, "norm", r->norm);
    add_num(o, "mean", r->mean);
    add_num(o, "std", r->std);
    if (r->numel > 0 && !(r->min == INFINITY && r->max == -INFINITY)) {
        add_num(o, "min", r->min);
        add_num(o, "max", r->max);
    }
    add_num(o, "rms_mean", r->rms_mean);
    if (r->row_rms) {
        cJSON *a = cJSON_AddArrayToObject(o, "row_rms");
        for (int64_t i = 0; i < r->n_rows; i++) cJSON_AddItemToArray(a, num_digits((double)r->row_rms[i], 9));
    }
    if (r->data) {
        cJSON *a = cJSON_AddArrayToObject(o, "data");
        for (int64_t i = 0; i < r->numel; i++) cJSON_AddItemToArray(a, real_num(r->data[i]));
    }
    return o;
}

char *mlm_trace_to_json(const mlm_trace *t) {
    cJSON *root = cJSON_CreateObject();
    if (!root) return NULL;
    cJSON_AddStringToObject(root, "format", "microlm-trace");
    cJSON_AddNumberToObject(root, "version", 1);
    cJSON_AddStringToObject(root, "model", t->model);
    char *cj = mlm_config_to_json(&t->cfg);
    cJSON *cfg = cj ? cJSON_Parse(cj) : NULL;
    free(cj);
    if (cfg) cJSON_AddItemToObject(root, "config", cfg);
    cJSON_AddStringToObject(root, "scalar", MLM_REAL_NAME);
    cJSON_AddNumberToObject(root, "batch", t->B);
    cJSON_AddNumberToObject(root, "seq", t->T);
    cJSON_AddNumberToObject(root, "seed", (double)t->seed);
    int64_t N = (int64_t)t->B * t->T;
    if (t->tokens) cJSON_AddItemToObject(root, "tokens", int_array(t->tokens, N));
    if (t->targets) cJSON_AddItemToObject(root, "targets", int_array(t->targets, N));
    if (t->token_strs) {
        cJSON *a = cJSON_AddArrayToObject(root, "token_strings");
        for (int64_t i = 0; i < N; i++) cJSON_AddItemToArray(a, cJSON_CreateString(t->token_strs[i] ? t->token_strs[i] : ""));
    }
    if (t->pos) cJSON_AddItemToObject(root, "positions", int_array(t->pos, t->T));
    cJSON *opt = cJSON_AddObjectToObject(root, "options");
    cJSON_AddBoolToObject(opt, "rope", t->rope);
    cJSON_AddBoolToObject(opt, "causal", t->causal);
    cJSON_AddStringToObject(opt, "attention_flops", t->dense ? "dense" : "causal");
    cJSON *fl = cJSON_AddObjectToObject(root, "flops");
    uint64_t fwd = 0, bwd = 0;
    for (int i = 0; i < mlm_probe_count(t->probe); i++) {
        const mlm_record *r = mlm_probe_at(t->probe, i);
        if (!strncmp(r->name, "grad.", 5)) bwd += r->flops; else fwd += r->flops;
    }
    cJSON_AddItemToObject(fl, "forward", u64_num(fwd));
    cJSON_AddItemToObject(fl, "backward", u64_num(bwd));
    cJSON_AddItemToObject(fl, "total", u64_num(fwd + bwd));
    cJSON *st = cJSON_AddArrayToObject(root, "stages");
    for (int i = 0; i < mlm_probe_count(t->probe); i++) cJSON_AddItemToArray(st, record_json(mlm_probe_at(t->probe, i)));
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

mlm_status mlm_trace_save(const mlm_trace *t, const char *path, mlm_err *e) {
    char *s = mlm_trace_to_json(t);
    if (!s) return mlm_fail(e, MLM_ENOMEM, "trace '%s': out of memory", path);
    mlm_status st = mlm_write_file_atomic(path, s, strlen(s), e);
    free(s);
    return st;
}

/* ---- loading ------------------------------------------------------------------------------ */

static mlm_status get_number(const cJSON *o, const char *key, int required, double *out, const char *w, mlm_err *e) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!it) return required ? mlm_fail(e, MLM_EFORMAT, "%s: missing \"%s\"", w, key) : MLM_OK;
    if (cJSON_IsNull(it)) { *out = NAN; return MLM_OK; }
    if (!cJSON_IsNumber(it)) return mlm_fail(e, MLM_EFORMAT, "%s: \"%s\" must be a number", w, key);
    *out = it->valuedouble;
    return MLM_OK;
}

static mlm_status get_count(const cJSON *o, const char *key, double max, int64_t *out, const char *w, mlm_err *e) {
    double v = 0;
    mlm_status st = get_number(o, key, 1, &v, w, e);
    if (st) return st;
    if (!(v >= 0 && v <= max) || v != floor(v))
        return mlm_fail(e, MLM_EFORMAT, "%s: \"%s\" must be an integer in [0, %.0f]", w, key, max);
    *out = (int64_t)v;
    return MLM_OK;
}

static mlm_status int_list(const cJSON *root, const char *key, int64_t n, int **out, const char *w, mlm_err *e) {
    *out = NULL;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
    if (!a) return MLM_OK;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != n)
        return mlm_fail(e, MLM_EFORMAT, "%s: \"%s\" must be an array of %lld integers", w, key, (long long)n);
    int *v = malloc((size_t)(n > 0 ? n : 1) * sizeof(int));
    if (!v) return mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w);
    int64_t i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, a) {
        if (!cJSON_IsNumber(it) || it->valuedouble != floor(it->valuedouble) || fabs(it->valuedouble) > 2147483647.0) {
            free(v);
            return mlm_fail(e, MLM_EFORMAT, "%s: \"%s\"[%lld] is not an integer", w, key, (long long)i);
        }
        v[i++] = (int)it->valuedouble;
    }
    *out = v;
    return MLM_OK;
}

static mlm_status parse_record(const cJSON *o, int idx, mlm_record *r, const char *w, mlm_err *e) {
    char where[400];
    memset(r, 0, sizeof *r);
    if (!cJSON_IsObject(o)) return mlm_fail(e, MLM_EFORMAT, "%s: stages[%d] is not an object", w, idx);
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "name");
    if (!cJSON_IsString(nm) || strlen(nm->valuestring) >= sizeof r->name)
        return mlm_fail(e, MLM_EFORMAT, "%s: stages[%d].name must be a string under %zu characters", w, idx,
                        sizeof r->name);
    snprintf(r->name, sizeof r->name, "%s", nm->valuestring);
    snprintf(where, sizeof where, "%s: stage \"%s\"", w, r->name);
    const cJSON *sh = cJSON_GetObjectItemCaseSensitive(o, "shape");
    if (!cJSON_IsArray(sh) || cJSON_GetArraySize(sh) > MLM_MAX_DIMS)
        return mlm_fail(e, MLM_EFORMAT, "%s: \"shape\" must be an array of at most %d sizes", where, MLM_MAX_DIMS);
    int64_t numel = 1;
    const cJSON *it;
    cJSON_ArrayForEach(it, sh) {
        if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 1e9 || it->valuedouble != floor(it->valuedouble))
            return mlm_fail(e, MLM_EFORMAT, "%s: \"shape\" holds a size that is not an integer in [0, 1e9]", where);
        int64_t s = (int64_t)it->valuedouble;
        if (s != 0 && numel > ((int64_t)1 << 40) / s) return mlm_fail(e, MLM_EFORMAT, "%s: shape product overflows", where);
        r->shape[r->ndim++] = s;
        numel *= s;
    }
    double v;
    mlm_status st;
    r->numel = numel;
    double fl = 0;
    if ((st = get_number(o, "flops", 0, &fl, where, e))) return st;
    if (!(fl >= 0 && fl < 1.8e19)) return mlm_fail(e, MLM_EFORMAT, "%s: \"flops\" out of range", where);
    r->flops = (uint64_t)fl;
    if (cJSON_GetObjectItemCaseSensitive(o, "value")) {
        if ((st = get_number(o, "value", 1, &r->value, where, e))) return st;
        r->has_value = 1;
        r->numel = 1;
    }
    const char *keys[] = {"norm", "mean", "std", "min", "max", "rms_mean"};
    double *dst[] = {&r->norm, &r->mean, &r->std, &r->min, &r->max, &r->rms_mean};
    for (int i = 0; i < 6; i++) {
        v = *dst[i];
        if ((st = get_number(o, keys[i], i == 0, &v, where, e))) return st;
        *dst[i] = v;
    }
    int64_t cols = r->ndim > 0 ? r->shape[r->ndim - 1] : 1;
    r->n_rows = (!r->has_value && cols > 0) ? r->numel / cols : 0;
    const cJSON *rr = cJSON_GetObjectItemCaseSensitive(o, "row_rms");
    if (rr) {
        if (!cJSON_IsArray(rr) || cJSON_GetArraySize(rr) != r->n_rows)
            return mlm_fail(e, MLM_EFORMAT, "%s: \"row_rms\" must hold %lld numbers", where, (long long)r->n_rows);
        r->row_rms = malloc((size_t)(r->n_rows > 0 ? r->n_rows : 1) * sizeof(float));
        if (!r->row_rms) return mlm_fail(e, MLM_ENOMEM, "%s: out of memory", where);
        int64_t i = 0;
        cJSON_ArrayForEach(it, rr) {
            if (!cJSON_IsNumber(it) && !cJSON_IsNull(it)) { free(r->row_rms); r->row_rms = NULL; return mlm_fail(e, MLM_EFORMAT, "%s: \"row_rms\" holds a non-number", where); }
            r->row_rms[i++] = cJSON_IsNull(it) ? NAN : (float)it->valuedouble;
        }
    }
    const cJSON *da = cJSON_GetObjectItemCaseSensitive(o, "data");
    if (da) {
        if (!cJSON_IsArray(da) || cJSON_GetArraySize(da) != r->numel) {
            free(r->row_rms); r->row_rms = NULL;
            return mlm_fail(e, MLM_EFORMAT, "%s: \"data\" must hold numel = %lld numbers", where, (long long)r->numel);
        }
        r->data = malloc((size_t)(r->numel > 0 ? r->numel : 1) * sizeof(mlm_real));
        if (!r->data) { free(r->row_rms); r->row_rms = NULL; return mlm_fail(e, MLM_ENOMEM, "%s: out of memory", where); }
        int64_t i = 0;
        cJSON_ArrayForEach(it, da) {
            if (!cJSON_IsNumber(it) && !cJSON_IsNull(it)) {
                free(r->row_rms); free(r->data); r->row_rms = NULL; r->data = NULL;
                return mlm_fail(e, MLM_EFORMAT, "%s: \"data\" holds a non-number", where);
            }
            r->data[i++] = cJSON_IsNull(it) ? (mlm_real)NAN : (mlm_real)it->valuedouble;
        }
    }
    return MLM_OK;
}

mlm_status mlm_trace_from_json(mlm_trace *t, const char *json, size_t len, const char *where, mlm_err *e) {
    const char *w = where ? where : "trace";
    memset(t, 0, sizeof *t);
    cJSON *root = cJSON_ParseWithLength(json, len);
    if (!root) return mlm_fail(e, MLM_EFORMAT, "%s: not valid JSON", w);
    mlm_status st = MLM_OK;
    int64_t B = 0, T = 0;
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(root, "format");
    if (!cJSON_IsObject(root) || !cJSON_IsString(fmt) || strcmp(fmt->valuestring, "microlm-trace") != 0) {
        st = mlm_fail(e, MLM_EFORMAT, "%s: not a microlm trace (\"format\" is not \"microlm-trace\")", w);
        goto fail;
    }
    const cJSON *cfg = cJSON_GetObjectItemCaseSensitive(root, "config");
    if (!cJSON_IsObject(cfg)) { st = mlm_fail(e, MLM_EFORMAT, "%s: missing \"config\" object", w); goto fail; }
    char *cs = cJSON_PrintUnformatted(cfg);
    if (!cs) { st = mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w); goto fail; }
    char cw[400];
    snprintf(cw, sizeof cw, "%s: config", w);
    st = mlm_config_from_json(&t->cfg, cs, strlen(cs), cw, e);
    free(cs);
    if (st) goto fail;
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (cJSON_IsString(model)) snprintf(t->model, sizeof t->model, "%s", model->valuestring);
    if ((st = get_count(root, "batch", 1 << 20, &B, w, e)) || (st = get_count(root, "seq", 1 << 24, &T, w, e))) goto fail;
    if (B * T > ((int64_t)1 << 30)) { st = mlm_fail(e, MLM_EFORMAT, "%s: batch x seq too large", w); goto fail; }
    t->B = (int)B;
    t->T = (int)T;
    double seed = 0;
    if ((st = get_number(root, "seed", 0, &seed, w, e))) goto fail;
    t->seed = (seed >= 0 && seed < 1.8e19) ? (uint64_t)seed : 0;
    if ((st = int_list(root, "tokens", B * T, &t->tokens, w, e))) goto fail;
    if ((st = int_list(root, "targets", B * T, &t->targets, w, e))) goto fail;
    if ((st = int_list(root, "positions", T, &t->pos, w, e))) goto fail;
    const cJSON *ts = cJSON_GetObjectItemCaseSensitive(root, "token_strings");
    if (ts) {
        if (!cJSON_IsArray(ts) || cJSON_GetArraySize(ts) != B * T) {
            st = mlm_fail(e, MLM_EFORMAT, "%s: \"token_strings\" must hold batch x seq strings", w);
            goto fail;
        }
        t->token_strs = calloc((size_t)(B * T > 0 ? B * T : 1), sizeof(char *));
        if (!t->token_strs) { st = mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w); goto fail; }
        int64_t i = 0;
        const cJSON *it;
        cJSON_ArrayForEach(it, ts) {
            if (!cJSON_IsString(it)) { st = mlm_fail(e, MLM_EFORMAT, "%s: token_strings[%lld] is not a string", w, (long long)i); goto fail; }
            t->token_strs[i] = strdup(it->valuestring);
            if (!t->token_strs[i]) { st = mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w); goto fail; }
            i++;
        }
    }
    t->rope = t->causal = 1;
    const cJSON *opt = cJSON_GetObjectItemCaseSensitive(root, "options");
    if (opt) {
        if (!cJSON_IsObject(opt)) { st = mlm_fail(e, MLM_EFORMAT, "%s: \"options\" must be an object", w); goto fail; }
        const cJSON *r = cJSON_GetObjectItemCaseSensitive(opt, "rope"), *c = cJSON_GetObjectItemCaseSensitive(opt, "causal"),
                    *af = cJSON_GetObjectItemCaseSensitive(opt, "attention_flops");
        if ((r && !cJSON_IsBool(r)) || (c && !cJSON_IsBool(c)) || (af && !cJSON_IsString(af))) {
            st = mlm_fail(e, MLM_EFORMAT, "%s: \"options\" has a field of the wrong type", w);
            goto fail;
        }
        if (r) t->rope = cJSON_IsTrue(r);
        if (c) t->causal = cJSON_IsTrue(c);
        if (af) t->dense = !strcmp(af->valuestring, "dense");
    }
    const cJSON *stages = cJSON_GetObjectItemCaseSensitive(root, "stages");
    if (!cJSON_IsArray(stages)) { st = mlm_fail(e, MLM_EFORMAT, "%s: missing \"stages\" array", w); goto fail; }
    t->probe = mlm_probe_new(NULL);
    if (!t->probe) { st = mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w); goto fail; }
    int idx = 0;
    const cJSON *so;
    cJSON_ArrayForEach(so, stages) {
        mlm_record r;
        if ((st = parse_record(so, idx++, &r, w, e))) goto fail;
        if (!mlm_probe_add_record(t->probe, &r)) {
            free(r.row_rms);
            free(r.data);
            st = mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w);
            goto fail;
        }
    }
    cJSON_Delete(root);
    return MLM_OK;
fail:
    cJSON_Delete(root);
    mlm_trace_clear(t);
    return st;
}

mlm_status mlm_trace_load(mlm_trace *t, const char *path, mlm_err *e) {
    char *buf;
    size_t len;
    memset(t, 0, sizeof *t);
    mlm_status st = mlm_read_file(path, MLM_TRACE_MAX_BYTES, &buf, &len, e);
    if (st) return st;
    char where[300];
    snprintf(where, sizeof where, "trace '%s'", path);
    st = mlm_trace_from_json(t, buf, len, where, e);
    free(buf);
    return st;
}
