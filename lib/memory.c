/* memory.c - bytes of weights, KV cache, saved activations and a training step, from a config
 * and the parameter counts of params.c. */
#include "memory.h"
#include "params.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct { const char *name; double bytes; } dtypes[MLM_DT_COUNT] = {
    {"fp32", 4.0}, {"bf16", 2.0}, {"fp16", 2.0}, {"int8", 1.0}, {"int4", 0.5},
};

double mlm_dtype_bytes(mlm_dtype t) { return (t >= 0 && t < MLM_DT_COUNT) ? dtypes[t].bytes : 0; }
const char *mlm_dtype_name(mlm_dtype t) { return (t >= 0 && t < MLM_DT_COUNT) ? dtypes[t].name : "?"; }

mlm_status mlm_dtype_parse(const char *s, mlm_dtype *t, mlm_err *e) {
    static const struct { const char *alias; mlm_dtype t; } al[] = {
        {"fp32", MLM_DT_FP32}, {"f32", MLM_DT_FP32}, {"float32", MLM_DT_FP32}, {"float", MLM_DT_FP32},
        {"bf16", MLM_DT_BF16}, {"bfloat16", MLM_DT_BF16}, {"fp16", MLM_DT_FP16}, {"f16", MLM_DT_FP16},
        {"float16", MLM_DT_FP16}, {"int8", MLM_DT_INT8}, {"q8", MLM_DT_INT8}, {"int4", MLM_DT_INT4},
        {"q4", MLM_DT_INT4},
    };
    if (s)
        for (size_t i = 0; i < sizeof al / sizeof al[0]; i++)
            if (!strcasecmp(s, al[i].alias)) { *t = al[i].t; return MLM_OK; }
    return mlm_fail(e, MLM_EINVAL, "unknown dtype \"%.40s\" (use fp32, bf16, fp16, int8 or int4)", s ? s : "(null)");
}

uint64_t mlm_memory_bytes(int64_t n, mlm_dtype t) {
    if (n <= 0) return 0;
    uint64_t u = (uint64_t)n;
    switch (t) {
    case MLM_DT_FP32: return u * 4;
    case MLM_DT_BF16: case MLM_DT_FP16: return u * 2;
    case MLM_DT_INT8: return u;
    case MLM_DT_INT4: return (u + 1) / 2;
    default: return 0;
    }
}

/* a * b into *out; 0 on overflow past INT64_MAX. */
static int m64(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0) return 0;
    if (a && b > INT64_MAX / a) return 0;
    *out = a * b;
    return 1;
}

mlm_status mlm_memory_kv_cache(const mlm_config *c, int64_t B, int64_t T, mlm_dtype t, int window_honoured,
                               int64_t *values, uint64_t *bytes, mlm_err *e) {
    if (!c) return mlm_fail(e, MLM_EINVAL, "memory: NULL config");
    mlm_status st = mlm_config_validate(c, c->name[0] ? c->name : "config", e);
    if (st) return st;
    if (B < 1 || T < 1)
        return mlm_fail(e, MLM_EINVAL, "memory: batch and sequence must be positive (B %lld, T %lld)", (long long)B,
                        (long long)T);
    int64_t Tc = T;
    if (window_honoured && c->sliding_window > 0 && c->sliding_window < T) Tc = c->sliding_window;
    int64_t v;
    if (!m64(2 * (int64_t)c->n_layers, B, &v) || !m64(v, Tc, &v) || !m64(v, mlm_kv_dim(c), &v))
        return mlm_fail(e, MLM_EINVAL, "memory: KV cache size overflows 64 bits");
    if (values) *values = v;
    if (bytes) *bytes = mlm_memory_bytes(v, t);
    return MLM_OK;
}

mlm_status mlm_memory_acts_table(const mlm_config *c, int64_t B, int64_t T, int for_backward, mlm_act_size *out,
                                 int cap, mlm_err *e) {
    if (!c || !out) return mlm_fail(e, MLM_EINVAL, "memory: NULL argument");
    if (cap < MLM_ACT_TENSORS)
        return mlm_fail(e, MLM_EINVAL, "memory: the activation table needs %d entries (got %d)", MLM_ACT_TENSORS, cap);
    mlm_status st = mlm_config_validate(c, c->name[0] ? c->name : "config", e);
    if (st) return st;
    if (B < 1 || T < 1)
        return mlm_fail(e, MLM_EINVAL, "memory: batch and sequence must be positive (B %lld, T %lld)", (long long)B,
                        (long long)T);
    const int64_t L = c->n_layers, S = for_backward ? L : 1, d = c->d_model, qd = mlm_q_dim(c), kvd = mlm_kv_dim(c),
                  ff = c->d_ff, V = c->vocab_size, h = c->n_heads;
    int64_t N = 0, SN = 0, Nd = 0, SB = 0, x;
    int ok = m64(B, T, &N) && m64(S, N, &SN) && m64(N, d, &Nd) && m64(S, B, &SB);
    int k = 0;
#define ADD(nm, a, b)                                                                                    \
    do { ok = ok && m64((a), (b), &x); out[k].name = nm; out[k].numel = ok ? x : 0; k++; } while (0)
    ADD("resid", L + 1, Nd);
    ADD("n1", SN, d);
    ADD("rstd1", SN, 1);
    ADD("q_rot", SN, qd);
    ADD("k_rot", SN, kvd);
    ADD("v", SN, kvd);
    int64_t bhtt = 0;
    ok = ok && m64(SB, h, &bhtt) && m64(bhtt, T, &bhtt) && m64(bhtt, T, &bhtt);
    ADD("probs", bhtt, 1);
    ADD("heads", SN, qd);
    ADD("mid", SN, d);
    ADD("n2", SN, d);
    ADD("rstd2", SN, 1);
    ADD("gate", SN, c->ffn == MLM_FFN_SWIGLU ? ff : 0);
    ADD("up", SN, ff);
    ADD("hidden", SN, ff);
    ADD("sum2", SN, c->norm_pos == MLM_POSTNORM ? d : 0);
    ADD("final_out", N, d);
    ADD("rstd_f", N, 1);
    ADD("logits", N, V);
    ADD("out_probs", N, V);
#undef ADD
    if (!ok) return mlm_fail(e, MLM_EINVAL, "memory: activation sizes overflow 64 bits (B %lld, T %lld)",
                             (long long)B, (long long)T);
    return MLM_OK;
}

int64_t mlm_memory_acts_numel(const mlm_config *c, int64_t B, int64_t T, int for_backward) {
    mlm_act_size t[MLM_ACT_TENSORS];
    if (mlm_memory_acts_table(c, B, T, for_backward, t, MLM_ACT_TENSORS, NULL)) return -1;
    int64_t s = 0;
    for (int i = 0; i < MLM_ACT_TENSORS; i++) {
        if (t[i].numel > INT64_MAX - s) return -1;
        s += t[i].numel;
    }
    return s;
}

mlm_status mlm_memory_training(const mlm_config *c, int64_t B, int64_t T, mlm_dtype weights, mlm_dtype acts,
                               mlm_memory_train *out, mlm_err *e) {
    if (!out) return mlm_fail(e, MLM_EINVAL, "memory: NULL argument");
    mlm_param_counts p;
    mlm_status st = mlm_params_count(c, &p, e);
    if (st) return st;
    int64_t a = mlm_memory_acts_numel(c, B, T, 1);
    if (a < 0)
        return mlm_fail(e, MLM_EINVAL, "memory: bad batch/sequence or activation size overflow (B %lld, T %lld)",
                        (long long)B, (long long)T);
    memset(out, 0, sizeof *out);
    out->weights = mlm_memory_bytes(p.total, weights);
    out->grads = mlm_memory_bytes(p.total, weights);
    out->optimizer = (uint64_t)p.total * (weights == MLM_DT_FP32 ? 8 : 12);
    out->activations = mlm_memory_bytes(a, acts);
    out->total = out->weights + out->grads + out->optimizer + out->activations;
    return MLM_OK;
}
