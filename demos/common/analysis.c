/* analysis.c - finishing an analysis: hand the results over or render and save them. */
#include "analysis.h"
#include "plot_cairo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mlm_analysis_out_free(mlm_analysis_out *o) {
    if (!o) return;
    mlmp_figure_free(o->fig);
    cJSON_Delete(o->json);
    mlmp_diagram_free(o->diagram);
    o->fig = NULL;
    o->json = NULL;
    o->diagram = NULL;
}

int mlm_analysis_finish(const mlm_demo *d, mlmp_figure *fig, cJSON *json, const char *base, mlm_analysis_out *out) {
    if (out) {
        out->fig = fig;
        out->json = json;
        snprintf(out->name, sizeof out->name, "%s", base);
        if (!out->fig_name[0]) snprintf(out->fig_name, sizeof out->fig_name, "%s", base);
        return 0;
    }
    int rc = mlm_demo_render(d, fig, base);
    if (rc == 0) rc = mlm_demo_save_json(d, json, base);
    else cJSON_Delete(json);
    mlmp_figure_free(fig);
    mlmp_plots_cleanup();
    return rc ? 1 : 0;
}

const mlm_analysis_entry mlm_analyses[] = {
    {"01_forward_pass", mlm_analysis_01},   {"02_parameters", mlm_analysis_02},
    {"03_swiglu", mlm_analysis_03},         {"04_residual", mlm_analysis_04},
    {"05_flops_crossover", mlm_analysis_05}, {"06_causal_rope", mlm_analysis_06},
    {"07_real_configs", mlm_analysis_07},
    {"08_prenorm_postnorm", mlm_analysis_08}, {"09_trained_heads", mlm_analysis_09},
    {"10_induction_forming", mlm_analysis_10}, {"11_architecture_diagram", mlm_analysis_11},
    {"12_long_inputs", mlm_analysis_12},      {"13_causal_predictions", mlm_analysis_13},
    {"14_kv_decoding", mlm_analysis_14},
};
const int mlm_analysis_count = (int)(sizeof mlm_analyses / sizeof mlm_analyses[0]);
