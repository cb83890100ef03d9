/* cmd_analytic.c - `microlm params | flops | memory | compare`: the analytic side (parameter
 * counts, FLOPs under labelled conventions, memory, tensor-parallel and LoRA accounting) of
 * any MODEL mlm_config_resolve accepts. Human tables by default, --json and --csv for programs.
 * Everything printed is computed from the config; these commands write to stdout only. */
#include "args.h"
#include "commands.h"
#include "config.h"
#include "flops.h"
#include "memory.h"
#include "params.h"

#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OUT_HUMAN = 0, OUT_JSON = 1, OUT_CSV = 2 };

/* ---- formatting --------------------------------------------------------------------------- */

static char *fmt_int(int64_t v, char *buf, int cap) {
    if (v < 0) { snprintf(buf, (size_t)cap, "-"); return buf; }
    return mlm_fmt_int((uint64_t)v, buf, cap);
}

/* Parameter-style units: 8030261248 -> "8.03B", 218112000 -> "218.1M", 8192 -> "8.2K". */
static char *fmt_count(double v, char *buf, int cap) {
    if (v >= 1e12) snprintf(buf, (size_t)cap, "%.2fT", v / 1e12);
    else if (v >= 1e9) snprintf(buf, (size_t)cap, "%.2fB", v / 1e9);
    else if (v >= 1e6) snprintf(buf, (size_t)cap, "%.1fM", v / 1e6);
    else if (v >= 1e3) snprintf(buf, (size_t)cap, "%.1fK", v / 1e3);
    else snprintf(buf, (size_t)cap, "%.0f", v);
    return buf;
}

/* Binary byte units: "13.96 GiB". */
static char *fmt_bytes(double v, char *buf, int cap) {
    const char *u[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    int i = 0;
    while (v >= 1024 && i < 6) { v /= 1024; i++; }
    if (i == 0) snprintf(buf, (size_t)cap, "%.0f B", v);
    else snprintf(buf, (size_t)cap, "%.2f %s", v, u[i]);
    return buf;
}

static double pct(double a, double b) { return b > 0 ? 100.0 * a / b : 0; }

/* ---- a minimal JSON writer with exact 64-bit integers (cJSON would print doubles) ---------- */

typedef struct { int depth; int first[16]; } jw;

static void jw_key(jw *w, const char *key) {
    if (!w->first[w->depth]) putchar(',');
    w->first[w->depth] = 0;
    printf("\n%*s", 2 * w->depth, "");
    if (key) {
        putchar('"');
        for (const char *p = key; *p; p++) putchar(*p);
        printf("\": ");
    }
}
static void jw_open(jw *w, const char *key, char ch) {
    jw_key(w, key);
    putchar(ch);
    w->depth++;
    w->first[w->depth] = 1;
}
static void jw_begin(jw *w) { w->depth = 0; w->first[0] = 1; putchar('{'); w->depth = 1; w->first[1] = 1; }
static void jw_close(jw *w, char ch) {
    w->depth--;
    printf("\n%*s%c", 2 * w->depth, "", ch);
    if (w->depth == 0) putchar('\n');
}
static void jw_str(jw *w, const char *key, const char *s) {
    jw_key(w, key);
    putchar('"');
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\') printf("\\%c", *p);
        else if (*p < 0x20) printf("\\u%04x", *p);
        else putchar(*p);
    }
    putchar('"');
}
static void jw_i64(jw *w, const char *key, int64_t v) { jw_key(w, key); printf("%" PRId64, v); }
static void jw_u64(jw *w, const char *key, uint64_t v) { jw_key(w, key); printf("%" PRIu64, v); }
static void jw_dbl(jw *w, const char *key, double v) {
    jw_key(w, key);
    if (isfinite(v)) printf("%.17g", v);
    else printf("null");
}
static void jw_bool(jw *w, const char *key, int v) { jw_key(w, key); printf(v ? "true" : "false"); }

/* ---- argument helpers --------------------------------------------------------------------- */

static int bad(const char *cmd, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "microlm: %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

/* Reads the value of option argv[*i] into *v (an integer in [lo, hi]); 0 ok, else exit code. */
static int opt_long(const char *cmd, int argc, char **argv, int *i, long lo, long hi, long *v) {
    const char *name = argv[*i];
    if (*i + 1 >= argc) return bad(cmd, "option %s needs a value", name);
    if (mlm_arg_long(argv[*i + 1], lo, hi, v))
        return bad(cmd, "option %s: '%s' is not an integer in [%ld, %ld]", name, argv[*i + 1], lo, hi);
    (*i)++;
    return 0;
}

static int load_model(const char *cmd, const char *spec, mlm_config *c) {
    mlm_err e = {{0}};
    if (mlm_config_resolve(c, spec, &e)) {
        fprintf(stderr, "microlm: %s: %s\n", cmd, e.msg);
        return 1;
    }
    return 0;
}

static void shape_line(const mlm_config *c) {
    printf("shape: d %d, %d layers, %d heads, %d KV heads, d_k %d, d_ff %d, vocab %d, max_seq %d, %s, %s, %s-norm",
           c->d_model, c->n_layers, c->n_heads, c->n_kv_heads, c->head_dim, c->d_ff, c->vocab_size, c->max_seq_len,
           c->tied ? "tied embeddings" : "untied lm_head", c->ffn == MLM_FFN_SWIGLU ? "SwiGLU" : "ReLU",
           mlm_norm_pos_name(c->norm_pos));
    if (c->sliding_window) printf(", sliding window %d", c->sliding_window);
    printf("\n");
}

static void json_config(jw *w, const mlm_config *c) {
    jw_open(w, "config", '{');
    jw_i64(w, "d_model", c->d_model);
    jw_i64(w, "n_layers", c->n_layers);
    jw_i64(w, "n_heads", c->n_heads);
    jw_i64(w, "n_kv_heads", c->n_kv_heads);
    jw_i64(w, "head_dim", c->head_dim);
    jw_i64(w, "d_ff", c->d_ff);
    jw_i64(w, "vocab_size", c->vocab_size);
    jw_i64(w, "max_seq_len", c->max_seq_len);
    jw_bool(w, "tied", c->tied);
    jw_str(w, "ffn", mlm_ffn_name(c->ffn));
    jw_str(w, "norm", mlm_norm_pos_name(c->norm_pos));
    jw_i64(w, "sliding_window", c->sliding_window);
    jw_dbl(w, "rope_theta", c->rope_theta);
    jw_close(w, '}');
}

/* ==== microlm params ========================================================================= */

static const char params_usage[] =
    "usage: microlm params MODEL [--json | --csv] [--lora RANK [--lora-targets LIST]] [--tp P]\n"
    "  exact parameter counts per matrix, per block and per component (equal to the weight layout)\n"
    "  MODEL        a preset (microlm models), a config.json (project or Hugging Face), a directory\n"
    "               holding config.json, or a llama2.c checkpoint .bin\n"
    "  --lora RANK  trainable LoRA parameters, RANK * (in + out) per target matrix per layer\n"
    "  --lora-targets LIST   q,k,v,o,gate,up,down or attn, ffn, all (default q,v)\n"
    "  --tp P       per-device parameters under Megatron tensor parallelism of degree P\n";

int mlm_cmd_params(int argc, char **argv) {
    const char *cmd = "params", *model = NULL, *targets = "q,v";
    int out = OUT_HUMAN;
    long rank = 0, tp = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(params_usage, stdout); return 0; }
        else if (!strcmp(a, "--json")) out = OUT_JSON;
        else if (!strcmp(a, "--csv")) out = OUT_CSV;
        else if (!strcmp(a, "--lora")) rc = opt_long(cmd, argc, argv, &i, 1, 1 << 20, &rank);
        else if (!strcmp(a, "--tp")) rc = opt_long(cmd, argc, argv, &i, 1, 1 << 16, &tp);
        else if (!strcmp(a, "--lora-targets")) {
            if (i + 1 >= argc) return bad(cmd, "option --lora-targets needs a value");
            targets = argv[++i];
        } else if (a[0] == '-' && a[1]) return bad(cmd, "unknown option '%s' (see microlm params --help)", a);
        else if (model) return bad(cmd, "one MODEL only (got '%s' and '%s'; use microlm compare)", model, a);
        else model = a;
        if (rc) return rc;
    }
    if (!model) return bad(cmd, "missing MODEL (see microlm params --help)");
    unsigned mask = 0;
    mlm_err e = {{0}};
    if (rank && mlm_lora_parse_targets(targets, &mask, &e)) return bad(cmd, "%s", e.msg);
    mlm_config c;
    if (load_model(cmd, model, &c)) return 1;
    mlm_param_counts p;
    if (mlm_params_count(&c, &p, &e)) { fprintf(stderr, "microlm: params: %s\n", e.msg); return 1; }
    int64_t lora = 0, lora_layer = 0;
    if (rank && mlm_lora_params(&c, (int)rank, mask, &lora, &lora_layer, &e)) {
        fprintf(stderr, "microlm: params: %s\n", e.msg);
        return 1;
    }
    mlm_tp_plan t;
    if (tp && mlm_tp_plan_make(&c, (int)tp, &t, &e)) { fprintf(stderr, "microlm: params: %s\n", e.msg); return 1; }
    const int64_t d = c.d_model, qd = mlm_q_dim(&c), kvd = mlm_kv_dim(&c), ff = c.d_ff;
    struct { const char *name; int64_t rows, cols, n; } mats[] = {
        {"W_Q", qd, d, p.wq},        {"W_K", kvd, d, p.wk},     {"W_V", kvd, d, p.wv},
        {"W_O", d, qd, p.wo},        {"W_gate", ff, d, p.w_gate}, {"W_up", ff, d, p.w_up},
        {"W_down", d, ff, p.w_down}, {"attn_norm", d, 0, p.attn_norm}, {"ffn_norm", d, 0, p.ffn_norm},
    };
    const int nmats = (int)(sizeof mats / sizeof mats[0]);
    char tn[64];
    if (rank) mlm_lora_targets_name(mask, tn, sizeof tn);

    if (out == OUT_JSON) {
        jw w;
        jw_begin(&w);
        jw_str(&w, "model", c.name);
        jw_str(&w, "source", c.source);
        json_config(&w, &c);
        jw_i64(&w, "total", p.total);
        jw_i64(&w, "total_tied", p.total_tied);
        jw_i64(&w, "total_untied", p.total_untied);
        jw_i64(&w, "non_embedding", p.non_embedding);
        jw_open(&w, "per_block", '{');
        for (int i = 0; i < nmats; i++) jw_i64(&w, mats[i].name, mats[i].n);
        jw_i64(&w, "attention", p.attn);
        jw_i64(&w, "ffn", p.ffn);
        jw_i64(&w, "norms", p.norms);
        jw_i64(&w, "block", p.block);
        jw_i64(&w, "attention_mha", p.attn_mha);
        jw_close(&w, '}');
        jw_open(&w, "components", '{');
        jw_i64(&w, "embedding", p.embedding);
        jw_i64(&w, "blocks", p.blocks);
        jw_i64(&w, "final_norm", p.final_norm);
        jw_i64(&w, "lm_head", p.lm_head);
        jw_close(&w, '}');
        if (rank) {
            jw_open(&w, "lora", '{');
            jw_i64(&w, "rank", rank);
            jw_str(&w, "targets", tn);
            jw_i64(&w, "per_layer", lora_layer);
            jw_i64(&w, "trainable", lora);
            jw_dbl(&w, "percent_of_total", pct((double)lora, (double)p.total));
            jw_close(&w, '}');
        }
        if (tp) {
            jw_open(&w, "tensor_parallel", '{');
            jw_i64(&w, "degree", t.P);
            jw_i64(&w, "vocab_padded", t.vocab_padded);
            jw_i64(&w, "kv_heads_per_device", t.kv_heads_per_device);
            jw_i64(&w, "per_device_block", t.per_device_block);
            jw_i64(&w, "per_device_total", t.per_device_total);
            jw_i64(&w, "replicated", t.replicated);
            jw_i64(&w, "allreduce_values_per_token", t.allreduce_values_token);
            jw_close(&w, '}');
        }
        jw_close(&w, '}');
        return 0;
    }
    if (out == OUT_CSV) {
        printf("model,section,name,rows,cols,params,percent\n");
        for (int i = 0; i < nmats; i++)
            printf("%s,block,%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%.4f\n", c.name, mats[i].name, mats[i].rows,
                   mats[i].cols, mats[i].n, pct((double)mats[i].n, (double)p.block));
        printf("%s,block,attention,,,%" PRId64 ",%.4f\n", c.name, p.attn, pct((double)p.attn, (double)p.block));
        printf("%s,block,ffn,,,%" PRId64 ",%.4f\n", c.name, p.ffn, pct((double)p.ffn, (double)p.block));
        printf("%s,block,norms,,,%" PRId64 ",%.4f\n", c.name, p.norms, pct((double)p.norms, (double)p.block));
        printf("%s,block,block,,,%" PRId64 ",100\n", c.name, p.block);
        printf("%s,model,embedding,%d,%d,%" PRId64 ",%.4f\n", c.name, c.vocab_size, c.d_model, p.embedding,
               pct((double)p.embedding, (double)p.total));
        printf("%s,model,blocks,%d,,%" PRId64 ",%.4f\n", c.name, c.n_layers, p.blocks,
               pct((double)p.blocks, (double)p.total));
        printf("%s,model,final_norm,%d,,%" PRId64 ",%.4f\n", c.name, c.d_model, p.final_norm,
               pct((double)p.final_norm, (double)p.total));
        printf("%s,model,lm_head,%d,%d,%" PRId64 ",%.4f\n", c.name, c.vocab_size, c.d_model, p.lm_head,
               pct((double)p.lm_head, (double)p.total));
        printf("%s,model,total,,,%" PRId64 ",100\n", c.name, p.total);
        if (rank) printf("%s,lora,%s,%ld,,%" PRId64 ",%.4f\n", c.name, tn, rank, lora, pct((double)lora, (double)p.total));
        if (tp) printf("%s,tensor_parallel,per_device_total,%d,,%" PRId64 ",%.4f\n", c.name, t.P, t.per_device_total,
                       pct((double)t.per_device_total, (double)p.total));
        return 0;
    }
    char b1[48], b2[48];
    printf("model: %s\n", c.name);
    if (c.source[0]) printf("source: %s\n", c.source);
    shape_line(&c);
    printf("\nper block (%s)                 shape            params   %% block\n", c.ffn == MLM_FFN_SWIGLU ? "SwiGLU" : "ReLU");
    for (int i = 0; i < nmats; i++) {
        char sh[40];
        if (mats[i].cols) snprintf(sh, sizeof sh, "%" PRId64 " x %" PRId64, mats[i].rows, mats[i].cols);
        else snprintf(sh, sizeof sh, "%" PRId64, mats[i].rows);
        printf("  %-12s %26s %17s %8.2f%%\n", mats[i].name, sh, fmt_int(mats[i].n, b1, sizeof b1),
               pct((double)mats[i].n, (double)p.block));
    }
    printf("  %-12s %26s %17s %8.2f%%\n", "attention", "", fmt_int(p.attn, b1, sizeof b1), pct((double)p.attn, (double)p.block));
    printf("  %-12s %26s %17s %8.2f%%\n", "FFN", "", fmt_int(p.ffn, b1, sizeof b1), pct((double)p.ffn, (double)p.block));
    printf("  %-12s %26s %17s %8.2f%%\n", "norms", "", fmt_int(p.norms, b1, sizeof b1), pct((double)p.norms, (double)p.block));
    printf("  %-12s %26s %17s %8.2f%%   (%s)\n", "block", "", fmt_int(p.block, b1, sizeof b1), 100.0,
           fmt_count((double)p.block, b2, sizeof b2));
    printf("  attention with MHA (h_kv = h): %s; %s saves %.2f%% of it\n", fmt_int(p.attn_mha, b1, sizeof b1),
           c.n_kv_heads == c.n_heads ? "MHA" : (c.n_kv_heads == 1 ? "MQA" : "GQA"),
           100.0 - pct((double)p.attn, (double)p.attn_mha));
    printf("\nwhole model                                        params   %% total\n");
    printf("  %-32s %17s %8.2f%%\n", "embedding (vocab x d)", fmt_int(p.embedding, b1, sizeof b1),
           pct((double)p.embedding, (double)p.total));
    char lbl[48];
    snprintf(lbl, sizeof lbl, "blocks (%d x block)", c.n_layers);
    printf("  %-32s %17s %8.2f%%\n", lbl, fmt_int(p.blocks, b1, sizeof b1), pct((double)p.blocks, (double)p.total));
    printf("  %-32s %17s %8.2f%%\n", "final norm", fmt_int(p.final_norm, b1, sizeof b1),
           pct((double)p.final_norm, (double)p.total));
    printf("  %-32s %17s %8.2f%%\n", c.tied ? "lm_head (tied: shares embedding)" : "lm_head (vocab x d)",
           fmt_int(p.lm_head, b1, sizeof b1), pct((double)p.lm_head, (double)p.total));
    printf("  %-32s %17s %8.2f%%   (%s)\n", "total", fmt_int(p.total, b1, sizeof b1), 100.0,
           fmt_count((double)p.total, b2, sizeof b2));
    printf("  %-32s %17s\n", c.tied ? "total if untied" : "total if tied",
           fmt_int(c.tied ? p.total_untied : p.total_tied, b1, sizeof b1));
    printf("  %-32s %17s\n", "non-embedding (Kaplan N)", fmt_int(p.non_embedding, b1, sizeof b1));
    if (rank) {
        printf("\nLoRA rank %ld on %s: %s per layer, %s trainable (%.4f%% of the total)\n", rank, tn,
               fmt_int(lora_layer, b1, sizeof b1), fmt_int(lora, b2, sizeof b2), pct((double)lora, (double)p.total));
    }
    if (tp) {
        printf("\ntensor parallel, degree %d (Megatron: Q/K/V/gate/up column-parallel, O/down row-parallel,\n"
               "norm gains replicated, embedding%s vocab-parallel over a vocabulary padded to %" PRId64 ")\n",
               t.P, c.tied ? "" : " and lm_head", t.vocab_padded);
        printf("  per device: %s parameters (%s; %.2f%% of the total), of which %s replicated\n",
               fmt_int(t.per_device_total, b1, sizeof b1), fmt_count((double)t.per_device_total, b2, sizeof b2),
               pct((double)t.per_device_total, (double)p.total), fmt_int(t.replicated, lbl, sizeof lbl));
        printf("  KV heads per device: %d%s\n", t.kv_heads_per_device,
               c.n_kv_heads < t.P ? " (replicated: fewer KV heads than devices)" : "");
    }
    return 0;
}

/* ==== microlm flops ========================================================================== */

static const char flops_usage[] =
    "usage: microlm flops MODEL --seq L [--batch B] [--dense | --causal] [--mac] [--ffn2 | --ffn3]\n"
    "                     [--no-lm-head] [--no-elementwise] [--head-dim-d-over-h] [--last-only]\n"
    "                     [--stages] [--sweep] [--json | --csv]\n"
    "  forward FLOPs per component, per token (prefill and decode with a KV cache), a training step\n"
    "  against 6 N D, and the attention crossovers of analysis 5. Conventions (each printed):\n"
    "  --dense / --causal   all T*T attention scores / only the computed ones (default causal)\n"
    "  --mac                multiply-accumulates instead of FLOPs for the matmul-like terms\n"
    "  --ffn2 / --ffn3      count the FFN as 2 or 3 matrices (default: as configured)\n"
    "  --no-lm-head         leave the lm_head matmul and the output softmax out\n"
    "  --no-elementwise     leave norms, RoPE, softmax, scaling, activation, gating, adds out\n"
    "  --head-dim-d-over-h  take d_k = d_model / n_heads instead of the configured head_dim\n"
    "  --last-only          logits for the last position only (generation prefill)\n"
    "  --stages             per-stage FLOPs of block 0 and the head, as the kernels count them\n"
    "  --sweep              one block at L = 128, 256, ... up to --seq (analysis 5's table)\n";

typedef struct {
    const char *name;
    uint64_t v;
} row_t;

static int flops_rows(const mlm_flops_fwd *f, row_t *r) {
    int n = 0;
    r[n++] = (row_t){"W_Q", f->q};
    r[n++] = (row_t){"W_K", f->k};
    r[n++] = (row_t){"W_V", f->v};
    r[n++] = (row_t){"W_O", f->o};
    r[n++] = (row_t){"attention projections", f->attn_proj};
    r[n++] = (row_t){"scores q.k (+scale)", f->scores};
    r[n++] = (row_t){"softmax", f->softmax};
    r[n++] = (row_t){"probs @ V", f->av};
    r[n++] = (row_t){"attention core", f->attn_core};
    r[n++] = (row_t){"W_gate", f->gate};
    r[n++] = (row_t){"W_up", f->up};
    r[n++] = (row_t){"W_down", f->down};
    r[n++] = (row_t){"FFN matmuls", f->ffn};
    r[n++] = (row_t){"activation", f->act};
    r[n++] = (row_t){"gating multiply", f->gating};
    r[n++] = (row_t){"RoPE", f->rope};
    r[n++] = (row_t){"RMSNorms", f->norms};
    r[n++] = (row_t){"residual adds", f->residual};
    r[n++] = (row_t){"lm_head", f->lm_head};
    r[n++] = (row_t){"output softmax", f->out_softmax};
    r[n++] = (row_t){"total", f->total};
    return n;
}

static int is_group(const char *n) {
    return !strcmp(n, "attention projections") || !strcmp(n, "attention core") || !strcmp(n, "FFN matmuls") ||
           !strcmp(n, "total");
}

/* Per-stage printer context. */
typedef struct { const mlm_config *c; mlm_stage_opts o; int out; jw *w; uint64_t sum; int only_block0; } stage_ctx;

static void stage_cb(const char *name, void *ctx) {
    stage_ctx *s = ctx;
    if (s->only_block0 && !strncmp(name, "blocks.", 7) && strncmp(name, "blocks.0.", 9)) return;
    uint64_t v = 0;
    if (mlm_flops_stage_ex(s->c, name, &s->o, &v, NULL)) return;
    s->sum += v;
    char b[48];
    if (s->out == OUT_JSON) jw_u64(s->w, name, v);
    else if (s->out == OUT_CSV) printf("%s,stage,%s,%" PRIu64 "\n", s->c->name, name, v);
    else printf("  %-28s %24s\n", name, mlm_fmt_int(v, b, sizeof b));
}

int mlm_cmd_flops(int argc, char **argv) {
    const char *cmd = "flops", *model = NULL;
    int out = OUT_HUMAN, stages = 0, sweep = 0, last_only = 0;
    long T = 0, B = 1;
    mlm_flop_conv cv = mlm_flop_conv_default();
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(flops_usage, stdout); return 0; }
        else if (!strcmp(a, "--json")) out = OUT_JSON;
        else if (!strcmp(a, "--csv")) out = OUT_CSV;
        else if (!strcmp(a, "--seq")) rc = opt_long(cmd, argc, argv, &i, 1, 1L << 24, &T);
        else if (!strcmp(a, "--batch")) rc = opt_long(cmd, argc, argv, &i, 1, 1L << 20, &B);
        else if (!strcmp(a, "--dense")) cv.dense = 1;
        else if (!strcmp(a, "--causal")) cv.dense = 0;
        else if (!strcmp(a, "--mac")) cv.mac = 1;
        else if (!strcmp(a, "--ffn2")) cv.ffn_matrices = 2;
        else if (!strcmp(a, "--ffn3")) cv.ffn_matrices = 3;
        else if (!strcmp(a, "--no-lm-head")) cv.lm_head = 0;
        else if (!strcmp(a, "--no-elementwise")) cv.elementwise = 0;
        else if (!strcmp(a, "--head-dim-d-over-h")) cv.head_dim_d_over_h = 1;
        else if (!strcmp(a, "--last-only")) last_only = 1;
        else if (!strcmp(a, "--stages")) stages = 1;
        else if (!strcmp(a, "--sweep")) sweep = 1;
        else if (a[0] == '-' && a[1]) return bad(cmd, "unknown option '%s' (see microlm flops --help)", a);
        else if (model) return bad(cmd, "one MODEL only (got '%s' and '%s'; use microlm compare)", model, a);
        else model = a;
        if (rc) return rc;
    }
    if (!model) return bad(cmd, "missing MODEL (see microlm flops --help)");
    if (!T) return bad(cmd, "missing --seq L (the sequence length)");
    mlm_config c;
    if (load_model(cmd, model, &c)) return 1;
    mlm_err e = {{0}};
    char label[400], b1[48], b2[48];
    mlm_flop_conv_label(&cv, &c, label, sizeof label);

    if (sweep) {
        /* one block (lm_head out), as analysis 5's table: L = 128, 256, ..., T */
        mlm_config one = c;
        one.n_layers = 1;
        mlm_flop_conv bc = cv;
        bc.lm_head = 0;
        mlm_flop_conv_label(&bc, &c, label, sizeof label);
        jw w;
        if (out == OUT_JSON) { jw_begin(&w); jw_str(&w, "model", c.name); jw_str(&w, "conventions", label);
                               jw_i64(&w, "batch", B); jw_open(&w, "per_block", '['); }
        else if (out == OUT_CSV) printf("model,L,attn_proj,attn_core,ffn,rope,norms,other,total\n");
        else {
            printf("model: %s, one block, batch %ld\nconventions: %s\n\n", c.name, B, label);
            printf("%9s %14s %14s %14s %10s %10s %12s %14s\n", "L", "Attn Proj", "Attn Core", "FFN", "RoPE", "Norm",
                   "Other", "Total");
        }
        for (long L = 128; L <= T; L *= 2) {
            mlm_flops_fwd f;
            if (mlm_flops_forward(&one, B, L, 0, &bc, &f, &e)) { fprintf(stderr, "microlm: flops: %s\n", e.msg); return 1; }
            uint64_t fn = bc.elementwise ? (uint64_t)B * (uint64_t)L * (4 * (uint64_t)c.d_model + 4) : 0; /* final norm */
            uint64_t norms = f.norms - fn, total = f.total - fn, other = f.other - fn - f.rope - norms;
            if (out == OUT_JSON) {
                jw_open(&w, NULL, '{');
                jw_i64(&w, "L", L);
                jw_u64(&w, "attn_proj", f.attn_proj);
                jw_u64(&w, "attn_core", f.attn_core);
                jw_u64(&w, "ffn", f.ffn);
                jw_u64(&w, "rope", f.rope);
                jw_u64(&w, "norms", norms);
                jw_u64(&w, "other", other);
                jw_u64(&w, "total", total);
                jw_close(&w, '}');
            } else if (out == OUT_CSV)
                printf("%s,%ld,%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 ",%" PRIu64 "\n",
                       c.name, L, f.attn_proj, f.attn_core, f.ffn, f.rope, norms, other, total);
            else {
                char s4[32], s5[32], s6[32];
                printf("%9ld %13.2fG %13.2fG %13.2fG %10s %10s %12s %13.2fG\n", L, f.attn_proj / 1e9, f.attn_core / 1e9,
                       f.ffn / 1e9, mlm_fmt_si((double)f.rope, s4, 32), mlm_fmt_si((double)norms, s5, 32),
                       mlm_fmt_si((double)other, s6, 32), total / 1e9);
            }
        }
        if (out == OUT_JSON) { jw_close(&w, ']'); jw_close(&w, '}'); }
        return 0;
    }

    mlm_flops_fwd f;
    mlm_flops_train tr;
    mlm_crossover x;
    double prefill_avg = 0;
    uint64_t decode = 0;
    if (mlm_flops_forward(&c, B, T, last_only, &cv, &f, &e) || mlm_flops_training(&c, B, T, &cv, &tr, &e) ||
        mlm_flops_per_token(&c, T, &cv, &prefill_avg, &decode, &e) || mlm_flops_crossover(&c, &x, &e)) {
        fprintf(stderr, "microlm: flops: %s\n", e.msg);
        return 1;
    }
    row_t rows[32];
    int nr = flops_rows(&f, rows);
    const char *unit = cv.mac ? "MACs" : "FLOPs";
    stage_ctx sc = {&c, {B, T, cv.dense, last_only, 0, 0, 0, 0}, out, NULL, 0, 1};

    if (out == OUT_JSON) {
        jw w;
        jw_begin(&w);
        jw_str(&w, "model", c.name);
        jw_str(&w, "source", c.source);
        json_config(&w, &c);
        jw_str(&w, "conventions", label);
        jw_open(&w, "convention", '{');
        jw_str(&w, "unit", cv.mac ? "mac" : "flop");
        jw_str(&w, "attention", cv.dense ? "dense" : "causal");
        jw_str(&w, "head_dim", cv.head_dim_d_over_h ? "d_model/n_heads" : "configured");
        jw_i64(&w, "ffn_matrices", cv.ffn_matrices ? cv.ffn_matrices : (c.ffn == MLM_FFN_RELU ? 2 : 3));
        jw_bool(&w, "lm_head", cv.lm_head);
        jw_bool(&w, "elementwise", cv.elementwise);
        jw_close(&w, '}');
        jw_i64(&w, "batch", B);
        jw_i64(&w, "seq", T);
        jw_bool(&w, "last_only", last_only);
        jw_open(&w, "forward", '{');
        jw_u64(&w, "q", f.q); jw_u64(&w, "k", f.k); jw_u64(&w, "v", f.v); jw_u64(&w, "o", f.o);
        jw_u64(&w, "scores", f.scores); jw_u64(&w, "softmax", f.softmax); jw_u64(&w, "av", f.av);
        jw_u64(&w, "gate", f.gate); jw_u64(&w, "up", f.up); jw_u64(&w, "down", f.down);
        jw_u64(&w, "act", f.act); jw_u64(&w, "gating", f.gating); jw_u64(&w, "rope", f.rope);
        jw_u64(&w, "norms", f.norms); jw_u64(&w, "residual", f.residual); jw_u64(&w, "lm_head", f.lm_head);
        jw_u64(&w, "out_softmax", f.out_softmax);
        jw_u64(&w, "attn_proj", f.attn_proj); jw_u64(&w, "attn_core", f.attn_core); jw_u64(&w, "ffn", f.ffn);
        jw_u64(&w, "other", f.other); jw_u64(&w, "matmul", f.matmul); jw_u64(&w, "elementwise", f.elementwise);
        jw_u64(&w, "scores_computed", f.scores_computed);
        jw_u64(&w, "total", f.total);
        jw_close(&w, '}');
        jw_open(&w, "per_token", '{');
        jw_dbl(&w, "prefill_average", prefill_avg);
        jw_u64(&w, "decode_at_seq", decode);
        jw_close(&w, '}');
        jw_open(&w, "training", '{');
        jw_u64(&w, "forward", tr.fwd.total);
        jw_u64(&w, "backward", tr.backward);
        jw_u64(&w, "backward_counted", tr.backward_counted);
        jw_u64(&w, "total", tr.total);
        jw_dbl(&w, "tokens", tr.tokens);
        jw_dbl(&w, "six_nd", tr.six_nd);
        jw_dbl(&w, "six_nd_non_embedding", tr.six_nd_nonemb);
        jw_dbl(&w, "ratio_to_six_nd", tr.ratio);
        jw_str(&w, "backward_convention", "matmul-like terms 2x forward, element-wise 1x forward");
        jw_close(&w, '}');
        jw_open(&w, "crossover", '{');
        jw_dbl(&w, "core_eq_ffn_dense", x.ffn_dense);
        jw_dbl(&w, "core_eq_proj_dense", x.proj_dense);
        jw_dbl(&w, "core_eq_ffn_causal", x.ffn_causal);
        jw_dbl(&w, "core_eq_proj_causal", x.proj_causal);
        jw_i64(&w, "core_eq_ffn_dense_rounded", x.ffn_dense_round);
        jw_i64(&w, "core_eq_proj_dense_rounded", x.proj_dense_round);
        jw_close(&w, '}');
        if (stages) {
            sc.w = &w;
            jw_open(&w, "stages_kernel_convention", '{');
            mlm_flops_stage_names(&c, 0, stage_cb, &sc);
            jw_close(&w, '}');
        }
        jw_close(&w, '}');
        return 0;
    }
    if (out == OUT_CSV) {
        printf("model,section,name,%s\n", unit);
        for (int i = 0; i < nr; i++) printf("%s,forward,%s,%" PRIu64 "\n", c.name, rows[i].name, rows[i].v);
        printf("%s,per_token,prefill_average,%.1f\n", c.name, prefill_avg);
        printf("%s,per_token,decode_at_seq,%" PRIu64 "\n", c.name, decode);
        printf("%s,training,backward,%" PRIu64 "\n", c.name, tr.backward);
        printf("%s,training,total,%" PRIu64 "\n", c.name, tr.total);
        printf("%s,training,six_nd,%.0f\n", c.name, tr.six_nd);
        printf("%s,crossover,core_eq_ffn_dense,%.4f\n", c.name, x.ffn_dense);
        printf("%s,crossover,core_eq_proj_dense,%.4f\n", c.name, x.proj_dense);
        printf("%s,crossover,core_eq_ffn_causal,%.4f\n", c.name, x.ffn_causal);
        printf("%s,crossover,core_eq_proj_causal,%.4f\n", c.name, x.proj_causal);
        if (stages) mlm_flops_stage_names(&c, 0, stage_cb, &sc);
        return 0;
    }
    printf("model: %s\n", c.name);
    shape_line(&c);
    printf("conventions: %s\n", label);
    printf("\nforward pass, batch %ld x seq %ld%s, all %d layers          %s   %% total\n", B, T,
           last_only ? " (logits of the last position)" : "", c.n_layers, unit);
    for (int i = 0; i < nr; i++) {
        int g = is_group(rows[i].name);
        printf("  %s%-24s %26s %8.2f%%   %s\n", g ? "" : "  ", rows[i].name, mlm_fmt_int(rows[i].v, b1, sizeof b1),
               pct((double)rows[i].v, (double)f.total), mlm_fmt_si((double)rows[i].v, b2, sizeof b2));
    }
    printf("  (attention entries computed: %s)\n", mlm_fmt_int(f.scores_computed, b1, sizeof b1));
    printf("\nper token at context %ld (batch 1)\n", T);
    printf("  prefill average (forward of %ld tokens / %ld)   %s %s\n", T, T, mlm_fmt_si(prefill_avg, b1, sizeof b1), unit);
    printf("  decode of token %ld with a KV cache of %ld       %s %s\n", T, T - 1, mlm_fmt_si((double)decode, b1, sizeof b1),
           unit);
    printf("\ntraining step on %ld x %ld tokens (backward: matmul-like 2x forward, element-wise 1x)\n", B, T);
    printf("  forward  %26s\n", mlm_fmt_int(tr.fwd.total, b1, sizeof b1));
    printf("  backward %26s\n", mlm_fmt_int(tr.backward, b1, sizeof b1));
    if (tr.backward_counted)
        printf("  backward as the kernels count it (exact) %s\n", mlm_fmt_int(tr.backward_counted, b1, sizeof b1));
    printf("  total    %26s   %s\n", mlm_fmt_int(tr.total, b1, sizeof b1), mlm_fmt_si((double)tr.total, b2, sizeof b2));
    printf("  6 N D    %26s   (N = all %s parameters; exact / 6ND = %.4f)\n",
           mlm_fmt_int((uint64_t)tr.six_nd, b2, sizeof b2), fmt_count(tr.six_nd / 6 / tr.tokens, b1, sizeof b1),
           tr.ratio);
    printf("  6 N D    %26s   (N = non-embedding parameters; exact / 6ND = %.4f)\n",
           mlm_fmt_int((uint64_t)tr.six_nd_nonemb, b1, sizeof b1), (double)tr.total / tr.six_nd_nonemb);
    printf("\ncrossovers per layer (analysis 5; FLOPs, core = (4 d_k + 5) h per computed score)\n");
    const double den = (4.0 * c.head_dim + 5) * c.n_heads;
    printf("  core = FFN          dense L = %d * %d * %d / ((4*%d + 5) * %d) = %.0f / %.0f = %.2f  -> %" PRId64 "\n",
           c.ffn == MLM_FFN_RELU ? 4 : 6, c.d_model, c.d_ff, c.head_dim, c.n_heads, x.ffn_dense * den, den, x.ffn_dense,
           x.ffn_dense_round);
    printf("  core = projections  dense L = 2 (2*%d*%d*%d + 2*%d*%d*%d) / ((4*%d + 5) * %d) = %.0f / %.0f = %.2f  -> %" PRId64
           "\n",
           c.d_model, c.n_heads, c.head_dim, c.d_model, c.n_kv_heads, c.head_dim, c.head_dim, c.n_heads,
           x.proj_dense * den, den, x.proj_dense, x.proj_dense_round);
    if (c.sliding_window)
        printf("  causal, window %d honoured: core = FFN at L = %.2f, core = projections at L = %.2f (inf: never)\n",
               c.sliding_window, x.ffn_causal, x.proj_causal);
    else
        printf("  causal (computed entries only, L = 2 x dense - 1): core = FFN at L = %.2f, = projections at L = %.2f\n",
               x.ffn_causal, x.proj_causal);
    if (stages) {
        printf("\nper stage as the kernels count them (FLOPs, element-wise in; block 0 shown, every block equal)\n");
        mlm_flops_stage_names(&c, 0, stage_cb, &sc);
    }
    return 0;
}

/* ==== microlm memory ========================================================================= */

static const char memory_usage[] =
    "usage: microlm memory MODEL [--batch B] [--seq L] [--dtype D] [--act-dtype D] [--tp P] [--json | --csv]\n"
    "  weights at fp32, bf16, int8 and int4; the KV cache for B x L at --dtype (default bf16);\n"
    "  the activations a training step saves (fp32 unless --act-dtype) and a training-step total\n"
    "  with AdamW; --tp P adds per-device weights and all-reduce traffic under tensor parallelism\n";

int mlm_cmd_memory(int argc, char **argv) {
    const char *cmd = "memory", *model = NULL;
    int out = OUT_HUMAN;
    long B = 1, T = 0, tp = 0;
    mlm_dtype dt = MLM_DT_BF16, at = MLM_DT_FP32;
    mlm_err e = {{0}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int rc = 0;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(memory_usage, stdout); return 0; }
        else if (!strcmp(a, "--json")) out = OUT_JSON;
        else if (!strcmp(a, "--csv")) out = OUT_CSV;
        else if (!strcmp(a, "--seq")) rc = opt_long(cmd, argc, argv, &i, 1, 1L << 24, &T);
        else if (!strcmp(a, "--batch")) rc = opt_long(cmd, argc, argv, &i, 1, 1L << 20, &B);
        else if (!strcmp(a, "--tp")) rc = opt_long(cmd, argc, argv, &i, 1, 1 << 16, &tp);
        else if (!strcmp(a, "--dtype") || !strcmp(a, "--act-dtype")) {
            if (i + 1 >= argc) return bad(cmd, "option %s needs a value", a);
            if (mlm_dtype_parse(argv[i + 1], !strcmp(a, "--dtype") ? &dt : &at, &e)) return bad(cmd, "%s", e.msg);
            i++;
        } else if (a[0] == '-' && a[1]) return bad(cmd, "unknown option '%s' (see microlm memory --help)", a);
        else if (model) return bad(cmd, "one MODEL only (got '%s' and '%s')", model, a);
        else model = a;
        if (rc) return rc;
    }
    if (!model) return bad(cmd, "missing MODEL (see microlm memory --help)");
    mlm_config c;
    if (load_model(cmd, model, &c)) return 1;
    if (!T) T = c.max_seq_len;
    mlm_param_counts p;
    int64_t kv_vals = 0, kv_win = 0;
    uint64_t kv_bytes = 0, kv_win_bytes = 0;
    mlm_act_size acts[MLM_ACT_TENSORS];
    mlm_memory_train mt;
    mlm_tp_plan t;
    if (mlm_params_count(&c, &p, &e) || mlm_memory_kv_cache(&c, B, T, dt, 0, &kv_vals, &kv_bytes, &e) ||
        mlm_memory_kv_cache(&c, B, T, dt, 1, &kv_win, &kv_win_bytes, &e) ||
        mlm_memory_acts_table(&c, B, T, 1, acts, MLM_ACT_TENSORS, &e) ||
        mlm_memory_training(&c, B, T, MLM_DT_FP32, at, &mt, &e) || (tp && mlm_tp_plan_make(&c, (int)tp, &t, &e))) {
        fprintf(stderr, "microlm: memory: %s\n", e.msg);
        return 1;
    }
    int64_t acts_total = mlm_memory_acts_numel(&c, B, T, 1);
    const mlm_dtype wts[] = {MLM_DT_FP32, MLM_DT_BF16, MLM_DT_INT8, MLM_DT_INT4};
    char b1[48], b2[48];
    const double kv_per_token = 2.0 * c.n_layers * (double)mlm_kv_dim(&c) * mlm_dtype_bytes(dt);
    if (out == OUT_JSON) {
        jw w;
        jw_begin(&w);
        jw_str(&w, "model", c.name);
        json_config(&w, &c);
        jw_i64(&w, "params", p.total);
        jw_open(&w, "weights_bytes", '{');
        for (int i = 0; i < 4; i++) jw_u64(&w, mlm_dtype_name(wts[i]), mlm_memory_bytes(p.total, wts[i]));
        jw_close(&w, '}');
        jw_open(&w, "kv_cache", '{');
        jw_i64(&w, "batch", B);
        jw_i64(&w, "seq", T);
        jw_str(&w, "dtype", mlm_dtype_name(dt));
        jw_i64(&w, "values", kv_vals);
        jw_u64(&w, "bytes", kv_bytes);
        jw_dbl(&w, "bytes_per_token", kv_per_token);
        jw_i64(&w, "values_window", kv_win);
        jw_u64(&w, "bytes_window", kv_win_bytes);
        jw_close(&w, '}');
        jw_open(&w, "training_activations", '{');
        jw_str(&w, "dtype", mlm_dtype_name(at));
        for (int i = 0; i < MLM_ACT_TENSORS; i++) jw_i64(&w, acts[i].name, acts[i].numel);
        jw_i64(&w, "total_values", acts_total);
        jw_u64(&w, "bytes", mt.activations);
        jw_close(&w, '}');
        jw_open(&w, "training_step_adamw_fp32", '{');
        jw_u64(&w, "weights", mt.weights);
        jw_u64(&w, "grads", mt.grads);
        jw_u64(&w, "optimizer", mt.optimizer);
        jw_u64(&w, "activations", mt.activations);
        jw_u64(&w, "total", mt.total);
        jw_close(&w, '}');
        if (tp) {
            jw_open(&w, "tensor_parallel", '{');
            jw_i64(&w, "degree", t.P);
            jw_i64(&w, "per_device_params", t.per_device_total);
            jw_u64(&w, "per_device_weight_bytes", mlm_memory_bytes(t.per_device_total, dt));
            jw_i64(&w, "allreduce_values_per_token", t.allreduce_values_token);
            jw_dbl(&w, "ring_send_bytes_per_token_per_device", t.ring_send_values_token * mlm_dtype_bytes(dt));
            jw_close(&w, '}');
        }
        jw_close(&w, '}');
        return 0;
    }
    if (out == OUT_CSV) {
        printf("model,section,name,values,bytes\n");
        for (int i = 0; i < 4; i++)
            printf("%s,weights,%s,%" PRId64 ",%" PRIu64 "\n", c.name, mlm_dtype_name(wts[i]), p.total,
                   mlm_memory_bytes(p.total, wts[i]));
        printf("%s,kv_cache,%s,%" PRId64 ",%" PRIu64 "\n", c.name, mlm_dtype_name(dt), kv_vals, kv_bytes);
        if (c.sliding_window) printf("%s,kv_cache_window,%s,%" PRId64 ",%" PRIu64 "\n", c.name, mlm_dtype_name(dt), kv_win, kv_win_bytes);
        for (int i = 0; i < MLM_ACT_TENSORS; i++)
            printf("%s,activation,%s,%" PRId64 ",%" PRIu64 "\n", c.name, acts[i].name, acts[i].numel,
                   mlm_memory_bytes(acts[i].numel, at));
        printf("%s,training,total,,%" PRIu64 "\n", c.name, mt.total);
        if (tp) printf("%s,tensor_parallel,per_device_weights,%" PRId64 ",%" PRIu64 "\n", c.name, t.per_device_total,
                       mlm_memory_bytes(t.per_device_total, dt));
        return 0;
    }
    printf("model: %s (%s parameters)\n", c.name, mlm_fmt_int((uint64_t)p.total, b1, sizeof b1));
    shape_line(&c);
    printf("\nweights (quantisation scales not included)\n");
    for (int i = 0; i < 4; i++)
        printf("  %-5s %26s bytes  %12s\n", mlm_dtype_name(wts[i]), mlm_fmt_int(mlm_memory_bytes(p.total, wts[i]), b1, sizeof b1),
               fmt_bytes((double)mlm_memory_bytes(p.total, wts[i]), b2, sizeof b2));
    printf("\nKV cache, batch %ld x %ld positions at %s: 2 * %d layers * %ld * %ld * %d KV heads * %d d_k * %g bytes\n", B,
           T, mlm_dtype_name(dt), c.n_layers, B, T, c.n_kv_heads, c.head_dim, mlm_dtype_bytes(dt));
    char b3[48];
    printf("  %s bytes  (%s; %s per token)\n", mlm_fmt_int(kv_bytes, b1, sizeof b1), fmt_bytes((double)kv_bytes, b2, sizeof b2),
           fmt_bytes(kv_per_token, b3, sizeof b3));
    if (c.sliding_window && kv_win != kv_vals)
        printf("  with a rolling buffer of the %d-token window: %s\n", c.sliding_window,
               fmt_bytes((double)kv_win_bytes, b1, sizeof b1));
    printf("\nactivations saved for the backward pass, batch %ld x %ld at %s (the tensors of mlm_acts)\n", B, T,
           mlm_dtype_name(at));
    for (int i = 0; i < MLM_ACT_TENSORS; i++) {
        if (!acts[i].numel) continue;
        printf("  %-10s %24s values  %12s  %6.2f%%\n", acts[i].name, mlm_fmt_int((uint64_t)acts[i].numel, b1, sizeof b1),
               fmt_bytes((double)mlm_memory_bytes(acts[i].numel, at), b2, sizeof b2),
               pct((double)acts[i].numel, (double)acts_total));
    }
    printf("  %-10s %24s values  %12s\n", "total", mlm_fmt_int((uint64_t)acts_total, b1, sizeof b1),
           fmt_bytes((double)mt.activations, b2, sizeof b2));
    printf("\ntraining step, fp32 weights with AdamW: weights %s + grads %s + moments %s + activations %s = %s\n",
           fmt_bytes((double)mt.weights, b1, sizeof b1), fmt_bytes((double)mt.grads, b2, sizeof b2),
           fmt_bytes((double)mt.optimizer, (char[48]){0}, 48), fmt_bytes((double)mt.activations, (char[48]){0}, 48),
           fmt_bytes((double)mt.total, (char[48]){0}, 48));
    if (tp) {
        printf("\ntensor parallel, degree %d: %s parameters per device (%s at %s)\n", t.P,
               mlm_fmt_int((uint64_t)t.per_device_total, b1, sizeof b1),
               fmt_bytes((double)mlm_memory_bytes(t.per_device_total, dt), b2, sizeof b2), mlm_dtype_name(dt));
        printf("  forward all-reduces: 2 per layer (after W_O and W_down) + 1 after the vocab-parallel embedding\n");
        printf("  = %s values per token (%s at %s); a ring sends 2(P-1)/P of that per device: %s per token\n",
               mlm_fmt_int((uint64_t)t.allreduce_values_token, b1, sizeof b1),
               fmt_bytes((double)t.allreduce_values_token * mlm_dtype_bytes(dt), b2, sizeof b2), mlm_dtype_name(dt),
               fmt_bytes(t.ring_send_values_token * mlm_dtype_bytes(dt), (char[48]){0}, 48));
    }
    return 0;
}

/* ==== microlm compare ======================================================================== */

static const char compare_usage[] =
    "usage: microlm compare MODEL MODEL ... | --all  [--seq L] [--dense] [--json | --csv]\n"
    "  parameters, block shares, FLOPs per token (prefill average at L, causal unless --dense),\n"
    "  KV cache per token (bf16) and the crossover lengths of analysis 5, side by side\n";

int mlm_cmd_compare(int argc, char **argv) {
    const char *cmd = "compare";
    int out = OUT_HUMAN, all = 0, nm = 0;
    long T = 2048;
    mlm_flop_conv cv = mlm_flop_conv_default();
    const char **models = calloc((size_t)argc + 1, sizeof *models);
    if (!models) { fprintf(stderr, "microlm: compare: out of memory\n"); return 1; }
    int rc = 0;
    for (int i = 1; i < argc && !rc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { fputs(compare_usage, stdout); free(models); return 0; }
        else if (!strcmp(a, "--json")) out = OUT_JSON;
        else if (!strcmp(a, "--csv")) out = OUT_CSV;
        else if (!strcmp(a, "--all")) all = 1;
        else if (!strcmp(a, "--dense")) cv.dense = 1;
        else if (!strcmp(a, "--causal")) cv.dense = 0;
        else if (!strcmp(a, "--seq")) rc = opt_long(cmd, argc, argv, &i, 1, 1L << 24, &T);
        else if (a[0] == '-' && a[1]) rc = bad(cmd, "unknown option '%s' (see microlm compare --help)", a);
        else models[nm++] = a;
    }
    if (rc) { free(models); return rc; }
    if (all) {
        free(models);
        nm = mlm_preset_count();
        models = calloc((size_t)nm, sizeof *models);
        if (!models) { fprintf(stderr, "microlm: compare: out of memory\n"); return 1; }
        for (int i = 0; i < nm; i++) models[i] = mlm_preset_at(i)->name;
    }
    if (nm == 0) { free(models); return bad(cmd, "give at least one MODEL, or --all"); }
    char label[400];
    mlm_flop_conv_label(&cv, NULL, label, sizeof label);
    jw w;
    if (out == OUT_JSON) {
        jw_begin(&w);
        jw_str(&w, "conventions", label);
        jw_i64(&w, "seq", T);
        jw_open(&w, "models", '[');
    } else if (out == OUT_CSV)
        printf("model,d_model,n_layers,n_heads,n_kv_heads,head_dim,d_ff,vocab,tied,params,block,attn_pct,ffn_pct,"
               "flops_per_token_prefill,flops_decode,kv_bytes_per_token_bf16,crossover_ffn_dense,crossover_proj_dense\n");
    else {
        printf("conventions: %s; per token at L = %ld (prefill average; decode of token L)\n\n", label, T);
        printf("%-15s %6s %4s %4s %3s %6s %7s %5s %16s %9s %6s %6s %10s %10s %9s %8s %8s\n", "model", "d", "L", "h",
               "kv", "d_ff", "vocab", "tied", "params", "block", "attn%", "FFN%", "prefill/t", "decode/t", "KV/token",
               "L(FFN)", "L(proj)");
    }
    for (int i = 0; i < nm && !rc; i++) {
        mlm_config c;
        mlm_err e = {{0}};
        mlm_param_counts p;
        mlm_crossover x;
        double pre = 0;
        uint64_t dec = 0;
        if (load_model(cmd, models[i], &c)) { rc = 1; break; }
        if (mlm_params_count(&c, &p, &e) || mlm_flops_crossover(&c, &x, &e) ||
            mlm_flops_per_token(&c, T, &cv, &pre, &dec, &e)) {
            fprintf(stderr, "microlm: compare: %s\n", e.msg);
            rc = 1;
            break;
        }
        double kvt = 2.0 * c.n_layers * (double)mlm_kv_dim(&c) * 2.0;
        double ap = pct((double)p.attn, (double)p.block), fp = pct((double)p.ffn, (double)p.block);
        if (out == OUT_JSON) {
            jw_open(&w, NULL, '{');
            jw_str(&w, "model", c.name);
            json_config(&w, &c);
            jw_i64(&w, "total", p.total);
            jw_i64(&w, "block", p.block);
            jw_dbl(&w, "attn_pct", ap);
            jw_dbl(&w, "ffn_pct", fp);
            jw_dbl(&w, "flops_per_token_prefill", pre);
            jw_u64(&w, "flops_decode", dec);
            jw_dbl(&w, "kv_bytes_per_token_bf16", kvt);
            jw_dbl(&w, "crossover_ffn_dense", x.ffn_dense);
            jw_dbl(&w, "crossover_proj_dense", x.proj_dense);
            jw_dbl(&w, "crossover_ffn_causal", x.ffn_causal);
            jw_dbl(&w, "crossover_proj_causal", x.proj_causal);
            jw_close(&w, '}');
        } else if (out == OUT_CSV) {
            printf("%s,%d,%d,%d,%d,%d,%d,%d,%d,%" PRId64 ",%" PRId64 ",%.4f,%.4f,%.1f,%" PRIu64 ",%.0f,%.2f,%.2f\n",
                   c.name, c.d_model, c.n_layers, c.n_heads, c.n_kv_heads, c.head_dim, c.d_ff, c.vocab_size, c.tied,
                   p.total, p.block, ap, fp, pre, dec, kvt, x.ffn_dense, x.proj_dense);
        } else {
            char b1[48], b2[48], b3[48], b4[48], b5[48];
            printf("%-15s %6d %4d %4d %3d %6d %7d %5s %16s %9s %5.1f%% %5.1f%% %10s %10s %9s %8" PRId64 " %8" PRId64 "\n",
                   c.name, c.d_model, c.n_layers, c.n_heads, c.n_kv_heads, c.d_ff, c.vocab_size, c.tied ? "yes" : "no",
                   mlm_fmt_int((uint64_t)p.total, b1, sizeof b1), fmt_count((double)p.block, b2, sizeof b2), ap, fp,
                   mlm_fmt_si(pre, b3, sizeof b3), mlm_fmt_si((double)dec, b4, sizeof b4), fmt_bytes(kvt, b5, sizeof b5),
                   x.ffn_dense_round, x.proj_dense_round);
        }
    }
    if (out == OUT_JSON && !rc) { jw_close(&w, ']'); jw_close(&w, '}'); }
    free(models);
    return rc;
}
