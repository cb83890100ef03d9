/* 05_flops_crossover.c - the analysis program: see demos/common/analysis_05.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_05(argc, argv, NULL); }
