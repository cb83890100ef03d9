/* 11_architecture_diagram.c - the analysis program: see demos/common/analysis_11.c and docs/. */
#include "analysis.h"

int main(int argc, char **argv) { return mlm_analysis_11(argc, argv, NULL); }
