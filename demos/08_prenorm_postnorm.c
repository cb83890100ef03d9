/* 08_prenorm_postnorm.c - the analysis program: see demos/common/analysis_08.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_08(argc, argv, NULL); }
