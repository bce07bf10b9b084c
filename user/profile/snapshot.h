/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A closed window: the aggregation of the samples taken in one span of
 * time, with when and how it was taken. Immutable once made, shared by
 * reference: every sink (files, push, a scrape) reads the same one from
 * its own thread, and the last reference frees it.
 */
#ifndef __SNAPSHOT_H
#define __SNAPSHOT_H

#include <stdatomic.h>
#include <linux/types.h>
#include "aggregate.h"

struct snapshot {
	struct agg *agg;
	__u64 start_unix_ns;	/* wall-clock start of the window */
	__u64 duration_ns;
	double frequency;	/* samples per second per CPU, as measured */
	unsigned long seq;	/* windows of one run: 1, 2, ... */
	bool wall;		/* wall mode: wall/nanoseconds, __name__=wall */
	char hostname[256];
	atomic_int refs;
};

/* Takes ownership of @agg; one reference, the caller's. NULL: no memory. */
struct snapshot *snapshot__new(struct agg *agg, __u64 start_unix_ns, __u64 duration_ns,
			       double frequency, const char *hostname);
struct snapshot *snapshot__get(struct snapshot *s);
void snapshot__put(struct snapshot *s);

#endif /* __SNAPSHOT_H */
