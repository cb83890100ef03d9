/* tasks.h - deterministic training tasks the project generates itself (nothing is downloaded):
 * a random sequence repeated twice (where induction heads form), sorting, and any text file
 * tokenised by bytes. A batch is a pure function of (task, seed, stream, heldout): the same
 * arguments give the same tokens on every machine, so a training run needs no data state to
 * resume.
 *
 * Sequences (BOS = token 0; the model reads T tokens and predicts the next one at each):
 *   repeat  s = BOS x_1..x_n x_1..x_n, x_i uniform over [1, V)      T = 2n, targets s[1..2n]
 *   repeat-var  s = BOS f_1..f_{2(n-p)} x_1..x_p x_1..x_p, every token uniform over [1, V), the
 *           period p uniform over [pmin, n] per sequence, pmin = max(2, n/4) by default  T = 2n
 *           (the same length as repeat; p = n is a repeat sequence. The period varies, so a
 *           model can only predict the second copy by matching content: an induction circuit)
 *           Curriculum (band > 0): training streams below `band` draw p from the narrow band
 *           [max(n - n/4, pmin), n] instead (a near-fixed period gives a positional foothold from which the
 *           previous-token and content-matching heads form; docs/training.md); later streams
 *           and every held-out batch draw from [pmin, n].
 *   sort    s = BOS x_1..x_n SEP y_1..y_n, y = sorted(x), SEP = 1, x_i uniform over [2, V)
 *                                                                  T = 2n + 1
 *   text    T + 1 consecutive bytes of the file starting at a random offset (V = 256)  T = 2n
 * Each position carries a part: 0 "first half" (targets that cannot be predicted: the random
 * prompt), 1 "second half" (targets a model can predict: the repeat, SEP and the sorted output;
 * for text simply the second half of the window). For repeat-var, part 1 are the targets
 * x_2..x_p of the second copy (positions 2n-p+1..2n-1; its first token x_1 follows the first
 * copy's last and cannot be known to start a repeat), so the part differs per sequence. */
#ifndef MLM_TASKS_H
#define MLM_TASKS_H
#include "common.h"

typedef enum { MLM_TASK_REPEAT = 0, MLM_TASK_SORT = 1, MLM_TASK_TEXT = 2, MLM_TASK_REPEAT_VAR = 3 } mlm_task_kind;
#define MLM_TASK_KINDS 4

#define MLM_TASK_BOS 0
#define MLM_TASK_SEP 1

typedef struct {
    mlm_task_kind kind;
    int n;                       /* half length: the repeated (or sorted) sequence has n tokens */
    int vocab;                   /* tokens are drawn from [first, vocab); text needs 256 */
    const unsigned char *text;   /* text: the file's bytes (borrowed, not owned) */
    size_t text_len;
    int pmin;                    /* repeat-var: the smallest period, in [2, n]; 0 = max(2, n/4) (other tasks: 0) */
    int band;                    /* repeat-var: training streams below band use periods [max(n - n/4, pmin), n] (0 = none) */
} mlm_task;

/* "repeat", "sort", "text", "repeat-var". */
const char *mlm_task_name(mlm_task_kind k);
/* Parses a task name; returns 0 and sets *k, or -1 for an unknown name. */
int mlm_task_parse(const char *s, mlm_task_kind *k);

/* The model's input length T for the task (2n, or 2n + 1 for sort). */
int mlm_task_seq_len(const mlm_task *t);

/* Checks the task: n >= 2, vocab large enough (repeat >= 3, sort >= 4, text == 256), text
 * long enough for one window in each of the training and held-out regions. */
mlm_status mlm_task_validate(const mlm_task *t, mlm_err *e);

/* Smallest period of repeat-var: pmin, or max(2, n/4) when pmin is 0. */
int mlm_task_min_period(const mlm_task *t);

/* Fills one batch: tokens (B*T) and targets (B*T) row-major (B, T); part (B*T) (may be NULL)
 * receives each position's part (0 or 1; row-major like the targets: for repeat-var it differs
 * per row, for the other tasks every row is the same). The batch depends only on
 * (t, seed, stream, heldout): training uses stream = step, evaluation heldout = 1. Text: training
 * windows start in the first 90% of the file, held-out windows in the last 10%. tokens and
 * targets must not overlap; nothing is allocated (the training step calls this every step).
 * Returns MLM_EINVAL for an invalid task or B < 1. */
mlm_status mlm_task_batch(const mlm_task *t, uint64_t seed, uint64_t stream, int heldout, int B, int *tokens,
                          int *targets, unsigned char *part, mlm_err *e);

#endif
