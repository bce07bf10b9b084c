// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A diff for people: one row per function, the largest change of own
 * share first, each share as a percent of its profile's samples and
 * the change in percentage points:
 *
 *	# BASE a.folded: 1000 samples; NEW b.folded: 2000 samples; ...
 *	       OWN %                     TOTAL %
 *	   BASE     NEW    DELTA     BASE     NEW    DELTA  FUNCTION
 *	  25.00   50.00   +25.00    30.00   60.00   +30.00  hot (work.py:10)
 */
#include <errno.h>
#include <math.h>
#include "output_diff.h"

/* A change below what is printed is none: no "-0.00". */
static double points(double delta)
{
	return fabs(delta) < 0.005 ? 0.0 : delta;
}

int output_diff_table__write(const struct diff *d, FILE *f)
{
	const struct diff_opts *o = diff__opts(d);
	const struct diff_func *fn;
	size_t n;

	fn = diff__functions(d, &n);
	fprintf(f, "# BASE %s: %llu samples; NEW %s: %llu samples; %s\n",
		o->names[DIFF_BASE] ? o->names[DIFF_BASE] : "-",
		(unsigned long long)diff__total(d, DIFF_BASE),
		o->names[DIFF_NEW] ? o->names[DIFF_NEW] : "-",
		(unsigned long long)diff__total(d, DIFF_NEW),
		o->raw ? "both in percent of BASE's samples (--no-normalize)"
		       : "each in percent of its own samples");
	fprintf(f, "%12s %27s\n%7s %7s %8s  %7s %7s %8s  %s\n", "OWN %", "TOTAL %",
		"BASE", "NEW", "DELTA", "BASE", "NEW", "DELTA", "FUNCTION");
	if (!n && fputs("(no Python samples)\n", f) == EOF)
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%7.2f %7.2f %+8.2f  %7.2f %7.2f %+8.2f  %s\n",
			diff__percent(d, DIFF_BASE, fn[i].own[DIFF_BASE]),
			diff__percent(d, DIFF_NEW, fn[i].own[DIFF_NEW]), points(fn[i].own_delta),
			diff__percent(d, DIFF_BASE, fn[i].total[DIFF_BASE]),
			diff__percent(d, DIFF_NEW, fn[i].total[DIFF_NEW]), points(fn[i].total_delta),
			fn[i].label);
		/* The error flag is sticky: one check per row stops a dead pipe early. */
		if (ferror(f))
			return -EIO;
	}
	if (fflush(f) || ferror(f))
		return -EIO;
	return 0;
}
