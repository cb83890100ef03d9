/* main.c - the `microlm` command-line tool: dispatches to one subcommand per file. */
#include "commands.h"

#include <stdio.h>
#include <string.h>

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command;

static const command commands[] = {
    {"trace", mlm_cmd_trace, "run one instrumented pass, print the stage table, write the trace JSON"},
    {"models", mlm_cmd_models, "list the presets"},
    {"generate", mlm_cmd_generate, "continue a prompt with a model and its tokenizer (KV cache, sampling)"},
    {"params", mlm_cmd_params, "parameter counts of a model, per matrix, block and component"},
    {"flops", mlm_cmd_flops, "FLOPs of a model at a sequence length, per stage and component"},
    {"memory", mlm_cmd_memory, "weight, KV-cache and activation memory"},
    {"compare", mlm_cmd_compare, "parameters and FLOPs of several models side by side"},
    {"train", mlm_cmd_train, "train a small model on a generated task; loss curve and head scores"},
};

static void usage(FILE *f) {
    fprintf(f, "usage: microlm <command> [options]   (microlm <command> --help for its options)\n\ncommands:\n");
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(f, "  %-9s %s\n", commands[i].name, commands[i].help);
}

int main(int argc, char **argv) {
    if (argc < 2) { usage(stderr); return 2; }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) { usage(stdout); return 0; }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "microlm: unknown command '%s' (run `microlm --help`)\n", argv[1]);
    return 2;
}
