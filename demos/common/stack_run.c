/* stack_run.c - a stack of blocks measured at every boundary, forward and backward. */
#include "stack_run.h"
#include "backward.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int mlm_stack_run_measure(const mlm_config *base, int N, mlm_norm_pos np, int scale, uint64_t seed, const mlm_real *x,
                          int T, mlm_stack_run *r, mlm_err *e) {
    mlm_config c = *base;
    c.n_layers = N;
    c.norm_pos = np;
    mlm_model *m = mlm_model_new(&c, e);
    if (!m) return -1;
    mlm_init_opts io = {seed, scale};
    mlm_model_init(m, &io);
    mlm_acts *a = mlm_acts_new(&c, 1, T, 1, e);
    mlm_grads *g = mlm_grads_new(&c, 1, T, e);
    mlm_probe *p = mlm_probe_new(NULL);
    int64_t n = (int64_t)T * c.d_model;
    mlm_real *dout = malloc(sizeof(mlm_real) * (size_t)n);
    int rc = -1;
    r->act = r->grad = NULL;
    if (!a || !g || !p || !dout) goto done;
    for (int64_t i = 0; i < n; i++) dout[i] = (mlm_real)(1.0 / (double)n);
    if (mlm_forward_blocks(m, a, x, 1, T, NULL, p, e) || mlm_backward_blocks(m, a, g, dout, 1, T, NULL, p, e)) goto done;
    r->N = N;
    r->act = malloc(sizeof(double) * (size_t)(N + 1));
    r->grad = malloc(sizeof(double) * (size_t)(N + 1));
    if (!r->act || !r->grad) { mlm_stack_run_free(r); goto done; }
    char nm[96], gn[128];
    r->act[0] = mlm_probe_find(p, "input")->norm;
    r->grad[0] = mlm_probe_find(p, "grad.input")->norm;
    for (int l = 0; l < N; l++) {
        mlm_block_output_name(&c, l, nm, sizeof nm);
        snprintf(gn, sizeof gn, "grad.%s", nm);
        const mlm_record *ra = mlm_probe_find(p, nm), *rg = mlm_probe_find(p, gn);
        r->act[l + 1] = ra ? ra->norm : NAN;
        r->grad[l + 1] = rg ? rg->norm : NAN;
    }
    rc = 0;
done:
    free(dout);
    mlm_probe_free(p);
    mlm_grads_free(g);
    mlm_acts_free(a);
    mlm_model_free(m);
    return rc;
}

void mlm_stack_run_free(mlm_stack_run *r) {
    if (!r) return;
    free(r->act);
    free(r->grad);
    r->act = r->grad = NULL;
}
