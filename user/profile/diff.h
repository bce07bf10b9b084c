/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Two profiles side by side, for `pybpfprof diff BASE NEW`: every stack
 * of either with its samples in each, and every function with its own
 * and total shares in each.
 *
 * Identity across the two is the text the outputs print: a frame is its
 * label, "qualname (file:line)" (with --no-lines "qualname (file)"), and
 * a function its label without the line. The process frame is its comm
 * alone: pids differ from run to run, the program's name does not.
 * Thread frames (--threads) are left out, as thread ids differ too.
 *
 * A share is a count over its profile's total, so profiles of different
 * lengths compare; with raw (--no-normalize) both are over BASE's total,
 * so a NEW that ran twice as long shows everything doubled.
 */
#ifndef __DIFF_H
#define __DIFF_H

#include <stdbool.h>
#include <stddef.h>
#include "aggregate.h"

enum diff_side {
	DIFF_BASE,
	DIFF_NEW,
};

struct diff_opts {
	bool raw;		/* --no-normalize: shares over BASE's total */
	bool no_lines;		/* --no-lines: frames by function, not line */
	const char *names[2];	/* BASE's and NEW's file names, for titles */
};

/* A stack of either profile, root first, with its samples in each. */
struct diff_stack {
	const char *root;		/* the process: its comm */
	bool truncated;			/* root-most frames lost in either */
	size_t nframes;
	const char *const *frames;	/* labels, root first */
	__u64 count[2];			/* samples in BASE and NEW */
};

struct diff_func {
	const char *label;	/* "qualname (file)", or a pseudo-frame's name */
	__u64 own[2];		/* samples with it as the leaf, BASE and NEW */
	__u64 total[2];		/* samples with it on the stack */
	double own_delta;	/* NEW's share minus BASE's, percentage points */
	double total_delta;
};

struct diff;

/* NULL when out of memory. */
struct diff *diff__new(const struct agg *base, const struct agg *new, const struct diff_opts *o);
void diff__free(struct diff *d);

const struct diff_opts *diff__opts(const struct diff *d);
__u64 diff__total(const struct diff *d, enum diff_side side);
/* @count samples of @side as a percent: of its total, or raw, of BASE's. */
double diff__percent(const struct diff *d, enum diff_side side, __u64 count);

/* The stacks, sorted by their labels (root first): the same inputs, the same order. */
size_t diff__nr_stacks(const struct diff *d);
const struct diff_stack *diff__stack(const struct diff *d, size_t i);

/*
 * The functions, by how much their own share changed (largest change
 * first, grown or shrunk), then their total share's, then label.
 */
const struct diff_func *diff__functions(const struct diff *d, size_t *nfuncs);

/*
 * The flame graph's width for @base and @new samples of a frame: the
 * mean of its two shares, in integer units (so a frame only in BASE
 * still has a width, and children never outgrow their parent: widths
 * add up like counts). diff__width(d, total BASE, total NEW) is the
 * whole; it stays below 2^53 so a browser's numbers hold it exactly.
 */
__u64 diff__width(const struct diff *d, __u64 base, __u64 new);

#endif /* __DIFF_H */
