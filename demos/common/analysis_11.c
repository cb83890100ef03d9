/* 11_architecture_diagram.c - analysis 11: the forward-pass diagram of the seeds (embedding,
 * RMSNorm, Q/K/V, RoPE, causal softmax, W_O, residuals, SwiGLU, final norm, lm_head,
 * logits) drawn with the Cairo diagram kind (plots/diagram.h) from a real trace: every box
 * carries its live shape, Frobenius norm and FLOPs. gnuplot cannot draw diagrams, so the
 * diagram is always Cairo; the companion figure (the same numbers as bars, which the report
 * shows) follows --backend. Files: 11_architecture_diagram.{png,svg,pdf,json} (the diagram)
 * and 11_architecture_numbers.{png,svg,pdf} (the companion figure). */
#include "analysis.h"
#include "args.h"
#include "diagram.h"
#include "forward.h"
#include "plot_cairo.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const char *id, *stage, *title;   /* stage: "L" is replaced by the layer */
    double col, row;
    mlmp_node_shape shape;
    unsigned fill;
} box;

static const box boxes[] = {
    {"emb", "embed", "Token embedding", 2, 0, MLMP_NODE_BOX, 0xeff6ff},
    {"n1", "blocks.L.attn_norm", "RMSNorm 1", 1.5, 1, MLMP_NODE_ROUND, 0xf1f5f9},
    {"v", "blocks.L.attn.v", "V = x W<sub>V</sub>", 0, 2.6, MLMP_NODE_BOX, 0xf0fdf4},
    {"k", "blocks.L.attn.k", "K = x W<sub>K</sub>", 1, 2, MLMP_NODE_BOX, 0xf0fdf4},
    {"q", "blocks.L.attn.q", "Q = x W<sub>Q</sub>", 2, 2, MLMP_NODE_BOX, 0xf0fdf4},
    {"kr", "blocks.L.attn.k_rot", "RoPE(K)", 1, 3, MLMP_NODE_ROUND, 0xf0fdf4},
    {"qr", "blocks.L.attn.q_rot", "RoPE(Q)", 2, 3, MLMP_NODE_ROUND, 0xf0fdf4},
    {"sc", "blocks.L.attn.scores", "QK<sup>T</sup>/√d<sub>k</sub> + causal mask", 2, 4, MLMP_NODE_BOX, 0xf0fdf4},
    {"sm", "blocks.L.attn.probs", "softmax (causal rows)", 2, 5, MLMP_NODE_BOX, 0xf0fdf4},
    {"av", "blocks.L.attn.heads", "heads = A V", 2, 6, MLMP_NODE_BOX, 0xf0fdf4},
    {"wo", "blocks.L.attn.out", "concat · W<sub>O</sub>", 2, 7, MLMP_NODE_BOX, 0xf0fdf4},
    {"r1", "blocks.L.resid_mid", "+ residual 1", 2, 8, MLMP_NODE_ROUND, 0xf1f5f9},
    {"n2", "blocks.L.ffn_norm", "RMSNorm 2", 4.5, 9, MLMP_NODE_ROUND, 0xf1f5f9},
    {"up", "blocks.L.ffn.up", "up = x W<sub>up</sub>", 4, 10, MLMP_NODE_BOX, 0xfff7ed},
    {"gate", "blocks.L.ffn.gate", "gate = x W<sub>gate</sub>", 5, 10, MLMP_NODE_BOX, 0xfff7ed},
    {"act", "blocks.L.ffn.act", "SiLU(gate)", 5, 11, MLMP_NODE_ROUND, 0xfff7ed},
    {"hid", "blocks.L.ffn.hidden", "SiLU(gate) ⊙ up", 5, 12, MLMP_NODE_BOX, 0xfff7ed},
    {"down", "blocks.L.ffn.down", "down = h W<sub>down</sub>", 5, 13, MLMP_NODE_BOX, 0xfff7ed},
    {"r2", "blocks.L.resid_post", "+ residual 2", 5, 14, MLMP_NODE_ROUND, 0xf1f5f9},
    {"fn", "final_norm", "final RMSNorm", 5, 15, MLMP_NODE_ROUND, 0xfdf4ff},
    {"lm", "logits", "lm_head → logits", 5, 16, MLMP_NODE_BOX, 0xfdf4ff},
    {"pr", "probs", "softmax → next-token probs", 5, 17, MLMP_NODE_BOX, 0xfdf4ff},
};
#define NBOX ((int)(sizeof boxes / sizeof boxes[0]))

static void stage_name(const char *pat, int layer, char *buf, size_t cap) {
    const char *l = strstr(pat, ".L.");
    if (!l) { snprintf(buf, cap, "%s", pat); return; }
    snprintf(buf, cap, "%.*s.%d.%s", (int)(l - pat), pat, layer, l + 3);
}

static void shape_str(const mlm_record *r, char *buf, size_t cap) {
    size_t o = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < r->ndim && o < cap; i++) o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? ", " : "", (long long)r->shape[i]);
    if (o < cap) snprintf(buf + o, cap - o, ")");
}

int mlm_analysis_11(int argc, char **argv, mlm_analysis_out *out) {
    mlm_demo d;
    mlm_demo_init(&d, "11_architecture_diagram");
    if (out) d.quiet = !out->verbose;
    const char *model = "microlm";
    long T = 8, layer = 0;
    double dpi = 150;
    const mlm_demo_opt opts[] = {
        {"--model", MLM_OPT_STR, &model, 0, 0, "preset or config .json (default microlm; random weights)"},
        {"--seq", MLM_OPT_LONG, &T, 1, 1024, "tokens of the traced input (default 8)"},
        {"--layer", MLM_OPT_LONG, &layer, 0, 1024, "the block whose live numbers are drawn (default 0)"},
        {"--dpi", MLM_OPT_DOUBLE, &dpi, 50, 600, "PNG resolution of the diagram (default 150)"},
    };
    int prc = mlm_demo_parse(&d, argc, argv, opts, 4, "usage: 11_architecture_diagram [options]");
    if (prc) return prc == 1 ? 0 : prc;
    mlm_err e;
    mlm_config cfg;
    if (mlm_config_resolve(&cfg, model, &e)) return mlm_demo_fail(&d, "%s", e.msg);
    if (layer >= cfg.n_layers) return mlm_demo_fail(&d, "--layer %ld: the model has %d layers", layer, cfg.n_layers) + 1;
    if (cfg.norm_pos != MLM_PRENORM || cfg.ffn != MLM_FFN_SWIGLU) return mlm_demo_fail(&d, "%s: the diagram draws pre-norm SwiGLU blocks", cfg.name) + 1;
    if (T > cfg.max_seq_len) cfg.max_seq_len = (int)T;
    if (mlm_demo_prepare(&d)) return 1;
    mlm_model *m = mlm_model_new(&cfg, &e);
    if (!m) return mlm_demo_fail(&d, "%s", e.msg);
    mlm_init_opts io = {d.seed, 0};
    mlm_model_init(m, &io);
    int *tok = malloc(sizeof(int) * (size_t)T);
    mlm_rng rng;
    mlm_rng_seed(&rng, d.seed ^ 0x11ULL);
    for (long t = 0; t < T; t++) tok[t] = (int)mlm_rng_below(&rng, (uint32_t)cfg.vocab_size);
    mlm_acts *a = mlm_acts_new(&cfg, 1, (int)T, 0, &e);
    mlm_probe *p = mlm_probe_new(NULL);
    if (!a || !p || mlm_forward(m, a, tok, 1, (int)T, NULL, p, &e)) {
        mlm_acts_free(a); mlm_probe_free(p); mlm_model_free(m); free(tok);
        return mlm_demo_fail(&d, "%s", e.msg);
    }
    uint64_t total = mlm_probe_flops(p, NULL);
    char dtitle[256], fl[32], nb[96];
    snprintf(dtitle, sizeof dtitle, "%s forward pass, traced: B = 1, T = %ld, d = %d, %d heads (%d KV), d<sub>ff</sub> = %d, vocab %d — block %ld of %d shown",
             cfg.name, T, cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.d_ff, cfg.vocab_size, layer, cfg.n_layers);
    mlmp_diagram *dg = mlmp_diagram_new(dtitle);
    char err[256];
    int bad = 0;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", cfg.name);
    cJSON_AddNumberToObject(root, "seq", (double)T);
    cJSON_AddNumberToObject(root, "layer", (double)layer);
    cJSON_AddNumberToObject(root, "seed", (double)d.seed);
    cJSON_AddStringToObject(root, "diagram_renderer", "Cairo diagram kind only (plots/diagram.h); gnuplot cannot draw diagrams");
    cJSON_AddNumberToObject(root, "total_flops", (double)total);
    cJSON *ba = cJSON_AddArrayToObject(root, "boxes");
    double fl_v[NBOX], nm_v[NBOX];
    const char *cat[NBOX];
    char catb[NBOX][96];
    if (!d.quiet) printf("Analysis 11: the architecture diagram (%s, T = %ld, block %ld)\n  %-28s %-18s %12s %14s\n", cfg.name, T, layer, "stage", "shape", "norm", "FLOPs");
    for (int i = 0; i < NBOX && dg; i++) {
        char st[96], sh[64];
        stage_name(boxes[i].stage, (int)layer, st, sizeof st);
        const mlm_record *r = mlm_probe_find(p, st);
        if (!r) { bad = 1; snprintf(err, sizeof err, "stage %s missing from the trace", st); break; }
        shape_str(r, sh, sizeof sh);
        char label[512];
        snprintf(label, sizeof label, "<b>%s</b>  %s\n‖·‖ %.3g · %s FLOPs", boxes[i].title, sh, r->norm,
                 r->flops ? mlm_fmt_si((double)r->flops, fl, sizeof fl) : "0");
        if (mlmp_diagram_node(dg, boxes[i].id, label, boxes[i].col, boxes[i].row, boxes[i].shape, mlmp_rgb(boxes[i].fill), err, sizeof err)) { bad = 1; break; }
        if (!d.quiet) printf("  %-28s %-18s %12.4f %14s\n", st, sh, r->norm, mlm_fmt_int(r->flops, nb, sizeof nb));
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", boxes[i].id);
        cJSON_AddStringToObject(o, "stage", st);
        cJSON_AddStringToObject(o, "shape", sh);
        cJSON_AddNumberToObject(o, "norm", r->norm);
        cJSON_AddNumberToObject(o, "flops", (double)r->flops);
        cJSON_AddItemToArray(ba, o);
        fl_v[i] = (double)r->flops;
        nm_v[i] = r->norm;
        snprintf(catb[i], sizeof catb[i], "%s", st);
        cat[i] = catb[i];
    }
    char tin[128];
    snprintf(tin, sizeof tin, "<b>input ids</b>\n(1, %ld)", T);
    if (!bad && mlmp_diagram_node(dg, "ids", tin, 0.8, 0, MLMP_NODE_LABEL, mlmp_rgba(0, 0), err, sizeof err)) bad = 1;
    static const char *edges[][3] = {
        {"ids", "emb", NULL}, {"emb", "n1", NULL}, {"n1", "q", NULL}, {"n1", "k", NULL}, {"n1", "v", NULL}, {"q", "qr", NULL},
        {"k", "kr", NULL}, {"qr", "sc", NULL}, {"kr", "sc", NULL}, {"sc", "sm", NULL}, {"sm", "av", NULL}, {"v", "av", NULL},
        {"av", "wo", NULL}, {"wo", "r1", NULL}, {"r1", "n2", NULL}, {"n2", "gate", NULL}, {"n2", "up", NULL},
        {"gate", "act", NULL}, {"act", "hid", NULL}, {"up", "hid", NULL}, {"hid", "down", NULL}, {"down", "r2", NULL},
        {"r2", "fn", "after the last block"}, {"fn", "lm", NULL}, {"lm", "pr", NULL},
    };
    for (size_t i = 0; !bad && i < sizeof edges / sizeof edges[0]; i++)
        if (mlmp_diagram_edge(dg, edges[i][0], edges[i][1], edges[i][2], MLMP_EDGE_DIRECT, err, sizeof err)) bad = 1;
    if (!bad && (mlmp_diagram_edge(dg, "emb", "r1", "residual", MLMP_EDGE_SIDE, err, sizeof err) ||
                 mlmp_diagram_edge(dg, "r1", "r2", "residual", MLMP_EDGE_SIDE, err, sizeof err)))
        bad = 1;
    char gl[160];
    snprintf(gl, sizeof gl, "attention (block %ld of %d)", layer, cfg.n_layers);
    const char *ga[] = {"n1", "q", "k", "v", "qr", "kr", "sc", "sm", "av", "wo", "r1"};
    const char *gf[] = {"n2", "gate", "up", "act", "hid", "down", "r2"};
    if (!bad && (mlmp_diagram_group(dg, gl, ga, 11, mlmp_rgb(0xf6fbf6), err, sizeof err) ||
                 mlmp_diagram_group(dg, "SwiGLU FFN (same block)", gf, 7, mlmp_rgb(0xfffaf3), err, sizeof err)))
        bad = 1;
    if (bad || !dg) {
        mlmp_diagram_free(dg); cJSON_Delete(root); mlm_acts_free(a); mlm_probe_free(p); mlm_model_free(m); free(tok);
        return mlm_demo_fail(&d, "diagram: %s", dg ? err : "out of memory");
    }
    double w_pt = 0, h_pt = 0;
    mlmp_diagram_size(dg, &w_pt, &h_pt, err, sizeof err);
    cJSON_AddNumberToObject(root, "diagram_width_pt", w_pt);
    cJSON_AddNumberToObject(root, "diagram_height_pt", h_pt);
    int rc = 0;
    if (!out) {
        const char *ext[] = {"png", "svg", "pdf"};
        for (int k = 0; k < 3 && !rc; k++) {
            char path[4096];
            snprintf(path, sizeof path, "%s/11_architecture_diagram.%s", d.out_dir, ext[k]);
            if (mlmp_diagram_render(dg, path, dpi, err, sizeof err)) rc = mlm_demo_fail(&d, "%s", err);
        }
        if (!rc && !d.quiet) printf("  wrote %s/11_architecture_diagram.{png,svg,pdf} (Cairo diagram kind; %.0f x %.0f pt)\n", d.out_dir, w_pt, h_pt);
    }
    if (out) {
        out->diagram = dg; /* the report driver renders it and gives it a page */
        snprintf(out->fig_name, sizeof out->fig_name, "11_architecture_numbers");
    } else {
        mlmp_diagram_free(dg);
    }
    /* the companion figure: the same live numbers as bars (the report's page) */
    mlmp_figure *fig = mlmp_figure_new("The architecture diagram's live numbers: FLOPs and norm of every box", 1, 2);
    mlmp_figure_set_size_px(fig, 2600, 1500, 150);
    mlmp_panel_t *pa = mlmp_panel(fig, 0, 0);
    char l2[160];
    snprintf(l2, sizeof l2, "%s, T = %ld, block %ld; total forward %s FLOPs (all %d blocks)", cfg.name, T, layer, mlm_fmt_si((double)total, fl, sizeof fl), cfg.n_layers);
    mlmp_panel_set_title(pa, "FLOPs of each box (the kernels' own counts)", l2);
    mlmp_panel_set_bars_horizontal(pa, 1);
    mlmp_panel_set_ycategories(pa, cat, NBOX);
    mlmp_panel_set_xscale(pa, MLMP_SCALE_LOG);
    double flp[NBOX];
    for (int i = 0; i < NBOX; i++) flp[i] = fl_v[i] > 0 ? fl_v[i] : NAN;
    mlmp_series *b1 = mlmp_add_bars(pa, flp, NBOX, NULL);
    mlmp_series_set_color(b1, mlmp_rgb(0x0072b2));
    mlmp_bars_set_value_format(b1, "%.3g");
    mlmp_panel_set_xlabel(pa, "FLOPs (log; embed: 0, a lookup)");
    mlmp_panel_t *pb = mlmp_panel(fig, 0, 1);
    mlmp_panel_set_title(pb, "Frobenius norm of each box's output", "RMSNorm outputs sit at √(T·d) with unit gains");
    mlmp_panel_set_bars_horizontal(pb, 1);
    mlmp_panel_set_ycategories(pb, cat, NBOX);
    mlmp_series *b2 = mlmp_add_bars(pb, nm_v, NBOX, NULL);
    mlmp_series_set_color(b2, mlmp_rgb(0x009e73));
    mlmp_bars_set_value_format(b2, "%.3g");
    mlmp_panel_set_xlabel(pb, "‖output‖<sub>F</sub>");
    if (out) {
        snprintf(out->title, sizeof out->title, "The architecture diagram, from a live trace");
        snprintf(out->finding, sizeof out->finding,
                 "A traced forward pass of %s (random weights, T = %ld) labels every box of the forward-pass diagram with its live "
                 "shape, norm and FLOPs: the whole pass counts %s FLOPs; in block %ld the FFN's three matmuls count %s FLOPs each "
                 "against %s for Q, and the lm_head %s. The diagram itself (Cairo diagram kind, results/11_architecture_diagram.png) "
                 "is not a figure-model page; this page shows its numbers.",
                 cfg.name, T, mlm_fmt_si((double)total, fl, sizeof fl), layer, mlm_fmt_si(fl_v[14], nb, sizeof nb),
                 mlm_fmt_si(fl_v[4], dtitle, sizeof dtitle), mlm_fmt_si(fl_v[20], gl, sizeof gl));
        snprintf(out->caption, sizeof out->caption,
                 "The boxes of the architecture diagram in forward order (the diagram is results/11_architecture_diagram.png, "
                 "drawn by the Cairo diagram kind; gnuplot cannot draw diagrams): (a) FLOPs each stage's kernel counted, log "
                 "scale; (b) the Frobenius norm of each stage's output.");
    }
    if (rc) { mlmp_figure_free(fig); cJSON_Delete(root); }
    else if (out) rc = mlm_analysis_finish(&d, fig, root, "11_architecture_diagram", out);
    else {
        rc = mlm_demo_render(&d, fig, "11_architecture_numbers") ? 1 : 0;
        if (!rc) rc = mlm_demo_save_json(&d, root, "11_architecture_diagram") ? 1 : 0;
        else cJSON_Delete(root);
        mlmp_figure_free(fig);
        mlmp_plots_cleanup();
    }
    mlm_acts_free(a); mlm_probe_free(p); mlm_model_free(m); free(tok);
    return rc;
}
