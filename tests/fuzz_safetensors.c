/* fuzz_safetensors.c - libFuzzer target for the safetensors header and data region
 * (mlm_st_parse on a buffer of exactly the input's length, so ASan sees any read past it).
 * A refusal is one line naming the source; for an accepted file every tensor lies inside the
 * buffer, the tensors do not overlap, and each F32 / F16 / BF16 tensor converts with
 * mlm_st_read. */
#include "safetensors.h"
#include "fuzz/fuzz_util.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    mlm_st_file f;
    mlm_err e = {{0}};
    if (mlm_st_parse(&f, data, size, "safetensors 'fuzz.safetensors'", &e) != MLM_OK) {
        fz_check_message(&e, "fuzz.safetensors");
        if (f.n != 0 || f.tensors) fz_die("refused file not left empty", &e);
        return 0;
    }
    for (int i = 0; i < f.n; i++) {
        const mlm_st_tensor *t = &f.tensors[i];
        uint64_t bytes = t->end - t->begin;
        if (t->data < data || t->data + bytes > data + size) fz_die("tensor outside the buffer", NULL);
        if (mlm_st_find(&f, t->name) != t) fz_die("duplicate tensor name accepted", NULL);
        for (int j = 0; j < f.n; j++)
            if (j != i && bytes > 0 && f.tensors[j].end > f.tensors[j].begin && t->begin < f.tensors[j].end &&
                f.tensors[j].begin < t->end)
                fz_die("overlapping tensors accepted", NULL);
        if (t->dtype == MLM_ST_F32 || t->dtype == MLM_ST_F16 || t->dtype == MLM_ST_BF16) {
            mlm_real *dst = malloc((size_t)(t->numel ? t->numel : 1) * sizeof(mlm_real));
            if (!dst) continue;
            if (mlm_st_read(dst, t, 0, t->numel, &e) != MLM_OK) fz_die("accepted tensor does not read", &e);
            free(dst);
        }
    }
    mlm_st_close(&f);
    return 0;
}
