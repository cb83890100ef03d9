/* tokenizer.c - the tokenizer object shared by every kind: vocabulary hash, decoded pieces,
 * encode dispatch, streaming decode, axis labels; plus the llama2.c tokenizer.bin format
 * (read, write, encode by best-scoring merges) and the byte-level fallback. tokenizer.json is
 * in tokenizer_hf.c. */
#include "tokenizer_internal.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_TOKENIZER_BYTES (256u << 20)
#define MAX_VOCAB (1 << 24)

/* ---- small helpers ------------------------------------------------------------------------- */

int mlm_tok_push(int **ids, int *n, int *cap, int id) {
    if (*n >= *cap) {
        int nc = *cap ? *cap * 2 : 64;
        int *p = realloc(*ids, (size_t)nc * sizeof *p);
        if (!p) return -1;
        *ids = p;
        *cap = nc;
    }
    (*ids)[(*n)++] = id;
    return 0;
}

int mlm_utf8_len(const unsigned char *s, size_t avail) {
    unsigned char c = s[0];
    int n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;
    if (n <= 1) return 1;
    if ((size_t)n > avail) return 1;
    for (int i = 1; i < n; i++)
        if ((s[i] & 0xc0) != 0x80) return 1;
    /* overlong and out-of-range forms count as invalid bytes */
    uint32_t cp = n == 2 ? (uint32_t)(c & 0x1f) : n == 3 ? (uint32_t)(c & 0x0f) : (uint32_t)(c & 0x07);
    for (int i = 1; i < n; i++) cp = cp << 6 | (s[i] & 0x3f);
    if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 1;
    return n;
}

static uint64_t fnv(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

int mlm_tok_lookup(const mlm_tokenizer *t, const char *s, size_t len) {
    if (!t->str_slots) return -1;
    for (uint64_t i = fnv(s, len) & (t->str_cap - 1);; i = (i + 1) & (t->str_cap - 1)) {
        int id = t->str_slots[i];
        if (id < 0) return -1;
        if ((size_t)t->tok_len[id] == len && !memcmp(t->tok[id], s, len)) return id;
    }
}

mlm_status mlm_tok_alloc(mlm_tokenizer *t, int n, const char *where, mlm_err *e) {
    t->n = n;
    t->tok = calloc((size_t)n, sizeof *t->tok);
    t->tok_len = calloc((size_t)n, sizeof *t->tok_len);
    t->piece = calloc((size_t)n, sizeof *t->piece);
    t->piece_len = calloc((size_t)n, sizeof *t->piece_len);
    t->special = calloc((size_t)n, 1);
    if (!t->tok || !t->tok_len || !t->piece || !t->piece_len || !t->special)
        return mlm_fail(e, MLM_ENOMEM, "%s: out of memory for %d tokens", where, n);
    return MLM_OK;
}

/* GPT-2's bytes_to_unicode: printable bytes map to themselves, the others to 256 + k. */
static uint32_t bl_char(int b) {
    if ((b >= '!' && b <= '~') || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff)) return (uint32_t)b;
    int k = 0;
    for (int x = 0; x < b; x++)
        if (!((x >= '!' && x <= '~') || (x >= 0xa1 && x <= 0xac) || (x >= 0xae && x <= 0xff))) k++;
    return 256u + (uint32_t)k;
}

static int utf8_put(char *out, uint32_t cp) {
    if (cp < 0x80) { out[0] = (char)cp; return 1; }
    if (cp < 0x800) { out[0] = (char)(0xc0 | cp >> 6); out[1] = (char)(0x80 | (cp & 0x3f)); return 2; }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12); out[1] = (char)(0x80 | ((cp >> 6) & 0x3f)); out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18); out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3f)); out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static uint32_t utf8_get(const unsigned char *s, int n) {
    if (n == 1) return s[0];
    uint32_t cp = n == 2 ? (uint32_t)(s[0] & 0x1f) : n == 3 ? (uint32_t)(s[0] & 0x0f) : (uint32_t)(s[0] & 0x07);
    for (int i = 1; i < n; i++) cp = cp << 6 | (s[i] & 0x3f);
    return cp;
}

/* "<0xXX>" -> the byte, or -1. */
static int byte_token(const char *s, int len) {
    if (len != 6 || s[0] != '<' || s[1] != '0' || s[2] != 'x' || s[5] != '>') return -1;
    int v = 0;
    for (int i = 3; i < 5; i++) {
        char c = s[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'A' && c <= 'F' ? c - 'A' + 10 : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0) return -1;
        v = v * 16 + d;
    }
    return v;
}

/* The decoded bytes of token id into a fresh allocation. */
static mlm_status make_piece(mlm_tokenizer *t, int id, const int *bl_inv) {
    const char *s = t->tok[id];
    int len = t->tok_len[id], o = 0;
    char *p = malloc((size_t)len + 2);
    if (!p) return MLM_ENOMEM;
    int b = byte_token(s, len);
    if (t->special[id] == 1) {
        /* no text */
    } else if (t->special[id] == 2 || t->kind == MLM_TOK_BYTES) {
        memcpy(p, s, (size_t)len);
        o = len;
    } else if ((t->kind == MLM_TOK_LLAMA2C || t->kind == MLM_TOK_HF_SPM) && b >= 0) {
        p[o++] = (char)b;
    } else if (t->kind == MLM_TOK_HF_SPM) {
        for (int i = 0; i < len;) {
            if (i + 3 <= len && !memcmp(s + i, "\xe2\x96\x81", 3)) { p[o++] = ' '; i += 3; }
            else p[o++] = s[i++];
        }
    } else if (t->kind == MLM_TOK_HF_BYTELEVEL) {
        for (int i = 0; i < len;) {
            int n = mlm_utf8_len((const unsigned char *)s + i, (size_t)(len - i));
            uint32_t cp = utf8_get((const unsigned char *)s + i, n);
            if (n > 1 || cp < 0x80) {
                if (cp < 324 && bl_inv[cp] >= 0) { p[o++] = (char)bl_inv[cp]; i += n; continue; }
            }
            memcpy(p + o, s + i, (size_t)n);   /* not a byte-level char: kept as is */
            o += n;
            i += n;
        }
    } else {
        memcpy(p, s, (size_t)len);
        o = len;
    }
    p[o] = '\0';
    t->piece[id] = p;
    t->piece_len[id] = o;
    return MLM_OK;
}

mlm_status mlm_tok_finish(mlm_tokenizer *t, const char *where, mlm_err *e) {
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)t->n) cap <<= 1;
    t->str_cap = cap;
    t->str_slots = malloc((size_t)cap * sizeof *t->str_slots);
    if (!t->str_slots) return mlm_fail(e, MLM_ENOMEM, "%s: out of memory", where);
    for (uint64_t i = 0; i < cap; i++) t->str_slots[i] = -1;
    for (int id = 0; id < t->n; id++) {
        if (!t->tok[id]) {
            t->tok[id] = strdup("");
            if (!t->tok[id]) return mlm_fail(e, MLM_ENOMEM, "%s: out of memory", where);
            t->special[id] = 1;
        }
        if (mlm_tok_lookup(t, t->tok[id], (size_t)t->tok_len[id]) >= 0) continue;   /* first one wins */
        uint64_t i = fnv(t->tok[id], (size_t)t->tok_len[id]) & (cap - 1);
        while (t->str_slots[i] >= 0) i = (i + 1) & (cap - 1);
        t->str_slots[i] = id;
    }
    int bl_inv[324];
    for (int i = 0; i < 324; i++) bl_inv[i] = -1;
    for (int b = 0; b < 256; b++) bl_inv[bl_char(b)] = b;
    for (int b = 0; b < 256; b++) {
        char s[8];
        int n;
        if (t->kind == MLM_TOK_BYTES) { t->byte_id[b] = b; continue; }
        if (t->kind == MLM_TOK_HF_BYTELEVEL) n = utf8_put(s, bl_char(b));
        else n = snprintf(s, sizeof s, "<0x%02X>", b);
        t->byte_id[b] = mlm_tok_lookup(t, s, (size_t)n);
    }
    for (int id = 0; id < t->n; id++)
        if (make_piece(t, id, bl_inv)) return mlm_fail(e, MLM_ENOMEM, "%s: out of memory", where);
    return MLM_OK;
}

void mlm_tokenizer_free(mlm_tokenizer *t) {
    if (!t) return;
    for (int i = 0; i < t->n; i++) {
        if (t->tok) free(t->tok[i]);
        if (t->piece) free(t->piece[i]);
    }
    free(t->tok);
    free(t->tok_len);
    free(t->score);
    free(t->piece);
    free(t->piece_len);
    free(t->special);
    free(t->str_slots);
    free(t->pairs);
    free(t->added);
    free(t);
}

mlm_tokenizer_kind mlm_tokenizer_kind_of(const mlm_tokenizer *t) { return t->kind; }
const char *mlm_tokenizer_kind_name(mlm_tokenizer_kind k) {
    switch (k) {
    case MLM_TOK_BYTES: return "bytes";
    case MLM_TOK_LLAMA2C: return "llama2.c tokenizer.bin";
    case MLM_TOK_HF_SPM: return "tokenizer.json (SentencePiece-style BPE, byte fallback)";
    case MLM_TOK_HF_BYTELEVEL: return "tokenizer.json (byte-level BPE)";
    }
    return "?";
}
int mlm_tokenizer_vocab_size(const mlm_tokenizer *t) { return t->n; }
int mlm_tokenizer_bos(const mlm_tokenizer *t) { return t->bos; }
int mlm_tokenizer_eos(const mlm_tokenizer *t) { return t->eos; }

const char *mlm_tokenizer_token(const mlm_tokenizer *t, int id) {
    return id >= 0 && id < t->n ? t->tok[id] : NULL;
}

const char *mlm_tokenizer_piece(const mlm_tokenizer *t, int id, size_t *len) {
    if (id < 0 || id >= t->n) { if (len) *len = 0; return NULL; }
    if (len) *len = (size_t)t->piece_len[id];
    return t->piece[id];
}

const char *mlm_tokenizer_decode_next(const mlm_tokenizer *t, int prev, int id, size_t *len) {
    *len = 0;
    if (id < 0 || id >= t->n) return t->empty;
    const char *p = t->piece[id];
    size_t n = (size_t)t->piece_len[id];
    int at_start = prev < 0 || prev >= t->n || t->special[prev] == 1;
    int strips = t->kind == MLM_TOK_LLAMA2C || (t->kind == MLM_TOK_HF_SPM && t->spm_prefix) ||
                 (t->kind == MLM_TOK_HF_BYTELEVEL && t->bl_prefix_space);
    if (strips && at_start && n > 0 && p[0] == ' ' && t->special[id] == 0) { p++; n--; }
    *len = n;
    return p;
}

char *mlm_tokenizer_decode(const mlm_tokenizer *t, const int *ids, int n, size_t *len) {
    size_t total = 1;
    for (int i = 0; i < n; i++)
        if (ids[i] >= 0 && ids[i] < t->n) total += (size_t)t->piece_len[ids[i]];
    char *out = malloc(total);
    if (!out) return NULL;
    size_t o = 0;
    for (int i = 0; i < n; i++) {
        size_t k;
        const char *p = mlm_tokenizer_decode_next(t, i ? ids[i - 1] : -1, ids[i], &k);
        memcpy(out + o, p, k);
        o += k;
    }
    out[o] = '\0';
    if (len) *len = o;
    return out;
}

void mlm_tokenizer_label(const mlm_tokenizer *t, int id, char *buf, size_t cap) {
    if (!cap) return;
    buf[0] = '\0';
    if (id < 0 || id >= t->n) { snprintf(buf, cap, "<%d?>", id); return; }
    size_t o = 0;
    if (t->special[id] == 1) {
        for (int i = 0; i < t->tok_len[id] && o + 1 < cap; i++)
            if ((unsigned char)t->tok[id][i] >= 0x20) buf[o++] = t->tok[id][i];
        buf[o] = '\0';
        return;
    }
    const unsigned char *p = (const unsigned char *)t->piece[id];
    size_t n = (size_t)t->piece_len[id];
    for (size_t i = 0; i < n;) {
        int k = mlm_utf8_len(p + i, n - i);
        int bad = (k == 1 && (p[i] < 0x20 || p[i] >= 0x7f));
        if (bad) {
            if (o + 7 > cap) break;
            o += (size_t)snprintf(buf + o, cap - o, "<0x%02X>", p[i]);
            i++;
        } else {
            if (o + (size_t)k + 1 > cap) break;
            memcpy(buf + o, p + i, (size_t)k);
            o += (size_t)k;
            i += (size_t)k;
        }
    }
    buf[o] = '\0';
}

/* ---- BPE ---------------------------------------------------------------------------------- */

static uint64_t pair_slot(uint64_t key, uint64_t cap) { return (key * 0x9e3779b97f4a7c15ull) >> 20 & (cap - 1); }

mlm_status mlm_tok_pairs_alloc(mlm_tokenizer *t, int n) {
    uint64_t cap = 16;
    while (cap < 2 * (uint64_t)n) cap <<= 1;
    t->pairs = malloc((size_t)cap * sizeof *t->pairs);
    if (!t->pairs) return MLM_ENOMEM;
    t->pair_cap = cap;
    for (uint64_t i = 0; i < cap; i++) t->pairs[i].id = -1;
    return MLM_OK;
}

void mlm_tok_pair_add(mlm_tokenizer *t, int a, int b, int rank, int id) {
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    uint64_t i = pair_slot(key, t->pair_cap);
    for (; t->pairs[i].id >= 0; i = (i + 1) & (t->pair_cap - 1))
        if (t->pairs[i].key == key) return;   /* listed earlier: keeps the lower rank */
    t->pairs[i].key = key;
    t->pairs[i].rank = rank;
    t->pairs[i].id = id;
}

static const mlm_tok_pair *pair_find(const mlm_tokenizer *t, int a, int b) {
    if (!t->pairs) return NULL;
    uint64_t key = (uint64_t)(uint32_t)a << 32 | (uint32_t)b;
    for (uint64_t i = pair_slot(key, t->pair_cap);; i = (i + 1) & (t->pair_cap - 1)) {
        if (t->pairs[i].id < 0) return NULL;
        if (t->pairs[i].key == key) return &t->pairs[i];
    }
}

int mlm_tok_bpe_merge(const mlm_tokenizer *t, int *sym, int n) {
    for (;;) {
        int best = -1, best_rank = 0, best_id = -1;
        for (int i = 0; i + 1 < n; i++) {
            const mlm_tok_pair *p = pair_find(t, sym[i], sym[i + 1]);
            if (p && (best < 0 || p->rank < best_rank)) { best = i; best_rank = p->rank; best_id = p->id; }
        }
        if (best < 0) return n;
        sym[best] = best_id;
        memmove(sym + best + 1, sym + best + 2, (size_t)(n - best - 2) * sizeof *sym);
        n--;
    }
}

/* ---- encode ------------------------------------------------------------------------------- */

/* llama2.c: the dummy-prefix space, one token per UTF-8 character (bytes through <0xXX> when
 * the character is not in the vocabulary), then merge the adjacent pair whose concatenation
 * is in the vocabulary with the best score, until none is. */
static mlm_status encode_llama2c(const mlm_tokenizer *t, const unsigned char *s, size_t len, int **ids, int *n, int *cap,
                                 mlm_err *e) {
    int start = *n;
    if (len == 0) return MLM_OK;
    int sp = mlm_tok_lookup(t, " ", 1);
    if (sp >= 0 && mlm_tok_push(ids, n, cap, sp)) goto oom;
    for (size_t i = 0; i < len;) {
        int k = mlm_utf8_len(s + i, len - i);
        int id = mlm_tok_lookup(t, (const char *)s + i, (size_t)k);
        if (id >= 0) { if (mlm_tok_push(ids, n, cap, id)) goto oom; }
        else
            for (int j = 0; j < k; j++) {
                int b = t->byte_id[s[i + j]];
                if (mlm_tok_push(ids, n, cap, b >= 0 ? b : t->unk)) goto oom;
            }
        i += (size_t)k;
    }
    char buf[1024];
    for (;;) {
        int *v = *ids + start, m = *n - start, best = -1, best_id = -1;
        float best_score = -1e30f;
        for (int i = 0; i + 1 < m; i++) {
            int la = t->tok_len[v[i]], lb = t->tok_len[v[i + 1]];
            if (la + lb > (int)sizeof buf) continue;
            memcpy(buf, t->tok[v[i]], (size_t)la);
            memcpy(buf + la, t->tok[v[i + 1]], (size_t)lb);
            int id = mlm_tok_lookup(t, buf, (size_t)(la + lb));
            if (id >= 0 && t->score[id] > best_score) { best_score = t->score[id]; best = i; best_id = id; }
        }
        if (best < 0) break;
        v[best] = best_id;
        memmove(v + best + 1, v + best + 2, (size_t)(m - best - 2) * sizeof *v);
        (*n)--;
    }
    return MLM_OK;
oom:
    return mlm_fail(e, MLM_ENOMEM, "tokenizer: out of memory");
}

mlm_status mlm_tokenizer_encode(const mlm_tokenizer *t, const char *text, size_t len, int add_bos, int **ids, int *n,
                                mlm_err *e) {
    int cap = 0, cnt = 0;
    int *v = NULL;
    mlm_status st = MLM_OK;
    *ids = NULL;
    *n = 0;
    const unsigned char *s = (const unsigned char *)text;
    if (mlm_tok_push(&v, &cnt, &cap, 0)) goto oom;   /* ensures a non-NULL array */
    cnt = 0;
    if (add_bos && t->bos >= 0 && mlm_tok_push(&v, &cnt, &cap, t->bos)) goto oom;
    if (t->kind == MLM_TOK_BYTES) {
        for (size_t i = 0; i < len; i++)
            if (mlm_tok_push(&v, &cnt, &cap, s[i])) goto oom;
    } else if (t->kind == MLM_TOK_LLAMA2C) {
        st = encode_llama2c(t, s, len, &v, &cnt, &cap, e);
    } else {
        /* added tokens split the text first; each segment between them is encoded alone */
        size_t seg = 0;
        int first = 1;
        for (size_t i = 0; i <= len && !st;) {
            int hit = -1, hit_len = 0;
            for (int a = 0; a < t->n_added && i < len; a++) {
                int id = t->added[a], l = t->tok_len[id];
                if (l > hit_len && (size_t)l <= len - i && !memcmp(s + i, t->tok[id], (size_t)l)) { hit = id; hit_len = l; }
            }
            if (hit < 0 && i < len) { i++; continue; }
            if (i > seg) st = mlm_tok_encode_hf(t, s + seg, i - seg, first, &v, &cnt, &cap, e);
            first = 0;
            if (hit < 0) break;
            if (!st && mlm_tok_push(&v, &cnt, &cap, hit)) goto oom;
            i += (size_t)hit_len;
            seg = i;
        }
    }
    if (st) { free(v); return st; }
    *ids = v;
    *n = cnt;
    return MLM_OK;
oom:
    free(v);
    return mlm_fail(e, MLM_ENOMEM, "tokenizer: out of memory");
}

/* ---- llama2.c tokenizer.bin ---------------------------------------------------------------- */

static int32_t rd32(const unsigned char *b) {
    return (int32_t)((uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24);
}

static mlm_tokenizer *load_llama2c(const char *path, mlm_err *e) {
    char *buf;
    size_t len;
    char w[600];
    snprintf(w, sizeof w, "tokenizer '%.560s'", path);
    if (mlm_read_file(path, MAX_TOKENIZER_BYTES, &buf, &len, e)) return NULL;
    const unsigned char *b = (const unsigned char *)buf;
    mlm_tokenizer *t = NULL;
    if (len < 4) { mlm_fail(e, MLM_EFORMAT, "%s: shorter than the 4-byte max_token_length", w); goto fail; }
    int32_t maxlen = rd32(b);
    if (maxlen <= 0 || maxlen > 65536) {
        mlm_fail(e, MLM_EFORMAT, "%s: max_token_length %d is not in [1, 65536] (not a llama2.c tokenizer.bin?)", w, maxlen);
        goto fail;
    }
    /* first pass: count and validate the records */
    int n = 0;
    size_t o = 4;
    while (o < len) {
        if (len - o < 8) { mlm_fail(e, MLM_EFORMAT, "%s: token %d: record truncated at byte %zu", w, n, o); goto fail; }
        float sc;
        memcpy(&sc, b + o, 4);
        int32_t l = rd32(b + o + 4);
        if (!isfinite(sc)) { mlm_fail(e, MLM_EFORMAT, "%s: token %d has a NaN or Inf score", w, n); goto fail; }
        if (l < 0 || l > maxlen) {
            mlm_fail(e, MLM_EFORMAT, "%s: token %d has length %d, outside [0, max_token_length %d]", w, n, l, maxlen);
            goto fail;
        }
        if ((size_t)l > len - o - 8) { mlm_fail(e, MLM_EFORMAT, "%s: token %d: bytes truncated", w, n); goto fail; }
        o += 8 + (size_t)l;
        if (++n > MAX_VOCAB) { mlm_fail(e, MLM_EFORMAT, "%s: more than %d tokens", w, MAX_VOCAB); goto fail; }
    }
    if (n == 0) { mlm_fail(e, MLM_EFORMAT, "%s: holds no tokens", w); goto fail; }
    t = calloc(1, sizeof *t);
    if (!t) { mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w); goto fail; }
    t->kind = MLM_TOK_LLAMA2C;
    if (mlm_tok_alloc(t, n, w, e)) goto fail;
    t->score = malloc((size_t)n * sizeof *t->score);
    if (!t->score) { mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w); goto fail; }
    o = 4;
    for (int i = 0; i < n; i++) {
        memcpy(&t->score[i], b + o, 4);
        int32_t l = rd32(b + o + 4);
        t->tok[i] = malloc((size_t)l + 1);
        if (!t->tok[i]) { mlm_fail(e, MLM_ENOMEM, "%s: out of memory", w); goto fail; }
        memcpy(t->tok[i], b + o + 8, (size_t)l);
        t->tok[i][l] = '\0';
        t->tok_len[i] = l;
        o += 8 + (size_t)l;
    }
    /* control tokens: llama2.c's export writes <unk>, "\n<s>\n", "\n</s>\n" at ids 0, 1, 2 */
    t->unk = 0;
    t->bos = n > 1 ? 1 : -1;
    t->eos = n > 2 ? 2 : -1;
    for (int i = 0; i < n && i < 3; i++) {
        const char *s = t->tok[i];
        if (strstr(s, "<unk>") || strstr(s, "<s>") || strstr(s, "</s>")) t->special[i] = 1;
    }
    if (mlm_tok_finish(t, w, e)) goto fail;
    free(buf);
    return t;
fail:
    mlm_tokenizer_free(t);
    free(buf);
    return NULL;
}

mlm_status mlm_tokenizer_save_llama2c(const char *path, const char *const *tokens, const float *scores, int n,
                                      mlm_err *e) {
    size_t total = 4;
    int32_t maxlen = 1;
    for (int i = 0; i < n; i++) {
        size_t l = strlen(tokens[i]);
        total += 8 + l;
        if ((int32_t)l > maxlen) maxlen = (int32_t)l;
    }
    unsigned char *buf = malloc(total);
    if (!buf) return mlm_fail(e, MLM_ENOMEM, "tokenizer '%s': out of memory", path);
    size_t o = 0;
    for (int k = 0; k < 4; k++) buf[o++] = (unsigned char)((uint32_t)maxlen >> (8 * k));
    for (int i = 0; i < n; i++) {
        uint32_t l = (uint32_t)strlen(tokens[i]);
        memcpy(buf + o, &scores[i], 4);
        o += 4;
        for (int k = 0; k < 4; k++) buf[o++] = (unsigned char)(l >> (8 * k));
        memcpy(buf + o, tokens[i], l);
        o += l;
    }
    mlm_status st = mlm_write_file_atomic(path, buf, total, e);
    free(buf);
    return st;
}

/* ---- loading and finding ------------------------------------------------------------------- */

mlm_tokenizer *mlm_tokenizer_bytes(void) {
    mlm_tokenizer *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    t->kind = MLM_TOK_BYTES;
    t->bos = t->eos = t->unk = -1;
    if (mlm_tok_alloc(t, 256, "bytes", NULL)) { mlm_tokenizer_free(t); return NULL; }
    for (int i = 0; i < 256; i++) {
        t->tok[i] = malloc(2);
        if (!t->tok[i]) { mlm_tokenizer_free(t); return NULL; }
        t->tok[i][0] = (char)i;
        t->tok[i][1] = '\0';
        t->tok_len[i] = 1;
    }
    if (mlm_tok_finish(t, "bytes", NULL)) { mlm_tokenizer_free(t); return NULL; }
    return t;
}

static int is_file(const char *p) {
    struct stat sb;
    return stat(p, &sb) == 0 && S_ISREG(sb.st_mode);
}

static int ends_with(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && !strcmp(s + a - b, suf);
}

int mlm_tokenizer_find(const char *model, char *buf, size_t cap) {
    struct stat sb;
    if (!model || stat(model, &sb) != 0) return 0;
    char dir[4096];
    if (S_ISDIR(sb.st_mode)) snprintf(dir, sizeof dir, "%s", model);
    else {
        const char *sl = strrchr(model, '/');
        if (sl) snprintf(dir, sizeof dir, "%.*s", (int)(sl - model), model);
        else snprintf(dir, sizeof dir, ".");
        if (!dir[0]) snprintf(dir, sizeof dir, "/");
    }
    const char *order[2] = {"tokenizer.json", "tokenizer.bin"};
    if (S_ISREG(sb.st_mode) && ends_with(model, ".bin")) { order[0] = "tokenizer.bin"; order[1] = "tokenizer.json"; }
    for (int i = 0; i < 2; i++) {
        char p[4200];
        snprintf(p, sizeof p, "%s/%s", dir, order[i]);
        if (is_file(p) && strcmp(p, model)) {
            snprintf(buf, cap, "%s", p);
            return 1;
        }
    }
    return 0;
}

mlm_tokenizer *mlm_tokenizer_load(const char *path, mlm_err *e) {
    struct stat sb;
    if (!path || stat(path, &sb) != 0) {
        mlm_fail(e, MLM_EIO, "tokenizer '%s': no such file or directory", path ? path : "(null)");
        return NULL;
    }
    if (S_ISDIR(sb.st_mode)) {
        char p[4200];
        if (!mlm_tokenizer_find(path, p, sizeof p)) {
            mlm_fail(e, MLM_EIO, "tokenizer directory '%s': no tokenizer.json or tokenizer.bin in it", path);
            return NULL;
        }
        return mlm_tokenizer_load(p, e);
    }
    if (!ends_with(path, ".json")) return load_llama2c(path, e);
    char *buf;
    size_t len;
    if (mlm_read_file(path, MAX_TOKENIZER_BYTES, &buf, &len, e)) return NULL;
    char w[600];
    snprintf(w, sizeof w, "tokenizer '%.560s'", path);
    mlm_tokenizer *t = mlm_tok_load_hf(buf, len, w, e);
    free(buf);
    return t;
}
