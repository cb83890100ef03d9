/* 04_residual.c - the analysis program: see demos/common/analysis_04.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_04(argc, argv, NULL); }
