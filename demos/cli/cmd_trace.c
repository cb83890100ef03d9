/* cmd_trace.c - `microlm trace`: one instrumented pass of a model on tokens; prints the
 * stage table (step, shape, norm, FLOPs) and writes the trace JSON. */
#include "args.h"
#include "commands.h"
#include "backward.h"
#include "open.h"
#include "tokenizer.h"
#include "trace.h"
#include "attn_figure.h"
#include "demo.h"
#include "plot_cairo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: microlm trace --model MODEL --tokens 1,5,9 [options]\n"
            "  --model MODEL      preset name (microlm models), config .json, or llama2.c checkpoint .bin\n"
            "                     or Hugging Face model directory (config.json + safetensors)\n"
            "  --tokens LIST      token ids, run at positions 0..T-1 (or --positions)\n"
            "  --prompt TEXT      text instead of --tokens: encoded with BOS by the tokenizer; the trace\n"
            "                     records the token strings (for axis labels)\n"
            "  --tokenizer FILE   tokenizer.bin or tokenizer.json (default: the one next to the model;\n"
            "                     bytes for presets and configs); with --tokens: records token strings\n"
            "  --json PATH        write the trace JSON (schema: docs/trace-format.md)\n"
            "  --keep GLOBS       keep full tensors of matching stages, e.g. 'logits,blocks.*.attn.probs'\n"
            "  --positions LIST   explicit positions, as long as the tokens\n"
            "  --seed N           weight seed for presets and configs (default 42)\n"
            "  --dense            count attention FLOPs densely (all T*T scores); default skips masked ones\n"
            "  --no-rope          switch RoPE off;  --no-causal  switch the causal mask off\n"
            "  --last-only        logits of the last position only\n"
            "  --targets LIST     next-token targets, one per token (-1 ignores a position)\n"
            "  --grad             with --targets: record the loss and every gradient (grad.<stage>, grad.<weight>)\n"
            "  --quiet            no stage table\n"
            "  --render DIR       also draw the attention maps of every layer and head into DIR/attention.{png,svg,pdf}\n"
            "                     (long maps pooled to 64 x 64 cells; rows read \"i -> i+1\": each row predicts the next token)\n");
}

static void shape_str(const mlm_record *r, char *buf, size_t cap) {
    size_t o = 0;
    o += (size_t)snprintf(buf + o, cap - o, "(");
    for (int i = 0; i < r->ndim && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? ", " : "", (long long)r->shape[i]);
    if (o < cap) snprintf(buf + o, cap - o, ")");
}

/* The tokenizer for --prompt / --tokenizer: the file given, else the one next to the model,
 * else (presets and configs only) the byte-level fallback. NULL after printing the error. */
static mlm_tokenizer *trace_tokenizer(const char *model, const char *tok_path) {
    char found[4200];
    mlm_err e = {{0}};
    if (!tok_path && mlm_tokenizer_find(model, found, sizeof found)) tok_path = found;
    if (!tok_path) {
        if (mlm_spec_has_weights(model)) {
            fprintf(stderr, "microlm: trace: no tokenizer.json or tokenizer.bin next to '%s'; pass --tokenizer FILE\n", model);
            return NULL;
        }
        mlm_tokenizer *t = mlm_tokenizer_bytes();
        if (!t) fprintf(stderr, "microlm: out of memory\n");
        return t;
    }
    mlm_tokenizer *t = mlm_tokenizer_load(tok_path, &e);
    if (!t) fprintf(stderr, "microlm: %s\n", e.msg);
    return t;
}

/* --prompt: the text encoded with BOS into *tokens (malloc'd). Returns 0, or the exit status
 * after printing the error. */
static int encode_prompt(const char *model, const char *tok_path, const char *prompt, int **tokens, int *T) {
    mlm_tokenizer *tk = trace_tokenizer(model, tok_path);
    if (!tk) return 1;
    mlm_err e = {{0}};
    int rc = 0;
    if (mlm_tokenizer_encode(tk, prompt, strlen(prompt), 1, tokens, T, &e)) { fprintf(stderr, "microlm: %s\n", e.msg); rc = 1; }
    else if (*T == 0) { fprintf(stderr, "microlm: trace: --prompt gives no tokens\n"); free(*tokens); *tokens = NULL; rc = 2; }
    mlm_tokenizer_free(tk);
    return rc;
}

/* Axis labels of the tokens (T malloc'd strings), or NULL after printing the error. */
static char **token_labels(const char *model, const char *tok_path, const int *tokens, int T) {
    mlm_tokenizer *tk = trace_tokenizer(model, tok_path);
    if (!tk) return NULL;
    char **l = calloc((size_t)T, sizeof *l);
    for (int t = 0; l && t < T; t++) {
        char buf[256];
        mlm_tokenizer_label(tk, tokens[t], buf, sizeof buf);
        l[t] = strdup(buf);
        if (!l[t]) { for (int k = 0; k < t; k++) free(l[k]); free(l); l = NULL; }
    }
    if (!l) fprintf(stderr, "microlm: out of memory\n");
    mlm_tokenizer_free(tk);
    return l;
}

int mlm_cmd_trace(int argc, char **argv) {
    const char *model = NULL, *json = NULL, *keep = NULL, *tok_s = NULL, *pos_s = NULL, *tgt_s = NULL;
    int grad = 0;
    const char *prompt_s = NULL, *tok_path = NULL, *render_dir = NULL;
    char **labels = NULL;
    long seed = 42;
    int dense = 0, no_rope = 0, no_causal = 0, last_only = 0, quiet = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
#define VAL(dst) do { if (!has_val) { fprintf(stderr, "microlm: trace: %s needs a value\n", a); return 2; } dst = argv[++i]; } while (0)
        if (!strcmp(a, "--model")) VAL(model);
        else if (!strcmp(a, "--json")) VAL(json);
        else if (!strcmp(a, "--keep")) VAL(keep);
        else if (!strcmp(a, "--tokens")) VAL(tok_s);
        else if (!strcmp(a, "--positions")) VAL(pos_s);
        else if (!strcmp(a, "--targets")) VAL(tgt_s);
        else if (!strcmp(a, "--grad")) grad = 1;
        else if (!strcmp(a, "--prompt")) VAL(prompt_s);
        else if (!strcmp(a, "--tokenizer")) VAL(tok_path);
        else if (!strcmp(a, "--seed")) {
            const char *s;
            VAL(s);
            if (mlm_arg_long(s, 0, 2147483647L, &seed)) { fprintf(stderr, "microlm: trace: --seed '%s' is not a non-negative integer\n", s); return 2; }
        } else if (!strcmp(a, "--dense")) dense = 1;
        else if (!strcmp(a, "--no-rope")) no_rope = 1;
        else if (!strcmp(a, "--no-causal")) no_causal = 1;
        else if (!strcmp(a, "--last-only")) last_only = 1;
        else if (!strcmp(a, "--quiet")) quiet = 1;
        else if (!strcmp(a, "--render")) VAL(render_dir);
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else { fprintf(stderr, "microlm: trace: unknown option '%s' (see microlm trace --help)\n", a); return 2; }
#undef VAL
    }
    if (!model) { fprintf(stderr, "microlm: trace: --model is required\n"); return 2; }
    if (!tok_s && !prompt_s) { fprintf(stderr, "microlm: trace: --tokens is required (or --prompt)\n"); return 2; }
    if (tok_s && prompt_s) { fprintf(stderr, "microlm: trace: give --tokens or --prompt, not both\n"); return 2; }
    int *tokens = NULL, *pos = NULL, T = 0, np = 0, rc = 1;
    if (prompt_s) {
        int prc = encode_prompt(model, tok_path, prompt_s, &tokens, &T);
        if (prc) return prc;
    } else if (mlm_arg_int_list(tok_s, 0, 2147483647L, 1 << 20, &tokens, &T)) {
        fprintf(stderr, "microlm: trace: --tokens '%s' is not a comma-separated list of non-negative integers\n", tok_s);
        return 2;
    }
    if (pos_s && (mlm_arg_int_list(pos_s, 0, (1 << 24) - 1, 1 << 20, &pos, &np) || np != T)) {
        fprintf(stderr, "microlm: trace: --positions must list %d non-negative integers, one per token\n", T);
        free(tokens);
        free(pos);
        return 2;
    }
    int *targets = NULL, nt = 0;
    if (tgt_s && (mlm_arg_int_list(tgt_s, -1, 2147483647L, 1 << 20, &targets, &nt) || nt != T)) {
        fprintf(stderr, "microlm: trace: --targets must list %d integers (>= -1), one per token\n", T);
        free(tokens);
        free(pos);
        free(targets);
        return 2;
    }
    if (grad && !targets) {
        fprintf(stderr, "microlm: trace: --grad needs --targets\n");
        free(tokens);
        free(pos);
        return 2;
    }
    if (grad && last_only) {
        fprintf(stderr, "microlm: trace: --grad needs the logits of every position (drop --last-only)\n");
        free(tokens);
        free(pos);
        free(targets);
        return 2;
    }
    mlm_grads *grads = NULL;
    mlm_err e = {{0}};
    mlm_init_opts io = {(uint64_t)seed, 0};
    mlm_model *m = mlm_model_open(model, &io, &e);
    mlm_acts *acts = NULL;
    mlm_probe *probe = NULL;
    mlm_trace tr;
    memset(&tr, 0, sizeof tr);
    if (!m) { fprintf(stderr, "microlm: %s\n", e.msg); goto done; }
    acts = mlm_acts_new(&m->cfg, 1, T, grad, &e);
    char render_keep[1200];
    if (render_dir) snprintf(render_keep, sizeof render_keep, "%s%sblocks.*.attn.probs", keep ? keep : "", keep ? "," : "");
    probe = mlm_probe_new(render_dir ? render_keep : keep);
    if (!acts || !probe) { fprintf(stderr, "microlm: %s\n", acts ? "out of memory" : e.msg); goto done; }
    mlm_fwd_opts o = {.pos = pos, .no_rope = no_rope, .no_causal = no_causal, .dense = dense, .last_only = last_only};
    if (mlm_forward(m, acts, tokens, 1, T, &o, probe, &e)) { fprintf(stderr, "microlm: %s\n", e.msg); goto done; }
    double loss = 0;
    if (grad) {
        grads = mlm_grads_new(&m->cfg, 1, T, &e);
        if (!grads || mlm_backward(m, acts, grads, tokens, targets, 1, T, &o, probe, &loss, &e)) {
            fprintf(stderr, "microlm: %s\n", e.msg);
            goto done;
        }
    } else if (targets) {
        /* the loss without the backward: mean cross-entropy of the targets under the probs */
        double s = 0;
        int cnt = 0;
        const int64_t V = m->cfg.vocab_size;
        for (int t = 0; t < T && !last_only; t++) {
            if (targets[t] < 0) continue;
            if (targets[t] >= V) { fprintf(stderr, "microlm: trace: target %d is outside the vocabulary [0, %lld)\n", targets[t], (long long)V); goto done; }
            s -= log((double)acts->out_probs[(int64_t)t * V + targets[t]]);
            cnt++;
        }
        loss = cnt ? s / cnt : 0;
        mlm_probe_scalar(probe, "loss", loss, 0);
    }
    if (prompt_s || tok_path) {
        labels = token_labels(model, tok_path, tokens, T);
        if (!labels) goto done;
        if (!quiet) {
            printf("tokens (%d):", T);
            for (int t = 0; t < T; t++) printf(" %d '%s'", tokens[t], labels[t]);
            printf("\n");
        }
    }
    if (!quiet) {
        char sh[64], fl[32];
        printf("%-32s %-20s %14s %14s\n", "stage", "shape", "norm", "FLOPs");
        for (int i = 0; i < mlm_probe_count(probe); i++) {
            const mlm_record *r = mlm_probe_at(probe, i);
            shape_str(r, sh, sizeof sh);
            printf("%-32s %-20s %14.4f %14s\n", r->name, sh, r->norm, mlm_fmt_int(r->flops, fl, sizeof fl));
        }
        printf("total FLOPs (forward, %s attention): %s\n", dense ? "dense" : "causal",
               mlm_fmt_int(mlm_probe_flops(probe, NULL) - mlm_probe_flops(probe, "grad.*"), fl, sizeof fl));
        if (grad) printf("total FLOPs (backward): %s\n", mlm_fmt_int(mlm_probe_flops(probe, "grad.*"), fl, sizeof fl));
        if (targets) printf("loss (mean cross-entropy): %.6f\n", loss);
    }
    if (json) {
        tr.cfg = m->cfg;
        snprintf(tr.model, sizeof tr.model, "%s", model);
        tr.B = 1;
        tr.T = T;
        tr.tokens = tokens;
        tr.pos = pos;
        tr.targets = targets;
        tr.seed = mlm_spec_has_weights(model) ? 0 : (uint64_t)seed;
        tr.rope = !no_rope;
        tr.causal = !no_causal;
        tr.dense = dense;
        tr.probe = probe;
        tr.token_strs = labels;
        mlm_status st = mlm_trace_save(&tr, json, &e);
        if (st) { fprintf(stderr, "microlm: %s\n", e.msg); goto done; }
        if (!quiet) printf("trace written to %s\n", json);
    }
    if (render_dir) {
        mlm_attn_map *maps = malloc(sizeof *maps * (size_t)m->cfg.n_layers * (size_t)m->cfg.n_heads);
        int nmaps = maps ? mlm_attn_maps_from_probe(probe, &m->cfg, 0, maps, m->cfg.n_layers * m->cfg.n_heads) : 0;
        mlm_attn_fig_opts fo;
        memset(&fo, 0, sizeof fo);
        fo.tokens = (const char *const *)labels;
        fo.mark_predictions = 1;
        fo.colorbar = nmaps <= 4;
        char ferr[256] = "out of memory", ftitle[300];
        snprintf(ftitle, sizeof ftitle, "Attention maps of %s: %d tokens, every layer and head", model, T);
        fo.title = ftitle;
        mlmp_figure *fig = maps ? mlm_attn_figure(maps, nmaps, &fo, NULL, 0, NULL, ferr, sizeof ferr) : NULL;
        mlm_demo dd;
        mlm_demo_init(&dd, "microlm");
        dd.out_dir = render_dir;
        dd.quiet = quiet;
        int bad = !fig || mlm_demo_prepare(&dd) || mlm_demo_render(&dd, fig, "attention");
        if (!fig) fprintf(stderr, "microlm: trace: --render: %s\n", ferr);
        mlmp_figure_free(fig);
        free(maps);
        mlmp_plots_cleanup();
        if (bad) goto done;
    }
    rc = 0;
done:
    for (int t = 0; labels && t < T; t++) free(labels[t]);
    free(labels);
    mlm_probe_free(probe);
    mlm_grads_free(grads);
    mlm_acts_free(acts);
    free(targets);
    mlm_model_free(m);
    free(tokens);
    free(pos);
    return rc;
}
