/* fixtures.c - shared test fixtures: temp paths, tiny models, logits helpers, tokenizer
 * files in llama2.c and Hugging Face formats (see fixtures.h). */
#include "fixtures.h"
#include "rng.h"
#include "tokenizer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef _OPENMP
#include <omp.h>
#endif

void fx_path(char *buf, size_t cap, const char *name) {
    const char *t = getenv("MLM_TMP");
    snprintf(buf, cap, "%s/%s", t && *t ? t : "/tmp", name);
}

int fx_dir(char *buf, size_t cap, const char *name) {
    fx_path(buf, cap, name);
    return mkdir(buf, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

mlm_config fx_tiny_config(int tied, int kv_heads, int vocab) {
    mlm_config c;
    mlm_config_default(&c);
    snprintf(c.name, sizeof c.name, "tiny");
    c.d_model = 16;
    c.n_layers = 2;
    c.n_heads = 4;
    c.n_kv_heads = kv_heads;
    c.head_dim = 4;
    c.d_ff = 32;
    c.vocab_size = vocab;
    c.max_seq_len = 64;
    c.rope_theta = 10000.0;
    c.norm_eps = 1e-5;
    c.tied = tied;
    c.norm_pos = MLM_PRENORM;
    c.ffn = MLM_FFN_SWIGLU;
    c.sliding_window = 0;
    return c;
}

mlm_model *fx_tiny_model(int tied, int kv_heads, int vocab, uint64_t seed) {
    mlm_config c = fx_tiny_config(tied, kv_heads, vocab);
    mlm_err e;
    mlm_model *m = mlm_model_new(&c, &e);
    if (!m) { printf("  fixture: %s\n", e.msg); return NULL; }
    mlm_init_opts o = {seed, 0};
    mlm_model_init(m, &o);
    mlm_rng r;
    mlm_rng_seed(&r, seed + 1000);
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].is_norm)
            for (int64_t j = 0; j < m->tensors[i].numel; j++)
                m->mem[m->tensors[i].offset + j] = (mlm_real)(1.0 + 0.1 * mlm_rng_normal(&r));
    return m;
}

int fx_logits(const mlm_model *m, const int *tokens, int T, mlm_rope_layout layout, mlm_real *out) {
    mlm_err e;
    mlm_acts *a = mlm_acts_new(&m->cfg, 1, T, 0, &e);
    if (!a) return -1;
    mlm_fwd_opts o = {0};
    o.rope_layout = layout;
    int rc = mlm_forward(m, a, tokens, 1, T, &o, NULL, &e) ? -1 : 0;
    if (!rc) memcpy(out, a->logits, sizeof(mlm_real) * (size_t)T * (size_t)m->cfg.vocab_size);
    else printf("  fixture forward: %s\n", e.msg);
    mlm_acts_free(a);
    return rc;
}

double fx_max_diff(const mlm_real *a, const mlm_real *b, int64_t n) {
    double w = 0;
    for (int64_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - (double)b[i]);
        if (d > w || isnan(d)) w = isnan(d) ? INFINITY : d;
    }
    return w;
}

/* ---- tokenizer fixtures ------------------------------------------------------------------- */

#define SP "\xe2\x96\x81" /* U+2581 */

/* base characters of the SentencePiece-style fixture (after <unk> <s> </s> and 256 bytes) */
static const char *spm_chars[] = {SP, "e", "t", "a", "o", "i", "n", "s", "h", "r", "d", "l", "u", "c", "w", "m", "f",
                                  "g", "y", "p", "b", "v", "k", "T", "H", "W", "\xc3\xa9", "'", ".", ",", "!", "1", "2", "3"};
/* merges in rank order; every vocabulary string splits into two vocabulary strings only by
 * its own merge, so llama2.c's best-score rule and HF's rank rule agree */
static const char *spm_merges[][2] = {
    {SP, "t"}, {"h", "e"}, {SP "t", "he"}, {SP, "a"}, {"i", "n"}, {"e", "r"}, {SP, "w"}, {"o", "r"}, {"l", "d"},
    {SP "w", "or"}, {SP "wor", "ld"}, {"l", "l"}, {"he", "ll"}, {"hell", "o"}, {SP, "hello"}, {SP, "c"}, {"a", "f"},
    {SP "c", "af"}, {SP "caf", "\xc3\xa9"}, {SP, SP}, {SP SP, SP SP}};
enum { SPM_NC = sizeof spm_chars / sizeof spm_chars[0], SPM_NM = sizeof spm_merges / sizeof spm_merges[0] };

int fx_spm_vocab_size(void) { return 3 + 256 + SPM_NC + SPM_NM; }

/* Vocabulary string i of the SPM fixture (into buf). */
static const char *spm_token(int i, char *buf, size_t cap) {
    if (i == 0) return "<unk>";
    if (i == 1) return "<s>";
    if (i == 2) return "</s>";
    if (i < 259) { snprintf(buf, cap, "<0x%02X>", i - 3); return buf; }
    if (i < 259 + SPM_NC) return spm_chars[i - 259];
    snprintf(buf, cap, "%s%s", spm_merges[i - 259 - SPM_NC][0], spm_merges[i - 259 - SPM_NC][1]);
    return buf;
}

/* s with U+2581 replaced by a space (llama2.c's export does this). */
static char *unmeta(const char *s) {
    char *o = malloc(strlen(s) + 1);
    size_t k = 0;
    for (size_t i = 0; s[i];) {
        if (!strncmp(s + i, SP, 3)) { o[k++] = ' '; i += 3; }
        else o[k++] = s[i++];
    }
    o[k] = '\0';
    return o;
}

int fx_write_llama2c_tokenizer(const char *path) {
    int n = fx_spm_vocab_size();
    char **toks = calloc((size_t)n, sizeof *toks);
    float *sc = calloc((size_t)n, sizeof *sc);
    char buf[64];
    for (int i = 0; i < n; i++) {
        const char *s = spm_token(i, buf, sizeof buf);
        /* llama2.c's export writes the control tokens as "\n<s>\n" and "\n</s>\n" */
        if (i == 1) s = "\n<s>\n";
        if (i == 2) s = "\n</s>\n";
        toks[i] = unmeta(s);
        sc[i] = i < 259 + SPM_NC ? -1e6f : (float)-(i - 259 - SPM_NC);
    }
    mlm_err e;
    int rc = mlm_tokenizer_save_llama2c(path, (const char *const *)toks, sc, n, &e) ? -1 : 0;
    if (rc) printf("  fixture: %s\n", e.msg);
    for (int i = 0; i < n; i++) free(toks[i]);
    free(toks);
    free(sc);
    return rc;
}

/* JSON string literal of s (escaping quotes, backslashes and control bytes). */
static void jstr(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

int fx_write_hf_spm_tokenizer(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    int n = fx_spm_vocab_size();
    char buf[64];
    fprintf(f, "{\"version\":\"1.0\",\"truncation\":null,\"padding\":null,\"added_tokens\":[");
    for (int i = 0; i < 3; i++)
        fprintf(f, "%s{\"id\":%d,\"content\":\"%s\",\"single_word\":false,\"lstrip\":false,\"rstrip\":false,"
                   "\"normalized\":false,\"special\":true}", i ? "," : "", i, spm_token(i, buf, sizeof buf));
    fprintf(f, "],\"normalizer\":{\"type\":\"Sequence\",\"normalizers\":[{\"type\":\"Prepend\",\"prepend\":\"\\u2581\"},"
               "{\"type\":\"Replace\",\"pattern\":{\"String\":\" \"},\"content\":\"\\u2581\"}]},\"pre_tokenizer\":null,"
               "\"post_processor\":{\"type\":\"TemplateProcessing\",\"single\":[{\"SpecialToken\":{\"id\":\"<s>\",\"type_id\":0}},"
               "{\"Sequence\":{\"id\":\"A\",\"type_id\":0}}],\"pair\":[],\"special_tokens\":{\"<s>\":{\"id\":\"<s>\",\"ids\":[1],\"tokens\":[\"<s>\"]}}},"
               "\"decoder\":{\"type\":\"Sequence\",\"decoders\":[{\"type\":\"Replace\",\"pattern\":{\"String\":\"\\u2581\"},\"content\":\" \"},"
               "{\"type\":\"ByteFallback\"},{\"type\":\"Fuse\"},{\"type\":\"Strip\",\"content\":\" \",\"start\":1,\"stop\":0}]},"
               "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":\"<unk>\",\"continuing_subword_prefix\":null,"
               "\"end_of_word_suffix\":null,\"fuse_unk\":true,\"byte_fallback\":true,\"vocab\":{");
    for (int i = 0; i < n; i++) {
        if (i) fputc(',', f);
        jstr(f, spm_token(i, buf, sizeof buf));
        fprintf(f, ":%d", i);
    }
    fprintf(f, "},\"merges\":[");
    for (int i = 0; i < SPM_NM; i++) {
        char m[64];
        snprintf(m, sizeof m, "%s %s", spm_merges[i][0], spm_merges[i][1]);
        if (i) fputc(',', f);
        jstr(f, m);
    }
    fprintf(f, "]}}\n");
    return fclose(f) ? -1 : 0;
}

/* GPT-2's bytes_to_unicode as UTF-8 into buf. */
static const char *bl_str(int b, char *buf) {
    int cp;
    if ((b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)) cp = b;
    else {
        int k = 0;
        for (int x = 0; x < b; x++)
            if (!((x >= '!' && x <= '~') || (x >= 0xa1 && x <= 0xac) || (x >= 0xae && x <= 0xff))) k++;
        cp = 256 + k;
    }
    if (cp < 0x80) { buf[0] = (char)cp; buf[1] = 0; }
    else { buf[0] = (char)(0xc0 | cp >> 6); buf[1] = (char)(0x80 | (cp & 0x3f)); buf[2] = 0; }
    return buf;
}

#define G "\xc4\xa0" /* U+0120, byte-level space */
static const char *bl_merges[][2] = {
    {G, "t"}, {"h", "e"}, {G "t", "he"}, {G, "w"}, {"o", "r"}, {G "w", "or"}, {"l", "d"}, {G "wor", "ld"}, {"l", "l"},
    {"he", "ll"}, {"hell", "o"}, {G, "a"}, {"'", "s"}, {G, G}, {"c", "a"}, {"\xc3\x83", "\xc2\xa9"}, {"1", "2"}};
enum { BL_NM = sizeof bl_merges / sizeof bl_merges[0] };

int fx_bytelevel_vocab_size(void) { return 1 + 256 + BL_NM; }

int fx_write_hf_bytelevel_tokenizer(const char *path) {
    FILE *f = fopen(path, "w");
    if (!f) return -1;
    char buf[16];
    fprintf(f, "{\"version\":\"1.0\",\"added_tokens\":[{\"id\":0,\"content\":\"<|endoftext|>\",\"single_word\":false,"
               "\"lstrip\":false,\"rstrip\":false,\"normalized\":false,\"special\":true}],\"normalizer\":null,"
               "\"pre_tokenizer\":{\"type\":\"Sequence\",\"pretokenizers\":[{\"type\":\"Digits\",\"individual_digits\":true},"
               "{\"type\":\"ByteLevel\",\"add_prefix_space\":false,\"trim_offsets\":true,\"use_regex\":true}]},"
               "\"post_processor\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":false,\"use_regex\":true},"
               "\"decoder\":{\"type\":\"ByteLevel\",\"add_prefix_space\":true,\"trim_offsets\":true,\"use_regex\":true},"
               "\"model\":{\"type\":\"BPE\",\"dropout\":null,\"unk_token\":null,\"continuing_subword_prefix\":null,"
               "\"end_of_word_suffix\":null,\"fuse_unk\":false,\"byte_fallback\":false,\"vocab\":{\"<|endoftext|>\":0");
    for (int b = 0; b < 256; b++) {
        fputc(',', f);
        jstr(f, bl_str(b, buf));
        fprintf(f, ":%d", b + 1);
    }
    for (int i = 0; i < BL_NM; i++) {
        char m[64];
        snprintf(m, sizeof m, "%s%s", bl_merges[i][0], bl_merges[i][1]);
        fputc(',', f);
        jstr(f, m);
        fprintf(f, ":%d", 257 + i);
    }
    /* the newer merges format: pairs as arrays */
    fprintf(f, "},\"merges\":[");
    for (int i = 0; i < BL_NM; i++) {
        fprintf(f, "%s[", i ? "," : "");
        jstr(f, bl_merges[i][0]);
        fputc(',', f);
        jstr(f, bl_merges[i][1]);
        fputc(']', f);
    }
    fprintf(f, "]}}\n");
    return fclose(f) ? -1 : 0;
}

void fx_set_threads(int n) {
#ifdef _OPENMP
    omp_set_num_threads(n);
#else
    (void)n;
#endif
}
