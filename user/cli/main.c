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
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "aggregate.h"
#include "focus.h"
#include "kernel_check.h"
#include "output.h"
#include "profiler.h"
#include "top.h"

#define MAX_FREQUENCY 10000
#define MAX_DURATION (366.0 * 24 * 3600)
#define MAX_PIDS 1024
/* Drain often: a short-lived code object (a module body) must still be there. */
#define POLL_INTERVAL_MS 20
#define DEFAULT_RING_SIZE (8U << 20)

#define MAX_OUTPUTS 16

typedef int (*writer_fn)(const struct agg *a, const struct output_meta *m, FILE *f);

struct format {
	const char *name;
	const char *exts[3];	/* file extensions that select it */
	writer_fn write;
	bool binary;		/* never to a terminal */
};

static const struct format formats[] = {
	{ "table", { ".txt" }, output_table__write, false },
	{ "folded", { ".folded", ".collapsed" }, output_folded__write, false },
	{ "svg", { ".svg" }, output_svg__write, false },
	{ "speedscope", { ".json" }, output_speedscope__write, false },
	{ "pprof", { ".pb.gz", ".pprof" }, output_pprof__write, true },
	{ "pstats", { ".prof" }, output_pstats__write, true },
};

#define NR_FORMATS (sizeof(formats) / sizeof(formats[0]))

/*
 * The profile is written to a temporary file beside its path and renamed
 * over it at the end: a reader never sees half a profile, and a symlink
 * planted at the path is replaced, not followed. Creating it up front
 * also proves the path usable before sampling starts.
 */
struct output_file {
	const char *path;	/* NULL: stdout */
	const struct format *format;
	FILE *f;
	char tmp[PATH_MAX];
};

static struct env {
	unsigned int frequency;
	double duration;	/* 0: until SIGINT/SIGTERM */
	pid_t pids[MAX_PIDS];
	size_t npids;
	const struct format *format;	/* -f, or NULL */
	const char *outputs[MAX_OUTPUTS];	/* -o, in order */
	size_t noutputs;
	unsigned int max_depth;
	size_t ring_size;	/* --ring-size, bytes */
	bool private_files;	/* --private: outputs 0600 */
	bool threads;		/* --threads */
	bool no_lines;		/* --no-lines */
	bool top;		/* the top subcommand */
	const char *focus;	/* --focus REGEX */
	regex_t focus_re;
	int verbose;		/* -v: processes, libbpf warnings; -vv: libbpf debug */
} env = {
	.frequency = 99,
	.ring_size = DEFAULT_RING_SIZE,
	.max_depth = PYBPFPROF_DEFAULT_DEPTH,
};

static volatile sig_atomic_t exiting;
static volatile sig_atomic_t status_wanted;	/* SIGUSR1 */

enum {
	OPT_MAX_DEPTH = 1000,
	OPT_VERSION,
	OPT_THREADS,
	OPT_NO_LINES,
	OPT_FOCUS,
	OPT_RING_SIZE,
	OPT_PRIVATE,
};

static const struct option long_options[] = {
	{ "frequency", required_argument, NULL, 'F' },
	{ "duration", required_argument, NULL, 'd' },
	{ "pid", required_argument, NULL, 'p' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "threads", no_argument, NULL, OPT_THREADS },
	{ "no-lines", no_argument, NULL, OPT_NO_LINES },
	{ "focus", required_argument, NULL, OPT_FOCUS },
	{ "ring-size", required_argument, NULL, OPT_RING_SIZE },
	{ "private", no_argument, NULL, OPT_PRIVATE },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{},
};

static const char usage_text[] =
"Usage: pybpfprof [-F HZ] [-d SECONDS] [-p PID]... [-f FORMAT] [-o FILE]...\n"
"                 [--threads] [--no-lines] [--focus REGEX] [--max-depth N] [-v]\n"
"       pybpfprof top [-F HZ] [-d SECONDS] [-p PID]... [--no-lines]\n"
"\n"
"Sample the Python stacks of every CPython process on the host (or of the\n"
"given PIDs) from the kernel, without stopping or changing the targets,\n"
"and report how often each function was running.\n"
"\n"
"Options:\n"
"  -F, --frequency HZ   samples per second on each CPU, 1-10000 (default 99);\n"
"                       like perf record -F (py-spy calls this -r/--rate)\n"
"  -d, --duration SEC   stop after SEC seconds (default: at Ctrl-C or SIGTERM)\n"
"  -p, --pid PID        only this process; repeat for more (default: all)\n"
"  -f, --format FMT     table (default), folded, svg, speedscope, pprof, pstats\n"
"  -o, --output FILE    write the profile to FILE (default: standard output);\n"
"                       repeat to write several formats from one run. The\n"
"                       extension picks the format: .txt table, .folded and\n"
"                       .collapsed folded, .svg, .json speedscope, .pb.gz and\n"
"                       .pprof pprof, .prof pstats; -f wins for a single -o\n"
"      --threads        a frame per thread (TID and name) below each process\n"
"      --no-lines       one frame per function, not one per line\n"
"      --focus REGEX    keep only stacks through a function matching REGEX\n"
"                       (POSIX extended), re-rooted at it\n"
"      --max-depth N    frames kept per stack, 1-1024 (default 256); deeper\n"
"                       stacks are cut at the root end and marked [truncated]\n"
"      --ring-size SIZE kernel ring buffer, a power of two, 4K-1024M (default\n"
"                       8M); samples that find it full are counted as lost\n"
"      --private        create output files 0600 instead of 0644\n"
"  -v, --verbose        report discovered processes and libbpf warnings;\n"
"                       -vv adds libbpf's debug log (verifier output)\n"
"      --version        print the version and exit\n"
"  -h, --help           print this help and exit\n"
"\n"
"top: a live per-function view refreshed every second; keys: o sort by own,\n"
"t sort by total, q quit.\n"
"\n"
"Signals: SIGINT or SIGTERM stops and writes the profile in full; SIGUSR1\n"
"prints a status line (samples, lost, memory, cache and profile sizes).\n"
"It runs at nice -10 (about 1% of a CPU) so a saturated host cannot starve\n"
"it; started under nice(1) with another value, it keeps that one.\n"
"\n"
"Examples:\n"
"  sudo pybpfprof -F 10                  # whole host at 10 Hz until Ctrl-C\n"
"  sudo pybpfprof -d 30 -p 4242          # one process for 30 seconds\n"
"  sudo pybpfprof -d 10 -o prof.svg -o prof.pb.gz   # flame graph + pprof\n"
"  sudo pybpfprof -d 10 -o prof.prof && python3 -m pstats prof.prof\n"
"  sudo pybpfprof -d 10 --focus 'handle_request' -f folded | flamegraph.pl > req.svg\n"
"  sudo pybpfprof top                    # live view of the whole host\n"
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

/* "8M", "512K", "4096": a power of two from 4 KiB to 1 GiB. */
static size_t parse_ring_size(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!errno && end != s && (*end == 'K' || *end == 'k')) {
		v <<= 10;
		end++;
	} else if (!errno && end != s && (*end == 'M' || *end == 'm')) {
		v <<= 20;
		end++;
	}
	if (errno || end == s || *end || s[0] == '-' || v < 4096 || v > (1ULL << 30) ||
	    (v & (v - 1)))
		die("invalid ring size '%s': expected a power of two from 4K to 1024M", s);
	return v;
}

static const struct format *parse_format(const char *s)
{
	for (size_t i = 0; i < NR_FORMATS; i++)
		if (!strcasecmp(s, formats[i].name))
			return &formats[i];
	die("unknown format '%s': expected table, folded, svg, speedscope, pprof or pstats", s);
}

static const struct format *format_of_path(const char *path)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < NR_FORMATS; i++)
		for (size_t j = 0; j < 3 && formats[i].exts[j]; j++) {
			size_t n = strlen(formats[i].exts[j]);

			if (len > n && !strcasecmp(path + len - n, formats[i].exts[j]))
				return &formats[i];
		}
	return NULL;
}

static void parse_args(int argc, char **argv)
{
	int opt;

	if (argc > 1 && !strcmp(argv[1], "top")) {
		env.top = true;
		argv[1] = argv[0];
		argc--;
		argv++;
	}
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
			if (env.noutputs == MAX_OUTPUTS)
				die("too many -o options (at most %d)", MAX_OUTPUTS);
			env.outputs[env.noutputs++] = optarg;
			break;
		case OPT_MAX_DEPTH:
			env.max_depth = parse_long("max depth", optarg, 1, PYBPFPROF_MAX_DEPTH);
			break;
		case OPT_RING_SIZE:
			env.ring_size = parse_ring_size(optarg);
			break;
		case OPT_PRIVATE:
			env.private_files = true;
			break;
		case OPT_THREADS:
			env.threads = true;
			break;
		case OPT_NO_LINES:
			env.no_lines = true;
			break;
		case OPT_FOCUS:
			env.focus = optarg;
			if (!*optarg || regcomp(&env.focus_re, optarg, REG_EXTENDED | REG_NOSUB))
				die("invalid --focus regular expression '%s'", optarg);
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
	if (env.top && (env.noutputs || env.format))
		die("top shows a live view and writes no profile: drop -o and -f");
	if (env.top && (env.threads || env.focus))
		die("top does not take %s: it shapes written profiles only",
		    env.threads ? "--threads" : "--focus");
	if (env.top && (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)))
		die("top needs a terminal on standard input and output");
}

/*
 * On a host saturated by hundreds of CPU-bound threads, a nice-0 profiler
 * gets one share among them all: measured here, 200 processes x 4 busy
 * threads stretched a 0.13 s start (BPF load, discovery) to 50 s of wall
 * time. The profiler needs about 1% of a CPU, so asking for more weight
 * costs the targets nothing noticeable and keeps starting, draining and
 * symbolizing prompt. A nice value the operator chose is kept.
 */
#define PROFILER_NICE (-10)

static void raise_priority(void)
{
	int cur;

	errno = 0;
	cur = getpriority(PRIO_PROCESS, 0);
	if (errno || cur != 0)
		return;
	if (setpriority(PRIO_PROCESS, 0, PROFILER_NICE) && env.verbose)
		fprintf(stderr, "pybpfprof: cannot raise priority to nice %d: %s\n",
			PROFILER_NICE, strerror(errno));
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
 * Which format each output gets: -f alone names stdout's; with one -o,
 * -f wins over the extension; with several, each goes by its extension
 * and -f covers those whose extension says nothing.
 */
static const struct format *resolve_format(const char *path)
{
	const struct format *by_ext = format_of_path(path);

	if (env.format && (env.noutputs == 1 || !by_ext))
		return env.format;
	if (by_ext)
		return by_ext;
	die("cannot tell the format of '%s' from its extension: add -f FORMAT", path);
}

static void output_open(struct output_file *out)
{
	char dirbuf[PATH_MAX], basebuf[PATH_MAX];
	const char *path = out->path;
	int fd;

	if (!path) {
		if (out->format->binary && isatty(STDOUT_FILENO))
			die("%s is a binary format: write it to a file with -o", out->format->name);
		out->f = stdout;
		return;
	}
	if (strlen(path) >= sizeof(dirbuf))
		die("invalid output file '%s': path too long", path);
	strcpy(dirbuf, path);
	strcpy(basebuf, path);
	if (snprintf(out->tmp, sizeof(out->tmp), "%s/.%s.XXXXXX", dirname(dirbuf),
		     basename(basebuf)) >= (int)sizeof(out->tmp))
		die("invalid output file '%s': path too long", path);
	fd = mkstemp(out->tmp);
	if (fd < 0)
		die("cannot create output file '%s': %s", path, strerror(errno));
	if (fchmod(fd, env.private_files ? 0600 : 0644) || !(out->f = fdopen(fd, "w"))) {
		unlink(out->tmp);
		die("cannot create output file '%s': %s", path, strerror(errno));
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
		err = err ?: -EIO;
	out->f = NULL;
	if (!err && rename(out->tmp, out->path))
		err = -errno;
	if (err)
		unlink(out->tmp);
	return err;
}

/* Remove what output_open() created (sampling never got going). */
static void output_discard(struct output_file *out)
{
	if (!out->f || out->f == stdout)
		return;
	fclose(out->f);
	unlink(out->tmp);
	out->f = NULL;
}

static size_t outputs_open(struct output_file *outs)
{
	size_t n = env.noutputs ? env.noutputs : 1;

	for (size_t i = 0; i < n; i++) {
		outs[i].path = env.noutputs ? env.outputs[i] : NULL;
		outs[i].format = outs[i].path ? resolve_format(outs[i].path) :
				 env.format ? env.format : &formats[0];
	}
	for (size_t i = 0; i < n; i++)
		output_open(&outs[i]);
	return n;
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!env.verbose || (level == LIBBPF_DEBUG && env.verbose < 2))
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void sig_handler(int sig)
{
	if (sig == SIGUSR1)
		status_wanted = 1;
	else
		exiting = 1;
}

static double elapsed_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) + (t.tv_nsec - t0->tv_nsec) / 1e9;
}

/* Write every output; returns 0 or the first error. */
static int write_profiles(const struct agg *agg, struct output_file *outs, size_t n,
			  const struct output_meta *meta)
{
	int ret = 0;

	for (size_t i = 0; i < n; i++) {
		int err = output_commit(&outs[i], outs[i].format->write(agg, meta, outs[i].f));

		if (err) {
			fprintf(stderr, "pybpfprof: cannot write the %s profile to %s: %s\n",
				outs[i].format->name, outs[i].path ? outs[i].path : "standard output",
				strerror(-err));
			ret = ret ?: err;
		}
	}
	return ret;
}

/* "elapsed, samples, processes, lost" on a terminal's stderr, once a second. */
static void show_progress(struct profiler *p, double elapsed, bool last)
{
	struct profiler_stats st;

	if (last) {
		fputs("\r\033[K", stderr);
		return;
	}
	profiler__stats(p, &st);
	fprintf(stderr, "\rpybpfprof: %.0f s, %llu samples, %llu Python, %llu processes, "
		"%llu lost\033[K", elapsed, (unsigned long long)st.counters[CNT_SAMPLES],
		(unsigned long long)st.counters[CNT_PY_SAMPLES],
		(unsigned long long)st.procs_seen, (unsigned long long)st.counters[CNT_LOST]);
}

static long rss_kib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * On SIGUSR1 (like dd): one line with what the profiler holds, so an
 * operator (and the soak test) can see that nothing grows without bound.
 */
static void print_status(struct profiler *p, const struct agg *agg, double elapsed)
{
	struct profiler_stats st;

	profiler__stats(p, &st);
	fprintf(stderr, "pybpfprof: status: %.0f s, %llu samples, %llu lost, rss %ld KiB, "
		"%llu processes tracked, %llu code objects and %llu frames cached "
		"(%llu cache resets), profile: %zu processes, %zu frames, %zu stacks\n",
		elapsed, (unsigned long long)st.counters[CNT_SAMPLES],
		(unsigned long long)st.counters[CNT_LOST], rss_kib(),
		(unsigned long long)st.procs_tracked, (unsigned long long)st.codes_cached,
		(unsigned long long)st.frames_cached, (unsigned long long)st.cache_resets,
		agg__nr_procs(agg), agg__nr_frames(agg), agg__nr_stacks(agg));
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
	if (env.verbose)
		fprintf(stderr, "pybpfprof: %llu code objects unreadable, %llu symbolizer cache "
			"resets, %llu frames in per-thread bytecode (%llu without a line)\n",
			(unsigned long long)st.code_failures, (unsigned long long)st.cache_resets,
			(unsigned long long)st.tlbc_frames, (unsigned long long)st.tlbc_failures);
	if (c[CNT_LOST])
		fprintf(stderr, "pybpfprof: warning: %llu samples were lost to a full ring "
			"buffer; a larger --ring-size keeps them\n", (unsigned long long)c[CNT_LOST]);
}

int main(int argc, char **argv)
{
	struct output_file outs[MAX_OUTPUTS] = {};
	struct profiler_opts popts = {};
	struct output_meta meta = {};
	struct profiler *p = NULL;
	char hostname[256] = "";
	struct timespec t0, wall;
	double next_progress = 1.0;
	bool progress;
	unsigned long long poll_failures = 0;
	int poll_err = 0;
	size_t nouts;
	struct agg *agg;
	double duration;
	int err;

	/*
	 * First of all: a SIGINT or SIGTERM during the checks must still end
	 * in an orderly way (no temporary files left beside the outputs).
	 */
	signal(SIGPIPE, SIG_IGN);
	if (signal(SIGINT, sig_handler) == SIG_ERR || signal(SIGTERM, sig_handler) == SIG_ERR ||
	    signal(SIGUSR1, sig_handler) == SIG_ERR)
		die("cannot set signal handlers: %s", strerror(errno));
	parse_args(argc, argv);
	libbpf_set_print(libbpf_print_fn);
	check_privileges();
	check_kernel();
	check_pids();
	nouts = env.top ? 0 : outputs_open(outs);
	raise_priority();

	agg = agg__new();
	if (!agg)
		die("out of memory");
	popts.frequency = env.frequency;
	popts.max_depth = env.max_depth;
	popts.ring_size = env.ring_size;
	popts.pids = env.pids;
	popts.npids = env.npids;
	popts.verbose = env.verbose > 0;
	popts.no_lines = env.no_lines;
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
	clock_gettime(CLOCK_REALTIME, &wall);
	gethostname(hostname, sizeof(hostname) - 1);
	if (env.top) {
		struct top_opts to = {
			.frequency = env.frequency, .duration = env.duration, .hostname = hostname,
		};

		err = top__run(p, agg, &to, &exiting);
		profiler__stop(p);
		if (err)
			fprintf(stderr, "pybpfprof: top: %s\n", strerror(-err));
		print_summary(p, elapsed_since(&t0));
		goto cleanup;
	}
	progress = isatty(STDERR_FILENO);
	while (!exiting) {
		struct timespec ts = { 0, POLL_INTERVAL_MS * 1000000L };
		double elapsed;

		nanosleep(&ts, NULL);
		err = profiler__poll(p);
		if (err) {
			/* Once, not every 20 ms; the run still ends in failure. */
			if (!poll_failures++)
				fprintf(stderr, "pybpfprof: reading samples: %s\n", strerror(-err));
			poll_err = poll_err ?: err;
		}
		elapsed = elapsed_since(&t0);
		if (env.duration && elapsed >= env.duration)
			break;
		if (status_wanted) {
			status_wanted = 0;
			if (progress)
				fputs("\r\033[K", stderr);
			print_status(p, agg, elapsed);
		}
		if (progress && elapsed >= next_progress) {
			show_progress(p, elapsed, false);
			next_progress = elapsed + 1.0;
		}
	}
	if (progress)
		show_progress(p, 0, true);
	profiler__stop(p);
	duration = elapsed_since(&t0);

	meta.duration_s = duration;
	meta.frequency_hz = env.frequency;
	meta.start_unix_ns = wall.tv_sec * 1000000000ULL + wall.tv_nsec;
	meta.hostname = hostname;
	meta.threads = env.threads;
	if (env.focus) {
		struct agg *focused = focus__apply(agg, &env.focus_re);

		if (!focused) {
			fprintf(stderr, "pybpfprof: out of memory applying --focus\n");
			err = -ENOMEM;
			goto cleanup;
		}
		fprintf(stderr, "pybpfprof: --focus '%s' kept %llu of %llu Python samples\n",
			env.focus, (unsigned long long)agg__total_samples(focused),
			(unsigned long long)agg__total_samples(agg));
		agg__free(agg);
		agg = focused;
	}
	err = write_profiles(agg, outs, nouts, &meta);
	print_summary(p, duration);
	if (poll_err) {
		fprintf(stderr, "pybpfprof: %llu reads of the sample ring failed: the profile "
			"may be missing samples\n", poll_failures);
		err = err ?: poll_err;
	}
cleanup:
	for (size_t i = 0; i < MAX_OUTPUTS; i++)
		output_discard(&outs[i]);
	profiler__free(p);
	agg__free(agg);
	return err ? 1 : 0;
}
