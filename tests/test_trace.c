/* test_trace.c - trace JSON: every stage present with the fixed field names, save -> load is
 * lossless (statistics, kept data, inputs), and malformed traces are clear errors. */
#include "check.h"
#include "forward.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int same_record(const mlm_record *a, const mlm_record *b) {
    if (strcmp(a->name, b->name) || a->ndim != b->ndim || a->numel != b->numel || a->flops != b->flops) return 0;
    for (int i = 0; i < a->ndim; i++) if (a->shape[i] != b->shape[i]) return 0;
    if (a->norm != b->norm || a->mean != b->mean || a->std != b->std || a->rms_mean != b->rms_mean) return 0;
    if (a->numel > 0 && !a->has_value && (a->min != b->min || a->max != b->max)) return 0;
    if (a->has_value != b->has_value || a->value != b->value) return 0;
    if (!!a->data != !!b->data || (a->data && memcmp(a->data, b->data, sizeof(mlm_real) * (size_t)a->numel))) return 0;
    if (!!a->row_rms != !!b->row_rms || (a->row_rms && memcmp(a->row_rms, b->row_rms, sizeof(float) * (size_t)a->n_rows))) return 0;
    return 1;
}

static void bad(const char *json, const char *needle, const char *what) {
    mlm_trace t;
    mlm_err e = {{0}};
    int ok = mlm_trace_from_json(&t, json, strlen(json), "trace 'bad.json'", &e) != MLM_OK && strstr(e.msg, needle) &&
             strstr(e.msg, "bad.json");
    if (!ok) printf("  message was: %s\n", e.msg);
    CHECK(ok, what);
}

int main(void) {
    mlm_err e;
    mlm_config c = *mlm_preset_find("block-demo");
    c.n_layers = 2;
    mlm_model *m = mlm_model_new(&c, &e);
    mlm_model_init(m, NULL);
    int tokens[5] = {4, 8, 15, 16, 23}, pos[5] = {3, 4, 5, 6, 7};
    mlm_acts *a = mlm_acts_new(&c, 1, 5, 0, &e);
    mlm_trace t;
    memset(&t, 0, sizeof t);
    t.cfg = c;
    snprintf(t.model, sizeof t.model, "block-demo");
    t.B = 1;
    t.T = 5;
    t.tokens = tokens;
    t.pos = pos;
    t.seed = 42;
    t.rope = t.causal = 1;
    t.probe = mlm_probe_new("logits,blocks.*.attn.probs");
    mlm_fwd_opts o = {.pos = pos};
    mlm_forward(m, a, tokens, 1, 5, &o, t.probe, &e);
    mlm_probe_scalar(t.probe, "loss", 3.25, 7);
    char path[512];
    snprintf(path, sizeof path, "%s/trace.json", getenv("MLM_TMP") ? getenv("MLM_TMP") : "/tmp");
    CHECK(mlm_trace_save(&t, path, &e) == MLM_OK, "trace saves");
    char *json = mlm_trace_to_json(&t);
    CHECK(json && strstr(json, "\"name\":\"blocks.0.attn.q_rot\"") && strstr(json, "\"norm\":") && strstr(json, "\"shape\":[1,5,4,16]"),
          "stage objects carry name, shape and norm");
    CHECK(json && strstr(json, "\"data\":["), "kept tensors carry data");
    free(json);
    mlm_trace l;
    CHECK(mlm_trace_load(&l, path, &e) == MLM_OK, "trace loads");
    int same = mlm_probe_count(l.probe) == mlm_probe_count(t.probe);
    for (int i = 0; same && i < mlm_probe_count(t.probe); i++) {
        if (!same_record(mlm_probe_at(t.probe, i), mlm_probe_at(l.probe, i))) {
            printf("  record %s differs\n", mlm_probe_at(t.probe, i)->name);
            same = 0;
        }
    }
    CHECK(same, "save -> load is lossless for every record (statistics, row RMS, kept data, flops)");
    CHECK(memcmp(&l.cfg, &c, sizeof c) == 0 && l.B == 1 && l.T == 5 && !memcmp(l.tokens, tokens, sizeof tokens) &&
              !memcmp(l.pos, pos, sizeof pos) && l.seed == 42, "config, tokens, positions and seed round-trip");
    const mlm_record *loss = mlm_probe_find(l.probe, "loss");
    CHECK(loss && loss->has_value && loss->value == 3.25, "scalar stage keeps its value");
    mlm_trace_clear(&l);
    /* malformed traces */
    bad("{", "not valid JSON", "truncated JSON");
    bad("{\"format\": \"other\"}", "microlm-trace", "wrong format tag");
    bad("{\"format\": \"microlm-trace\", \"config\": {\"d_model\": 8, \"n_heads\": 2}, \"batch\": 1, \"seq\": 2, \"stages\": [{\"name\": \"x\", \"shape\": [2, 3], \"norm\": 1, \"data\": [1, 2]}]}",
        "numel = 6", "data length not matching the shape");
    bad("{\"format\": \"microlm-trace\", \"config\": {\"d_model\": 8, \"n_heads\": 2}, \"batch\": 1, \"seq\": 2, \"tokens\": [1], \"stages\": []}",
        "\"tokens\"", "token count not matching batch x seq");
    bad("{\"format\": \"microlm-trace\", \"config\": {\"d_model\": 8, \"n_heads\": 2}, \"batch\": 1, \"seq\": 2, \"stages\": [{\"name\": \"x\", \"shape\": [1000000000, 1000000000, 1000000000], \"norm\": 1}]}",
        "overflow", "shape product overflow");
    bad("{\"format\": \"microlm-trace\", \"config\": {\"d_model\": 8, \"n_heads\": 2, \"bogus\": 1}, \"batch\": 1, \"seq\": 2, \"stages\": []}",
        "bogus", "bad embedded config");
    bad("{\"format\": \"microlm-trace\", \"config\": {\"d_model\": 8, \"n_heads\": 2}, \"batch\": -1, \"seq\": 2, \"stages\": []}",
        "batch", "negative batch");
    CHECK(mlm_trace_load(&l, "/nonexistent/t.json", &e) != MLM_OK && strstr(e.msg, "/nonexistent/t.json"), "missing file names the file");
    t.tokens = NULL;
    t.pos = NULL;
    mlm_trace_clear(&t);
    mlm_acts_free(a);
    mlm_model_free(m);
    return check_done();
}
