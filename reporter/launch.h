/*
 * What `cprof run` needs to start a program (launch.c).
 */
#ifndef CPROF_REPORTER_LAUNCH_H
#define CPROF_REPORTER_LAUNCH_H

/* The path of runtime library name (caller frees), or NULL. */
char *runtime_path(const char *name);
/* PROGRAM as execvp() would find it; caller frees. NULL if not found. */
char *find_program(const char *prog);

enum program_kind { PROGRAM_NOT_ELF, PROGRAM_STATIC, PROGRAM_PLAIN, PROGRAM_INSTRUMENTED };
/* Whether the program is dynamic and imports the instrumentation hooks. */
enum program_kind inspect_program(const char *path);

/* name=value:old value (or value alone). */
void set_env_prepend(const char *name, const char *value);

#endif
