/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Decoders of CPython's bytecode-offset -> line tables, one per format.
 * Pure functions over bytes copied out of the target: every length is
 * checked, nothing in the table is trusted.
 */
#ifndef __LINETABLE_H
#define __LINETABLE_H

#include <stddef.h>
#include <linux/types.h>

enum py_linetable_kind {
	PY_LT_LNOTAB_UNSIGNED = 0,	/* co_lnotab, 2.x-3.5: unsigned line deltas */
	PY_LT_LNOTAB_SIGNED = 1,	/* co_lnotab, 3.6-3.9: signed line deltas */
	PY_LT_LINETABLE_310 = 2,	/* co_linetable, 3.10 */
	PY_LT_LOCATIONS_311 = 3,	/* co_linetable location table, 3.11+ */
};

/*
 * Line executing at byte offset @offset of the bytecode (for 3.10, pass
 * f_lasti * 2; for 3.11+, the byte offset from co_code_adaptive).
 * Returns the line number, or -1 when the table has no line there or is
 * malformed.
 */
int linetable__line_at(enum py_linetable_kind kind, const __u8 *table, size_t len,
		       int first_line, __u32 offset);

#endif /* __LINETABLE_H */
