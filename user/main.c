// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pybpfprof: sample every Python process on the host from the kernel.
 *
 * Command line, checks that run before anything is sampled, the main
 * loop, and writing the profile out.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "aggregate.h"
#include "kernel_check.h"
#include "output.h"
#include "profiler.h"

#define MAX_FREQUENCY 10000
#define MAX_DURATION (366.0 * 24 * 3600)
#define MAX_PIDS 1024
#define POLL_INTERVAL_MS 50
#define DEFAULT_RING_SIZE (8U << 20)

enum output_format {
	FORMAT_TABLE,
	FORMAT_FOLDED,
};

static const char *const format_names[] = {
	[FORMAT_TABLE] = "table",
	[FORMAT_FOLDED] = "folded",
};

static struct env {
	unsigned int frequency;
	double duration;	/* 0: until SIGINT/SIGTERM */
	pid_t pids[MAX_PIDS];
	size_t npids;
	enum output_format format;
	const char *output;	/* NULL: stdout */
	unsigned int max_depth;
	int verbose;		/* -v: processes, libbpf warnings; -vv: libbpf debug */
} env = {
	.frequency = 99,
	.format = FORMAT_TABLE,
	.max_depth = PYBPFPROF_DEFAULT_DEPTH,
};

static volatile sig_atomic_t exiting;

enum {
	OPT_MAX_DEPTH = 1000,
	OPT_VERSION,
};

static const struct option long_options[] = {
	{ "frequency", required_argument, NULL, 'F' },
	{ "duration", required_argument, NULL, 'd' },
	{ "pid", required_argument, NULL, 'p' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{},
};

static const char usage_text[] =
"Usage: pybpfprof [-F HZ] [-d SECONDS] [-p PID]... [-f table|folded] [-o FILE]\n"
"                 [--max-depth N] [-v]\n"
"\n"
"Sample the Python stacks of every CPython process on the host (or of the\n"
"given PIDs) from the kernel, without stopping or changing the targets,\n"
"and print how often each function was running.\n"
"\n"
"Options:\n"
"  -F, --frequency HZ   samples per second on each CPU, 1-10000 (default 99);\n"
"                       like perf record -F (py-spy calls this -r/--rate)\n"
"  -d, --duration SEC   stop after SEC seconds (default: at Ctrl-C or SIGTERM)\n"
"  -p, --pid PID        only this process; repeat for more (default: all)\n"
"  -f, --format FMT     table (per-function counts, default) or folded\n"
"                       (flamegraph.pl input: one 'frame;...;frame COUNT' line\n"
"                       per distinct stack, root first)\n"
"  -o, --output FILE    write the profile to FILE (default: standard output)\n"
"      --max-depth N    frames kept per stack, 1-1024 (default 256); deeper\n"
"                       stacks are cut at the root end and marked [truncated]\n"
"  -v, --verbose        report discovered processes and libbpf warnings;\n"
"                       -vv adds libbpf's debug log (verifier output)\n"
"      --version        print the version and exit\n"
"  -h, --help           print this help and exit\n"
"\n"
"Examples:\n"
"  sudo pybpfprof -F 10                 # whole host at 10 Hz until Ctrl-C\n"
"  sudo pybpfprof -d 30 -p 4242         # one process for 30 seconds\n"
"  sudo pybpfprof -d 10 -f folded -o out.folded && flamegraph.pl out.folded > out.svg\n"
"\n"
"Needs root (CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE) and a kernel with BTF.\n"
"See pybpfprof(8).\n";

/* One line on stderr, then exit: the contract for every bad input. */
static void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...)
{
	va_list ap;

	fputs("pybpfprof: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static long parse_long(const char *what, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die("invalid %s '%s': expected an integer from %ld to %ld", what, s, min, max);
	return v;
}

static double parse_seconds(const char *s)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v <= 0 || v > MAX_DURATION)
		die("invalid duration '%s': expected seconds, a number above 0", s);
	return v;
}

static enum output_format parse_format(const char *s)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]); i++)
		if (!strcmp(s, format_names[i]))
			return i;
	die("unknown format '%s': expected table or folded", s);
}

static void parse_args(int argc, char **argv)
{
	int opt;

	opterr = 0;	/* our own one-line errors */
	while ((opt = getopt_long(argc, argv, ":F:d:p:f:o:vh", long_options, NULL)) != -1) {
		switch (opt) {
		case 'F':
			env.frequency = parse_long("frequency", optarg, 1, MAX_FREQUENCY);
			break;
		case 'd':
			env.duration = parse_seconds(optarg);
			break;
		case 'p':
			if (env.npids == MAX_PIDS)
				die("too many -p options (at most %d)", MAX_PIDS);
			env.pids[env.npids++] = parse_long("pid", optarg, 1, INT_MAX);
			break;
		case 'f':
			env.format = parse_format(optarg);
			break;
		case 'o':
			if (!*optarg)
				die("invalid output file '': empty path");
			env.output = optarg;
			break;
		case OPT_MAX_DEPTH:
			env.max_depth = parse_long("max depth", optarg, 1, PYBPFPROF_MAX_DEPTH);
			break;
		case 'v':
			env.verbose++;
			break;
		case OPT_VERSION:
			printf("pybpfprof %s\n", PYBPFPROF_VERSION);
			exit(0);
		case 'h':
			fputs(usage_text, stdout);
			exit(0);
		case ':':
			die("option '%s' needs a value (see --help)", argv[optind - 1]);
		default:
			die("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (see --help)", argv[optind]);
}

/* Root, or the capabilities that loading BPF and reading targets take. */
static void check_privileges(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	static const struct { int cap; const char *name; } need[] = {
		{ CAP_BPF, "CAP_BPF" },
		{ CAP_PERFMON, "CAP_PERFMON" },
		{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE" },
	};
	char missing[128] = "";

	if (syscall(SYS_capget, &hdr, data))
		die("cannot read the process capabilities: %s", strerror(errno));
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		int c = need[i].cap;

		if (data[c / 32].effective & (1U << (c % 32)))
			continue;
		if (c != CAP_SYS_PTRACE &&
		    (data[CAP_SYS_ADMIN / 32].effective & (1U << (CAP_SYS_ADMIN % 32))))
			continue;
		snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
			 missing[0] ? ", " : "", need[i].name);
	}
	if (missing[0])
		die("needs root or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE (missing %s): "
		    "run it with sudo", missing);
}

static void check_kernel(void)
{
	char why[256];

	if (kernel__check_features(why, sizeof(why)))
		die("%s", why);
}

static void check_pids(void)
{
	char path[64];

	for (size_t i = 0; i < env.npids; i++) {
		snprintf(path, sizeof(path), "/proc/%d", env.pids[i]);
		if (access(path, F_OK))
			die("no process with pid %d", env.pids[i]);
	}
}

/*
 * The profile is written to a temporary file beside FILE and renamed
 * over it at the end: a reader never sees half a profile, and a symlink
 * planted at FILE is replaced, not followed. Creating it now also
 * proves the path usable before sampling starts.
 */
struct output_file {
	FILE *f;
	char tmp[PATH_MAX];
};

static void output_open(struct output_file *out)
{
	char dirbuf[PATH_MAX], basebuf[PATH_MAX];
	int fd;

	if (!env.output) {
		out->f = stdout;
		return;
	}
	if (strlen(env.output) >= sizeof(dirbuf))
		die("invalid output file '%s': path too long", env.output);
	strcpy(dirbuf, env.output);
	strcpy(basebuf, env.output);
	if (snprintf(out->tmp, sizeof(out->tmp), "%s/.%s.XXXXXX", dirname(dirbuf),
		     basename(basebuf)) >= (int)sizeof(out->tmp))
		die("invalid output file '%s': path too long", env.output);
	fd = mkstemp(out->tmp);
	if (fd < 0)
		die("cannot create output file '%s': %s", env.output, strerror(errno));
	if (fchmod(fd, 0644) || !(out->f = fdopen(fd, "w"))) {
		unlink(out->tmp);
		die("cannot create output file '%s': %s", env.output, strerror(errno));
	}
}

/* Publish the profile, or drop it when @err says writing it failed. */
static int output_commit(struct output_file *out, int err)
{
	if (fflush(out->f) || ferror(out->f))
		err = err ?: -EIO;
	if (out->f == stdout)
		return err;
	if (fclose(out->f))
		err = -EIO;
	if (!err && rename(out->tmp, env.output))
		err = -errno;
	if (err)
		unlink(out->tmp);
	return err;
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!env.verbose || (level == LIBBPF_DEBUG && env.verbose < 2))
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void sig_handler(int sig)
{
	exiting = 1;
}

static double elapsed_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

static int write_profile(const struct agg *agg, FILE *f, double duration)
{
	struct output_meta meta = { .duration_s = duration, .frequency_hz = env.frequency };

	switch (env.format) {
	case FORMAT_FOLDED:
		return output_folded__write(agg, &meta, f);
	case FORMAT_TABLE:
	default:
		return output_table__write(agg, &meta, f);
	}
}

static void print_summary(struct profiler *p, double duration)
{
	struct profiler_stats st;
	__u64 *c = st.counters;

	profiler__stats(p, &st);
	fprintf(stderr,
		"pybpfprof: %.1f s at %u Hz: %llu samples, %llu Python samples, %llu lost, "
		"%llu Python processes seen",
		duration, env.frequency, (unsigned long long)c[CNT_SAMPLES],
		(unsigned long long)c[CNT_PY_SAMPLES], (unsigned long long)c[CNT_LOST],
		(unsigned long long)st.procs_seen);
	if (c[CNT_TRUNCATED])
		fprintf(stderr, ", %llu truncated", (unsigned long long)c[CNT_TRUNCATED]);
	if (c[CNT_PY_NO_TSTATE])
		fprintf(stderr, ", %llu in threads without a Python thread state",
			(unsigned long long)c[CNT_PY_NO_TSTATE]);
	if (st.dropped_samples)
		fprintf(stderr, ", %llu dropped", (unsigned long long)st.dropped_samples);
	if (st.procs_unsupported)
		fprintf(stderr, ", %llu unsupported", (unsigned long long)st.procs_unsupported);
	if (c[CNT_EVENTS_LOST])
		fprintf(stderr, ", %llu process events lost",
			(unsigned long long)c[CNT_EVENTS_LOST]);
	fputc('\n', stderr);
	if (c[CNT_LOST])
		fprintf(stderr, "pybpfprof: warning: %llu samples were lost to a full ring "
			"buffer\n", (unsigned long long)c[CNT_LOST]);
}

int main(int argc, char **argv)
{
	struct profiler_opts popts = {};
	struct output_file out = {};
	struct profiler *p = NULL;
	struct timespec t0;
	struct agg *agg;
	double duration;
	int err;

	parse_args(argc, argv);
	libbpf_set_print(libbpf_print_fn);
	check_privileges();
	check_kernel();
	check_pids();
	output_open(&out);

	signal(SIGPIPE, SIG_IGN);
	if (signal(SIGINT, sig_handler) == SIG_ERR || signal(SIGTERM, sig_handler) == SIG_ERR)
		die("cannot set signal handlers: %s", strerror(errno));

	agg = agg__new();
	if (!agg)
		die("out of memory");
	popts.frequency = env.frequency;
	popts.max_depth = env.max_depth;
	popts.ring_size = DEFAULT_RING_SIZE;
	popts.pids = env.pids;
	popts.npids = env.npids;
	popts.verbose = env.verbose > 0;
	p = profiler__new(&popts, agg, &err);
	if (!p) {
		fprintf(stderr, "pybpfprof: failed to load the BPF program: %s "
			"(needs Linux 5.17+ with BPF and BTF; -vv shows the verifier log)\n",
			strerror(-err));
		goto cleanup;
	}
	err = profiler__start(p);
	if (err) {
		fprintf(stderr, "pybpfprof: cannot start sampling at %u Hz: %s%s\n",
			env.frequency, strerror(-err),
			err == -EINVAL ? " (see /proc/sys/kernel/perf_event_max_sample_rate)" : "");
		goto cleanup;
	}

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (!exiting) {
		struct timespec ts = { 0, POLL_INTERVAL_MS * 1000000L };

		nanosleep(&ts, NULL);
		err = profiler__poll(p);
		if (err)
			fprintf(stderr, "pybpfprof: reading samples: %s\n", strerror(-err));
		if (env.duration && elapsed_since(&t0) >= env.duration)
			break;
	}
	profiler__stop(p);
	duration = elapsed_since(&t0);

	err = output_commit(&out, write_profile(agg, out.f, duration));
	if (err)
		fprintf(stderr, "pybpfprof: cannot write the profile to %s: %s\n",
			env.output ? env.output : "standard output", strerror(-err));
	print_summary(p, duration);
cleanup:
	if (!p && out.f && out.f != stdout) {
		fclose(out.f);
		unlink(out.tmp);
	}
	profiler__free(p);
	agg__free(agg);
	return err ? 1 : 0;
}
