/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Aggregation of symbolized samples: a dictionary of frames, a
 * dictionary of processes/threads, and a count per distinct stack.
 * Writers (output_*.c) read it back through the iterators below.
 */
#ifndef __AGGREGATE_H
#define __AGGREGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

struct agg;

/* A frame of Python code: one per distinct (function, file, line). */
struct agg_frame {
	const char *qualname;	/* co_qualname (3.11+) or co_name */
	const char *file;	/* co_filename */
	int first_line;		/* co_firstlineno */
	int line;		/* executing line, or -1 when unknown */
	__u32 func_id;		/* same for every line of one function */
};

/*
 * A frame with no file: a pseudo-frame ("[off-CPU: futex]",
 * "[truncated]", "[k] SYMBOL") or a native one without a symbol
 * ("BINARY+0xOFFSET"). Writers show the bare name, without a location.
 */
static inline bool agg_frame_is_pseudo(const struct agg_frame *fr)
{
	return fr->qualname && fr->file && !fr->file[0];
}

/* A function: frames that share (qualname, file, first_line). */
struct agg_func {
	const char *qualname;
	const char *file;
	int first_line;
	__u64 own;	/* samples with this function as the leaf */
	__u64 total;	/* samples with it anywhere in the stack (once each) */
};

struct agg_proc {
	__u32 pid;
	const char *comm;
	const char *service;		/* systemd unit or container name, or NULL */
	const char *container_id;	/* 64 hex digits, or NULL */
};

enum agg_stack_flags {
	AGG_STACK_TRUNCATED = 1 << 0,	/* the root-most frames are missing */
	/* Bits 1-3: the thread's GIL state, enum gil_state (0: unknown). */
	AGG_STACK_GIL_SHIFT = 1,
	AGG_STACK_GIL_MASK = 7 << 1,
};

/* The GIL state (enum gil_state) in a stack's flags. */
static inline unsigned int agg_stack_gil(unsigned int flags)
{
	return (flags & AGG_STACK_GIL_MASK) >> AGG_STACK_GIL_SHIFT;
}

struct agg_stack {
	__u32 proc_id;
	__u32 tid;
	const char *thread_name;	/* may be NULL */
	unsigned int flags;		/* enum agg_stack_flags */
	size_t nframes;
	const __u32 *frame_ids;		/* root first */
	__u64 count;
};

struct agg *agg__new(void);
void agg__free(struct agg *a);

/* Intern a frame; returns its id (stable for the life of @a). */
__u32 agg__intern_frame(struct agg *a, const char *qualname, const char *file,
			int first_line, int line);
/* Intern a process; a new @comm for the same pid (exec) gets a new id. */
__u32 agg__intern_proc(struct agg *a, __u32 pid, const char *comm);
/*
 * Where process @proc_id runs: its service and container (either may be
 * NULL), for the backends' labels. The first values set stay.
 */
int agg__set_proc_origin(struct agg *a, __u32 proc_id, const char *service,
			 const char *container_id);

/* Count @count samples of one stack, @frame_ids root first. */
int agg__add_stack(struct agg *a, __u32 proc_id, __u32 tid, const char *thread_name,
		   const __u32 *frame_ids, size_t nframes, unsigned int flags, __u64 count);

/*
 * agg__add_stack(), and where the stack is in @a (@ref; (__u32)-1 when it
 * was not counted) for adding to it again with agg__add_at(), without
 * hashing its key: for a caller that counts one stack of one thread many
 * times (a thread parked off CPU in wall mode). A ref stays valid for the
 * life of @a; agg__serial() tells @a from an aggregate allocated later
 * at the same address.
 */
int agg__add_stack_ref(struct agg *a, __u32 proc_id, __u32 tid, const char *thread_name,
		       const __u32 *frame_ids, size_t nframes, unsigned int flags, __u64 count,
		       __u32 *ref);
/* @count more samples of the stack at @ref, from agg__add_stack_ref() on @a. */
int agg__add_at(struct agg *a, __u32 ref, __u64 count);
/* This aggregate among every one this process made: never 0, never reused. */
__u64 agg__serial(const struct agg *a);

const struct agg_frame *agg__frame(const struct agg *a, __u32 frame_id);
const struct agg_proc *agg__proc(const struct agg *a, __u32 proc_id);

__u64 agg__total_samples(const struct agg *a);
/* Samples per GIL state (enum gil_state, 0 = unknown) into @out[8]. */
void agg__gil_totals(const struct agg *a, __u64 out[8]);
size_t agg__nr_stacks(const struct agg *a);
size_t agg__nr_frames(const struct agg *a);
size_t agg__nr_procs(const struct agg *a);

/* Stacks in insertion order; @cb returns non-zero to stop. */
int agg__for_each_stack(const struct agg *a,
			int (*cb)(const struct agg_stack *s, void *ctx), void *ctx);

/*
 * Per-function own/total counts, sorted by own then total (descending),
 * then by name. The array is owned by the caller (free()); its strings
 * belong to @a.
 */
struct agg_func *agg__functions(const struct agg *a, size_t *nfuncs);

#endif /* __AGGREGATE_H */
