/* cmd_models.c - `microlm models`: the presets with their shapes and sources. */
#include "commands.h"
#include "config.h"

#include <stdio.h>
#include <string.h>

int mlm_cmd_models(int argc, char **argv) {
    int verbose = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--verbose") || !strcmp(argv[i], "-v")) verbose = 1;
        else if (!strcmp(argv[i], "--help")) {
            printf("usage: microlm models [--verbose]\n  lists the presets usable as MODEL (shapes; --verbose adds sources)\n");
            return 0;
        } else {
            fprintf(stderr, "microlm: models: unknown option '%s'\n", argv[i]);
            return 2;
        }
    }
    printf("%-16s %6s %6s %5s %5s %6s %7s %8s %7s %5s\n", "preset", "d", "layers", "heads", "kv", "d_k", "d_ff",
           "vocab", "seq", "tied");
    for (int i = 0; i < mlm_preset_count(); i++) {
        const mlm_config *c = mlm_preset_at(i);
        printf("%-16s %6d %6d %5d %5d %6d %7d %8d %7d %5s\n", c->name, c->d_model, c->n_layers, c->n_heads,
               c->n_kv_heads, c->head_dim, c->d_ff, c->vocab_size, c->max_seq_len, c->tied ? "yes" : "no");
        if (verbose && c->source[0]) printf("    source: %s\n", c->source);
    }
    return 0;
}
