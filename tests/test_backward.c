/* test_backward.c - the backward pass beyond finite differences: fast kernels against their
 * _ref twins, GQA gradients against the same model with K/V heads duplicated, tied against
 * untied, the probe's gradient records (names, order, shapes, kept tensors, the loss stage),
 * counted backward FLOPs against the analytic formulas, bit-identical gradients with and
 * without a probe and for 1 or 2 threads, accumulation across calls, and every error path. */
#include "backward.h"
#include "check.h"
#include "rng.h"

#include <omp.h>
#include <string.h>

#ifdef MLM_DOUBLE
#define EPS_REL 1e-12
#else
#define EPS_REL 2e-5
#endif

static mlm_rng R;

static void randn(mlm_real *x, int64_t n, double s) {
    for (int64_t i = 0; i < n; i++) x[i] = (mlm_real)(s * mlm_rng_normal(&R));
}

/* max |a - b| / max(max |b|, 1e-30) */
static double rel_diff(const mlm_real *a, const mlm_real *b, int64_t n) {
    double md = 0, mb = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > md) md = d;
        if (fabs((double)b[i]) > mb) mb = fabs((double)b[i]);
    }
    return md / (mb > 1e-30 ? mb : 1e-30);
}

static void small_config(mlm_config *c, int post, int relu, int tied, int window, int d, int T) {
    mlm_config_default(c);
    snprintf(c->name, sizeof c->name, "small");
    c->d_model = d;
    c->n_layers = 2;
    c->n_heads = 4;
    c->n_kv_heads = 2;
    c->head_dim = d / 4;
    c->d_ff = d + d / 2;
    c->vocab_size = 11;
    c->max_seq_len = T > 16 ? T : 16;
    c->norm_pos = post ? MLM_POSTNORM : MLM_PRENORM;
    c->ffn = relu ? MLM_FFN_RELU : MLM_FFN_SWIGLU;
    c->tied = tied;
    c->sliding_window = window;
}

static mlm_model *make_model(const mlm_config *cfg, uint64_t seed) {
    mlm_model *m = mlm_model_new(cfg, NULL);
    mlm_init_opts io = {seed, 0};
    mlm_model_init(m, &io);
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].is_norm)
            for (int64_t j = 0; j < m->tensors[i].numel; j++)
                m->mem[m->tensors[i].offset + j] = (mlm_real)(1 + 0.3 * mlm_rng_normal(&R));
    return m;
}

static void make_tokens(int *tok, int *tg, int n, int V) {
    for (int i = 0; i < n; i++) {
        tok[i] = (int)mlm_rng_below(&R, (uint32_t)V);
        tg[i] = (int)mlm_rng_below(&R, (uint32_t)V);
    }
}

/* ---- kernels against their twins ---------------------------------------------------------- */

static void test_kernels_ref(void) {
    const int64_t N = 37, C = 29, OC = 45; /* odd sizes: every tail of the tiling */
    mlm_real *in = malloc(N * C * sizeof(mlm_real)), *w = malloc(OC * C * sizeof(mlm_real)),
             *dout = malloc(N * OC * sizeof(mlm_real)), *di1 = malloc(N * C * sizeof(mlm_real)),
             *di2 = malloc(N * C * sizeof(mlm_real)), *dw1 = malloc(OC * C * sizeof(mlm_real)),
             *dw2 = malloc(OC * C * sizeof(mlm_real));
    randn(in, N * C, 1); randn(w, OC * C, 1); randn(dout, N * OC, 1);
    randn(di1, N * C, 1); memcpy(di2, di1, N * C * sizeof(mlm_real)); /* accumulate onto old values */
    randn(dw1, OC * C, 1); memcpy(dw2, dw1, OC * C * sizeof(mlm_real));
    uint64_t f1[2], f2[2];
    mlm_matmul_backward(di1, dw1, dout, in, w, N, C, OC, f1);
    mlm_matmul_backward_ref(di2, dw2, dout, in, w, N, C, OC, f2);
    char msg[160];
    snprintf(msg, sizeof msg, "matmul backward dinp == _ref, accumulating (rel %.2e)", rel_diff(di1, di2, N * C));
    CHECK(rel_diff(di1, di2, N * C) < 10 * EPS_REL, msg);
    snprintf(msg, sizeof msg, "matmul backward dweight == _ref, accumulating (rel %.2e)", rel_diff(dw1, dw2, OC * C));
    CHECK(rel_diff(dw1, dw2, OC * C) < 10 * EPS_REL, msg);
    CHECK(f1[0] == f2[0] && f1[1] == f2[1] && f1[0] == 2 * (uint64_t)(N * C * OC), "matmul backward FLOPs: 2*N*C*OC per product");
    free(in); free(w); free(dout); free(di1); free(di2); free(dw1); free(dw2);

    const int64_t B = 2, T = 9, H = 6, Hk = 2, hd = 8;
    mlm_attn_opts os[] = {{1, 0, 0}, {1, 0, 4}, {0, 0, 0}, {1, 1, 0}};
    for (int t = 0; t < 4; t++) {
        int64_t nq = B * T * H * hd, nk = B * T * Hk * hd, np = B * H * T * T;
        mlm_real *q = malloc(nq * sizeof(mlm_real)), *k = malloc(nk * sizeof(mlm_real)), *v = malloc(nk * sizeof(mlm_real)),
                 *out = malloc(nq * sizeof(mlm_real)), *pr = malloc(np * sizeof(mlm_real)), *G = malloc(nq * sizeof(mlm_real));
        mlm_real *b1[5], *b2[5];
        int64_t sz[5] = {nq, nk, nk, np, np};
        for (int i = 0; i < 5; i++) { b1[i] = malloc(sz[i] * sizeof(mlm_real)); b2[i] = malloc(sz[i] * sizeof(mlm_real)); }
        randn(q, nq, 1); randn(k, nk, 1); randn(v, nk, 1); randn(G, nq, 1);
        mlm_attention_forward(out, pr, NULL, q, k, v, B, T, H, Hk, hd, &os[t], NULL);
        uint64_t fl[5];
        uint64_t fa = mlm_attention_backward(b1[0], b1[1], b1[2], b1[3], b1[4], G, q, k, v, pr, B, T, H, Hk, hd, &os[t],
                                             MLM_ATTN_FROM_HEADS, fl);
        uint64_t fr = mlm_attention_backward_ref(b2[0], b2[1], b2[2], b2[3], b2[4], G, q, k, v, pr, B, T, H, Hk, hd, &os[t]);
        double worst = 0;
        for (int i = 0; i < 5; i++) { double r = rel_diff(b1[i], b2[i], sz[i]); if (r > worst) worst = r; }
        snprintf(msg, sizeof msg, "attention backward == _ref (opts %d: dq dk dv dprobs dscores, rel %.2e)", t, worst);
        CHECK(worst < 100 * EPS_REL, msg);
        CHECK(fa == fr && fa == fl[0] + fl[1] + fl[2] + fl[3] + fl[4], "attention backward FLOPs == _ref's 8*dk + 5 per score");
        for (int i = 0; i < 5; i++) { free(b1[i]); free(b2[i]); }
        free(q); free(k); free(v); free(out); free(pr); free(G);
    }
}

/* ---- a full run helper --------------------------------------------------------------------- */

typedef struct {
    mlm_config cfg;
    mlm_model *m;
    mlm_acts *a;
    mlm_grads *g;
    int B, T;
    int *tok, *tg;
} run_t;

static void run_open(run_t *r, const mlm_config *cfg, int B, int T, uint64_t seed) {
    r->cfg = *cfg;
    r->B = B;
    r->T = T;
    r->m = make_model(cfg, seed);
    r->a = mlm_acts_new(cfg, B, T, 1, NULL);
    r->g = mlm_grads_new(cfg, B, T, NULL);
    r->tok = malloc((size_t)(B * T) * sizeof(int));
    r->tg = malloc((size_t)(B * T) * sizeof(int));
    make_tokens(r->tok, r->tg, B * T, cfg->vocab_size);
}

static void run_close(run_t *r) {
    mlm_grads_free(r->g);
    mlm_acts_free(r->a);
    mlm_model_free(r->m);
    free(r->tok);
    free(r->tg);
}

static mlm_status run_full(run_t *r, const mlm_fwd_opts *o, mlm_probe *p, double *loss) {
    mlm_grads_zero(r->g);
    mlm_status st = mlm_forward(r->m, r->a, r->tok, r->B, r->T, o, p, NULL);
    if (st) return st;
    return mlm_backward(r->m, r->a, r->g, r->tok, r->tg, r->B, r->T, o, p, loss, NULL);
}

/* ---- GQA and tied equivalences --------------------------------------------------------------- */

static void test_gqa_equivalence(void) {
    for (int post = 0; post < 2; post++) {
        mlm_config cg, cm;
        small_config(&cg, post, 0, 0, 0, 16, 6);
        cm = cg;
        cm.n_kv_heads = cm.n_heads; /* MHA twin */
        run_t rg, rm;
        run_open(&rg, &cg, 2, 6, 5);
        run_open(&rm, &cm, 2, 6, 5);
        memcpy(rm.tok, rg.tok, 12 * sizeof(int));
        memcpy(rm.tg, rg.tg, 12 * sizeof(int));
        /* copy every tensor; K/V rows of query head h come from KV head h / group */
        const int64_t d = cg.d_model, dk = cg.head_dim, group = cg.n_heads / cg.n_kv_heads;
        for (int i = 0; i < rm.m->n_tensors; i++) {
            const mlm_tensor_info *tm = &rm.m->tensors[i], *tgq = mlm_model_tensor(rg.m, tm->name);
            const char *nm = strrchr(tm->name, '.');
            if (nm && (!strcmp(nm, ".wk") || !strcmp(nm, ".wv"))) {
                for (int64_t h = 0; h < cm.n_heads; h++)
                    memcpy(rm.m->mem + tm->offset + h * dk * d, rg.m->mem + tgq->offset + (h / group) * dk * d,
                           (size_t)(dk * d) * sizeof(mlm_real));
            } else {
                memcpy(rm.m->mem + tm->offset, rg.m->mem + tgq->offset, (size_t)tm->numel * sizeof(mlm_real));
            }
        }
        double lg = 0, lm = 0;
        CHECK(run_full(&rg, NULL, NULL, &lg) == MLM_OK && run_full(&rm, NULL, NULL, &lm) == MLM_OK, "GQA and MHA twin run");
        CHECK_CLOSE(lg, lm, EPS_REL * 10, 0, post ? "post-norm GQA loss == duplicated-KV MHA loss" : "pre-norm GQA loss == duplicated-KV MHA loss");
        double worst = 0;
        for (int i = 0; i < rg.m->n_tensors; i++) {
            const mlm_tensor_info *tgq = &rg.m->tensors[i], *tm = mlm_model_tensor(rm.m, tgq->name);
            const char *nm = strrchr(tgq->name, '.');
            mlm_real *want = malloc((size_t)tgq->numel * sizeof(mlm_real));
            if (nm && (!strcmp(nm, ".wk") || !strcmp(nm, ".wv"))) {
                /* the shared head's gradient is the sum over its query heads' duplicates */
                memset(want, 0, (size_t)tgq->numel * sizeof(mlm_real));
                for (int64_t h = 0; h < cm.n_heads; h++)
                    for (int64_t j = 0; j < dk * d; j++)
                        want[(h / group) * dk * d + j] += rm.g->mem[tm->offset + h * dk * d + j];
            } else {
                memcpy(want, rm.g->mem + tm->offset, (size_t)tgq->numel * sizeof(mlm_real));
            }
            double r = rel_diff(rg.g->mem + tgq->offset, want, tgq->numel);
            if (r > worst) worst = r;
            free(want);
        }
        char msg[160];
        snprintf(msg, sizeof msg, "%s GQA gradients == MHA twin's, K/V summed over each group (rel %.2e)",
                 post ? "post-norm" : "pre-norm", worst);
        CHECK(worst < 100 * EPS_REL, msg);
        run_close(&rg);
        run_close(&rm);
    }
}

static void test_tied(void) {
    mlm_config ct, cu;
    small_config(&ct, 0, 0, 1, 0, 16, 6);
    cu = ct;
    cu.tied = 0;
    run_t rt, ru;
    run_open(&rt, &ct, 2, 6, 8);
    run_open(&ru, &cu, 2, 6, 8);
    memcpy(ru.tok, rt.tok, 12 * sizeof(int));
    memcpy(ru.tg, rt.tg, 12 * sizeof(int));
    for (int i = 0; i < rt.m->n_tensors; i++) {
        const mlm_tensor_info *t = &rt.m->tensors[i], *u = mlm_model_tensor(ru.m, t->name);
        memcpy(ru.m->mem + u->offset, rt.m->mem + t->offset, (size_t)t->numel * sizeof(mlm_real));
    }
    memcpy(ru.m->w.lm_head, ru.m->w.tok_emb, (size_t)(cu.vocab_size * cu.d_model) * sizeof(mlm_real));
    CHECK(run_full(&rt, NULL, NULL, NULL) == MLM_OK && run_full(&ru, NULL, NULL, NULL) == MLM_OK, "tied and untied twins run");
    int64_t n = (int64_t)cu.vocab_size * cu.d_model;
    mlm_real *want = malloc((size_t)n * sizeof(mlm_real));
    for (int64_t i = 0; i < n; i++) want[i] = ru.g->g.tok_emb[i] + ru.g->g.lm_head[i];
    char msg[160];
    double r = rel_diff(rt.g->g.tok_emb, want, n);
    snprintf(msg, sizeof msg, "tied: grad.tok_emb == untied grad.tok_emb + grad.lm_head (rel %.2e)", r);
    CHECK(r < 10 * EPS_REL, msg);
    CHECK(mlm_grads_tensor(rt.g, "lm_head") == NULL && rt.g->g.lm_head == rt.g->g.tok_emb,
          "tied: no lm_head gradient tensor, its pointer is tok_emb's");
    free(want);
    run_close(&rt);
    run_close(&ru);
}

/* ---- records, FLOPs, probe independence ----------------------------------------------------- */

static void test_records(void) {
    for (int post = 0; post < 2; post++) {
        mlm_config cfg;
        small_config(&cfg, post, 0, 0, 0, 16, 6);
        run_t r;
        run_open(&r, &cfg, 2, 6, 11);
        mlm_probe *p = mlm_probe_new("grad.blocks.0.*,grad.embed,grad.tok_emb");
        double loss = 0;
        CHECK(run_full(&r, NULL, p, &loss) == MLM_OK, "full run with a probe");
        /* every forward stage that has a gradient has its grad record, same shape */
        int missing = 0, badshape = 0, n_fwd = 0;
        for (int i = 0; i < mlm_probe_count(p); i++) {
            const mlm_record *f = mlm_probe_at(p, i);
            if (!strncmp(f->name, "grad.", 5) || !strcmp(f->name, "loss") || !strcmp(f->name, "probs")) continue;
            n_fwd++;
            char gn[128];
            snprintf(gn, sizeof gn, "grad.%s", f->name);
            const mlm_record *gr = mlm_probe_find(p, gn);
            if (!gr) { missing++; printf("  missing %s\n", gn); continue; }
            if (gr->ndim != f->ndim || memcmp(gr->shape, f->shape, sizeof f->shape)) { badshape++; printf("  shape %s\n", gn); }
        }
        char msg[160];
        snprintf(msg, sizeof msg, "%s: a grad.S record for each of the %d forward stages but probs", post ? "post-norm" : "pre-norm", n_fwd);
        CHECK(missing == 0, msg);
        CHECK(badshape == 0, "grad.S has the shape of S");
        int wmiss = 0;
        for (int i = 0; i < r.m->n_tensors; i++) {
            char gn[128];
            snprintf(gn, sizeof gn, "grad.%s", r.m->tensors[i].name);
            const mlm_record *gr = mlm_probe_find(p, gn);
            if (!gr || gr->numel != r.m->tensors[i].numel) wmiss++;
        }
        CHECK(wmiss == 0, "a grad.<weight name> record for every layout tensor");
        const mlm_record *last = mlm_probe_at(p, mlm_probe_count(p) - 1);
        CHECK(last && !strcmp(last->name, "loss") && last->has_value && last->value == loss, "loss is the last record, with its value");
        char wq[64];
        snprintf(wq, sizeof wq, "grad.blocks.%d.%s", 0, "attn.wq");
        const mlm_record *kw = mlm_probe_find(p, wq), *ke = mlm_probe_find(p, "grad.embed"),
                         *kn = mlm_probe_find(p, "grad.blocks.1.attn.wq");
        CHECK(kw && kw->data && !memcmp(kw->data, mlm_grads_tensor(r.g, "blocks.0.attn.wq"), (size_t)kw->numel * sizeof(mlm_real)),
              "kept gradient tensor grad.blocks.0.attn.wq == the weight gradient");
        CHECK(ke && ke->data && !memcmp(ke->data, mlm_grads_input(r.g), (size_t)ke->numel * sizeof(mlm_real)),
              "kept grad.embed == mlm_grads_input");
        CHECK(kn && !kn->data && kn->norm > 0, "grad records outside the keep globs carry statistics only");
        /* the norm statistic of a gradient record is the Frobenius norm of the tensor */
        double ss = 0;
        for (int64_t i = 0; i < kw->numel; i++) ss += (double)kw->data[i] * kw->data[i];
        CHECK_CLOSE(kw->norm, sqrt(ss), 1e-9, 0, "grad record norm is the Frobenius norm");
        /* block outputs: resid_post (pre) or ffn_norm (post) */
        char bo[64];
        mlm_block_output_name(&cfg, 0, bo, sizeof bo);
        char gbo[80];
        snprintf(gbo, sizeof gbo, "grad.%s", bo);
        CHECK(mlm_probe_find(p, gbo) != NULL, "grad of block 0's output recorded");
        CHECK(mlm_probe_find(p, "grad.blocks.0.attn.k_exp") && mlm_probe_find(p, "grad.blocks.0.attn.v_exp"),
              "grad.k_exp / grad.v_exp (per query head, before the GQA sum) recorded");
        /* v_exp summed over each group == grad.v */
        const mlm_record *ve = mlm_probe_find(p, "grad.blocks.0.attn.v_exp"), *vv = mlm_probe_find(p, "grad.blocks.0.attn.v");
        if (ve && vv && ve->data && vv->data) {
            int64_t H = cfg.n_heads, Hk = cfg.n_kv_heads, dk = cfg.head_dim, N = 12;
            double md = 0;
            for (int64_t i = 0; i < N; i++)
                for (int64_t hk = 0; hk < Hk; hk++)
                    for (int64_t c = 0; c < dk; c++) {
                        double s = 0;
                        for (int64_t h = hk * (H / Hk); h < (hk + 1) * (H / Hk); h++) s += ve->data[(i * H + h) * dk + c];
                        double dd = fabs(s - vv->data[(i * Hk + hk) * dk + c]);
                        if (dd > md) md = dd;
                    }
            CHECK(md < 1e3 * EPS_REL, "grad.v == grad.v_exp summed over the query heads of each KV head");
        }
        mlm_probe_free(p);
        run_close(&r);
    }
}

static int check_flops_of(const char *label, const mlm_config *cfg, const mlm_fwd_opts *o, int full) {
    const int B = 2, T = 7;
    run_t r;
    run_open(&r, cfg, B, T, 21);
    for (int i = 0; i < B * T; i++) if (r.tg[i] < 0) r.tg[i] = 0;
    mlm_probe *p = mlm_probe_new(NULL);
    mlm_status st;
    mlm_real *G = NULL;
    if (full) {
        mlm_forward(r.m, r.a, r.tok, B, T, o, NULL, NULL);
        st = mlm_backward(r.m, r.a, r.g, r.tok, r.tg, B, T, o, p, NULL, NULL);
    } else {
        int64_t nd = (int64_t)B * T * cfg->d_model;
        mlm_real *x = malloc((size_t)nd * sizeof(mlm_real));
        G = malloc((size_t)nd * sizeof(mlm_real));
        randn(x, nd, 1);
        for (int64_t i = 0; i < nd; i++) G[i] = (mlm_real)(1.0 / (double)nd);
        mlm_forward_blocks(r.m, r.a, x, B, T, o, NULL, NULL);
        st = mlm_backward_blocks(r.m, r.a, r.g, G, B, T, o, p, NULL);
        free(x);
    }
    int bad = 0;
    uint64_t sum = 0;
    for (int i = 0; i < mlm_probe_count(p); i++) {
        const mlm_record *rc = mlm_probe_at(p, i);
        uint64_t want = mlm_flops_backward_stage(cfg, rc->name, B, T, o, full);
        sum += rc->flops;
        if (want != rc->flops) {
            bad++;
            printf("  %s: %s counted %llu, analytic %llu\n", label, rc->name, (unsigned long long)rc->flops,
                   (unsigned long long)want);
        }
    }
    uint64_t tot = mlm_flops_backward_total(cfg, B, T, o, full);
    char msg[200];
    snprintf(msg, sizeof msg, "%s: counted backward FLOPs == analytic for every record (total %llu)", label,
             (unsigned long long)sum);
    CHECK(st == MLM_OK && bad == 0 && sum == r.g->flops && tot == sum, msg);
    free(G);
    mlm_probe_free(p);
    run_close(&r);
    return bad;
}

static void test_flops(void) {
    struct { const char *label; int post, relu, tied, window; mlm_fwd_opts o; } cases[] = {
        {"pre SwiGLU", 0, 0, 0, 0, {0}},        {"post SwiGLU", 1, 0, 0, 0, {0}},
        {"pre ReLU tied", 0, 1, 1, 0, {0}},     {"post ReLU tied window 3", 1, 1, 1, 3, {0}},
        {"pre no mask no RoPE", 0, 0, 0, 0, {.no_rope = 1, .no_causal = 1}},
        {"pre dense (backward skips masked)", 0, 0, 0, 0, {.dense = 1}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mlm_config cfg;
        small_config(&cfg, cases[i].post, cases[i].relu, cases[i].tied, cases[i].window, 16, 7);
        char label[120];
        snprintf(label, sizeof label, "full %s", cases[i].label);
        check_flops_of(label, &cfg, &cases[i].o, 1);
        snprintf(label, sizeof label, "blocks %s", cases[i].label);
        check_flops_of(label, &cfg, &cases[i].o, 0);
    }
    /* the backward costs about twice the forward's matmul FLOPs */
    const mlm_config *s15 = mlm_preset_find("stories15m");
    if (s15) {
        uint64_t fb = mlm_flops_backward_total(s15, 4, 256, NULL, 1);
        CHECK(fb > 0, "analytic backward FLOPs of stories15m at B=4 T=256");
        printf("stories15m B=4 T=256 backward: %.3f GFLOP\n", (double)fb / 1e9);
    }
}

static void test_probe_bits_and_threads(void) {
    mlm_config cfg;
    small_config(&cfg, 0, 0, 0, 0, 64, 40); /* big enough for the parallel paths */
    cfg.vocab_size = 300;
    run_t r;
    run_open(&r, &cfg, 2, 40, 31);
    int64_t n = r.g->n_params, nd = 2 * 40 * 64;
    mlm_real *g1 = malloc((size_t)n * sizeof(mlm_real)), *d1 = malloc((size_t)nd * sizeof(mlm_real));
    mlm_probe *p = mlm_probe_new("*");
    run_full(&r, NULL, p, NULL);
    memcpy(g1, r.g->mem, (size_t)n * sizeof(mlm_real));
    memcpy(d1, mlm_grads_input(r.g), (size_t)nd * sizeof(mlm_real));
    run_full(&r, NULL, NULL, NULL);
    CHECK(!memcmp(g1, r.g->mem, (size_t)n * sizeof(mlm_real)) && !memcmp(d1, mlm_grads_input(r.g), (size_t)nd * sizeof(mlm_real)),
          "a NULL probe changes no bit of the gradients");
    int nt = omp_get_max_threads();
    omp_set_num_threads(1);
    run_full(&r, NULL, NULL, NULL);
    int same1 = !memcmp(g1, r.g->mem, (size_t)n * sizeof(mlm_real));
    omp_set_num_threads(3);
    run_full(&r, NULL, NULL, NULL);
    int same3 = !memcmp(g1, r.g->mem, (size_t)n * sizeof(mlm_real));
    omp_set_num_threads(nt);
    CHECK(same1 && same3, "gradients are the same bits with 1, 3 and the default number of threads");
    /* accumulation across calls, zeroing */
    mlm_forward(r.m, r.a, r.tok, 2, 40, NULL, NULL, NULL);
    mlm_backward(r.m, r.a, r.g, r.tok, r.tg, 2, 40, NULL, NULL, NULL, NULL); /* on top of the last call */
    double md = 0;
    for (int64_t i = 0; i < n; i++) { double dd = fabs((double)r.g->mem[i] - 2.0 * g1[i]); if (dd > md) md = dd; }
    CHECK(md < 1e-5, "weight gradients accumulate across calls (two calls == 2x)");
    mlm_grads_zero(r.g);
    int allz = 1;
    for (int64_t i = 0; i < n; i++) if (r.g->mem[i] != 0) allz = 0;
    CHECK(allz, "mlm_grads_zero zeroes every weight gradient");
    /* dense forward gives the same gradients */
    mlm_fwd_opts od = {.dense = 1};
    run_full(&r, &od, NULL, NULL);
    CHECK(rel_diff(r.g->mem, g1, n) < 10 * EPS_REL, "dense attention gives the same gradients");
    free(g1); free(d1);
    mlm_probe_free(p);
    run_close(&r);
}

/* analysis 4: a stack of blocks from ones / numel at the output */
static void test_blocks_highway(void) {
    mlm_config cfg;
    small_config(&cfg, 0, 0, 0, 0, 32, 8);
    cfg.n_layers = 4;
    run_t r;
    run_open(&r, &cfg, 1, 8, 4);
    int64_t nd = 8 * 32;
    mlm_real *x = malloc((size_t)nd * sizeof(mlm_real)), *G = malloc((size_t)nd * sizeof(mlm_real));
    randn(x, nd, 0.1);
    for (int64_t i = 0; i < nd; i++) G[i] = (mlm_real)(1.0 / (double)nd);
    mlm_probe *p = mlm_probe_new(NULL);
    CHECK(mlm_forward_blocks(r.m, r.a, x, 1, 8, NULL, NULL, NULL) == MLM_OK &&
              mlm_backward_blocks(r.m, r.a, r.g, G, 1, 8, NULL, p, NULL) == MLM_OK,
          "stack of blocks backward from ones / numel");
    int ok = 1;
    for (int l = 0; l < 4; l++) {
        char nm[64];
        snprintf(nm, sizeof nm, "grad.blocks.%d.resid_post", l);
        const mlm_record *rc = mlm_probe_find(p, nm);
        if (!rc || !(rc->norm > 0)) ok = 0;
    }
    const mlm_record *top = mlm_probe_find(p, "grad.blocks.3.resid_post"), *in = mlm_probe_find(p, "grad.input");
    CHECK(ok && top && in && in->norm > 0, "grad norm at every block boundary and at the input");
    CHECK(top && fabs(top->norm - 1.0 / sqrt((double)nd)) < 1e-6, "grad at the output is the given ones / numel");
    CHECK(mlm_probe_find(p, "loss") == NULL && mlm_probe_find(p, "grad.logits") == NULL, "no loss or logits record for a stack");
    free(x); free(G);
    mlm_probe_free(p);
    run_close(&r);
}

static void test_errors(void) {
    mlm_config cfg;
    small_config(&cfg, 0, 0, 0, 0, 16, 6);
    mlm_err e = {{0}};
    CHECK(mlm_grads_new(&cfg, 1, 100, &e) == NULL && strstr(e.msg, "max_seq_len"), "grads_new refuses T > max_seq_len");
    CHECK(mlm_grads_new(&cfg, 0, 4, &e) == NULL, "grads_new refuses B = 0");
    CHECK(mlm_grads_new(NULL, 1, 4, &e) == NULL, "grads_new refuses a NULL config");
    mlm_grads_free(NULL);
    mlm_grads_zero(NULL);
    CHECK(mlm_grads_input(NULL) == NULL, "NULL grads: free, zero and input are no-ops");
    run_t r;
    run_open(&r, &cfg, 2, 6, 1);
    mlm_forward(r.m, r.a, r.tok, 2, 6, NULL, NULL, NULL);
    mlm_acts *a0 = mlm_acts_new(&cfg, 2, 6, 0, NULL);
    CHECK(mlm_backward(r.m, a0, r.g, r.tok, r.tg, 2, 6, NULL, NULL, NULL, &e) == MLM_EINVAL && strstr(e.msg, "for_backward"),
          "activations not planned for the backward are refused");
    mlm_acts_free(a0);
    mlm_fwd_opts lo = {.last_only = 1};
    CHECK(mlm_backward(r.m, r.a, r.g, r.tok, r.tg, 2, 6, &lo, NULL, NULL, &e) == MLM_EINVAL, "last_only is refused");
    CHECK(mlm_backward(r.m, r.a, r.g, r.tok, r.tg, 1, 6, NULL, NULL, NULL, &e) == MLM_EINVAL, "B differing from the plan is refused");
    int tg_bad[12];
    memcpy(tg_bad, r.tg, sizeof tg_bad);
    tg_bad[3] = 11;
    CHECK(mlm_backward(r.m, r.a, r.g, r.tok, tg_bad, 2, 6, NULL, NULL, NULL, &e) == MLM_EINVAL && strstr(e.msg, "target"),
          "a target outside the vocabulary is refused");
    tg_bad[3] = -2;
    CHECK(mlm_backward(r.m, r.a, r.g, r.tok, tg_bad, 2, 6, NULL, NULL, NULL, &e) == MLM_EINVAL, "a target below -1 is refused");
    int tok_bad[12];
    memcpy(tok_bad, r.tok, sizeof tok_bad);
    tok_bad[0] = -1;
    CHECK(mlm_backward(r.m, r.a, r.g, tok_bad, r.tg, 2, 6, NULL, NULL, NULL, &e) == MLM_EINVAL, "a bad token is refused");
    CHECK(mlm_backward(r.m, r.a, r.g, NULL, r.tg, 2, 6, NULL, NULL, NULL, &e) == MLM_EINVAL, "no tokens is refused");
    CHECK(mlm_backward(r.m, r.a, r.g, r.tok, NULL, 2, 6, NULL, NULL, NULL, &e) == MLM_EINVAL, "no targets is refused");
    mlm_real G[12 * 16] = {0};
    CHECK(mlm_backward_from(r.m, r.a, r.g, "blocks.0.nope", G, r.tok, 2, 6, NULL, NULL, &e) == MLM_EINVAL &&
              strstr(e.msg, "blocks.0.nope"), "an unknown stage is refused, named");
    CHECK(mlm_backward_from(r.m, r.a, r.g, "blocks.9.resid_post", G, r.tok, 2, 6, NULL, NULL, &e) == MLM_EINVAL,
          "a layer out of range is refused");
    CHECK(mlm_backward_from(r.m, r.a, r.g, "blocks.0.attn.k_exp", G, r.tok, 2, 6, NULL, NULL, &e) == MLM_EINVAL,
          "k_exp is not a start stage");
    CHECK(mlm_backward_from(r.m, r.a, r.g, "final_norm", G, NULL, 2, 6, NULL, NULL, &e) == MLM_EINVAL,
          "final_norm needs the full model (tokens)");
    CHECK(mlm_backward_from(r.m, r.a, r.g, "input", NULL, NULL, 2, 6, NULL, NULL, &e) == MLM_EINVAL, "no gradient is refused");
    CHECK(mlm_backward_from(r.m, r.a, r.g, NULL, G, r.tok, 2, 6, NULL, NULL, &e) == MLM_EINVAL, "no stage is refused");
    mlm_config other = cfg;
    other.d_ff = 20;
    mlm_grads *go = mlm_grads_new(&other, 2, 6, NULL);
    CHECK(mlm_backward(r.m, r.a, go, r.tok, r.tg, 2, 6, NULL, NULL, NULL, &e) == MLM_EINVAL, "gradients of another config are refused");
    mlm_grads_free(go);
    int pos[6] = {0, 1, 2, -3, 4, 5};
    mlm_fwd_opts po = {.pos = pos};
    CHECK(mlm_backward(r.m, r.a, r.g, r.tok, r.tg, 2, 6, &po, NULL, NULL, &e) == MLM_EINVAL, "a negative position is refused");
    /* start at the input: only the embedding gradient */
    mlm_grads_zero(r.g);
    for (int i = 0; i < 12 * 16; i++) G[i] = 1;
    CHECK(mlm_backward_from(r.m, r.a, r.g, "embed", G, r.tok, 2, 6, NULL, NULL, &e) == MLM_OK, "start at embed");
    double s = 0;
    for (int64_t i = 0; i < r.g->n_params; i++) s += r.g->mem[i];
    CHECK_NEAR(s, 12 * 16, 1e-4, "start at embed: the embedding gradient holds the given gradient, nothing else");
    /* the loss with every target ignored: 0 and zero gradients */
    int none[12];
    for (int i = 0; i < 12; i++) none[i] = -1;
    double l = 1;
    mlm_grads_zero(r.g);
    CHECK(mlm_backward(r.m, r.a, r.g, r.tok, none, 2, 6, NULL, NULL, &l, &e) == MLM_OK && l == 0, "all targets ignored: loss 0");
    int nz = 0;
    for (int64_t i = 0; i < r.g->n_params; i++) nz += r.g->mem[i] != 0;
    CHECK(nz == 0, "all targets ignored: zero gradients");
    run_close(&r);
}

int main(void) {
    mlm_rng_seed(&R, 777);
    test_kernels_ref();
    test_gqa_equivalence();
    test_tied();
    test_records();
    test_flops();
    test_probe_bits_and_threads();
    test_blocks_highway();
    test_errors();
    return check_done();
}
