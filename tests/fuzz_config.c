/* fuzz_config.c - libFuzzer target for the project's config JSON (mlm_config_from_json).
 * Properties checked beyond "no crash, no leak, no undefined behaviour":
 *   - a refusal is one non-empty line that names the source;
 *   - an accepted config validates, lays out (mlm_layout) without overflow, and survives
 *     mlm_config_to_json -> mlm_config_from_json with every field equal.
 * Build and run: make fuzz (tests/fuzz/fuzz.mk); seeds: tests/fuzz/seeds.c. */
#include "config.h"
#include "model.h"
#include "fuzz/fuzz_util.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *where = "config 'fuzz.json'";
    mlm_config c, c2;
    mlm_err e = {{0}};
    if (mlm_config_from_json(&c, (const char *)data, size, where, &e) != MLM_OK) {
        fz_check_message(&e, "fuzz.json");
        return 0;
    }
    if (mlm_config_validate(&c, where, &e) != MLM_OK) fz_die("accepted config does not validate", &e);
    char *s = mlm_config_to_json(&c);
    if (!s) return 0;
    if (mlm_config_from_json(&c2, s, strlen(s), where, &e) != MLM_OK) fz_die("to_json output does not load back", &e);
    free(s);
    if (!fz_config_equal(&c, &c2)) fz_die("config changed through to_json -> from_json", NULL);
    fz_layout(&c);
    return 0;
}
