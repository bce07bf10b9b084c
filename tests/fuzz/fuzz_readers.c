// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The profile readers of `pybpfprof diff` over arbitrary files: folded
 * text and pprof (raw or gzip) alike, then a diff of what was read
 * against itself, written in every diff format.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "diff.h"
#include "output_diff.h"
#include "read_profile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diff_opts o = { .names = { "a", "b" } };
	struct profile_info info;
	struct agg *a = agg__new(), *b = agg__new();
	char why[256], *copy;
	struct diff *d;
	FILE *f;

	/* An exact-size heap copy: ASan sees any read past the end. */
	copy = malloc(size ? size : 1);
	if (!a || !b || !copy)
		goto out;
	memcpy(copy, data, size);
	read_folded__parse(copy, size, a, why, sizeof(why));
	read_pprof__parse(copy, size, b, &info, why, sizeof(why));
	d = diff__new(a, b, &o);
	f = fopen("/dev/null", "w");
	if (d && f) {
		output_diff_table__write(d, f);
		output_diff_folded__write(d, f);
		output_diff_svg__write(d, f);
	}
	if (f)
		fclose(f);
	diff__free(d);
out:
	free(copy);
	agg__free(a);
	agg__free(b);
	return 0;
}
