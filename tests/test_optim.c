/* test_optim.c - AdamW against a step computed by hand on a 3-parameter example, the
 * warmup + cosine schedule, gradient clipping, the decay mask from a layout, error handling,
 * and the optimizer-state file (round trip, corrupt and truncated files). */
#include "check.h"
#include "fixtures.h"
#include "optim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Tolerance of a value computed in mlm_real. */
#ifdef MLM_DOUBLE
#define TOL 1e-10 /* the hand values carry 10 decimals */
#else
#define TOL 2e-7
#endif

static void test_hand_step(void) {
    /* p = (1, -2, 0.5), decay on the first two only; lr 0.1, betas (0.9, 0.999), eps 1e-8,
     * weight decay 0.01.
     * Step 1, g = (0.1, -0.2, 0.3): m = 0.1 g, v = 0.001 g^2, so m/(1-0.9) = g and
     * v/(1-0.999) = g^2 and the update is lr * g / (|g| + eps):
     *   p0 = 1 * (1 - 0.001) - 0.1 * 0.1 / (0.1 + 1e-8)     = 0.999 - 0.0999999900 = 0.8990000100
     *   p1 = -2 * (1 - 0.001) + 0.1 * 0.2 / (0.2 + 1e-8)    = -1.998 + 0.0999999950 = -1.8980000050
     *   p2 = 0.5 - 0.1 * 0.3 / (0.3 + 1e-8) (no decay)      = 0.5 - 0.0999999967 = 0.4000000033
     * Step 2, g = (-0.1, 0.2, 0.1): for p0, m = 0.9 * 0.01 + 0.1 * (-0.1) = -0.001,
     * v = 0.999 * 1e-5 + 0.001 * 0.01 = 1.999e-5; m / (1 - 0.81) = -0.00526316,
     * v / (1 - 0.998001) = 0.01, sqrt = 0.1; p0 = 0.89900001 * 0.999 + 0.1 * 0.0526316 = 0.9033641674.
     * The same arithmetic gives p1 = -1.9013651626, p2 = 0.3128936122. */
    mlm_adamw_cfg c;
    mlm_adamw_cfg_default(&c);
    c.lr = 0.1;
    c.beta1 = 0.9;
    c.beta2 = 0.999;
    c.eps = 1e-8;
    c.weight_decay = 0.01;
    mlm_err e;
    mlm_adamw *o = mlm_adamw_new(&c, 3, &e);
    CHECK(o != NULL, "adamw: state for 3 parameters");
    if (!o) return;
    o->decay[2] = 0;
    mlm_real p[3] = {1.0, -2.0, 0.5};
    const mlm_real g1[3] = {0.1, -0.2, 0.3}, g2[3] = {-0.1, 0.2, 0.1};
    CHECK(mlm_adamw_step(o, p, g1, 0.1, &e) == MLM_OK, "adamw: step 1 runs");
    CHECK_NEAR(p[0], 0.8990000100, TOL, "adamw step 1: decayed parameter (hand value)");
    CHECK_NEAR(p[1], -1.8980000050, TOL * 2, "adamw step 1: negative gradient (hand value)");
    CHECK_NEAR(p[2], 0.4000000033, TOL, "adamw step 1: no decay on the third (hand value)");
    CHECK(mlm_adamw_step(o, p, g2, 0.1, &e) == MLM_OK && o->step == 2, "adamw: step 2 runs, step counter 2");
    CHECK_NEAR(p[0], 0.9033641674, TOL, "adamw step 2: bias-corrected moments (hand value)");
    CHECK_NEAR(p[1], -1.9013651626, TOL * 2, "adamw step 2: second parameter (hand value)");
    CHECK_NEAR(p[2], 0.3128936122, TOL, "adamw step 2: third parameter (hand value)");
    /* a non-finite gradient is an error and changes nothing */
    mlm_real bad[3] = {0.1, (mlm_real)NAN, 0.1}, keep[3];
    memcpy(keep, p, sizeof p);
    CHECK(mlm_adamw_step(o, p, bad, 0.1, &e) == MLM_EINVAL && !memcmp(keep, p, sizeof p) && o->step == 2 && strstr(e.msg, "not finite"),
          "adamw: a NaN gradient is rejected, parameters and step unchanged");
    mlm_adamw_free(o);
}

static void test_schedule(void) {
    mlm_adamw_cfg c;
    mlm_adamw_cfg_default(&c);
    c.lr = 1e-3;
    c.warmup_steps = 10;
    c.total_steps = 110;
    c.min_lr_frac = 0.1;
    CHECK_NEAR(mlm_lr_at(&c, 1), 1e-4, 1e-15, "lr: warmup step 1 is lr / warmup");
    CHECK_NEAR(mlm_lr_at(&c, 5), 5e-4, 1e-15, "lr: warmup is linear");
    CHECK_NEAR(mlm_lr_at(&c, 10), 1e-3, 1e-15, "lr: peak at the end of warmup");
    CHECK_NEAR(mlm_lr_at(&c, 60), 1e-3 * (0.1 + 0.9 * 0.5), 1e-15, "lr: cosine half-way is the mean of peak and floor");
    CHECK_NEAR(mlm_lr_at(&c, 110), 1e-4, 1e-15, "lr: floor at total_steps");
    CHECK_NEAR(mlm_lr_at(&c, 500), 1e-4, 1e-15, "lr: floor held after total_steps");
    int mono = 1;
    for (int t = 11; t <= 110; t++) if (mlm_lr_at(&c, t) > mlm_lr_at(&c, t - 1) + 1e-18) mono = 0;
    CHECK(mono, "lr: non-increasing after warmup");
    c.total_steps = 0;
    CHECK_NEAR(mlm_lr_at(&c, 1000), 1e-3, 0, "lr: constant after warmup without total_steps");
    mlm_err e;
    c.lr = -1;
    CHECK(mlm_adamw_cfg_validate(&c, &e) == MLM_EINVAL && strstr(e.msg, "lr"), "config: a negative lr is rejected, naming lr");
    mlm_adamw_cfg_default(&c);
    c.beta2 = 1.0;
    CHECK(mlm_adamw_cfg_validate(&c, &e) == MLM_EINVAL && strstr(e.msg, "beta2"), "config: beta2 = 1 is rejected");
    CHECK(mlm_adamw_new(&c, 3, &e) == NULL, "adamw_new refuses a bad config");
}

static void test_clip(void) {
    mlm_real g[2] = {3, 4};
    double n = mlm_grad_clip(g, 2, 1.0);
    CHECK_NEAR(n, 5.0, 1e-12, "clip: returns the norm before clipping");
    CHECK_NEAR(g[0], 0.6, TOL, "clip: scaled to norm 1 (x)");
    CHECK_NEAR(g[1], 0.8, TOL, "clip: scaled to norm 1 (y)");
    mlm_real h[2] = {0.3, 0.4};
    mlm_grad_clip(h, 2, 1.0);
    CHECK(h[0] == (mlm_real)0.3 && h[1] == (mlm_real)0.4, "clip: a gradient under the bound is untouched");
    mlm_grad_clip(g, 2, 0);
    CHECK_NEAR(mlm_grad_norm(g, 2), 1.0, TOL, "clip 0 means no clipping");
}

static void test_layout_and_file(void) {
    mlm_err e;
    mlm_model *m = fx_tiny_model(0, 2, 32, 3);
    mlm_adamw_cfg c;
    mlm_adamw_cfg_default(&c);
    c.warmup_steps = 7;
    c.total_steps = 99;
    mlm_adamw *o = m ? mlm_adamw_new(&c, m->n_params, &e) : NULL;
    CHECK(o && mlm_adamw_decay_from_layout(o, m->tensors, m->n_tensors, &e) == MLM_OK, "decay mask from the tiny model's layout");
    if (!o) { mlm_model_free(m); return; }
    const mlm_tensor_info *fn = mlm_model_tensor(m, "final_norm.weight"), *wq = mlm_model_tensor(m, "blocks.0.attn.wq");
    CHECK(fn && wq && o->decay[fn->offset] == 0 && o->decay[wq->offset] == 1, "norm gains are not decayed, matrices are");
    mlm_adamw *small = mlm_adamw_new(&c, 10, &e);
    CHECK(mlm_adamw_decay_from_layout(small, m->tensors, m->n_tensors, &e) == MLM_EINVAL, "a layout larger than the state is rejected");
    mlm_adamw_free(small);
    /* two steps of real gradients, then save and load */
    mlm_real *g = malloc(sizeof(mlm_real) * (size_t)m->n_params);
    for (int64_t i = 0; i < m->n_params; i++) g[i] = (mlm_real)(0.01 * ((i * 7919) % 13 - 6));
    mlm_adamw_step(o, m->mem, g, 1e-3, &e);
    mlm_adamw_step(o, m->mem, g, 1e-3, &e);
    char path[512];
    fx_path(path, sizeof path, "optim_test.bin");
    CHECK(mlm_adamw_save(o, path, &e) == MLM_OK, "optimizer state saves");
    mlm_adamw *r = mlm_adamw_load(path, &e);
    CHECK(r && r->n == o->n && r->step == 2 && r->cfg.warmup_steps == 7 && r->cfg.total_steps == 99 && r->cfg.lr == o->cfg.lr,
          "the state loads back: size, step, hyperparameters");
    CHECK(r && !memcmp(r->m, o->m, sizeof(mlm_real) * (size_t)o->n) && !memcmp(r->v, o->v, sizeof(mlm_real) * (size_t)o->n) &&
              !memcmp(r->decay, o->decay, (size_t)o->n),
          "moments and decay mask round-trip bit-exactly");
    mlm_adamw_free(r);
    /* corrupt and truncated files */
    char *data = NULL;
    size_t len = 0;
    mlm_read_file(path, 1 << 30, &data, &len, &e);
    char bad_path[512];
    fx_path(bad_path, sizeof bad_path, "optim_bad.bin");
    mlm_write_file_atomic(bad_path, data, len - 5, &e);
    CHECK(mlm_adamw_load(bad_path, &e) == NULL && strstr(e.msg, "parameters"), "a truncated state file is rejected, saying why");
    data[0] = 'X';
    mlm_write_file_atomic(bad_path, data, len, &e);
    CHECK(mlm_adamw_load(bad_path, &e) == NULL && strstr(e.msg, "MLMADAMW"), "a wrong magic is rejected");
    data[0] = 'M';
    data[len - 1] = 7; /* a decay flag that is neither 0 nor 1 */
    mlm_write_file_atomic(bad_path, data, len, &e);
    CHECK(mlm_adamw_load(bad_path, &e) == NULL && strstr(e.msg, "decay flag"), "a bad decay flag is rejected");
    CHECK(mlm_adamw_load("/nonexistent/optim.bin", &e) == NULL, "a missing file is an error");
    free(data);
    free(g);
    mlm_adamw_free(o);
    mlm_model_free(m);
    mlm_adamw_free(NULL);
    CHECK(1, "adamw_free(NULL) is a no-op");
}

int main(void) {
    test_hand_step();
    test_schedule();
    test_clip();
    test_layout_and_file();
    return check_done();
}
