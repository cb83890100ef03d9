/* 01_forward_pass.c - analysis 1: a forward pass through one pre-norm block with every stage
 * traced: the stage table (shape, Frobenius norm, FLOPs) comes from the trace itself, then
 * six panels: norms per stage, an attention map, per-token RMS of the normalised inputs, and
 * the two residual connections dimension by dimension. */
#include "args.h"
#include "analysis.h"
#include "forward.h"
#include "plot_cairo.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Sub-layer colour of a stage (a): input/residual stream, norms, attention, FFN. */
static mlmp_color stage_color(const char *n) {
    if (strstr(n, "norm")) return mlmp_rgb(0x8c6bb1);
    if (strstr(n, "attn.")) return mlmp_rgb(0x009e73);
    if (strstr(n, "ffn.")) return mlmp_rgb(0xe69f00);
    return mlmp_rgb(0x0072b2);
}

static const char *short_name(const char *n) {
    const char *p = strncmp(n, "blocks.", 7) ? n : strchr(n + 7, '.') + 1;
    return p;
}

int mlm_analysis_01(int argc, char **argv, mlm_analysis_out *out) {
    mlm_demo d;
    mlm_demo_init(&d, "01_forward_pass");
    if (out) d.quiet = !out->verbose;
    const char *model = "block-demo";
    long B = 2, T = 8, layer = 0, head = 0;
    const mlm_demo_opt opts[] = {
        {"--model", MLM_OPT_STR, &model, 0, 0, "preset or config .json (default block-demo)"},
        {"--batch", MLM_OPT_LONG, &B, 1, 64, "batch size (default 2)"},
        {"--seq", MLM_OPT_LONG, &T, 1, 4096, "sequence length (default 8)"},
        {"--layer", MLM_OPT_LONG, &layer, 0, 16384, "block whose attention map and residuals are drawn (default 0)"},
        {"--head", MLM_OPT_LONG, &head, 0, 16384, "attention head drawn (default 0)"},
    };
    int prc = mlm_demo_parse(&d, argc, argv, opts, 5, "usage: 01_forward_pass [options]");
    if (prc) return prc == 1 ? 0 : prc;
    mlm_err e;
    mlm_config cfg;
    if (mlm_config_resolve(&cfg, model, &e)) return mlm_demo_fail(&d, "%s", e.msg);
    if (layer >= cfg.n_layers) return mlm_demo_fail(&d, "--layer %ld: the model has %d blocks", layer, cfg.n_layers) + 1;
    if (head >= cfg.n_heads) return mlm_demo_fail(&d, "--head %ld: the model has %d heads", head, cfg.n_heads) + 1;
    if (T > cfg.max_seq_len) cfg.max_seq_len = (int)T;
    mlm_model *m = mlm_model_new(&cfg, &e);
    if (!m) return mlm_demo_fail(&d, "%s", e.msg);
    mlm_init_opts io = {d.seed, 0};
    mlm_model_init(m, &io);
    int64_t dm = cfg.d_model, N = B * T;
    /* x ~ N(0, 1), from its own stream of the seed */
    mlm_rng rng;
    mlm_rng_seed(&rng, d.seed ^ 0x5eedULL);
    mlm_real *x = malloc(sizeof(mlm_real) * (size_t)(N * dm));
    for (int64_t i = 0; i < N * dm; i++) x[i] = (mlm_real)mlm_rng_normal(&rng);
    char keep[256], nm[96];
    snprintf(keep, sizeof keep, "input,blocks.%ld.resid_post,blocks.%ld.attn.probs,blocks.%ld.attn.out,blocks.%ld.resid_mid,blocks.%ld.ffn.down,blocks.%ld.resid_post",
             layer - 1, layer, layer, layer, layer, layer);
    mlm_probe *p = mlm_probe_new(keep);
    mlm_acts *a = mlm_acts_new(&cfg, (int)B, (int)T, 0, &e);
    if (!a || !p || mlm_forward_blocks(m, a, x, (int)B, (int)T, NULL, p, &e)) return mlm_demo_fail(&d, "%s", e.msg);
    if (mlm_demo_prepare(&d)) return 1;

    /* ---- the stage table, straight from the trace ---- */
    const mlm_record *rin = mlm_probe_find(p, "input");
    snprintf(nm, sizeof nm, "blocks.%d.resid_post", cfg.n_layers - 1);
    const mlm_record *rout = mlm_probe_find(p, nm);
    double diff = 0;
    const mlm_real *y = mlm_acts_output(a);
    for (int64_t i = 0; i < N * dm; i++) diff += ((double)y[i] - x[i]) * ((double)y[i] - x[i]);
    diff = sqrt(diff);
    snprintf(nm, sizeof nm, "blocks.%ld.attn_norm", layer);
    double rms_x = mlm_probe_find(p, nm)->rms_mean;
    snprintf(nm, sizeof nm, "blocks.%ld.ffn_norm", layer);
    double rms_h = mlm_probe_find(p, nm)->rms_mean;
    double rms_o = rout->rms_mean;
    if (!d.quiet) {
        printf("Analysis 1: forward pass walkthrough with shape tracing\n");
        printf("  Config: %s, d_model=%d, h=%d, h_kv=%d, d_k=%d, d_ff=%d, blocks=%d\n", cfg.name, cfg.d_model, cfg.n_heads,
               cfg.n_kv_heads, cfg.head_dim, cfg.d_ff, cfg.n_layers);
        printf("  Input: x ~ N(0, 1), shape (%ld, %ld, %d), seed %llu\n\n", B, T, cfg.d_model, (unsigned long long)d.seed);
        printf("  %-28s %-18s %12s %14s\n", "stage", "shape", "norm", "FLOPs");
        printf("  %s\n", "--------------------------------------------------------------------------");
    }
    int n = mlm_probe_count(p);
    double *norms = malloc(sizeof(double) * (size_t)n);
    const char **labels = malloc(sizeof(char *) * (size_t)n);
    mlmp_color *cols = malloc(sizeof(mlmp_color) * (size_t)n);
    cJSON *root = cJSON_CreateObject(), *stages = cJSON_AddArrayToObject(root, "stages");
    uint64_t total_flops = 0;
    int nb = 0; /* bars of panel (a): the input and the stages of the chosen block */
    for (int i = 0; i < n; i++) {
        const mlm_record *r = mlm_probe_at(p, i);
        char sh[64] = "(", fl[32];
        for (int k = 0; k < r->ndim; k++) snprintf(sh + strlen(sh), sizeof sh - strlen(sh), "%s%lld", k ? ", " : "", (long long)r->shape[k]);
        strcat(sh, ")");
        if (!d.quiet) printf("  %-28s %-18s %12.4f %14s\n", r->name, sh, r->norm, mlm_fmt_int(r->flops, fl, sizeof fl));
        char pref[32];
        snprintf(pref, sizeof pref, "blocks.%ld.", layer);
        char prev[48];
        snprintf(prev, sizeof prev, "blocks.%ld.resid_post", layer - 1);
        int is_in = layer == 0 ? !strcmp(r->name, "input") : !strcmp(r->name, prev);
        if (is_in || !strncmp(r->name, pref, strlen(pref))) {
            norms[nb] = r->norm;
            labels[nb] = is_in ? "block input" : short_name(r->name);
            cols[nb] = stage_color(r->name);
            nb++;
        }
        total_flops += r->flops;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", r->name);
        cJSON_AddItemToObject(o, "shape", cJSON_CreateIntArray((const int[]){(int)r->shape[0], (int)r->shape[1], (int)r->shape[2], (int)r->shape[3]}, r->ndim));
        cJSON_AddNumberToObject(o, "norm", r->norm);
        cJSON_AddNumberToObject(o, "rms_mean", r->rms_mean);
        cJSON_AddNumberToObject(o, "flops", (double)r->flops);
        cJSON_AddItemToArray(stages, o);
    }
    int same_shape = rin->ndim == rout->ndim && !memcmp(rin->shape, rout->shape, sizeof rin->shape);
    if (!d.quiet) {
        printf("\n  Shape preserved: (%ld, %ld, %d) -> (%lld, %lld, %lld): %s\n", B, T, cfg.d_model, (long long)rout->shape[0],
               (long long)rout->shape[1], (long long)rout->shape[2], same_shape ? "yes" : "NO");
        printf("  ||output - input|| = %.4f (non-zero: the sub-layers contribute)\n", diff);
        printf("  Total forward FLOPs (causal attention): %llu\n\n", (unsigned long long)total_flops);
        printf("  Pre-norm check, mean per-token RMS:\n");
        printf("    x_norm (input to attention): %.4f (should be ~1)\n", rms_x);
        printf("    h_norm (input to the FFN):   %.4f (should be ~1)\n", rms_h);
        printf("    output (residual stream):    %.4f (not normalised)\n\n", rms_o);
    }
    cJSON *cj = cJSON_AddObjectToObject(root, "config");
    cJSON_AddStringToObject(cj, "model", cfg.name);
    cJSON_AddNumberToObject(cj, "d_model", cfg.d_model);
    cJSON_AddNumberToObject(cj, "n_heads", cfg.n_heads);
    cJSON_AddNumberToObject(cj, "n_kv_heads", cfg.n_kv_heads);
    cJSON_AddNumberToObject(cj, "d_ff", cfg.d_ff);
    cJSON_AddNumberToObject(cj, "batch", (double)B);
    cJSON_AddNumberToObject(cj, "seq", (double)T);
    cJSON_AddNumberToObject(cj, "seed", (double)d.seed);
    cJSON_AddBoolToObject(root, "shape_preserved", same_shape);
    cJSON_AddNumberToObject(root, "output_minus_input_norm", diff);
    cJSON_AddNumberToObject(root, "rms_x_norm", rms_x);
    cJSON_AddNumberToObject(root, "rms_h_norm", rms_h);
    cJSON_AddNumberToObject(root, "rms_output", rms_o);
    cJSON_AddNumberToObject(root, "total_flops", (double)total_flops);

    /* ---- the figure ---- */
    char t1[96];
    mlmp_figure *fig = mlmp_figure_new("Transformer block: full forward pass walkthrough", 2, 3);
    /* (a) norms of every stage */
    mlmp_panel_t *pa = mlmp_panel(fig, 0, 0);
    snprintf(t1, sizeof t1, "Tensor norms through block %ld", layer);
    mlmp_panel_set_title(pa, t1, "purple: norms, green: attention, orange: FFN, blue: stream");
    mlmp_panel_set_bars_horizontal(pa, 1);
    mlmp_panel_set_ycategories(pa, labels, (size_t)nb);
    mlmp_panel_set_xlabel(pa, "Frobenius norm");
    mlmp_series *sb = mlmp_add_bars(pa, norms, (size_t)nb, NULL);
    mlmp_series_set_colors(sb, cols, (size_t)nb);
    mlmp_bars_set_value_format(sb, "%.1f");
    /* (b) attention map of (batch 0, head) */
    snprintf(nm, sizeof nm, "blocks.%ld.attn.probs", layer);
    const mlm_record *pr = mlm_probe_find(p, nm);
    double *att = malloc(sizeof(double) * (size_t)(T * T));
    for (int64_t i = 0; i < T * T; i++) att[i] = pr->data[head * T * T + i];
    mlmp_panel_t *pb = mlmp_panel(fig, 0, 1);
    char t2[96];
    snprintf(t1, sizeof t1, "Attention weights (batch 0, head %ld)", head);
    mlmp_panel_set_title(pb, t1, "causal mask: the upper triangle is exactly 0");
    mlmp_panel_set_xlabel(pb, "key position");
    mlmp_panel_set_ylabel(pb, "query position");
    mlmp_series *hm = mlmp_add_heatmap(pb, att, (size_t)T, (size_t)T, MLMP_CMAP_BLUES);
    mlmp_heatmap_set_range(hm, 0, 1);
    mlmp_heatmap_set_colorbar(hm, 1, "attention weight");
    if (T <= 12) mlmp_heatmap_set_numbers(hm, "%.2f");
    cJSON *am = cJSON_AddArrayToObject(root, "attention_b0");
    for (int64_t i = 0; i < T; i++) cJSON_AddItemToArray(am, mlm_json_doubles(att + i * T, (int)T));
    /* (c) per-token RMS box plots */
    snprintf(nm, sizeof nm, "blocks.%ld.attn_norm", layer);
    const mlm_record *r1 = mlm_probe_find(p, nm);
    snprintf(nm, sizeof nm, "blocks.%ld.ffn_norm", layer);
    const mlm_record *r2 = mlm_probe_find(p, nm);
    double *s1 = malloc(sizeof(double) * (size_t)N), *s2 = malloc(sizeof(double) * (size_t)N), *s3 = malloc(sizeof(double) * (size_t)N);
    for (int64_t i = 0; i < N; i++) { s1[i] = r1->row_rms[i]; s2[i] = r2->row_rms[i]; s3[i] = rout->row_rms[i]; }
    const double *samples[3] = {s1, s2, s3};
    size_t counts[3] = {(size_t)N, (size_t)N, (size_t)N};
    const char *bn[3] = {"x_norm", "h_norm", "output"};
    mlmp_panel_t *pc = mlmp_panel(fig, 0, 2);
    mlmp_panel_set_title(pc, "Pre-norm: normalised inputs to sub-layers", "the output is not normalised (residual stream)");
    mlmp_panel_set_ylabel(pc, "per-token RMS");
    mlmp_series *bx = mlmp_add_boxplot(pc, samples, counts, 3, bn);
    mlmp_color bc[3] = {mlmp_rgb(0x8c6bb1), mlmp_rgb(0x8c6bb1), mlmp_rgb(0x0072b2)};
    mlmp_series_set_colors(bx, bc, 3);
    mlmp_add_hline(pc, 1.0, "RMS = 1");
    /* (d), (e) residual connections for token 0, first 32 dims */
    int64_t nd = dm < 32 ? dm : 32;
    const char *rn[2][3] = {{"input", "attn.out", "resid_mid"}, {"resid_mid", "ffn.down", "resid_post"}};
    const char *ln[2][3] = {{"x", "attention output", "h = x + attn_out"}, {"h", "FFN output", "output = h + ffn_out"}};
    char tt0[80], tt1[80];
    snprintf(tt0, sizeof tt0, "Residual connection 1 (first %lld dims, token 0)", (long long)nd);
    snprintf(tt1, sizeof tt1, "Residual connection 2 (first %lld dims, token 0)", (long long)nd);
    const char *tt[2][2] = {{tt0, "h = x + attention_output"}, {tt1, "output = h + ffn_output"}};
    mlmp_color lc[3] = {mlmp_rgb(0x0072b2), mlmp_rgb(0x009e73), mlmp_rgb(0xd55e00)};
    for (int k = 0; k < 2; k++) {
        mlmp_panel_t *pp = mlmp_panel(fig, 1, k);
        mlmp_panel_set_title(pp, tt[k][0], tt[k][1]);
        mlmp_panel_set_xlabel(pp, "dimension");
        mlmp_panel_set_ylabel(pp, "value");
        for (int s = 0; s < 3; s++) {
            if (!strcmp(rn[k][s], "input")) snprintf(nm, sizeof nm, layer == 0 ? "input" : "blocks.%ld.resid_post", layer - 1);
            else snprintf(nm, sizeof nm, "blocks.%ld.%s", layer, rn[k][s]);
            const mlm_record *rr = mlm_probe_find(p, nm);
            double v[32];
            for (int64_t j = 0; j < nd; j++) v[j] = rr && rr->data ? rr->data[j] : NAN;
            mlmp_series *ls = mlmp_add_line(pp, NULL, v, (size_t)nd, ln[k][s]);
            mlmp_series_set_color(ls, lc[s]);
            mlmp_series_set_marker(ls, s == 2 ? MLMP_MARKER_CIRCLE : MLMP_MARKER_NONE);
            if (s == 1) mlmp_series_set_dash(ls, MLMP_DASH_DASHED);
        }
    }
    /* (f) text */
    char text[2048];
    snprintf(text, sizeof text,
             "PRE-NORM DECODER BLOCK\n\n"
             "d_model = %d\nheads = %d (h_kv = %d)\nd_ff = %d\nd_k = %d\n\n"
             "Data flow:\n"
             "x -> RMSNorm 1 -> Q,K,V proj\n"
             "  -> RoPE(Q,K) -> GQA -> W_O\n"
             "  -> + x (residual 1) = h\n"
             "h -> RMSNorm 2 -> SwiGLU FFN\n"
             "  -> + h (residual 2) = output\n\n"
             "Measured (mean per-token RMS):\n"
             "  x_norm  %.4f  (normalised)\n"
             "  h_norm  %.4f  (normalised)\n"
             "  output  %.4f  (not normalised)\n"
             "||output - x|| = %.4f\n"
             "forward FLOPs = %llu",
             cfg.d_model, cfg.n_heads, cfg.n_kv_heads, cfg.d_ff, cfg.head_dim, rms_x, rms_h, rms_o, diff,
             (unsigned long long)total_flops);
    mlmp_panel_set_text(mlmp_panel(fig, 1, 2), text);
    snprintf(t2, sizeof t2, "%s", "");
    if (out) {
        snprintf(out->title, sizeof out->title, "Forward pass walkthrough with shape tracing");
        snprintf(out->finding, sizeof out->finding,
                 "A %s block (d = %d, %d heads, %d KV heads) maps x of shape (%ld, %ld, %d) to an output of the same shape, "
                 "||output - x|| = %.2f. The normalised inputs of both sub-layers have a mean per-token RMS of %.4f and %.4f; the "
                 "residual stream they feed is not normalised (output RMS %.3f). The traced pass performed %llu FLOPs.",
                 cfg.name, cfg.d_model, cfg.n_heads, cfg.n_kv_heads, B, T, cfg.d_model, diff, rms_x, rms_h, rms_o,
                 (unsigned long long)total_flops);
        snprintf(out->caption, sizeof out->caption,
                 "(a) Frobenius norm of every traced stage, coloured by sub-layer (purple norms, green attention, orange FFN, "
                 "blue residual stream); (b) the attention weights of one head: each row sums to 1 and the upper triangle is "
                 "exactly 0; (c) per-token RMS of the two normalised inputs (at 1) and of the output; (d), (e) the first "
                 "dimensions of token 0 through the two residual adds; (f) the configuration and the measured values.");
    }
    int rc = mlm_analysis_finish(&d, fig, root, "01_forward_pass", out);
    free(att); free(s1); free(s2); free(s3); free(norms); free(labels); free(cols); free(x);
    mlm_probe_free(p);
    mlm_acts_free(a);
    mlm_model_free(m);
    return rc ? 1 : 0;
}
