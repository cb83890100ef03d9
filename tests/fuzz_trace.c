/* fuzz_trace.c - libFuzzer target for trace JSON (mlm_trace_from_json). A refusal is one line
 * naming the source and leaves the trace empty; an accepted trace is saved with
 * mlm_trace_to_json and must load back with the same shape, inputs and records. */
#include "trace.h"
#include "fuzz/fuzz_util.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const char *where = "trace 'fuzz.json'";
    mlm_trace t, t2;
    mlm_err e = {{0}};
    if (mlm_trace_from_json(&t, (const char *)data, size, where, &e) != MLM_OK) {
        fz_check_message(&e, "fuzz.json");
        if (t.probe || t.tokens || t.targets || t.pos || t.token_strs) fz_die("refused trace not left empty", &e);
        return 0;
    }
    char *s = mlm_trace_to_json(&t);
    if (s) {
        if (mlm_trace_from_json(&t2, s, strlen(s), where, &e) != MLM_OK) fz_die("to_json output does not load back", &e);
        free(s);
        if (t2.B != t.B || t2.T != t.T || !fz_config_equal(&t.cfg, &t2.cfg) ||
            mlm_probe_count(t2.probe) != mlm_probe_count(t.probe) || !t2.tokens != !t.tokens)
            fz_die("trace changed through to_json -> from_json", NULL);
        for (int i = 0; i < mlm_probe_count(t.probe); i++) {
            const mlm_record *a = mlm_probe_at(t.probe, i), *b = mlm_probe_at(t2.probe, i);
            if (strcmp(a->name, b->name) || a->numel != b->numel || a->flops != b->flops || !a->data != !b->data)
                fz_die("a record changed through to_json -> from_json", NULL);
        }
        mlm_trace_clear(&t2);
    }
    mlm_trace_clear(&t);
    return 0;
}
