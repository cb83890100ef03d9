/* 02_parameters.c - the analysis program: see demos/common/analysis_02.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_02(argc, argv, NULL); }
