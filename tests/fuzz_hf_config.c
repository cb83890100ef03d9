/* fuzz_hf_config.c - libFuzzer target for Hugging Face config.json import
 * (mlm_config_from_hf_json). A refusal is one line naming the source; an accepted config
 * validates, lays out without overflow, and round-trips through the project's own JSON. */
#include "config.h"
#include "fuzz/fuzz_util.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *where = "config 'fuzz/config.json'";
    mlm_config c, c2;
    mlm_err e = {{0}};
    if (mlm_config_from_hf_json(&c, (const char *)data, size, where, &e) != MLM_OK) {
        fz_check_message(&e, "fuzz/config.json");
        return 0;
    }
    if (mlm_config_validate(&c, where, &e) != MLM_OK) fz_die("accepted HF config does not validate", &e);
    char *s = mlm_config_to_json(&c);
    if (!s) return 0;
    if (mlm_config_from_json(&c2, s, strlen(s), where, &e) != MLM_OK) fz_die("project JSON of an HF config does not load", &e);
    free(s);
    if (!fz_config_equal(&c, &c2)) fz_die("HF config changed through the project JSON", NULL);
    fz_layout(&c);
    return 0;
}
