/* dump.c - the C side of the PyTorch cross-check (tests/crosscheck/crosscheck.py). For each
 * tiny model variant (MHA, GQA, MQA; tied, untied; pre-norm, post-norm; SwiGLU, ReLU) it
 * writes the weights in a file format the variant can be stored in (llama2.c .bin, a Hugging
 * Face directory, or a safetensors file with the layout's tensor names), loads the model back
 * through the project's loader, runs the forward and the backward from the mean cross-entropy
 * with the probe on, and writes what the passes computed:
 *
 *   OUT/<variant>/mlm_config.json     the project config
 *   OUT/<variant>/model.bin | hf/ | weights.safetensors
 *   OUT/<variant>/result.json         tokens, targets, loss, logits, the norm of every stage and
 *                                     stage gradient (probe records), every weight gradient
 *   OUT/manifest.json                 variants, formats, scalar type
 *
 * Usage: crosscheck-dump OUT. Exit 1 on any failure. */
#include "backward.h"
#include "checkpoint.h"
#include "config.h"
#include "forward.h"
#include "hf_model.h"
#include "model.h"
#include "rng.h"
#include "safetensors.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
    const char *name, *format;   /* format: llama2c, hf, raw */
    int kv, tied, post, relu, shards;
} variant;

static const variant variants[] = {
    {"mha_tied_pre", "llama2c", 4, 1, 0, 0, 0},      {"gqa_untied_pre", "llama2c", 2, 0, 0, 0, 0},
    {"mqa_tied_pre", "llama2c", 1, 1, 0, 0, 0},      {"gqa_untied_hf", "hf", 2, 0, 0, 0, 2},
    {"mqa_tied_hf", "hf", 1, 1, 0, 0, 1},            {"mha_untied_post", "raw", 4, 0, 1, 0, 0},
    {"gqa_tied_post", "raw", 2, 1, 1, 0, 0},         {"gqa_untied_relu", "raw", 2, 0, 0, 1, 0},
    {"mqa_untied_post_relu", "raw", 1, 0, 1, 1, 0},
};

enum { B = 2, T = 7 };

static void write_array(FILE *f, const mlm_real *x, int64_t n) {
    fputc('[', f);
    for (int64_t i = 0; i < n; i++) fprintf(f, "%s%.17g", i ? "," : "", (double)x[i]);
    fputc(']', f);
}

static int run_variant(const char *out, const variant *v, FILE *manifest, int first) {
    mlm_err e;
    char dir[1024], path[1200];
    snprintf(dir, sizeof dir, "%s/%s", out, v->name);
    mkdir(dir, 0777);
    mlm_config c;
    mlm_config_default(&c);
    snprintf(c.name, sizeof c.name, "%s", v->name);
    c.d_model = 32; c.n_layers = 2; c.n_heads = 4; c.n_kv_heads = v->kv; c.head_dim = 8; c.d_ff = 48;
    c.vocab_size = 64; c.max_seq_len = 16; c.tied = v->tied;
    c.norm_pos = v->post ? MLM_POSTNORM : MLM_PRENORM;
    c.ffn = v->relu ? MLM_FFN_RELU : MLM_FFN_SWIGLU;
    snprintf(path, sizeof path, "%s/mlm_config.json", dir);
    if (mlm_config_save(&c, path, &e)) goto fail_msg;
    mlm_model *m0 = mlm_model_new(&c, &e);
    if (!m0) goto fail_msg;
    mlm_init_opts io = {1234 + (uint64_t)(v - variants), 0};
    mlm_model_init(m0, &io);
    mlm_rng r;
    mlm_rng_seed(&r, 99);
    for (int i = 0; i < m0->n_tensors; i++)
        if (m0->tensors[i].is_norm)
            for (int64_t j = 0; j < m0->tensors[i].numel; j++)
                m0->mem[m0->tensors[i].offset + j] = (mlm_real)(1.0 + 0.2 * mlm_rng_normal(&r));
    for (int64_t i = 0; i < m0->n_params; i++) m0->mem[i] = (mlm_real)(float)m0->mem[i];  /* what files hold */

    /* store in the variant's format and load back through the project's loader */
    mlm_model *m = NULL;
    if (!strcmp(v->format, "llama2c")) {
        snprintf(path, sizeof path, "%s/model.bin", dir);
        if (mlm_llama2c_save(m0, path, &e) == MLM_OK) m = mlm_llama2c_load(path, &e);
    } else if (!strcmp(v->format, "hf")) {
        snprintf(path, sizeof path, "%s/hf", dir);
        mkdir(path, 0777);
        mlm_hf_save_opts so = {MLM_ST_F32, v->shards, MLM_ROPE_ADJACENT};
        if (mlm_hf_save(m0, path, &so, &e) == MLM_OK) m = mlm_hf_load(path, NULL, &e);
    } else {
        mlm_st_entry *ents = calloc((size_t)m0->n_tensors, sizeof *ents);
        for (int i = 0; ents && i < m0->n_tensors; i++) {
            const mlm_tensor_info *t = &m0->tensors[i];
            ents[i] = (mlm_st_entry){t->name, m0->mem + t->offset, t->ndim, {t->shape[0], t->shape[1]}};
        }
        snprintf(path, sizeof path, "%s/weights.safetensors", dir);
        if (ents && mlm_st_save(path, ents, m0->n_tensors, MLM_ST_F32, &e) == MLM_OK) { m = m0; m0 = NULL; }
        free(ents);
    }
    mlm_model_free(m0);
    if (!m) goto fail_msg;

    int tokens[B * T], targets[B * T];
    mlm_rng_seed(&r, 7 + (uint64_t)(v - variants));
    for (int i = 0; i < B * T; i++) {
        tokens[i] = (int)(mlm_rng_u64(&r) % (uint64_t)c.vocab_size);
        targets[i] = (int)(mlm_rng_u64(&r) % (uint64_t)c.vocab_size);
    }
    targets[3] = -1;   /* an ignored position */
    mlm_acts *a = mlm_acts_new(&c, B, T, 1, &e);
    mlm_grads *g = mlm_grads_new(&c, B, T, &e);
    mlm_probe *p = mlm_probe_new("logits");
    double loss = 0;
    int ok = a && g && p && mlm_forward(m, a, tokens, B, T, NULL, p, &e) == MLM_OK &&
             mlm_backward(m, a, g, tokens, targets, B, T, NULL, p, &loss, &e) == MLM_OK;
    if (ok) {
        snprintf(path, sizeof path, "%s/result.json", dir);
        FILE *f = fopen(path, "w");
        ok = f != NULL;
        if (f) {
            fprintf(f, "{\"variant\":\"%s\",\"format\":\"%s\",\"scalar\":\"%s\",\"B\":%d,\"T\":%d,\"loss\":%.17g,\n",
                    v->name, v->format, MLM_REAL_NAME, B, T, loss);
            fprintf(f, "\"tokens\":[");
            for (int i = 0; i < B * T; i++) fprintf(f, "%s%d", i ? "," : "", tokens[i]);
            fprintf(f, "],\"targets\":[");
            for (int i = 0; i < B * T; i++) fprintf(f, "%s%d", i ? "," : "", targets[i]);
            fprintf(f, "],\n\"logits\":");
            write_array(f, a->logits, (int64_t)B * T * c.vocab_size);
            fprintf(f, ",\n\"norms\":{");
            for (int i = 0; i < mlm_probe_count(p); i++) {
                const mlm_record *rec = mlm_probe_at(p, i);
                fprintf(f, "%s\"%s\":%.17g", i ? "," : "", rec->name, rec->has_value ? rec->value : rec->norm);
            }
            fprintf(f, "},\n\"grads\":{");
            for (int i = 0; i < g->n_tensors; i++) {
                const mlm_tensor_info *t = &g->tensors[i];
                fprintf(f, "%s\"%s\":", i ? ",\n" : "", t->name);
                write_array(f, g->mem + t->offset, t->numel);
            }
            fprintf(f, "}}\n");
            ok = fclose(f) == 0;
        }
    }
    if (!ok) fprintf(stderr, "crosscheck-dump: %s: %s\n", v->name, e.msg);
    fprintf(manifest, "%s{\"variant\":\"%s\",\"format\":\"%s\"}", first ? "" : ",", v->name, v->format);
    mlm_probe_free(p);
    mlm_grads_free(g);
    mlm_acts_free(a);
    mlm_model_free(m);
    return ok ? 0 : -1;
fail_msg:
    fprintf(stderr, "crosscheck-dump: %s: %s\n", v->name, e.msg);
    return -1;
}

int main(int argc, char **argv) {
    if (argc != 2) { fprintf(stderr, "usage: crosscheck-dump OUT_DIR\n"); return 2; }
    if (mkdir(argv[1], 0777) != 0 && errno != EEXIST) { perror(argv[1]); return 1; }
    char mp[1100];
    snprintf(mp, sizeof mp, "%s/manifest.json", argv[1]);
    FILE *mf = fopen(mp, "w");
    if (!mf) { perror(mp); return 1; }
    fprintf(mf, "{\"scalar\":\"%s\",\"variants\":[", MLM_REAL_NAME);
    int bad = 0;
    for (size_t i = 0; i < sizeof variants / sizeof variants[0]; i++) bad += run_variant(argv[1], &variants[i], mf, i == 0) != 0;
    fprintf(mf, "]}\n");
    fclose(mf);
    return bad ? 1 : 0;
}
