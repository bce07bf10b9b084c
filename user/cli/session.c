// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>
#include <bpf/libbpf.h>
#include "checks.h"
#include "session.h"

/* Drain often: a short-lived code object (a module body) must still be there. */
#define DRAIN_INTERVAL_NS (20 * 1000000ULL)
#define NSEC_PER_SEC 1000000000ULL
/*
 * Jitter: each CPU's sampling period is drawn anew at random moments,
 * on average every REDRAW_PERIODS mean periods, and no more often than
 * REDRAW_CPU_NS per CPU allows: one re-draw is an ioctl and an IPI to
 * that CPU, a few microseconds (see README, Performance), so a host with
 * many CPUs re-draws each one less often rather than spending more.
 */
#define REDRAW_PERIODS 4
#define REDRAW_CPU_NS (200 * 1000ULL)

/*
 * On a host saturated by hundreds of CPU-bound threads, a nice-0 profiler
 * gets one share among them all: measured here, 200 processes x 4 busy
 * threads stretched a 0.13 s start (BPF load, discovery) to 50 s of wall
 * time. The profiler needs about 1% of a CPU, so asking for more weight
 * costs the targets nothing noticeable and keeps starting, draining and
 * symbolizing prompt. A nice value the operator chose is kept.
 */
#define PROFILER_NICE (-10)

static int verbosity;

__u64 session__now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

static int libbpf_print_fn(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (!verbosity || (level == LIBBPF_DEBUG && verbosity < 2))
		return 0;
	return vfprintf(stderr, fmt, args);
}

static void raise_priority(bool verbose)
{
	int cur;

	errno = 0;
	cur = getpriority(PRIO_PROCESS, 0);
	if (errno || cur != 0)
		return;
	if (setpriority(PRIO_PROCESS, 0, PROFILER_NICE) && verbose)
		fprintf(stderr, "pybpfprof: cannot raise priority to nice %d: %s\n",
			PROFILER_NICE, strerror(errno));
}

void session__check(struct session *s, const struct cli_opts *o)
{
	char why[512];
	int status;

	bool origins = s->want_origins;

	memset(s, 0, sizeof(*s));
	s->o = o;
	s->want_origins = origins;
	verbosity = o->verbose;
	libbpf_set_print(libbpf_print_fn);
	if (checks__privileges(why, sizeof(why)) || checks__kernel(why, sizeof(why)) ||
	    checks__pids(o->pids, o->npids, why, sizeof(why)))
		die("%s", why);
	if (o->command) {
		/* Before the priority changes: the command gets the nice value of before. */
		s->cmd = command__prepare(o->command, why, sizeof(why), &status);
		if (!s->cmd) {
			fprintf(stderr, "pybpfprof: %s\n", why);
			exit(status);
		}
	}
	raise_priority(o->verbose > 0);
}

/* Wall mode: a snapshot of the threads off CPU, and the next one armed. */
static void on_snapshot(struct loop *l, void *ctx)
{
	struct session *s = ctx;
	__u64 ns = profiler__offcpu_snapshot(s->prof);

	if (ns)
		loop__set_timer(s->snapshot, ns, 0);
}

static void on_drain(struct loop *l, void *ctx)
{
	struct session *s = ctx;
	int err = profiler__poll(s->prof);

	if (err) {
		/* Once, not every 20 ms; the run still ends in failure. */
		if (!s->poll_failures++)
			fprintf(stderr, "pybpfprof: reading samples: %s\n", strerror(-err));
		s->poll_err = s->poll_err ?: err;
	}
}

/* Mean time between two re-draws of every CPU's period. */
static double redraw_mean_ns(const struct session *s)
{
	double mean = REDRAW_PERIODS * (double)NSEC_PER_SEC / s->o->frequency;
	/* Read once: sysconf() opens /sys/devices/system/cpu/online each time. */
	static long ncpus;

	if (!ncpus)
		ncpus = sysconf(_SC_NPROCESSORS_ONLN);
	double floor = (ncpus > 0 ? ncpus : 1) * (double)REDRAW_CPU_NS;

	return mean > floor ? mean : floor;
}

/* The next re-draw at a random moment: uniform in [0.5, 1.5] of the mean. */
static void arm_redraw(struct session *s)
{
	__u64 ns = (__u64)(redraw_mean_ns(s) * profiler__uniform(s->prof, 0.5, 1.5));

	loop__set_timer(s->redraw, ns ? ns : 1, 0);
}

static void on_redraw(struct loop *l, void *ctx)
{
	struct session *s = ctx;
	__u64 t0 = session__now_ns();
	int err = profiler__redraw(s->prof);

	s->redraw_ns += session__now_ns() - t0;
	s->redraws++;
	if (err && !s->redraw_failures++)
		fprintf(stderr, "pybpfprof: cannot change the sampling period: %s; sampling "
			"goes on at the last one\n", strerror(-err));
	if (!err)
		arm_redraw(s);
}

static void on_duration(struct loop *l, void *ctx)
{
	session__request_stop(ctx);
}

void session__request_stop(struct session *s)
{
	if (s->on_stop)
		s->on_stop(s);
	else
		loop__stop(s->loop, 0);
}

/*
 * With a command, a stop request goes to the command: the profile ends
 * when it exits. A signal the terminal sent (Ctrl-C) reached it already,
 * as it shares our process group; one sent with kill(2) is passed on.
 */
static void on_stop_signal(struct loop *l, const struct signalfd_siginfo *si, void *ctx)
{
	struct session *s = ctx;

	if (s->cmd && !s->cmd_exited) {
		if (si->ssi_code != SI_KERNEL && (pid_t)si->ssi_pid != command__pid(s->cmd))
			command__kill(s->cmd, (int)si->ssi_signo);
		return;
	}
	session__request_stop(s);
}

static void on_child(struct loop *l, const struct signalfd_siginfo *si, void *ctx)
{
	struct session *s = ctx;

	if (!s->cmd || s->cmd_exited || !command__reap(s->cmd, &s->cmd_status))
		return;
	s->cmd_exited = true;
	session__request_stop(s);
}

static void on_usr1(struct loop *l, const struct signalfd_siginfo *si, void *ctx)
{
	struct session *s = ctx;

	if (s->on_status)
		s->on_status(s);
}

int session__load(struct session *s)
{
	const struct cli_opts *o = s->o;
	struct profiler_opts po = {
		.frequency = o->frequency,
		.max_depth = o->max_depth,
		.ring_size = o->ring_size,
		.pids = o->pids,
		.npids = o->npids,
		.pid_filter = o->npids > 0 || o->command,
		.no_lines = o->no_lines,
		.origins = s->want_origins,
		.wall = o->wall,
		.gil_only = o->gil_only,
		.native = o->native,
		.native_stack = o->native_stack,
		.kernel = o->kernel,
		.verbose = o->verbose > 0,
		/*
		 * Wall mode: an off-CPU sample is 1/HZ s exactly, so the on-CPU
		 * ones keep the fixed grid (random periods sample at up to 1.1
		 * HZ); its snapshots are the ones drawn at random moments.
		 */
		.jitter = !o->no_jitter && !o->wall,
		/* Tests choose wall mode's iterator: "all" or "process". */
		.wall_iter = !getenv("PYBPFPROF_WALL_ITER") ? OFFCPU_ITER_AUTO :
			     !strcmp(getenv("PYBPFPROF_WALL_ITER"), "all") ? OFFCPU_ITER_ALL :
			     !strcmp(getenv("PYBPFPROF_WALL_ITER"), "process") ?
			     OFFCPU_ITER_PROCESS : OFFCPU_ITER_AUTO,
		/* Tests run the pre-5.17 walker on any kernel with this. */
		.tail_walker = getenv("PYBPFPROF_TAIL_WALKER") &&
			       !strcmp(getenv("PYBPFPROF_TAIL_WALKER"), "1"),
	};
	char why[512];
	int err;

	gethostname(s->hostname, sizeof(s->hostname) - 1);
	s->loop = loop__new();
	if (!s->loop) {
		fprintf(stderr, "pybpfprof: cannot set up the event loop: %s\n", strerror(errno));
		return -errno;
	}
	s->prof = profiler__new(&po, &err, why, sizeof(why));
	if (!s->prof) {
		fprintf(stderr, "pybpfprof: %s\n", why);
		return err;
	}
	if (profiler__tail_walker(s->prof) && (o->verbose || po.tail_walker))
		fprintf(stderr, "pybpfprof: %s: frames are walked in tail-called chunks\n",
			po.tail_walker ? "PYBPFPROF_TAIL_WALKER=1" :
			"this kernel has no bpf_loop (5.17+)");
	if (s->cmd) {
		err = command__spawn(s->cmd);
		if (!err)
			err = profiler__follow(s->prof, command__pid(s->cmd));
		if (err) {
			fprintf(stderr, "pybpfprof: cannot start '%s': %s\n", o->command[0],
				strerror(-err));
			return err;
		}
	}
	if (!loop__add_timer(s->loop, DRAIN_INTERVAL_NS, DRAIN_INTERVAL_NS, on_drain, s))
		return -errno;
	loop__on_signal(s->loop, SIGINT, on_stop_signal, s);
	loop__on_signal(s->loop, SIGTERM, on_stop_signal, s);
	loop__on_signal(s->loop, SIGHUP, on_stop_signal, s);
	loop__on_signal(s->loop, SIGQUIT, on_stop_signal, s);
	loop__on_signal(s->loop, SIGCHLD, on_child, s);
	loop__on_signal(s->loop, SIGUSR1, on_usr1, s);
	return 0;
}

int session__start(struct session *s)
{
	struct timespec wall;
	char why[512];
	int err;

	s->start_ns = session__now_ns();
	clock_gettime(CLOCK_REALTIME, &wall);
	s->start_unix_ns = wall.tv_sec * NSEC_PER_SEC + wall.tv_nsec;
	err = profiler__start(s->prof);
	if (err) {
		fprintf(stderr, "pybpfprof: cannot start sampling at %u Hz: %s%s\n",
			s->o->frequency, strerror(-err),
			err == -EINVAL ? " (see /proc/sys/kernel/perf_event_max_sample_rate)" : "");
		return err;
	}
	if (s->cmd) {
		err = command__release(s->cmd, why, sizeof(why));
		if (err) {
			fprintf(stderr, "pybpfprof: %s\n", why);
			s->cmd_exited = true;
			s->cmd_status = err == -ENOENT ? 127 : 126;
			return err;
		}
	}
	if (s->o->wall) {
		s->snapshot = loop__add_timer(s->loop, 1, 0, on_snapshot, s);
		if (!s->snapshot)
			return -errno;
	}
	if (s->o->duration &&
	    !loop__add_timer(s->loop, (__u64)(s->o->duration * NSEC_PER_SEC), 0, on_duration, s))
		return -errno;
	if (!s->o->no_jitter && !s->o->wall) {
		s->redraw = loop__add_timer(s->loop, 1, 0, on_redraw, s);
		if (!s->redraw)
			return -errno;
		arm_redraw(s);
	}
	return 0;
}

double session__rate(struct session *s)
{
	return profiler__rate(s->prof);
}

void session__stop(struct session *s)
{
	profiler__stop(s->prof);
}

double session__elapsed(const struct session *s)
{
	return (session__now_ns() - s->start_ns) / 1e9;
}

int session__wait_command(struct session *s)
{
	if (!s->cmd || s->cmd_exited)
		return s->cmd_status;
	sigset_t set;
	siginfo_t si;

	fprintf(stderr, "pybpfprof: sampling ended; waiting for '%s' to exit\n",
		s->o->command[0]);
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGQUIT);
	/* The loop has ended: stop requests still go to the command. */
	while (!command__reap(s->cmd, &s->cmd_status)) {
		if (sigwaitinfo(&set, &si) < 0 || si.si_signo == SIGCHLD)
			continue;
		if (si.si_code != SI_KERNEL && si.si_pid != command__pid(s->cmd))
			command__kill(s->cmd, si.si_signo);
	}
	s->cmd_exited = true;
	return s->cmd_status;
}

void session__print_summary(struct session *s, double duration)
{
	struct profiler_stats st;
	__u64 *c = st.counters;

	profiler__stats(s->prof, &st);
	/* The rate measured: what each sample's time is worth in the outputs. */
	fprintf(stderr,
		"pybpfprof: %.1f s at %.1f Hz: %llu samples, %llu Python samples, %llu lost, "
		"%llu Python processes seen",
		duration, session__rate(s), (unsigned long long)c[CNT_SAMPLES],
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
	if (st.offcpu_samples || st.offcpu_unread)
		fprintf(stderr, ", %llu off-CPU samples (%llu stacks read, %llu lost: the thread "
			"ran while read)", (unsigned long long)st.offcpu_samples,
			(unsigned long long)st.offcpu_walks, (unsigned long long)st.offcpu_unread);
	if (st.offcpu_late_points || st.offcpu_failed_snapshots)
		fprintf(stderr, ", %llu off-CPU periods taken late, %llu snapshots failed",
			(unsigned long long)st.offcpu_late_points,
			(unsigned long long)st.offcpu_failed_snapshots);
	if (st.gil_filtered)
		fprintf(stderr, ", %llu left out by --gil", (unsigned long long)st.gil_filtered);
	if (st.native_unwound)
		fprintf(stderr, ", %llu native stacks unwound (%llu truncated; %.1f us median, "
			"%.1f us p99)", (unsigned long long)st.native_unwound,
			(unsigned long long)st.native_truncated, st.native_median_ns / 1000.0,
			st.native_p99_ns / 1000.0);
	fputc('\n', stderr);
	if (s->o->verbose)
		fprintf(stderr, "pybpfprof: %llu code objects unreadable, %llu symbolizer cache "
			"resets, %llu frames in per-thread bytecode (%llu without a line), "
			"%llu stale process entries repaired\n",
			(unsigned long long)st.code_failures, (unsigned long long)st.cache_resets,
			(unsigned long long)st.tlbc_frames, (unsigned long long)st.tlbc_failures,
			(unsigned long long)st.stale_repaired);
	if (s->o->verbose && st.offcpu_snapshots)
		fprintf(stderr, "pybpfprof: off-CPU snapshots: %llu, %llu of them by an iterator "
			"per process%s\n", (unsigned long long)st.offcpu_snapshots,
			(unsigned long long)st.offcpu_by_process,
			st.offcpu_process_refused ? " (this kernel has none: Linux 6.1+)" : "");
	if (s->o->verbose && s->redraws)
		fprintf(stderr, "pybpfprof: sampling periods re-drawn %llu times, %.1f us each "
			"(all CPUs), %.3f%% of the run\n", s->redraws,
			s->redraw_ns / 1e3 / s->redraws, 100.0 * s->redraw_ns / 1e9 / duration);
	if (c[CNT_LOST])
		fprintf(stderr, "pybpfprof: warning: %llu samples were lost to a full ring "
			"buffer; a larger --ring-size keeps them\n", (unsigned long long)c[CNT_LOST]);
	if (s->poll_err)
		fprintf(stderr, "pybpfprof: %llu reads of the sample ring failed: the profile "
			"may be missing samples\n", s->poll_failures);
}

void session__free(struct session *s)
{
	command__free(s->cmd);
	s->cmd = NULL;
	profiler__free(s->prof);
	s->prof = NULL;
	loop__free(s->loop);
	s->loop = NULL;
}
