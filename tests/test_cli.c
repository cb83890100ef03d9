/* test_cli.c - the `microlm` tool end to end: a good trace run writes a loadable trace; every
 * bad flag or input gives one "microlm: ..." line on stderr, a non-zero exit, and no file. */
#include "check.h"
#include "checkpoint.h"
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char bin[512], tmp[512];

/* Runs the tool with args; returns the exit status, stderr in err (first 1 KB). */
static int run(const char *args, char *err, size_t cap, int *lines) {
    char cmd[2048], ef[600];
    snprintf(ef, sizeof ef, "%s/stderr.txt", tmp);
    snprintf(cmd, sizeof cmd, "%s %s >%s/stdout.txt 2>%s", bin, args, tmp, ef);
    int st = system(cmd);
    FILE *f = fopen(ef, "r");
    size_t n = f ? fread(err, 1, cap - 1, f) : 0;
    if (f) fclose(f);
    err[n] = '\0';
    *lines = 0;
    for (size_t i = 0; i < n; i++) if (err[i] == '\n') (*lines)++;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void bad(const char *args, int want_code, const char *needle, const char *what) {
    char err[1024], out[600];
    int lines;
    snprintf(out, sizeof out, "%s/out.json", tmp);
    unlink(out);
    char full[1500];
    snprintf(full, sizeof full, "%s --json %s", args, out);
    int code = run(full, err, sizeof err, &lines);
    int ok = code == want_code && lines == 1 && !strncmp(err, "microlm: ", 9) && strstr(err, needle) && access(out, F_OK) != 0;
    if (!ok) printf("  exit %d, %d lines: %s", code, lines, err);
    CHECK(ok, what);
}

int main(void) {
    const char *b = getenv("MLM_BUILD");
    snprintf(bin, sizeof bin, "%s/microlm", b ? b : "build/float");
    snprintf(tmp, sizeof tmp, "%s", getenv("MLM_TMP") ? getenv("MLM_TMP") : "/tmp");
    char err[1024], out[600];
    int lines;
    snprintf(out, sizeof out, "%s/good.json", tmp);
    unlink(out);
    char args[1200];
    snprintf(args, sizeof args, "trace --model block-demo --tokens 1,5,9 --json %s --keep logits", out);
    CHECK(run(args, err, sizeof err, &lines) == 0, "microlm trace on a preset exits 0");
    mlm_trace t;
    mlm_err e;
    CHECK(mlm_trace_load(&t, out, &e) == MLM_OK, "the trace it writes loads back");
    const mlm_record *r = mlm_probe_find(t.probe, "blocks.0.attn.q_rot");
    CHECK(r && r->ndim == 4 && r->shape[1] == 3 && r->norm > 0, "the trace holds blocks.0.attn.q_rot with shape and norm");
    r = mlm_probe_find(t.probe, "logits");
    CHECK(r && r->data && r->numel == 3 * 256, "--keep logits keeps the logits tensor");
    CHECK(t.T == 3 && t.tokens && t.tokens[2] == 9, "the trace records the tokens");
    mlm_trace_clear(&t);
    FILE *so;
    char sp[600], line[256];
    snprintf(sp, sizeof sp, "%s/stdout.txt", tmp);
    so = fopen(sp, "r");
    int table = 0;
    while (so && fgets(line, sizeof line, so)) table |= strstr(line, "blocks.0.attn.probs") && strstr(line, "(1, 4, 3, 3)");
    if (so) fclose(so);
    CHECK(table, "the stage table lists stages with their shapes");
    /* gradients */
    snprintf(args, sizeof args, "trace --model block-demo --tokens 1,5,9 --targets 5,9,2 --grad --json %s", out);
    CHECK(run(args, err, sizeof err, &lines) == 0, "microlm trace --targets --grad exits 0");
    CHECK(mlm_trace_load(&t, out, &e) == MLM_OK, "the gradient trace loads back");
    r = mlm_probe_find(t.probe, "loss");
    CHECK(r && r->has_value && r->value > 0, "the trace has a \"loss\" stage with its value");
    r = mlm_probe_find(t.probe, "grad.blocks.0.resid_post");
    CHECK(r && r->norm > 0 && r->ndim == 3, "grad.blocks.0.resid_post is recorded with its norm");
    r = mlm_probe_find(t.probe, "grad.blocks.0.attn.wq");
    CHECK(r && r->norm > 0 && r->shape[0] == 64, "weight gradients are recorded as grad.<weight name>");
    CHECK(t.targets && t.targets[0] == 5, "the trace records the targets");
    mlm_trace_clear(&t);
    bad("trace --model block-demo --tokens 1,5,9 --targets 5,9", 2, "--targets", "targets shorter than the tokens: exit 2, no file");
    bad("trace --model block-demo --tokens 1,5,9 --grad", 2, "--targets", "--grad without --targets: exit 2, no file");
    bad("trace --model block-demo --tokens 1,5,9 --targets 5,9,256 --grad", 1, "256", "a target outside the vocabulary: exit 1, no file");
    /* a checkpoint as MODEL */
    mlm_config c = *mlm_preset_find("block-demo");
    c.n_layers = 1;
    mlm_model *m = mlm_model_new(&c, &e);
    mlm_model_init(m, NULL);
    char ck[600];
    snprintf(ck, sizeof ck, "%s/cli.bin", tmp);
    mlm_llama2c_save(m, ck, &e);
    mlm_model_free(m);
    snprintf(args, sizeof args, "trace --model %s --tokens 0,1 --quiet", ck);
    CHECK(run(args, err, sizeof err, &lines) == 0, "microlm trace on a llama2.c checkpoint exits 0");
    CHECK(run("models", err, sizeof err, &lines) == 0, "microlm models exits 0");
    /* bad usage: exit 2; bad input: exit 1; one line; no file */
    CHECK(run("", err, sizeof err, &lines) == 2, "no command exits 2");
    bad("trace --tokens 1,2", 2, "--model", "missing --model: one-line error, exit 2, no file");
    bad("trace --model block-demo", 2, "--tokens", "missing --tokens: one-line error, exit 2, no file");
    bad("trace --model block-demo --tokens 1,x", 2, "1,x", "malformed --tokens: one-line error, exit 2, no file");
    bad("trace --model block-demo --tokens 1,,2", 2, "--tokens", "empty list item: one-line error, exit 2, no file");
    bad("trace --model block-demo --tokens 1,2 --frobnicate", 2, "--frobnicate", "unknown flag: one-line error, exit 2, no file");
    bad("trace --model block-demo --tokens 1,2 --seed -3", 2, "--seed", "negative seed: one-line error, exit 2, no file");
    bad("trace --model block-demo --tokens 1,2 --positions 1", 2, "--positions", "positions of the wrong length: exit 2, no file");
    bad("trace --model no-such-model --tokens 1,2", 1, "no-such-model", "unknown model: one-line error naming it, exit 1, no file");
    bad("trace --model block-demo --tokens 1,256", 1, "token 256", "token outside the vocabulary: exit 1, no file");
    bad("trace --model block-demo --tokens 1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,33", 1,
        "max_seq_len", "more tokens than max_seq_len: exit 1, no file");
    snprintf(args, sizeof args, "trace --model %s/missing.bin --tokens 1", tmp);
    bad(args, 1, "missing.bin", "missing checkpoint file: exit 1, no file");
    snprintf(args, sizeof args, "%s/trunc.bin", tmp);
    FILE *f = fopen(args, "wb");
    fwrite("\x40\0\0\0\xac\0\0", 1, 7, f);
    fclose(f);
    snprintf(args, sizeof args, "trace --model %s/trunc.bin --tokens 1", tmp);
    bad(args, 1, "trunc.bin", "truncated checkpoint: exit 1, no file");
    bad("frobnicate", 2, "frobnicate", "unknown command: exit 2");
    return check_done();
}
