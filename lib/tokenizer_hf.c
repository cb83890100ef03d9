/* tokenizer_hf.c - Hugging Face tokenizer.json: the BPE model (vocab, merges by rank,
 * byte_fallback, ignore_merges), added tokens, and the two pipelines the Llama family uses:
 * SentencePiece-style (Prepend/Replace normalizer or Metaspace; spaces as U+2581) and
 * byte-level (ByteLevel pre-tokenizer with the GPT-2 split, optional Digits). The GPT-2 split
 * needs Unicode letter / number classes; they are approximated by code point ranges here
 * (docs/tokenizers.md). Llama 3's Split regex pre-tokenizer is refused. */
#include "tokenizer_internal.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_VOCAB (1 << 24)
static const char META[] = "\xe2\x96\x81"; /* U+2581, SentencePiece's visible space */

/* ---- the GPT-2 pre-tokenizer split --------------------------------------------------------- */

enum { C_L, C_N, C_S, C_O };

static int is_space(uint32_t c) {
    return (c >= 9 && c <= 13) || c == 32 || c == 0x85 || c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
           c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f || c == 0x3000;
}

/* \p{N}: ASCII digits, Latin-1 superscripts and fractions, super/subscript digits,
 * fullwidth digits, and the decimal digits of the common scripts (Arabic-Indic, Devanagari). */
static int is_number(uint32_t c) {
    return (c >= '0' && c <= '9') || c == 0xb2 || c == 0xb3 || c == 0xb9 || (c >= 0xbc && c <= 0xbe) ||
           (c >= 0x660 && c <= 0x669) || (c >= 0x6f0 && c <= 0x6f9) || (c >= 0x966 && c <= 0x96f) ||
           (c >= 0x2070 && c <= 0x2079) || (c >= 0x2080 && c <= 0x2089) || (c >= 0x2150 && c <= 0x218b) ||
           (c >= 0x2460 && c <= 0x249b) || (c >= 0xff10 && c <= 0xff19);
}

/* \p{L}, approximated: ASCII letters, Latin-1 letters, and the letter blocks of other scripts;
 * punctuation, symbol, emoji and private-use blocks are not letters. */
static int is_letter(uint32_t c) {
    if (c < 0x80) return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (c < 0xc0) return c == 0xaa || c == 0xb5 || c == 0xba;
    if (c == 0xd7 || c == 0xf7) return 0;
    if (c < 0x2000) return !(c >= 0x2b9 && c <= 0x36f) && c != 0x37e && c != 0x387 && !(c >= 0x55a && c <= 0x55f) &&
                           c != 0x589 && !(c >= 0x600 && c <= 0x61f && c != 0x620) && c != 0x964 && c != 0x965;
    if (c < 0x2c00) return c == 0x2071 || c == 0x207f || (c >= 0x2090 && c <= 0x209c) || (c >= 0x2100 && c <= 0x214f && c != 0x2118);
    if (c < 0x3000) return c < 0x2e00;
    if (c < 0x3040) return c == 0x3005 || c == 0x3006;
    if (c < 0xe000) return !(c >= 0xd800);
    if (c < 0xf900) return 0;
    if (c < 0xff00) return !(c >= 0xfe10 && c <= 0xfe6f);
    if (c < 0xfff0) return (c >= 0xff21 && c <= 0xff3a) || (c >= 0xff41 && c <= 0xff5a) || (c >= 0xff66 && c <= 0xffdc);
    if (c < 0x1f000) return c >= 0x10000 && !(c >= 0x1d000 && c <= 0x1d7ff);
    return c >= 0x20000 && c <= 0x3ffff;
}

static int cls(uint32_t c) { return is_space(c) ? C_S : is_letter(c) ? C_L : is_number(c) ? C_N : C_O; }

typedef struct { size_t off; int len; uint32_t cp; int c; } uchar;

static uint32_t cp_of(const unsigned char *s, int n) {
    if (n == 1) return s[0] < 0x80 ? s[0] : 0xfffd;   /* an invalid byte: class "other" */
    uint32_t cp = n == 2 ? (uint32_t)(s[0] & 0x1f) : n == 3 ? (uint32_t)(s[0] & 0x0f) : (uint32_t)(s[0] & 0x07);
    for (int i = 1; i < n; i++) cp = cp << 6 | (s[i] & 0x3f);
    return cp;
}

/* Length in characters of the GPT-2 pattern's match at u[i] (n characters in all):
 * 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+ */
static int gpt2_match(const uchar *u, int i, int n) {
    if (u[i].cp == '\'' && i + 1 < n) {
        uint32_t a = u[i + 1].cp, b = i + 2 < n ? u[i + 2].cp : 0;
        if (a == 's' || a == 't' || a == 'm' || a == 'd') return 2;
        if ((a == 'r' && b == 'e') || (a == 'v' && b == 'e') || (a == 'l' && b == 'l')) return 3;
    }
    int j = i;
    if (u[j].cp == ' ' && j + 1 < n && u[j + 1].c != C_S) j++;
    if (u[j].c != C_S) {
        int c = u[j].c, k = j;
        while (k < n && u[k].c == c) k++;
        return k - i;
    }
    int k = i;
    while (k < n && u[k].c == C_S) k++;
    if (k == n || k - i == 1) return k - i;
    return k - i - 1;   /* leave the last space for the word after it */
}

/* ---- byte-level and SentencePiece-style segments ---------------------------------------------- */

/* BPE of one word given as initial symbols; appends the result. */
static mlm_status bpe_word(const mlm_tokenizer *t, int *sym, int m, const char *word, size_t wlen, int **ids, int *n,
                           int *cap, mlm_err *e) {
    if (t->ignore_merges && word) {
        int id = mlm_tok_lookup(t, word, wlen);
        if (id >= 0) { sym[0] = id; m = 1; }
    }
    if (m > 1) m = mlm_tok_bpe_merge(t, sym, m);
    for (int i = 0; i < m; i++)
        if (mlm_tok_push(ids, n, cap, sym[i])) return mlm_fail(e, MLM_ENOMEM, "tokenizer: out of memory");
    return MLM_OK;
}

static mlm_status encode_bytelevel(const mlm_tokenizer *t, const unsigned char *s, size_t len, int **ids, int *n,
                                   int *cap, mlm_err *e) {
    size_t L = len + 1;
    unsigned char *text = malloc(L + 1);
    uchar *u = malloc(sizeof *u * (L + 1));
    int *sym = malloc(sizeof *sym * (L + 1));
    char *mapped = malloc(4 * (L + 1));
    mlm_status st = MLM_OK;
    if (!text || !u || !sym || !mapped) { st = mlm_fail(e, MLM_ENOMEM, "tokenizer: out of memory"); goto done; }
    size_t tl = 0;
    if (t->bl_prefix_space && len > 0 && s[0] != ' ') text[tl++] = ' ';
    memcpy(text + tl, s, len);
    tl += len;
    int nu = 0;
    for (size_t i = 0; i < tl;) {
        int k = mlm_utf8_len(text + i, tl - i);
        u[nu].off = i;
        u[nu].len = k;
        u[nu].cp = cp_of(text + i, k);
        u[nu].c = cls(u[nu].cp);
        nu++;
        i += (size_t)k;
    }
    /* pieces: Digits (individual or runs) isolate digits, then the GPT-2 split inside each */
    for (int a = 0; a < nu && !st;) {
        int b = a;
        int dig = t->digits && u[a].cp >= '0' && u[a].cp <= '9';
        if (dig) b = t->digits == 2 ? a + 1 : a;
        while (dig && t->digits == 1 && b < nu && u[b].cp >= '0' && u[b].cp <= '9') b++;
        if (!dig) while (b < nu && !(t->digits && u[b].cp >= '0' && u[b].cp <= '9')) b++;
        for (int i = a; i < b && !st;) {
            int k = t->bl_regex ? gpt2_match(u + a, i - a, b - a) : b - i;
            if (k < 1) k = 1;
            size_t off = u[i].off, end = i + k < nu ? u[i + k].off : tl;
            int m = 0;
            size_t ml = 0;
            for (size_t j = off; j < end; j++) {
                int id = t->byte_id[text[j]];
                if (id < 0) id = t->unk;
                if (id >= 0) {
                    sym[m++] = id;
                    memcpy(mapped + ml, t->tok[id], (size_t)t->tok_len[id]);
                    ml += (size_t)t->tok_len[id];
                }
            }
            st = bpe_word(t, sym, m, mapped, ml, ids, n, cap, e);
            i += k;
        }
        a = b;
    }
done:
    free(text);
    free(u);
    free(sym);
    free(mapped);
    return st;
}

static mlm_status encode_spm(const mlm_tokenizer *t, const unsigned char *s, size_t len, int first, int **ids, int *n,
                             int *cap, mlm_err *e) {
    if (len == 0) return MLM_OK;
    unsigned char *w = malloc(3 * len + 4);
    int *sym = malloc(sizeof *sym * (4 * len + 4));
    mlm_status st = MLM_OK;
    if (!w || !sym) { st = mlm_fail(e, MLM_ENOMEM, "tokenizer: out of memory"); goto done; }
    size_t wl = 0;
    if (t->spm_prefix == 1 || (t->spm_prefix == 2 && first)) { memcpy(w, META, 3); wl = 3; }
    for (size_t i = 0; i < len; i++) {
        if (s[i] == ' ') { memcpy(w + wl, META, 3); wl += 3; }
        else w[wl++] = s[i];
    }
    for (size_t a = 0; a < wl && !st;) {
        size_t b = wl;
        if (t->spm_split) {   /* a word runs to the next U+2581 */
            b = a + 3;
            while (b < wl && !(b + 3 <= wl && !memcmp(w + b, META, 3))) b++;
            if (b > wl) b = wl;
        }
        int m = 0;
        for (size_t i = a; i < b;) {
            int k = mlm_utf8_len(w + i, b - i);
            int id = mlm_tok_lookup(t, (const char *)w + i, (size_t)k);
            if (id >= 0) sym[m++] = id;
            else if (t->byte_fallback) {
                int ok = 1;
                for (int j = 0; j < k; j++) ok &= t->byte_id[w[i + j]] >= 0;
                if (ok) for (int j = 0; j < k; j++) sym[m++] = t->byte_id[w[i + j]];
                else if (t->unk >= 0) sym[m++] = t->unk;
            } else if (t->unk >= 0) sym[m++] = t->unk;
            else { st = mlm_fail(e, MLM_EINVAL, "tokenizer: a character is not in the vocabulary and there is no unk token"); break; }
            i += (size_t)k;
        }
        if (!st) st = bpe_word(t, sym, m, (const char *)w + a, b - a, ids, n, cap, e);
        a = b;
    }
done:
    free(w);
    free(sym);
    return st;
}

mlm_status mlm_tok_encode_hf(const mlm_tokenizer *t, const unsigned char *s, size_t len, int first, int **ids, int *n,
                             int *cap, mlm_err *e) {
    if (t->kind == MLM_TOK_HF_BYTELEVEL) return encode_bytelevel(t, s, len, ids, n, cap, e);
    return encode_spm(t, s, len, first, ids, n, cap, e);
}

/* ---- tokenizer.json ------------------------------------------------------------------------ */

static const char *type_of(const cJSON *o) {
    const cJSON *ty = cJSON_GetObjectItemCaseSensitive(o, "type");
    return cJSON_IsString(ty) ? ty->valuestring : "";
}

static int json_bool(const cJSON *o, const char *key, int def) {
    const cJSON *it = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsBool(it) ? cJSON_IsTrue(it) : def;
}

/* A JSON integer id in [0, MAX_VOCAB). */
static int json_id(const cJSON *it) {
    if (!cJSON_IsNumber(it) || !isfinite(it->valuedouble) || it->valuedouble != floor(it->valuedouble) ||
        it->valuedouble < 0 || it->valuedouble >= MAX_VOCAB)
        return -1;
    return (int)it->valuedouble;
}

static mlm_status set_token(mlm_tokenizer *t, int id, const char *s, const char *w, mlm_err *e) {
    size_t l = strlen(s);
    if (t->tok[id]) {
        if (strcmp(t->tok[id], s))
            return mlm_fail(e, MLM_EFORMAT, "%s: id %d is given to both '%.40s' and '%.40s'", w, id, t->tok[id], s);
        return MLM_OK;
    }
    if (l > 4096) return mlm_fail(e, MLM_EFORMAT, "%s: token %d is longer than 4096 bytes", w, id);
    t->tok[id] = strdup(s);
    if (!t->tok[id]) return mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w);
    t->tok_len[id] = (int)l;
    return MLM_OK;
}

/* Reads normalizer / pre_tokenizer / decoder into t's options and kind. */
static mlm_status pipeline(mlm_tokenizer *t, const cJSON *root, const char *w, mlm_err *e) {
    int spm = 0, bl = 0;
    const cJSON *norm = cJSON_GetObjectItemCaseSensitive(root, "normalizer");
    if (norm && !cJSON_IsNull(norm)) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(norm, "normalizers");
        const cJSON *one = strcmp(type_of(norm), "Sequence") ? norm : NULL;
        for (const cJSON *it = one ? one : (list ? list->child : NULL); it; it = one ? NULL : it->next) {
            const char *ty = type_of(it);
            if (!strcmp(ty, "Prepend")) {
                const cJSON *p = cJSON_GetObjectItemCaseSensitive(it, "prepend");
                if (!cJSON_IsString(p) || strcmp(p->valuestring, META))
                    return mlm_fail(e, MLM_EFORMAT, "%s: only a Prepend normalizer of \"\\u2581\" is supported", w);
                t->spm_prefix = 1;
                spm = 1;
            } else if (!strcmp(ty, "Replace")) {
                const cJSON *pat = cJSON_GetObjectItemCaseSensitive(it, "pattern");
                const cJSON *ps = pat ? cJSON_GetObjectItemCaseSensitive(pat, "String") : NULL;
                const cJSON *ct = cJSON_GetObjectItemCaseSensitive(it, "content");
                if (!cJSON_IsString(ps) || strcmp(ps->valuestring, " ") || !cJSON_IsString(ct) || strcmp(ct->valuestring, META))
                    return mlm_fail(e, MLM_EFORMAT, "%s: only a Replace normalizer of \" \" by \"\\u2581\" is supported", w);
                spm = 1;
            } else if (!strcmp(ty, "NFC")) {
                /* inputs are taken as already NFC (docs/tokenizers.md) */
            } else {
                return mlm_fail(e, MLM_EFORMAT, "%s: normalizer \"%.30s\" is not supported", w, ty);
            }
        }
    }
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
    if (pre && !cJSON_IsNull(pre)) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers");
        const cJSON *one = strcmp(type_of(pre), "Sequence") ? pre : NULL;
        for (const cJSON *it = one ? one : (list ? list->child : NULL); it; it = one ? NULL : it->next) {
            const char *ty = type_of(it);
            if (!strcmp(ty, "ByteLevel")) {
                bl = 1;
                t->bl_prefix_space = json_bool(it, "add_prefix_space", 1);
                t->bl_regex = json_bool(it, "use_regex", 1);
            } else if (!strcmp(ty, "Digits")) {
                t->digits = json_bool(it, "individual_digits", 0) ? 2 : 1;
            } else if (!strcmp(ty, "Metaspace")) {
                const cJSON *r = cJSON_GetObjectItemCaseSensitive(it, "replacement");
                if (cJSON_IsString(r) && strcmp(r->valuestring, META))
                    return mlm_fail(e, MLM_EFORMAT, "%s: a Metaspace replacement other than \"\\u2581\" is not supported", w);
                const cJSON *ps = cJSON_GetObjectItemCaseSensitive(it, "prepend_scheme");
                if (cJSON_IsString(ps)) t->spm_prefix = !strcmp(ps->valuestring, "never") ? 0 : !strcmp(ps->valuestring, "first") ? 2 : 1;
                else t->spm_prefix = json_bool(it, "add_prefix_space", 1);
                t->spm_split = json_bool(it, "split", 1);
                spm = 1;
            } else if (!strcmp(ty, "Split")) {
                return mlm_fail(e, MLM_EFORMAT, "%s: the Split (regex) pre-tokenizer, as in Llama 3, is not supported", w);
            } else {
                return mlm_fail(e, MLM_EFORMAT, "%s: pre-tokenizer \"%.30s\" is not supported", w, ty);
            }
        }
    }
    if (bl && spm) return mlm_fail(e, MLM_EFORMAT, "%s: mixes byte-level and SentencePiece-style steps", w);
    if (!bl && !spm && !t->byte_fallback)
        return mlm_fail(e, MLM_EFORMAT, "%s: neither a SentencePiece-style (\\u2581, byte fallback) nor a byte-level BPE tokenizer", w);
    t->kind = bl ? MLM_TOK_HF_BYTELEVEL : MLM_TOK_HF_SPM;
    return MLM_OK;
}

/* The BOS of a TemplateProcessing post-processor (also inside a Sequence), or -1. */
static int template_bos(const mlm_tokenizer *t, const cJSON *pp) {
    if (!pp || cJSON_IsNull(pp)) return -1;
    if (!strcmp(type_of(pp), "Sequence")) {
        const cJSON *list = cJSON_GetObjectItemCaseSensitive(pp, "processors");
        for (const cJSON *it = list ? list->child : NULL; it; it = it->next) {
            int b = template_bos(t, it);
            if (b >= 0) return b;
        }
        return -1;
    }
    if (strcmp(type_of(pp), "TemplateProcessing")) return -1;
    const cJSON *single = cJSON_GetObjectItemCaseSensitive(pp, "single");
    const cJSON *first = cJSON_IsArray(single) ? single->child : NULL;
    const cJSON *sp = first ? cJSON_GetObjectItemCaseSensitive(first, "SpecialToken") : NULL;
    const cJSON *id = sp ? cJSON_GetObjectItemCaseSensitive(sp, "id") : NULL;
    return cJSON_IsString(id) ? mlm_tok_lookup(t, id->valuestring, strlen(id->valuestring)) : -1;
}

mlm_tokenizer *mlm_tok_load_hf(const char *json, size_t len, const char *w, mlm_err *e) {
    cJSON *root = cJSON_ParseWithLength(json, len);
    mlm_tokenizer *t = NULL;
    if (!root || !cJSON_IsObject(root)) { mlm_fail(e, MLM_EFORMAT, "%s: not a JSON object", w); goto fail; }
    const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
    if (!cJSON_IsObject(model)) { mlm_fail(e, MLM_EFORMAT, "%s: no \"model\" object", w); goto fail; }
    const char *mt = type_of(model);
    if (mt[0] && strcmp(mt, "BPE")) {
        mlm_fail(e, MLM_EFORMAT, "%s: model type \"%.30s\" is not supported (only BPE)", w, mt);
        goto fail;
    }
    const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
    const cJSON *merges = cJSON_GetObjectItemCaseSensitive(model, "merges");
    const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
    if (!cJSON_IsObject(vocab) || !cJSON_IsArray(merges)) {
        mlm_fail(e, MLM_EFORMAT, "%s: the BPE model needs a \"vocab\" object and a \"merges\" array", w);
        goto fail;
    }
    if (added && !cJSON_IsArray(added)) { mlm_fail(e, MLM_EFORMAT, "%s: \"added_tokens\" is not an array", w); goto fail; }
    int n = 0;
    for (const cJSON *it = vocab->child; it; it = it->next) {
        int id = json_id(it);
        if (id < 0) { mlm_fail(e, MLM_EFORMAT, "%s: vocab entry '%.40s' has no valid id", w, it->string ? it->string : ""); goto fail; }
        if (id + 1 > n) n = id + 1;
    }
    for (const cJSON *it = added ? added->child : NULL; it; it = it->next) {
        int id = json_id(cJSON_GetObjectItemCaseSensitive(it, "id"));
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(it, "content");
        if (id < 0 || !cJSON_IsString(c)) { mlm_fail(e, MLM_EFORMAT, "%s: an added token lacks a valid id or content", w); goto fail; }
        if (id + 1 > n) n = id + 1;
    }
    if (n == 0) { mlm_fail(e, MLM_EFORMAT, "%s: empty vocabulary", w); goto fail; }
    /* Ids must (nearly) fill 0..n-1: a few holes are tolerated, but one far id must not make a
     * few bytes of JSON allocate a vocabulary of a million empty tokens. */
    int listed = cJSON_GetArraySize(vocab) + (added ? cJSON_GetArraySize(added) : 0);
    int slack = listed / 100 > 256 ? listed / 100 : 256;
    if (n > listed + slack) {
        mlm_fail(e, MLM_EFORMAT, "%s: token id %d is far beyond the %d tokens listed (ids must be nearly contiguous)", w,
                 n - 1, listed);
        goto fail;
    }
    t = calloc(1, sizeof *t);
    if (!t || mlm_tok_alloc(t, n, w, e)) { if (!t) mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w); goto fail; }
    t->bos = t->eos = t->unk = -1;
    t->byte_fallback = json_bool(model, "byte_fallback", 0);
    t->ignore_merges = json_bool(model, "ignore_merges", 0);
    for (const cJSON *it = vocab->child; it; it = it->next)
        if (set_token(t, json_id(it), it->string, w, e)) goto fail;
    int na = cJSON_GetArraySize(added);
    t->added = calloc((size_t)(na ? na : 1), sizeof *t->added);
    if (!t->added) { mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w); goto fail; }
    for (const cJSON *it = added ? added->child : NULL; it; it = it->next) {
        int id = json_id(cJSON_GetObjectItemCaseSensitive(it, "id"));
        const char *c = cJSON_GetObjectItemCaseSensitive(it, "content")->valuestring;
        if (set_token(t, id, c, w, e)) goto fail;
        t->special[id] = json_bool(it, "special", 0) ? 1 : 2;
        if (c[0]) t->added[t->n_added++] = id;
    }
    if (pipeline(t, root, w, e)) goto fail;
    if (mlm_tok_finish(t, w, e)) goto fail;
    /* merges: "a b" strings or ["a", "b"] pairs, ranked by their order */
    int nm = cJSON_GetArraySize(merges);
    if (mlm_tok_pairs_alloc(t, nm)) { mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w); goto fail; }
    int rank = 0;
    char buf[8200];
    for (const cJSON *it = merges->child; it; it = it->next, rank++) {
        const char *a = NULL, *b = NULL;
        size_t la = 0, lb = 0;
        if (cJSON_IsString(it)) {
            const char *sp = strchr(it->valuestring, ' ');
            if (sp) { a = it->valuestring; la = (size_t)(sp - a); b = sp + 1; lb = strlen(b); }
        } else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 && cJSON_IsString(it->child) && cJSON_IsString(it->child->next)) {
            a = it->child->valuestring; la = strlen(a);
            b = it->child->next->valuestring; lb = strlen(b);
        }
        if (!a || la + lb >= sizeof buf) { mlm_fail(e, MLM_EFORMAT, "%s: merge %d is not \"a b\" or [a, b]", w, rank); goto fail; }
        memcpy(buf, a, la);
        memcpy(buf + la, b, lb);
        int ia = mlm_tok_lookup(t, a, la), ib = mlm_tok_lookup(t, b, lb), ic = mlm_tok_lookup(t, buf, la + lb);
        if (ia < 0 || ib < 0 || ic < 0) {
            buf[la + lb] = '\0';
            mlm_fail(e, MLM_EFORMAT, "%s: merge %d ('%.40s' + '%.40s') uses a token not in the vocabulary", w, rank,
                     ia < 0 ? "?" : t->tok[ia], ib < 0 ? "?" : t->tok[ib]);
            goto fail;
        }
        mlm_tok_pair_add(t, ia, ib, rank, ic);
    }
    const cJSON *unk = cJSON_GetObjectItemCaseSensitive(model, "unk_token");
    if (cJSON_IsString(unk)) t->unk = mlm_tok_lookup(t, unk->valuestring, strlen(unk->valuestring));
    t->bos = template_bos(t, cJSON_GetObjectItemCaseSensitive(root, "post_processor"));
    if (t->bos < 0 && t->kind == MLM_TOK_HF_SPM) {
        t->bos = mlm_tok_lookup(t, "<s>", 3);
    }
    const char *eos[] = {"</s>", "<|endoftext|>", "<|end_of_text|>"};
    for (int i = 0; i < 3 && t->eos < 0; i++) t->eos = mlm_tok_lookup(t, eos[i], strlen(eos[i]));
    cJSON_Delete(root);
    return t;
fail:
    cJSON_Delete(root);
    mlm_tokenizer_free(t);
    return NULL;
}
