/* hf_config.c - import of a Hugging Face config.json (LlamaConfig and its relatives).
 * Placeholder until the real-configs work lands: it refuses every file. */
#include "config.h"

mlm_status mlm_config_from_hf_json(mlm_config *c, const char *json, size_t len, const char *where, mlm_err *e) {
    (void)c; (void)json; (void)len;
    return mlm_fail(e, MLM_EINVAL, "%s: Hugging Face config.json import is not built yet", where ? where : "config");
}
