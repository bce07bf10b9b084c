// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Every writer over fuzzed names: the input is split at NUL bytes into
 * names, files and comms (any bytes: ';', newlines, '<script>', quotes,
 * invalid UTF-8 as a target could make them), built into stacks.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aggregate.h"
#include "output.h"

#define MAX_PARTS 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int (*const writers[])(const struct agg *, const struct output_meta *, FILE *) = {
		output_table__write, output_folded__write, output_svg__write,
		output_speedscope__write, output_pprof__write, output_pstats__write,
	};
	struct output_meta meta = { .duration_s = 1.0, .frequency_hz = 99,
				    .hostname = "fuzz" };
	char *copy, *parts[MAX_PARTS];
	__u32 ids[MAX_PARTS];
	size_t nparts = 0;
	struct agg *agg;
	FILE *f;

	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (char *p = copy; p <= copy + size && nparts < MAX_PARTS; p += strlen(p) + 1)
		parts[nparts++] = p;
	agg = agg__new();
	if (!agg || nparts < 3)
		goto out;
	{
		__u32 proc = agg__intern_proc(agg, 42, parts[0]);
		size_t n = 0;

		for (size_t i = 1; i + 1 < nparts; i += 2)
			ids[n++] = agg__intern_frame(agg, parts[i], parts[i + 1],
						     (int)(i * 7) - 3, (int)i - 2);
		for (size_t k = 1; k <= n; k++)
			agg__add_stack(agg, proc, 42 + (__u32)k, parts[k % nparts], ids, k,
				       k & 1 ? AGG_STACK_TRUNCATED : 0, k);
	}
	for (int threads = 0; threads < 2; threads++) {
		meta.threads = threads;
		for (size_t w = 0; w < sizeof(writers) / sizeof(writers[0]); w++) {
			f = fopen("/dev/null", "w");
			if (!f)
				continue;
			writers[w](agg, &meta, f);
			fclose(f);
		}
	}
out:
	agg__free(agg);
	free(copy);
	return 0;
}
