/* 01_forward_pass.c - the analysis program: see demos/common/analysis_01.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_01(argc, argv, NULL); }
