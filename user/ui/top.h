/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `pybpfprof top`: a live per-function view of the whole host (or the
 * given PIDs), redrawn every second on the terminal's alternate screen.
 */
#ifndef __TOP_H
#define __TOP_H

#include <signal.h>
#include "aggregate.h"
#include "profiler.h"

struct top_opts {
	unsigned int frequency;
	double duration;	/* 0: until q or Ctrl-C */
	const char *hostname;
};

/* Run until q, Ctrl-C/SIGTERM (*@exiting) or the duration; restores the terminal. */
int top__run(struct profiler *p, const struct agg *agg, const struct top_opts *o,
	     volatile sig_atomic_t *exiting);

#endif /* __TOP_H */
