/* open.c - MODEL argument -> model (checkpoint weights or seeded initialisation). */
#include "open.h"
#include "checkpoint.h"
#include "hf_model.h"
#include "mmap_file.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int mlm_spec_has_weights(const char *spec) {
    size_t n = strlen(spec);
    struct stat sb;
    if (mlm_is_hf_model(spec)) return 1;
    return n > 4 && !strcmp(spec + n - 4, ".bin") && stat(spec, &sb) == 0 && S_ISREG(sb.st_mode);
}

mlm_model *mlm_model_open(const char *spec, const mlm_init_opts *o, mlm_err *e) {
    /* Hugging Face directory with weights, or a .safetensors file: rows permuted to the
     * adjacent RoPE layout, so the model runs with the default mlm_fwd_opts. */
    if (mlm_is_hf_model(spec)) return mlm_hf_load(spec, NULL, e);
    mlm_config c;
    if (mlm_spec_has_weights(spec)) {
        /* the header first: a model too large for this machine is refused before allocation */
        if (mlm_llama2c_read_config(&c, spec, e)) return NULL;
        char what[300];
        snprintf(what, sizeof what, "checkpoint '%.270s'", spec);
        uint64_t n = 0;
        mlm_tensor_info *t;
        int nt;
        int64_t total;
        if (mlm_layout(&c, &t, &nt, &total, e)) return NULL;
        free(t);
        n = (uint64_t)total * sizeof(mlm_real);
        if (mlm_check_memory(n, what, "its weights", e)) return NULL;
        return mlm_llama2c_load(spec, e);
    }
    if (mlm_config_resolve(&c, spec, e)) return NULL;
    /* random weights of a config: the same machine-memory check before allocation */
    mlm_tensor_info *t;
    int nt;
    int64_t total;
    if (mlm_layout(&c, &t, &nt, &total, e)) return NULL;
    free(t);
    char what[300];
    snprintf(what, sizeof what, "model '%.270s'", spec);
    if (mlm_check_memory((uint64_t)total * sizeof(mlm_real), what, "its weights", e)) return NULL;
    mlm_model *m = mlm_model_new(&c, e);
    if (m) mlm_model_init(m, o);
    return m;
}
