/* commands.h - the subcommands of the `microlm` tool. Each takes the arguments after its
 * name (argv[0] is the subcommand name), prints its own errors as "microlm: <message>" on
 * one line, and returns the process exit status (0 ok, 1 runtime error, 2 bad usage). */
#ifndef MLM_CLI_COMMANDS_H
#define MLM_CLI_COMMANDS_H

int mlm_cmd_trace(int argc, char **argv);    /* cmd_trace.c */
int mlm_cmd_models(int argc, char **argv);   /* cmd_models.c */
int mlm_cmd_generate(int argc, char **argv); /* cmd_generate.c */
int mlm_cmd_params(int argc, char **argv);   /* cmd_analytic.c */
int mlm_cmd_flops(int argc, char **argv);    /* cmd_analytic.c */
int mlm_cmd_memory(int argc, char **argv);   /* cmd_analytic.c */
int mlm_cmd_compare(int argc, char **argv);  /* cmd_analytic.c */
int mlm_cmd_train(int argc, char **argv);    /* cmd_train.c */

#endif
