/* 13_causal_predictions.c - the analysis program: see demos/common/analysis_13.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_13(argc, argv, NULL); }
