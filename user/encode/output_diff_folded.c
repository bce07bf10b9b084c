// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A diff as folded stacks with two counts, the input of flamegraph.pl's
 * differential mode (and of difffolded.pl's output):
 *
 *	comm;[truncated];root (file:line);...;leaf (file:line) BASE NEW
 *
 * Normalized, BASE's counts are scaled to NEW's total (rounded), as
 * difffolded.pl -n does, so the two columns sum alike; --no-normalize
 * writes both as they were. The process frame is the comm alone.
 */
#include <errno.h>
#include "output_diff.h"

/* @count of BASE's samples in NEW's scale, rounded to the nearest. */
static unsigned long long scaled(const struct diff *d, __u64 count)
{
	__u64 tb = diff__total(d, DIFF_BASE), tn = diff__total(d, DIFF_NEW);

	if (diff__opts(d)->raw || !tb)
		return count;
	return (unsigned long long)(((unsigned __int128)count * tn + tb / 2) / tb);
}

int output_diff_folded__write(const struct diff *d, FILE *f)
{
	for (size_t i = 0; i < diff__nr_stacks(d); i++) {
		const struct diff_stack *s = diff__stack(d, i);

		fputs(s->root, f);
		if (s->truncated)
			fputs(";[truncated]", f);
		for (size_t k = 0; k < s->nframes; k++) {
			fputc(';', f);
			fputs(s->frames[k], f);
		}
		/* Stop early on a dead pipe or a full disk. */
		if (fprintf(f, " %llu %llu\n", scaled(d, s->count[DIFF_BASE]),
			    (unsigned long long)s->count[DIFF_NEW]) < 0 || ferror(f))
			return -EIO;
	}
	if (fflush(f) || ferror(f))
		return -EIO;
	return 0;
}
