/* tokenizer.h - text <-> token ids for the models the lab opens: llama2.c's tokenizer.bin
 * (BPE merging the best-scoring pair), a byte-level fallback (vocab 256, id = byte), and
 * Hugging Face tokenizer.json for the two BPE kinds of the Llama family: SentencePiece-style
 * with byte fallback (Llama 2, TinyLlama) and byte-level (GPT-2 style, SmolLM2). Llama 3's
 * regex pre-tokenizer is not supported. Details and the documented encodings of tricky
 * strings: docs/tokenizers.md. */
#ifndef MLM_TOKENIZER_H
#define MLM_TOKENIZER_H
#include "common.h"

typedef enum {
    MLM_TOK_BYTES = 0,     /* id = byte value, vocab 256, no BOS */
    MLM_TOK_LLAMA2C = 1,   /* llama2.c tokenizer.bin */
    MLM_TOK_HF_SPM = 2,    /* tokenizer.json: BPE with "\u2581" for spaces and <0xXX> byte fallback */
    MLM_TOK_HF_BYTELEVEL = 3 /* tokenizer.json: byte-level BPE (bytes mapped to printable chars) */
} mlm_tokenizer_kind;

typedef struct mlm_tokenizer mlm_tokenizer;

/* Loads a tokenizer: a file ending in .json is Hugging Face tokenizer.json, anything else a
 * llama2.c tokenizer.bin; a directory means its tokenizer.json or tokenizer.bin. Every
 * length, id and merge is checked. Caller frees with mlm_tokenizer_free. NULL and one line
 * in e on error. */
mlm_tokenizer *mlm_tokenizer_load(const char *path, mlm_err *e);

/* The byte-level fallback tokenizer (vocab 256). NULL only when out of memory. */
mlm_tokenizer *mlm_tokenizer_bytes(void);

void mlm_tokenizer_free(mlm_tokenizer *t);   /* NULL is a no-op */

mlm_tokenizer_kind mlm_tokenizer_kind_of(const mlm_tokenizer *t);
const char *mlm_tokenizer_kind_name(mlm_tokenizer_kind k);  /* "bytes", "llama2.c", ... */
int mlm_tokenizer_vocab_size(const mlm_tokenizer *t);
int mlm_tokenizer_bos(const mlm_tokenizer *t);   /* BOS id, -1 when the tokenizer has none */
int mlm_tokenizer_eos(const mlm_tokenizer *t);   /* EOS id, -1 when none */

/* Encodes len bytes of text (any bytes; invalid UTF-8 goes through byte fallback) into a
 * malloc'd array *ids of *n ids (caller frees; *ids non-NULL even when *n is 0). add_bos
 * prepends the BOS id when the tokenizer has one. Ids are in [0, vocab_size). */
mlm_status mlm_tokenizer_encode(const mlm_tokenizer *t, const char *text, size_t len, int add_bos, int **ids, int *n,
                                mlm_err *e);

/* The token's string as stored in the vocabulary (e.g. "\u2581the", "<0x0A>", "Gthe" with
 * G = U+0120); NULL when id is out of range. Owned by t. */
const char *mlm_tokenizer_token(const mlm_tokenizer *t, int id);

/* The bytes the token stands for in text (spaces restored, byte tokens as their byte,
 * byte-level chars mapped back); *len receives the length (a piece may hold a NUL byte).
 * NULL when id is out of range. Owned by t. */
const char *mlm_tokenizer_piece(const mlm_tokenizer *t, int id, size_t *len);

/* Streaming decode: the bytes to print for id following prev (-1 at the start). The leading
 * space SentencePiece-style tokenizers add is dropped at the start and after BOS; special
 * tokens (BOS, EOS, added special tokens) give "". Owned by t. */
const char *mlm_tokenizer_decode_next(const mlm_tokenizer *t, int prev, int id, size_t *len);

/* The text of ids: the decode_next pieces concatenated. malloc'd and NUL-terminated; *len
 * (may be NULL) excludes the NUL. decode(encode(s)) == s for every tokenizer here (see
 * docs/tokenizers.md for the exact conditions). NULL when out of memory. */
char *mlm_tokenizer_decode(const mlm_tokenizer *t, const int *ids, int n, size_t *len);

/* A printable label for axes: the piece when it is valid UTF-8 without control characters,
 * else with each offending byte written <0xXX>; special tokens as their vocabulary text
 * ("<s>"). Always NUL-terminated in buf (cap >= 1). */
void mlm_tokenizer_label(const mlm_tokenizer *t, int id, char *buf, size_t cap);

/* Writes a llama2.c tokenizer.bin: int32 max_token_length, then per token float32 score,
 * int32 length, bytes. Written atomically. */
mlm_status mlm_tokenizer_save_llama2c(const char *path, const char *const *tokens, const float *scores, int n,
                                      mlm_err *e);

/* The tokenizer that goes with a MODEL argument: tokenizer.json or tokenizer.bin in the model
 * directory (or in the directory of a model file). Writes the path into buf and returns 1,
 * or 0 when there is none. */
int mlm_tokenizer_find(const char *model, char *buf, size_t cap);

#endif
