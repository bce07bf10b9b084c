/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A profiling session: the process table (which PIDs are Python, and
 * how to read them), discovery as processes start, exec, fork and exit,
 * and the path from a kernel sample to a counted, named stack.
 */
#ifndef __PROFILER_H
#define __PROFILER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "aggregate.h"
#include "pybpfprof.h"

struct profiler;

struct profiler_opts {
	unsigned int frequency;
	unsigned int max_depth;
	size_t ring_size;
	const pid_t *pids;	/* -p list; empty: every process */
	size_t npids;
	bool no_lines;		/* one frame per function, not per line */
	bool verbose;
};

struct profiler_stats {
	__u64 counters[CNT_MAX];	/* from the kernel */
	__u64 procs_seen;		/* Python processes identified */
	__u64 procs_unsupported;
	__u64 dropped_samples;		/* of processes already gone, or out of memory */
	__u64 code_failures;
	/* Memory the profiler holds, for the status line and the soak test. */
	__u64 procs_tracked;		/* Python processes now in the table */
	__u64 codes_cached;		/* symbolizer caches, all processes */
	__u64 frames_cached;
	__u64 cache_resets;
	__u64 tlbc_frames;		/* free-threaded: frames in per-thread bytecode */
	__u64 tlbc_failures;
};

/* Load the BPF side and find the Python processes already running. */
struct profiler *profiler__new(const struct profiler_opts *o, struct agg *agg, int *err);
int profiler__start(struct profiler *p);
/* Drain the rings and run due discovery work; call every few tens of ms. */
int profiler__poll(struct profiler *p);
/* Stop sampling and drain what the kernel still holds. */
void profiler__stop(struct profiler *p);
void profiler__stats(struct profiler *p, struct profiler_stats *st);
void profiler__free(struct profiler *p);

#endif /* __PROFILER_H */
