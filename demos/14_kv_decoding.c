/* 14_kv_decoding.c - the analysis program: see demos/common/analysis_14.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_14(argc, argv, NULL); }
