/* fuzz_tokenizer_json.c - libFuzzer target for Hugging Face tokenizer.json (mlm_tok_load_hf on
 * the input bytes, the loader mlm_tokenizer_load calls after reading the file). A refusal is
 * one line naming the source; a tokenizer that loads answers every id and encodes / decodes
 * texts with ids inside its vocabulary. */
#include "tokenizer_internal.h"
#include "fuzz/fuzz_tok.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mlm_err e = {{0}};
    mlm_tokenizer *t = mlm_tok_load_hf((const char *)data, size, "tokenizer 'fuzz/tokenizer.json'", &e);
    if (!t) fz_check_message(&e, "fuzz/tokenizer.json");
    else fz_tok_exercise(t, data, size);
    mlm_tokenizer_free(t);
    return 0;
}
