/* 12_long_inputs.c - the analysis program: see demos/common/analysis_12.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_12(argc, argv, NULL); }
