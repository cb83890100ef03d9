/* cmd_generate.c - `microlm generate`: text in, text out with the KV cache. Encodes the
 * prompt with the model's tokenizer, samples (greedy by default; temperature, top-p, seed),
 * prints each token as it comes, and the tokens/s on stderr at the end. */
#include "args.h"
#include "commands.h"
#include "generate.h"
#include "open.h"
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f) {
    fprintf(f,
            "usage: microlm generate --model MODEL --prompt \"...\" [--steps N] [options]\n"
            "  --model MODEL      llama2.c .bin, Hugging Face model directory or .safetensors, preset or config\n"
            "  --tokenizer FILE   tokenizer.bin or tokenizer.json (default: the one next to the model;\n"
            "                     bytes for presets and configs)\n"
            "  --prompt TEXT      the text to continue (encoded with BOS unless --no-bos)\n"
            "  --tokens LIST      token ids instead of --prompt (output is ids when there is no tokenizer)\n"
            "  --steps N          new tokens to generate (default 64; cut at the model's max_seq_len)\n"
            "  --temperature T    0 = greedy (default); > 0 samples from softmax(logits / T)\n"
            "  --top-p P          nucleus sampling with temperature > 0 (default 0.9; 1 = off)\n"
            "  --seed N           sampling seed (default 42); same seed, same text\n"
            "  --init-seed N      weight seed for presets and configs (default 42)\n"
            "  --no-bos           do not prepend BOS;  --no-stop  do not stop at EOS\n"
            "prints the prompt and each new token as it comes; the tokens/s go to stderr at the end\n");
}

typedef struct {
    const mlm_tokenizer *tk;
    int prev;
    int vocab_ok;   /* tokenizer knows every id of the model */
} printer;

static void on_token(int token, int is_prompt, void *user) {
    printer *p = user;
    if (p->tk && token < mlm_tokenizer_vocab_size(p->tk)) {
        size_t n;
        const char *s = mlm_tokenizer_decode_next(p->tk, p->prev, token, &n);
        fwrite(s, 1, n, stdout);
    } else {
        printf("%s%d", p->prev >= 0 ? " " : "", token);
    }
    (void)is_prompt;
    p->prev = token;
    fflush(stdout);
}

int mlm_cmd_generate(int argc, char **argv) {
    const char *model = NULL, *tok_path = NULL, *prompt = NULL, *tok_s = NULL;
    long steps = 64, seed = 42, init_seed = 42;
    double temp = 0, top_p = 0.9;
    int no_bos = 0, no_stop = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int has_val = i + 1 < argc;
#define VAL(dst) do { if (!has_val) { fprintf(stderr, "microlm: generate: %s needs a value\n", a); return 2; } dst = argv[++i]; } while (0)
        const char *v = NULL;
        if (!strcmp(a, "--model")) VAL(model);
        else if (!strcmp(a, "--tokenizer")) VAL(tok_path);
        else if (!strcmp(a, "--prompt")) VAL(prompt);
        else if (!strcmp(a, "--tokens")) VAL(tok_s);
        else if (!strcmp(a, "--steps")) {
            VAL(v);
            if (mlm_arg_long(v, 0, 1L << 24, &steps)) { fprintf(stderr, "microlm: generate: --steps '%s' is not an integer in [0, 16777216]\n", v); return 2; }
        } else if (!strcmp(a, "--temperature")) {
            VAL(v);
            if (mlm_arg_double(v, 0, 1e6, &temp)) { fprintf(stderr, "microlm: generate: --temperature '%s' is not a number >= 0\n", v); return 2; }
        } else if (!strcmp(a, "--top-p")) {
            VAL(v);
            if (mlm_arg_double(v, 0, 1, &top_p) || top_p <= 0) { fprintf(stderr, "microlm: generate: --top-p '%s' is not a number in (0, 1]\n", v); return 2; }
        } else if (!strcmp(a, "--seed")) {
            VAL(v);
            if (mlm_arg_long(v, 0, 2147483647L, &seed)) { fprintf(stderr, "microlm: generate: --seed '%s' is not a non-negative integer\n", v); return 2; }
        } else if (!strcmp(a, "--init-seed")) {
            VAL(v);
            if (mlm_arg_long(v, 0, 2147483647L, &init_seed)) { fprintf(stderr, "microlm: generate: --init-seed '%s' is not a non-negative integer\n", v); return 2; }
        } else if (!strcmp(a, "--no-bos")) no_bos = 1;
        else if (!strcmp(a, "--no-stop")) no_stop = 1;
        else if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage(stdout); return 0; }
        else { fprintf(stderr, "microlm: generate: unknown option '%s' (see microlm generate --help)\n", a); return 2; }
#undef VAL
    }
    if (!model) { fprintf(stderr, "microlm: generate: --model is required\n"); return 2; }
    if (!prompt && !tok_s) { fprintf(stderr, "microlm: generate: --prompt is required (or --tokens)\n"); return 2; }
    if (prompt && tok_s) { fprintf(stderr, "microlm: generate: give --prompt or --tokens, not both\n"); return 2; }

    int rc = 1, *ids = NULL, n = 0, *out = NULL, n_out = 0;
    mlm_err e = {{0}};
    mlm_tokenizer *tk = NULL;
    mlm_model *m = NULL;
    char found[4200];
    if (!tok_path && mlm_tokenizer_find(model, found, sizeof found)) tok_path = found;
    if (tok_path) {
        tk = mlm_tokenizer_load(tok_path, &e);
        if (!tk) { fprintf(stderr, "microlm: %s\n", e.msg); goto done; }
    } else if (prompt) {
        if (mlm_spec_has_weights(model)) {
            fprintf(stderr, "microlm: generate: no tokenizer.json or tokenizer.bin next to '%s'; pass --tokenizer FILE\n", model);
            rc = 2;
            goto done;
        }
        tk = mlm_tokenizer_bytes();
        if (!tk) { fprintf(stderr, "microlm: out of memory\n"); goto done; }
    }
    mlm_init_opts io = {(uint64_t)init_seed, 0};
    m = mlm_model_open(model, &io, &e);
    if (!m) { fprintf(stderr, "microlm: %s\n", e.msg); goto done; }
    if (tk && mlm_tokenizer_vocab_size(tk) > m->cfg.vocab_size) {
        fprintf(stderr, "microlm: generate: the tokenizer has %d tokens but the model's vocabulary is %d\n",
                mlm_tokenizer_vocab_size(tk), m->cfg.vocab_size);
        goto done;
    }
    if (prompt) {
        if (mlm_tokenizer_encode(tk, prompt, strlen(prompt), !no_bos, &ids, &n, &e)) { fprintf(stderr, "microlm: %s\n", e.msg); goto done; }
        if (n == 0) { fprintf(stderr, "microlm: generate: the prompt gives no tokens (empty text and no BOS)\n"); rc = 2; goto done; }
    } else if (mlm_arg_int_list(tok_s, 0, 2147483647L, 1 << 20, &ids, &n)) {
        fprintf(stderr, "microlm: generate: --tokens '%s' is not a comma-separated list of non-negative integers\n", tok_s);
        rc = 2;
        goto done;
    }
    printer pr = {tk, -1, 1};
    mlm_generate_opts go = {0};
    go.steps = (int)steps;
    go.stop_token = tk && !no_stop ? mlm_tokenizer_eos(tk) : -1;
    go.sampling.temperature = temp;
    go.sampling.top_p = top_p;
    go.sampling.seed = (uint64_t)seed;
    go.on_token = on_token;
    go.user = &pr;
    mlm_generate_stats gs;
    if (mlm_generate(m, ids, n, &go, &out, &n_out, &gs, &e)) { printf("\n"); fprintf(stderr, "microlm: %s\n", e.msg); goto done; }
    printf("\n");
    fflush(stdout);
    fprintf(stderr, "%d new tokens in %.3f s: %.1f tokens/s (prompt %d tokens, prefill %.1f ms; %s)\n", gs.n_generated,
            gs.decode_s, gs.tokens_per_s, gs.n_prompt, gs.prefill_s * 1e3,
            temp == 0 ? "greedy" : top_p < 1 ? "temperature + top-p" : "temperature");
    rc = 0;
done:
    free(out);
    free(ids);
    mlm_model_free(m);
    mlm_tokenizer_free(tk);
    return rc;
}
