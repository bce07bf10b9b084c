// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `pybpfprof agent`: continuous profiling. Sampling never stops; the
 * samples are cut into windows of --interval seconds, exact and
 * contiguous (each sample counted in the window of the time it was
 * taken), and every closed window goes to each sink: Pyroscope (--push),
 * files (--output-dir). An HTTP server (--listen) answers scrapes of
 * "the next N seconds" and /metrics.
 *
 * This thread is the capture thread: it alone touches BPF, the profiler
 * and the open windows. Sinks get frozen snapshots.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "files.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "push.h"
#include "scrape.h"
#include "session.h"
#include "utf8.h"

#define NSEC_PER_SEC 1000000000ULL
/*
 * A window is closed this long after its end: every sample taken before
 * the end has been committed to the ring by then (a BPF program runs for
 * microseconds) and the drain that precedes the close reads it.
 */
#define CLOSE_GRACE_NS (150 * 1000000ULL)
#define STATS_INTERVAL_NS NSEC_PER_SEC
/* SIGTERM: the last window is flushed and the agent is gone within 5 s. */
#define SHUTDOWN_BUDGET_NS (4500 * 1000000ULL)
#define DEFAULT_AGENT_FREQUENCY 19
#define DEFAULT_INTERVAL 10
#define DEFAULT_KEEP 360
#define DEFAULT_MAX_QUEUE (64U << 20)
/*
 * Pyroscope takes 30 label names per series: __name__, service_name and
 * hostname, and pid, comm, thread_name, container_id and gil, which it
 * promotes from the samples' string labels, leave 22.
 */
#define MAX_LABELS 22
/*
 * The frame dictionary keeps every frame ever named until it starts over:
 * on a host that keeps generating code it would only grow. It starts over
 * every this many windows once it holds more than DICT_FLOOR frames (the
 * frames still sampled are named again, once), or at once past DICT_CEILING.
 */
#define DICT_RESET_WINDOWS 60
#define DICT_FLOOR 4096
#define DICT_CEILING (256U << 10)
#define MAX_HEADERS 32

enum {
	OPT_INTERVAL = OPT_FIRST_COMMAND_OWN,
	OPT_LABEL,
	OPT_PUSH,
	OPT_PUSH_HEADER,
	OPT_PUSH_HEADER_FILE,
	OPT_PUSH_FORMAT,
	OPT_LISTEN,
	OPT_OUTPUT_DIR,
	OPT_KEEP,
	OPT_MAX_QUEUE,
};

static const struct option long_options[] = {
	{ "frequency", required_argument, NULL, 'F' },
	{ "interval", required_argument, NULL, OPT_INTERVAL },
	{ "pid", required_argument, NULL, 'p' },
	{ "label", required_argument, NULL, OPT_LABEL },
	{ "push", required_argument, NULL, OPT_PUSH },
	{ "push-header", required_argument, NULL, OPT_PUSH_HEADER },
	{ "push-header-file", required_argument, NULL, OPT_PUSH_HEADER_FILE },
	{ "push-format", required_argument, NULL, OPT_PUSH_FORMAT },
	{ "listen", required_argument, NULL, OPT_LISTEN },
	{ "output-dir", required_argument, NULL, OPT_OUTPUT_DIR },
	{ "keep", required_argument, NULL, OPT_KEEP },
	{ "max-queue", required_argument, NULL, OPT_MAX_QUEUE },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "ring-size", required_argument, NULL, OPT_RING_SIZE },
	{ "no-lines", no_argument, NULL, OPT_NO_LINES },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "gil", no_argument, NULL, OPT_GIL },
	{ "native", no_argument, NULL, OPT_NATIVE },
	{ "kernel", no_argument, NULL, OPT_KERNEL },
	{ "native-stack-size", required_argument, NULL, OPT_NATIVE_STACK },
	{ "no-jitter", no_argument, NULL, OPT_NO_JITTER },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{},
};

const char agent_usage[] =
"Usage: pybpfprof agent [-F HZ] [--interval SECONDS] [-p PID]... [--label KEY=VALUE]...\n"
"                       [--push URL] [--push-header 'NAME: VALUE']... [--listen ADDR:PORT]\n"
"                       [--output-dir DIR] [--keep N] [--max-queue SIZE] [--no-jitter]\n"
"\n"
"Profile every Python process on the host continuously, in windows of\n"
"--interval seconds, for Grafana Pyroscope (push), Parca or Grafana Alloy\n"
"(scrape), or files. Runs until SIGTERM, which flushes the last window.\n"
"\n"
"Options:\n"
"  -F, --frequency HZ     samples per second on each CPU, 1-10000 (default 19)\n"
"      --interval SECONDS one profile window, 1-3600 (default 10)\n"
"  -p, --pid PID          only this process; repeat for more (default: all)\n"
"      --label KEY=VALUE  a label on every profile; repeat for more;\n"
"                         service_name=NAME names every process's service\n"
"      --push URL         POST each window to URL/push.v1.PusherService/Push\n"
"                         (Pyroscope's Connect API)\n"
"      --push-header 'NAME: VALUE'\n"
"                         an HTTP header on each push (Authorization,\n"
"                         X-Scope-OrgID); repeat for more\n"
"      --push-header-file FILE\n"
"                         headers from FILE, one 'NAME: VALUE' a line, so\n"
"                         credentials never show in ps; also read from the\n"
"                         environment variable PYBPFPROF_PUSH_HEADERS\n"
"      --push-format FMT  proto (default) or json\n"
"      --listen ADDR:PORT serve /debug/pprof/profile?seconds=N and /metrics;\n"
"                         ADDR defaults to 127.0.0.1\n"
"      --output-dir DIR   write each window to DIR/pybpfprof-<UTC time>.pb.gz\n"
"      --keep N           files kept in --output-dir, 1-1000000 (default 360)\n"
"      --max-queue SIZE   windows waiting to be pushed, in bytes (default 64M)\n"
"      --max-depth N      frames kept per stack, 1-1024 (default 256)\n"
"      --ring-size SIZE   kernel ring buffer, a power of two (default 8M)\n"
"      --no-lines         one frame per function, not one per line\n"
"      --mode MODE        cpu (default): on-CPU time; wall: off-CPU time too,\n"
"                         pushed as __name__=wall\n"
"      --gil              only samples of threads holding the GIL\n"
"      --native           native (C) frames around the Python ones\n"
"      --kernel           the kernel's frames on top of each stack\n"
"      --native-stack-size SIZE\n"
"                         user stack copied per sample for --native (8K)\n"
"      --no-jitter        sample at fixed intervals of 1/HZ, not random ones\n"
"  -v, --verbose          report discovered processes and each push\n"
"      --version          print the version and exit\n"
"  -h, --help             print this help and exit\n"
"\n"
"Services: service_name is a --label service_name=... given for all, else\n"
"the process's innermost systemd unit or container in its cgroup path\n"
"(foo.service: foo; a docker, containerd, CRI-O or podman scope:\n"
"RUNTIME/ID, with container_id the 64-hex id), else its command name.\n"
"\n"
"Signals: SIGTERM or SIGINT flushes the current window and stops within\n"
"5 s; SIGHUP is ignored; SIGUSR1 prints a status line.\n"
"\n"
"Examples:\n"
"  sudo pybpfprof agent --push http://pyroscope:4040\n"
"  sudo pybpfprof agent --listen 0.0.0.0:7071 --output-dir /var/lib/pybpfprof\n"
"  sudo pybpfprof agent --push https://profiles.example.com --push-header-file /etc/pybpfprof/push-headers\n";

struct agent_opts {
	unsigned int interval;
	struct label labels[MAX_LABELS];
	size_t nlabels;
	const char *push_url;
	const char *headers[MAX_HEADERS];
	size_t nheaders;
	char *texts[MAX_HEADERS];	/* header files and PYBPFPROF_PUSH_HEADERS, split */
	size_t ntexts;
	bool push_json;
	const char *listen;
	const char *output_dir;
	unsigned int keep;
	size_t max_queue;
};

struct agent {
	struct session s;
	struct cli_opts o;
	struct agent_opts a;
	struct sink *sinks[2];
	size_t nsinks;
	struct http_server *http;
	struct scrape_queue scrapes;
	bool scrapes_ready;
	/* The open windows: cur covers [cur_start, cur_end), next [cur_end, ...). */
	struct agg *cur, *next;
	__u64 cur_start, cur_end;
	__u64 interval_ns;
	unsigned long seq;
	unsigned long dict_windows;	/* windows since the dictionary started over */
	struct scrape *active;		/* scrapes being collected */
};

/* Label names: Prometheus's, and not the reserved "__" ones. */
static bool label_name_ok(const char *s, size_t n)
{
	if (!n || n > 1024 || (n >= 2 && s[0] == '_' && s[1] == '_'))
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (i && c >= '0' && c <= '9')))
			return false;
	}
	return true;
}

static void add_label(struct agent_opts *a, const char *arg)
{
	const char *eq = strchr(arg, '=');
	char *name;

	if (!eq || !label_name_ok(arg, eq - arg))
		die("invalid --label '%s': expected KEY=VALUE with KEY a label name "
		    "([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)", arg);
	if (strlen(eq + 1) > 2048 || !eq[1])
		die("invalid --label '%s': the value must be 1 to 2048 characters", arg);
	/* Protobuf strings (pprof, the push) and Prometheus label values are UTF-8. */
	if (!utf8__valid(eq + 1, strlen(eq + 1)))
		die("invalid --label %.*s=...: the value is not valid UTF-8", (int)(eq - arg), arg);
	if (a->nlabels == MAX_LABELS)
		die("too many --label options (at most %d)", MAX_LABELS);
	name = strndup(arg, eq - arg);
	if (!name)
		die("out of memory");
	for (size_t i = 0; i < a->nlabels; i++)
		if (!strcmp(a->labels[i].name, name))
			die("invalid --label '%s': %s is given twice", arg, name);
	if (!strcmp(name, "hostname") || !strcmp(name, "pid") || !strcmp(name, "comm") ||
	    !strcmp(name, "thread_name") || !strcmp(name, "container_id") ||
	    !strcmp(name, "gil"))
		die("invalid --label '%s': %s is set by the agent itself", arg, name);
	a->labels[a->nlabels].name = name;
	a->labels[a->nlabels].value = eq + 1;
	a->nlabels++;
}

/* "Name: value", with a token for a name and no line breaks anywhere. */
static bool header_ok(const char *h)
{
	const char *colon = strchr(h, ':');

	if (!colon || colon == h || strpbrk(h, "\r\n"))
		return false;
	for (const char *c = h; c < colon; c++)
		if (*c <= ' ' || *c >= 127 || strchr("()<>@,;:\\\"/[]?={}", *c))
			return false;
	return true;
}

static void add_header(struct agent_opts *a, const char *h, const char *from)
{
	if (!header_ok(h))
		die("invalid push header %s: expected 'NAME: VALUE' on one line", from);
	if (a->nheaders == MAX_HEADERS)
		die("too many push headers (at most %d)", MAX_HEADERS);
	a->headers[a->nheaders++] = h;
}

/* Headers, one a line, from @text (a file's or an environment variable's). */
static void add_header_lines(struct agent_opts *a, const char *src, const char *from)
{
	char *save = NULL, *line, *text;

	if (a->ntexts == MAX_HEADERS)
		die("too many push header sources (at most %d)", MAX_HEADERS);
	/* The headers point into the copy: it lives as long as they do. */
	text = a->texts[a->ntexts++] = strdup(src);
	if (!text)
		die("out of memory");
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line);

		if (n && line[n - 1] == '\r')
			line[n - 1] = '\0';
		if (!*line || *line == '#')
			continue;
		add_header(a, line, from);
	}
}

static void read_header_file(struct agent_opts *a, const char *path)
{
	static char buf[16384];
	size_t n;
	FILE *f = fopen(path, "re");

	if (!f)
		die("cannot read --push-header-file '%s': %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	if (ferror(f) || !feof(f))
		die("cannot read --push-header-file '%s': %s", path,
		    ferror(f) ? strerror(errno) : "larger than 16 KiB");
	fclose(f);
	buf[n] = '\0';
	add_header_lines(a, buf, "in --push-header-file");
}

static void parse_args(int argc, char **argv, struct cli_opts *o, struct agent_opts *a)
{
	const char *env;
	int opt;

	options__defaults(o);
	o->frequency = DEFAULT_AGENT_FREQUENCY;
	a->interval = DEFAULT_INTERVAL;
	a->keep = DEFAULT_KEEP;
	a->max_queue = DEFAULT_MAX_QUEUE;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "+:F:p:vh", long_options, NULL)) != -1) {
		if (options__common(opt, optarg, o))
			continue;
		switch (opt) {
		case OPT_INTERVAL:
			a->interval = options__long("interval", optarg, 1, 3600);
			break;
		case OPT_LABEL:
			add_label(a, optarg);
			break;
		case OPT_PUSH:
			if (strncmp(optarg, "http://", 7) && strncmp(optarg, "https://", 8))
				die("invalid --push URL '%s': expected http:// or https://", optarg);
			a->push_url = optarg;
			break;
		case OPT_PUSH_HEADER:
			add_header(a, optarg, "'--push-header'");
			break;
		case OPT_PUSH_HEADER_FILE:
			read_header_file(a, optarg);
			break;
		case OPT_PUSH_FORMAT:
			if (strcmp(optarg, "proto") && strcmp(optarg, "json"))
				die("invalid --push-format '%s': expected proto or json", optarg);
			a->push_json = !strcmp(optarg, "json");
			break;
		case OPT_LISTEN:
			a->listen = optarg;
			break;
		case OPT_OUTPUT_DIR:
			if (!*optarg)
				die("invalid --output-dir '': empty path");
			a->output_dir = optarg;
			break;
		case OPT_KEEP:
			a->keep = options__long("keep", optarg, 1, 1000000);
			break;
		case OPT_MAX_QUEUE:
			a->max_queue = options__size("max queue", optarg, 1 << 20, 1ULL << 34);
			break;
		case OPT_VERSION:
			printf("pybpfprof %s\n", PYBPFPROF_VERSION);
			exit(0);
		case 'h':
			fputs(agent_usage, stdout);
			exit(0);
		case ':':
			die("option '%s' needs a value (see pybpfprof agent --help)",
			    argv[optind - 1]);
		default:
			die("unknown option '%s' (see pybpfprof agent --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s' (see pybpfprof agent --help)", argv[optind]);
	env = getenv("PYBPFPROF_PUSH_HEADERS");
	if (env && *env)
		add_header_lines(a, env, "in PYBPFPROF_PUSH_HEADERS");
	if (a->nheaders && !a->push_url)
		die("push headers given without --push");
	if (!a->push_url && !a->listen && !a->output_dir)
		die("the agent needs somewhere to send profiles: --push URL, --listen ADDR:PORT "
		    "or --output-dir DIR");
	options__finish(o);
}

static void agent_opts__free(struct agent_opts *a)
{
	for (size_t i = 0; i < a->nlabels; i++)
		free((char *)a->labels[i].name);
	for (size_t i = 0; i < a->ntexts; i++)
		free(a->texts[i]);
}

/* ---- windows -------------------------------------------------------------- */

/* The wall-clock time of monotonic @ns, by the start's pair of clocks. */
static __u64 unix_ns(const struct agent *ag, __u64 ns)
{
	return ag->s.start_unix_ns + (ns - ag->s.start_ns);
}

static void submit(struct agent *ag, struct agg *agg, __u64 start, __u64 end)
{
	struct snapshot *snap;

	snap = snapshot__new(agg, unix_ns(ag, start), end - start, session__rate(&ag->s),
			     ag->s.hostname);
	if (!snap) {
		agg__free(agg);
		log__msg("out of memory: a window was lost");
		return;
	}
	snap->seq = ++ag->seq;
	snap->wall = ag->o.wall;
	atomic_fetch_add(&metrics.windows_closed, 1);
	for (size_t i = 0; i < ag->nsinks; i++)
		sink__submit(ag->sinks[i], snap);
	snapshot__put(snap);
}

static void bound_dict(struct agent *ag)
{
	size_t n = profiler__dict_frames(ag->s.prof);

	if ((++ag->dict_windows >= DICT_RESET_WINDOWS && n > DICT_FLOOR) || n > DICT_CEILING) {
		profiler__reset_dict(ag->s.prof);
		ag->dict_windows = 0;
	}
}

/*
 * Close every window whose end (plus the grace) has passed: the ring is
 * drained first, so each holds every sample of its span. After a long
 * stall several close in a row, empty ones included: windows stay
 * contiguous.
 */
static void rotate(struct agent *ag, __u64 now)
{
	profiler__poll(ag->s.prof);
	while (ag->cur_end + CLOSE_GRACE_NS <= now) {
		struct agg *next = agg__new();

		if (!next) {
			log__msg("out of memory: the window is extended");
			return;
		}
		profiler__remove_window(ag->s.prof, ag->cur);
		submit(ag, ag->cur, ag->cur_start, ag->cur_end);
		ag->cur = ag->next;
		ag->cur_start = ag->cur_end;
		ag->cur_end += ag->interval_ns;
		profiler__end_window(ag->s.prof, ag->cur, ag->cur_end);
		profiler__set_late_window(ag->s.prof, ag->cur);
		ag->next = next;
		if (profiler__add_window(ag->s.prof, next, ag->cur_end, 0)) {
			agg__free(next);
			ag->next = NULL;
			log__msg("out of memory: cannot open the next window");
		}
		bound_dict(ag);
	}
}

static void on_rotate(struct loop *l, void *ctx)
{
	rotate(ctx, session__now_ns());
}

static int open_windows(struct agent *ag)
{
	ag->interval_ns = (__u64)ag->a.interval * NSEC_PER_SEC;
	ag->cur = agg__new();
	ag->next = agg__new();
	if (!ag->cur || !ag->next)
		return -ENOMEM;
	ag->cur_start = ag->s.start_ns;
	ag->cur_end = ag->s.start_ns + ag->interval_ns;
	return profiler__add_window(ag->s.prof, ag->cur, 0, ag->cur_end) ?:
	       profiler__add_window(ag->s.prof, ag->next, ag->cur_end, 0) ?:
	       profiler__set_late_window(ag->s.prof, ag->cur);
}

/* ---- scrapes ---------------------------------------------------------------- */

static void on_scrape_request(struct loop *l, int fd, unsigned int events, void *ctx)
{
	struct agent *ag = ctx;
	struct scrape *s = scrape_queue__take_pending(&ag->scrapes), *next;
	__u64 now = session__now_ns();

	for (; s; s = next) {
		next = s->next;
		s->start_ns = now;
		s->end_ns = now + (__u64)(s->seconds * NSEC_PER_SEC);
		s->agg = agg__new();
		if (!s->agg || profiler__add_window(ag->s.prof, s->agg, s->start_ns, s->end_ns)) {
			agg__free(s->agg);
			s->agg = NULL;
			scrape__complete(&ag->scrapes, s, NULL, -ENOMEM);
			continue;
		}
		s->next = ag->active;
		ag->active = s;
	}
}

/* Complete the scrapes whose time is up (all of them when @all). */
static void finish_scrapes(struct agent *ag, __u64 now, bool all)
{
	struct scrape **pp = &ag->active;

	while (*pp) {
		struct scrape *s = *pp;
		struct snapshot *snap;
		__u64 end = now < s->end_ns ? now : s->end_ns;

		if (!all && s->end_ns + CLOSE_GRACE_NS > now) {
			pp = &s->next;
			continue;
		}
		*pp = s->next;
		profiler__remove_window(ag->s.prof, s->agg);
		snap = snapshot__new(s->agg, unix_ns(ag, s->start_ns), end - s->start_ns,
				     session__rate(&ag->s), ag->s.hostname);
		if (snap)
			snap->wall = ag->o.wall;
		else
			agg__free(s->agg);
		s->agg = NULL;
		scrape__complete(&ag->scrapes, s, snap, snap ? 0 : -ENOMEM);
	}
}

static void on_scrape_tick(struct loop *l, void *ctx)
{
	struct agent *ag = ctx;

	if (ag->active)
		finish_scrapes(ag, session__now_ns(), false);
}

/* ---- health ------------------------------------------------------------------ */

static void on_stats(struct loop *l, void *ctx)
{
	struct agent *ag = ctx;
	struct profiler_stats st;

	profiler__stats(ag->s.prof, &st);
	atomic_store(&metrics.samples, st.counters[CNT_SAMPLES]);
	atomic_store(&metrics.python_samples, st.counters[CNT_PY_SAMPLES]);
	atomic_store(&metrics.samples_lost, st.counters[CNT_LOST]);
	atomic_store(&metrics.events_lost, st.counters[CNT_EVENTS_LOST]);
	atomic_store(&metrics.samples_dropped, st.dropped_samples);
	atomic_store(&metrics.processes_tracked, st.procs_tracked);
	atomic_store(&metrics.python_processes_seen, st.procs_seen);
	atomic_store(&metrics.symbolizer_entries, st.codes_cached + st.frames_cached);
}

static void print_status(struct session *s)
{
	struct agent *ag = (struct agent *)s;	/* s is its first member */
	struct profiler_stats st;

	on_stats(s->loop, ag);
	profiler__stats(s->prof, &st);
	log__msg("status: %.0f s, %llu samples, %llu lost, %llu processes tracked, "
		 "%llu code objects and %llu frames cached, %llu dictionary frames, "
		 "%llu windows, %llu pushed, %llu push failures, queue %llu bytes",
		 session__elapsed(s), (unsigned long long)st.counters[CNT_SAMPLES],
		 (unsigned long long)st.counters[CNT_LOST],
		 (unsigned long long)st.procs_tracked, (unsigned long long)st.codes_cached,
		 (unsigned long long)st.frames_cached, (unsigned long long)st.dict_frames,
		 (unsigned long long)atomic_load(&metrics.windows_closed),
		 (unsigned long long)atomic_load(&metrics.windows_pushed),
		 (unsigned long long)atomic_load(&metrics.push_attempts_failed),
		 (unsigned long long)atomic_load(&metrics.queue_bytes));
}

static void on_hup(struct loop *l, const struct signalfd_siginfo *si, void *ctx)
{
	static struct log_limit hup = LOG_LIMIT_INIT(60);

	log__limited(&hup, "SIGHUP ignored: the agent has no configuration to reload");
}

/* ---- start and stop ----------------------------------------------------------- */

static int open_sinks(struct agent *ag)
{
	char why[PATH_MAX + 256];

	if (ag->a.output_dir) {
		struct files_opts fo = {
			.dir = ag->a.output_dir, .keep = ag->a.keep, .mode = 0644,
		};

		ag->sinks[ag->nsinks] = files_sink__new(&fo, why, sizeof(why));
		if (!ag->sinks[ag->nsinks])
			die("%s", why);
		ag->nsinks++;
	}
	if (ag->a.push_url) {
		struct push_opts po = {
			.url = ag->a.push_url,
			.headers = ag->a.headers,
			.nheaders = ag->a.nheaders,
			.json = ag->a.push_json,
			.max_queue = ag->a.max_queue,
			.labels = ag->a.labels,
			.nlabels = ag->a.nlabels,
			.hostname = ag->s.hostname,
			.verbose = ag->o.verbose > 0,
		};

		ag->sinks[ag->nsinks] = push_sink__new(&po, why, sizeof(why));
		if (!ag->sinks[ag->nsinks])
			die("%s", why);
		ag->nsinks++;
	}
	if (ag->a.listen) {
		if (scrape_queue__init(&ag->scrapes))
			die("cannot set up the scrape queue: %s", strerror(errno));
		ag->scrapes_ready = true;
		ag->http = http_server__new(ag->a.listen, &ag->scrapes, ag->s.hostname, why,
					    sizeof(why));
		if (!ag->http)
			die("%s", why);
	}
	return 0;
}

/* SIGTERM: the current window, cut short, goes out; the sinks get the rest of 5 s. */
static void shut_down(struct agent *ag)
{
	__u64 now = session__now_ns(), deadline = now + SHUTDOWN_BUDGET_NS;

	session__stop(&ag->s);	/* sampling off, rings drained */
	if (ag->cur) {
		/*
		 * Drained: no sample can still be on its way, so a window that
		 * has ended closes now, without the grace. Otherwise the
		 * samples taken since its end, in the next window, would be
		 * freed with it, and the last window would claim their time.
		 */
		rotate(ag, now + CLOSE_GRACE_NS);
		profiler__remove_window(ag->s.prof, ag->cur);
		if (now > ag->cur_start)
			submit(ag, ag->cur, ag->cur_start, now);
		else
			agg__free(ag->cur);
		ag->cur = NULL;
	}
	if (ag->next) {
		profiler__remove_window(ag->s.prof, ag->next);
		agg__free(ag->next);
		ag->next = NULL;
	}
	if (ag->scrapes_ready) {
		finish_scrapes(ag, now, true);
		scrape_queue__close(&ag->scrapes);
	}
	for (size_t i = 0; i < ag->nsinks; i++) {
		sink__close(ag->sinks[i], deadline);
		ag->sinks[i] = NULL;
	}
	http_server__free(ag->http);
	ag->http = NULL;
}

int cmd_agent(int argc, char **argv)
{
	struct agent *ag = calloc(1, sizeof(*ag));
	int err;

	if (!ag)
		die("out of memory");
	parse_args(argc, argv, &ag->o, &ag->a);
	session__check(&ag->s, &ag->o);
	ag->s.on_status = print_status;
	atomic_store(&metrics.queue_limit_bytes, ag->a.push_url ? ag->a.max_queue : 0);
	ag->s.want_origins = true;
	err = session__load(&ag->s);
	if (err)
		goto out;
	open_sinks(ag);
	err = session__start(&ag->s);
	if (!err)
		err = open_windows(ag);
	if (err)
		goto out;
	loop__on_signal(ag->s.loop, SIGHUP, on_hup, ag);
	if (!loop__add_timer(ag->s.loop, ag->interval_ns + CLOSE_GRACE_NS, ag->interval_ns,
			     on_rotate, ag) ||
	    !loop__add_timer(ag->s.loop, STATS_INTERVAL_NS, STATS_INTERVAL_NS, on_stats, ag) ||
	    (ag->scrapes_ready &&
	     (loop__add_fd(ag->s.loop, ag->scrapes.efd, on_scrape_request, ag) ||
	      !loop__add_timer(ag->s.loop, 50 * 1000000ULL, 50 * 1000000ULL, on_scrape_tick,
			       ag)))) {
		err = -errno;
		log__msg("cannot set up the agent's timers: %s", strerror(errno));
		goto out;
	}
	if (ag->o.verbose)
		log__msg("agent: %u Hz, windows of %u s", ag->o.frequency, ag->a.interval);
	err = loop__run(ag->s.loop);
	if (err < 0)
		log__msg("event loop: %s", strerror(-err));
	shut_down(ag);
	session__print_summary(&ag->s, session__elapsed(&ag->s));
out:
	for (size_t i = 0; i < ag->nsinks; i++)
		sink__close(ag->sinks[i], session__now_ns());
	http_server__free(ag->http);
	if (ag->scrapes_ready)
		scrape_queue__destroy(&ag->scrapes);
	agg__free(ag->cur);
	agg__free(ag->next);
	session__free(&ag->s);
	agent_opts__free(&ag->a);
	free(ag);
	return err ? 1 : 0;
}
