/* fuzz_tok.h - what the tokenizer fuzz targets do with a tokenizer that loaded: every id's
 * token, piece and label, and encode / decode of fixed texts and of the input's own bytes,
 * checking that every id produced is inside the vocabulary. Header-only (static). */
#ifndef MLM_FUZZ_TOK_H
#define MLM_FUZZ_TOK_H
#include "tokenizer.h"
#include "fuzz/fuzz_util.h"

#include <stdlib.h>
#include <string.h>

static inline void fz_tok_exercise(const mlm_tokenizer *t, const uint8_t *data, size_t size) {
    int V = mlm_tokenizer_vocab_size(t);
    if (V <= 0) fz_die("loaded tokenizer with no vocabulary", NULL);
    char label[64];
    for (int id = 0; id < V && id < 4096; id++) {
        size_t len;
        if (!mlm_tokenizer_token(t, id) || !mlm_tokenizer_piece(t, id, &len)) fz_die("an id in range has no token", NULL);
        mlm_tokenizer_label(t, id, label, sizeof label);
        if (strlen(label) >= sizeof label) fz_die("label overflow", NULL);
    }
    if (mlm_tokenizer_token(t, V) || mlm_tokenizer_token(t, -1)) fz_die("an id out of range has a token", NULL);
    const char *texts[] = {"", "Hello world", " leading  spaces\n\ttabs", "caf\xc3\xa9 \xe2\x96\x81 \xf0\x9f\x98\x80",
                           "\xff\xfe bad utf8 \xc3", "12345 67"};
    for (size_t k = 0; k < sizeof texts / sizeof texts[0] + 1; k++) {
        const char *s = k < sizeof texts / sizeof texts[0] ? texts[k] : (const char *)data;
        size_t n = k < sizeof texts / sizeof texts[0] ? strlen(s) : (size < 64 ? size : 64);
        int *ids = NULL, m = 0;
        mlm_err e = {{0}};
        if (mlm_tokenizer_encode(t, s, n, 1, &ids, &m, &e) != MLM_OK) {
            free(ids);
            continue;
        }
        for (int i = 0; i < m; i++)
            if (ids[i] < 0 || ids[i] >= V) fz_die("encode produced an id outside the vocabulary", NULL);
        size_t dl;
        char *txt = mlm_tokenizer_decode(t, ids, m, &dl);
        free(txt);
        free(ids);
    }
}

#endif
