/* 12_long_inputs.c - analysis 12: long inputs stay readable. A T-token forward pass (default:
 * the stories15m preset, random weights, 512 random tokens) keeps only the attention maps of
 * the chosen layers; every head is scored (previous-token, focus = 1 - normalised entropy,
 * first-token), the top-k by the chosen score are drawn pooled into at most C x C cells, and
 * the best head is shown three ways: mean-pooled, max-pooled, and cropped to the last window
 * without pooling. The figure builder is demos/common/attn_figure.c (also used by
 * `microlm trace --render`). */
#include "analysis.h"
#include "args.h"
#include "attn_figure.h"
#include "forward.h"
#include "plot_cairo.h"
#include "rng.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXMAPS 4096

int mlm_analysis_12(int argc, char **argv, mlm_analysis_out *out) {
    mlm_demo d;
    mlm_demo_init(&d, "12_long_inputs");
    if (out) d.quiet = !out->verbose;
    const char *model = "stories15m", *layers_s = NULL, *score_s = "focus", *pool_s = "mean";
    long T = 512, top_k = 4, cells = 64, crop = 64;
    const mlm_demo_opt opts[] = {
        {"--model", MLM_OPT_STR, &model, 0, 0, "preset or config .json (default stories15m; random weights)"},
        {"--seq", MLM_OPT_LONG, &T, 8, 4096, "tokens in the trace (default 512)"},
        {"--layers", MLM_OPT_STR, &layers_s, 0, 0, "layers whose maps are kept, e.g. 0,5 (default all)"},
        {"--top-k", MLM_OPT_LONG, &top_k, 1, 8, "heads drawn in the top row, best by --score (default 4)"},
        {"--score", MLM_OPT_STR, &score_s, 0, 0, "focus | prev | first: how heads are ranked (default focus)"},
        {"--cells", MLM_OPT_LONG, &cells, 4, 256, "pool longer maps into at most this many cells a side (default 64)"},
        {"--pool", MLM_OPT_STR, &pool_s, 0, 0, "mean | max: pooling of the top row (default mean)"},
        {"--crop", MLM_OPT_LONG, &crop, 2, 4096, "the last N positions shown unpooled (default 64)"},
    };
    int prc = mlm_demo_parse(&d, argc, argv, opts, 8, "usage: 12_long_inputs [options]");
    if (prc) return prc == 1 ? 0 : prc;
    mlm_attn_score score;
    if (mlm_attn_score_parse(score_s, &score) || score == MLM_ATTN_SCORE_NONE)
        return mlm_demo_fail(&d, "--score '%s': use focus, prev or first", score_s) + 1;
    if (strcmp(pool_s, "mean") && strcmp(pool_s, "max")) return mlm_demo_fail(&d, "--pool '%s': use mean or max", pool_s) + 1;
    int pool_max = !strcmp(pool_s, "max");
    if (crop > T) crop = T;
    if (mlm_demo_prepare(&d)) return 1;
    mlm_err e;
    mlm_config cfg;
    if (mlm_config_resolve(&cfg, model, &e)) return mlm_demo_fail(&d, "%s", e.msg);
    int native_ctx = cfg.max_seq_len;
    if (T > cfg.max_seq_len) cfg.max_seq_len = (int)T;
    int *lay = NULL, nlay = 0;
    if (layers_s && mlm_arg_int_list(layers_s, 0, cfg.n_layers - 1, 64, &lay, &nlay))
        return mlm_demo_fail(&d, "--layers '%s': give layer indices in 0..%d", layers_s, cfg.n_layers - 1) + 1;
    if ((int64_t)cfg.n_layers * cfg.n_heads > MAXMAPS) { free(lay); return mlm_demo_fail(&d, "too many heads (%d x %d)", cfg.n_layers, cfg.n_heads); }
    /* keep globs: only the chosen layers' probs */
    char keep[2048] = "";
    if (!lay) snprintf(keep, sizeof keep, "blocks.*.attn.probs");
    else
        for (int i = 0; i < nlay; i++) {
            size_t o = strlen(keep);
            snprintf(keep + o, sizeof keep - o, "%sblocks.%d.attn.probs", i ? "," : "", lay[i]);
        }
    mlm_model *m = mlm_model_new(&cfg, &e);
    if (!m) { free(lay); return mlm_demo_fail(&d, "%s", e.msg); }
    mlm_init_opts io = {d.seed, 0};
    mlm_model_init(m, &io);
    int *tok = malloc(sizeof(int) * (size_t)T);
    mlm_rng rng;
    mlm_rng_seed(&rng, d.seed ^ 0x1234ULL);
    for (long t = 0; t < T; t++) tok[t] = (int)mlm_rng_below(&rng, (uint32_t)cfg.vocab_size);
    mlm_acts *a = mlm_acts_new(&cfg, 1, (int)T, 0, &e);
    mlm_probe *p = mlm_probe_new(keep);
    mlm_fwd_opts fo = {0};
    fo.last_only = 1;
    if (!a || !p || mlm_forward(m, a, tok, 1, (int)T, &fo, p, &e)) {
        mlm_acts_free(a); mlm_probe_free(p); mlm_model_free(m); free(tok); free(lay);
        return mlm_demo_fail(&d, "%s", e.msg);
    }
    uint64_t flops = mlm_probe_flops(p, NULL);
    mlm_attn_map *maps = malloc(sizeof *maps * MAXMAPS);
    int nm = mlm_attn_maps_from_probe(p, &cfg, 0, maps, MAXMAPS);
    size_t kept_bytes = 0;
    for (int i = 0; i < mlm_probe_count(p); i++)
        if (mlm_probe_at(p, i)->data) kept_bytes += (size_t)mlm_probe_at(p, i)->numel * sizeof(mlm_real);
    /* scores of every kept head, ranking */
    mlm_attn_pick *all = malloc(sizeof *all * (size_t)(nm ? nm : 1));
    double chance_prev = 0;
    for (long i = 1; i < T; i++) chance_prev += 1.0 / (double)(i + 1);
    chance_prev /= (double)(T - 1);
    for (int i = 0; i < nm; i++) {
        all[i].layer = maps[i].layer;
        all[i].head = maps[i].head;
        all[i].map_index = i;
        all[i].prev = mlm_attn_prev_score(maps[i].probs, (int)T, 0, 0);
        all[i].focus = mlm_attn_focus_score(maps[i].probs, (int)T, 0, 0);
        all[i].first = mlm_attn_first_score(maps[i].probs, (int)T, 0, 0);
        all[i].score = score == MLM_ATTN_SCORE_PREV ? all[i].prev : score == MLM_ATTN_SCORE_FOCUS ? all[i].focus : all[i].first;
    }
    if (top_k > nm) top_k = nm;
    /* top row: the top-k through the reusable builder's panel function */
    int ncol = (int)top_k > 4 ? (int)top_k : 4;
    char title[200];
    snprintf(title, sizeof title, "Long inputs: %ld-token trace of %s (random weights): top-%ld heads of %d by %s score, pooled", T,
             cfg.name, top_k, nm, mlm_attn_score_name(score));
    mlmp_figure *fig = mlmp_figure_new(title, 2, ncol);
    mlmp_figure_set_size_px(fig, 620 * ncol + 200, 1500, 150);
    mlm_attn_fig_opts fopt;
    memset(&fopt, 0, sizeof fopt);
    fopt.top_k = (int)top_k;
    fopt.score = score;
    mlm_attn_pick pick[8];
    int npick = 0;
    char err[256];
    /* the builder's own figure gives the ranking (and is what `microlm trace --render` draws) */
    mlmp_figure *ranked = mlm_attn_figure(maps, nm, &fopt, pick, 8, &npick, err, sizeof err);
    if (!ranked || npick == 0) {
        mlmp_figure_free(fig); free(all); free(maps); free(tok); free(lay); mlm_probe_free(p); mlm_acts_free(a); mlm_model_free(m);
        return mlm_demo_fail(&d, "%s", ranked ? "no head to draw" : err);
    }
    mlmp_figure_free(ranked);
    int cells_drawn = 0, block = 1;
    double *tmp = malloc(sizeof(double) * (size_t)T * (size_t)T);
    for (int q = 0; q < npick; q++) {
        char l1[96], l2[96];
        snprintf(l1, sizeof l1, "#%d: layer %d, head %d", q + 1, pick[q].layer, pick[q].head);
        snprintf(l2, sizeof l2, "%s %.3f", mlm_attn_score_name(score), pick[q].score);
        mlm_attn_panel(mlmp_panel(fig, 0, q), &maps[pick[q].map_index], 0, 0, (int)cells, pool_max, NULL, 1, 0, l1, l2, 1, q == 0,
                       &cells_drawn);
    }
    mlm_attn_pool(maps[pick[0].map_index].probs, (int)T, 0, 0, (int)cells, 0, tmp, &block);
    /* bottom row: the best head max-pooled, cropped, and every head's score */
    const mlm_attn_map *best = &maps[pick[0].map_index];
    char l1[128];
    snprintf(l1, sizeof l1, "#1 again, %s-pooled", pool_max ? "mean" : "max");
    double vmax_other = mlm_attn_panel(mlmp_panel(fig, 1, 0), best, 0, 0, (int)cells, !pool_max, NULL, 1, 0, l1,
                                       pool_max ? "blocks averaged: spread-out weight shows" : "each block's largest weight: sharp peaks survive", 1, 1, NULL);
    snprintf(l1, sizeof l1, "#1 cropped: last %ld positions, unpooled", crop);
    double vmax_crop = mlm_attn_panel(mlmp_panel(fig, 1, 1), best, (int)(T - crop), (int)T, (int)crop, 0, NULL, 1, 0, l1,
                                      "one cell per query / key", 1, 0, NULL);
    mlmp_panel_t *pc = mlmp_panel(fig, 1, 2);
    if (ncol > 4) mlmp_panel_span(pc, 1, ncol - 3);
    double *sc = malloc(sizeof(double) * (size_t)nm);
    mlmp_color *colr = malloc(sizeof(mlmp_color) * (size_t)nm);
    for (int i = 0; i < nm; i++) {
        sc[i] = all[i].score;
        colr[i] = mlmp_rgb(0xbbbbbb);
        for (int q = 0; q < npick; q++) if (pick[q].map_index == i) colr[i] = mlmp_rgb(0x0072b2);
    }
    mlmp_panel_set_title(pc, "Every kept head's score (blue: drawn above)", "x = layer · heads + head");
    mlmp_panel_set_xlabel(pc, "head index (layer-major)");
    mlmp_panel_set_ylabel(pc, mlm_attn_score_name(score));
    mlmp_series *bs = mlmp_add_bars(pc, sc, (size_t)nm, NULL);
    mlmp_series_set_colors(bs, colr, (size_t)nm);
    mlmp_bars_set_value_format(bs, NULL);
    mlmp_panel_set_legend(pc, MLMP_LEGEND_NONE);
    if (nm > 12) {
        double tp[64];
        int ntp = 0;
        int per = nm / (lay ? nlay : cfg.n_layers);
        for (int i = 0; i < nm && ntp < 64; i += per) tp[ntp++] = i;
        mlmp_panel_set_xticks(pc, tp, NULL, (size_t)ntp);
    }
    /* numbers */
    double mean_prev = 0, mean_focus = 0, max_first = 0;
    for (int i = 0; i < nm; i++) {
        mean_prev += all[i].prev / nm;
        mean_focus += all[i].focus / nm;
        if (all[i].first > max_first) max_first = all[i].first;
    }
    double vmax_mean = 0;
    for (int i = 0; i < cells_drawn * cells_drawn; i++) if (isfinite(tmp[i]) && tmp[i] > vmax_mean) vmax_mean = tmp[i];
    if (!d.quiet) {
        printf("Analysis 12: long inputs (%s, %ld tokens, random weights; native context %d)\n", cfg.name, T, native_ctx);
        printf("  kept maps: %d heads in %d layers, %.1f MB; forward %.3g FLOPs (last position's logits only)\n", nm,
               lay ? nlay : cfg.n_layers, kept_bytes / 1e6, (double)flops);
        printf("  pooled %ld x %ld map into %d x %d cells of %d x %d positions (%s)\n", T, T, cells_drawn, cells_drawn, block, block, pool_s);
        printf("  chance previous-token score (uniform causal rows): %.4f\n", chance_prev);
        printf("  %-6s %-5s %10s %10s %10s\n", "layer", "head", "prev", "focus", "first");
        for (int i = 0; i < nm; i++) printf("  %-6d %-5d %10.4f %10.4f %10.4f\n", all[i].layer, all[i].head, all[i].prev, all[i].focus, all[i].first);
        printf("  top-%ld by %s:", top_k, mlm_attn_score_name(score));
        for (int q = 0; q < npick; q++) printf(" L%dH%d (%.3f)", pick[q].layer, pick[q].head, pick[q].score);
        printf("\n");
    }
    char text[1400];
    snprintf(text, sizeof text,
             "LONG INPUTS, READABLY\n\n"
             "%s, %ld tokens (random)\n"
             "maps kept: %d heads, %.1f MB\n"
             "T x T = %ld x %ld per head\n\n"
             "pooling: %d x %d cells of\n"
             "  %d x %d positions (%s)\n"
             "grey = never computed (causal)\n\n"
             "#1 max, mean-pooled: %.3f\n"
             "#1 max, %s-pooled:  %.3f\n"
             "#1 max, cropped:      %.3f\n\n"
             "mean prev score %.4f\n"
             "  (uniform rows: %.4f)\n"
             "mean focus %.3f, top first %.3f",
             cfg.name, T, nm, kept_bytes / 1e6, T, T, cells_drawn, cells_drawn, block, block, pool_s, vmax_mean,
             pool_max ? "mean" : "max", vmax_other, vmax_crop, mean_prev, chance_prev, mean_focus, max_first);
    mlmp_panel_set_text(mlmp_panel(fig, 1, ncol - 1), text);
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", cfg.name);
    cJSON_AddNumberToObject(root, "seq", (double)T);
    cJSON_AddNumberToObject(root, "native_context", native_ctx);
    cJSON_AddNumberToObject(root, "seed", (double)d.seed);
    cJSON_AddStringToObject(root, "weights", "random (mlm_model_init)");
    cJSON_AddStringToObject(root, "score", mlm_attn_score_name(score));
    cJSON_AddStringToObject(root, "pool", pool_s);
    cJSON_AddNumberToObject(root, "cells", cells_drawn);
    cJSON_AddNumberToObject(root, "block", block);
    cJSON_AddNumberToObject(root, "maps_kept", nm);
    cJSON_AddNumberToObject(root, "kept_bytes", (double)kept_bytes);
    cJSON_AddNumberToObject(root, "forward_flops", (double)flops);
    cJSON_AddNumberToObject(root, "prev_chance", chance_prev);
    cJSON_AddNumberToObject(root, "best_vmax_mean_pool", vmax_mean);
    double vmax_maxpool = 0;
    int mm = mlm_attn_pool(best->probs, (int)T, 0, 0, (int)cells, 1, tmp, NULL);
    for (int i = 0; i < mm * mm; i++) if (isfinite(tmp[i]) && tmp[i] > vmax_maxpool) vmax_maxpool = tmp[i];
    cJSON_AddNumberToObject(root, "best_vmax_max_pool", vmax_maxpool);
    cJSON_AddNumberToObject(root, "best_vmax_crop", vmax_crop);
    cJSON *ha = cJSON_AddArrayToObject(root, "heads");
    for (int i = 0; i < nm; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "layer", all[i].layer);
        cJSON_AddNumberToObject(o, "head", all[i].head);
        cJSON_AddNumberToObject(o, "prev", all[i].prev);
        cJSON_AddNumberToObject(o, "focus", all[i].focus);
        cJSON_AddNumberToObject(o, "first", all[i].first);
        cJSON_AddItemToArray(ha, o);
    }
    cJSON *ta = cJSON_AddArrayToObject(root, "top");
    for (int q = 0; q < npick; q++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "layer", pick[q].layer);
        cJSON_AddNumberToObject(o, "head", pick[q].head);
        cJSON_AddNumberToObject(o, "score", pick[q].score);
        cJSON_AddItemToArray(ta, o);
    }
    if (out) {
        snprintf(out->title, sizeof out->title, "Long inputs stay readable");
        snprintf(out->finding, sizeof out->finding,
                 "A %ld-token forward pass of %s with random weights keeps only the attention maps it draws (%d heads, %.1f MB). "
                 "Each %ld x %ld map is pooled into %d x %d cells of %d x %d positions; the %ld heads with the highest %s score "
                 "are drawn (best: layer %d head %d, %.3f). Mean pooling keeps the rows' mass (largest cell %.3f), max pooling "
                 "keeps the sharpest single weight (%.3f), and a crop of the last %ld positions shows individual weights (up to "
                 "%.3f). With random weights the previous-token score averages %.4f against %.4f for uniform causal rows: no "
                 "head has learned a pattern yet.",
                 T, cfg.name, nm, kept_bytes / 1e6, T, T, cells_drawn, cells_drawn, block, block, top_k, mlm_attn_score_name(score),
                 pick[0].layer, pick[0].head, pick[0].score, vmax_mean, pool_max ? vmax_mean : vmax_other, crop, vmax_crop, mean_prev,
                 chance_prev);
        snprintf(out->caption, sizeof out->caption,
                 "Top row: the top-%ld heads by %s score, each %ld x %ld map %s-pooled (colour 0 to the panel's max; grey cells "
                 "are above the causal diagonal and never computed). Bottom: the best head %s-pooled and cropped to the last %ld "
                 "positions without pooling; every kept head's score with the drawn ones in blue; the key numbers.",
                 top_k, mlm_attn_score_name(score), T, T, pool_s, pool_max ? "mean" : "max", crop);
    }
    int rc = mlm_analysis_finish(&d, fig, root, "12_long_inputs", out);
    free(sc); free(colr); free(tmp); free(all); free(maps); free(tok); free(lay);
    mlm_probe_free(p); mlm_acts_free(a); mlm_model_free(m);
    return rc;
}
