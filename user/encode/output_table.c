// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The human-readable report: one row per function, hottest first,
 *
 *	 %OWN  %TOTAL      OWN    TOTAL  FUNCTION
 *	 62.5   100.0      500      800  compute (/tmp/w.py:10)
 *
 * OWN counts samples with the function as the leaf, TOTAL samples with
 * it anywhere on the stack; percents are of all samples. The count
 * columns widen to the largest count so the rows always line up.
 */
#include <errno.h>
#include <stdlib.h>
#include "output.h"

#define COUNT_MIN_WIDTH 7

static int count_width(const struct agg_func *funcs, size_t n)
{
	__u64 max = 0;
	int w = 1;

	for (size_t i = 0; i < n; i++) {
		if (funcs[i].total > max)
			max = funcs[i].total;
	}
	for (; max >= 10; max /= 10)
		w++;
	return w > COUNT_MIN_WIDTH ? w : COUNT_MIN_WIDTH;
}

/*
 * Print @s with control characters (C0, DEL, and C1 as UTF-8 C2 80..9F)
 * as '?': names come from the profiled program and end up on a terminal.
 * ';' is fine here, unlike in the folded format.
 */
static void put_sanitized(const char *s, FILE *f)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "?");

	for (; *p; p++) {
		if (*p < 0x20 || *p == 0x7f) {
			fputc('?', f);
		} else if (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f) {
			fputs("??", f);
			p++;
		} else {
			fputc(*p, f);
		}
	}
}

static double percent(__u64 n, __u64 total)
{
	return total ? 100.0 * (double)n / (double)total : 0.0;
}

static int table__print(const struct agg_func *funcs, size_t n, __u64 total, FILE *f)
{
	int w = count_width(funcs, n);

	if (fprintf(f, "%5s  %6s  %*s  %*s  %s\n", "%OWN", "%TOTAL", w, "OWN", w, "TOTAL",
		    "FUNCTION") < 0)
		return -EIO;
	if (!n && fputs("(no Python samples)\n", f) == EOF)
		return -EIO;
	for (size_t i = 0; i < n; i++) {
		const struct agg_func *fn = &funcs[i];

		fprintf(f, "%5.1f  %6.1f  %*llu  %*llu  ", percent(fn->own, total),
			percent(fn->total, total), w, (unsigned long long)fn->own, w,
			(unsigned long long)fn->total);
		put_sanitized(fn->qualname, f);
		/* "[off-CPU: ...]" and its kin: no location. */
		if (fn->qualname[0] == '[' && !fn->file[0]) {
			fputc('\n', f);
			continue;
		}
		fputs(" (", f);
		put_sanitized(fn->file, f);
		/* Code with no line of its own (e.g. unreadable code objects). */
		if (fn->first_line > 0)
			fprintf(f, ":%d", fn->first_line);
		fputs(")\n", f);
		/* The error flag is sticky: one check per row stops a dead pipe early. */
		if (ferror(f))
			return -EIO;
	}
	if (fflush(f) || ferror(f))
		return -EIO;
	return 0;
}

int output_table__write(const struct agg *a, const struct output_meta *m, FILE *f)
{
	struct agg_func *funcs;
	size_t n = 0;
	int err;

	(void)m;	/* the run summary goes to stderr (main.c) */
	if (!a || !f)
		return -EINVAL;
	funcs = agg__functions(a, &n);
	if (!funcs)
		return -ENOMEM;
	err = table__print(funcs, n, agg__total_samples(a), f);
	free(funcs);
	return err;
}
