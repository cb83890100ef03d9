/* test_noalloc.c - no heap allocation inside the per-token and per-step loops (issue 12's
 * memory rule): decode steps (float32 and bfloat16 weights), the prefill, the untraced full
 * pass and training steps allocate nothing once their buffers exist, and the allocations of
 * mlm_generate do not grow with the number of tokens it generates.
 *
 * The Makefile links this program with -Wl,--wrap for malloc, calloc, realloc, aligned_alloc,
 * posix_memalign and strdup, so every call to them from the library's objects (and from this
 * file) goes through the counters below; calls made inside libc or libgomp are not seen. The
 * first checks show that the counters do see a call of this file and one of the library. */
#include "check.h"
#include "bf16.h"
#include "forward.h"
#include "generate.h"
#include "train.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static atomic_long n_calls;
static atomic_int counting;

static void count(void) {
    if (atomic_load(&counting)) atomic_fetch_add(&n_calls, 1);
}

void *__real_malloc(size_t n);
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t n);
void *__real_aligned_alloc(size_t align, size_t n);
int __real_posix_memalign(void **p, size_t align, size_t n);
char *__real_strdup(const char *s);
void *__wrap_malloc(size_t n);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t n);
void *__wrap_aligned_alloc(size_t align, size_t n);
int __wrap_posix_memalign(void **p, size_t align, size_t n);
char *__wrap_strdup(const char *s);

void *__wrap_malloc(size_t n) { count(); return __real_malloc(n); }
void *__wrap_calloc(size_t n, size_t size) { count(); return __real_calloc(n, size); }
void *__wrap_realloc(void *p, size_t n) { count(); return __real_realloc(p, n); }
void *__wrap_aligned_alloc(size_t align, size_t n) { count(); return __real_aligned_alloc(align, n); }
int __wrap_posix_memalign(void **p, size_t align, size_t n) { count(); return __real_posix_memalign(p, align, n); }
char *__wrap_strdup(const char *s) { count(); return __real_strdup(s); }

static void start(void) {
    atomic_store(&n_calls, 0);
    atomic_store(&counting, 1);
}

static long stop(void) {
    atomic_store(&counting, 0);
    return atomic_load(&n_calls);
}

static mlm_model *make_model(const char *preset) {
    mlm_err e;
    const mlm_config *c = mlm_preset_find(preset);
    mlm_model *m = c ? mlm_model_new(c, &e) : NULL;
    if (!m) { printf("FAIL cannot make %s\n", preset); exit(1); }
    mlm_init_opts io = {7, 0};
    mlm_model_init(m, &io);
    return m;
}

static void test_counters_work(void) {
    start();
    void *volatile p = malloc(16); /* volatile: the compiler may not drop the pair */
    long own = stop();
    free(p);
    mlm_err e;
    start();
    mlm_sampler *s = mlm_sampler_new(100, NULL, &e);
    long lib = stop();
    mlm_sampler_free(s);
    CHECK(own == 1 && lib >= 1, "the counters see a malloc of this file and the library's allocations (mlm_sampler_new)");
}

enum { NSTEP = 48, NPROMPT = 32 };

static void test_decode_and_prefill(const mlm_model *m) {
    mlm_err e;
    const mlm_config *c = &m->cfg;
    mlm_kv_cache *kv = mlm_kv_cache_new(c, NSTEP + 8, &e);
    mlm_bf16_weights *bw = mlm_bf16_new(m, &e);
    mlm_acts *a = mlm_acts_new(c, 1, NPROMPT, 0, &e);
    mlm_real *logits = malloc((size_t)c->vocab_size * sizeof(mlm_real));
    int tok[NSTEP];
    for (int t = 0; t < NSTEP; t++) tok[t] = (t * 131 + 7) % c->vocab_size;
    char what[200];
    int ok = kv && bw && a && logits;

    ok &= mlm_decode_step(m, kv, tok[0], 0, logits, NULL, NULL, &e) == MLM_OK; /* the first step warms up */
    start();
    for (int t = 1; t < NSTEP && ok; t++) ok &= mlm_decode_step(m, kv, tok[t], t, logits, NULL, NULL, &e) == MLM_OK;
    long n = stop();
    snprintf(what, sizeof what, "%s: %d float32 decode steps allocate nothing (%ld calls)", c->name, NSTEP - 1, n);
    CHECK(ok && n == 0, what);

    mlm_kv_cache_reset(kv);
    ok &= mlm_decode_step_bf16(m, bw, kv, tok[0], 0, logits, NULL, NULL, &e) == MLM_OK;
    start();
    for (int t = 1; t < NSTEP && ok; t++) ok &= mlm_decode_step_bf16(m, bw, kv, tok[t], t, logits, NULL, NULL, &e) == MLM_OK;
    n = stop();
    snprintf(what, sizeof what, "%s: %d bfloat16 decode steps allocate nothing (%ld calls)", c->name, NSTEP - 1, n);
    CHECK(ok && n == 0, what);

    mlm_kv_cache_reset(kv);
    ok &= mlm_prefill(m, kv, a, tok, NPROMPT, logits, NULL, &e) == MLM_OK;
    mlm_kv_cache_reset(kv);
    start();
    ok &= mlm_prefill(m, kv, a, tok, NPROMPT, logits, NULL, &e) == MLM_OK;
    for (int t = NPROMPT; t < NSTEP && ok; t++) ok &= mlm_decode_step(m, kv, tok[t], t, logits, NULL, NULL, &e) == MLM_OK;
    n = stop();
    snprintf(what, sizeof what, "%s: a prefill of %d tokens and %d decode steps after it allocate nothing (%ld calls)", c->name,
             NPROMPT, NSTEP - NPROMPT, n);
    CHECK(ok && n == 0, what);

    start();
    for (int r = 0; r < 3 && ok; r++) ok &= mlm_forward(m, a, tok, 1, NPROMPT, NULL, NULL, &e) == MLM_OK;
    n = stop();
    snprintf(what, sizeof what, "%s: 3 untraced full passes of %d tokens into planned activations allocate nothing (%ld calls)",
             c->name, NPROMPT, n);
    CHECK(ok && n == 0, what);
    if (!ok) printf("  error: %s\n", e.msg);

    free(logits);
    mlm_acts_free(a);
    mlm_bf16_free(bw);
    mlm_kv_cache_free(kv);
}

/* Allocations of mlm_generate with a 16-token prompt and `steps` new tokens (greedy). */
static long generate_calls(const mlm_model *m, int steps, int *ok) {
    mlm_generate_opts o;
    memset(&o, 0, sizeof o);
    o.steps = steps;
    o.stop_token = -1;
    int prompt[16], *out = NULL, n_out = 0;
    for (int i = 0; i < 16; i++) prompt[i] = (i * 37 + 3) % m->cfg.vocab_size;
    mlm_err e;
    start();
    *ok &= mlm_generate(m, prompt, 16, &o, &out, &n_out, NULL, &e) == MLM_OK && n_out == 16 + steps;
    long n = stop();
    free(out);
    return n;
}

static void test_generate(const mlm_model *m) {
    int ok = 1;
    long few = generate_calls(m, 4, &ok), many = generate_calls(m, 40, &ok);
    char what[200];
    snprintf(what, sizeof what, "%s: generate allocates as much for 40 new tokens as for 4 (%ld and %ld calls)", m->cfg.name, many,
             few);
    CHECK(ok && few > 0 && many == few, what);
}

static void train_case(const mlm_config *c, int batch, int n, const char *tag) {
    mlm_err e;
    mlm_train_opts o;
    mlm_train_default_opts(&o);
    o.task.n = n;
    o.task.vocab = c->vocab_size;
    o.batch = batch;
    o.steps = 6;
    o.n_snapshots = 0;
    o.eval_every = 0;
    mlm_trainer *t = mlm_trainer_new(c, &o, NULL, &e);
    double loss = 0;
    int ok = t && mlm_trainer_step(t, &loss, &e) == MLM_OK; /* warm-up */
    start();
    for (int s = 0; s < 4 && ok; s++) ok &= mlm_trainer_step(t, &loss, &e) == MLM_OK;
    long calls = stop();
    char what[200];
    snprintf(what, sizeof what, "%s: 4 training steps (B %d, T %d: forward, backward, clip, AdamW) allocate nothing (%ld calls)", tag,
             batch, t ? t->T : 0, calls);
    CHECK(ok && calls == 0, what);
    if (!ok) printf("  error: %s\n", e.msg);
    mlm_trainer_free(t);
}

int main(void) {
#ifdef _OPENMP
    printf("(%d threads)\n", omp_get_max_threads());
#endif
    test_counters_work();
    mlm_model *m = make_model("stories15m");
    test_decode_and_prefill(m);
    test_generate(m);
    mlm_model_free(m);
    train_case(mlm_preset_find("stories15m"), 1, 32, "stories15m");
    mlm_config pc;
    mlm_train_default_config(&pc);
    train_case(&pc, 8, 32, "pinned induction model");
    return check_done();
}
