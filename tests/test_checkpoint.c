/* test_checkpoint.c - llama2.c checkpoints: write -> read -> same logits (tied and untied),
 * configs the format cannot express are refused with nothing written, truncated and
 * inconsistent files are clear errors. */
#include "check.h"
#include "checkpoint.h"
#include "forward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[400];

static void path_of(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", dir, name); }

static void roundtrip(int tied, int kv) {
    mlm_config c = *mlm_preset_find("block-demo");
    c.n_layers = 2;
    c.tied = tied;
    c.n_kv_heads = kv;
    c.vocab_size = 50;
    mlm_err e;
    mlm_model *m = mlm_model_new(&c, &e);
    mlm_model_init(m, NULL);
    char p[512], what[128];
    path_of(p, sizeof p, tied ? "tied.bin" : "untied.bin");
    CHECK(mlm_llama2c_save(m, p, &e) == MLM_OK, "checkpoint saves");
    mlm_model *l = mlm_llama2c_load(p, &e);
    snprintf(what, sizeof what, "checkpoint (%s, %d KV heads) loads", tied ? "tied" : "untied", kv);
    CHECK(l != NULL, what);
    if (!l) { printf("  %s\n", e.msg); mlm_model_free(m); return; }
    CHECK(l->cfg.tied == tied && l->cfg.n_kv_heads == kv && l->cfg.d_ff == c.d_ff, "the header round-trips");
    int tok[6] = {1, 2, 3, 4, 49, 0};
    mlm_acts *a = mlm_acts_new(&c, 1, 6, 0, &e), *b = mlm_acts_new(&c, 1, 6, 0, &e);
    mlm_forward(m, a, tok, 1, 6, NULL, NULL, &e);
    mlm_forward(l, b, tok, 1, 6, NULL, NULL, &e);
#ifdef MLM_DOUBLE
    double worst = 0;
    for (int i = 0; i < 6 * 50; i++) worst = fmax(worst, fabs(a->logits[i] - b->logits[i]));
    snprintf(what, sizeof what, "write -> read gives the same logits (to float32 storage precision)");
    CHECK_NEAR(worst, 0, 1e-5, what);
#else
    snprintf(what, sizeof what, "write -> read gives bit-identical logits (%s)", tied ? "tied" : "untied");
    CHECK(memcmp(a->logits, b->logits, sizeof(mlm_real) * 300) == 0, what);
#endif
    mlm_config rc;
    CHECK(mlm_llama2c_read_config(&rc, p, &e) == MLM_OK && rc.d_model == 64, "header-only read gives the config");
    /* truncate at several points: every one is a clear error */
    FILE *f = fopen(p, "rb");
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *buf = malloc((size_t)n);
    if (fread(buf, 1, (size_t)n, f) != (size_t)n) n = 0;
    fclose(f);
    long cuts[] = {0, 3, 27, 28, 100, n / 2, n - 4, n - 1};
    int all = 1;
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        char tp[512];
        path_of(tp, sizeof tp, "trunc.bin");
        FILE *g = fopen(tp, "wb");
        fwrite(buf, 1, (size_t)cuts[i], g);
        fclose(g);
        mlm_model *x = mlm_llama2c_load(tp, &e);
        if (x || !strstr(e.msg, "trunc.bin")) { all = 0; printf("  cut at %ld: %s\n", cuts[i], x ? "loaded" : e.msg); }
        mlm_model_free(x);
    }
    CHECK(all, "a checkpoint truncated anywhere is an error naming the file");
    /* header says 3 layers, file holds 2 */
    buf[8] = 3;
    char hp[512];
    path_of(hp, sizeof hp, "inconsistent.bin");
    FILE *g = fopen(hp, "wb");
    fwrite(buf, 1, (size_t)n, g);
    fclose(g);
    mlm_model *x = mlm_llama2c_load(hp, &e);
    CHECK(!x && strstr(e.msg, "header implies"), "a header inconsistent with the file length is an error");
    buf[8] = 0;
    g = fopen(hp, "wb");
    fwrite(buf, 1, (size_t)n, g);
    fclose(g);
    x = mlm_llama2c_load(hp, &e);
    CHECK(!x && strstr(e.msg, "n_layers"), "a zero layer count is an error naming the field");
    free(buf);
    mlm_acts_free(a);
    mlm_acts_free(b);
    mlm_model_free(l);
    mlm_model_free(m);
}

static void refuse(const char *what, void (*edit)(mlm_config *)) {
    mlm_config c = *mlm_preset_find("block-demo");
    edit(&c);
    mlm_err e;
    mlm_model *m = mlm_model_new(&c, &e);
    char p[512];
    path_of(p, sizeof p, "refused.bin");
    unlink(p);
    int ok = mlm_llama2c_save(m, p, &e) != MLM_OK && access(p, F_OK) != 0 && strstr(e.msg, "cannot express");
    if (!ok) printf("  %s\n", e.msg);
    CHECK(ok, what);
    mlm_model_free(m);
}
static void post(mlm_config *c) { c->norm_pos = MLM_POSTNORM; }
static void relu(mlm_config *c) { c->ffn = MLM_FFN_RELU; }
static void theta(mlm_config *c) { c->rope_theta = 500000; }
static void hdim(mlm_config *c) { c->head_dim = 32; }

int main(void) {
    snprintf(dir, sizeof dir, "%s", getenv("MLM_TMP") ? getenv("MLM_TMP") : "/tmp");
    roundtrip(0, 2);
    roundtrip(1, 4);
    roundtrip(0, 1);
    refuse("saving post-norm is refused and writes nothing", post);
    refuse("saving a ReLU FFN is refused and writes nothing", relu);
    refuse("saving rope_theta != 10000 is refused and writes nothing", theta);
    refuse("saving head_dim != dim / n_heads is refused and writes nothing", hdim);
    mlm_err e;
    CHECK(mlm_llama2c_load("/nonexistent.bin", &e) == NULL && strstr(e.msg, "/nonexistent.bin"), "a missing checkpoint names the file");
    return check_done();
}
