/* train.h - the training loop as a library function: a task (tasks.h), a model (model.h),
 * forward + backward from the loss (backward.h), clipping and AdamW with warmup + cosine
 * (optim.h); held-out evaluation (loss on the first and second half), attention-score
 * snapshots (headscore.h), checkpoints that a later run resumes bit-exactly, and a per-event
 * callback for progress display. Files of a run directory (docs/training.md):
 *   model.bin    weights, llama2.c format when the config allows it, else model.mlmw (model_io.h)
 *   optim.bin    AdamW state (optim.h)
 *   config.json  the model config (mlm_config_save)
 *   train.json   the run's options and position (what resume reads)
 *   loss.json    per-step loss, lr, gradient norm; held-out evaluations
 *   heads.json   per-layer, per-head previous-token / induction scores at the snapshot steps
 * Every file is written atomically.
 *
 * Determinism: the weights come from mlm_model_init(seed), the batch of step t from
 * mlm_task_batch(seed, t), so a run is a pure function of its options and the thread count
 * (the passes are deterministic for a fixed thread count, the optimizer for any). */
#ifndef MLM_TRAIN_H
#define MLM_TRAIN_H
#include "backward.h"
#include "headscore.h"
#include "optim.h"
#include "tasks.h"

#define MLM_TRAIN_MAX_SNAPSHOTS 256

typedef struct {
    mlm_task task;            /* text bytes are borrowed for the trainer's lifetime */
    char text_path[256];      /* text task: the file's name (recorded in train.json) */
    int batch;                /* sequences per step (B) */
    int64_t steps;            /* total steps of the run */
    uint64_t seed;            /* weights and data */
    mlm_adamw_cfg opt;        /* total_steps 0 means `steps` */
    int eval_every;           /* held-out evaluation every k steps (and at the last step); 0 = last only */
    int eval_batch;           /* sequences of the held-out batch */
    int score_batch;          /* sequences of the held-out repeat batch the head scores use */
    int n_snapshots;          /* steps at which the head scores are saved (0 = initialisation) */
    int64_t snapshot_steps[MLM_TRAIN_MAX_SNAPSHOTS];
    int checkpoint_every;     /* save to the output directory every k steps (0 = at the end only) */
} mlm_train_opts;

/* The pinned training model "induction-2l": 2 pre-norm SwiGLU blocks, d_model 64, 4 heads of
 * 16, d_ff 128, vocab 64, context 128, RoPE 10000, untied lm_head (llama2.c can express it). */
void mlm_train_default_config(mlm_config *c);
/* The defaults `microlm train` uses with the pinned model: task repeat with n = 32 and the
 * tuned steps, batch, learning rate, schedule and snapshots (docs/training.md). */
void mlm_train_default_opts(mlm_train_opts *o);

/* Sets the snapshot steps to k + 1 evenly spaced steps 0, steps/k, ..., steps (deduplicated). */
void mlm_train_snapshots_even(mlm_train_opts *o, int k);

/* Checks the options against cfg (vocab, sequence length, batch, steps, snapshots). */
mlm_status mlm_train_opts_validate(const mlm_train_opts *o, const mlm_config *cfg, mlm_err *e);

typedef struct { int64_t step; double loss, first_half, second_half; } mlm_eval_point;
typedef struct { int64_t step; mlm_headscores s; } mlm_score_snapshot;

typedef enum { MLM_EV_STEP = 0, MLM_EV_EVAL = 1, MLM_EV_SNAPSHOT = 2, MLM_EV_CHECKPOINT = 3 } mlm_train_event_kind;

typedef struct {
    mlm_train_event_kind kind;
    int64_t step, steps;      /* steps done, total */
    double loss, lr, grad_norm;
    double tokens_per_s;      /* over this run's steps so far */
    double elapsed, eta;      /* seconds (this run, and the remaining estimate) */
    const mlm_eval_point *eval;          /* MLM_EV_EVAL */
    const mlm_score_snapshot *snapshot;  /* MLM_EV_SNAPSHOT */
} mlm_train_event;

/* Called after every step and event; return non-zero to stop the run early (not an error). */
typedef int (*mlm_train_cb)(const mlm_train_event *ev, void *user);

typedef struct mlm_trainer {
    mlm_config cfg;
    mlm_train_opts opts;
    int T;                    /* sequence length of the task */
    mlm_model *model;
    mlm_adamw *opt;
    mlm_acts *acts;
    mlm_grads *grads;
    int *tokens, *targets;    /* (B*T) the current batch */
    int64_t step;             /* steps done */
    double train_seconds;     /* training wall time accumulated over runs (and resumes) */
    /* history (owned) */
    double *loss_hist, *lr_hist, *gnorm_hist;   /* (steps) one entry per step done */
    mlm_eval_point *evals;
    int n_evals, cap_evals;
    mlm_score_snapshot *snaps;
    int n_snaps, cap_snaps;
    char out_dir[512];        /* where checkpoints go ("" = none) */
} mlm_trainer;

/* A trainer for cfg and o: validates both, initialises the weights from o->seed, allocates the
 * planned activations and gradients. out_dir (may be NULL) receives the checkpoints. Caller
 * frees with mlm_trainer_free. */
mlm_trainer *mlm_trainer_new(const mlm_config *cfg, const mlm_train_opts *o, const char *out_dir, mlm_err *e);
void mlm_trainer_free(mlm_trainer *t);   /* NULL is a no-op */

/* Runs steps until t->step == until (clamped to opts.steps) or the callback stops it. The
 * head scores are snapshotted before each listed step's update (step 0: at initialisation;
 * step s: after s updates), the held-out evaluation runs every eval_every steps and at the
 * last step, checkpoints go to out_dir every checkpoint_every steps and at the last step. */
mlm_status mlm_trainer_run(mlm_trainer *t, int64_t until, mlm_train_cb cb, void *user, mlm_err *e);

/* One training step (forward, backward, clip, AdamW) on the batch of step t->step; the loss
 * (before the update) to *loss. Used by mlm_trainer_run and the benchmarks. */
mlm_status mlm_trainer_step(mlm_trainer *t, double *loss, mlm_err *e);

/* Mean held-out loss over all, first-half and second-half positions (tasks.h parts). */
mlm_status mlm_trainer_eval(const mlm_trainer *t, mlm_eval_point *out, mlm_err *e);

/* Head scores of the current weights on the held-out repeat batch (score_batch sequences of
 * n = task.n, tokens over the model's vocab). Free with mlm_headscores_free. */
mlm_status mlm_trainer_scores(const mlm_trainer *t, mlm_headscores *s, mlm_err *e);

/* Writes every file of the run directory (created if missing) atomically. */
mlm_status mlm_trainer_save(const mlm_trainer *t, const char *dir, mlm_err *e);

/* Resumes the run saved in dir: config, weights, optimizer state, options and history. For
 * the text task, text/text_len are the file's bytes (checked against the recorded length and
 * hash); otherwise pass NULL, 0. steps > 0 overrides the total number of steps (the schedule
 * keeps the saved total_steps). out_dir as for mlm_trainer_new. */
mlm_trainer *mlm_trainer_resume(const char *dir, const unsigned char *text, size_t text_len, int64_t steps,
                                const char *out_dir, mlm_err *e);

/* JSON texts of the loss curve and the head-score snapshots (malloc'd, caller frees; NULL
 * when out of memory). */
char *mlm_trainer_loss_json(const mlm_trainer *t);
char *mlm_trainer_heads_json(const mlm_trainer *t);

#endif
