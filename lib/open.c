/* open.c - MODEL argument -> model (checkpoint weights or seeded initialisation). */
#include "open.h"
#include "checkpoint.h"

#include <string.h>
#include <sys/stat.h>

int mlm_spec_has_weights(const char *spec) {
    size_t n = strlen(spec);
    struct stat sb;
    return n > 4 && !strcmp(spec + n - 4, ".bin") && stat(spec, &sb) == 0 && S_ISREG(sb.st_mode);
}

mlm_model *mlm_model_open(const char *spec, const mlm_init_opts *o, mlm_err *e) {
    if (mlm_spec_has_weights(spec)) return mlm_llama2c_load(spec, e);
    mlm_config c;
    if (mlm_config_resolve(&c, spec, e)) return NULL;
    mlm_model *m = mlm_model_new(&c, e);
    if (m) mlm_model_init(m, o);
    return m;
}
