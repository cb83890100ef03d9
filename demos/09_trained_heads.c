/* 09_trained_heads.c - the analysis program: see demos/common/analysis_09.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_09(argc, argv, NULL); }
