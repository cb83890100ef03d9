/* trace.h - a recorded run (config, inputs, options, every stage's record) and its JSON form.
 * The schema is documented in docs/trace-format.md; save -> load is lossless. */
#ifndef MLM_TRACE_H
#define MLM_TRACE_H
#include "config.h"
#include "probe.h"

typedef struct {
    mlm_config cfg;
    char model[256];      /* the MODEL argument or a description of the input */
    int B, T;
    int *tokens;          /* (B*T) token ids, or NULL for real-valued input (owned) */
    int *targets;         /* (B*T) next-token targets, or NULL (owned) */
    int *pos;             /* (T) positions (owned; NULL means 0..T-1) */
    char **token_strs;    /* (B*T) token strings for labels, or NULL (owned) */
    uint64_t seed;
    int rope, causal, dense;
    mlm_probe *probe;     /* the records (owned) */
} mlm_trace;

/* Frees what t owns and zeroes it; NULL is a no-op. */
void mlm_trace_clear(mlm_trace *t);

/* JSON text of t (malloc'd, caller frees) or NULL when out of memory. */
char *mlm_trace_to_json(const mlm_trace *t);
/* Writes the JSON atomically (no half-written file on failure). */
mlm_status mlm_trace_save(const mlm_trace *t, const char *path, mlm_err *e);

/* Parses a trace; every field is type- and bounds-checked (shape products, data lengths,
 * token counts). On error t is left empty. where names the source in messages. */
mlm_status mlm_trace_from_json(mlm_trace *t, const char *json, size_t len, const char *where, mlm_err *e);
mlm_status mlm_trace_load(mlm_trace *t, const char *path, mlm_err *e);

#endif
