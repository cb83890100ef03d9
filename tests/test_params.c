/* test_params.c - parameter accounting against the models' published totals, the reference's
 * per-block numbers (analysis 2), the weight layout, LoRA and tensor-parallel shares, and the
 * memory module (weights, KV cache, the saved-activation count of mlm_acts). */
#include "check.h"
#include "config.h"
#include "forward.h"
#include "memory.h"
#include "model.h"
#include "params.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static mlm_param_counts counts(const char *name) {
    mlm_param_counts p;
    memset(&p, 0, sizeof p);
    const mlm_config *c = mlm_preset_find(name);
    if (!c || mlm_params_count(c, &p, NULL)) printf("FAIL: preset %s missing or invalid\n", name);
    return p;
}

/* Published totals: the sum of the tensors in each model's released weight files. The
 * sources are cited beside each figure (docs/accounting.md explains them in full). */
static const struct { const char *name; int64_t total; } published[] = {
    /* meta-llama/Llama-2-7b-hf; issue 6. Its model.safetensors.index.json says total_size
       13,476,839,424 = 2 x 6,738,415,616 + 8,192: the index (copied from the .bin index) also
       counts 32 rotary inv_freq buffers of 64 fp32 values, which are not parameters. */
    {"llama2-7b", INT64_C(6738415616)},
    /* meta-llama/Llama-2-13b-hf: sum of tensor sizes (Together's model_param_count table) */
    {"llama2-13b", INT64_C(13015864320)},
    /* meta-llama/Llama-2-70b-hf: sum of tensor sizes (the same table) */
    {"llama2-70b", INT64_C(68976648192)},
    /* meta-llama/Meta-Llama-3-8B: Hugging Face safetensors parameter count (BF16); issue 6 */
    {"llama3-8b", INT64_C(8030261248)},
    /* meta-llama/Meta-Llama-3-70B: Hugging Face safetensors parameter count (BF16) */
    {"llama3-70b", INT64_C(70553706496)},
    /* meta-llama/Llama-3.1-405B: Hugging Face safetensors parameter count (BF16) */
    {"llama3.1-405b", INT64_C(405853388800)},
    /* meta-llama/Llama-3.2-1B: safetensors parameter count (BF16; lm_head tied, not stored) */
    {"llama3.2-1b", INT64_C(1235814400)},
    /* meta-llama/Llama-3.2-3B: safetensors parameters.BF16 = 3,212,749,824 (lm_head tied) */
    {"llama3.2-3b", INT64_C(3212749824)},
    /* mistralai/Mistral-7B-v0.1 (and v0.2 Instruct, same shapes): parameter count; issue 6 */
    {"mistral-7b", INT64_C(7241732096)},
    /* TinyLlama/TinyLlama-1.1B-intermediate-step-1431k-3T: sum(p.numel() for p in
       model.parameters()); safetensors metadata {"F32": 1100048384} */
    {"tinyllama-1.1b", INT64_C(1100048384)},
    /* HuggingFaceTB/SmolLM2-135M: safetensors total 134,515,008 (BF16) */
    {"smollm2-135m", INT64_C(134515008)},
    /* HuggingFaceTB/SmolLM2-360M: safetensors total 361,821,120 */
    {"smollm2-360m", INT64_C(361821120)},
    /* HuggingFaceTB/SmolLM2-1.7B: safetensors total 1,711,376,384 (lm_head shares embed_tokens) */
    {"smollm2-1.7b", INT64_C(1711376384)},
    /* codellama/CodeLlama-34b-hf: num_parameters 33,743,970,304 (Together's model list) */
    {"codellama-34b", INT64_C(33743970304)},
    /* llama2.c stories15M.bin (README headline "15M"): the file is the 7-int header, the
       weights, and the legacy freq_cis_real/imag tables (2 x seq_len x head_dim/2 floats) that
       are not parameters: 28 + 4 * (15,191,712 + 2*256*24) = 60,816,028 bytes */
    {"stories15m", INT64_C(15191712)},
    /* stories42M.bin (headline "42M"): 28 + 4 * (41,689,600 + 2*1024*32) bytes */
    {"stories42m", INT64_C(41689600)},
    /* stories110M.bin (headline "110M"): 28 + 4 * (109,529,856 + 2*1024*32) bytes */
    {"stories110m", INT64_C(109529856)},
};

static void test_published(void) {
    char what[128];
    for (size_t i = 0; i < sizeof published / sizeof published[0]; i++) {
        mlm_param_counts p = counts(published[i].name);
        snprintf(what, sizeof what, "%s total == published %lld", published[i].name, (long long)published[i].total);
        CHECK_NEAR((double)p.total, (double)published[i].total, 0, what);
    }
    /* every real-model preset has a published total above */
    for (int i = 0; i < mlm_preset_count(); i++) {
        const mlm_config *c = mlm_preset_at(i);
        if (!strcmp(c->name, "block-demo") || !strcmp(c->name, "microlm")) continue;
        int found = 0;
        for (size_t j = 0; j < sizeof published / sizeof published[0]; j++) found |= !strcmp(published[j].name, c->name);
        snprintf(what, sizeof what, "preset %s has a published total in the test", c->name);
        CHECK(found, what);
        snprintf(what, sizeof what, "preset %s records its source", c->name);
        CHECK(strlen(c->source) > 10, what);
    }
    /* the 17 names of issue 6 exist */
    const char *names[] = {"llama2-7b", "llama2-13b", "llama2-70b", "llama3-8b", "llama3-70b", "llama3.1-405b",
                           "llama3.2-1b", "llama3.2-3b", "mistral-7b", "tinyllama-1.1b", "smollm2-135m",
                           "smollm2-360m", "smollm2-1.7b", "codellama-34b", "stories15m", "stories42m", "stories110m"};
    int all = 1;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) all &= mlm_preset_find(names[i]) != NULL;
    CHECK(all, "all 17 real-model presets exist");
    CHECK(!strcmp(mlm_preset_at(0)->name, "block-demo") && !strcmp(mlm_preset_at(1)->name, "microlm") &&
              !strcmp(mlm_preset_at(2)->name, "stories15m"),
          "the three original presets stay first");
    CHECK(mlm_preset_find("llama3.2-1b")->tied && mlm_preset_find("stories110m")->tied &&
              mlm_preset_find("smollm2-135m")->tied && !mlm_preset_find("llama3-8b")->tied,
          "tied flags: llama3.2, stories, smollm2 tied; llama3 untied");
}

static void test_layout_equality(void) {
    char what[128];
    for (int i = 0; i < mlm_preset_count(); i++) {
        const mlm_config *c = mlm_preset_at(i);
        mlm_param_counts p;
        mlm_tensor_info *t = NULL;
        int n = 0;
        int64_t total = -1;
        int ok = !mlm_params_count(c, &p, NULL) && !mlm_layout(c, &t, &n, &total, NULL);
        snprintf(what, sizeof what, "%s: params total == mlm_layout element count", c->name);
        CHECK(ok && total == p.total, what);
        /* per-tensor: block matrices of layer 0 equal the per-matrix counts */
        int64_t sum = 0, wq = -1, wk = -1, wg = -1, wd = -1, emb = -1, head = 0;
        for (int k = 0; ok && k < n; k++) {
            sum += t[k].numel;
            if (!strcmp(t[k].name, "blocks.0.attn.wq")) wq = t[k].numel;
            if (!strcmp(t[k].name, "blocks.0.attn.wk")) wk = t[k].numel;
            if (!strcmp(t[k].name, "blocks.0.ffn.w_gate")) wg = t[k].numel;
            if (!strcmp(t[k].name, "blocks.0.ffn.w_down")) wd = t[k].numel;
            if (!strcmp(t[k].name, "tok_emb")) emb = t[k].numel;
            if (!strcmp(t[k].name, "lm_head")) head = t[k].numel;
        }
        snprintf(what, sizeof what, "%s: per-matrix counts equal the layout tensors", c->name);
        CHECK(ok && sum == p.total && wq == p.wq && wk == p.wk && wg == p.w_gate && wd == p.w_down &&
                  emb == p.embedding && head == p.lm_head,
              what);
        free(t);
    }
    /* the same for odd shapes: ReLU FFN, post-norm, head_dim != d/h, tied */
    mlm_config c;
    mlm_config_default(&c);
    c.d_model = 48; c.n_heads = 4; c.n_kv_heads = 2; c.head_dim = 16; c.d_ff = 100; c.n_layers = 3;
    c.vocab_size = 77; c.ffn = MLM_FFN_RELU; c.norm_pos = MLM_POSTNORM; c.tied = 1;
    mlm_param_counts p;
    mlm_tensor_info *t = NULL;
    int n;
    int64_t total = -1;
    int ok = !mlm_params_count(&c, &p, NULL) && !mlm_layout(&c, &t, &n, &total, NULL);
    CHECK(ok && total == p.total && p.w_gate == 0 && p.wq == 48 * 64 && p.wo == 64 * 48,
          "relu / post-norm / head_dim 16 x 4 heads on d 48 / tied: total == layout");
    free(t);
}

static void test_reference_blocks(void) {
    /* stdout.txt, Example 2: totals per block and the GQA saving */
    CHECK_NEAR((double)counts("llama3-8b").block, 218112000, 0, "Llama 3 8B block incl. norms 218,112,000 (218.1M)");
    CHECK_NEAR((double)counts("mistral-7b").block, 218112000, 0, "Mistral 7B block 218,112,000");
    CHECK_NEAR((double)counts("llama2-7b").block, 202383360, 0, "Llama 2 7B block 202,383,360");
    CHECK_NEAR((double)counts("llama2-70b").block, 855654400, 0, "Llama 2 70B block 855,654,400");
    mlm_param_counts p = counts("llama2-70b");
    CHECK_NEAR((double)p.attn_mha, 268435456, 0, "Llama 2 70B MHA attention 4 d^2 = 268.4M");
    CHECK_NEAR((double)p.attn, 150994944, 0, "Llama 2 70B GQA attention 151.0M");
    CHECK_NEAR(1.0 - (double)p.attn / (double)p.attn_mha, 0.4375, 1e-15, "GQA saves 43.75% of attention (Llama 2 70B)");
    CHECK_NEAR((double)p.norms, 16384, 0, "Llama 2 70B norms per block 16384");
    /* table columns: Attn (M), FFN (M), Attn%, FFN% */
    mlm_param_counts q = counts("llama2-7b");
    CHECK_NEAR(100.0 * q.attn / q.block, 33.2, 0.05, "Llama 2 7B attention 33.2% of a block");
    CHECK_NEAR(100.0 * q.ffn / q.block, 66.8, 0.05, "Llama 2 7B FFN 66.8% of a block (~2/3 with MHA)");
    mlm_param_counts r = counts("llama3-8b");
    CHECK_NEAR(100.0 * r.ffn / r.block, 80.8, 0.05, "Llama 3 8B FFN 80.8% of a block (GQA)");
    CHECK_NEAR((double)r.blocks / 1e9, 6.98, 0.005, "Llama 3 8B blocks x layers 6.98B");
    CHECK_NEAR((double)counts("llama2-70b").blocks / 1e9, 68.45, 0.005, "Llama 2 70B blocks x layers 68.45B");
    /* Example 3: 2-matrix ReLU FFN vs 3-matrix SwiGLU at d 32, d_ff 64 */
    mlm_config c;
    mlm_config_default(&c);
    c.d_model = 32; c.n_heads = 4; c.n_kv_heads = 2; c.head_dim = 8; c.d_ff = 64;
    mlm_param_counts s;
    mlm_params_count(&c, &s, NULL);
    CHECK_NEAR((double)s.ffn, 6144, 0, "SwiGLU FFN 3 d d_ff = 6,144 (d 32, d_ff 64)");
    c.ffn = MLM_FFN_RELU;
    mlm_params_count(&c, &s, NULL);
    CHECK_NEAR((double)s.ffn, 4096, 0, "ReLU FFN 2 d d_ff = 4,096");
}

static void test_tied_untied(void) {
    mlm_param_counts p = counts("llama3.2-1b");
    CHECK(p.lm_head == 0 && p.total == p.total_tied && p.total_untied == p.total + 128256LL * 2048,
          "llama3.2-1b tied: lm_head 0, untied adds V*d");
    mlm_param_counts q = counts("llama3-8b");
    CHECK(q.lm_head == q.embedding && q.total == q.total_untied && q.total_tied == q.total - q.embedding,
          "llama3-8b untied: lm_head == embedding");
    CHECK(q.non_embedding == q.blocks + q.final_norm, "non-embedding = blocks + final norm");
    mlm_config bad = *mlm_preset_find("llama3-8b");
    bad.n_kv_heads = 7;
    mlm_err e = {{0}};
    CHECK(mlm_params_count(&bad, &q, &e) == MLM_EINVAL && strstr(e.msg, "n_kv_heads"), "invalid config -> error naming the field");
}

static void test_lora(void) {
    int64_t tot = 0, layer = 0;
    unsigned m = 0;
    CHECK(!mlm_lora_parse_targets("q,v", &m, NULL) && m == (MLM_LORA_Q | MLM_LORA_V), "parse q,v");
    CHECK(!mlm_lora_params(mlm_preset_find("llama2-7b"), 8, m, &tot, &layer, NULL) && tot == 4194304 && layer == 131072,
          "LoRA r=8 on q,v of Llama 2 7B: 4,194,304 trainable (8 * (4096 + 4096) * 2 * 32)");
    CHECK(!mlm_lora_parse_targets("all", &m, NULL) && m == MLM_LORA_ALL, "parse all");
    /* Llama 3 8B r=16 all: 16 * [ (4096+4096)*2 + (4096+1024)*2 + (4096+14336)*3 ] * 32 */
    int64_t want = 16LL * ((4096 + 4096) * 2 + (4096 + 1024) * 2 + (4096 + 14336) * 3) * 32;
    CHECK(!mlm_lora_params(mlm_preset_find("llama3-8b"), 16, m, &tot, NULL, NULL) && tot == want,
          "LoRA r=16 on all seven matrices of Llama 3 8B: r (in + out) per matrix per layer");
    mlm_err e = {{0}};
    CHECK(mlm_lora_parse_targets("q,x", &m, &e) == MLM_EINVAL && strstr(e.msg, "\"x\""), "unknown LoRA target named");
    CHECK(mlm_lora_params(mlm_preset_find("llama3-8b"), 0, MLM_LORA_Q, &tot, NULL, &e) == MLM_EINVAL, "rank 0 refused");
    char buf[64];
    mlm_lora_targets_name(MLM_LORA_ATTN, buf, sizeof buf);
    CHECK(!strcmp(buf, "q,k,v,o"), "target names of attn");
}

static void test_tp(void) {
    mlm_tp_plan t;
    const mlm_config *c = mlm_preset_find("llama2-70b");
    mlm_param_counts p = counts("llama2-70b");
    CHECK(!mlm_tp_plan_make(c, 1, &t, NULL) && t.per_device_total == p.total && t.allreduce_values_token == 0,
          "TP degree 1: one device holds everything, no all-reduce");
    CHECK(!mlm_tp_plan_make(c, 8, &t, NULL), "TP 8 on Llama 2 70B");
    /* every sharded matrix / 8, norms replicated, vocab 32000 divisible by 8 */
    int64_t want = (p.block - p.norms) / 8 * 80 + p.norms * 80 + p.final_norm + 2 * p.embedding / 8;
    CHECK(t.per_device_total == want && t.kv_heads_per_device == 1, "TP 8: per-device = shards/8 + replicated norms");
    CHECK(t.allreduce_values_token == (2 * 80 + 1) * 8192, "TP: 2 all-reduces of d per layer + 1 after the embedding");
    CHECK_NEAR(t.ring_send_values_token, 2.0 * 7 / 8 * (2 * 80 + 1) * 8192, 1e-6, "ring all-reduce sends 2(P-1)/P");
    CHECK(!mlm_tp_plan_make(c, 16, &t, NULL) && t.kv_heads_per_device == 1, "TP 16 > 8 KV heads: KV heads replicated");
    mlm_err e = {{0}};
    CHECK(mlm_tp_plan_make(mlm_preset_find("llama3-8b"), 3, &t, &e) == MLM_EINVAL && strstr(e.msg, "n_heads"),
          "TP 3 on 32 heads refused, naming n_heads");
    CHECK(!mlm_tp_plan_make(mlm_preset_find("smollm2-135m"), 3, &t, NULL) && t.vocab_padded == 49152,
          "TP 3 on SmolLM2-135M (9 heads, 3 KV heads)");
}

static void test_memory(void) {
    mlm_param_counts p = counts("llama2-7b");
    CHECK(mlm_memory_bytes(p.total, MLM_DT_FP32) == 4ULL * 6738415616ULL, "fp32 weights = 4 bytes/param");
    CHECK(mlm_memory_bytes(p.total, MLM_DT_BF16) == 2ULL * 6738415616ULL, "bf16 weights = 2 bytes/param");
    CHECK(mlm_memory_bytes(p.total, MLM_DT_INT8) == 6738415616ULL, "int8 weights = 1 byte/param");
    CHECK(mlm_memory_bytes(p.total, MLM_DT_INT4) == 6738415616ULL / 2, "int4 weights = 1/2 byte/param");
    CHECK(mlm_memory_bytes(3, MLM_DT_INT4) == 2, "int4 rounds up to whole bytes");
    uint64_t b = 0;
    int64_t v = 0;
    CHECK(!mlm_memory_kv_cache(mlm_preset_find("llama2-7b"), 1, 4096, MLM_DT_BF16, 0, &v, &b, NULL) &&
              b == 2ULL * 32 * 4096 * 4096 * 2,
          "KV cache Llama 2 7B, 4096 tokens, bf16 = 2 GiB");
    CHECK(!mlm_memory_kv_cache(mlm_preset_find("llama3-8b"), 4, 8192, MLM_DT_FP32, 0, &v, &b, NULL) &&
              v == 2LL * 32 * 4 * 8192 * 8 * 128 && b == 4ULL * (uint64_t)v,
          "KV cache = 2 L B T h_kv d_k values");
    CHECK(!mlm_memory_kv_cache(mlm_preset_find("mistral-7b"), 1, 32768, MLM_DT_BF16, 1, &v, &b, NULL) &&
              v == 2LL * 32 * 4096 * 1024,
          "Mistral KV cache with the 4096 window as a rolling buffer");
    mlm_dtype dt;
    mlm_err e = {{0}};
    CHECK(!mlm_dtype_parse("bf16", &dt, NULL) && dt == MLM_DT_BF16 && mlm_dtype_parse("fp12", &dt, &e) == MLM_EINVAL &&
              strstr(e.msg, "fp12"),
          "dtype parsing");

    /* saved activations == mlm_acts_new's allocation minus its scratch buffers */
    const char *shapes[] = {"block-demo", "microlm", "stories15m"};
    for (int s = 0; s < 3; s++)
        for (int variant = 0; variant < 3; variant++)
            for (int fb = 0; fb < 2; fb++) {
                mlm_config c = *mlm_preset_find(shapes[s]);
                c.n_layers = c.n_layers > 2 ? 2 : c.n_layers;
                c.vocab_size = c.vocab_size > 512 ? 512 : c.vocab_size;
                if (variant == 1) c.ffn = MLM_FFN_RELU;
                if (variant == 2) c.norm_pos = MLM_POSTNORM;
                int B = 2, T = 7;
                mlm_acts *a = mlm_acts_new(&c, B, T, fb, NULL);
                int64_t N = (int64_t)B * T, scratch = N * mlm_q_dim(&c) + N * mlm_kv_dim(&c) +
                                                      (int64_t)B * c.n_heads * T * T + 2 * N * mlm_q_dim(&c) +
                                                      N * c.d_model + N * c.d_ff + N * c.d_model +
                                                      (int64_t)T * c.head_dim; /* RoPE table */
                int64_t saved = mlm_memory_acts_numel(&c, B, T, fb);
                char what[128];
                snprintf(what, sizeof what, "%s %s for_backward=%d: saved activations == mlm_acts_new - scratch",
                         shapes[s], variant == 0 ? "swiglu" : variant == 1 ? "relu" : "post-norm", fb);
                CHECK(a && saved > 0 && a->numel == saved + scratch, what);
                mlm_acts_free(a);
            }
    mlm_memory_train mt;
    CHECK(!mlm_memory_training(mlm_preset_find("llama2-7b"), 1, 128, MLM_DT_FP32, MLM_DT_FP32, &mt, NULL) &&
              mt.weights == 4ULL * 6738415616ULL && mt.optimizer == 8ULL * 6738415616ULL &&
              mt.total == mt.weights + mt.grads + mt.optimizer + mt.activations,
          "training memory: fp32 weights + grads + AdamW moments + activations");
    CHECK(mlm_memory_acts_numel(mlm_preset_find("llama2-7b"), 0, 8, 1) == -1, "bad batch -> -1");
}

/* Runs `microlm ARGS`, returns the exit status and (when out is non-NULL) stdout. */
static int run_cli(const char *bin, const char *args, char *out, size_t cap) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s %s 2>/dev/null", bin, args);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    size_t n = 0;
    char buf[4096];
    size_t k;
    while ((k = fread(buf, 1, sizeof buf, f)) > 0)
        if (out && n + k < cap) { memcpy(out + n, buf, k); n += k; }
    if (out) out[n] = 0;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli(void) {
    const char *b = getenv("MLM_BUILD");
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/microlm", b && *b ? b : "build/float");
    if (access(bin, X_OK) != 0) {
        printf("(microlm not built at %s: CLI checks skipped)\n", bin);
        return;
    }
    static char out[1 << 16];
    int rc = run_cli(bin, "params llama3-8b --json", out, sizeof out);
    cJSON *j = cJSON_Parse(out);
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "total");
    CHECK(rc == 0 && cJSON_IsNumber(t) && t->valuedouble == 8030261248.0,
          "microlm params llama3-8b --json: top-level integer total 8030261248");
    cJSON_Delete(j);
    rc = run_cli(bin, "flops llama3-8b --seq 4096 --dense --json", out, sizeof out);
    j = cJSON_Parse(out);
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, "crossover");
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(x, "core_eq_ffn_dense_rounded");
    CHECK(rc == 0 && cJSON_IsNumber(r) && r->valuedouble == 21296, "microlm flops --json: crossover 21296");
    cJSON_Delete(j);
    CHECK(run_cli(bin, "params llama3-8b --bogus", NULL, 0) == 2, "bad flag: exit 2");
    CHECK(run_cli(bin, "flops llama3-8b", NULL, 0) == 2, "flops without --seq: exit 2");
    CHECK(run_cli(bin, "params no-such-model", NULL, 0) == 1, "unknown model: exit 1");
    rc = run_cli(bin, "compare --all --csv", out, sizeof out);
    int lines = 0;
    for (char *q = out; *q; q++) lines += *q == '\n';
    CHECK(rc == 0 && lines == mlm_preset_count() + 1, "compare --all --csv: one row per preset");
    rc = run_cli(bin, "memory llama3-8b --seq 8192 --json", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"bytes\": 1073741824"), "memory --json: Llama 3 8B KV cache at 8192 bf16 = 1 GiB");
}

int main(void) {
    test_published();
    test_layout_equality();
    test_reference_blocks();
    test_tied_untied();
    test_lora();
    test_tp();
    test_memory();
    test_cli();
    return check_done();
}
