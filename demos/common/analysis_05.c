/* analysis_05.c - analysis 5: where the FLOPs of a block go as the sequence grows, and the
 * lengths where the quadratic attention core overtakes the FFN and the projections. Every
 * count comes from the per-stage formulas of lib/flops.c (which the tests prove equal to the
 * FLOPs the kernels count), at full size, in the dense convention of the reference (all
 * L x L scores) with the causal one beside it. */
#include "args.h"
#include "analysis.h"
#include "flops.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXL 24
#define MAXM 8

typedef struct { double proj, core, core_causal, ffn, rope, norm, other, total, total_causal; } block_flops;

static double st(const mlm_config *c, const char *name, int64_t B, int64_t L, int dense) {
    char full[96];
    snprintf(full, sizeof full, "blocks.0.%s", name);
    uint64_t v = mlm_flops_stage(c, full, B, L, dense, 0);
    return v == MLM_FLOPS_UNKNOWN ? NAN : (double)v;
}

static block_flops per_block(const mlm_config *c, int64_t B, int64_t L) {
    block_flops f;
    f.proj = st(c, "attn.q", B, L, 1) + st(c, "attn.k", B, L, 1) + st(c, "attn.v", B, L, 1) + st(c, "attn.out", B, L, 1);
    f.core = st(c, "attn.scores", B, L, 1) + st(c, "attn.probs", B, L, 1) + st(c, "attn.heads", B, L, 1);
    f.core_causal = st(c, "attn.scores", B, L, 0) + st(c, "attn.probs", B, L, 0) + st(c, "attn.heads", B, L, 0);
    f.ffn = st(c, "ffn.up", B, L, 1) + st(c, "ffn.down", B, L, 1) + (c->ffn == MLM_FFN_SWIGLU ? st(c, "ffn.gate", B, L, 1) : 0);
    f.rope = st(c, "attn.q_rot", B, L, 1) + st(c, "attn.k_rot", B, L, 1);
    f.norm = st(c, "attn_norm", B, L, 1) + st(c, "ffn_norm", B, L, 1);
    f.other = st(c, "ffn.hidden", B, L, 1) + st(c, "resid_mid", B, L, 1) + st(c, "resid_post", B, L, 1) +
              (c->ffn == MLM_FFN_SWIGLU ? st(c, "ffn.act", B, L, 1) : 0);
    f.total = f.proj + f.core + f.ffn + f.rope + f.norm + f.other;
    f.total_causal = f.total - f.core + f.core_causal;
    return f;
}

static void g(double v, char *buf, size_t cap) {
    if (v >= 1e9) snprintf(buf, cap, "%.2fG", v / 1e9);
    else snprintf(buf, cap, "%.1fM", v / 1e6);
}

int mlm_analysis_05(int argc, char **argv, mlm_analysis_out *out) {
    mlm_demo d;
    mlm_demo_init(&d, "05_flops_crossover");
    if (out) d.quiet = !out->verbose;
    const char *model = "llama3-8b", *list = "llama2-7b,llama2-70b,llama3-8b,mistral-7b";
    long B = 1, Lmin = 128, Lmax = 32768;
    const mlm_demo_opt opts[] = {
        {"--model", MLM_OPT_STR, &model, 0, 0, "preset or config (default llama3-8b)"},
        {"--models", MLM_OPT_STR, &list, 0, 0, "configs compared in panel (d) (default llama2-7b,llama2-70b,llama3-8b,mistral-7b)"},
        {"--batch", MLM_OPT_LONG, &B, 1, 4096, "batch size (default 1)"},
        {"--min-seq", MLM_OPT_LONG, &Lmin, 1, 1 << 24, "shortest sequence, a power of two (default 128)"},
        {"--max-seq", MLM_OPT_LONG, &Lmax, 1, 1 << 24, "longest sequence, a power of two (default 32768)"},
    };
    int prc = mlm_demo_parse(&d, argc, argv, opts, 5, "usage: 05_flops_crossover [options]");
    if (prc) return prc == 1 ? 0 : prc;
    if ((Lmin & (Lmin - 1)) || (Lmax & (Lmax - 1))) return mlm_demo_fail(&d, "--min-seq and --max-seq must be powers of two") + 1;
    if (Lmax < Lmin) return mlm_demo_fail(&d, "--max-seq must be at least --min-seq") + 1;
    mlm_err e;
    mlm_config c;
    if (mlm_config_resolve(&c, model, &e)) return mlm_demo_fail(&d, "%s", e.msg);
    mlm_crossover x;
    if (mlm_flops_crossover(&c, &x, &e)) return mlm_demo_fail(&d, "%s", e.msg);
    if (mlm_demo_prepare(&d)) return 1;
    int nL = 0;
    double Ls[MAXL];
    block_flops F[MAXL];
    for (long L = Lmin; L <= Lmax && nL < MAXL; L *= 2) { Ls[nL] = (double)L; F[nL] = per_block(&c, B, L); nL++; }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", c.name);
    cJSON_AddNumberToObject(root, "batch", (double)B);
    cJSON_AddStringToObject(root, "convention", "dense attention (all L x L scores), FLOPs = 2 per multiply-add, per block, forward");
    cJSON *rows = cJSON_AddArrayToObject(root, "rows");
    if (!d.quiet) {
        printf("Analysis 5: compute distribution (FLOPs per block, forward, dense attention)\n");
        printf("  Config: %s (d=%d, h=%d, h_kv=%d, d_k=%d, d_ff=%d), batch %ld\n\n", c.name, c.d_model, c.n_heads,
               c.n_kv_heads, c.head_dim, c.d_ff, B);
        printf("  %7s %12s %12s %12s %10s %10s %10s %12s %14s\n", "L", "Attn Proj", "Attn Core", "FFN", "RoPE", "Norm", "Other",
               "Total", "Total(causal)");
        printf("  %s\n", "------------------------------------------------------------------------------------------------------");
    }
    for (int i = 0; i < nL; i++) {
        char a1[16], a2[16], a3[16], a4[16], a5[16], a6[16], a7[16], a8[16];
        g(F[i].proj, a1, 16); g(F[i].core, a2, 16); g(F[i].ffn, a3, 16); g(F[i].rope, a4, 16);
        g(F[i].norm, a5, 16); g(F[i].other, a6, 16); g(F[i].total, a7, 16); g(F[i].total_causal, a8, 16);
        if (!d.quiet) printf("  %7.0f %12s %12s %12s %10s %10s %10s %12s %14s\n", Ls[i], a1, a2, a3, a4, a5, a6, a7, a8);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "L", Ls[i]);
        cJSON_AddNumberToObject(o, "attn_proj", F[i].proj);
        cJSON_AddNumberToObject(o, "attn_core", F[i].core);
        cJSON_AddNumberToObject(o, "attn_core_causal", F[i].core_causal);
        cJSON_AddNumberToObject(o, "ffn", F[i].ffn);
        cJSON_AddNumberToObject(o, "rope", F[i].rope);
        cJSON_AddNumberToObject(o, "norm", F[i].norm);
        cJSON_AddNumberToObject(o, "other", F[i].other);
        cJSON_AddNumberToObject(o, "total", F[i].total);
        cJSON_AddNumberToObject(o, "total_causal", F[i].total_causal);
        cJSON_AddNumberToObject(o, "per_token", F[i].total / (Ls[i] * (double)B));
        cJSON_AddItemToArray(rows, o);
    }
    double a = (4.0 * c.head_dim + 5) * c.n_heads;
    if (!d.quiet) {
        printf("\n  Crossovers (dense convention):\n");
        printf("    Attention core = FFN at L = %.1f  (%lld)\n", x.ffn_dense, (long long)x.ffn_dense_round);
        printf("      L = 6 d d_ff / ((4 d_k + 5) h) = 6 * %d * %d / ((4*%d + 5) * %d) = %.0f / %.0f = %.1f\n", c.d_model, c.d_ff,
               c.head_dim, c.n_heads, 6.0 * c.d_model * c.d_ff, a, x.ffn_dense);
        printf("    Attention core = projections at L = %.1f  (%lld)\n", x.proj_dense, (long long)x.proj_dense_round);
        printf("      L = 2 (2 d h d_k + 2 d h_kv d_k) / ((4 d_k + 5) h)\n");
        printf("    Causal convention (masked scores skipped): core = FFN at L = %.1f, core = projections at L = %.1f\n", x.ffn_causal, x.proj_causal);
        printf("  RoPE, norms and the rest are the kernels' exact counts (lib/kernels.h), not the reference's 6BLd and 4BLd estimates.\n\n");
    }
    cJSON *cx = cJSON_AddObjectToObject(root, "crossover");
    cJSON_AddNumberToObject(cx, "core_equals_ffn", x.ffn_dense);
    cJSON_AddNumberToObject(cx, "core_equals_ffn_round", (double)x.ffn_dense_round);
    cJSON_AddNumberToObject(cx, "core_equals_proj", x.proj_dense);
    cJSON_AddNumberToObject(cx, "core_equals_proj_round", (double)x.proj_dense_round);
    cJSON_AddNumberToObject(cx, "core_equals_ffn_causal", x.ffn_causal);
    cJSON_AddNumberToObject(cx, "core_equals_proj_causal", x.proj_causal);

    mlmp_figure *fig = mlmp_figure_new("Compute distribution: FLOPs breakdown and the attention / FFN crossover", 2, 3);
    char t1[160], t2[160];
    double *cols[7];
    for (int k = 0; k < 7; k++) cols[k] = malloc(sizeof(double) * (size_t)nL);
    for (int i = 0; i < nL; i++) {
        cols[0][i] = F[i].proj; cols[1][i] = F[i].core; cols[2][i] = F[i].ffn; cols[3][i] = F[i].rope;
        cols[4][i] = F[i].norm; cols[5][i] = F[i].other; cols[6][i] = F[i].core_causal;
    }
    const char *cn[6] = {"attention projections", "attention core (QK<sup>T</sup>, softmax, AV)", "FFN (SwiGLU)", "RoPE", "norms", "other element-wise"};
    mlmp_color cc[6] = {mlmp_rgb(0x009e73), mlmp_rgb(0xd55e00), mlmp_rgb(0xe69f00), mlmp_rgb(0x56b4e9), mlmp_rgb(0x8c6bb1), mlmp_rgb(0x999999)};
    /* (a) log-log per component */
    mlmp_panel_t *pa = mlmp_panel(fig, 0, 0);
    snprintf(t2, sizeof t2, "%s; the core is quadratic, everything else linear", c.name);
    mlmp_panel_set_title(pa, "FLOPs per component vs sequence length", t2);
    mlmp_panel_set_xscale(pa, MLMP_SCALE_LOG2);
    mlmp_panel_set_yscale(pa, MLMP_SCALE_LOG);
    mlmp_panel_set_xlabel(pa, "sequence length L");
    mlmp_panel_set_ylabel(pa, "FLOPs per block");
    const char *an[5] = {"projections", "attention core", "FFN", "RoPE", "norms"};
    for (int k = 0; k < 5; k++) {
        mlmp_series *s = mlmp_add_line(pa, Ls, cols[k], (size_t)nL, an[k]);
        mlmp_series_set_color(s, cc[k]);
        mlmp_series_set_marker(s, MLMP_MARKER_CIRCLE);
    }
    mlmp_series *sc = mlmp_add_line(pa, Ls, cols[6], (size_t)nL, "core, causal");
    mlmp_series_set_color(sc, cc[1]);
    mlmp_series_set_dash(sc, MLMP_DASH_DASHED);
    snprintf(t1, sizeof t1, "core = FFN at L = %lld", (long long)x.ffn_dense_round);
    mlmp_add_vline(pa, x.ffn_dense, NULL);
    mlmp_series *ana = mlmp_add_annotation(pa, x.ffn_dense, F[0].rope, t1);
    mlmp_annotation_set_align(ana, MLMP_ALIGN_END, MLMP_ALIGN_START);
    mlmp_annotation_set_font(ana, 8, 0);
    /* (b) shares */
    double *share[6];
    for (int k = 0; k < 6; k++) {
        share[k] = malloc(sizeof(double) * (size_t)nL);
        for (int i = 0; i < nL; i++) share[k][i] = 100.0 * cols[k][i] / F[i].total;
    }
    mlmp_panel_t *pb = mlmp_panel(fig, 0, 1);
    mlmp_panel_set_title(pb, "Share of each component", "short sequences: FFN; long: the attention core");
    mlmp_panel_set_xscale(pb, MLMP_SCALE_LOG2);
    mlmp_panel_set_xlabel(pb, "sequence length L");
    mlmp_panel_set_ylabel(pb, "% of block FLOPs");
    mlmp_panel_set_ylim(pb, 0, 100);
    mlmp_series *ar = mlmp_add_area_stack(pb, Ls, (size_t)nL, (const double *const *)share, 6, cn);
    mlmp_series_set_colors(ar, cc, 6);
    mlmp_panel_set_legend(pb, MLMP_LEGEND_OUTSIDE);
    /* (c) per token */
    double *pt = malloc(sizeof(double) * (size_t)nL), *ptc = malloc(sizeof(double) * (size_t)nL);
    for (int i = 0; i < nL; i++) { pt[i] = F[i].total / (Ls[i] * (double)B); ptc[i] = F[i].total_causal / (Ls[i] * (double)B); }
    mlmp_panel_t *pc = mlmp_panel(fig, 0, 2);
    mlmp_panel_set_title(pc, "FLOPs per token", "flat while linear terms dominate, then grows with L");
    mlmp_panel_set_xscale(pc, MLMP_SCALE_LOG2);
    mlmp_panel_set_xlabel(pc, "sequence length L");
    mlmp_panel_set_ylabel(pc, "FLOPs per token per block");
    mlmp_series *s1 = mlmp_add_line(pc, Ls, pt, (size_t)nL, "dense");
    mlmp_series_set_marker(s1, MLMP_MARKER_CIRCLE);
    mlmp_series_set_color(s1, mlmp_rgb(0x0072b2));
    mlmp_series *s2 = mlmp_add_line(pc, Ls, ptc, (size_t)nL, "causal");
    mlmp_series_set_dash(s2, MLMP_DASH_DASHED);
    mlmp_series_set_color(s2, mlmp_rgb(0x0072b2));
    /* (d) crossovers of several configs */
    char buf[1024], nm[MAXM][64];
    const char *cats[MAXM];
    double xv[MAXM], xc[MAXM];
    int nm_n = 0;
    snprintf(buf, sizeof buf, "%s", list);
    cJSON *cl = cJSON_AddArrayToObject(root, "crossovers");
    for (char *tok = strtok(buf, ","); tok && nm_n < MAXM; tok = strtok(NULL, ",")) {
        mlm_config cc2;
        mlm_crossover x2;
        if (mlm_config_resolve(&cc2, tok, &e) || mlm_flops_crossover(&cc2, &x2, &e)) { mlmp_figure_free(fig); cJSON_Delete(root); return mlm_demo_fail(&d, "%s", e.msg); }
        snprintf(nm[nm_n], 64, "%s", cc2.name);
        cats[nm_n] = nm[nm_n];
        xv[nm_n] = x2.ffn_dense;
        xc[nm_n] = x2.ffn_causal;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "model", cc2.name);
        cJSON_AddNumberToObject(o, "core_equals_ffn", x2.ffn_dense);
        cJSON_AddNumberToObject(o, "core_equals_ffn_round", (double)x2.ffn_dense_round);
        cJSON_AddNumberToObject(o, "core_equals_proj", x2.proj_dense);
        cJSON_AddNumberToObject(o, "core_equals_ffn_causal", x2.ffn_causal);
        cJSON_AddItemToArray(cl, o);
        if (!d.quiet) printf("  %-14s core = FFN at L = %8.0f dense, %8.0f causal\n", cc2.name, x2.ffn_dense, x2.ffn_causal);
        nm_n++;
    }
    mlmp_panel_t *pd = mlmp_panel(fig, 1, 0);
    mlmp_panel_set_title(pd, "Crossover length per config", "core = FFN; dense counts all L x L scores, even past a window");
    mlmp_panel_set_xcategories(pd, cats, (size_t)nm_n);
    mlmp_panel_set_ylabel(pd, "crossover L (tokens)");
    mlmp_series *b1 = mlmp_add_bars(pd, xv, (size_t)nm_n, "dense");
    mlmp_series_set_color(b1, mlmp_rgb(0xd55e00));
    mlmp_bars_set_value_format(b1, "%.0f");
    mlmp_series *b2 = mlmp_add_bars(pd, xc, (size_t)nm_n, "causal");
    mlmp_series_set_color(b2, mlmp_rgb(0xf0a070));
    mlmp_bars_set_value_format(b2, "%.0f");
    for (int k = 0; k < nm_n; k++)
        if (!isfinite(xc[k])) {
            mlmp_series *anw = mlmp_add_annotation(pd, k, xv[k] * 1.12, "causal: never\n(sliding window)");
            mlmp_annotation_set_align(anw, MLMP_ALIGN_CENTER, MLMP_ALIGN_END);
            mlmp_annotation_set_font(anw, 8, 0);
        }
    /* (e) analytic core vs FFN, continuous */
    enum { NP = 81 };
    double lx[NP], lc[NP], lf[NP], lp[NP];
    double lo = log2((double)Lmin) - 1, hi = log2((double)Lmax) + 1;
    for (int i = 0; i < NP; i++) {
        double L = round(pow(2.0, lo + (hi - lo) * i / (NP - 1)));
        block_flops f = per_block(&c, B, (int64_t)L);
        lx[i] = L; lc[i] = f.core; lf[i] = f.ffn; lp[i] = f.proj;
    }
    mlmp_panel_t *pe = mlmp_panel(fig, 1, 1);
    mlmp_panel_set_title(pe, "Quadratic core meets linear FFN", "(4 d<sub>k</sub> + 5) h L<sup>2</sup> vs 6 L d d<sub>ff</sub>");
    mlmp_panel_set_xscale(pe, MLMP_SCALE_LOG2);
    mlmp_panel_set_yscale(pe, MLMP_SCALE_LOG);
    mlmp_panel_set_xlabel(pe, "sequence length L");
    mlmp_panel_set_ylabel(pe, "FLOPs per block");
    mlmp_series *e1 = mlmp_add_line(pe, lx, lc, NP, "attention core ∝ L<sup>2</sup>");
    mlmp_series_set_color(e1, cc[1]);
    mlmp_series *e2 = mlmp_add_line(pe, lx, lf, NP, "FFN ∝ L");
    mlmp_series_set_color(e2, cc[2]);
    mlmp_series *e3 = mlmp_add_line(pe, lx, lp, NP, "projections ∝ L");
    mlmp_series_set_color(e3, cc[0]);
    mlmp_series_set_dash(e3, MLMP_DASH_DASHED);
    mlmp_add_vline(pe, x.ffn_dense, NULL);
    mlmp_add_vline(pe, x.proj_dense, NULL);
    snprintf(t1, sizeof t1, "L = %lld", (long long)x.ffn_dense_round);
    block_flops fx = per_block(&c, B, x.ffn_dense_round);
    mlmp_series *an1 = mlmp_add_annotation(pe, x.ffn_dense, fx.ffn, t1);
    mlmp_annotation_set_align(an1, MLMP_ALIGN_END, MLMP_ALIGN_END);
    snprintf(t1, sizeof t1, "L = %lld", (long long)x.proj_dense_round);
    block_flops fp = per_block(&c, B, x.proj_dense_round);
    mlmp_series *an2 = mlmp_add_annotation(pe, x.proj_dense, fp.proj, t1);
    mlmp_annotation_set_align(an2, MLMP_ALIGN_START, MLMP_ALIGN_START);
    /* (f) text */
    char text[2400];
    snprintf(text, sizeof text,
             "FLOPs PER BLOCK (forward, dense)\n\n"
             "%s: d=%d h=%d h_kv=%d\n"
             "d_k=%d d_ff=%d batch=%ld\n\n"
             "Projections (linear in L):\n"
             "  Q, O: 2 B L d h d_k each\n"
             "  K, V: 2 B L d h_kv d_k each\n"
             "Core (quadratic in L):\n"
             "  QK^T + scale: (2 d_k + 1) B h L^2\n"
             "  softmax:      4 B h L^2\n"
             "  AV:           2 d_k B h L^2\n"
             "FFN: 6 B L d d_ff\n\n"
             "Core = FFN:\n"
             "  L = 6 d d_ff / ((4 d_k + 5) h)\n"
             "    = %.0f / %.0f = %.1f\n"
             "Core = projections: L = %.1f\n"
             "Causal (half the core):\n"
             "  L = %.0f and %.0f",
             c.name, c.d_model, c.n_heads, c.n_kv_heads, c.head_dim, c.d_ff, B, 6.0 * c.d_model * c.d_ff, a, x.ffn_dense,
             x.proj_dense, x.ffn_causal, x.proj_causal);
    mlmp_panel_set_text(mlmp_panel(fig, 1, 2), text);
    if (out) {
        snprintf(out->title, sizeof out->title, "FLOPs and the attention / FFN crossover");
        snprintf(out->finding, sizeof out->finding,
                 "In a %s block the attention core grows as L<sup>2</sup> while the FFN and the projections grow as L. "
                 "At L = %.0f the FFN is %.1f%% of the block's FLOPs; at L = %.0f the core is %.1f%%. The core equals the FFN at "
                 "L = 6 d d<sub>ff</sub> / ((4 d<sub>k</sub> + 5) h) = %lld tokens and the projections at L = %lld (dense convention); "
                 "a kernel that skips masked scores moves these to %.0f and %.0f.",
                 c.name, Ls[0], 100.0 * F[0].ffn / F[0].total, Ls[nL - 1], 100.0 * F[nL - 1].core / F[nL - 1].total,
                 (long long)x.ffn_dense_round, (long long)x.proj_dense_round, x.ffn_causal, x.proj_causal);
        snprintf(out->caption, sizeof out->caption,
                 "(a) FLOPs per component of one block vs L, log-log, with the crossover; (b) each component's share; (c) FLOPs "
                 "per token; (d) the crossover length of several configs; (e) the quadratic core against the linear FFN and "
                 "projections, meeting at the crossovers; (f) the formulas with the numbers filled in.");
    }
    for (int k = 0; k < 7; k++) free(cols[k]);
    for (int k = 0; k < 6; k++) free(share[k]);
    free(pt);
    free(ptc);
    return mlm_analysis_finish(&d, fig, root, "05_flops_crossover", out);
}
