/* attn_figure.h - a reusable attention-map figure: per-head maps of one traced sequence in
 * one grid, with the choices long inputs need (docs/analysis-12-long-inputs.md):
 *   - which layers and heads (lists), or the top-k heads by a score;
 *   - a crop window [lo, hi) of query and key positions;
 *   - pooling: a window longer than max_cells is averaged (or max-ed) over blocks of
 *     ceil(len / max_cells) positions, so a 512-token map is drawn as 64 x 64 cells;
 *   - the causal reading aid: row i is the query at position i, whose output predicts the
 *     token at i + 1 (axis label and, for short maps, per-row labels "i -> i+1").
 * Used by the analyses 09, 12, 13 and by `microlm trace --render DIR`. */
#ifndef MLM_ATTN_FIGURE_H
#define MLM_ATTN_FIGURE_H
#include "common.h"
#include "config.h"
#include "plot.h"
#include "probe.h"

/* One head's map: probs (T, T) row-major (query i, key j), rows summing to 1. Borrowed. */
typedef struct {
    int layer, head, T;
    const mlm_real *probs;
} mlm_attn_map;

typedef enum {
    MLM_ATTN_SCORE_NONE = 0,   /* keep the input order */
    MLM_ATTN_SCORE_PREV,       /* previous-token score: mean of A[i, i-1], i = 1..T-1 (high first) */
    MLM_ATTN_SCORE_FOCUS,      /* 1 - mean row entropy / mean log(i+1) (1 = one key per row, 0 = uniform; high first) */
    MLM_ATTN_SCORE_FIRST       /* mean attention to key 0 over rows 1..T-1 (an "attention sink"; high first) */
} mlm_attn_score;

typedef struct {
    const int *layers; int n_layers;   /* NULL / 0: every layer present */
    const int *heads; int n_heads;     /* NULL / 0: every head */
    int top_k;                         /* > 0: keep only the k heads with the best score */
    mlm_attn_score score;              /* the score shown in panel titles and used by top_k */
    int crop_lo, crop_hi;              /* position window [lo, hi); hi 0 = T */
    int max_cells;                     /* pool windows longer than this (0: 64) */
    int pool_max;                      /* 1: max over the block, 0: mean */
    int cols;                          /* grid columns (0: near square) */
    const char *const *tokens;         /* (T) token labels for short maps, or NULL */
    int mark_predictions;              /* rows read "i -> i+1": the row predicts the next token */
    int colorbar;                      /* 1: colour bar on every panel */
    const char *title;                 /* figure title (NULL: a default) */
} mlm_attn_fig_opts;

/* What was drawn: one entry per panel. */
typedef struct {
    int layer, head, map_index;       /* map_index: position in the input array */
    double prev, focus, first, score;  /* the three scores and the one used */
    double vmax;                       /* largest drawn cell value */
} mlm_attn_pick;

/* Scores of one map (T, T) over the window [lo, hi) (hi 0 = T). */
double mlm_attn_prev_score(const mlm_real *p, int T, int lo, int hi);
double mlm_attn_focus_score(const mlm_real *p, int T, int lo, int hi);
double mlm_attn_first_score(const mlm_real *p, int T, int lo, int hi);
const char *mlm_attn_score_name(mlm_attn_score s);
/* Parses "prev", "focus", "first", "none". 0 or -1. */
int mlm_attn_score_parse(const char *s, mlm_attn_score *out);

/* Pools the window [lo, hi) of p (T, T) into m x m cells, m = ceil(len / block) with block =
 * ceil(len / max_cells): each cell is the mean (or max) of its block's computed (causal)
 * entries; blocks wholly above the diagonal are NaN (masked, drawn empty). out holds m*m
 * values (allocate len*len). Returns m; *block receives the block size. */
int mlm_attn_pool(const mlm_real *p, int T, int lo, int hi, int max_cells, int pool_max, double *out, int *block);

/* Collects the kept "blocks.L.attn.probs" records (B, H, T, T) of batch row b from a probe
 * into maps (cap entries). Returns the number of maps. */
int mlm_attn_maps_from_probe(const mlm_probe *p, const mlm_config *cfg, int b, mlm_attn_map *maps, int cap);

/* Draws one map into panel p: the window [lo, hi), pooled to at most max_cells cells a side,
 * masked (never computed) cells grey, colour 0..max of the drawn cells, ticks at the first
 * position of a few cells (token strings when unpooled and tokens given), titles line1 and
 * line2 (the max and the pooling are appended), axis labels when xlabel / ylabel. Returns the
 * largest drawn value (NaN when out of memory); *cells (may be NULL) the side drawn. */
double mlm_attn_panel(mlmp_panel_t *p, const mlm_attn_map *mp, int lo, int hi, int max_cells, int pool_max,
                      const char *const *tokens, int mark_predictions, int colorbar, const char *line1, const char *line2,
                      int xlabel, int ylabel, int *cells);

/* Builds the figure: selection, scores, top-k, crop, pooling, grid. picked (may be NULL)
 * receives up to pick_cap entries, *n_picked their number. NULL on a bad option (message in
 * err) or out of memory. */
mlmp_figure *mlm_attn_figure(const mlm_attn_map *maps, int n, const mlm_attn_fig_opts *o, mlm_attn_pick *picked,
                             int pick_cap, int *n_picked, char *err, size_t errlen);

#endif
