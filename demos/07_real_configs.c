/* 07_real_configs.c - the analysis program: see demos/common/analysis_07.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_07(argc, argv, NULL); }
