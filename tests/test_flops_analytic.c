/* test_flops_analytic.c - the analytic FLOP formulas against (1) the reference's analysis-5
 * table and crossovers for Llama 3 8B, (2) the FLOPs the real kernels count, stage by stage,
 * on scaled-down configs with the shape ratios of the presets, in every convention (dense,
 * causal, sliding window, no-causal, no-RoPE, last-only, decode with a KV cache; FLOPs and
 * MACs, element-wise and lm_head in or out), and (3) training, per-token and overflow rules. */
#include "check.h"
#include "backward.h"
#include "config.h"
#include "flops.h"
#include "forward.h"
#include "model.h"
#include "params.h"
#include "probe.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---- (1) the reference (stdout.txt, Example 5) ---------------------------------------------- */

/* Llama 3 8B, one block, batch 1: the printed table, in G (1e9) with two decimals. */
static const struct { int64_t L; double proj, core, ffn; } ref5[] = {
    {128, 10.74, 0.27, 45.10},        {256, 21.47, 1.08, 90.19},         {512, 42.95, 4.34, 180.39},
    {1024, 85.90, 17.35, 360.78},     {2048, 171.80, 69.39, 721.55},     {4096, 343.60, 277.56, 1443.11},
    {8192, 687.19, 1110.25, 2886.22}, {16384, 1374.39, 4441.00, 5772.44}, {32768, 2748.78, 17763.98, 11544.87},
};

static void test_reference_table(void) {
    mlm_config c = *mlm_preset_find("llama3-8b");
    c.n_layers = 1;
    c.max_seq_len = 32768;
    mlm_flop_conv cv = mlm_flop_conv_default();
    cv.dense = 1;   /* analysis 5 counts all L x L scores */
    cv.lm_head = 0;
    const uint64_t d = 4096, hkv = 8, dk = 128, h = 32, ff = 14336;
    int exact = 1, printed = 1;
    for (size_t i = 0; i < sizeof ref5 / sizeof ref5[0]; i++) {
        mlm_flops_fwd f;
        uint64_t L = (uint64_t)ref5[i].L;
        if (mlm_flops_forward(&c, 1, ref5[i].L, 0, &cv, &f, NULL)) { exact = 0; continue; }
        /* the formulas of analysis 5 as exact integers */
        exact &= f.attn_proj == 2 * L * (2 * d * d + 2 * d * hkv * dk);
        exact &= f.attn_core == (4 * dk + 5) * h * L * L;  /* 2BhL^2 d_k + 5BhL^2 + 2BhL^2 d_k */
        exact &= f.ffn == 6 * L * d * ff;
        /* and the printed two-decimal values */
        printed &= fabs(f.attn_proj / 1e9 - ref5[i].proj) <= 0.005 + 1e-9;
        printed &= fabs(f.attn_core / 1e9 - ref5[i].core) <= 0.005 + 1e-9;
        printed &= fabs(f.ffn / 1e9 - ref5[i].ffn) <= 0.005 + 1e-9;
    }
    CHECK(exact, "Llama 3 8B per block: proj 2L(2d^2 + 2d h_kv d_k), core (4d_k+5) h L^2, FFN 6 L d d_ff exactly");
    CHECK(printed, "Llama 3 8B per block: Attn Proj / Attn Core / FFN equal the reference table (128 ... 32768)");

    mlm_crossover x;
    CHECK(!mlm_flops_crossover(mlm_preset_find("llama3-8b"), &x, NULL), "crossover of llama3-8b");
    CHECK(x.ffn_dense_round == 21296, "Llama 3 8B: core = FFN at L = 21,296 (dense)");
    CHECK_NEAR(x.ffn_dense, 352321536.0 / 16544.0, 1e-9, "= 6*4096*14336 / ((4*128+5)*32) = 352321536 / 16544");
    CHECK(x.proj_dense_round == 5070, "Llama 3 8B: core = projections at L = 5,070 (dense)");
    CHECK(!mlm_flops_crossover(mlm_preset_find("mistral-7b"), &x, NULL) && x.ffn_dense_round == 21296,
          "Mistral 7B dense crossover 21,296");
    CHECK(!mlm_flops_crossover(mlm_preset_find("llama2-7b"), &x, NULL) && x.ffn_dense_round == 16352,
          "Llama 2 7B dense crossover 16,352");
    CHECK(!mlm_flops_crossover(mlm_preset_find("llama2-70b"), &x, NULL) && x.ffn_dense_round == 42592,
          "Llama 2 70B dense crossover 42,592");
    /* every preset: finite dense crossovers; causal = 2 * dense - 1 without a window */
    int ok = 1;
    for (int i = 0; i < mlm_preset_count(); i++) {
        const mlm_config *p = mlm_preset_at(i);
        ok &= !mlm_flops_crossover(p, &x, NULL) && x.ffn_dense > 0 && x.proj_dense > 0 && isfinite(x.ffn_dense);
        if (!p->sliding_window) ok &= fabs(x.ffn_causal - (2 * x.ffn_dense - 1)) < 1e-6 * x.ffn_causal;
    }
    CHECK(ok, "crossovers of every preset; causal crossover = 2 * dense - 1");
    /* Mistral's 4096 window caps the core at (4d_k+5) h W per token < the FFN's 6 d d_ff: never */
    CHECK(!mlm_flops_crossover(mlm_preset_find("mistral-7b"), &x, NULL) && isinf(x.ffn_causal) && isinf(x.proj_causal),
          "Mistral 7B causal with its 4096 window: the core never overtakes FFN or projections");
    /* the causal crossover is where the computed core meets the FFN: check by counting */
    mlm_config one = *mlm_preset_find("llama3-8b");
    one.n_layers = 1;
    mlm_flops_crossover(&one, &x, NULL);
    mlm_flop_conv causal = mlm_flop_conv_default();
    mlm_flops_fwd a, b;
    int64_t Lc = (int64_t)ceil(x.ffn_causal);
    CHECK(!mlm_flops_forward(&one, 1, Lc - 1, 0, &causal, &a, NULL) && !mlm_flops_forward(&one, 1, Lc, 0, &causal, &b, NULL) &&
              a.attn_core < a.ffn && b.attn_core >= b.ffn,
          "causal crossover: core < FFN just below it, >= at it");
}

/* ---- (2) analytic == kernels ---------------------------------------------------------------- */

typedef struct {
    const char *name;
    int d, L, h, hk, dk, ff, V, window, tied;
    mlm_ffn_kind ffn;
    mlm_norm_pos norm;
} shape_t;

/* Scaled-down shapes with the presets' ratios (d_ff/d, h/h_kv, d_k = d/h unless noted). */
static const shape_t shapes[] = {
    {"llama3-8b/64 (GQA 4:1, d_ff 3.5 d)", 64, 2, 8, 2, 8, 224, 200, 0, 0, MLM_FFN_SWIGLU, MLM_PRENORM},
    {"llama2-7b/64 (MHA, d_ff 2.6875 d)", 64, 2, 4, 4, 16, 172, 128, 0, 0, MLM_FFN_SWIGLU, MLM_PRENORM},
    {"mistral-7b/64 (window 5)", 64, 2, 8, 2, 8, 224, 128, 5, 0, MLM_FFN_SWIGLU, MLM_PRENORM},
    {"smollm2-135m/36 (9 heads, 3 KV, tied)", 36, 2, 9, 3, 4, 96, 150, 0, 1, MLM_FFN_SWIGLU, MLM_PRENORM},
    {"stories/48 (MHA, tied)", 48, 2, 6, 6, 8, 128, 100, 0, 1, MLM_FFN_SWIGLU, MLM_PRENORM},
    {"head_dim 16 != d/h 12", 48, 2, 4, 2, 16, 128, 90, 0, 0, MLM_FFN_SWIGLU, MLM_PRENORM},
    {"ReLU FFN, post-norm, MQA", 32, 3, 4, 1, 8, 86, 64, 0, 0, MLM_FFN_RELU, MLM_POSTNORM},
    {"post-norm SwiGLU, window 3", 32, 2, 4, 2, 8, 86, 64, 3, 1, MLM_FFN_SWIGLU, MLM_POSTNORM},
};

static mlm_config shape_config(const shape_t *s) {
    mlm_config c;
    mlm_config_default(&c);
    snprintf(c.name, sizeof c.name, "%.60s", s->name);
    c.d_model = s->d; c.n_layers = s->L; c.n_heads = s->h; c.n_kv_heads = s->hk; c.head_dim = s->dk; c.d_ff = s->ff;
    c.vocab_size = s->V; c.max_seq_len = 64; c.sliding_window = s->window; c.tied = s->tied; c.ffn = s->ffn;
    c.norm_pos = s->norm;
    return c;
}

static int ends(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

/* The measured counterpart of a convention, rebuilt from the kernels' per-stage FLOPs. */
static double measured_in(const mlm_probe *p, const mlm_config *c, const mlm_flop_conv *cv) {
    double mm = 0, dots = 0, scale = 0, lm = 0, out_sm = 0, ew = 0;
    for (int i = 0; i < mlm_probe_count(p); i++) {
        const mlm_record *r = mlm_probe_at(p, i);
        double f = (double)r->flops;
        if (ends(r->name, "attn.q") || ends(r->name, "attn.k") || ends(r->name, "attn.v") || ends(r->name, "attn.out") ||
            ends(r->name, "ffn.gate") || ends(r->name, "ffn.up") || ends(r->name, "ffn.down"))
            mm += f;
        else if (!strcmp(r->name, "logits")) lm += f;
        else if (!strcmp(r->name, "probs")) out_sm += f;
        else if (ends(r->name, "attn.scores")) {
            double per = 2.0 * c->head_dim + 1;
            dots += f / per * 2 * c->head_dim;
            scale += f / per;
        } else if (ends(r->name, "attn.heads")) dots += f;
        else ew += f;
    }
    double unit = cv->mac ? 0.5 : 1.0;
    double v = unit * (mm + dots + (cv->lm_head ? lm : 0));
    if (cv->elementwise) v += ew + scale + (cv->lm_head ? out_sm : 0);
    return v;
}

typedef struct { int n; int count; } namecount;
static void count_cb(const char *name, void *ctx) { (void)name; ((namecount *)ctx)->count++; }

static void test_kernels_match(void) {
    int n_runs = 0, stage_bad = 0, total_bad = 0, conv_bad = 0, names_bad = 0, decode_bad = 0;
    char first[1200] = "";
    mlm_probe *p = mlm_probe_new(NULL);
    const int Ts[] = {1, 4, 9};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        mlm_config c = shape_config(&shapes[si]);
        mlm_err e = {{0}};
        mlm_model *m = mlm_model_new(&c, &e);
        if (!m) { CHECK(0, e.msg); continue; }
        mlm_model_init(m, NULL);
        for (size_t ti = 0; ti < sizeof Ts / sizeof Ts[0]; ti++) {
            int B = 2, T = Ts[ti];
            mlm_acts *a = mlm_acts_new(&c, B, T, 0, &e);
            int *tok = malloc(sizeof(int) * (size_t)(B * T));
            for (int i = 0; i < B * T; i++) tok[i] = (i * 7 + 3) % c.vocab_size;
            for (int mode = 0; mode < 16 && a && tok; mode++) {
                mlm_fwd_opts o = {0};
                o.dense = mode & 1;
                o.no_causal = (mode >> 1) & 1;
                o.last_only = (mode >> 2) & 1;
                o.no_rope = (mode >> 3) & 1;
                mlm_probe_clear(p);
                if (mlm_forward(m, a, tok, B, T, &o, p, &e)) { CHECK(0, e.msg); continue; }
                n_runs++;
                mlm_stage_opts so = {B, T, o.dense, o.last_only, o.no_causal, o.no_rope, 0, 0};
                uint64_t sum = 0;
                for (int i = 0; i < mlm_probe_count(p); i++) {
                    const mlm_record *r = mlm_probe_at(p, i);
                    uint64_t want = 0;
                    mlm_status st = mlm_flops_stage_ex(&c, r->name, &so, &want, &e);
                    sum += r->flops;
                    if (st || want != r->flops) {
                        if (!stage_bad++)
                            snprintf(first, sizeof first, "%s T=%d mode %d stage %s: kernels %llu, formula %llu (%s)",
                                     c.name, T, mode, r->name, (unsigned long long)r->flops,
                                     (unsigned long long)want, st ? e.msg : "");
                    }
                }
                namecount nc = {0, 0};
                mlm_flops_stage_names(&c, 0, count_cb, &nc);
                if (nc.count != mlm_probe_count(p)) names_bad++;
                if (o.no_causal || o.no_rope) continue; /* the pass-level conventions model neither */
                /* every convention, rebuilt from the measured stages */
                for (int cvm = 0; cvm < 16; cvm++) {
                    mlm_flop_conv cv = mlm_flop_conv_default();
                    cv.dense = o.dense;
                    cv.mac = cvm & 1;
                    cv.elementwise = !((cvm >> 1) & 1);
                    cv.lm_head = !((cvm >> 2) & 1);
                    if ((cvm >> 3) & 1) {
                        /* forcing what the config has must change nothing */
                        cv.ffn_matrices = c.ffn == MLM_FFN_RELU ? 2 : 3;
                        cv.head_dim_d_over_h = c.head_dim * c.n_heads == c.d_model;
                    }
                    mlm_flops_fwd f;
                    if (mlm_flops_forward(&c, B, T, o.last_only, &cv, &f, &e)) { conv_bad++; continue; }
                    double meas = measured_in(p, &c, &cv);
                    if (cvm == 0 && f.total != sum) {
                        total_bad++;
                        if (!first[0])
                            snprintf(first, sizeof first, "%s T=%d mode %d: forward total %llu vs kernels %llu", c.name, T,
                                     mode, (unsigned long long)f.total, (unsigned long long)sum);
                    }
                    if (fabs((double)f.total - meas) > 1e-9 * meas + 0.5) {
                        if (!conv_bad++ && !first[0])
                            snprintf(first, sizeof first, "%s T=%d mode %d conv %d: analytic %llu vs measured %.1f",
                                     c.name, T, mode, cvm, (unsigned long long)f.total, meas);
                    }
                }
            }
            free(tok);
            mlm_acts_free(a);
        }
        /* decode with a KV cache, positions 0..11 */
        mlm_kv_cache *kc = mlm_kv_cache_new(&c, 12, &e);
        mlm_real *logits = malloc(sizeof(mlm_real) * (size_t)c.vocab_size);
        for (int pos = 0; kc && logits && pos < 12; pos++) {
            mlm_probe_clear(p);
            if (mlm_decode_step(m, kc, (pos * 5 + 1) % c.vocab_size, pos, logits, NULL, p, &e)) {
                CHECK(0, e.msg);
                break;
            }
            uint64_t sum = 0;
            for (int i = 0; i < mlm_probe_count(p); i++) {
                const mlm_record *r = mlm_probe_at(p, i);
                uint64_t want = mlm_flops_decode_stage(&c, r->name, pos, 0);
                sum += r->flops;
                if (want != r->flops && !decode_bad++ && !first[0])
                    snprintf(first, sizeof first, "%s decode pos %d stage %s: kernels %llu, formula %llu", c.name, pos,
                             r->name, (unsigned long long)r->flops, (unsigned long long)want);
            }
            mlm_flops_fwd f;
            if (mlm_flops_decode(&c, pos, NULL, &f, NULL) || f.total != sum) {
                if (!decode_bad++ && !first[0])
                    snprintf(first, sizeof first, "%s decode pos %d: total %llu vs kernels %llu", c.name, pos,
                             (unsigned long long)f.total, (unsigned long long)sum);
            }
            namecount nc = {0, 0};
            mlm_flops_stage_names(&c, 1, count_cb, &nc);
            if (nc.count != mlm_probe_count(p)) names_bad++;
        }
        free(logits);
        mlm_kv_cache_free(kc);
        mlm_model_free(m);
    }
    mlm_probe_free(p);
    if (first[0]) printf("first mismatch: %s\n", first);
    char what[200];
    snprintf(what, sizeof what, "%d forward runs: every stage's formula == the kernels' count", n_runs);
    CHECK(n_runs > 300 && stage_bad == 0, what);
    CHECK(total_bad == 0, "forward total (default convention, dense and causal, last-only) == sum of kernel FLOPs");
    CHECK(conv_bad == 0, "every convention (FLOP/MAC, element-wise in/out, lm_head in/out) == measured rebuild");
    CHECK(decode_bad == 0, "decode with a KV cache (window honoured): stages and totals == kernels");
    CHECK(names_bad == 0, "mlm_flops_stage_names lists exactly the recorded stages");
}

/* ---- (3) rules, conventions, sizes ---------------------------------------------------------- */

static void test_rules(void) {
    const mlm_config *l7 = mlm_preset_find("llama2-7b");
    mlm_param_counts p;
    mlm_params_count(l7, &p, NULL);
    /* 6N with element-wise out, one token: exactly 6 x (matrix parameters incl. lm_head) plus the
       attention dot products of one score per head */
    mlm_flop_conv cv = mlm_flop_conv_default();
    cv.elementwise = 0;
    mlm_flops_train tr;
    CHECK(!mlm_flops_training(l7, 1, 1, &cv, &tr, NULL), "training FLOPs of llama2-7b");
    uint64_t matrices = (uint64_t)(p.total - p.embedding - (int64_t)p.norms * 32 - p.final_norm);
    CHECK(tr.total == 6 * matrices + 3 * 32ULL * 32 * (4 * 128),
          "one token, element-wise out: training = 6 x matrix params + attention dots (the 6N rule, exactly)");
    mlm_flop_conv def = mlm_flop_conv_default();
    CHECK(!mlm_flops_training(l7, 4, 2048, &def, &tr, NULL) &&
              tr.total == tr.fwd.total + 2 * tr.fwd.matmul + tr.fwd.elementwise &&
              tr.backward == 2 * tr.fwd.matmul + tr.fwd.elementwise,
          "training = forward + 2 x matmul-like + 1 x element-wise");
    CHECK(tr.ratio > 0.95 && tr.ratio < 1.15, "llama2-7b at 2048: exact training within 15% of 6ND");
    /* conventions */
    mlm_flops_fwd a, b;
    mlm_flop_conv mac = def;
    mac.mac = 1;
    mac.elementwise = 0;
    mlm_flop_conv fl = def;
    fl.elementwise = 0;
    CHECK(!mlm_flops_forward(l7, 1, 512, 0, &mac, &a, NULL) && !mlm_flops_forward(l7, 1, 512, 0, &fl, &b, NULL) &&
              2 * a.total == b.total,
          "MACs = FLOPs / 2 for matmul-like work");
    mlm_flop_conv dn = def;
    dn.dense = 1;
    CHECK(!mlm_flops_forward(l7, 1, 512, 0, &def, &a, NULL) && !mlm_flops_forward(l7, 1, 512, 0, &dn, &b, NULL) &&
              a.scores_computed == 32ULL * 32 * 512 * 513 / 2 && b.scores_computed == 32ULL * 32 * 512 * 512 &&
              b.total - a.total == (b.scores_computed - a.scores_computed) * (4 * 128 + 5),
          "dense vs causal differ by the masked entries x (4 d_k + 5)");
    mlm_flop_conv f2 = def;
    f2.ffn_matrices = 2;
    CHECK(!mlm_flops_forward(l7, 1, 512, 0, &f2, &b, NULL) && a.ffn - b.ffn == 32ULL * 2 * 512 * 4096 * 11008 &&
              b.gating == 0,
          "2-matrix FFN convention drops W_gate and the gating multiply");
    mlm_flop_conv nl = def;
    nl.lm_head = 0;
    CHECK(!mlm_flops_forward(l7, 1, 512, 0, &nl, &b, NULL) && a.total - b.total == a.lm_head + a.out_softmax &&
              a.lm_head == 2ULL * 512 * 4096 * 32000,
          "lm_head out removes 2 T d V and the output softmax");
    mlm_config gem = *mlm_preset_find("llama3-8b");
    gem.head_dim = 256; /* a config whose head_dim is not d/h */
    mlm_flop_conv hd = def;
    hd.head_dim_d_over_h = 1;
    CHECK(!mlm_flops_forward(&gem, 1, 64, 0, &def, &a, NULL) && !mlm_flops_forward(&gem, 1, 64, 0, &hd, &b, NULL) &&
              a.q == 2 * b.q,
          "head_dim as configured vs d/h: W_Q doubles with head_dim 256 = 2 d/h");
    char label[400];
    mlm_flop_conv_label(&dn, mlm_preset_find("mistral-7b"), label, sizeof label);
    CHECK(strstr(label, "unit=FLOP") && strstr(label, "attention=dense") && strstr(label, "head_dim=") &&
              strstr(label, "ffn=3-matrix") && strstr(label, "lm_head=in") && strstr(label, "elementwise=in"),
          "the convention label names every switch");
    mlm_flop_conv_label(&def, mlm_preset_find("mistral-7b"), label, sizeof label);
    CHECK(strstr(label, "window 4096") != NULL, "the causal label names the sliding window");
    /* sliding window */
    const mlm_config *mi = mlm_preset_find("mistral-7b");
    CHECK(!mlm_flops_forward(mi, 1, 8192, 0, &def, &a, NULL) &&
              a.scores_computed == 32ULL * 32 * (4096ULL * 4097 / 2 + 4096ULL * 4096),
          "Mistral causal at 8192: window 4096 honoured in the computed entries");
    CHECK(mlm_flops_decode_stage(mi, "blocks.0.attn.heads", 10000, 0) == 32ULL * 4096 * 256 &&
              mlm_flops_decode_stage(mlm_preset_find("llama3-8b"), "blocks.0.attn.heads", 10000, 0) == 32ULL * 10001 * 256,
          "decode at position 10000 attends to min(p + 1, window) entries");
    /* per token */
    double pre = 0;
    uint64_t dec = 0;
    CHECK(!mlm_flops_per_token(l7, 4096, &def, &pre, &dec, NULL) && dec > pre && pre > 2.0 * 6.5e9,
          "per token at 4096: decoding the last token costs more than the prefill average");
    /* stage names, unknown stages */
    const mlm_config *l3 = mlm_preset_find("llama3-8b");
    CHECK(mlm_flops_stage(l3, "blocks.31.attn.q", 1, 128, 0, 0) == 2ULL * 128 * 4096 * 4096, "blocks.31.attn.q");
    CHECK(mlm_flops_stage(l3, "blocks.32.attn.q", 1, 128, 0, 0) == MLM_FLOPS_UNKNOWN, "layer out of range -> unknown");
    CHECK(mlm_flops_stage(l3, "blocks.0.attn.nope", 1, 128, 0, 0) == MLM_FLOPS_UNKNOWN, "unknown stage");
    CHECK(mlm_flops_stage(l3, "final_norm", 2, 128, 0, 1) == 2ULL * 128 * (4 * 4096 + 4) &&
              mlm_flops_stage(l3, "logits", 2, 128, 0, 1) == 2ULL * 2 * 4096 * 128256 &&
              mlm_flops_stage(l3, "probs", 2, 128, 0, 0) == 4ULL * 256 * 128256,
          "final_norm over all rows; logits / probs of the last positions with last_only");
    CHECK(mlm_flops_stage(l3, "blocks.0.attn.k_exp", 1, 128, 0, 0) == 0 && mlm_flops_stage(l3, "embed", 1, 128, 0, 0) == 0,
          "no-FLOP stages give 0");
    mlm_err e = {{0}};
    mlm_stage_opts so = {1, 1, 0, 0, 0, 0, 1, 5};
    uint64_t v;
    CHECK(mlm_flops_stage_ex(l3, "blocks.0.attn.scores", &so, &v, &e) == MLM_EINVAL && strstr(e.msg, "decode"),
          "decode has no attn.scores stage (counted in attn.probs)");
    /* 64-bit: 405B at 128K fits, absurd sizes are refused */
    const mlm_config *big = mlm_preset_find("llama3.1-405b");
    CHECK(!mlm_flops_training(big, 1, 131072, &dn, &tr, NULL) && tr.total > 5e17 && tr.total < 2e18,
          "Llama 3.1 405B training at 128K context, dense: fits in uint64_t");
    CHECK(mlm_flops_forward(big, 1 << 20, 1 << 24, 0, &dn, &a, &e) == MLM_EINVAL && strstr(e.msg, "overflow"),
          "counts past 2^64 are refused, not wrapped");
}

/* The training count's backward as the kernels count it equals a real backward pass. */
static void test_backward_counted(void) {
    mlm_config c = *mlm_preset_find("block-demo");
    c.n_layers = 2;
    c.vocab_size = 40;
    mlm_err e;
    mlm_model *m = mlm_model_new(&c, &e);
    mlm_model_init(m, NULL);
    int B = 2, T = 7, tok[14], tgt[14];
    for (int i = 0; i < 14; i++) { tok[i] = (i * 7) % 40; tgt[i] = (i * 11 + 3) % 40; }
    mlm_acts *a = mlm_acts_new(&c, B, T, 1, &e);
    mlm_grads *g = mlm_grads_new(&c, B, T, &e);
    double loss;
    mlm_forward(m, a, tok, B, T, NULL, NULL, &e);
    mlm_backward(m, a, g, tok, tgt, B, T, NULL, NULL, &loss, &e);
    mlm_flop_conv cv = mlm_flop_conv_default();
    mlm_flops_train tr;
    mlm_flops_training(&c, B, T, &cv, &tr, &e);
    CHECK(tr.backward_counted == g->flops && g->flops > 0, "training backward_counted equals the FLOPs a real backward pass counts");
    CHECK(fabs((double)tr.backward_counted / (double)tr.backward - 1) < 0.05,
          "the 2x-matmul rule of thumb is within 5% of the counted backward");
    mlm_grads_free(g);
    mlm_acts_free(a);
    mlm_model_free(m);
}

int main(void) {
    test_backward_counted();
    test_reference_table();
    test_kernels_match();
    test_rules();
    return check_done();
}
