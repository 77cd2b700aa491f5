/* cli: the subcommands of the virtportal binary (argv[0] is the subcommand). */
#ifndef VP_CLI_H
#define VP_CLI_H

int cli_serve(int argc, char **argv);
int cli_demo(int argc, char **argv);
int cli_user(int argc, char **argv);
int cli_audit(int argc, char **argv);
int cli_plan(int argc, char **argv);

#endif
