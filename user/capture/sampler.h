/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The BPF side's lifecycle: open, size and load the skeleton, attach
 * the lifecycle tracepoints, open one CPU-clock perf event per online
 * CPU, and drain both ring buffers on demand (records are submitted
 * without wakeups, so nothing arrives unless we consume).
 */
#ifndef __SAMPLER_H
#define __SAMPLER_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "pybpfprof.h"

struct sampler;

struct sampler_callbacks {
	/* @frames: hdr->nframes frames, leaf first (validated against the record size). */
	/* @native: --native's part (validated), or NULL. */
	void (*on_sample)(const struct sample_hdr *hdr, const struct py_frame *frames,
			  const struct native_part *native, void *ctx);
	void (*on_event)(const struct pyprof_event *e, void *ctx);
	/* Wall mode: a thread off CPU, found by sampler__scan_offcpu(). */
	void (*on_offcpu)(const struct offcpu_scan_rec *r, void *ctx);
	void *ctx;
};

struct sampler_opts {
	unsigned int max_depth;
	bool pid_filter;
	size_t ring_size;	/* bytes, power of two */
	bool wall;		/* wall mode: the off-CPU snapshot's iterator too */
	unsigned int native_stack;	/* --native: bytes of user stack to copy; 0: off */
	bool kernel_stacks;	/* --kernel */
	bool tail_walker;	/* the pre-5.17 walker even where bpf_loop exists (tests) */
};

/*
 * Whether this kernel can run --native and --kernel's sampler (records of
 * a size known at run time: 5.19+), with the bpf_loop walker: never with
 * the tail-call one, forced by @tail_walker or for want of bpf_loop.
 */
bool sampler__native_supported(bool tail_walker);
/* Open, load, attach tracepoints. NULL with *@err = -errno on failure. */
struct sampler *sampler__open(const struct sampler_opts *o, const struct sampler_callbacks *cb,
			      int *err);
/* Wall mode was asked for and the kernel refused it: its -errno (else 0). */
int sampler__wall_refused(const struct sampler *s);
/*
 * Start sampling every online CPU, a period of 1/@freq s on average:
 * with @jitter each CPU's period is drawn uniformly from [0.5, 1.5] of
 * it, and again at each sampler__redraw(); without, a fixed grid.
 */
int sampler__start(struct sampler *s, unsigned int freq, bool jitter);
/* Draw every CPU's period anew; its timer restarts from now. */
int sampler__redraw(struct sampler *s);
/* Uniform in [@lo, @hi), from the sampler's random stream. */
double sampler__uniform(struct sampler *s, double lo, double hi);
/*
 * Samples per second on each CPU, measured: @busy_ticks (runs of the
 * program that found a task running, CNT_SAMPLES) over the CPUs' busy
 * time since the start (busy_time.h says why not the enabled time).
 * 0 until there is enough of both to tell.
 */
double sampler__rate(struct sampler *s, __u64 busy_ticks, __u64 self_ticks);
/* True when the pre-5.17 walker (tail calls, no bpf_loop) is loaded. */
bool sampler__tail_walker(const struct sampler *s);
/* Stop sampling; records already in the rings stay there to drain. */
void sampler__stop(struct sampler *s);
void sampler__close(struct sampler *s);

int sampler__set_proc(struct sampler *s, pid_t pid, const struct py_proc_info *pi);
int sampler__del_proc(struct sampler *s, pid_t pid);
/*
 * Under pid_filter: sample @pid (and, with @children, every process it
 * forks from now on, recursively).
 */
int sampler__want_pid(struct sampler *s, pid_t pid, bool children);
int sampler__unwant_pid(struct sampler *s, pid_t pid);

/*
 * Wall mode's snapshot: on_offcpu() gets every thread of a profiled
 * process that is off CPU now, from an iterator over every task, or
 * (@pids not NULL, and on 6.1+) over the threads of these @npids
 * processes only, which costs less when they are few among many tasks.
 * Count or -errno.
 */
int sampler__scan_offcpu(struct sampler *s, const pid_t *pids, size_t npids);
/* The kernel cannot give a task iterator one process (before 6.1): found at first use. */
bool sampler__proc_iters_refused(const struct sampler *s);
/* A process is gone or no longer profiled: its own iterator goes. */
void sampler__forget_proc(struct sampler *s, pid_t pid);
/* Consume every record now in the rings (events first): count or -errno. */
int sampler__drain(struct sampler *s);
void sampler__counters(struct sampler *s, __u64 out[CNT_MAX]);
/* Average in-kernel cost of the sampling program, when bpf_stats are on. */
int sampler__prog_stats(struct sampler *s, __u64 *run_ns, __u64 *run_cnt);

#endif /* __SAMPLER_H */
