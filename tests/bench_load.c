/* bench_load.c - loading and decoding a stories110M-shaped model (d 768, 12 layers, 12 heads,
 * vocab 32000, random weights): written once as a llama2.c .bin and as Hugging Face
 * safetensors (F32 and BF16) in a temporary directory, then the load time of each (median of
 * 3, file in the page cache; safetensors are memory-mapped, llama2.c streamed through a small
 * buffer), a plain fread of the same .bin for scale, and greedy decoding of 64 tokens with
 * the KV cache. Prints a table and BENCH lines for results/bench.json. */
#include "checkpoint.h"
#include "generate.h"
#include "hf_model.h"
#include "open.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of 3 mlm_model_open calls; 0 on failure. */
static double time_open(const char *spec) {
    double t[3];
    for (int i = 0; i < 3; i++) {
        mlm_err e;
        double t0 = mlm_now();
        mlm_model *m = mlm_model_open(spec, NULL, &e);
        t[i] = mlm_now() - t0;
        if (!m) { fprintf(stderr, "bench_load: %s\n", e.msg); return 0; }
        mlm_model_free(m);
    }
    qsort(t, 3, sizeof *t, cmp);
    return t[1];
}

static double time_fread(const char *path, double *mb) {
    double t[3];
    *mb = 0;
    for (int i = 0; i < 3; i++) {
        double t0 = mlm_now();
        FILE *f = fopen(path, "rb");
        if (!f) return 0;
        fseek(f, 0, SEEK_END);
        long n = ftell(f);
        rewind(f);
        char *buf = malloc((size_t)n);
        size_t got = buf ? fread(buf, 1, (size_t)n, f) : 0;
        fclose(f);
        free(buf);
        t[i] = mlm_now() - t0;
        *mb = (double)got / 1048576.0;
    }
    qsort(t, 3, sizeof *t, cmp);
    return t[1];
}

static void rm_dir(const char *dir) {
    const char *names[] = {"model.bin", "model.safetensors", "config.json", "bf16/model.safetensors", "bf16/config.json", "bf16"};
    char p[700];
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        if (remove(p) != 0) rmdir(p);
    }
    rmdir(dir);
}

int main(void) {
    mlm_err e;
    const mlm_config *c = mlm_preset_find("stories110m");
    if (!c) { fprintf(stderr, "bench_load: no stories110m preset\n"); return 1; }
    char dir[512];
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/mlm_bench_load.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) { fprintf(stderr, "bench_load: cannot make a temporary directory\n"); return 1; }
    mlm_model *m = mlm_model_new(c, &e);
    if (!m) { fprintf(stderr, "bench_load: %s\n", e.msg); return 1; }
    mlm_model_init(m, NULL);
    char bin[600], bf[600];
    snprintf(bin, sizeof bin, "%s/model.bin", dir);
    snprintf(bf, sizeof bf, "%s/bf16", dir);
    int ok = mlm_llama2c_save(m, bin, &e) == MLM_OK && mlm_hf_save(m, dir, NULL, &e) == MLM_OK;
    if (ok) {
        mlm_hf_save_opts so = {MLM_ST_BF16, 1, MLM_ROPE_ADJACENT};
        char cmd[700];
        snprintf(cmd, sizeof cmd, "mkdir -p '%s'", bf);
        ok = system(cmd) == 0 && mlm_hf_save(m, bf, &so, &e) == MLM_OK;
    }
    mlm_model_free(m);
    if (!ok) { fprintf(stderr, "bench_load: %s\n", e.msg); rm_dir(dir); return 1; }
    double mb;
    double t_read = time_fread(bin, &mb);
    double t_l2c = time_open(bin), t_st = time_open(dir), t_bf = time_open(bf);
    /* decode 64 tokens greedily with the KV cache (model loaded from safetensors) */
    mlm_model *lm = mlm_model_open(dir, NULL, &e);
    double tps = 0, prefill_ms = 0;
    if (lm) {
        int prompt[4] = {1, 403, 2013, 975};
        mlm_generate_opts go = {0};
        go.steps = 64;
        go.stop_token = -1;
        int *out, n;
        mlm_generate_stats gs;
        /* warm-up run, then the measured one */
        if (mlm_generate(lm, prompt, 4, &go, &out, &n, &gs, &e) == MLM_OK) free(out);
        if (mlm_generate(lm, prompt, 4, &go, &out, &n, &gs, &e) == MLM_OK) {
            tps = gs.tokens_per_s;
            prefill_ms = gs.prefill_s * 1e3;
            free(out);
        }
        mlm_model_free(lm);
    }
    rm_dir(dir);
    printf("stories110m shape (d 768, 12 layers, vocab 32000), random weights, %s build, median of 3 loads\n", MLM_REAL_NAME);
    printf("  fread of the .bin     %8.1f ms   (%.0f MiB, page cache; for scale)\n", t_read * 1e3, mb);
    printf("  llama2.c .bin         %8.1f ms\n", t_l2c * 1e3);
    printf("  safetensors F32       %8.1f ms   (memory-mapped)\n", t_st * 1e3);
    printf("  safetensors BF16      %8.1f ms   (memory-mapped, converted)\n", t_bf * 1e3);
    printf("  decode 64 tokens      %8.1f tokens/s (greedy, KV cache; prompt of 4 in %.1f ms)\n", tps, prefill_ms);
    printf("BENCH load_llama2c %.3f ms fread_ms %.3f %.4f\n", t_l2c * 1e3, t_read * 1e3, t_read > 0 ? t_l2c / t_read : 0);
    printf("BENCH load_safetensors_f32 %.3f ms load_llama2c_ms %.3f %.4f\n", t_st * 1e3, t_l2c * 1e3, t_l2c > 0 ? t_st / t_l2c : 0);
    printf("BENCH load_safetensors_bf16 %.3f ms load_llama2c_ms %.3f %.4f\n", t_bf * 1e3, t_l2c * 1e3, t_l2c > 0 ? t_bf / t_l2c : 0);
    printf("BENCH decode_110m %.2f tokens/s ms_per_token %.3f 1\n", tps, tps > 0 ? 1e3 / tps : 0);
    return t_l2c > 0 && t_st > 0 && t_bf > 0 && tps > 0 ? 0 : 1;
}
