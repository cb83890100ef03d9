/* generate.c - sampling (greedy, temperature, top-p with lib/rng.h) and the generation loop
 * over the KV cache (mlm_decode_step), timed. */
#include "generate.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

mlm_sampler *mlm_sampler_new(int vocab, const mlm_sampler_opts *o, mlm_err *e) {
    mlm_sampler_opts def = {0, 0, 42};
    if (!o) o = &def;
    if (vocab <= 0) { mlm_fail(e, MLM_EINVAL, "sampler: vocabulary size %d", vocab); return NULL; }
    if (!isfinite(o->temperature) || o->temperature < 0) {
        mlm_fail(e, MLM_EINVAL, "sampler: temperature %g must be a finite number >= 0", o->temperature);
        return NULL;
    }
    if (!(o->top_p >= 0 && o->top_p <= 1)) {
        mlm_fail(e, MLM_EINVAL, "sampler: top_p %g must be in [0, 1]", o->top_p);
        return NULL;
    }
    mlm_sampler *s = calloc(1, sizeof *s);
    if (s) {
        s->probs = malloc(sizeof *s->probs * (size_t)vocab);
        s->order = malloc(sizeof *s->order * (size_t)vocab);
    }
    if (!s || !s->probs || !s->order) {
        mlm_sampler_free(s);
        mlm_fail(e, MLM_ENOMEM, "sampler: out of memory");
        return NULL;
    }
    s->o = *o;
    s->vocab = vocab;
    mlm_rng_seed(&s->rng, o->seed);
    return s;
}

void mlm_sampler_free(mlm_sampler *s) {
    if (!s) return;
    free(s->probs);
    free(s->order);
    free(s);
}

static int by_prob(const void *a, const void *b) {
    const struct mlm_prob_id *x = a, *y = b;
    if (x->p != y->p) return x->p > y->p ? -1 : 1;
    return (x->id > y->id) - (x->id < y->id);   /* ties: lower id first, so the order is total */
}

int mlm_sample(mlm_sampler *s, const mlm_real *logits) {
    int V = s->vocab, best = 0;
    for (int i = 1; i < V; i++)
        if (logits[i] > logits[best]) best = i;
    if (s->o.temperature == 0) return best;
    double mx = (double)logits[best], sum = 0;
    for (int i = 0; i < V; i++) {
        s->probs[i] = exp(((double)logits[i] - mx) / s->o.temperature);
        sum += s->probs[i];
    }
    for (int i = 0; i < V; i++) s->probs[i] /= sum;
    double u = mlm_rng_uniform(&s->rng);
    if (s->o.top_p > 0 && s->o.top_p < 1) {
        for (int i = 0; i < V; i++) { s->order[i].p = s->probs[i]; s->order[i].id = i; }
        qsort(s->order, (size_t)V, sizeof *s->order, by_prob);
        double cum = 0;
        int n = 0;
        while (n < V) {
            cum += s->order[n++].p;
            if (cum >= s->o.top_p) break;
        }
        double r = u * cum, acc = 0;
        for (int k = 0; k < n; k++) {
            acc += s->order[k].p;
            if (r < acc) return s->order[k].id;
        }
        return s->order[n - 1].id;
    }
    double acc = 0;
    for (int i = 0; i < V; i++) {
        acc += s->probs[i];
        if (u < acc) return i;
    }
    return V - 1;
}

/* Largest activations a batched prefill may allocate (bytes). */
#define PREFILL_ACTS_MAX (512.0 * 1024 * 1024)

/* Bytes of mlm_acts_new(c, 1, n, 0): the attention maps (scores and probs), the logits and
 * their softmax (n x V each), the residual stream of every layer and one layer's buffers
 * (an upper bound of forward.c's size table). */
static double prefill_acts_bytes(const mlm_config *c, int n) {
    double d = c->d_model, qd = mlm_q_dim(c), kvd = mlm_kv_dim(c), ff = c->d_ff, N = n;
    double vals = 2.0 * c->n_heads * N * N + 2.0 * N * c->vocab_size + (c->n_layers + 2.0) * N * d +
                  N * (6.0 * d + 4.0 * qd + 3.0 * kvd + 4.0 * ff) + N * (c->head_dim + 4.0);
    return vals * sizeof(mlm_real);
}

mlm_status mlm_generate(const mlm_model *m, const int *prompt, int n_prompt, const mlm_generate_opts *o, int **out,
                        int *n_out, mlm_generate_stats *stats, mlm_err *e) {
    const mlm_config *c = &m->cfg;
    *out = NULL;
    *n_out = 0;
    if (n_prompt < 1) return mlm_fail(e, MLM_EINVAL, "generate: the prompt needs at least one token");
    if (n_prompt > c->max_seq_len)
        return mlm_fail(e, MLM_EINVAL, "generate: the prompt has %d tokens but %s holds at most %d positions", n_prompt,
                        c->name, c->max_seq_len);
    if (o->steps < 0) return mlm_fail(e, MLM_EINVAL, "generate: steps %d must be >= 0", o->steps);
    for (int i = 0; i < n_prompt; i++)
        if (prompt[i] < 0 || prompt[i] >= c->vocab_size)
            return mlm_fail(e, MLM_EINVAL, "generate: prompt token %d is outside the vocabulary [0, %d)", prompt[i],
                            c->vocab_size);
    int steps = o->steps;
    if (steps > c->max_seq_len - n_prompt) steps = c->max_seq_len - n_prompt;
    int total = n_prompt + steps;
    mlm_sampler *s = mlm_sampler_new(c->vocab_size, &o->sampling, e);
    if (!s) return MLM_EINVAL;
    mlm_kv_cache *kv = mlm_kv_cache_new(c, total > 0 ? total : 1, e);
    int *toks = malloc(sizeof *toks * (size_t)(total + 1));
    mlm_real *logits = malloc(sizeof *logits * (size_t)c->vocab_size);
    mlm_status st = MLM_OK;
    if (!kv || !toks || !logits) {
        if (kv) st = mlm_fail(e, MLM_ENOMEM, "generate: out of memory");
        else st = MLM_ENOMEM;
        goto done;
    }
    mlm_fwd_opts fo = {0};
    fo.rope_layout = o->rope_layout;
    memcpy(toks, prompt, sizeof *toks * (size_t)n_prompt);
    double t0 = mlm_now();
    /* The prompt: one batched pass that fills the cache (forward.h mlm_prefill), unless its
     * activations would need more than PREFILL_ACTS_MAX bytes or cannot be allocated; then one
     * decode step per prompt token, which needs nothing but the cache. */
    for (int i = 0; i < n_prompt; i++)
        if (o->on_token) o->on_token(prompt[i], 1, o->user);
    mlm_acts *pa = prefill_acts_bytes(c, n_prompt) <= PREFILL_ACTS_MAX ? mlm_acts_new(c, 1, n_prompt, 0, NULL) : NULL;
    if (pa) st = mlm_prefill(m, kv, pa, prompt, n_prompt, logits, &fo, e);
    else
        for (int i = 0; i < n_prompt && !st; i++) st = mlm_decode_step(m, kv, prompt[i], i, logits, &fo, NULL, e);
    mlm_acts_free(pa);
    double t1 = mlm_now();
    int n = n_prompt;
    while (!st && n < total) {
        int next = mlm_sample(s, logits);
        toks[n++] = next;
        if (o->on_token) o->on_token(next, 0, o->user);
        if (next == o->stop_token || n == total) break;
        st = mlm_decode_step(m, kv, next, n - 1, logits, &fo, NULL, e);
    }
    double t2 = mlm_now();
    if (!st) {
        *out = toks;
        *n_out = n;
        toks = NULL;
        if (stats) {
            stats->n_prompt = n_prompt;
            stats->n_generated = n - n_prompt;
            stats->prefill_s = t1 - t0;
            stats->decode_s = t2 - t1;
            stats->tokens_per_s = t2 > t1 ? (double)(n - n_prompt) / (t2 - t1) : 0;
        }
    }
done:
    free(toks);
    free(logits);
    mlm_kv_cache_free(kv);
    mlm_sampler_free(s);
    return st;
}
