/* fuzz_tokenizer_bin.c - libFuzzer target for llama2.c tokenizer.bin (mlm_tokenizer_load on a
 * file on tmpfs; the loader reads paths). A refusal is one line naming the file; a tokenizer
 * that loads answers every id and encodes / decodes texts with ids inside its vocabulary. */
#include "tokenizer.h"
#include "fuzz/fuzz_tok.h"

#include <stdio.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char path[256];
    if (!path[0]) {
        const char *dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
        snprintf(path, sizeof path, "%s/mlm_fuzz_tokenizer.%ld.bin", dir, (long)getpid());
    }
    unlink(path);
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(data, 1, size, f) == size;
    if (fclose(f) != 0 || !ok) return 0;
    mlm_err e = {{0}};
    mlm_tokenizer *t = mlm_tokenizer_load(path, &e);
    if (!t) fz_check_message(&e, "mlm_fuzz_tokenizer");
    else fz_tok_exercise(t, data, size);
    mlm_tokenizer_free(t);
    unlink(path);
    return 0;
}
