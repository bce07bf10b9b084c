/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Wall mode: the stack of a thread a snapshot found off CPU, read from
 * its memory (it is not running), or the one read at an earlier snapshot
 * when its context-switch count says it has not run since: a thread
 * blocked for seconds is walked once, not once a period.
 */
#ifndef __OFFCPU_H
#define __OFFCPU_H

#include <stdbool.h>
#include <sys/types.h>
#include "pybpfprof.h"

struct offcpu;

/*
 * The caller's own form of a thread's stack (dictionary ids), kept with
 * it so that a stack counted again is not translated again: @gen 0 when
 * the stack has changed since it was made. And where the caller counted
 * it last (an aggregate's serial, the stack's ref in it, and the flags
 * it was counted with), so that it is not looked up again either.
 */
struct offcpu_ids {
	__u64 gen;
	size_t n, cap;
	unsigned int flags;
	__u32 *v;
	__u64 agg_serial;
	__u32 agg_ref;
	unsigned int agg_flags;
};

/* One thread's time off CPU, as the snapshot found it. */
struct offcpu_stack {
	const struct py_frame *frames;	/* leaf first; valid until the next call */
	unsigned int n;
	__u16 flags;			/* SAMPLE_TRUNCATED, SAMPLE_READ_ERROR */
	__u16 why;			/* OFFCPU_GIL, OFFCPU_RUNQUEUE, ... or syscall + 1 */
	__u8 gil;			/* enum gil_state */
	bool reused;			/* the stack of an earlier snapshot */
	struct offcpu_ids *ids;		/* the caller's cache of it */
};

struct offcpu *offcpu__new(void);
void offcpu__free(struct offcpu *o);
/*
 * The stack of the thread @r names, in process @pid of layout @pi, at
 * most @max frames. 0; -ENOENT when it has no thread state or no frame;
 * -EAGAIN when it ran while being read (the stack could be a mix).
 */
int offcpu__stack(struct offcpu *o, pid_t pid, const struct py_proc_info *pi,
		  const struct offcpu_scan_rec *r, unsigned int max, struct offcpu_stack *out);
/* A snapshot is done: forget threads no snapshot has found off CPU for long. */
void offcpu__end_snapshot(struct offcpu *o);

#endif /* __OFFCPU_H */
