/* 06_causal_rope.c - the analysis program: see demos/common/analysis_06.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_06(argc, argv, NULL); }
