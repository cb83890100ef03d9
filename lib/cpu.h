/* cpu.h - run-time CPU feature detection: which instruction-set path the fast kernels take.
 *
 * The library is compiled for the baseline ISA of the target (x86-64 with SSE2 by default);
 * the AVX-512 kernels are compiled per function (__attribute__((target(...)))) and chosen
 * here at run time, so one binary runs everywhere and is fast where the CPU allows.
 *
 * The environment variable MLM_ISA forces a path: MLM_ISA=portable takes the plain C
 * kernels even on an AVX-512 machine (the tests use it to compare the paths); MLM_ISA=avx512
 * asks for AVX-512 and falls back to portable when the CPU lacks it. */
#ifndef MLM_CPU_H
#define MLM_CPU_H

typedef enum {
    MLM_ISA_PORTABLE = 0, /* plain C, whatever the compiler makes of it */
    MLM_ISA_AVX512 = 1    /* AVX-512 F + BW + VL with FMA */
} mlm_isa;

/* The path the fast kernels take (detected once, then cached; MLM_ISA honoured). */
mlm_isa mlm_cpu_isa(void);
/* 1 when the CPU has the AVX-512 BF16 dot-product instructions (vdpbf16ps) and the path above
 * is AVX-512. */
int mlm_cpu_has_avx512_bf16(void);
/* Force a path for the rest of the process (tests and benches): MLM_ISA_AVX512 is accepted
 * only when the CPU supports it. Returns the path now in force. Not thread-safe: call it
 * between parallel regions. */
mlm_isa mlm_cpu_set_isa(mlm_isa isa);
/* "avx512" or "portable" */
const char *mlm_isa_name(mlm_isa isa);
/* The CPU model string from /proc/cpuinfo (or "unknown"), into buf. */
void mlm_cpu_model(char *buf, int cap);

#endif
