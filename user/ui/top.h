/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `pybpfprof top`'s screen: a per-function table of what was sampled so
 * far, drawn on the terminal's alternate screen. It renders what it is
 * given; the sampling and the clock belong to the command (cmd_top.c).
 */
#ifndef __TOP_H
#define __TOP_H

#include <stdbool.h>
#include "aggregate.h"
#include "profiler.h"

struct top_view {
	double frequency;	/* samples per second per CPU, as measured */
	const char *hostname;
	bool sort_total;	/* t: by total; o: by own (the default) */
	bool wall;		/* --mode wall: off-CPU time too */
};

/* Take the terminal: keys without Enter, no echo, alternate screen. */
int top__begin(void);
/* Give the terminal back as it was (also at exit, if forgotten). */
void top__end(void);
/* Apply a key; false for q (quit). */
bool top__key(struct top_view *v, char key);
void top__render(const struct top_view *v, const struct agg *agg,
		 const struct profiler_stats *st, double elapsed);

#endif /* __TOP_H */
