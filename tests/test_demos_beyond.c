/* test_demos_beyond.c - the analyses beyond the reference (08, 11, 12, 13, 14) end to end at
 * reduced sizes: run each program, check the properties its teaching page claims in its
 * JSON, and the files it renders (docs/analysis-8-*.md ... docs/analysis-14-*.md). */
#include "check.h"
#include "demo_json.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>

static char bdir[512], out[600];

static int run(const char *demo, const char *args) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "OMP_NUM_THREADS=1 %s/demos/%s --out %s --quiet %s >%s/demo_beyond.log 2>&1", bdir, demo, out, args, out);
    int st = system(cmd);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static cJSON *load(const char *name) { return demo_load_json(out, name); }

static double num(const cJSON *o, const char *k) { return demo_num(o, k); }

static int exists(const char *name, const char *ext) { return demo_file_exists(out, name, ext); }

static void files(const char *name) {
    char what[160];
    snprintf(what, sizeof what, "%s renders PNG, SVG and PDF", name);
    CHECK(exists(name, ".png") && exists(name, ".svg") && exists(name, ".pdf"), what);
}

int main(void) {
    const char *b = getenv("MLM_BUILD");
    snprintf(bdir, sizeof bdir, "%s", b ? b : "build/float");
    snprintf(out, sizeof out, "%s/demos_beyond", getenv("MLM_TMP") ? getenv("MLM_TMP") : "/tmp");
    mkdir(out, 0777);

    /* 08: depths 2 and 32 (the page's claims are about N = 32) */
    CHECK(run("08_prenorm_postnorm", "--n-list 2,32") == 0, "08_prenorm_postnorm runs");
    files("08_prenorm_postnorm");
    cJSON *j = load("08_prenorm_postnorm");
    CHECK(j != NULL, "08 writes its JSON");
    if (j) {
        cJSON *dp = cJSON_GetObjectItem(j, "deep");
        cJSON *pre = cJSON_GetObjectItem(dp, "pre_scaled"), *post = cJSON_GetObjectItem(dp, "post_scaled");
        cJSON *preu = cJSON_GetObjectItem(dp, "pre_unscaled"), *postu = cJSON_GetObjectItem(dp, "post_unscaled");
        CHECK(num(j, "deep_N") == 32, "08: the deep stack has N = 32");
        /* docs/analysis-8: measured pre 1.141 / 0.165, post 11.0 / 0.031 (scaled) */
        CHECK(num(post, "ratio_layer0") > 5 && num(post, "max_abs_log_ratio_rest") < 0.1,
              "08: post-norm (1/sqrt(N)): all the gradient change at the input (ratio > 5), ~1 (|ln| < 0.1) at every other block");
        CHECK(num(pre, "ratio_layer0") < 2 && num(pre, "max_abs_log_ratio_rest") > num(post, "max_abs_log_ratio_rest"),
              "08: pre-norm (1/sqrt(N)): no jump at the input (< 2), small changes spread over the blocks (more than post-norm's)");
        CHECK(num(preu, "grad_ratio_in_out") > 10 * num(pre, "grad_ratio_in_out"),
              "08: without 1/sqrt(N) the pre-norm in/out gradient ratio grows more than tenfold");
        CHECK(fabs(num(post, "output_norm") - 16.0) < 1e-2 && fabs(num(postu, "output_norm") - 16.0) < 1e-2,
              "08: post-norm output norm is sqrt(T d) = 16, scaled or not");
        cJSON_Delete(j);
    }

    /* 11: the diagram from a live trace */
    CHECK(run("11_architecture_diagram", "--seq 8") == 0, "11_architecture_diagram runs");
    files("11_architecture_diagram");
    files("11_architecture_numbers");
    j = load("11_architecture_diagram");
    if (j) {
        cJSON *bx = cJSON_GetObjectItem(j, "boxes"), *it;
        int n = 0, qok = 0, shapes = 1;
        cJSON_ArrayForEach(it, bx) {
            n++;
            shapes &= cJSON_IsString(cJSON_GetObjectItem(it, "shape")) && num(it, "norm") > 0;
            if (!strcmp(cJSON_GetObjectItem(it, "id")->valuestring, "q"))
                qok = num(it, "flops") == 2.0 * 8 * 128 * 128 && !strcmp(cJSON_GetObjectItem(it, "shape")->valuestring, "(1, 8, 4, 32)");
        }
        CHECK(n == 22 && shapes, "11: 22 boxes, each with a live shape and a non-zero norm");
        CHECK(qok, "11: the Q box of microlm at T = 8 reads (1, 8, 4, 32) and 2 T d^2 = 262,144 FLOPs");
        CHECK(strstr(cJSON_GetObjectItem(j, "diagram_renderer")->valuestring, "gnuplot cannot") != NULL,
              "11: the JSON says the diagram is Cairo only");
        cJSON_Delete(j);
    }

    /* 12: a reduced long input (microlm, 128 tokens, two layers kept) */
    CHECK(run("12_long_inputs", "--model microlm --seq 128 --layers 0,7 --top-k 3 --cells 32 --crop 32") == 0, "12_long_inputs runs");
    files("12_long_inputs");
    j = load("12_long_inputs");
    if (j) {
        CHECK(num(j, "maps_kept") == 8, "12: only the chosen layers' maps are kept (2 layers x 4 heads)");
        CHECK(num(j, "cells") == 32 && num(j, "block") == 4, "12: 128 positions pooled into 32 x 32 cells of 4");
        double top0 = num(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "top"), 0), "score"), best = 0;
        cJSON *it;
        int sorted = 1;
        double prev = INFINITY;
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "top")) { sorted &= num(it, "score") <= prev; prev = num(it, "score"); }
        cJSON_ArrayForEach(it, cJSON_GetObjectItem(j, "heads")) best = fmax(best, num(it, "focus"));
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "top")) == 3 && sorted && top0 == best,
              "12: the top-3 heads are sorted and the first is the best focus score of all kept heads");
        CHECK(num(j, "best_vmax_max_pool") >= num(j, "best_vmax_mean_pool"), "12: max pooling keeps peaks at least as high as mean pooling");
        cJSON_Delete(j);
    }

    /* 13: causal predictions */
    CHECK(run("13_causal_predictions", "") == 0, "13_causal_predictions runs");
    files("13_causal_predictions");
    j = load("13_causal_predictions");
    if (j) {
        CHECK(num(j, "logit_rows") == num(j, "tokens") && num(j, "targets") == num(j, "tokens") - 1,
              "13: one pass gives a logit row per position, T - 1 of them with a target");
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "prefix_bit_identical")) && cJSON_IsTrue(cJSON_GetObjectItem(j, "suffix_changed")),
              "13: changing token k leaves rows < k bit-identical and changes every row >= k");
        CHECK(num(j, "attn_upper_triangle_sum") == 0, "13: no attention above the diagonal");
        CHECK(cJSON_GetArraySize(cJSON_GetObjectItem(j, "loss_per_position")) == num(j, "targets"), "13: a loss for every target");
        cJSON_Delete(j);
    }

    /* 14: KV-cache decoding, short */
    CHECK(run("14_kv_decoding", "--prompt 'Hi there' --new 6") == 0, "14_kv_decoding runs");
    files("14_kv_decoding");
    j = load("14_kv_decoding");
    if (j) {
        CHECK(cJSON_IsTrue(cJSON_GetObjectItem(j, "decode_flops_match_analytic")), "14: every decode step's counted FLOPs == mlm_flops_decode");
        CHECK(num(j, "cache_vs_prefill_max_diff") < 1e-5, "14: the cache holds the K and V of the batched prefill pass");
        CHECK(num(j, "logits_vs_full_max_diff") < 1e-4, "14: decoded logits equal the full forward's last row");
        cJSON *cb = cJSON_GetObjectItem(j, "cache_bytes");
        int n = cJSON_GetArraySize(cb);
        CHECK(n == 14 && cJSON_GetArrayItem(cb, n - 1)->valuedouble == num(j, "kv_cache_values_analytic") * num(j, "bytes_per_value"),
              "14: the filled cache at T tokens holds mlm_memory_kv_cache's values");
        CHECK(num(j, "nocache_over_cache") > 1, "14: decoding without a cache costs more");
        cJSON *df = cJSON_GetObjectItem(j, "decode_flops");
        int grows = 1;
        for (int t = 1; t < n; t++) grows &= cJSON_GetArrayItem(df, t)->valuedouble > cJSON_GetArrayItem(df, t - 1)->valuedouble;
        CHECK(grows, "14: each decode step costs a little more than the last (one more cached key)");
        cJSON_Delete(j);
    }
    /* bad flags */
    CHECK(run("12_long_inputs", "--pool median") != 0, "12: an unknown pooling is refused");
    CHECK(run("13_causal_predictions", "--change-at 999") != 0, "13: a change position beyond the text is refused");
    return check_done();
}
