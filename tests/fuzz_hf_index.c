/* fuzz_hf_index.c - libFuzzer target for the shard index of a Hugging Face model directory
 * (model.safetensors.index.json, read by mlm_hf_load). At start-up a tiny two-shard model is
 * written to a directory on tmpfs with a copy of one shard outside it; each input becomes the
 * index, then the directory is loaded. A refusal is one line naming the directory; a model
 * that loads may only have read shards inside the directory (the outside copy is a decoy that
 * holds NaN weights, so reading it would be reported). */
#include "hf_model.h"
#include "fuzz/fuzz_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[256];

static int setup(void) {
    const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    char outer[200];
    snprintf(outer, sizeof outer, "%s/mlm_fuzz_hf.%ld", base, (long)getpid());
    mkdir(outer, 0777);
    snprintf(dir, sizeof dir, "%s/model", outer);
    mkdir(dir, 0777);
    mlm_config c;
    mlm_config_default(&c);
    c.d_model = 8; c.n_layers = 1; c.n_heads = 2; c.n_kv_heads = 1; c.head_dim = 4; c.d_ff = 8;
    c.vocab_size = 8; c.max_seq_len = 8; c.tied = 1;
    mlm_err e;
    mlm_model *m = mlm_model_new(&c, &e);
    if (!m) return -1;
    mlm_model_init(m, NULL);
    mlm_hf_save_opts o = {MLM_ST_F32, 2, MLM_ROPE_ADJACENT};
    int bad = mlm_hf_save(m, dir, &o, &e) != MLM_OK;
    /* the decoy outside: the same shard names, every weight NaN */
    for (int64_t i = 0; i < m->n_params; i++) m->mem[i] = (mlm_real)NAN;
    bad = bad || mlm_hf_save(m, outer, &o, &e) != MLM_OK;
    mlm_model_free(m);
    return bad ? -1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!dir[0] && setup() != 0) fz_die("cannot write the model directory", NULL);
    char p[400];
    snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
    unlink(p);
    FILE *f = fopen(p, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !ok) return 0;
    mlm_err e = {{0}};
    mlm_model *m = mlm_hf_load(dir, NULL, &e);
    if (!m) {
        fz_check_message(&e, "mlm_fuzz_hf");
        return 0;
    }
    for (int64_t i = 0; i < m->n_params; i++)
        if (!isfinite((double)m->mem[i])) fz_die("loaded a weight from outside the model directory", NULL);
    mlm_model_free(m);
    return 0;
}
