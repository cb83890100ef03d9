/* analysis_02.c - analysis 2: where the parameters of real models live. Per-block counts of
 * the attention matrices, the SwiGLU FFN and the norms for published configs, the share of
 * each, the GQA saving, and whole-model totals, all from the analytic module (lib/params.c)
 * at full size. */
#include "analysis.h"
#include "params.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXM 8

/* Display name of a preset: "llama3-8b" -> "Llama 3 8B". */
static void pretty(const char *p, char *buf, size_t cap) {
    const char *fam[][2] = {{"llama3.2-", "Llama 3.2 "}, {"llama3.1-", "Llama 3.1 "}, {"llama3-", "Llama 3 "},
                            {"llama2-", "Llama 2 "}, {"mistral-", "Mistral "}, {"codellama-", "Code Llama "},
                            {"tinyllama-", "TinyLlama "}, {"smollm2-", "SmolLM2 "}, {"stories", "stories"}};
    for (size_t i = 0; i < sizeof fam / sizeof fam[0]; i++) {
        size_t n = strlen(fam[i][0]);
        if (!strncmp(p, fam[i][0], n)) {
            snprintf(buf, cap, "%s", fam[i][1]);
            size_t o = strlen(buf);
            for (const char *c = p + n; *c && o + 1 < cap; c++) buf[o++] = (char)((*c >= 'a' && *c <= 'z') ? *c - 32 : *c);
            buf[o] = '\0';
            return;
        }
    }
    snprintf(buf, cap, "%s", p);
}

int mlm_analysis_02(int argc, char **argv, mlm_analysis_out *out) {
    mlm_demo d;
    mlm_demo_init(&d, "02_parameters");
    if (out) d.quiet = !out->verbose;
    const char *list = "llama2-7b,llama2-70b,llama3-8b,mistral-7b", *pie = "llama3-8b", *gqa = "llama2-70b";
    const mlm_demo_opt opts[] = {
        {"--models", MLM_OPT_STR, &list, 0, 0, "comma-separated presets or config files (default llama2-7b,llama2-70b,llama3-8b,mistral-7b; at most 8)"},
        {"--pie", MLM_OPT_STR, &pie, 0, 0, "model whose block is drawn as a pie (default llama3-8b)"},
        {"--gqa", MLM_OPT_STR, &gqa, 0, 0, "model whose GQA saving is quoted (default llama2-70b)"},
    };
    int prc = mlm_demo_parse(&d, argc, argv, opts, 3, "usage: 02_parameters [options]");
    if (prc) return prc == 1 ? 0 : prc;
    mlm_config cfg[MAXM];
    mlm_param_counts pc[MAXM];
    char names[MAXM][64];
    int n = 0;
    mlm_err e;
    char buf[1024];
    snprintf(buf, sizeof buf, "%s", list);
    for (char *tok = strtok(buf, ","); tok; tok = strtok(NULL, ",")) {
        if (n == MAXM) return mlm_demo_fail(&d, "--models: at most %d models", MAXM) + 1;
        if (mlm_config_resolve(&cfg[n], tok, &e) || mlm_params_count(&cfg[n], &pc[n], &e)) return mlm_demo_fail(&d, "%s", e.msg);
        pretty(cfg[n].name, names[n], sizeof names[n]);
        n++;
    }
    if (n == 0) return mlm_demo_fail(&d, "--models: no model given") + 1;
    mlm_config pcfg, gcfg;
    mlm_param_counts pp, gp;
    if (mlm_config_resolve(&pcfg, pie, &e) || mlm_params_count(&pcfg, &pp, &e) || mlm_config_resolve(&gcfg, gqa, &e) ||
        mlm_params_count(&gcfg, &gp, &e))
        return mlm_demo_fail(&d, "%s", e.msg);
    if (mlm_demo_prepare(&d)) return 1;
    double saving = 100.0 * (double)(gp.attn_mha - gp.attn) / (double)gp.attn_mha;
    char gname[64], pname[64];
    pretty(gcfg.name, gname, sizeof gname);
    pretty(pcfg.name, pname, sizeof pname);
    cJSON *root = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(root, "models");
    if (!d.quiet) {
        printf("Analysis 2: parameter distribution for real configs (per block unless stated)\n\n");
        printf("  %-14s %7s %4s %5s %7s %10s %10s %8s %10s %7s %7s %10s %10s\n", "Model", "d_model", "h", "h_kv", "d_ff",
               "Attn (M)", "FFN (M)", "Norm", "Total (M)", "Attn%", "FFN%", "x Layers", "Model");
        printf("  %s\n", "-----------------------------------------------------------------------------------------------------------------------");
    }
    double attn_pct[MAXM], ffn_pct[MAXM];
    for (int k = 0; k < n; k++) {
        const mlm_param_counts *p = &pc[k];
        attn_pct[k] = 100.0 * (double)p->attn / (double)p->block;
        ffn_pct[k] = 100.0 * (double)p->ffn / (double)p->block;
        double layers = (double)p->block * cfg[k].n_layers;
        if (!d.quiet)
            printf("  %-14s %7d %4d %5d %7d %10.1f %10.1f %8lld %10.1f %6.1f%% %6.1f%% %9.2fB %9.2fB\n", names[k], cfg[k].d_model,
                   cfg[k].n_heads, cfg[k].n_kv_heads, cfg[k].d_ff, p->attn / 1e6, p->ffn / 1e6, (long long)p->norms,
                   p->block / 1e6, attn_pct[k], ffn_pct[k], layers / 1e9, p->total / 1e9);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "preset", cfg[k].name);
        cJSON_AddStringToObject(o, "name", names[k]);
        cJSON_AddNumberToObject(o, "d_model", cfg[k].d_model);
        cJSON_AddNumberToObject(o, "n_heads", cfg[k].n_heads);
        cJSON_AddNumberToObject(o, "n_kv_heads", cfg[k].n_kv_heads);
        cJSON_AddNumberToObject(o, "d_ff", cfg[k].d_ff);
        cJSON_AddNumberToObject(o, "n_layers", cfg[k].n_layers);
        cJSON_AddNumberToObject(o, "block_attn", (double)p->attn);
        cJSON_AddNumberToObject(o, "block_ffn", (double)p->ffn);
        cJSON_AddNumberToObject(o, "block_norms", (double)p->norms);
        cJSON_AddNumberToObject(o, "block_total", (double)p->block);
        cJSON_AddNumberToObject(o, "attn_pct", attn_pct[k]);
        cJSON_AddNumberToObject(o, "ffn_pct", ffn_pct[k]);
        cJSON_AddNumberToObject(o, "blocks_total", (double)p->blocks);
        cJSON_AddNumberToObject(o, "embedding", (double)p->embedding);
        cJSON_AddNumberToObject(o, "lm_head", (double)p->lm_head);
        cJSON_AddNumberToObject(o, "total", (double)p->total);
        cJSON_AddNumberToObject(o, "attn_mha", (double)p->attn_mha);
        cJSON_AddItemToArray(arr, o);
    }
    if (!d.quiet) {
        printf("\n  GQA savings in %s attention parameters (per block):\n", gname);
        printf("    MHA would need: %.1fM (2 d h d_k + 2 d h d_k = 4 d^2 here)\n", gp.attn_mha / 1e6);
        printf("    GQA actual:     %.1fM\n    Savings:        %.2f%%\n", gp.attn / 1e6, saving);
        printf("    (W_K and W_V shrink from d x d to d x h_kv d_k: %d KV heads for %d query heads)\n\n", gcfg.n_kv_heads, gcfg.n_heads);
    }
    cJSON *g = cJSON_AddObjectToObject(root, "gqa");
    cJSON_AddStringToObject(g, "preset", gcfg.name);
    cJSON_AddNumberToObject(g, "attn_mha", (double)gp.attn_mha);
    cJSON_AddNumberToObject(g, "attn_gqa", (double)gp.attn);
    cJSON_AddNumberToObject(g, "saving_pct", saving);

    mlmp_figure *fig = mlmp_figure_new("Transformer block: parameter distribution across real LLM configs", 2, 3);
    const char *cats[MAXM];
    for (int k = 0; k < n; k++) cats[k] = names[k];
    /* (a) grouped bars per block */
    double va[MAXM], vf[MAXM];
    for (int k = 0; k < n; k++) { va[k] = pc[k].attn / 1e6; vf[k] = pc[k].ffn / 1e6; }
    mlmp_panel_t *pa = mlmp_panel(fig, 0, 0);
    mlmp_panel_set_title(pa, "Parameter breakdown per block", "the FFN dominates; the two norms (2 d) are too small to see");
    mlmp_panel_set_xcategories(pa, cats, (size_t)n);
    mlmp_panel_set_ylabel(pa, "parameters per block (millions)");
    mlmp_series *s;
    s = mlmp_add_bars(pa, va, (size_t)n, "attention (Q, K, V, O)");
    mlmp_series_set_color(s, mlmp_rgb(0x009e73));
    mlmp_bars_set_value_format(s, "%.0f");
    s = mlmp_add_bars(pa, vf, (size_t)n, "FFN (gate, up, down)");
    mlmp_series_set_color(s, mlmp_rgb(0xe69f00));
    mlmp_bars_set_value_format(s, "%.0f");
    /* (b) stacked shares */
    mlmp_panel_t *pb = mlmp_panel(fig, 0, 1);
    mlmp_panel_set_title(pb, "Attention vs FFN share of a block", "FFN ~2/3 with MHA, more with GQA");
    mlmp_panel_set_xcategories(pb, cats, (size_t)n);
    mlmp_panel_set_ylabel(pb, "share of block parameters (%)");
    mlmp_panel_set_bar_mode(pb, MLMP_BARS_STACKED);
    mlmp_panel_set_ylim(pb, 0, 135);
    mlmp_panel_set_legend(pb, MLMP_LEGEND_UPPER_RIGHT);
    s = mlmp_add_bars(pb, ffn_pct, (size_t)n, "FFN");
    mlmp_series_set_color(s, mlmp_rgb(0xe69f00));
    mlmp_bars_set_value_format(s, "%.1f%%");
    mlmp_bars_set_labels_inside(s, 1);
    s = mlmp_add_bars(pb, attn_pct, (size_t)n, "attention");
    mlmp_series_set_color(s, mlmp_rgb(0x009e73));
    mlmp_bars_set_value_format(s, "%.1f%%");
    mlmp_bars_set_labels_inside(s, 1);
    mlmp_add_hline(pb, 200.0 / 3.0, "2/3");
    /* (c) pie of one block's seven matrices */
    double wedges[7] = {(double)pp.wq, (double)pp.wk, (double)pp.wv, (double)pp.wo, (double)pp.w_gate, (double)pp.w_up, (double)pp.w_down};
    const char *wl[7] = {"W<sub>Q</sub>", "W<sub>K</sub>", "W<sub>V</sub>", "W<sub>O</sub>", "W<sub>gate</sub>", "W<sub>up</sub>", "W<sub>down</sub>"};
    double ex[7] = {0, 0, 0, 0, 0.08, 0.08, 0.08};
    mlmp_color wc[7] = {mlmp_rgb(0x009e73), mlmp_rgb(0x56b4e9), mlmp_rgb(0x0072b2), mlmp_rgb(0x00c5a0),
                        mlmp_rgb(0xe69f00), mlmp_rgb(0xd55e00), mlmp_rgb(0xf0c060)};
    mlmp_panel_t *pcn = mlmp_panel(fig, 0, 2);
    char t1[128], t2[160];
    snprintf(t1, sizeof t1, "The seven matrices of one %s block", pname);
    snprintf(t2, sizeof t2, "total %.1fM per block (norms %lld); FFN wedges pulled out", pp.block / 1e6, (long long)pp.norms);
    mlmp_panel_set_title(pcn, t1, t2);
    s = mlmp_add_pie(pcn, wedges, 7, wl);
    mlmp_pie_set_explode(s, ex, 7);
    mlmp_series_set_colors(s, wc, 7);
    /* (d) MHA vs actual attention */
    double mha[MAXM], act[MAXM];
    char *sav[MAXM];
    for (int k = 0; k < n; k++) {
        mha[k] = pc[k].attn_mha / 1e6;
        act[k] = pc[k].attn / 1e6;
        sav[k] = malloc(48);
        double sv = 100.0 * (double)(pc[k].attn_mha - pc[k].attn) / (double)pc[k].attn_mha;
        if (sv > 0.05) snprintf(sav[k], 48, "−%.1f%%", sv);
        else snprintf(sav[k], 48, "MHA");
    }
    mlmp_panel_t *pd = mlmp_panel(fig, 1, 0);
    mlmp_panel_set_title(pd, "GQA reduces attention parameters", "MHA (h_kv = h) vs the actual config, per block");
    mlmp_panel_set_xcategories(pd, cats, (size_t)n);
    mlmp_panel_set_ylabel(pd, "attention parameters (millions)");
    s = mlmp_add_bars(pd, mha, (size_t)n, "MHA (h_kv = h)");
    mlmp_series_set_color(s, mlmp_rgb(0xbbbbbb));
    mlmp_bars_set_value_format(s, NULL);
    s = mlmp_add_bars(pd, act, (size_t)n, "actual (GQA where h_kv < h)");
    mlmp_series_set_color(s, mlmp_rgb(0x009e73));
    mlmp_bars_set_value_labels(s, (const char *const *)sav, (size_t)n);
    /* (e) whole-model totals by component */
    double ve[MAXM], vb[MAXM], vl[MAXM];
    for (int k = 0; k < n; k++) { ve[k] = pc[k].embedding / 1e9; vb[k] = (pc[k].blocks + pc[k].final_norm) / 1e9; vl[k] = pc[k].lm_head / 1e9; }
    mlmp_panel_t *pe = mlmp_panel(fig, 1, 1);
    mlmp_panel_set_title(pe, "Whole-model parameters by component", "blocks dominate; the vocabulary costs V d twice when untied");
    mlmp_panel_set_xcategories(pe, cats, (size_t)n);
    mlmp_panel_set_ylabel(pe, "parameters (billions)");
    mlmp_panel_set_bar_mode(pe, MLMP_BARS_STACKED);
    s = mlmp_add_bars(pe, vb, (size_t)n, "blocks + final norm");
    mlmp_series_set_color(s, mlmp_rgb(0x0072b2));
    mlmp_bars_set_value_format(s, NULL);
    s = mlmp_add_bars(pe, ve, (size_t)n, "embedding");
    mlmp_series_set_color(s, mlmp_rgb(0xcc79a7));
    mlmp_bars_set_value_format(s, NULL);
    s = mlmp_add_bars(pe, vl, (size_t)n, "lm_head");
    mlmp_series_set_color(s, mlmp_rgb(0xf0e442));
    char *tot[MAXM];
    for (int k = 0; k < n; k++) { tot[k] = malloc(32); snprintf(tot[k], 32, "%.2fB", pc[k].total / 1e9); }
    mlmp_bars_set_value_labels(s, (const char *const *)tot, (size_t)n);
    /* (f) text */
    char text[2400];
    int o = snprintf(text, sizeof text, "PARAMETERS PER BLOCK (exact)\n\n"
                                        "W_Q = d h d_k      W_O = h d_k d\n"
                                        "W_K = W_V = d h_kv d_k\n"
                                        "W_gate = W_up = W_down = d d_ff\n"
                                        "norms = 2 d\n\n");
    for (int k = 0; k < n && o < (int)sizeof text; k++)
        o += snprintf(text + o, sizeof text - (size_t)o, "%-15s %6.1fM/block %7.2fB\n", names[k], pc[k].block / 1e6, pc[k].total / 1e9);
    if (o < (int)sizeof text)
        snprintf(text + o, sizeof text - (size_t)o, "\nGQA in %s saves %.2f%%\nof attention parameters vs MHA.\n"
                 "Totals match the published\nweight files (docs/accounting.md).", gname, saving);
    mlmp_panel_set_text(mlmp_panel(fig, 1, 2), text);
    if (out) {
        snprintf(out->title, sizeof out->title, "Parameter distribution for real configs");
        int w = snprintf(out->finding, sizeof out->finding, "The FFN holds most of every block's parameters: ");
        for (int k = 0; k < n && w < (int)sizeof out->finding; k++)
            w += snprintf(out->finding + w, sizeof out->finding - (size_t)w, "%s%s %.1f%%", k ? ", " : "", names[k], ffn_pct[k]);
        if (w < (int)sizeof out->finding)
            snprintf(out->finding + w, sizeof out->finding - (size_t)w,
                     ". Grouped-query attention in %s cuts the attention matrices from %.1fM (MHA) to %.1fM per block, a %.2f%% saving. "
                     "A %s block holds %.1fM parameters.", gname, gp.attn_mha / 1e6, gp.attn / 1e6, saving, pname, pp.block / 1e6);
        snprintf(out->caption, sizeof out->caption,
                 "(a) parameters per block by sub-layer; (b) the attention and FFN shares with the 2/3 line; (c) the seven "
                 "matrices of one %s block; (d) attention parameters with MHA vs the real GQA config; (e) whole-model "
                 "totals by component; (f) the formulas. All counts from lib/params.c at full size.", pname);
    }
    for (int k = 0; k < n; k++) { free(sav[k]); free(tot[k]); }
    return mlm_analysis_finish(&d, fig, root, "02_parameters", out);
}
