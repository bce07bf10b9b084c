/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --native and --kernel: one sample's whole stack as dictionary frame
 * ids, root first. The Python frames the kernel walked, the native stack
 * unwound from the copy the kernel made (unwind.h), merged by address
 * (splice.h) so that the eval loop's own frames give way to the Python
 * frames they ran, and the kernel's frames on top.
 */
#ifndef __MIXED_H
#define __MIXED_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "pybpfprof.h"

struct agg;
struct symbolizer;
struct mixed;

/* The most frames mixed__build() writes, plus one for a pseudo-frame. */
#define MIXED_MAX_NATIVE 256
#define MIXED_MAX_IDS (PYBPFPROF_MAX_DEPTH + MIXED_MAX_NATIVE + PY_NATIVE_MAX_KERNEL + 8)

struct mixed_stats {
	__u64 unwound;		/* native stacks unwound */
	__u64 truncated;	/* ... shown with a [truncated] marker */
	__u64 median_ns;	/* time to unwind one, median of a uniform sample of them */
	__u64 p99_ns;
};

/* @native: unwind user stacks; @kernel: name kernel frames. NULL: ENOMEM. */
struct mixed *mixed__new(bool native, bool kernel);
void mixed__free(struct mixed *m);
/* Forget what is known of process @pid (it exited or exec'd). */
void mixed__forget(struct mixed *m, pid_t pid);

/*
 * The stack of one sample of process @pid into @ids, root first (room
 * for MIXED_MAX_IDS); the count. @frames: the @npy Python frames, leaf
 * first, named through @sym into @dict; @np: the native part of the
 * record; @by_address: the version places Python frames on the C stack
 * by address (3.11+).
 */
size_t mixed__build(struct mixed *m, struct agg *dict, struct symbolizer *sym, pid_t pid,
		    bool by_address, const struct sample_hdr *hdr, const struct py_frame *frames,
		    size_t npy, const struct native_part *np, __u32 *ids);

void mixed__stats(const struct mixed *m, struct mixed_stats *st);

#endif /* __MIXED_H */
