/* 10_induction_forming.c - the analysis program: see demos/common/analysis_10.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_10(argc, argv, NULL); }
