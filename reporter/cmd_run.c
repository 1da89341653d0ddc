/*
 * `cprof run`: runs a program with the runtimes preloaded, forwards its
 * stdin/stdout/stderr and exit status, then names the files it wrote and
 * prints a short summary on stderr (stdout stays the program's own).
 */
#define _GNU_SOURCE
#include "budget.h"
#include "cmds.h"
#include "launch.h"
#include "loaded.h"
#include "outdir.h"
#include "profile.h"
#include "snapshot.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct run_opts {
	const char *output_dir;
	int no_calls, no_mem, paused;
	const char *frames, *interval;
	char **checks;		/* --check rules; point into argv */
	size_t nchecks;
};

/*
 * The program is instrumented but left no profile of its own: say why,
 * as far as can be told from outside.
 */
static void explain_missing(const char *prog, const char *dir, pid_t pid, int status)
{
	char *expect = xstrfmt("%s.%d.prof", strrchr(prog, '/') ? strrchr(prog, '/') + 1 : prog,
			       (int)pid);
	char *elsewhere = xstrfmt("cprof-out/%s", expect);
	struct stat st;

	fprintf(stderr, "cprof: no call profile from process %d (expected %s in %s): ", (int)pid,
		expect, util_display_path(dir));
	if (WIFSIGNALED(status))
		fprintf(stderr, "it was killed by signal %d, and a killed process writes nothing at exit\n",
			WTERMSIG(status));
	else if (stat(elsewhere, &st) == 0)
		fprintf(stderr, "it was written to ./%s instead: the runtime started before it could read CPROF_OUTPUT\n",
			elsewhere);
	else
		fprintf(stderr, "it ended through _exit() or exec() (no exit handlers run), or its runtime could not write (see its messages above)\n");
	free(expect);
	free(elsewhere);
}

/* The program is not instrumented itself: what the profile holds. */
static void say_found(const char *prog, const struct written *w, int has_calls, int has_mem)
{
	if (!has_calls)
		return;
	if (!w->nprofiles) {
		fprintf(stderr, "cprof: '%s' was not built with -finstrument-functions and ran no instrumented library: no call profile%s (rebuild with -finstrument-functions -g for one)\n",
			prog, has_mem ? ", memory only" : "");
		return;
	}
	fprintf(stderr, "cprof: '%s' was not built with -finstrument-functions; the call profile holds the instrumented code it ran:",
		prog);
	struct profile *p = profile_open(w->profiles[0]);
	size_t shown = 0;
	for (size_t i = 0; p && i < p->modules.count; i++) {
		const struct modmap_entry *m = &p->modules.entries[i];
		size_t k;
		for (k = 0; k < p->nnodes; k++)
			if (p->nodes[k].fn >= m->start && p->nodes[k].fn < m->end && p->nodes[k].calls)
				break;
		if (k == p->nnodes)
			continue;
		fprintf(stderr, "%s %s", shown++ ? "," : "", util_display_path(m->path));
	}
	fprintf(stderr, "%s\n", shown ? "" : " nothing known");
	profile_free(p);
}

/* Peak, what is still live, the top 5 sites and any drops of the
 * child's last snapshot, on stderr. */
static void memory_summary(const char *path)
{
	struct loaded l;
	struct snap_filter no_filter = { 0 };
	struct snap_stats st;
	char peak[32], live[32], size[32], avg[32];

	if (loaded_open_snapshot(&l, path) < 0) {
		loaded_close(&l);
		return;
	}
	const struct snapshot *snap = l.s;
	const struct fmt_snap_info *in = &snap->info;
	util_format_bytes(peak, sizeof(peak), (double)in->peak_bytes, 0);
	util_format_bytes(live, sizeof(live), (double)in->current_bytes, 0);
	fprintf(stderr, "\ncprof: peak traced memory %s at %.3f s; at '%s': %s in %llu blocks still live\n",
		peak, (double)in->peak_ns / 1e9, snap->meta.label, live,
		(unsigned long long)in->current_blocks);
	if (in->dropped_allocs || in->dropped_traces)
		fprintf(stderr, "cprof: dropped: %llu allocations not traced (table full), %llu without a stack\n",
			(unsigned long long)in->dropped_allocs,
			(unsigned long long)in->dropped_traces);
	snapshot_statistics(snap, l.sym, SNAP_BY_LINENO, &no_filter, &st);
	if (st.nstats)
		fprintf(stderr, "cprof: top %zu sites by live size:\n", st.nstats < 5 ? st.nstats : 5);
	for (size_t i = 0; i < st.nstats && i < 5; i++) {
		const struct snap_stat *e = &st.stats[i];
		util_format_bytes(size, sizeof(size), (double)e->size, 0);
		util_format_bytes(avg, sizeof(avg), e->count ? (double)e->size / (double)e->count : 0, 0);
		fprintf(stderr, "  %s: size=%s, count=%lld, average=%s\n", e->key, size,
			(long long)e->count, avg);
	}
	fprintf(stderr, "cprof: more with 'cprof stats %s'\n", util_display_path(path));
	snapshot_stats_release(&st);
	loaded_close(&l);
}

static const char run_usage[] =
	"usage: cprof run [-o DIR] [--no-calls] [--no-mem] [--frames N] [--interval SEC]\n"
	"                 [--paused] [--check RULE...] -- PROGRAM [ARGS...]\n"
	"  --check: then apply budget rules to the files written (see 'cprof check\n"
	"  --help'); a failed program's exit status wins, else 1 when a rule fails";

/*
 * Signals sent to `cprof run` itself go to the program: SIGTERM or SIGHUP
 * would otherwise orphan it (it runs on, its files written with nobody to
 * list them), and SIGUSR1/SIGUSR2 to the launcher's PID, the one a user
 * sees, should reach the runtimes' snapshot handler.
 */
static const int forwarded_signals[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
#define NFORWARDED (sizeof(forwarded_signals) / sizeof(forwarded_signals[0]))
static volatile sig_atomic_t forward_to;

static void forward_signal(int sig)
{
	if (forward_to > 0)	/* 0 before fork returns: never kill(0, ...) */
		kill((pid_t)forward_to, sig);
}

/* Options into o (release o->checks either way); RUN_GO to run the
 * program at argv[optind], else the exit status (help, a bad option). */
enum { RUN_GO = -1 };

static int parse_run_options(int argc, char **argv, struct run_opts *o)
{
	static const struct option longopts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "no-calls", no_argument, NULL, 'C' },
		{ "no-mem", no_argument, NULL, 'M' },
		{ "frames", required_argument, NULL, 'f' },
		{ "interval", required_argument, NULL, 'i' },
		{ "paused", no_argument, NULL, 'p' },
		{ "check", required_argument, NULL, 'k' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	int c;

	memset(o, 0, sizeof(*o));
	o->checks = xcalloc((size_t)argc, sizeof(*o->checks));

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+o:", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			o->output_dir = optarg;
			break;
		case 'C':
			o->no_calls = 1;
			break;
		case 'M':
			o->no_mem = 1;
			break;
		case 'f':
			if (util_parse_count(optarg) < 1) {
				return usage_error("--frames needs a positive number, not '%s'",
						   optarg);
			}
			o->frames = optarg;
			break;
		case 'i': {
			char *end;
			double v = strtod(optarg, &end);
			if (*end || !(v >= 0)) {
				return usage_error("--interval needs seconds (0 = off), not '%s'",
						   optarg);
			}
			o->interval = optarg;
			break;
		}
		case 'p':
			o->paused = 1;
			break;
		case 'k':	/* --check R1 R2 ...: the rules that follow belong to it */
			o->checks[o->nchecks++] = optarg;
			while (optind < argc && budget_looks_like_rule(argv[optind]))
				o->checks[o->nchecks++] = argv[optind++];
			break;
		case 'h':
			puts(run_usage);
			return EXIT_OK;
		default:
			return usage_error("unknown option '%s' for run\n%s", argv[optind - 1],
					   run_usage);
		}
	}
	/* A bad rule is refused before the program runs, not after. */
	for (size_t i = 0; i < o->nchecks; i++) {
		struct budget_rule rule;
		char err[512];
		int is_bad = budget_rule_parse(o->checks[i], &rule, err, sizeof(err)) < 0;
		budget_rule_release(&rule);
		if (is_bad)
			return usage_error("--check: %s", err);
	}
	if (optind >= argc)
		return usage_error("run needs a program to run\n%s", run_usage);
	return RUN_GO;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	int parsed = parse_run_options(argc, argv, &o);

	if (parsed != RUN_GO) {
		free(o.checks);
		return parsed;
	}

	char **prog_argv = argv + optind;
	char *prog = find_program(prog_argv[0]);
	if (!prog) {
		error("cannot find '%s' (not in PATH or not executable)", prog_argv[0]);
		free(o.checks);
		return EXIT_ERROR;
	}

	char *lib_calls = runtime_path("libcprof-instrument.so");
	char *lib_mem = runtime_path("libcprof-malloc.so");
	int has_mem = lib_mem && access(lib_mem, R_OK) == 0 && !o.no_mem;
	int has_calls = 0;
	enum program_kind kind = inspect_program(prog);
	if (kind == PROGRAM_STATIC) {
		error("'%s' is statically linked: cprof preloads its runtimes and needs a dynamically linked program",
		      prog_argv[0]);
		goto fail;
	}
	if (!o.no_calls) {
		/* Always: the program may load instrumented libraries (or
		 * dlopen plugins), and the runtime costs nothing while no
		 * hook is called (it writes no profile then). */
		has_calls = lib_calls && access(lib_calls, R_OK) == 0;
		if (kind == PROGRAM_INSTRUMENTED && !has_calls) {
			error("cannot find the runtime '%s' (reinstall cprof or set CPROF_LIBDIR)",
			      lib_calls ? lib_calls : "libcprof-instrument.so");
			goto fail;
		}
	}
	if (!has_calls && !has_mem) {
		error("nothing to profile in '%s' (%s)", prog_argv[0],
		      o.no_mem && o.no_calls ? "--no-calls and --no-mem given"
		      : o.no_mem		 ? "--no-mem given, and no call runtime found"
					 : "no runtime found: reinstall cprof or set CPROF_LIBDIR");
		goto fail;
	}
	if (kind == PROGRAM_PLAIN && o.no_mem)
		fprintf(stderr, "cprof: '%s' was not built with -finstrument-functions: only calls of instrumented libraries it loads are profiled\n",
			prog_argv[0]);

	char dir[PATH_MAX + 256];
	const char *want = o.output_dir ? o.output_dir : "cprof-out";
	if (want[0] == '/') {
		snprintf(dir, sizeof(dir), "%s", want);
	} else {
		char cwd[PATH_MAX];
		if (!getcwd(cwd, sizeof(cwd))) {
			error("cannot read the current directory: %s", strerror(errno));
			goto fail;
		}
		snprintf(dir, sizeof(dir), "%s/%s", cwd, want);
	}
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		error("cannot create '%s': %s (choose another with -o)", want, strerror(errno));
		goto fail;
	}
	/* The runtimes could only say so after the whole run: check now that
	 * they can create files there (not a directory, EACCES, EROFS). */
	struct stat dir_st;
	int dir_err = stat(dir, &dir_st) < 0	     ? errno
		      : !S_ISDIR(dir_st.st_mode)      ? ENOTDIR
		      : access(dir, W_OK | X_OK) < 0 ? errno
						      : 0;
	if (dir_err) {
		error("cannot write to '%s': %s (choose another with -o)", want, strerror(dir_err));
		goto fail;
	}

	setenv("CPROF_OUTPUT", dir, 1);
	/* The runtimes put their variables back into the environment of
	 * every program this one starts (see preload/spawn.c). */
	setenv("CPROF_FOLLOW", "1", 1);
	if (o.paused)
		setenv("CPROF_PAUSED", "1", 1);
	if (o.frames)
		setenv("CPROF_FRAMES", o.frames, 1);
	if (o.interval)
		setenv("CPROF_INTERVAL", o.interval, 1);
	if (has_calls)
		set_env_prepend("LD_PRELOAD", lib_calls);
	/* No hook in the program itself: the call runtime starts at the
	 * first hook of a library, if any, not at every process start. */
	if (has_calls && kind == PROGRAM_PLAIN)
		setenv("CPROF_LAZY", "1", 1);
	if (has_mem)
		set_env_prepend("LD_PRELOAD", lib_mem);

	struct dir_listing before;
	list_dir(dir, &before);
	fflush(NULL);

	/* As system() does: the terminal's ^C reaches the program, not us. */
	struct sigaction ign = { .sa_handler = SIG_IGN }, old_int, old_quit;
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	struct sigaction fwd = { .sa_handler = forward_signal, .sa_flags = SA_RESTART },
			 old_fwd[NFORWARDED];
	sigemptyset(&fwd.sa_mask);
	/* Blocked until forward_to is set: a signal the moment after fork
	 * stays pending in us, then goes on, instead of being lost. */
	sigset_t fwd_set, old_mask;
	sigemptyset(&fwd_set);
	for (size_t i = 0; i < NFORWARDED; i++) {
		sigaction(forwarded_signals[i], &fwd, &old_fwd[i]);
		sigaddset(&fwd_set, forwarded_signals[i]);
	}
	sigprocmask(SIG_BLOCK, &fwd_set, &old_mask);
	pid_t pid = fork();
	if (pid < 0) {
		error("cannot fork: %s", strerror(errno));
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		release_listing(&before);
		goto fail;
	}
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		for (size_t i = 0; i < NFORWARDED; i++)
			sigaction(forwarded_signals[i], &old_fwd[i], NULL);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		execv(prog, prog_argv);
		fprintf(stderr, "cprof: cannot run '%s': %s\n", prog_argv[0], strerror(errno));
		_exit(127);
	}
	forward_to = pid;
	sigprocmask(SIG_SETMASK, &old_mask, NULL);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	forward_to = 0;
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded_signals[i], &old_fwd[i], NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);

	int code;
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "cprof: '%s' was killed by signal %d (%s)\n", prog_argv[0],
			WTERMSIG(status), strsignal(WTERMSIG(status)));
		code = 128 + WTERMSIG(status);
	} else {
		code = WEXITSTATUS(status);
	}
	if (code != 127 || WIFSIGNALED(status)) {
		struct written w;
		remove_stale_temporaries(dir);
		list_written(dir, &before, pid, &w);
		if (w.last_snapshot)
			memory_summary(w.last_snapshot);
		if (kind == PROGRAM_INSTRUMENTED && has_calls && !w.main_profile)
			explain_missing(prog, dir, pid, status);
		else if (kind == PROGRAM_PLAIN)
			say_found(prog_argv[0], &w, has_calls, has_mem);
		if (w.nprofiles > 1) {
			/* The program forked or started others: one answer. */
			fprintf(stderr, "\ncprof: merged the call profiles of %zu processes\n", w.nprofiles);
			report_summary(w.profiles, w.nprofiles, 10);
			fprintf(stderr, "cprof: more with 'cprof report --merge %s/*.prof' (each alone: 'cprof report FILE')\n",
				util_display_path(dir));
		} else if (w.nprofiles == 1) {
			fprintf(stderr, "\n");
			report_summary(w.profiles, 1, 10);
			fprintf(stderr, "cprof: more with 'cprof report %s'\n",
				util_display_path(w.profiles[0]));
		}
		if (o.nchecks) {
			fprintf(stderr, "\ncprof: budgets (--check):\n");
			int verdict = check_files(w.files, w.nfiles, o.checks, o.nchecks, 0, stderr);
			if (code == 0)	/* a failing program's own status wins */
				code = verdict;
		}
		release_written(&w);
	}
	release_listing(&before);
	free(o.checks);
	free(prog);
	free(lib_calls);
	free(lib_mem);
	return code;
fail:	/* refused before the program ran: nothing but these to free */
	free(o.checks);
	free(prog);
	free(lib_calls);
	free(lib_mem);
	return EXIT_ERROR;
}
