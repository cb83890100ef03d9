/* tokenizer_internal.h - the tokenizer's private structure, shared by tokenizer.c (common
 * parts, llama2.c, bytes) and tokenizer_hf.c (tokenizer.json). Not installed for users. */
#ifndef MLM_TOKENIZER_INTERNAL_H
#define MLM_TOKENIZER_INTERNAL_H
#include "tokenizer.h"

typedef struct { uint64_t key; int rank, id; } mlm_tok_pair;   /* key = a << 32 | b */

struct mlm_tokenizer {
    mlm_tokenizer_kind kind;
    int n;                       /* vocab size */
    char **tok;                  /* (n) vocabulary strings, NUL-terminated (owned) */
    int *tok_len;                /* (n) their lengths */
    float *score;                /* (n) llama2.c merge scores, or NULL */
    char **piece;                /* (n) decoded bytes (owned) */
    int *piece_len;
    unsigned char *special;      /* (n) 1: control / special token (no text) */
    int *str_slots;              /* hash of vocabulary strings -> id, -1 empty */
    uint64_t str_cap;
    mlm_tok_pair *pairs;         /* hash of merges (HF), key 0 + id -1 empty */
    uint64_t pair_cap;
    int bos, eos, unk;
    int byte_id[256];            /* token of each byte: <0xXX> or the byte-level char; -1 none */
    int *added;                  /* ids of added tokens matched in raw text before BPE */
    int n_added;
    /* SentencePiece-style options */
    int spm_prefix;              /* prepend "\u2581" (1 every segment, 2 only the first) */
    int spm_split;               /* Metaspace split: one BPE word per "\u2581"-started word */
    /* byte-level options */
    int bl_prefix_space, bl_regex, digits;   /* digits: 0 none, 1 runs isolated, 2 individual */
    int byte_fallback;           /* HF BPE: characters missing from the vocabulary become <0xXX> */
    int ignore_merges;           /* HF BPE: a word found whole in the vocabulary is one token */
    char empty[1];
};

/* Builds the string hash and the decoded pieces once t->n, tok, tok_len, special and kind
 * are set. */
mlm_status mlm_tok_finish(mlm_tokenizer *t, const char *where, mlm_err *e);
/* Id of the len-byte string s, or -1. */
int mlm_tok_lookup(const mlm_tokenizer *t, const char *s, size_t len);
/* Allocates the per-token arrays for n tokens (zeroed). */
mlm_status mlm_tok_alloc(mlm_tokenizer *t, int n, const char *where, mlm_err *e);
/* Loads Hugging Face tokenizer.json text (tokenizer_hf.c). */
mlm_tokenizer *mlm_tok_load_hf(const char *json, size_t len, const char *where, mlm_err *e);
/* Encodes one added-token-free segment for the HF kinds, appending to ids (tokenizer_hf.c). */
mlm_status mlm_tok_encode_hf(const mlm_tokenizer *t, const unsigned char *s, size_t len, int first, int **ids, int *n,
                             int *cap, mlm_err *e);
/* Allocates the merge hash for n merges. */
mlm_status mlm_tok_pairs_alloc(mlm_tokenizer *t, int n);
/* Adds merge (a, b) -> id with rank; an existing pair keeps its lower rank. */
void mlm_tok_pair_add(mlm_tokenizer *t, int a, int b, int rank, int id);
/* Appends id to a growing array; -1 when out of memory. */
int mlm_tok_push(int **ids, int *n, int *cap, int id);
/* Length of the UTF-8 character at s (1..4; 1 for an invalid or truncated byte). */
int mlm_utf8_len(const unsigned char *s, size_t avail);
/* Applies BPE merges to sym (n symbols) in place: repeatedly the lowest-rank pair, leftmost
 * first; returns the new count. */
int mlm_tok_bpe_merge(const mlm_tokenizer *t, int *sym, int n);

#endif
