/* headscore.h - attention pattern scores per layer and head, from the attention maps of a
 * traced batch of the repeat task (tasks.h). Definitions (docs/training.md):
 *
 *   A[b, h, i, j]  attention of query position i to key j (rows sum to 1, causal);
 *   the sequence holds a period-n repeat: the token at position i (i >= off + n) equals the one
 *   at i - n (off = 1 when position 0 is a BOS token).
 *   previous-token score   mean over b and rows i = 1..T-1 of A[b, h, i, i-1]
 *   induction score        mean over b and rows i = off+n..T-1 ("second half") of A[b, h, i, i-n+1],
 *                          the position just after the earlier occurrence of token i
 *   chance                 the same means of 1 / (i + 1): what a uniform causal row gives
 *                          (prev_chance over the previous-token rows, ind_chance over the
 *                          second-half rows).
 * A pure previous-token pattern scores 1.0 on the first, a pure induction pattern 1.0 on the
 * second. */
#ifndef MLM_HEADSCORE_H
#define MLM_HEADSCORE_H
#include "model.h"

typedef struct {
    int n_layers, n_heads;
    int n, offset, B, T;         /* the batch the scores come from */
    double *prev;                /* (n_layers, n_heads) previous-token scores */
    double *induction;           /* (n_layers, n_heads) induction scores */
    double prev_chance, ind_chance;
} mlm_headscores;

/* Scores of one layer from its attention maps probs (B, H, T, T) row-major: writes prev (H)
 * and induction (H); the chance levels to *prev_chance / *ind_chance (either may be NULL).
 * Needs T >= offset + n + 1 (at least one second-half row); MLM_EINVAL otherwise. Sums in double in index order (deterministic). */
mlm_status mlm_headscore_layer(const mlm_real *probs, int B, int H, int T, int n, int offset, double *prev,
                               double *induction, double *prev_chance, double *ind_chance, mlm_err *e);

/* Runs m forward on tokens (B*T) (a batch of the repeat task, period n, BOS offset `offset`)
 * with a probe keeping "blocks.*.attn.probs" (the trace of the batch), and fills s (allocating
 * its arrays; free with mlm_headscores_free). */
mlm_status mlm_headscore_model(const mlm_model *m, const int *tokens, int B, int T, int n, int offset,
                               mlm_headscores *s, mlm_err *e);

/* Frees the arrays of s and zeroes it; NULL is a no-op. */
void mlm_headscores_free(mlm_headscores *s);

/* Largest induction score over all heads (layer and head index to *l, *h; may be NULL). */
double mlm_headscores_max_induction(const mlm_headscores *s, int *l, int *h);

#endif
