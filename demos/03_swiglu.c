/* 03_swiglu.c - the analysis program: see demos/common/analysis_03.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_03(argc, argv, NULL); }
