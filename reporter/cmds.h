/*
 * The subcommands: each parses its own options, prints, and returns the
 * exit status (0 ok, 1 error, 2 usage). argv[0] is the subcommand name.
 */
#ifndef CPROF_REPORTER_CMDS_H
#define CPROF_REPORTER_CMDS_H

int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);

/* Prints the pstats table of a profile file, top `limit` rows by
 * cumulative time, as `cprof run` does after the program ends. */
int report_summary(const char *path, int limit);

#endif
