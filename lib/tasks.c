/* tasks.c - the deterministic task generators of tasks.h. */
#include "tasks.h"
#include "rng.h"

#include <stdlib.h>
#include <string.h>

const char *mlm_task_name(mlm_task_kind k) {
    switch (k) {
    case MLM_TASK_REPEAT: return "repeat";
    case MLM_TASK_SORT: return "sort";
    case MLM_TASK_TEXT: return "text";
    case MLM_TASK_REPEAT_VAR: return "repeat-var";
    }
    return "?";
}

int mlm_task_parse(const char *s, mlm_task_kind *k) {
    if (!s) return -1;
    for (int i = 0; i < MLM_TASK_KINDS; i++)
        if (!strcmp(s, mlm_task_name((mlm_task_kind)i))) { *k = (mlm_task_kind)i; return 0; }
    return -1;
}

int mlm_task_min_period(const mlm_task *t) { return t->pmin > 0 ? t->pmin : t->n / 4 > 2 ? t->n / 4 : 2; }

int mlm_task_seq_len(const mlm_task *t) { return t->kind == MLM_TASK_SORT ? 2 * t->n + 1 : 2 * t->n; }

/* Held-out split of a text: training windows start in [0, split - T - 1], held-out ones in
 * [split, len - T - 1]. */
static size_t text_split(const mlm_task *t) { return t->text_len / 10 * 9; }

mlm_status mlm_task_validate(const mlm_task *t, mlm_err *e) {
    if (!t) return mlm_fail(e, MLM_EINVAL, "task: NULL");
    if (t->kind != MLM_TASK_REPEAT && t->kind != MLM_TASK_SORT && t->kind != MLM_TASK_TEXT && t->kind != MLM_TASK_REPEAT_VAR)
        return mlm_fail(e, MLM_EINVAL, "task: unknown kind %d", (int)t->kind);
    if (t->n < 2 || t->n > 1 << 20) return mlm_fail(e, MLM_EINVAL, "task %s: n (%d) must be in [2, 1048576]", mlm_task_name(t->kind), t->n);
    if ((t->kind == MLM_TASK_REPEAT || t->kind == MLM_TASK_REPEAT_VAR) && t->vocab < 3)
        return mlm_fail(e, MLM_EINVAL, "task %s: vocab (%d) must be at least 3", mlm_task_name(t->kind), t->vocab);
    if (t->pmin < 0 || (t->pmin > 0 && (t->kind != MLM_TASK_REPEAT_VAR || t->pmin < 2 || t->pmin > t->n)))
        return mlm_fail(e, MLM_EINVAL, "task %s: pmin (%d) must be 0 (the default) or, for repeat-var, in [2, n = %d]", mlm_task_name(t->kind),
                        t->pmin, t->n);
    if (t->band < 0 || (t->band > 0 && t->kind != MLM_TASK_REPEAT_VAR))
        return mlm_fail(e, MLM_EINVAL, "task %s: band (%d) must be 0 (the default) or, for repeat-var, positive", mlm_task_name(t->kind), t->band);
    if (t->kind == MLM_TASK_SORT && t->vocab < 4)
        return mlm_fail(e, MLM_EINVAL, "task sort: vocab (%d) must be at least 4", t->vocab);
    if (t->kind == MLM_TASK_TEXT) {
        if (t->vocab != 256) return mlm_fail(e, MLM_EINVAL, "task text: vocab (%d) must be 256 (bytes)", t->vocab);
        size_t need = (size_t)mlm_task_seq_len(t) + 1;
        if (!t->text || t->text_len / 10 < need)
            return mlm_fail(e, MLM_EINVAL, "task text: the text has %zu bytes; windows of %zu need at least %zu", t->text ? t->text_len : 0,
                            need, need * 10);
    }
    return MLM_OK;
}

/* splitmix64 finaliser: mixes (seed, stream, heldout) into one seed per batch. */
static uint64_t mix(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

static int cmp_int(const void *a, const void *b) {
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

mlm_status mlm_task_batch(const mlm_task *t, uint64_t seed, uint64_t stream, int heldout, int B, int *tokens,
                          int *targets, unsigned char *part, mlm_err *e) {
    mlm_status st = mlm_task_validate(t, e);
    if (st) return st;
    if (B < 1 || !tokens || !targets) return mlm_fail(e, MLM_EINVAL, "task batch: B (%d) must be positive and buffers non-NULL", B);
    const int n = t->n, T = mlm_task_seq_len(t);
    mlm_rng r;
    mlm_rng_seed(&r, mix(mix(seed) ^ (stream * 0xD1B54A32D192ED03ull) ^ (heldout ? 0xA5A5A5A5A5A5A5A5ull : 0)));
    for (int b = 0; b < B; b++) {
        /* The row's sequence s[0..T]: s[0] in s0, s[1..T] written straight into the row of
         * targets (S(k) is s[k]), so a batch needs no scratch; the tokens are s[0..T-1]. */
        int *row = targets + (size_t)b * T, s0;
#define S(k) row[(k) - 1]
        int from = n; /* part 1: positions from..T-1 */
        if (t->kind == MLM_TASK_REPEAT_VAR) {
            const int pfull = mlm_task_min_period(t), pband = n - n / 4 > pfull ? n - n / 4 : pfull;
            const int pmin = !heldout && stream < (uint64_t)t->band ? pband : pfull;
            const int p = pmin + (int)mlm_rng_below(&r, (uint32_t)(n - pmin + 1));
            const int f = 2 * (n - p); /* filler s[1..f], first copy s[f+1..f+p], second s[f+p+1..2n] */
            s0 = MLM_TASK_BOS;
            for (int i = 1; i <= f + p; i++) S(i) = 1 + (int)mlm_rng_below(&r, (uint32_t)(t->vocab - 1));
            for (int i = 1; i <= p; i++) S(f + p + i) = S(f + i);
            from = 2 * n - p + 1;
        } else if (t->kind == MLM_TASK_REPEAT) {
            s0 = MLM_TASK_BOS;
            for (int i = 1; i <= n; i++) S(i) = 1 + (int)mlm_rng_below(&r, (uint32_t)(t->vocab - 1));
            for (int i = 1; i <= n; i++) S(n + i) = S(i);
        } else if (t->kind == MLM_TASK_SORT) {
            s0 = MLM_TASK_BOS;
            for (int i = 1; i <= n; i++) S(i) = 2 + (int)mlm_rng_below(&r, (uint32_t)(t->vocab - 2));
            S(n + 1) = MLM_TASK_SEP; /* part 1 from position n: SEP and the sorted output */
            memcpy(&S(n + 2), &S(1), sizeof(int) * (size_t)n);
            qsort(&S(n + 2), (size_t)n, sizeof(int), cmp_int);
        } else {
            size_t split = text_split(t), lo = heldout ? split : 0, hi = heldout ? t->text_len : split;
            size_t span = hi - lo - (size_t)T; /* window starts in [lo, lo + span) */
            size_t off = lo + (size_t)(mlm_rng_u64(&r) % span);
            s0 = t->text[off];
            for (int i = 1; i <= T; i++) S(i) = t->text[off + (size_t)i];
        }
        int *tok = tokens + (size_t)b * T;
        tok[0] = s0;
        for (int i = 1; i < T; i++) tok[i] = S(i);
#undef S
        if (part)
            for (int i = 0; i < T; i++) part[(size_t)b * T + i] = (unsigned char)(i >= from);
    }
    return MLM_OK;
}
