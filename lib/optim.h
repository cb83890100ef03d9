/* optim.h - AdamW with decoupled weight decay, global gradient-norm clipping, the warmup +
 * cosine learning-rate schedule, and the optimizer-state file (docs/training.md).
 *
 * One AdamW step on parameter p with gradient g at step t (1-based), learning rate lr:
 *   p <- p - lr * wd * p                       (decoupled decay; only where decay is on)
 *   m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
 *   p <- p - lr * (m / (1 - b1^t)) / (sqrt(v / (1 - b2^t)) + eps)
 * (PyTorch's torch.optim.AdamW). Arithmetic is in double per element; m, v and p are stored as
 * mlm_real. Every element is independent, so the result does not depend on the thread count;
 * the AVX-512 path (float build) does the same double operations in the same order (no FMA),
 * so it gives the portable path's bits. */
#ifndef MLM_OPTIM_H
#define MLM_OPTIM_H
#include "model.h"

typedef struct {
    double lr;            /* peak learning rate */
    double beta1, beta2;  /* 0.9, 0.95 by default */
    double eps;           /* 1e-8 */
    double weight_decay;  /* decoupled, applied to tensors with decay on (matrices, not norms) */
    double clip;          /* global gradient-norm clip, 0 = none */
    int64_t warmup_steps; /* linear warmup from lr/warmup to lr over this many steps */
    int64_t total_steps;  /* cosine decay from lr to min_lr_frac * lr at total_steps */
    double min_lr_frac;   /* 0.1 by default */
} mlm_adamw_cfg;

typedef struct {
    mlm_adamw_cfg cfg;
    int64_t n;              /* parameters */
    int64_t step;           /* steps taken so far (t of the next step is step + 1) */
    mlm_real *m, *v;        /* (n) first and second moments */
    unsigned char *decay;   /* (n) 1: weight decay applies to this element */
} mlm_adamw;

/* Defaults: lr 1e-3, betas (0.9, 0.95), eps 1e-8, weight decay 0.1, clip 1.0, warmup 0,
 * total 0 (constant lr after warmup), min_lr_frac 0.1. */
void mlm_adamw_cfg_default(mlm_adamw_cfg *c);
/* Checks every field (finite, in range); the message names the field. */
mlm_status mlm_adamw_cfg_validate(const mlm_adamw_cfg *c, mlm_err *e);

/* Allocates the state for n parameters, moments zero, step 0, decay on everywhere. Caller
 * frees with mlm_adamw_free. NULL and e filled on a bad config or out of memory. */
mlm_adamw *mlm_adamw_new(const mlm_adamw_cfg *c, int64_t n, mlm_err *e);
void mlm_adamw_free(mlm_adamw *o);   /* NULL is a no-op */

/* Decay mask from a model layout: off for norm gains (is_norm), on for every other tensor. The
 * layout must cover exactly o->n elements (MLM_EINVAL otherwise). */
mlm_status mlm_adamw_decay_from_layout(mlm_adamw *o, const mlm_tensor_info *t, int n_tensors, mlm_err *e);

/* Learning rate of step t (1-based): t <= warmup: lr * t / warmup; then, if total_steps >
 * warmup, cosine from lr to min_lr_frac * lr reached at t = total_steps (held after); else lr. */
double mlm_lr_at(const mlm_adamw_cfg *c, int64_t t);

/* Global L2 norm of g (n): the squares summed in double over 64 fixed chunks (each in 8 lanes,
 * lane l taking the elements l mod 8 in order), the chunk sums added in order - the same bits
 * for any thread count and on the AVX-512 and portable paths. */
double mlm_grad_norm(const mlm_real *g, int64_t n);
/* Clips g in place so its global norm is at most max_norm (<= 0: no clipping). Returns the
 * norm before clipping. */
double mlm_grad_clip(mlm_real *g, int64_t n, double max_norm);

/* One AdamW step of p (n) with gradients g (n) at learning rate lr (from mlm_lr_at(step + 1)
 * usually). Increments o->step. Non-finite gradients are an error (MLM_EINVAL) and nothing
 * changes. */
mlm_status mlm_adamw_step(mlm_adamw *o, mlm_real *p, const mlm_real *g, double lr, mlm_err *e);
/* mlm_grad_clip(g, n, o->cfg.clip) then mlm_adamw_step in one read of g for the norm and one
 * for the update, with the same bits, but g is left as it was (each element is scaled as the
 * update reads it). *norm (may be NULL) gets the norm before clipping, also when a gradient
 * is not finite (the step is then refused as mlm_adamw_step refuses it). */
mlm_status mlm_adamw_step_clipped(mlm_adamw *o, mlm_real *p, const mlm_real *g, double lr, double *norm, mlm_err *e);

/* Optimizer-state file (little-endian):
 *   "MLMADAMW" (8 bytes), uint32 version = 1, uint32 scalar bytes (4 float32 / 8 float64),
 *   int64 n, int64 step, float64 lr, beta1, beta2, eps, weight_decay, clip, int64 warmup_steps,
 *   int64 total_steps, float64 min_lr_frac, then m (n scalars), v (n scalars), decay (n bytes).
 * Written atomically. The loader checks the magic, version, sizes against the file length and
 * every field; a file of the other scalar size is converted. Caller frees the result. */
mlm_status mlm_adamw_save(const mlm_adamw *o, const char *path, mlm_err *e);
mlm_adamw *mlm_adamw_load(const char *path, mlm_err *e);

#endif
