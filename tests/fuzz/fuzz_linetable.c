// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Every line-table decoder over arbitrary tables. Input: kind (1 byte),
 * offset (4), first line (4), then the table.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "linetable.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	__u32 offset;
	int first_line;
	__u8 *table;
	size_t len;

	if (size < 9)
		return 0;
	memcpy(&offset, data + 1, 4);
	memcpy(&first_line, data + 5, 4);
	len = size - 9;
	/* An exact-size heap copy: ASan sees any read past the end. */
	table = malloc(len ? len : 1);
	if (!table)
		return 0;
	memcpy(table, data + 9, len);
	linetable__line_at(data[0] % 4, table, len, first_line, offset);
	/* Every offset near the start too, as the profiler asks. */
	for (__u32 off = 0; off < 64; off += 2)
		linetable__line_at(data[0] % 4, table, len, first_line, off);
	free(table);
	return 0;
}
