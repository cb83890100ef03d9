/* test_generate.c - sampling and generation: greedy is the argmax, sampled frequencies follow
 * the softmax, top-p keeps only the nucleus, a seed reproduces its tokens, the KV-cache loop
 * agrees with full forward passes; `microlm generate` and `microlm trace --prompt` end to end
 * on models and tokenizers the project writes itself (llama2.c and Hugging Face). */
#include "check.h"
#include "checkpoint.h"
#include "fixtures.h"
#include "generate.h"
#include "hf_model.h"
#include "tokenizer.h"
#include "trace.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static void sampler(void) {
    mlm_real lg[5] = {0.5, 2.0, -1.0, 2.0, 1.0};
    mlm_err e;
    mlm_sampler *s = mlm_sampler_new(5, NULL, &e);
    CHECK(s && mlm_sample(s, lg) == 1, "greedy picks the argmax (lowest id on ties)");
    mlm_sampler_free(s);
    mlm_sampler_opts bad = {-1, 0, 1};
    CHECK(mlm_sampler_new(5, &bad, &e) == NULL && strstr(e.msg, "temperature"), "a negative temperature is refused");
    bad.temperature = 1;
    bad.top_p = 1.5;
    CHECK(mlm_sampler_new(5, &bad, &e) == NULL && strstr(e.msg, "top_p"), "top_p above 1 is refused");
    /* frequencies follow softmax(logits / T) */
    mlm_sampler_opts o = {0.7, 0, 123};
    s = mlm_sampler_new(5, &o, &e);
    int cnt[5] = {0};
    enum { N = 40000 };
    for (int i = 0; i < N; i++) cnt[mlm_sample(s, lg)]++;
    double z = 0, p[5], worst = 0;
    for (int i = 0; i < 5; i++) z += exp(lg[i] / 0.7);
    for (int i = 0; i < 5; i++) { p[i] = exp(lg[i] / 0.7) / z; worst = fmax(worst, fabs(cnt[i] / (double)N - p[i])); }
    CHECK_NEAR(worst, 0, 0.01, "sampled frequencies match the softmax at temperature 0.7 (40000 draws)");
    mlm_sampler_free(s);
    /* top-p 0.6: the nucleus is {1, 3} (p ~ 0.37 each at T = 1), never the others */
    mlm_sampler_opts tp = {1.0, 0.6, 5};
    s = mlm_sampler_new(5, &tp, &e);
    int outside = 0, c1 = 0;
    for (int i = 0; i < 5000; i++) {
        int t = mlm_sample(s, lg);
        outside += t != 1 && t != 3;
        c1 += t == 1;
    }
    CHECK(outside == 0 && c1 > 2000 && c1 < 3000, "top-p 0.6 samples only the two most likely tokens, evenly");
    mlm_sampler_free(s);
    /* same seed, same stream */
    int a[50], b[50], same = 1, diff = 0;
    mlm_sampler_opts so = {1.0, 0.9, 77}, so2 = {1.0, 0.9, 78};
    mlm_sampler *s1 = mlm_sampler_new(5, &so, &e), *s2 = mlm_sampler_new(5, &so, &e), *s3 = mlm_sampler_new(5, &so2, &e);
    for (int i = 0; i < 50; i++) {
        a[i] = mlm_sample(s1, lg);
        b[i] = mlm_sample(s2, lg);
        same &= a[i] == b[i];
        diff |= a[i] != mlm_sample(s3, lg);
    }
    CHECK(same, "two samplers with one seed draw the same tokens");
    CHECK(diff, "another seed draws other tokens");
    mlm_sampler_free(s1);
    mlm_sampler_free(s2);
    mlm_sampler_free(s3);
}

typedef struct { int n, prompt; } counter;
static void count(int token, int is_prompt, void *u) {
    counter *c = u;
    (void)token;
    c->n++;
    c->prompt += is_prompt;
}

static void generation(void) {
    enum { V = 40 };
    mlm_model *m = fx_tiny_model(0, 2, V, 9);
    mlm_err e;
    int prompt[3] = {1, 7, 3};
    mlm_generate_opts o = {0};
    o.steps = 12;
    o.stop_token = -1;
    counter c = {0, 0};
    o.on_token = count;
    o.user = &c;
    int *out, n;
    mlm_generate_stats st;
    CHECK(mlm_generate(m, prompt, 3, &o, &out, &n, &st, &e) == MLM_OK && n == 15, "greedy generation returns prompt + 12 tokens");
    CHECK(c.n == 15 && c.prompt == 3, "the callback sees every prompt token, then each new one");
    CHECK(st.n_generated == 12 && st.tokens_per_s > 0, "stats count the new tokens and a rate");
    /* the KV-cache path equals a full forward pass per step, taking the argmax */
    int ok = 1;
    mlm_real lg[64 * V];
    for (int t = 3; t < n; t++) {
        fx_logits(m, out, t, MLM_ROPE_ADJACENT, lg);
        int best = 0;
        for (int i = 1; i < V; i++) if (lg[(t - 1) * V + i] > lg[(t - 1) * V + best]) best = i;
        ok &= best == out[t];
    }
    CHECK(ok, "every greedy token is the argmax of a full forward pass over the prefix");
    /* a seed reproduces sampled text; the stop token stops */
    o.sampling.temperature = 1.0;
    o.sampling.top_p = 0.9;
    o.sampling.seed = 5;
    o.on_token = NULL;
    int *o1, n1, *o2, n2;
    mlm_generate(m, prompt, 3, &o, &o1, &n1, NULL, &e);
    mlm_generate(m, prompt, 3, &o, &o2, &n2, NULL, &e);
    CHECK(n1 == n2 && !memcmp(o1, o2, sizeof(int) * (size_t)n1), "generation with a seed is reproducible");
    o.stop_token = o1[5];
    int *o3, n3;
    mlm_generate(m, prompt, 3, &o, &o3, &n3, NULL, &e);
    int first = 3;
    while (o1[first] != o1[5]) first++;
    CHECK(n3 == first + 1 && o3[n3 - 1] == o1[5], "generation stops right after the stop token");
    free(o1); free(o2); free(o3); free(out);
    /* limits */
    o.steps = 1000;
    o.stop_token = -1;
    CHECK(mlm_generate(m, prompt, 3, &o, &out, &n, NULL, &e) == MLM_OK && n == 64, "steps are cut at max_seq_len");
    free(out);
    int badp[2] = {1, V};
    CHECK(mlm_generate(m, badp, 2, &o, &out, &n, NULL, &e) == MLM_EINVAL && strstr(e.msg, "vocabulary"), "a prompt token outside the vocabulary");
    CHECK(mlm_generate(m, badp, 0, &o, &out, &n, NULL, &e) == MLM_EINVAL, "an empty prompt is refused");
    mlm_model_free(m);
}

/* ---- the CLI ---- */

static char bin[512], tmp[512];

static int run(const char *args, char *out, size_t cap, char *err, size_t ecap) {
    char cmd[3000], of[600], ef[600];
    snprintf(of, sizeof of, "%s/gen_out.txt", tmp);
    snprintf(ef, sizeof ef, "%s/gen_err.txt", tmp);
    snprintf(cmd, sizeof cmd, "%s %s >%s 2>%s", bin, args, of, ef);
    int st = system(cmd);
    FILE *f = fopen(of, "r");
    size_t n = f ? fread(out, 1, cap - 1, f) : 0;
    if (f) fclose(f);
    out[n] = '\0';
    f = fopen(ef, "r");
    n = f ? fread(err, 1, ecap - 1, f) : 0;
    if (f) fclose(f);
    err[n] = '\0';
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void cli(void) {
    mlm_err e;
    char hf[600], l2[600], p[700], args[2000], out[4096], out2[4096], err[2048];
    /* an HF directory with the SentencePiece-style tokenizer.json, and a llama2.c .bin with
     * tokenizer.bin next to it, both with the tokenizer's vocabulary */
    int V = fx_spm_vocab_size();
    mlm_model *m = fx_tiny_model(0, 2, V, 21);
    fx_dir(hf, sizeof hf, "gen-hf");
    CHECK(mlm_hf_save(m, hf, NULL, &e) == MLM_OK, "HF model directory written");
    snprintf(p, sizeof p, "%s/tokenizer.json", hf);
    fx_write_hf_spm_tokenizer(p);
    fx_dir(l2, sizeof l2, "gen-l2");
    m->cfg.tied = 0;
    snprintf(p, sizeof p, "%s/model.bin", l2);
    CHECK(mlm_llama2c_save(m, p, &e) == MLM_OK, "llama2.c model written");
    snprintf(p, sizeof p, "%s/tokenizer.bin", l2);
    fx_write_llama2c_tokenizer(p);

    snprintf(args, sizeof args, "generate --model %s --prompt \"hello world\" --steps 10", hf);
    int rc = run(args, out, sizeof out, err, sizeof err);
    CHECK(rc == 0 && !strncmp(out, "hello world", 11) && strstr(err, "tokens/s"),
          "generate on an HF directory: prints the prompt, the continuation, and tokens/s on stderr");
    if (rc) printf("  exit %d: %s", rc, err);
    snprintf(args, sizeof args, "generate --model %s/model.bin --prompt \"hello world\" --steps 10", l2);
    rc = run(args, out2, sizeof out2, err, sizeof err);
    CHECK(rc == 0 && !strcmp(out, out2), "the same weights as llama2.c + tokenizer.bin give the same greedy text");
    if (strcmp(out, out2)) printf("  HF:  %s  l2c: %s", out, out2);
    snprintf(args, sizeof args, "generate --model %s --prompt \"hello\" --steps 20 --temperature 1 --top-p 0.9 --seed 3 --no-stop", hf);
    run(args, out, sizeof out, err, sizeof err);
    run(args, out2, sizeof out2, err, sizeof err);
    CHECK(!strcmp(out, out2) && strlen(out) > 5, "generate with a seed prints the same text twice");
    snprintf(args, sizeof args, "generate --model %s --tokens 1,5,9 --steps 4", hf);
    CHECK(run(args, out, sizeof out, err, sizeof err) == 0, "generate accepts --tokens");
    CHECK(run("generate --model block-demo --prompt \"hi\" --steps 5", out, sizeof out, err, sizeof err) == 0 && !strncmp(out, "hi", 2),
          "a preset (vocab 256) generates through the byte tokenizer");
    CHECK(run("generate --model block-demo --tokens 1,2 --steps 3", out, sizeof out, err, sizeof err) == 0 && !strncmp(out, "1 2 ", 4),
          "without a tokenizer, --tokens prints ids");
    /* errors: one line, exit 2 or 1 */
    struct { const char *args; int code; const char *needle; } bad[] = {
        {"generate --prompt hi", 2, "--model"},
        {"generate --model block-demo", 2, "--prompt"},
        {"generate --model block-demo --prompt hi --tokens 1", 2, "not both"},
        {"generate --model block-demo --prompt hi --temperature -1", 2, "--temperature"},
        {"generate --model block-demo --prompt hi --top-p 0", 2, "--top-p"},
        {"generate --model block-demo --prompt hi --steps x", 2, "--steps"},
        {"generate --model block-demo --prompt hi --bogus", 2, "--bogus"},
        {"generate --model block-demo --prompt hi --tokenizer /nonexistent.json", 1, "/nonexistent.json"},
        {"generate --model nosuchmodel --prompt hi", 1, "nosuchmodel"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rc = run(bad[i].args, out, sizeof out, err, sizeof err);
        int lines = 0;
        for (char *q = err; *q; q++) lines += *q == '\n';
        char what[300];
        snprintf(what, sizeof what, "'%s': exit %d, one line naming %s", bad[i].args, bad[i].code, bad[i].needle);
        int ok = rc == bad[i].code && lines == 1 && !strncmp(err, "microlm: ", 9) && strstr(err, bad[i].needle);
        if (!ok) printf("  exit %d: %s", rc, err);
        CHECK(ok, what);
    }
    snprintf(args, sizeof args, "generate --model %s --prompt hi", l2);  /* a directory without config.json */
    snprintf(p, sizeof p, "%s/model.bin", l2);
    char bare[600];
    fx_dir(bare, sizeof bare, "gen-bare");
    char mp[700];
    snprintf(mp, sizeof mp, "%s/model.bin", bare);
    mlm_llama2c_save(m, mp, &e);
    snprintf(args, sizeof args, "generate --model %s --prompt hi", mp);
    rc = run(args, out, sizeof out, err, sizeof err);
    CHECK(rc == 2 && strstr(err, "--tokenizer"), "a checkpoint without a tokenizer asks for --tokenizer");
    /* a tokenizer larger than the model's vocabulary */
    mlm_model *small = fx_tiny_model(1, 2, 40, 1);
    char sm[600];
    fx_dir(sm, sizeof sm, "gen-small");
    mlm_hf_save(small, sm, NULL, &e);
    snprintf(p, sizeof p, "%s/tokenizer.json", sm);
    fx_write_hf_spm_tokenizer(p);
    snprintf(args, sizeof args, "generate --model %s --prompt hi", sm);
    rc = run(args, out, sizeof out, err, sizeof err);
    CHECK(rc == 1 && strstr(err, "vocabulary"), "a tokenizer larger than the model's vocabulary is refused");
    mlm_model_free(small);

    /* trace --prompt records the token strings */
    char tj[600];
    snprintf(tj, sizeof tj, "%s/gen_trace.json", tmp);
    snprintf(args, sizeof args, "trace --model %s --prompt \"hello world\" --json %s --keep 'blocks.*.attn.probs'", hf, tj);
    rc = run(args, out, sizeof out, err, sizeof err);
    CHECK(rc == 0 && strstr(out, "' hello'"), "trace --prompt on an HF model runs and prints the tokens");
    mlm_trace t;
    if (mlm_trace_load(&t, tj, &e) == MLM_OK) {
        CHECK(t.T == 3 && t.tokens[0] == 1 && t.token_strs && !strcmp(t.token_strs[0], "<s>") &&
                  !strcmp(t.token_strs[1], " hello") && !strcmp(t.token_strs[2], " world"),
              "the trace records the token strings <s>, ' hello', ' world'");
        const mlm_record *r = mlm_probe_find(t.probe, "blocks.1.attn.probs");
        CHECK(r && r->data && r->shape[2] == 3, "the attention maps are kept for the figures");
        mlm_trace_clear(&t);
    } else CHECK(0, "the trace loads");
    snprintf(args, sizeof args, "trace --model %s --tokens 1,259 --tokenizer %s/tokenizer.json --json %s --quiet", hf, hf, tj);
    rc = run(args, out, sizeof out, err, sizeof err);
    if (rc == 0 && mlm_trace_load(&t, tj, &e) == MLM_OK) {
        CHECK(t.token_strs && !strcmp(t.token_strs[1], " "), "trace --tokens with --tokenizer records token strings too");
        mlm_trace_clear(&t);
    } else CHECK(0, "trace --tokens --tokenizer runs");
    snprintf(args, sizeof args, "trace --model %s --tokens 1,2 --prompt hi", hf);
    CHECK(run(args, out, sizeof out, err, sizeof err) == 2 && strstr(err, "not both"), "trace: --tokens and --prompt together is an error");
    CHECK(run("trace --model block-demo --prompt hi --quiet", out, sizeof out, err, sizeof err) == 0, "trace --prompt on a preset uses bytes");
    mlm_model_free(m);
}

int main(void) {
    const char *b = getenv("MLM_BUILD");
    snprintf(bin, sizeof bin, "%s/microlm", b ? b : "build/float");
    fx_path(tmp, sizeof tmp, "");
    tmp[strlen(tmp) - 1] = '\0';
    sampler();
    generation();
    cli();
    return check_done();
}
