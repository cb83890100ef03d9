/* test_tokenizer.c - tokenizers built by the project in every format (llama2.c tokenizer.bin,
 * HF tokenizer.json SentencePiece-style and byte-level, the byte fallback): round trips, the
 * documented encodings of tricky strings (spaces, UTF-8 of 1-4 bytes, bytes not in the
 * vocabulary), llama2.c and HF agreeing on the same vocabulary, labels, malformed files. */
#include "check.h"
#include "fixtures.h"
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *tricky[] = {
    "", " ", "  leading", "trailing  ", "hello world", "The theatre of the world", "\n\ttabs\nand newlines\n",
    "caf\xc3\xa9", "na\xc3\xafve \xe2\x82\xac" "5", "\xe4\xb8\xad\xe6\x96\x87", "\xf0\x9f\x98\x80 emoji", "x\x01y\x7f",
    "123 4567", "don't you're", "\xff\xfe invalid", "a  b   c", "hello  world"};
enum { NT = sizeof tricky / sizeof tricky[0] };

/* Encodes s and compares the vocabulary strings of the ids with want ("|"-separated). */
static void expect(const mlm_tokenizer *t, const char *s, int bos, const char *want, const char *what) {
    int *ids, n;
    mlm_err e;
    char got[1024] = "";
    if (mlm_tokenizer_encode(t, s, strlen(s), bos, &ids, &n, &e)) { CHECK(0, what); return; }
    for (int i = 0; i < n; i++) {
        if (i) strcat(got, "|");
        strncat(got, mlm_tokenizer_token(t, ids[i]), sizeof got - strlen(got) - 8);
    }
    int ok = !strcmp(got, want);
    if (!ok) printf("  got  '%s'\n  want '%s'\n", got, want);
    CHECK(ok, what);
    free(ids);
}

static void roundtrips(const mlm_tokenizer *t, const char *name, int skip_specials) {
    int all = 1, in_range = 1;
    for (int bos = 0; bos < 2; bos++)
        for (int i = 0; i < NT; i++) {
            (void)skip_specials;
            int *ids, n;
            mlm_err e;
            if (mlm_tokenizer_encode(t, tricky[i], strlen(tricky[i]), bos, &ids, &n, &e)) { all = 0; continue; }
            for (int k = 0; k < n; k++) in_range &= ids[k] >= 0 && ids[k] < mlm_tokenizer_vocab_size(t);
            size_t len;
            char *d = mlm_tokenizer_decode(t, ids, n, &len);
            int ok = d && len == strlen(tricky[i]) && !memcmp(d, tricky[i], len);
            if (!ok) printf("  %s: '%s' -> '%s'\n", name, tricky[i], d ? d : "(null)");
            all &= ok;
            free(d);
            free(ids);
        }
    char what[160];
    snprintf(what, sizeof what, "%s: decode(encode(s)) == s for %d tricky strings, with and without BOS", name, NT);
    CHECK(all, what);
    snprintf(what, sizeof what, "%s: every id is inside the vocabulary", name);
    CHECK(in_range, what);
}

/* Prints the table docs/tokenizers.md shows. */
static void table(const mlm_tokenizer *t, const char *name) {
    printf("  -- %s\n", name);
    for (int i = 0; i < NT; i++) {
        int *ids, n;
        mlm_err e;
        if (mlm_tokenizer_encode(t, tricky[i], strlen(tricky[i]), 0, &ids, &n, &e)) continue;
        printf("  %-2d [", i);
        for (int k = 0; k < n; k++) {
            char lab[64];
            mlm_tokenizer_label(t, ids[k], lab, sizeof lab);
            printf("%s'%s'", k ? " " : "", lab);
        }
        printf("]\n");
        free(ids);
    }
}

static void write_text(const char *path, const char *s) {
    FILE *f = fopen(path, "w");
    if (f) { fputs(s, f); fclose(f); }
}

static void bad_file(const char *name, const char *content, size_t len, const char *needle, const char *what) {
    char p[600];
    fx_path(p, sizeof p, name);
    FILE *f = fopen(p, "wb");
    if (f) { fwrite(content, 1, len, f); fclose(f); }
    mlm_err e = {{0}};
    mlm_tokenizer *t = mlm_tokenizer_load(p, &e);
    int ok = !t && strstr(e.msg, needle) && strstr(e.msg, name) && !strchr(e.msg, '\n');
    if (!ok) printf("  message: %s\n", e.msg);
    CHECK(ok, what);
    mlm_tokenizer_free(t);
}

#define SP "\xe2\x96\x81"
#define G "\xc4\xa0"

int main(void) {
    char pb[700], ps[600], pl[600], dir[600];
    fx_dir(dir, sizeof dir, "tokdir");
    snprintf(pb, sizeof pb, "%s/tokenizer.bin", dir);
    fx_path(ps, sizeof ps, "spm.json");
    fx_path(pl, sizeof pl, "bytelevel.json");
    CHECK(fx_write_llama2c_tokenizer(pb) == 0 && fx_write_hf_spm_tokenizer(ps) == 0 && fx_write_hf_bytelevel_tokenizer(pl) == 0,
          "fixture tokenizers are written");
    mlm_err e;
    mlm_tokenizer *tb = mlm_tokenizer_load(pb, &e);
    if (!tb) printf("  %s\n", e.msg);
    mlm_tokenizer *ts = mlm_tokenizer_load(ps, &e);
    if (!ts) printf("  %s\n", e.msg);
    mlm_tokenizer *tl = mlm_tokenizer_load(pl, &e);
    if (!tl) printf("  %s\n", e.msg);
    mlm_tokenizer *ty = mlm_tokenizer_bytes();
    CHECK(tb && ts && tl && ty, "all four load");
    if (!tb || !ts || !tl || !ty) return check_done();
    CHECK(mlm_tokenizer_kind_of(tb) == MLM_TOK_LLAMA2C && mlm_tokenizer_kind_of(ts) == MLM_TOK_HF_SPM &&
              mlm_tokenizer_kind_of(tl) == MLM_TOK_HF_BYTELEVEL && mlm_tokenizer_kind_of(ty) == MLM_TOK_BYTES,
          "kinds are detected");
    CHECK(mlm_tokenizer_vocab_size(tb) == fx_spm_vocab_size() && mlm_tokenizer_vocab_size(ts) == fx_spm_vocab_size() &&
              mlm_tokenizer_vocab_size(tl) == fx_bytelevel_vocab_size() && mlm_tokenizer_vocab_size(ty) == 256,
          "vocabulary sizes");
    CHECK(mlm_tokenizer_bos(tb) == 1 && mlm_tokenizer_eos(tb) == 2 && mlm_tokenizer_bos(ts) == 1 && mlm_tokenizer_eos(ts) == 2 &&
              mlm_tokenizer_bos(tl) == -1 && mlm_tokenizer_eos(tl) == 0 && mlm_tokenizer_bos(ty) == -1,
          "BOS / EOS ids (llama2.c 1/2, TemplateProcessing <s>, byte-level <|endoftext|>, bytes none)");

    roundtrips(tb, "llama2.c", 0);
    roundtrips(ts, "HF SentencePiece-style", 1);
    roundtrips(tl, "HF byte-level", 1);
    roundtrips(ty, "bytes", 0);

    /* the documented encodings (docs/tokenizers.md) */
    expect(ts, "", 0, "", "spm: the empty string gives no tokens (no prefix)");
    expect(ts, "", 1, "<s>", "spm: the empty string with BOS gives <s>");
    expect(ts, "hello world", 1, "<s>|" SP "hello|" SP "world", "spm: 'hello world' -> <s> _hello _world");
    expect(ts, " ", 0, SP SP, "spm: one space -> the prefix and the space merged");
    expect(ts, "hello  world", 0, SP "hello|" SP "|" SP "world", "spm: two spaces -> _hello _ _world");
    expect(ts, "The theatre", 0, SP "|T|he|" SP "the|a|t|r|e", "spm: 'The theatre' (T stays, 'he' merges)");
    expect(ts, "caf\xc3\xa9", 0, SP "caf\xc3\xa9", "spm: 2-byte UTF-8 in the vocabulary: _café is one token");
    expect(ts, "\xe4\xb8\xad", 0, SP "|<0xE4>|<0xB8>|<0xAD>", "spm: 3-byte char not in the vocabulary -> 3 byte tokens");
    expect(ts, "\xf0\x9f\x98\x80", 0, SP "|<0xF0>|<0x9F>|<0x98>|<0x80>", "spm: 4-byte emoji -> 4 byte tokens");
    expect(ts, "z\xff", 0, SP "|<0x7A>|<0xFF>", "spm: ASCII not in the vocabulary and an invalid byte -> byte tokens");
    expect(ts, "<s>hi", 0, "<s>|" SP "|h|i", "spm: a literal <s> in the text is the special token");
    expect(tl, "hello world", 0, "hello|" G "world", "byte-level: 'hello world' -> hello Gworld");
    expect(tl, "The 12", 0, "T|he|" G "|1|2", "byte-level: digits split one by one (the '12' merge never applies)");
    expect(tl, "  two", 0, G "|" G "t|w|o", "byte-level: two spaces before a word -> G Gt w o");
    expect(tl, "he's", 0, "he|'s", "byte-level: the contraction 's is its own piece");
    expect(tl, "caf\xc3\xa9", 0, "ca|f|\xc3\x83\xc2\xa9", "byte-level: é is the two byte chars, merged");
    expect(tl, "\xe4\xb8\xad", 0, "\xc3\xa4|\xc2\xb8|\xc5\x83", "byte-level: a 3-byte char -> 3 byte chars (0xAD maps to U+0143)");
    expect(tl, "<|endoftext|>hi", 0, "<|endoftext|>|h|i", "byte-level: the special token is matched in raw text");
    expect(tl, "a\n\nb", 0, "a|\xc4\x8a|\xc4\x8a|b", "byte-level: a newline run before a word leaves its last newline apart");
    expect(tb, "hello world", 1, "\n<s>\n| hello| world", "llama2.c: BOS, dummy prefix, merges by score");
    expect(tb, "\xe4\xb8\xad", 0, " |<0xE4>|<0xB8>|<0xAD>", "llama2.c: byte fallback");
    expect(ty, "h\xc3\xa9", 0, "h|\xc3|\xa9", "bytes: one id per byte");

    /* llama2.c (best score) and HF (rank) agree on the same vocabulary */
    int same = 1;
    for (int i = 0; i < NT; i++) {
        int *a, na, *b, nb;
        mlm_tokenizer_encode(tb, tricky[i], strlen(tricky[i]), 1, &a, &na, &e);
        mlm_tokenizer_encode(ts, tricky[i], strlen(tricky[i]), 1, &b, &nb, &e);
        if (na != nb || memcmp(a, b, sizeof(int) * (size_t)na)) { same = 0; printf("  differ on '%s'\n", tricky[i]); }
        free(a);
        free(b);
    }
    CHECK(same, "llama2.c tokenizer.bin and HF tokenizer.json of one vocabulary give the same ids");

    /* pieces, streaming decode and labels */
    int id_hello = -1;
    for (int i = 0; i < mlm_tokenizer_vocab_size(ts); i++)
        if (!strcmp(mlm_tokenizer_token(ts, i), SP "hello")) id_hello = i;
    size_t len;
    const char *p = mlm_tokenizer_piece(ts, id_hello, &len);
    CHECK(p && len == 6 && !memcmp(p, " hello", 6), "piece of _hello is ' hello'");
    p = mlm_tokenizer_decode_next(ts, 1, id_hello, &len);
    CHECK(len == 5 && !memcmp(p, "hello", 5), "after BOS the leading space is dropped");
    p = mlm_tokenizer_decode_next(ts, id_hello, id_hello, &len);
    CHECK(len == 6, "inside the text it is kept");
    p = mlm_tokenizer_piece(ts, 3 + 0x0a, &len);
    CHECK(p && len == 1 && p[0] == '\n', "byte token <0x0A> decodes to a newline");
    p = mlm_tokenizer_piece(ts, 3, &len);
    CHECK(p && len == 1 && p[0] == '\0', "byte token <0x00> decodes to one NUL byte");
    char lab[64];
    mlm_tokenizer_label(ts, 3 + 0x0a, lab, sizeof lab);
    CHECK(!strcmp(lab, "<0x0A>"), "label of a newline byte is <0x0A>");
    mlm_tokenizer_label(ts, id_hello, lab, sizeof lab);
    CHECK(!strcmp(lab, " hello"), "label of _hello is ' hello'");
    mlm_tokenizer_label(tb, 1, lab, sizeof lab);
    CHECK(!strcmp(lab, "<s>"), "label of llama2.c's BOS is <s>");
    mlm_tokenizer_label(ts, 3 + 0xe4, lab, sizeof lab);
    CHECK(!strcmp(lab, "<0xE4>"), "label of a lone UTF-8 lead byte is <0xE4>");
    mlm_tokenizer_label(tl, 0, lab, 4);
    CHECK(strlen(lab) <= 3, "labels respect the buffer size");
    CHECK(mlm_tokenizer_piece(ts, -1, &len) == NULL && mlm_tokenizer_piece(ts, 1 << 20, &len) == NULL,
          "ids outside the vocabulary give NULL");
    table(tb, "llama2.c tokenizer.bin fixture");
    table(ts, "HF SentencePiece-style fixture");
    table(tl, "HF byte-level fixture");

    /* found next to a model; a directory means its tokenizer */
    char found[700], model[700];
    snprintf(model, sizeof model, "%s/model.bin", dir);
    write_text(model, "x");
    CHECK(mlm_tokenizer_find(model, found, sizeof found) && !strcmp(found, pb), "tokenizer.bin next to a .bin model is found");
    CHECK(mlm_tokenizer_find(dir, found, sizeof found) && !strcmp(found, pb), "a model directory's tokenizer is found");
    CHECK(!mlm_tokenizer_find("stories15m", found, sizeof found), "a preset has no tokenizer");
    mlm_tokenizer *td = mlm_tokenizer_load(dir, &e);
    CHECK(td && mlm_tokenizer_kind_of(td) == MLM_TOK_LLAMA2C, "loading a directory loads its tokenizer");
    mlm_tokenizer_free(td);

    /* malformed files: one line naming the file */
    bad_file("t1.bin", "\x01\x00", 2, "4-byte", "tokenizer.bin shorter than its header");
    bad_file("t2.bin", "\x00\x00\x00\x80", 4, "max_token_length", "negative max_token_length");
    bad_file("t3.bin", "\x04\x00\x00\x00\x00\x00\x80\x3f\x09\x00\x00\x00" "abcdefghi", 21, "length 9", "a token longer than max_token_length");
    bad_file("t4.bin", "\x04\x00\x00\x00\x00\x00\x80\x3f\x03\x00\x00\x00" "ab", 14, "truncated", "a truncated token");
    bad_file("t5.bin", "\x04\x00\x00\x00\x00\x00\xc0\x7f\x01\x00\x00\x00" "a", 13, "NaN", "a NaN score");
    bad_file("t1.json", "{", 1, "JSON", "tokenizer.json that is not JSON");
    const char *uni = "{\"model\":{\"type\":\"Unigram\",\"vocab\":[]}}";
    bad_file("t2.json", uni, strlen(uni), "Unigram", "a Unigram model is refused");
    const char *l3 = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"pre_tokenizer\":{\"type\":\"Sequence\","
                     "\"pretokenizers\":[{\"type\":\"Split\",\"pattern\":{\"Regex\":\"x\"}},{\"type\":\"ByteLevel\"}]}}";
    bad_file("t3.json", l3, strlen(l3), "Llama 3", "Llama 3's regex pre-tokenizer is refused, saying so");
    const char *bm = "{\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"vocab\":{\"a\":0,\"b\":1},\"merges\":[\"a c\"]}}";
    bad_file("t4.json", bm, strlen(bm), "merge 0", "a merge of a token not in the vocabulary");
    const char *dup = "{\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"vocab\":{\"a\":0,\"b\":0},\"merges\":[]}}";
    bad_file("t5.json", dup, strlen(dup), "id 0", "two tokens with one id");
    const char *neg = "{\"model\":{\"type\":\"BPE\",\"byte_fallback\":true,\"vocab\":{\"a\":-1},\"merges\":[]}}";
    bad_file("t6.json", neg, strlen(neg), "valid id", "a negative id");
    const char *nk = "{\"model\":{\"type\":\"BPE\",\"vocab\":{\"a\":0},\"merges\":[]},\"normalizer\":{\"type\":\"Lowercase\"}}";
    bad_file("t7.json", nk, strlen(nk), "Lowercase", "an unsupported normalizer is named");
    mlm_err e2 = {{0}};
    CHECK(mlm_tokenizer_load("/nonexistent/tok.json", &e2) == NULL && strstr(e2.msg, "/nonexistent/tok.json"), "a missing file");
    mlm_tokenizer_free(NULL);

    mlm_tokenizer_free(tb);
    mlm_tokenizer_free(ts);
    mlm_tokenizer_free(tl);
    mlm_tokenizer_free(ty);
    return check_done();
}
