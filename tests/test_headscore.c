/* test_headscore.c - attention pattern scores on hand-built maps (pure previous-token and pure
 * induction score 1.0, uniform causal rows score exactly chance), the scores of a real traced
 * model, and the task generators (structure, determinism, held-out split, errors). */
#include "check.h"
#include "fixtures.h"
#include "headscore.h"
#include "tasks.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Fills A (B, H, T, T) with uniform causal rows. */
static void uniform(mlm_real *A, int B, int H, int T) {
    memset(A, 0, sizeof(mlm_real) * (size_t)B * H * T * T);
    for (int bh = 0; bh < B * H; bh++)
        for (int i = 0; i < T; i++)
            for (int j = 0; j <= i; j++) A[((size_t)bh * T + i) * T + j] = (mlm_real)(1.0 / (i + 1));
}

static void set_row_onehot(mlm_real *A, int T, int bh, int i, int j) {
    mlm_real *row = A + ((size_t)bh * T + i) * T;
    memset(row, 0, sizeof(mlm_real) * (size_t)T);
    row[j] = 1;
}

static void test_hand_patterns(void) {
    const int B = 2, H = 3, n = 8, off = 1, T = 2 * n; /* BOS x_1..x_8 x_1..x_7 */
    mlm_real *A = malloc(sizeof(mlm_real) * (size_t)B * H * T * T);
    double prev[3], ind[3], pc, ic;
    mlm_err e;
    uniform(A, B, H, T);
    /* head 0: pure previous-token; head 1: pure induction on the second half; head 2: uniform */
    for (int b = 0; b < B; b++) {
        for (int i = 1; i < T; i++) set_row_onehot(A, T, b * H + 0, i, i - 1);
        for (int i = off + n; i < T; i++) set_row_onehot(A, T, b * H + 1, i, i - n + 1);
    }
    CHECK(mlm_headscore_layer(A, B, H, T, n, off, prev, ind, &pc, &ic, &e) == MLM_OK, "scores of a hand-built layer");
    CHECK_NEAR(prev[0], 1.0, 1e-12, "pure previous-token pattern: previous-token score 1.0");
    CHECK_NEAR(ind[1], 1.0, 1e-12, "pure induction pattern: induction score 1.0");
    CHECK(ind[0] < 0.2, "the previous-token head is not an induction head");
    CHECK(prev[1] < 0.8, "the induction head is not a previous-token head");
    double want_pc = 0, want_ic = 0;
    for (int i = 1; i < T; i++) want_pc += 1.0 / (i + 1);
    for (int i = off + n; i < T; i++) want_ic += 1.0 / (i + 1);
    want_pc /= T - 1;
    want_ic /= T - off - n;
    CHECK_NEAR(pc, want_pc, 1e-15, "previous-token chance = mean of 1/(i+1) over rows 1..T-1");
    CHECK_NEAR(ic, want_ic, 1e-15, "induction chance = mean of 1/(i+1) over the second-half rows");
    CHECK_NEAR(prev[2], pc, 1e-6, "uniform causal rows: previous-token score equals chance");
    CHECK_NEAR(ind[2], ic, 1e-6, "uniform causal rows: induction score equals chance");
    /* without BOS (offset 0) the induction rows start at n */
    uniform(A, B, H, T);
    for (int b = 0; b < B; b++)
        for (int i = n; i < T; i++) set_row_onehot(A, T, b * H + 2, i, i - n + 1);
    mlm_headscore_layer(A, B, H, T, n, 0, prev, ind, NULL, NULL, &e);
    CHECK_NEAR(ind[2], 1.0, 1e-12, "pure induction without BOS (offset 0): 1.0");
    CHECK(mlm_headscore_layer(A, B, H, n, n, 1, prev, ind, NULL, NULL, &e) == MLM_EINVAL, "T too short for a second half is an error");
    CHECK(mlm_headscore_layer(NULL, B, H, T, n, 1, prev, ind, NULL, NULL, &e) == MLM_EINVAL, "NULL maps are an error");
    free(A);
}

static void test_model_scores(void) {
    mlm_model *m = fx_tiny_model(0, 2, 32, 5);
    mlm_task rep = {MLM_TASK_REPEAT, 8, 32, NULL, 0, 0, 0};
    int B = 3, T = mlm_task_seq_len(&rep), tok[3 * 16], tg[3 * 16];
    mlm_err e;
    CHECK(mlm_task_batch(&rep, 1, 0, 1, B, tok, tg, NULL, &e) == MLM_OK, "a held-out repeat batch");
    mlm_headscores s;
    CHECK(m && mlm_headscore_model(m, tok, B, T, rep.n, 1, &s, &e) == MLM_OK, "scores of a traced tiny model");
    int ok = s.n_layers == 2 && s.n_heads == 4;
    for (int i = 0; ok && i < 8; i++) ok = s.prev[i] >= 0 && s.prev[i] <= 1 && s.induction[i] >= 0 && s.induction[i] <= 1;
    CHECK(ok, "every score is a probability, one per layer and head");
    /* the same numbers from the layer function on maps recomputed by hand-free means */
    mlm_acts *a = mlm_acts_new(&m->cfg, B, T, 1, &e);
    mlm_forward(m, a, tok, B, T, NULL, NULL, &e);
    double prev[4], ind[4];
    mlm_headscore_layer(a->probs + (size_t)1 * B * 4 * T * T, B, 4, T, rep.n, 1, prev, ind, NULL, NULL, &e);
    CHECK(prev[2] == s.prev[4 + 2] && ind[3] == s.induction[4 + 3], "the trace's maps and the saved activations give the same scores");
    int l, h;
    double best = mlm_headscores_max_induction(&s, &l, &h);
    CHECK(best == s.induction[l * 4 + h] && l >= 0, "max induction names its layer and head");
    mlm_acts_free(a);
    mlm_headscores_free(&s);
    mlm_headscores_free(NULL);
    mlm_model_free(m);
}

static void test_tasks(void) {
    mlm_err e;
    const int n = 5, B = 4;
    mlm_task rep = {MLM_TASK_REPEAT, n, 16, NULL, 0, 0, 0};
    int T = mlm_task_seq_len(&rep);
    CHECK(T == 2 * n, "repeat: T = 2n");
    int tok[4 * 11], tg[4 * 11], tok2[4 * 11], tg2[4 * 11];
    unsigned char part[4 * 11];
    mlm_task_batch(&rep, 7, 3, 0, B, tok, tg, part, &e);
    int ok = 1;
    for (int b = 0; b < B; b++) {
        const int *s = tok + b * T, *t = tg + b * T;
        ok &= s[0] == MLM_TASK_BOS;
        for (int i = 1; i <= n; i++) ok &= s[i] >= 1 && s[i] < 16;
        for (int i = n + 1; i < T; i++) ok &= s[i] == s[i - n];
        for (int i = 0; i + 1 < T; i++) ok &= t[i] == s[i + 1];
        ok &= t[T - 1] == s[n]; /* the last target completes the second copy */
    }
    CHECK(ok, "repeat: BOS, n tokens in [1, V), the same n again, next-token targets");
    CHECK(part[n - 1] == 0 && part[n] == 1 && part[T - 1] == 1, "repeat: targets of the second copy are part 1");
    mlm_task_batch(&rep, 7, 3, 0, B, tok2, tg2, NULL, &e);
    CHECK(!memcmp(tok, tok2, sizeof(int) * (size_t)B * T) && !memcmp(tg, tg2, sizeof(int) * (size_t)B * T), "same (seed, stream) gives the same batch");
    mlm_task_batch(&rep, 7, 4, 0, B, tok2, tg2, NULL, &e);
    CHECK(memcmp(tok, tok2, sizeof(int) * (size_t)B * T), "another stream gives another batch");
    mlm_task_batch(&rep, 7, 3, 1, B, tok2, tg2, NULL, &e);
    CHECK(memcmp(tok, tok2, sizeof(int) * (size_t)B * T), "the held-out batch differs from training stream 3");
    mlm_task srt = {MLM_TASK_SORT, n, 16, NULL, 0, 0, 0};
    T = mlm_task_seq_len(&srt);
    CHECK(T == 2 * n + 1, "sort: T = 2n + 1");
    mlm_task_batch(&srt, 7, 0, 0, B, tok, tg, part, &e);
    ok = 1;
    for (int b = 0; b < B; b++) {
        const int *s = tok + b * T, *t = tg + b * T;
        ok &= s[0] == MLM_TASK_BOS && s[n + 1] == MLM_TASK_SEP;
        int hist[16] = {0};
        for (int i = 1; i <= n; i++) { ok &= s[i] >= 2 && s[i] < 16; hist[s[i]]++; }
        for (int i = n + 2; i < T; i++) { hist[s[i]]--; ok &= s[i] >= s[i - 1] || i == n + 2; }
        ok &= t[T - 1] >= s[T - 1]; /* the last sorted token is only a target */
        hist[t[T - 1]]--;
        for (int v = 0; v < 16; v++) ok &= hist[v] == 0;
        for (int i = 0; i + 1 < T; i++) ok &= t[i] == s[i + 1];
    }
    CHECK(ok, "sort: BOS, tokens in [2, V), SEP, then the same multiset sorted");
    CHECK(part[n - 1] == 0 && part[n] == 1, "sort: SEP and the sorted output are part 1");
    /* text: windows of a generated text, training in the first 90%, held-out in the last 10% */
    size_t len = 2000;
    unsigned char *text = malloc(len);
    for (size_t i = 0; i < len; i++) text[i] = (unsigned char)(i < 1800 ? 'a' + i % 26 : '0' + i % 10);
    mlm_task tx = {MLM_TASK_TEXT, 8, 256, text, len, 0, 0};
    T = mlm_task_seq_len(&tx);
    int ttok[4 * 16], ttg[4 * 16];
    mlm_task_batch(&tx, 1, 0, 0, 4, ttok, ttg, NULL, &e);
    ok = 1;
    for (int i = 0; i < 4 * T; i++) ok &= ttok[i] >= 'a' && ttok[i] <= 'z';
    for (int b = 0; b < 4; b++)
        for (int i = 0; i + 1 < T; i++) ok &= ttg[b * T + i] == ttok[b * T + i + 1];
    CHECK(ok, "text: training windows come from the first 90%, targets are the next bytes");
    mlm_task_batch(&tx, 1, 0, 1, 4, ttok, ttg, NULL, &e);
    ok = 1;
    for (int i = 0; i < 4 * T; i++) ok &= ttok[i] >= '0' && ttok[i] <= '9';
    CHECK(ok, "text: held-out windows come from the last 10%");
    tx.text_len = 100;
    CHECK(mlm_task_validate(&tx, &e) == MLM_EINVAL && strstr(e.msg, "bytes"), "text: a too short text is rejected");
    tx.text_len = len;
    tx.vocab = 64;
    CHECK(mlm_task_validate(&tx, &e) == MLM_EINVAL && strstr(e.msg, "256"), "text: vocab must be 256");
    /* repeat-var: BOS, filler of 2(n - p), p tokens, the same p again; p in [max(2, n/4), n] per
     * sequence; part 1 = targets x_2..x_p of the second copy (per row) */
    {
        const int vn = 12, VB = 64;
        mlm_task var = {MLM_TASK_REPEAT_VAR, vn, 16, NULL, 0, 0, 0};
        const int VT = mlm_task_seq_len(&var), pmin = mlm_task_min_period(&var);
        CHECK(VT == 2 * vn && pmin == 3, "repeat-var: T = 2n, smallest period max(2, n/4)");
        int *vt = malloc(sizeof(int) * VB * VT), *vg = malloc(sizeof(int) * VB * VT), *vt2 = malloc(sizeof(int) * VB * VT),
            *vg2 = malloc(sizeof(int) * VB * VT);
        unsigned char *vp = malloc((size_t)VB * VT), *vp2 = malloc((size_t)VB * VT);
        CHECK(mlm_task_batch(&var, 7, 3, 0, VB, vt, vg, vp, &e) == MLM_OK, "repeat-var: a batch");
        int seen[13] = {0};
        ok = 1;
        for (int b = 0; b < VB; b++) {
            const int *s = vt + b * VT, *t = vg + b * VT;
            const unsigned char *pp = vp + b * VT;
            int from = 0;
            while (from < VT && !pp[from]) from++;
            const int p = 2 * vn + 1 - from; /* part 1 starts at 2n - p + 1 */
            ok &= p >= pmin && p <= vn;
            if (p < pmin || p > vn) continue;
            seen[p] = 1;
            ok &= s[0] == MLM_TASK_BOS;
            for (int i = 1; i < VT; i++) ok &= s[i] >= 1 && s[i] < 16;
            for (int i = 2 * vn - p + 1; i < VT; i++) ok &= s[i] == s[i - p];   /* the second copy */
            ok &= t[VT - 1] == s[VT - p];                                         /* its last token */
            for (int i = 0; i + 1 < VT; i++) ok &= t[i] == s[i + 1];
            for (int i = from; i < VT; i++) ok &= pp[i] == 1;
        }
        int nseen = 0;
        for (int p = pmin; p <= vn; p++) nseen += seen[p];
        CHECK(ok, "repeat-var: BOS, tokens in [1, V), a period-p copy at the end, part 1 = its targets x_2..x_p");
        CHECK(nseen == vn - pmin + 1, "repeat-var: every period in [pmin, n] occurs in 64 sequences");
        mlm_task_batch(&var, 7, 3, 0, VB, vt2, vg2, vp2, &e);
        CHECK(!memcmp(vt, vt2, sizeof(int) * VB * VT) && !memcmp(vg, vg2, sizeof(int) * VB * VT) && !memcmp(vp, vp2, (size_t)VB * VT),
              "repeat-var: same (seed, stream) gives the same batch and parts");
        mlm_task_batch(&var, 7, 3, 1, VB, vt2, vg2, vp2, &e);
        CHECK(memcmp(vt, vt2, sizeof(int) * VB * VT), "repeat-var: the held-out batch differs");
        var.pmin = 10;
        mlm_task_batch(&var, 7, 3, 0, VB, vt2, vg2, vp2, &e);
        ok = 1;
        for (int b = 0; b < VB; b++) {
            int from = 0;
            while (from < VT && !vp2[b * VT + from]) from++;
            ok &= 2 * vn + 1 - from >= 10 && 2 * vn + 1 - from <= vn;
        }
        CHECK(ok, "repeat-var: pmin bounds the period from below");
        var.pmin = 0;
        var.band = 4;
        int bandok = 1;
        for (int st2 = 0; st2 < 6; st2++) {
            mlm_task_batch(&var, 7, (uint64_t)st2, 0, VB, vt2, vg2, vp2, &e);
            int lo = VT, hi = 0;
            for (int b = 0; b < VB; b++) {
                int from = 0;
                while (from < VT && !vp2[b * VT + from]) from++;
                const int p = 2 * vn + 1 - from;
                lo = p < lo ? p : lo;
                hi = p > hi ? p : hi;
            }
            bandok &= st2 < 4 ? lo >= vn - vn / 4 && hi <= vn : lo < vn - vn / 4;
        }
        mlm_task_batch(&var, 7, 0, 1, VB, vt2, vg2, vp2, &e);
        mlm_task_batch(&var, 7, 0, 1, VB, vt, vg, vp, &e);
        CHECK(bandok, "repeat-var band: streams below band use periods [n - n/4, n], later ones the whole range");
        var.band = 0;
        mlm_task_batch(&var, 7, 0, 1, VB, vt, vg, vp, &e);
        CHECK(!memcmp(vt, vt2, sizeof(int) * VB * VT), "repeat-var band: held-out batches ignore the band");
        var.band = -1;
        CHECK(mlm_task_validate(&var, &e) == MLM_EINVAL && strstr(e.msg, "band"), "repeat-var: a negative band is rejected");
        var.band = 0;
        var.pmin = vn + 1;
        CHECK(mlm_task_validate(&var, &e) == MLM_EINVAL && strstr(e.msg, "pmin"), "repeat-var: pmin > n is rejected");
        var.pmin = 0;
        var.vocab = 2;
        CHECK(mlm_task_validate(&var, &e) == MLM_EINVAL && strstr(e.msg, "repeat-var"), "repeat-var: vocab < 3 is rejected");
        CHECK(mlm_task_parse("repeat-var", &var.kind) == 0 && var.kind == MLM_TASK_REPEAT_VAR, "repeat-var: the name parses");
        free(vt); free(vg); free(vt2); free(vg2); free(vp); free(vp2);
    }
    mlm_task badn = {MLM_TASK_REPEAT, 1, 16, NULL, 0, 0, 0};
    CHECK(mlm_task_validate(&badn, &e) == MLM_EINVAL && strstr(e.msg, "n (1)"), "n < 2 is rejected");
    rep.pmin = 3;
    CHECK(mlm_task_validate(&rep, &e) == MLM_EINVAL && strstr(e.msg, "pmin"), "pmin on a task other than repeat-var is rejected");
    rep.pmin = 0;
    mlm_task_kind k;
    CHECK(mlm_task_parse("sort", &k) == 0 && k == MLM_TASK_SORT && mlm_task_parse("bogus", &k) == -1, "task names parse");
    CHECK(mlm_task_batch(&rep, 1, 0, 0, 0, tok, tg, NULL, &e) == MLM_EINVAL, "B = 0 is rejected");
    free(text);
}

int main(void) {
    test_hand_patterns();
    test_model_scores();
    test_tasks();
    return check_done();
}
