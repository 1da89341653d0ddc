/*
 * What `cprof run` needs to start a program: where the runtimes are,
 * where the program is, and whether it is dynamic and instrumented.
 */
#define _GNU_SOURCE
#include "launch.h"
#include "util.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The runtime libraries sit in ../lib beside bin/cprof, in the build
 * tree and once installed alike; CPROF_LIBDIR overrides. */
char *runtime_path(const char *name)
{
	const char *dir = getenv("CPROF_LIBDIR");
	char exe[PATH_MAX];

	if (dir && *dir)
		return xstrfmt("%s/%s", dir, name);
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		return NULL;
	exe[n] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	return xstrfmt("%s/../lib/%s", exe, name);
}

/* PROGRAM as execvp() would find it; caller frees. NULL if not found. */
char *find_program(const char *prog)
{
	if (strchr(prog, '/'))
		return access(prog, X_OK) == 0 ? xstrdup(prog) : NULL;
	const char *path = getenv("PATH");
	char *copy = xstrdup(path && *path ? path : "/usr/local/bin:/usr/bin:/bin"), *save = NULL;
	for (char *d = strtok_r(copy, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
		char *full = xstrfmt("%s/%s", *d ? d : ".", prog);
		struct stat st;
		if (stat(full, &st) == 0 && S_ISREG(st.st_mode) && access(full, X_OK) == 0) {
			free(copy);
			return full;
		}
		free(full);
	}
	free(copy);
	return NULL;
}

/* Whether the program is dynamic and imports the instrumentation hooks. */
enum program_kind inspect_program(const char *path)
{
	enum program_kind kind = PROGRAM_NOT_ELF;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return PROGRAM_NOT_ELF;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		goto out;
	kind = PROGRAM_STATIC;
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_DYNSYM || !sh.sh_entsize)
			continue;
		kind = PROGRAM_PLAIN;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t n = data ? sh.sh_size / sh.sh_entsize : 0;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *name;
			if (gelf_getsym(data, (int)i, &sym) &&
			    (name = elf_strptr(elf, sh.sh_link, sym.st_name)) &&
			    strcmp(name, "__cyg_profile_func_enter") == 0) {
				kind = PROGRAM_INSTRUMENTED;
				break;
			}
		}
	}
out:
	if (elf)
		elf_end(elf);
	close(fd);
	return kind;
}

void set_env_prepend(const char *name, const char *value)
{
	const char *old = getenv(name);
	char *v = old && *old ? xstrfmt("%s:%s", value, old) : xstrdup(value);

	setenv(name, v, 1);
	free(v);
}
