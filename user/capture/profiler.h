/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A profiling session: the process table (which PIDs are Python, and
 * how to read them), discovery as processes start, exec, fork and exit,
 * and the path from a kernel sample to a counted, named stack.
 *
 * Samples are counted into windows: aggregations that each cover a span
 * of sample time [start, end) on CLOCK_MONOTONIC (bpf_ktime_get_ns()'s
 * clock). A sample goes to every window whose span holds the time it was
 * taken, so consecutive windows that share a boundary never count a
 * sample twice or lose one. Frame names are interned once, in a
 * dictionary that lives as long as the profiler (bounded: past its bound
 * it starts over), and copied into each window by name, so a window is
 * self-contained and can be handed to another thread once it is closed.
 *
 * Everything here runs on the capture thread.
 */
#ifndef __PROFILER_H
#define __PROFILER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "aggregate.h"
#include "pybpfprof.h"

struct profiler;

/* How wall mode's snapshot finds the threads off CPU. */
enum offcpu_iter {
	OFFCPU_ITER_AUTO,	/* per process when they are few among the host's tasks */
	OFFCPU_ITER_ALL,	/* one iterator over every task */
	OFFCPU_ITER_PROCESS,	/* one per Python process (6.1+; else as ALL) */
};

struct profiler_opts {
	unsigned int frequency;
	unsigned int max_depth;
	size_t ring_size;
	const pid_t *pids;	/* -p list; empty: every process, unless pid_filter */
	size_t npids;
	bool pid_filter;	/* only -p PIDs and followed processes (a command's) */
	bool no_lines;		/* one frame per function, not per line */
	bool origins;		/* note each process's unit or container */
	bool wall;		/* wall mode: off-CPU time too */
	bool gil_only;		/* --gil: only samples of threads holding the GIL */
	bool native;		/* --native: native frames around Python's */
	unsigned int native_stack;	/* --native: bytes of user stack copied */
	bool kernel;		/* --kernel: the kernel stack on top */
	bool verbose;
	bool jitter;		/* random sampling periods (profiler__redraw()) */
	bool tail_walker;	/* force the pre-5.17 walker (tests) */
	enum offcpu_iter wall_iter;	/* wall mode's snapshot iterator (tests force one) */
};

struct profiler_stats {
	__u64 counters[CNT_MAX];	/* from the kernel */
	__u64 procs_seen;		/* Python processes identified */
	__u64 procs_unsupported;
	__u64 dropped_samples;		/* of processes already gone, or out of memory */
	__u64 code_failures;
	/* Memory the profiler holds, for the status line and the soak test. */
	__u64 procs_tracked;		/* entries of the process table */
	__u64 codes_cached;		/* symbolizer caches, all processes */
	__u64 frames_cached;
	__u64 cache_resets;
	__u64 dict_frames;		/* frames in the dictionary */
	__u64 dict_resets;
	__u64 stale_repaired;		/* entries found stale by the sweep */
	__u64 late_samples;		/* counted in a later window than their own */
	__u64 gil_filtered;		/* --gil: samples left out */
	__u64 offcpu_snapshots;		/* wall mode: snapshots taken, */
	__u64 offcpu_by_process;	/* ... of them by an iterator per process */
	bool offcpu_process_refused;	/* the kernel has no such iterator (before 6.1) */
	__u64 offcpu_failed_snapshots;	/* ... whose iterator could not be read */
	__u64 offcpu_late_points;	/* periods a late snapshot took at once */
	__u64 offcpu_samples;		/* off-CPU samples counted */
	__u64 offcpu_walks;		/* ... for which a stack was read (not reused) */
	__u64 offcpu_unread;		/* off-CPU samples lost: the thread ran while read */
	__u64 tlbc_frames;		/* free-threaded: frames in per-thread bytecode */
	__u64 tlbc_failures;
	__u64 native_unwound;		/* --native: stacks unwound in userspace */
	__u64 native_truncated;		/* ... that stopped before their root */
	__u64 native_median_ns;		/* time to unwind one: median, 99th percentile */
	__u64 native_p99_ns;
};

/*
 * Load the BPF side and find the Python processes already running. NULL
 * on failure, with -errno in *@err and a one-line reason in @why.
 */
struct profiler *profiler__new(const struct profiler_opts *o, int *err, char *why,
			       size_t why_size);
/*
 * Under pid_filter: profile @pid from now on, with every process it
 * forks (for a command the profiler starts, before it runs).
 */
int profiler__follow(struct profiler *p, pid_t pid);
int profiler__start(struct profiler *p);
/* With jitter: draw each CPU's sampling period anew (call at random moments). */
int profiler__redraw(struct profiler *p);
/* Uniform in [@lo, @hi), from the sampler's random stream. */
double profiler__uniform(struct profiler *p, double lo, double hi);
/*
 * Samples per second on each CPU as measured since the start (what a
 * sample's time is worth); the rate asked for until one is measured.
 */
double profiler__rate(struct profiler *p);
/* The pre-5.17 walker (no bpf_loop on this kernel) is loaded. */
bool profiler__tail_walker(const struct profiler *p);
/* Drain the rings and run due discovery work; call every few tens of ms. */
int profiler__poll(struct profiler *p);
/*
 * Wall mode's snapshot, if one is due: every thread of a profiled
 * process off CPU now earns a sample per period passed, at the stack it
 * had when it stopped running. The delay in ns until the next call is
 * due (0: not in wall mode: no more calls needed).
 */
__u64 profiler__offcpu_snapshot(struct profiler *p);
/* Stop sampling and drain what the kernel still holds. */
void profiler__stop(struct profiler *p);

/*
 * Count the samples taken in [@start_ns, @end_ns) into @agg (@end_ns 0:
 * until profiler__end_window()). The caller keeps owning @agg.
 */
int profiler__add_window(struct profiler *p, struct agg *agg, __u64 start_ns, __u64 end_ns);
void profiler__end_window(struct profiler *p, struct agg *agg, __u64 end_ns);
/*
 * Samples older than every window's start (a sample drained after its
 * window closed) are counted in @agg rather than lost: the agent points
 * it at its oldest open window. NULL: none.
 */
int profiler__set_late_window(struct profiler *p, struct agg *agg);
/* No more samples go to @agg. */
void profiler__remove_window(struct profiler *p, struct agg *agg);

/*
 * Start the frame dictionary over: names of frames no longer sampled go
 * (a long-running agent calls it now and then), live ones are interned
 * again on their next sample. Windows stay valid: they hold names, not ids.
 */
int profiler__reset_dict(struct profiler *p);
size_t profiler__dict_frames(const struct profiler *p);

void profiler__stats(struct profiler *p, struct profiler_stats *st);
void profiler__free(struct profiler *p);

#endif /* __PROFILER_H */
