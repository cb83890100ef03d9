/* fuzz_llama2c.c - libFuzzer target for llama2.c checkpoints: the input is written to a file
 * on tmpfs (the loader reads paths), then mlm_llama2c_read_config and mlm_llama2c_load run on
 * it. A refusal is one line naming the file; an accepted checkpoint holds only finite weights
 * and its config is one the format can express. Inputs are capped (-max_len) so a header
 * that matches the file length cannot ask for more than a few MB. */
#include "checkpoint.h"
#include "fuzz/fuzz_util.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[256];
    if (!path[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/mlm_fuzz_llama2c.%ld.bin", dir, (long)getpid());
    }
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !ok) return 0;
    mlm_config c;
    mlm_err e = {{0}};
    mlm_status st = mlm_llama2c_read_config(&c, path, &e);
    if (st != MLM_OK) fz_check_message(&e, "mlm_fuzz_llama2c");
    mlm_model *m = mlm_llama2c_load(path, &e);
    if (!m) {
        fz_check_message(&e, "mlm_fuzz_llama2c");
    } else {
        if (st != MLM_OK) fz_die("load accepted a file read_config refused", &e);
        for (int64_t i = 0; i < m->n_params; i++)
            if (!isfinite((double)m->mem[i])) fz_die("loaded a NaN or Inf weight", NULL);
        if (m->cfg.head_dim * m->cfg.n_heads != m->cfg.d_model) fz_die("loaded head_dim inconsistent", NULL);
        mlm_model_free(m);
    }
    remove(path);
    return 0;
}
