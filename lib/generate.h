/* generate.h - text generation with the KV cache: a sampler (greedy, temperature, top-p)
 * driven by the project's seeded RNG, so a seed gives the same tokens on every run, and the
 * prompt -> tokens loop with timing (prefill, decode tokens/s). */
#ifndef MLM_GENERATE_H
#define MLM_GENERATE_H
#include "forward.h"
#include "rng.h"

typedef struct {
    double temperature;  /* 0: greedy (argmax, lowest id on ties); > 0: softmax(logits / T) */
    double top_p;        /* in (0, 1): sample from the smallest set of most likely tokens whose
                            probability reaches top_p; 0 or >= 1: the whole distribution */
    uint64_t seed;       /* RNG seed; the same seed gives the same samples */
} mlm_sampler_opts;

typedef struct {
    mlm_sampler_opts o;
    mlm_rng rng;
    int vocab;
    double *probs;       /* (vocab) scratch */
    struct mlm_prob_id { double p; int id; } *order; /* (vocab) scratch for top-p */
} mlm_sampler;

/* A sampler for a vocabulary; o NULL means greedy. Checks the options (temperature >= 0 and
 * finite, top_p in [0, 1]). Caller frees with mlm_sampler_free. NULL and e on error. */
mlm_sampler *mlm_sampler_new(int vocab, const mlm_sampler_opts *o, mlm_err *e);
void mlm_sampler_free(mlm_sampler *s);   /* NULL is a no-op */

/* The next token from logits (vocab). Deterministic for the sampler's seed and history. */
int mlm_sample(mlm_sampler *s, const mlm_real *logits);

/* Called for every token: the prompt's (is_prompt 1) then each new one as it is sampled. */
typedef void (*mlm_token_fn)(int token, int is_prompt, void *user);

typedef struct {
    int steps;                   /* new tokens to generate (capped by max_seq_len) */
    int stop_token;              /* >= 0: stop after sampling this token (e.g. EOS); -1 never */
    mlm_sampler_opts sampling;
    mlm_rope_layout rope_layout; /* the model's RoPE layout (default adjacent) */
    mlm_token_fn on_token;       /* may be NULL */
    void *user;
} mlm_generate_opts;

typedef struct {
    int n_prompt, n_generated;
    double prefill_s;            /* running the prompt through the cache */
    double decode_s;             /* sampling + decoding the generated tokens */
    double tokens_per_s;         /* n_generated / decode_s */
} mlm_generate_stats;

/* Runs prompt (n_prompt >= 1 ids in [0, vocab)) through a KV cache in one batched pass
 * (forward.h mlm_prefill; one decode step per prompt token instead when the pass's
 * activations would need more than 512 MiB or cannot be allocated), then samples up to
 * o->steps new tokens, one decode step each. *out (malloc'd, caller frees) receives the
 * prompt followed by the new tokens, *n_out their count. stats may be NULL. A prompt that
 * does not fit max_seq_len is an error; steps beyond it are cut to fit. */
mlm_status mlm_generate(const mlm_model *m, const int *prompt, int n_prompt, const mlm_generate_opts *o, int **out,
                        int *n_out, mlm_generate_stats *stats, mlm_err *e);

#endif
