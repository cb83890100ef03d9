/* 06_causal_rope.c - analysis 6: causal masking and RoPE position sensitivity, measured on a
 * block with explicit positions and the causal-mask and RoPE switches:
 *   (i)   change the inputs at positions >= C: outputs before C must not change at all;
 *   (ii)  the same inputs at positions 0..T-1 vs all at position 0 (RoPE off there);
 *   (iii) the same inputs at positions 0..T-1 vs S..S+T-1 (RoPE is relative: no change);
 *   (iv)  one token alone vs position 0 of the full sequence. */
#include "args.h"
#include "analysis.h"
#include "forward.h"
#include "plot_cairo.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double rowdiff(const mlm_real *a, const mlm_real *b, int64_t d) {
    double s = 0;
    for (int64_t i = 0; i < d; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(s);
}

static void cosine(const mlm_real *y, int T, int64_t d, double *out) {
    for (int i = 0; i < T; i++)
        for (int j = 0; j < T; j++) {
            double s = 0, a = 0, b = 0;
            for (int64_t k = 0; k < d; k++) {
                s += (double)y[i * d + k] * y[j * d + k];
                a += (double)y[i * d + k] * y[i * d + k];
                b += (double)y[j * d + k] * y[j * d + k];
            }
            out[i * T + j] = s / sqrt(a * b);
        }
}

int mlm_analysis_06(int argc, char **argv, mlm_analysis_out *out) {
    mlm_demo d;
    mlm_demo_init(&d, "06_causal_rope");
    if (out) d.quiet = !out->verbose;
    const char *model = "block-demo";
    long T = 8, change = -1, shift = 5, head = 0;
    const mlm_demo_opt opts[] = {
        {"--model", MLM_OPT_STR, &model, 0, 0, "preset or config .json (default block-demo)"},
        {"--seq", MLM_OPT_LONG, &T, 2, 1024, "sequence length (default 8)"},
        {"--change-from", MLM_OPT_LONG, &change, 1, 1023, "replace the inputs at positions C..T-1 (default T/2)"},
        {"--shift", MLM_OPT_LONG, &shift, 0, 1 << 20, "position shift of experiment (iii) (default 5)"},
        {"--head", MLM_OPT_LONG, &head, 0, 16384, "head whose causal mask is drawn (default 0)"},
    };
    int prc = mlm_demo_parse(&d, argc, argv, opts, 5, "usage: 06_causal_rope [options]");
    if (prc) return prc == 1 ? 0 : prc;
    if (change < 0) change = T / 2;
    if (change >= T) return mlm_demo_fail(&d, "--change-from %ld must be below --seq %ld", change, T) + 1;
    mlm_err e;
    mlm_config cfg;
    if (mlm_config_resolve(&cfg, model, &e)) return mlm_demo_fail(&d, "%s", e.msg);
    if (head >= cfg.n_heads) return mlm_demo_fail(&d, "--head %ld: the model has %d heads", head, cfg.n_heads) + 1;
    if (T > cfg.max_seq_len) cfg.max_seq_len = (int)T;
    mlm_model *m = mlm_model_new(&cfg, &e);
    if (!m) return mlm_demo_fail(&d, "%s", e.msg);
    mlm_init_opts io = {d.seed, 0};
    mlm_model_init(m, &io);
    int64_t dm = cfg.d_model, n = T * dm;
    mlm_rng rng;
    mlm_rng_seed(&rng, d.seed ^ 0x5eedULL);
    mlm_real *x = malloc(sizeof(mlm_real) * (size_t)n), *x2 = malloc(sizeof(mlm_real) * (size_t)n);
    for (int64_t i = 0; i < n; i++) x[i] = (mlm_real)mlm_rng_normal(&rng);
    memcpy(x2, x, sizeof(mlm_real) * (size_t)n);
    for (int64_t i = change * dm; i < n; i++) x2[i] = (mlm_real)mlm_rng_normal(&rng);
    mlm_acts *a = mlm_acts_new(&cfg, 1, (int)T, 0, &e), *b = mlm_acts_new(&cfg, 1, (int)T, 0, &e),
             *one = mlm_acts_new(&cfg, 1, 1, 0, &e);
    if (!a || !b || !one) return mlm_demo_fail(&d, "%s", e.msg);
    mlm_real *base = malloc(sizeof(mlm_real) * (size_t)n), *norope = malloc(sizeof(mlm_real) * (size_t)n);
    int *pos0 = calloc((size_t)T, sizeof(int)), *posS = malloc(sizeof(int) * (size_t)T);
    for (int t = 0; t < T; t++) posS[t] = (int)(t + shift);
    char keep[64];
    snprintf(keep, sizeof keep, "blocks.0.attn.probs");
    mlm_probe *p = mlm_probe_new(keep);
    /* baseline, with the trace kept for the mask */
    mlm_forward_blocks(m, a, x, 1, (int)T, NULL, p, &e);
    memcpy(base, mlm_acts_output(a), sizeof(mlm_real) * (size_t)n);
    /* (i) causal */
    mlm_forward_blocks(m, b, x2, 1, (int)T, NULL, NULL, &e);
    double *dc = malloc(sizeof(double) * (size_t)T);
    for (int t = 0; t < T; t++) dc[t] = rowdiff(base + t * dm, mlm_acts_output(b) + t * dm, dm);
    int bit_identical = memcmp(base, mlm_acts_output(b), sizeof(mlm_real) * (size_t)(change * dm)) == 0;
    /* (ii) all at position 0 (RoPE is the identity there) and RoPE switched off */
    mlm_fwd_opts o0 = {.pos = pos0}, onr = {.no_rope = 1}, os = {.pos = posS};
    mlm_forward_blocks(m, b, x, 1, (int)T, &o0, NULL, &e);
    memcpy(norope, mlm_acts_output(b), sizeof(mlm_real) * (size_t)n);
    mlm_forward_blocks(m, b, x, 1, (int)T, &onr, NULL, &e);
    int pos0_is_norope = memcmp(norope, mlm_acts_output(b), sizeof(mlm_real) * (size_t)n) == 0;
    double *dr = malloc(sizeof(double) * (size_t)T), mean_r = 0;
    for (int t = 0; t < T; t++) { dr[t] = rowdiff(base + t * dm, norope + t * dm, dm); mean_r += dr[t] / T; }
    /* (iii) shift */
    mlm_forward_blocks(m, b, x, 1, (int)T, &os, NULL, &e);
    double *ds = malloc(sizeof(double) * (size_t)T), mean_s = 0, max_s = 0;
    for (int t = 0; t < T; t++) { ds[t] = rowdiff(base + t * dm, mlm_acts_output(b) + t * dm, dm); mean_s += ds[t] / T; max_s = fmax(max_s, ds[t]); }
    /* (iv) a single token */
    mlm_forward_blocks(m, one, x, 1, 1, NULL, NULL, &e);
    double d_single = rowdiff(base, mlm_acts_output(one), dm);
    /* cosine similarity with and without RoPE */
    double *cr = malloc(sizeof(double) * (size_t)(T * T)), *cn = malloc(sizeof(double) * (size_t)(T * T)),
           *cd = malloc(sizeof(double) * (size_t)(T * T)), cmax = 0;
    cosine(base, (int)T, dm, cr);
    cosine(norope, (int)T, dm, cn);
    for (int64_t i = 0; i < T * T; i++) { cd[i] = cr[i] - cn[i]; cmax = fmax(cmax, fabs(cd[i])); }
    /* the mask as the causal softmax left it: entries it kept non-zero */
    const mlm_record *pr = mlm_probe_find(p, "blocks.0.attn.probs");
    double *mask = malloc(sizeof(double) * (size_t)(T * T));
    for (int64_t i = 0; i < T * T; i++) mask[i] = pr->data[head * T * T + i] != 0;
    if (mlm_demo_prepare(&d)) return 1;
    if (!d.quiet) {
        printf("Analysis 6: causal masking and position sensitivity\n  Config: %s, d_model=%d, h=%d, T=%ld, seed %llu\n\n",
               cfg.name, cfg.d_model, cfg.n_heads, T, (unsigned long long)d.seed);
        printf("  (i) Causal property: inputs at positions %ld..%ld replaced\n", change, T - 1);
        printf("    %8s %12s   %s\n", "position", "||diff||", "unaffected?");
        for (int t = 0; t < T; t++) printf("    %8d %12.2e   %s\n", t, dc[t], t < change ? (dc[t] == 0 ? "YES" : "NO (violation!)") : "NO (expected)");
        printf("  Outputs at 0..%ld bit-identical: %s\n\n", change - 1, bit_identical ? "yes" : "NO");
        printf("  (ii) RoPE position sensitivity: positions 0..%ld vs all at position 0 (= RoPE off: %s)\n", T - 1,
               pos0_is_norope ? "bit-identical" : "differs");
        for (int t = 0; t < T; t++) printf("    position %d: %.6f\n", t, dr[t]);
        printf("    mean diff: %.6f (position 0 is %.2e: RoPE at position 0 is the identity)\n\n", mean_r, dr[0]);
        printf("  (iii) Shift invariance: positions 0..%ld vs %ld..%ld\n", T - 1, shift, shift + T - 1);
        printf("    mean ||diff|| per position: %.2e, max %.2e (rounding level: RoPE sees relative positions)\n\n", mean_s, max_s);
        printf("  (iv) A single token vs position 0 of the full sequence: ||diff|| = %.2e\n\n", d_single);
    }
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", cfg.name);
    cJSON_AddNumberToObject(root, "seq", (double)T);
    cJSON_AddNumberToObject(root, "seed", (double)d.seed);
    cJSON_AddNumberToObject(root, "change_from", (double)change);
    cJSON_AddNumberToObject(root, "shift", (double)shift);
    cJSON_AddItemToObject(root, "causal_diff", mlm_json_doubles(dc, (int)T));
    cJSON_AddBoolToObject(root, "causal_prefix_bit_identical", bit_identical);
    cJSON_AddItemToObject(root, "rope_diff", mlm_json_doubles(dr, (int)T));
    cJSON_AddNumberToObject(root, "rope_mean_diff", mean_r);
    cJSON_AddBoolToObject(root, "position0_equals_rope_off", pos0_is_norope);
    cJSON_AddItemToObject(root, "shift_diff", mlm_json_doubles(ds, (int)T));
    cJSON_AddNumberToObject(root, "shift_mean_diff", mean_s);
    cJSON_AddNumberToObject(root, "shift_max_diff", max_s);
    cJSON_AddNumberToObject(root, "single_token_diff", d_single);
    cJSON_AddNumberToObject(root, "cosine_change_max", cmax);

    mlmp_figure *fig = mlmp_figure_new("Causal masking and position sensitivity: autoregressive behaviour + RoPE", 2, 3);
    char t2[160];
    /* (a) */
    mlmp_panel_t *pa = mlmp_panel(fig, 0, 0);
    snprintf(t2, sizeof t2, "inputs at positions %ld..%ld replaced; earlier outputs do not move", change, T - 1);
    mlmp_panel_set_title(pa, "Causal property: output change per position", t2);
    mlmp_panel_set_xlabel(pa, "position");
    mlmp_panel_set_ylabel(pa, "||output diff|| (symlog)");
    mlmp_panel_set_yscale(pa, MLMP_SCALE_SYMLOG);
    mlmp_series *sa = mlmp_add_bars(pa, dc, (size_t)T, NULL);
    mlmp_color *ca = malloc(sizeof(mlmp_color) * (size_t)T);
    for (int t = 0; t < T; t++) ca[t] = t < change ? mlmp_rgb(0x009e73) : mlmp_rgb(0xd55e00);
    mlmp_series_set_colors(sa, ca, (size_t)T);
    mlmp_bars_set_value_format(sa, T <= 12 ? "%.3g" : NULL);
    mlmp_add_vline(pa, change - 0.5, "first changed position");
    /* (b) */
    mlmp_panel_t *pb = mlmp_panel(fig, 0, 1);
    mlmp_panel_set_title(pb, "Causal mask (1 = may attend)", "entries the causal softmax kept non-zero");
    mlmp_panel_set_xlabel(pb, "key position");
    mlmp_panel_set_ylabel(pb, "query position");
    mlmp_series *hb = mlmp_add_heatmap(pb, mask, (size_t)T, (size_t)T, MLMP_CMAP_BLUES);
    mlmp_heatmap_set_range(hb, 0, 1.4);
    if (T <= 16) mlmp_heatmap_set_numbers(hb, "%.0f");
    mlmp_heatmap_set_colorbar(hb, 0, NULL);
    /* (c) */
    mlmp_panel_t *pc = mlmp_panel(fig, 0, 2);
    mlmp_panel_set_title(pc, "RoPE position sensitivity", "positions 0..T-1 vs all at position 0 (= no rotation)");
    mlmp_panel_set_xlabel(pc, "position");
    mlmp_panel_set_ylabel(pc, "||output diff||");
    mlmp_series *sc = mlmp_add_bars(pc, dr, (size_t)T, NULL);
    mlmp_series_set_color(sc, mlmp_rgb(0x0072b2));
    mlmp_bars_set_value_format(sc, T <= 12 ? "%.2f" : NULL);
    snprintf(t2, sizeof t2, "mean %.3f", mean_r);
    mlmp_add_hline(pc, mean_r, t2);
    /* (d) */
    mlmp_panel_t *pd = mlmp_panel(fig, 1, 0);
    mlmp_panel_set_title(pd, "Change in output cosine similarity", "cos(RoPE) - cos(no RoPE) between output positions");
    mlmp_panel_set_xlabel(pd, "position");
    mlmp_panel_set_ylabel(pd, "position");
    mlmp_series *hd = mlmp_add_heatmap(pd, cd, (size_t)T, (size_t)T, MLMP_CMAP_RDBU);
    mlmp_heatmap_set_range(hd, -cmax, cmax);
    mlmp_heatmap_set_colorbar(hd, 1, "Δ cosine");
    if (T <= 10) mlmp_heatmap_set_numbers(hd, "%.2f");
    /* (e) */
    mlmp_panel_t *pe = mlmp_panel(fig, 1, 1);
    snprintf(t2, sizeof t2, "shift by %ld keeps relative positions: rounding noise only", shift);
    mlmp_panel_set_title(pe, "Shift invariance vs RoPE removed (symlog)", t2);
    mlmp_panel_set_xlabel(pe, "position");
    mlmp_panel_set_ylabel(pe, "||output diff||");
    mlmp_panel_set_yscale(pe, MLMP_SCALE_SYMLOG);
    mlmp_panel_set_symlog_threshold(pe, 1, 1e-6);
    mlmp_series *e1 = mlmp_add_bars(pe, ds, (size_t)T, "uniform shift");
    mlmp_series_set_color(e1, mlmp_rgb(0x009e73));
    mlmp_bars_set_value_format(e1, NULL);
    mlmp_series *e2 = mlmp_add_bars(pe, dr, (size_t)T, "RoPE removed");
    mlmp_series_set_color(e2, mlmp_rgb(0xd55e00));
    mlmp_bars_set_value_format(e2, NULL);
    /* (f) */
    char text[2048];
    snprintf(text, sizeof text,
             "CAUSAL MASKING + RoPE (measured)\n\n"
             "Causal mask: output i depends on\n"
             "inputs 0..i only.\n"
             "  replaced positions %ld..%ld\n"
             "  outputs 0..%ld bit-identical: %s\n\n"
             "RoPE position awareness:\n"
             "  position 0 diff = %.2e (identity)\n"
             "  mean diff vs no RoPE = %.4f\n\n"
             "Shift invariance (+%ld positions):\n"
             "  mean diff = %.2e (rounding)\n\n"
             "Single token vs full sequence:\n"
             "  position 0 diff = %.2e\n\n"
             "Caveat: random weights give\n"
             "noise-like position effects; a\n"
             "trained model learns patterns.",
             change, T - 1, change - 1, bit_identical ? "yes" : "NO", dr[0], mean_r, shift, mean_s, d_single);
    mlmp_panel_set_text(mlmp_panel(fig, 1, 2), text);
    if (out) {
        snprintf(out->title, sizeof out->title, "Causal masking and RoPE position sensitivity");
        snprintf(out->finding, sizeof out->finding,
                 "Replacing the inputs at positions %ld..%ld leaves the outputs at 0..%ld %s, while the later ones move by "
                 "%.1f on average. Moving every token to position 0 (RoPE becomes the identity) changes the outputs by %.3f on "
                 "average but not at position 0 (%.1e); shifting every position by %ld changes them only by %.1e (rounding), "
                 "because RoPE's scores depend on relative positions only.",
                 change, T - 1, change - 1, bit_identical ? "bit-identical" : "CHANGED", (dc[T - 1] + dc[change]) / 2, mean_r,
                 dr[0], shift, mean_s);
        snprintf(out->caption, sizeof out->caption,
                 "(a) output change per position after replacing the later inputs (green: unaffected); (b) the causal mask as "
                 "the softmax applied it; (c) output change per position when RoPE is removed; (d) the change in the cosine "
                 "similarity between output positions; (e) a uniform shift (rounding noise) against removing RoPE; (f) the numbers.");
    }
    int rc = mlm_analysis_finish(&d, fig, root, "06_causal_rope", out);
    free(ca); free(mask); free(cr); free(cn); free(cd); free(dc); free(dr); free(ds); free(pos0); free(posS);
    free(base); free(norope); free(x); free(x2);
    mlm_probe_free(p);
    mlm_acts_free(a); mlm_acts_free(b); mlm_acts_free(one);
    mlm_model_free(m);
    return rc ? 1 : 0;
}
