/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where the agent's closed windows go. Each sink owns a thread: submit()
 * hands it a reference to an immutable snapshot and returns at once, so
 * a slow disk or a backend that is down never holds up sampling.
 */
#ifndef __SINK_H
#define __SINK_H

#include <linux/types.h>
#include "snapshot.h"

struct sink;

struct sink_ops {
	const char *name;
	/* Take a reference to @s and return without blocking. */
	void (*submit)(struct sink *k, struct snapshot *s);
	/*
	 * Finish what is queued, giving up at @deadline_ns (CLOCK_MONOTONIC),
	 * stop the thread and free the sink.
	 */
	void (*close)(struct sink *k, __u64 deadline_ns);
};

struct sink {
	const struct sink_ops *ops;
};

static inline void sink__submit(struct sink *k, struct snapshot *s)
{
	k->ops->submit(k, s);
}

static inline void sink__close(struct sink *k, __u64 deadline_ns)
{
	if (k)
		k->ops->close(k, deadline_ns);
}

#endif /* __SINK_H */
