/* probe.h - the recorder the passes report every stage to: shape, statistics and FLOPs of
 * each stage, and full copies of the tensors a glob selects.
 *
 * A NULL probe is valid everywhere and records nothing (the passes then skip every
 * statistics pass and every copy). Statistics are one pass over the tensor; full tensors are
 * copied only for names matching the keep globs. */
#ifndef MLM_PROBE_H
#define MLM_PROBE_H
#include "common.h"

#define MLM_MAX_DIMS 4

typedef struct {
    char name[96];               /* stage name, "blocks.0.attn.q_rot"; gradients "grad.<name>" */
    int ndim;
    int64_t shape[MLM_MAX_DIMS];
    int64_t numel;
    double norm;                 /* Frobenius norm */
    double mean, std, min, max;  /* over all elements (std: population) */
    double rms_mean;             /* mean over rows of the per-row RMS (rows along the last dim) */
    int64_t n_rows;              /* numel / last dim */
    float *row_rms;              /* (n_rows) per-row RMS, e.g. per-token RMS of (B, T, d) */
    uint64_t flops;              /* FLOPs the kernel that produced the stage performed */
    int has_value;               /* scalar stages (the loss) carry their value */
    double value;
    mlm_real *data;              /* kept copy (numel values, row-major) or NULL */
} mlm_record;

typedef struct mlm_probe mlm_probe;

/* keep: comma-separated globs ('*' and '?') naming the stages whose full tensors are kept,
 * e.g. "blocks.*.attn.probs,logits"; NULL or "" keeps none. Returns NULL when out of memory. */
mlm_probe *mlm_probe_new(const char *keep);
void mlm_probe_free(mlm_probe *p);            /* NULL is a no-op */
void mlm_probe_clear(mlm_probe *p);           /* forget the records, keep the settings */

/* 1 when name matches one of the keep globs. */
int mlm_probe_keeps(const mlm_probe *p, const char *name);
/* Glob match of '*' and '?' (exported for tests and CLI filters). */
int mlm_glob_match(const char *pattern, const char *s);

/* Records one stage. A record with the same name is replaced. x may be NULL only when numel
 * is 0. Returns the record or NULL when out of memory (the probe stays usable). */
mlm_record *mlm_probe_record(mlm_probe *p, const char *name, const mlm_real *x, int ndim, const int64_t *shape,
                             uint64_t flops);
/* The per-row partial statistics a record is built from: out[4 i .. 4 i + 3] = sum, sum of
 * squares, min, max of row i of x (nrows, cols), in double, in a fixed order that depends only
 * on the row (on this thread; callers may run rows in parallel). A pass that has a row in cache
 * right after computing it (the vocabulary softmax) takes its statistics there and then, and
 * records the tensor with mlm_probe_record_rows: the same bits as mlm_probe_record. */
void mlm_probe_row_stats(const mlm_real *x, int64_t nrows, int64_t cols, double *out);
/* mlm_probe_record with the rows' partials already computed (rows: numel / shape[ndim-1] rows
 * of 4, as mlm_probe_row_stats writes them). */
mlm_record *mlm_probe_record_rows(mlm_probe *p, const char *name, const mlm_real *x, int ndim, const int64_t *shape,
                                  uint64_t flops, const double *rows);
/* Records a scalar stage such as "loss". */
mlm_record *mlm_probe_scalar(mlm_probe *p, const char *name, double value, uint64_t flops);

int mlm_probe_count(const mlm_probe *p);
const mlm_record *mlm_probe_at(const mlm_probe *p, int i);
const mlm_record *mlm_probe_find(const mlm_probe *p, const char *name);
/* Sum of the FLOPs of every record whose name matches glob (NULL: all). */
uint64_t mlm_probe_flops(const mlm_probe *p, const char *glob);

/* Adds a record built elsewhere (trace loading); takes ownership of r->row_rms and r->data. */
mlm_record *mlm_probe_add_record(mlm_probe *p, const mlm_record *r);

#endif
