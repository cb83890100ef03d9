/* analysis.h - the six analyses (and those beyond them) as functions, so each demo program is
 * a thin main and the report program can run them all and put their figures in one PDF.
 *
 * Each mlm_analysis_NN parses its own flags (argv[0] is the program name). With out == NULL it
 * prints its tables, renders its figure (PNG, SVG, PDF) and writes its JSON into --out; with
 * out it runs quietly and hands the figure, the JSON, a findings paragraph and a caption to
 * the caller (who frees them with mlm_analysis_out_free). Returns the exit status. */
#ifndef MLM_ANALYSIS_H
#define MLM_ANALYSIS_H
#include <cjson/cJSON.h>

#include "demo.h"
#include "diagram.h"
#include "plot.h"

typedef struct {
    int verbose;          /* in: print the tables as the program would (the report driver) */
    mlmp_figure *fig;
    cJSON *json;
    mlmp_diagram *diagram; /* an extra Cairo diagram (analysis 11), or NULL */
    char name[64];        /* "01_forward_pass": the JSON's base name */
    char fig_name[64];    /* the figure's base name (defaults to name) */
    char title[160];      /* the analysis' title for the report */
    char finding[1600];   /* a paragraph built from the computed numbers (markup) */
    char caption[1600];   /* how to read the figure (markup) */
} mlm_analysis_out;

void mlm_analysis_out_free(mlm_analysis_out *o);

/* Hands fig and json to out (when non-NULL), or renders and saves them and frees them.
 * Returns 0 or 1. */
int mlm_analysis_finish(const mlm_demo *d, mlmp_figure *fig, cJSON *json, const char *base, mlm_analysis_out *out);

int mlm_analysis_01(int argc, char **argv, mlm_analysis_out *out);   /* forward pass walkthrough */
int mlm_analysis_02(int argc, char **argv, mlm_analysis_out *out);   /* parameters of real configs */
int mlm_analysis_03(int argc, char **argv, mlm_analysis_out *out);   /* SwiGLU gating */
int mlm_analysis_04(int argc, char **argv, mlm_analysis_out *out);   /* residual gradient highway */
int mlm_analysis_05(int argc, char **argv, mlm_analysis_out *out);   /* FLOPs and the crossover */
int mlm_analysis_06(int argc, char **argv, mlm_analysis_out *out);   /* causal masking and RoPE */
int mlm_analysis_07(int argc, char **argv, mlm_analysis_out *out);   /* real configs side by side */
int mlm_analysis_08(int argc, char **argv, mlm_analysis_out *out);   /* pre-norm vs post-norm, measured */
int mlm_analysis_09(int argc, char **argv, mlm_analysis_out *out);   /* trained heads vs initialisation */
int mlm_analysis_10(int argc, char **argv, mlm_analysis_out *out);   /* induction heads forming */
int mlm_analysis_11(int argc, char **argv, mlm_analysis_out *out);   /* the architecture diagram */
int mlm_analysis_12(int argc, char **argv, mlm_analysis_out *out);   /* long inputs stay readable */
int mlm_analysis_13(int argc, char **argv, mlm_analysis_out *out);   /* causal predictions made visible */
int mlm_analysis_14(int argc, char **argv, mlm_analysis_out *out);   /* KV-cache decoding step by step */

/* The run directory analyses 09 and 10 share (analysis_09.c): reuses dir when it holds a finished
 * run of the pinned induction model (lib/train.h defaults) with this seed and number of steps
 * (summary.json, config.json and train.json agree), otherwise trains it there, saying so.
 * *trained (may be NULL) is set to 1 when it trained. Returns 0, or 1 with the message printed. */
int mlm_induction_run_ensure(const mlm_demo *d, const char *dir, long steps, uint64_t seed, int *trained);

/* Every analysis in report order. */
typedef struct {
    const char *name;                                         /* "01_forward_pass" */
    int (*run)(int argc, char **argv, mlm_analysis_out *out);
} mlm_analysis_entry;
extern const mlm_analysis_entry mlm_analyses[];
extern const int mlm_analysis_count;

#endif
