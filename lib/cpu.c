/* cpu.c - run-time CPU feature detection (see cpu.h). */
#include "cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int detected = -1;   /* the path the CPU supports, -1 until probed */
static int forced = -1;     /* a path set by mlm_cpu_set_isa, -1 when none */
static int has_bf16 = 0;

static void probe(void) {
    if (detected >= 0) return;
    int avx512 = 0;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    __builtin_cpu_init();
    /* __builtin_cpu_supports also checks that the OS saves the ZMM state (XGETBV). */
    avx512 = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
#if defined(__GNUC__) && !defined(__clang__) && __GNUC__ >= 12
    has_bf16 = avx512 && __builtin_cpu_supports("avx512bf16");
#endif
#endif
    int isa = avx512 ? MLM_ISA_AVX512 : MLM_ISA_PORTABLE;
    const char *env = getenv("MLM_ISA");
    if (env && strcmp(env, "portable") == 0) isa = MLM_ISA_PORTABLE;
    detected = isa;
}

mlm_isa mlm_cpu_isa(void) {
    probe();
    return (mlm_isa)(forced >= 0 ? forced : detected);
}

int mlm_cpu_has_avx512_bf16(void) {
    probe();
    return has_bf16 && mlm_cpu_isa() == MLM_ISA_AVX512;
}

mlm_isa mlm_cpu_set_isa(mlm_isa isa) {
    probe();
    int ok = 0;
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__)
    ok = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("fma");
#endif
    forced = (isa == MLM_ISA_AVX512 && !ok) ? MLM_ISA_PORTABLE : (int)isa;
    return (mlm_isa)forced;
}

const char *mlm_isa_name(mlm_isa isa) { return isa == MLM_ISA_AVX512 ? "avx512" : "portable"; }

void mlm_cpu_model(char *buf, int cap) {
    if (cap <= 0) return;
    snprintf(buf, (size_t)cap, "unknown");
    FILE *f = fopen("/proc/cpuinfo", "r");
    if (!f) return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "model name", 10) == 0) {
            const char *v = strchr(line, ':');
            if (v) {
                v++;
                while (*v == ' ' || *v == '\t') v++;
                snprintf(buf, (size_t)cap, "%s", v);
                size_t n = strlen(buf);
                if (n && buf[n - 1] == '\n') buf[n - 1] = 0;
            }
            break;
        }
    }
    fclose(f);
}
