/* 13_causal_predictions.c - analysis 13: causal masking made visible. One forward pass of a
 * short text (byte tokens) gives logits at EVERY position: row i has seen tokens 0..i and
 * predicts token i+1. The figure labels every attention row and every logit row with the
 * token it predicts, marks the target in the probability map, shows the per-position loss a
 * training step averages over, and checks causality directly: changing the token at
 * position k leaves the logits of rows 0..k-1 bit-identical and changes rows k..T-1. */
#include "analysis.h"
#include "attn_figure.h"
#include "forward.h"
#include "plot_cairo.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void label(int byte, char *buf, size_t cap) {
    if (byte == ' ') snprintf(buf, cap, "␣");
    else if (byte == '<') snprintf(buf, cap, "&lt;");
    else if (byte == '>') snprintf(buf, cap, "&gt;");
    else if (byte == '&') snprintf(buf, cap, "&amp;");
    else if (byte >= 33 && byte < 127) snprintf(buf, cap, "%c", byte);
    else snprintf(buf, cap, "\\x%02x", byte);
}

int mlm_analysis_13(int argc, char **argv, mlm_analysis_out *out) {
    mlm_demo d;
    mlm_demo_init(&d, "13_causal_predictions");
    if (out) d.quiet = !out->verbose;
    const char *model = "block-demo", *text = "the cat sat on the mat";
    long head = 0, change = -1, layer = 0;
    const mlm_demo_opt opts[] = {
        {"--model", MLM_OPT_STR, &model, 0, 0, "preset or config .json with vocab >= 256 (default block-demo; random weights)"},
        {"--text", MLM_OPT_STR, &text, 0, 0, "the input, one byte = one token (default \"the cat sat on the mat\")"},
        {"--layer", MLM_OPT_LONG, &layer, 0, 1024, "layer of the attention map (default 0)"},
        {"--head", MLM_OPT_LONG, &head, 0, 1024, "head of the attention map (default 0)"},
        {"--change-at", MLM_OPT_LONG, &change, 1, 4096, "position whose token is changed in the causality check (default T/2)"},
    };
    int prc = mlm_demo_parse(&d, argc, argv, opts, 5, "usage: 13_causal_predictions [options]");
    if (prc) return prc == 1 ? 0 : prc;
    int T = (int)strlen(text);
    if (T < 2 || T > 64) return mlm_demo_fail(&d, "--text must have 2..64 bytes (has %d)", T) + 1;
    if (change < 0) change = T / 2;
    if (change >= T) return mlm_demo_fail(&d, "--change-at %ld must be below the text length %d", change, T) + 1;
    mlm_err e;
    mlm_config cfg;
    if (mlm_config_resolve(&cfg, model, &e)) return mlm_demo_fail(&d, "%s", e.msg);
    if (cfg.vocab_size < 256) return mlm_demo_fail(&d, "%s: vocabulary %d is below 256 (byte tokens)", cfg.name, cfg.vocab_size) + 1;
    if (layer >= cfg.n_layers || head >= cfg.n_heads)
        return mlm_demo_fail(&d, "--layer %ld / --head %ld: the model has %d layers, %d heads", layer, head, cfg.n_layers, cfg.n_heads) + 1;
    if (T > cfg.max_seq_len) cfg.max_seq_len = T;
    if (mlm_demo_prepare(&d)) return 1;
    mlm_model *m = mlm_model_new(&cfg, &e);
    if (!m) return mlm_demo_fail(&d, "%s", e.msg);
    mlm_init_opts io = {d.seed, 0};
    mlm_model_init(m, &io);
    int tok[64], tok2[64];
    for (int t = 0; t < T; t++) tok[t] = tok2[t] = (unsigned char)text[t];
    tok2[change] = tok[change] == 'x' ? 'y' : 'x';
    int64_t V = cfg.vocab_size;
    char keep[96];
    snprintf(keep, sizeof keep, "blocks.%ld.attn.probs", layer);
    mlm_acts *a = mlm_acts_new(&cfg, 1, T, 0, &e);
    mlm_probe *p = mlm_probe_new(keep);
    mlm_real *lg1 = malloc(sizeof(mlm_real) * (size_t)(T * V)), *pr1 = malloc(sizeof(mlm_real) * (size_t)(T * V));
    if (!a || !p || !lg1 || !pr1 || mlm_forward(m, a, tok, 1, T, NULL, p, &e)) {
        mlm_acts_free(a); mlm_probe_free(p); mlm_model_free(m); free(lg1); free(pr1);
        return mlm_demo_fail(&d, "%s", e.msg);
    }
    memcpy(lg1, a->logits, sizeof(mlm_real) * (size_t)(T * V));
    memcpy(pr1, a->out_probs, sizeof(mlm_real) * (size_t)(T * V));
    const mlm_record *rl = mlm_probe_find(p, "logits");
    int logit_rows = rl ? (int)rl->shape[1] : 0;
    mlm_attn_map maps[1024];
    int nmaps = mlm_attn_maps_from_probe(p, &cfg, 0, maps, 1024);
    const mlm_attn_map *am = NULL;
    for (int i = 0; i < nmaps; i++) if (maps[i].layer == layer && maps[i].head == head) am = &maps[i];
    /* causality check: the second text */
    if (mlm_forward(m, a, tok2, 1, T, NULL, NULL, &e) || !am) {
        mlm_acts_free(a); mlm_probe_free(p); mlm_model_free(m); free(lg1); free(pr1);
        return mlm_demo_fail(&d, "%s", am ? e.msg : "attention map missing");
    }
    double diff[64], prefix_max = 0;
    int prefix_identical = 1, suffix_changed = 1;
    for (int t = 0; t < T; t++) {
        double mx = 0;
        for (int64_t v = 0; v < V; v++) mx = fmax(mx, fabs((double)lg1[t * V + v] - a->logits[t * V + v]));
        diff[t] = mx;
        if (t < change) { prefix_identical &= mx == 0; prefix_max = fmax(prefix_max, mx); }
        else suffix_changed &= mx > 0;
    }
    /* per position: probability and loss of the actual next token; argmax */
    double ptgt[64], loss[64], mean_loss = 0;
    int argmax[64];
    for (int t = 0; t < T; t++) {
        int best = 0;
        for (int64_t v = 1; v < V; v++) if (pr1[t * V + v] > pr1[t * V + best]) best = (int)v;
        argmax[t] = best;
        if (t + 1 < T) {
            ptgt[t] = pr1[t * V + tok[t + 1]];
            loss[t] = -log(ptgt[t]);
            mean_loss += loss[t] / (T - 1);
        } else ptgt[t] = loss[t] = NAN;
    }
    /* distinct bytes of the text: the probability map's columns */
    int cols[64], nc = 0;
    for (int b = 0; b < 256; b++)
        for (int t = 0; t < T; t++) if (tok[t] == b) { cols[nc++] = b; break; }
    char tl[64][16];
    for (int t = 0; t < T; t++) label(tok[t], tl[t], sizeof tl[t]);
    const char *tlp[64];
    for (int t = 0; t < T; t++) tlp[t] = tl[t];
    if (!d.quiet) {
        printf("Analysis 13: causal predictions (%s, random weights, %d byte tokens: \"%s\")\n", cfg.name, T, text);
        printf("  one forward pass gives %d rows of logits (one per position), %d of them have a next token to score\n", logit_rows, T - 1);
        printf("  %-4s %-6s %-10s %12s %10s %10s\n", "i", "token", "predicts", "p(target)", "loss", "argmax");
        for (int t = 0; t < T; t++) {
            char am_s[16];
            label(argmax[t], am_s, sizeof am_s);
            if (t + 1 < T) printf("  %-4d %-6s %-10s %12.6f %10.4f %10s\n", t, tl[t], tl[t + 1], ptgt[t], loss[t], am_s);
            else printf("  %-4d %-6s %-10s %12s %10s %10s   <- the row generation samples from\n", t, tl[t], "?", "-", "-", am_s);
        }
        printf("  mean loss over %d positions %.4f (uniform: ln %lld = %.4f)\n", T - 1, mean_loss, (long long)V, log((double)V));
        printf("  causality: token %ld changed; max |logit diff| rows 0..%ld = %g (bit-identical: %s), rows %ld..%d all changed: %s\n", change,
               change - 1, prefix_max, prefix_identical ? "yes" : "NO", change, T - 1, suffix_changed ? "yes" : "NO");
    }

    char title[200];
    snprintf(title, sizeof title, "Causal masking made visible: every row i predicts token i+1 (%s, \"%s\")", cfg.name, text);
    mlmp_figure *fig = mlmp_figure_new(title, 2, 3);
    mlmp_figure_set_size_px(fig, 2700, 1700, 150);
    /* (a) attention map, rows labelled with their prediction */
    char l1[96];
    snprintf(l1, sizeof l1, "(a) Attention, layer %ld head %ld", layer, head);
    mlmp_panel_t *pa = mlmp_panel(fig, 0, 0);
    mlm_attn_panel(pa, am, 0, 0, 64, 0, tlp, 1, 1, l1, "row i: query at i, its output predicts i+1; grey = masked", 1, 1, NULL);
    /* (b) probability map: positions x the text's bytes, target marked */
    mlmp_panel_t *pb = mlmp_panel(fig, 0, 1);
    mlmp_panel_span(pb, 1, 2);
    double *pm = malloc(sizeof(double) * (size_t)(T * nc));
    double pmax = 0;
    for (int t = 0; t < T; t++)
        for (int c = 0; c < nc; c++) { pm[t * nc + c] = pr1[t * V + cols[c]]; pmax = fmax(pmax, pm[t * nc + c]); }
    mlmp_panel_set_title(pb, "(b) Output probabilities: one row per position, all computed in the same pass",
                         "columns: the bytes of the text; ○ = the token the row is trained to predict (i+1); last row has none");
    mlmp_series *hb = mlmp_add_heatmap(pb, pm, (size_t)T, (size_t)nc, MLMP_CMAP_BLUES);
    mlmp_heatmap_set_range(hb, 0, pmax);
    mlmp_heatmap_set_colorbar(hb, 1, "p(next = column)");
    char cl[64][16], rl_s[64][48];
    const char *clp[64], *rlp[64];
    for (int c = 0; c < nc; c++) { label(cols[c], cl[c], sizeof cl[c]); clp[c] = cl[c]; }
    for (int t = 0; t < T; t++) {
        if (t + 1 < T) snprintf(rl_s[t], sizeof rl_s[t], "%d %.15s → %.15s", t, tl[t], tl[t + 1]);
        else snprintf(rl_s[t], sizeof rl_s[t], "%d %.15s → ? (generation)", t, tl[t]);
        rlp[t] = rl_s[t];
    }
    mlmp_panel_set_xcategories(pb, clp, (size_t)nc);
    mlmp_panel_set_ycategories(pb, rlp, (size_t)T);
    mlmp_panel_set_xlabel(pb, "candidate next token");
    mlmp_panel_set_ylabel(pb, "position i: token → target at i+1");
    mlmp_panel_set_grid(pb, 0);
    for (int t = 0; t + 1 < T; t++) {
        int c = 0;
        while (cols[c] != tok[t + 1]) c++;
        mlmp_series *an = mlmp_add_annotation(pb, c, t, "○");
        mlmp_annotation_set_align(an, MLMP_ALIGN_CENTER, MLMP_ALIGN_CENTER);
        mlmp_annotation_set_font(an, 15, 1);
        mlmp_series_set_color(an, mlmp_rgb(0xd55e00));
    }
    /* (c) loss per position */
    mlmp_panel_t *pc = mlmp_panel(fig, 1, 0);
    mlmp_panel_set_title(pc, "(c) Loss at every position", "a training step averages T-1 predictions, not one");
    mlmp_series *bc = mlmp_add_bars(pc, loss, (size_t)(T - 1), "−log p(token i+1)");
    mlmp_bars_set_value_format(bc, NULL);
    mlmp_series_set_color(mlmp_add_hline(pc, log((double)V), "uniform: ln V"), mlmp_rgb(0x555555));
    mlmp_series_set_color(mlmp_add_hline(pc, mean_loss, "mean of the T-1 rows"), mlmp_rgb(0xd55e00));
    const char *xl[64];
    for (int t = 0; t < T - 1; t++) xl[t] = rl_s[t];
    mlmp_panel_set_xcategories(pc, xl, (size_t)(T - 1));
    mlmp_panel_set_xlabel(pc, "position i: token → target");
    mlmp_panel_set_ylabel(pc, "cross-entropy (nats)");
    double lmin = INFINITY, lmax = 0;
    for (int t = 0; t < T - 1; t++) { lmin = fmin(lmin, loss[t]); lmax = fmax(lmax, loss[t]); }
    mlmp_panel_set_ylim(pc, floor(lmin - 0.5), ceil(lmax + 0.8));
    /* (d) causality check */
    mlmp_panel_t *pd = mlmp_panel(fig, 1, 1);
    char l2[160];
    snprintf(l1, sizeof l1, "(d) Change token %ld (%s → %c): which rows move?", change, tl[change], tok2[change]);
    snprintf(l2, sizeof l2, "rows 0..%ld: max |Δlogit| exactly 0 (grey); rows %ld..%d change (orange)", change - 1, change, T - 1);
    mlmp_panel_set_title(pd, l1, l2);
    mlmp_color dc[64];
    for (int t = 0; t < T; t++) dc[t] = t < change ? mlmp_rgb(0x999999) : mlmp_rgb(0xd55e00);
    mlmp_series *bd = mlmp_add_bars(pd, diff, (size_t)T, NULL);
    mlmp_series_set_colors(bd, dc, (size_t)T);
    mlmp_bars_set_value_format(bd, NULL);
    const char *dl[64];
    char dls[64][12];
    for (int t = 0; t < T; t++) { snprintf(dls[t], sizeof dls[t], "%d", t); dl[t] = dls[t]; }
    mlmp_panel_set_xcategories(pd, dl, (size_t)T);
    mlmp_panel_set_xlabel(pd, "logit row (position)");
    mlmp_panel_set_ylabel(pd, "max |Δ logit|");
    mlmp_panel_set_legend(pd, MLMP_LEGEND_NONE);
    /* (e) text */
    char txt[1400];
    char lastl[16];
    label(argmax[T - 1], lastl, sizeof lastl);
    snprintf(txt, sizeof txt,
             "ONE PASS, T PREDICTIONS\n\n"
             "tokens T = %d (bytes of the text)\n"
             "logit rows computed: %d\n"
             "rows with a target: %d (0..%d)\n"
             "last row %d predicts the unseen\n"
             "  next token (argmax '%s')\n\n"
             "row i sees tokens 0..i only:\n"
             "  mask = lower triangle\n\n"
             "mean loss %.4f nats\n"
             "  uniform ln %lld = %.4f\n"
             "  (random weights: no skill)\n\n"
             "change token %ld:\n"
             "  rows < %ld identical: %s\n"
             "  rows >= %ld changed: %s",
             T, logit_rows, T - 1, T - 2, T - 1, lastl, mean_loss, (long long)V, log((double)V), change, change,
             prefix_identical ? "yes" : "no", change, suffix_changed ? "yes" : "no");
    mlmp_panel_set_text(mlmp_panel(fig, 1, 2), txt);

    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", cfg.name);
    cJSON_AddStringToObject(root, "text", text);
    cJSON_AddNumberToObject(root, "seed", (double)d.seed);
    cJSON_AddNumberToObject(root, "tokens", T);
    cJSON_AddNumberToObject(root, "logit_rows", logit_rows);
    cJSON_AddNumberToObject(root, "targets", T - 1);
    cJSON_AddItemToObject(root, "token_ids", mlm_json_ints(tok, T));
    cJSON_AddItemToObject(root, "p_target", mlm_json_doubles(ptgt, T - 1));
    cJSON_AddItemToObject(root, "loss_per_position", mlm_json_doubles(loss, T - 1));
    cJSON_AddNumberToObject(root, "mean_loss", mean_loss);
    cJSON_AddNumberToObject(root, "uniform_loss", log((double)V));
    cJSON_AddItemToObject(root, "argmax", mlm_json_ints(argmax, T));
    cJSON_AddNumberToObject(root, "change_at", (double)change);
    cJSON_AddItemToObject(root, "logit_diff", mlm_json_doubles(diff, T));
    cJSON_AddBoolToObject(root, "prefix_bit_identical", prefix_identical);
    cJSON_AddBoolToObject(root, "suffix_changed", suffix_changed);
    double upper = 0;
    for (int i = 0; i < T; i++) for (int j = i + 1; j < T; j++) upper += am->probs[(int64_t)i * T + j];
    cJSON_AddNumberToObject(root, "attn_upper_triangle_sum", upper);
    if (out) {
        snprintf(out->title, sizeof out->title, "Causal masking made visible");
        snprintf(out->finding, sizeof out->finding,
                 "One forward pass of the %d bytes \"%s\" through %s (random weights) computes %d rows of logits, one per "
                 "position: row i has seen tokens 0..i and is scored against token i+1, so %d predictions enter the loss "
                 "(mean %.3f nats; uniform is %.3f) and only the last row is the one generation samples from. Changing the "
                 "token at position %ld leaves rows 0..%ld bit-identical and changes every row from %ld on (largest |Δlogit| %.3f).",
                 T, text, cfg.name, logit_rows, T - 1, mean_loss, log((double)V), change, change - 1, change, diff[T - 1]);
        snprintf(out->caption, sizeof out->caption,
                 "(a) attention of one head, each row labelled \"i token → next token\": the row's output predicts the next "
                 "token; grey cells are masked. (b) the output probabilities of every position over the text's bytes, the "
                 "target of each row circled; the last row has no target. (c) the cross-entropy at each position, with its "
                 "mean and the uniform level. (d) max |Δlogit| per row after changing one token: zero before it, non-zero from it on.");
    }
    int rc = mlm_analysis_finish(&d, fig, root, "13_causal_predictions", out);
    free(pm); free(lg1); free(pr1);
    mlm_acts_free(a); mlm_probe_free(p); mlm_model_free(m);
    return rc;
}
