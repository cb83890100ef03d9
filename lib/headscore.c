/* headscore.c - previous-token and induction scores of every head (headscore.h). */
#include "headscore.h"
#include "forward.h"
#include "probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mlm_status mlm_headscore_layer(const mlm_real *probs, int B, int H, int T, int n, int offset, double *prev,
                               double *induction, double *prev_chance, double *ind_chance, mlm_err *e) {
    if (!probs || !prev || !induction) return mlm_fail(e, MLM_EINVAL, "headscore: NULL argument");
    if (B < 1 || H < 1 || n < 1 || offset < 0 || T < offset + n + 1 || T < 2)
        return mlm_fail(e, MLM_EINVAL, "headscore: B %d, H %d, T %d, n %d, offset %d: need T >= offset + n + 1", B, H, T, n, offset);
    const size_t TT = (size_t)T * (size_t)T;
    for (int h = 0; h < H; h++) {
        double sp = 0, si = 0;
        for (int b = 0; b < B; b++) {
            const mlm_real *A = probs + ((size_t)b * (size_t)H + (size_t)h) * TT;
            for (int i = 1; i < T; i++) sp += (double)A[(size_t)i * T + (size_t)(i - 1)];
            for (int i = offset + n; i < T; i++) si += (double)A[(size_t)i * T + (size_t)(i - n + 1)];
        }
        prev[h] = sp / ((double)B * (double)(T - 1));
        induction[h] = si / ((double)B * (double)(T - offset - n));
    }
    double cp = 0, ci = 0;
    for (int i = 1; i < T; i++) cp += 1.0 / (i + 1);
    for (int i = offset + n; i < T; i++) ci += 1.0 / (i + 1);
    if (prev_chance) *prev_chance = cp / (T - 1);
    if (ind_chance) *ind_chance = ci / (T - offset - n);
    return MLM_OK;
}

void mlm_headscores_free(mlm_headscores *s) {
    if (!s) return;
    free(s->prev);
    free(s->induction);
    memset(s, 0, sizeof *s);
}

mlm_status mlm_headscore_model(const mlm_model *m, const int *tokens, int B, int T, int n, int offset,
                               mlm_headscores *s, mlm_err *e) {
    if (!m || !tokens || !s) return mlm_fail(e, MLM_EINVAL, "headscore: NULL argument");
    memset(s, 0, sizeof *s);
    const int L = m->cfg.n_layers, H = m->cfg.n_heads;
    mlm_status st = MLM_OK;
    mlm_acts *a = mlm_acts_new(&m->cfg, B, T, 0, e);
    mlm_probe *p = mlm_probe_new("blocks.*.attn.probs");
    s->prev = calloc((size_t)L * H, sizeof(double));
    s->induction = calloc((size_t)L * H, sizeof(double));
    if (!a) { st = MLM_EINVAL; goto done; }
    if (!p || !s->prev || !s->induction) { st = mlm_fail(e, MLM_ENOMEM, "headscore: out of memory"); goto done; }
    st = mlm_forward(m, a, tokens, B, T, NULL, p, e);
    if (st) goto done;
    for (int l = 0; l < L; l++) {
        char name[64];
        snprintf(name, sizeof name, "blocks.%d.attn.probs", l);
        const mlm_record *r = mlm_probe_find(p, name);
        if (!r || !r->data || r->numel != (int64_t)B * H * T * T) {
            st = mlm_fail(e, MLM_EINVAL, "headscore: the trace holds no %s map", name);
            goto done;
        }
        st = mlm_headscore_layer(r->data, B, H, T, n, offset, s->prev + (size_t)l * H, s->induction + (size_t)l * H,
                                 &s->prev_chance, &s->ind_chance, e);
        if (st) goto done;
    }
    s->n_layers = L;
    s->n_heads = H;
    s->n = n;
    s->offset = offset;
    s->B = B;
    s->T = T;
done:
    if (st) mlm_headscores_free(s);
    mlm_probe_free(p);
    mlm_acts_free(a);
    return st;
}

double mlm_headscores_max_induction(const mlm_headscores *s, int *l, int *h) {
    double best = -1;
    int bl = -1, bh = -1;
    for (int i = 0; s && i < s->n_layers * s->n_heads; i++)
        if (s->induction[i] > best) { best = s->induction[i]; bl = i / s->n_heads; bh = i % s->n_heads; }
    if (l) *l = bl;
    if (h) *h = bh;
    return best;
}
