/* fixtures.h - test fixtures the project makes itself (nothing is downloaded): temporary
 * paths, tiny models, logits helpers, and small tokenizers in every supported format.
 * tests/fixtures.c is linked into every test program (the Makefile's TESTLIB_SRC). */
#ifndef MLM_FIXTURES_H
#define MLM_FIXTURES_H
#include "forward.h"
#include "model.h"

/* "$MLM_TMP/name" (or /tmp/name) into buf. */
void fx_path(char *buf, size_t cap, const char *name);
/* Creates directory $MLM_TMP/name (fine if it exists) and writes its path into buf; 0 on success. */
int fx_dir(char *buf, size_t cap, const char *name);

/* Tiny LLaMA shape: d 16, 2 layers, 4 heads of 4, kv_heads KV heads, d_ff 32, the given vocab,
 * max_seq_len 64. */
mlm_config fx_tiny_config(int tied, int kv_heads, int vocab);
/* A model of that shape with seeded random weights and norm gains 1 + 0.1 N(0,1). Caller frees. */
mlm_model *fx_tiny_model(int tied, int kv_heads, int vocab, uint64_t seed);

/* Runs the full model on tokens (T) with a RoPE layout; copies the (T, V) logits into out. */
int fx_logits(const mlm_model *m, const int *tokens, int T, mlm_rope_layout layout, mlm_real *out);
/* max |a - b| over n elements; INFINITY when a difference is NaN (so no tolerance passes it,
 * and fmax over several keeps it). */
double fx_max_diff(const mlm_real *a, const mlm_real *b, int64_t n);
/* The OpenMP thread count of the next parallel regions (no-op without OpenMP). */
void fx_set_threads(int n);

/* ---- tokenizers ---- */

/* A SentencePiece-style vocabulary for tests: <unk> <s> </s>, the 256 byte tokens <0x00>..,
 * then pieces (with "\xe2\x96\x81" for a space) with merges. Writes llama2.c tokenizer.bin to
 * path (scores: later merges lower). Returns 0 on success. */
int fx_write_llama2c_tokenizer(const char *path);
/* The same vocabulary as a Hugging Face tokenizer.json (BPE, byte_fallback, Prepend +
 * Replace normalizer, ByteFallback decoder). */
int fx_write_hf_spm_tokenizer(const char *path);
/* A byte-level BPE tokenizer.json (GPT-2 / SmolLM2 style: ByteLevel pre-tokenizer with the
 * GPT-2 split, Digits split, special token <|endoftext|>). */
int fx_write_hf_bytelevel_tokenizer(const char *path);
/* Vocabulary sizes of the three fixtures (for models that go with them). */
int fx_spm_vocab_size(void);
int fx_bytelevel_vocab_size(void);

#endif
