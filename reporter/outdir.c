/*
 * The output directory of `cprof run`: what was there before the run,
 * what the run wrote, and the temporaries killed writers left behind.
 */
#define _GNU_SOURCE
#include "outdir.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int is_cprof_file(const char *name)
{
	size_t n = strlen(name);
	return name[0] != '.' && ((n > 5 && strcmp(name + n - 5, ".prof") == 0) ||
				  (n > 5 && strcmp(name + n - 5, ".snap") == 0));
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void list_dir(const char *dir, struct dir_listing *l)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	memset(l, 0, sizeof(*l));
	if (!d)
		return;
	while ((de = readdir(d))) {
		struct stat st;
		if (!is_cprof_file(de->d_name) || fstatat(dirfd(d), de->d_name, &st, 0) < 0)
			continue;
		l->names = xreallocarray(l->names, l->n + 1, sizeof(*l->names));
		l->ctimes = xreallocarray(l->ctimes, l->n + 1, sizeof(*l->ctimes));
		l->names[l->n] = xstrdup(de->d_name);
		l->ctimes[l->n++] = st.st_ctim;
	}
	closedir(d);
}

void release_listing(struct dir_listing *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->names[i]);
	free(l->names);
	free(l->ctimes);
}

static int is_unchanged(const struct dir_listing *before, const char *name, struct timespec ct)
{
	for (size_t i = 0; i < before->n; i++)
		if (strcmp(before->names[i], name) == 0)
			return before->ctimes[i].tv_sec == ct.tv_sec &&
			       before->ctimes[i].tv_nsec == ct.tv_nsec;
	return 0;
}

void list_written(const char *dir, const struct dir_listing *before, pid_t child,
			 struct written *w)
{
	struct dir_listing after;
	char **names = NULL, suffix[32], snap_part[32];
	size_t n = 0;
	long best_seq = 0;

	memset(w, 0, sizeof(*w));
	list_dir(dir, &after);
	snprintf(suffix, sizeof(suffix), ".%d.prof", (int)child);
	snprintf(snap_part, sizeof(snap_part), ".%d.", (int)child);
	for (size_t i = 0; i < after.n; i++)
		if (!is_unchanged(before, after.names[i], after.ctimes[i])) {
			names = xreallocarray(names, n + 1, sizeof(*names));
			names[n++] = xstrfmt("%s/%s", dir, after.names[i]);
		}
	release_listing(&after);
	if (n)	/* names is NULL when nothing was written */
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]), sl = strlen(suffix);
		fprintf(stderr, "cprof: wrote %s\n", util_display_path(names[i]));
		if (len > 5 && strcmp(names[i] + len - 5, ".prof") == 0) {
			w->profiles = xreallocarray(w->profiles, w->nprofiles + 1, sizeof(*w->profiles));
			w->profiles[w->nprofiles++] = xstrdup(names[i]);
		}
		if (!w->main_profile && len > sl && strcmp(names[i] + len - sl, suffix) == 0)
			w->main_profile = xstrdup(names[i]);
		/* PROG.PID.SEQ.snap: the child's own, highest SEQ (the exit one) */
		const char *base = strrchr(names[i], '/') + 1, *at = strstr(base, snap_part);
		if (at && len > 5 && strcmp(names[i] + len - 5, ".snap") == 0) {
			long seq = strtol(at + strlen(snap_part), NULL, 10);
			if (seq > best_seq) {
				best_seq = seq;
				free(w->last_snapshot);
				w->last_snapshot = xstrdup(names[i]);
			}
		}
	}
	if (!n)
		fprintf(stderr, "cprof: no files were written to '%s' (did the program end through _exit, exec or a signal?)\n",
			util_display_path(dir));
	w->files = names;
	w->nfiles = n;
}

void release_written(struct written *w)
{
	for (size_t i = 0; i < w->nfiles; i++)
		free(w->files[i]);
	free(w->files);
	for (size_t i = 0; i < w->nprofiles; i++)
		free(w->profiles[i]);
	free(w->profiles);
	free(w->main_profile);
	free(w->last_snapshot);
}

/*
 * A runtime writes ".NAME.tmpPID" and renames it to NAME when whole; a
 * process killed in between (SIGKILL, the OOM killer) leaves it. Those
 * of processes that no longer exist are removed, and said; a living
 * PID's is a file being written (a child that outlives the program).
 */
void remove_stale_temporaries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		const char *name = de->d_name, *tmp = NULL;
		for (const char *p = strstr(name, ".tmp"); p; p = strstr(p + 1, ".tmp"))
			tmp = p;
		if (name[0] != '.' || !tmp || !tmp[4] || tmp - name < 2)
			continue;
		char *end, *final = xstrfmt("%.*s", (int)(tmp - name - 1), name + 1);
		long pid = strtol(tmp + 4, &end, 10);
		int is_ours = !*end && pid > 0 && is_cprof_file(final);
		free(final);
		if (!is_ours || kill((pid_t)pid, 0) == 0 || errno != ESRCH)
			continue;
		if (unlinkat(dirfd(d), name, 0) == 0)
			fprintf(stderr,
				"cprof: removed %s/%s, left half-written by process %ld (killed while writing it)\n",
				util_display_path(dir), name, pid);
	}
	closedir(d);
}
