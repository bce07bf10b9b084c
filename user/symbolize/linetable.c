// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Decoders of CPython's bytecode-offset -> line tables (see linetable.h).
 *
 * Each decoder walks the table forwards from the start, the way the
 * interpreter's own lookup (PyCode_Addr2Line) does, and gives the same
 * answer for every well-formed table.  The bytes come from another
 * process and may be torn or garbage: every read is checked against
 * @len, every loop consumes at least one byte per turn, and a table that
 * runs out in the middle of an entry yields -1 rather than a guess.
 */
#include <limits.h>
#include <stdbool.h>

#include "linetable.h"

/*
 * CPython's line numbers are C ints.  Sums outside [0, INT_MAX] can only
 * come from a damaged table, and a negative number would be mistaken
 * for the "no line" sentinel anyway.
 */
static int line_or_none(long long line)
{
	return line < 0 || line > INT_MAX ? -1 : (int)line;
}

/*
 * co_lnotab (2.x-3.9): pairs (address increment, line increment).  The
 * line increments of all pairs whose running address is <= @offset are
 * applied to co_firstlineno; the walk stops at the first pair that
 * starts past @offset.  The line increment is unsigned before 3.6 and a
 * signed char from 3.6 on.  Past the last pair the last line holds, so
 * offsets beyond the bytecode get the last line, as in CPython.
 */
static int lnotab_line_at(const __u8 *t, size_t len, int first_line, __u32 offset,
			  bool signed_delta)
{
	long long line = first_line;
	__u64 addr = 0;
	size_t i;

	for (i = 0; i < len; i += 2) {
		/*
		 * Half a pair.  CPython ignores an odd last byte, but it
		 * never writes one: here it means the copy was cut short
		 * and the rest of the table is unknown.
		 */
		if (len - i < 2)
			return -1;
		addr += t[i];
		if (addr > offset)
			break;
		line += signed_delta ? (__s8)t[i + 1] : t[i + 1];
	}
	return line_or_none(line);
}

/*
 * co_linetable of 3.10: pairs (range length in bytes, signed line delta)
 * describing consecutive address ranges from offset 0.  A line delta of
 * -128 marks a range with no line and, unlike any other value, leaves
 * the running line where it was.  The entry holding @offset is the first
 * whose end is past it; zero-length entries (line jumps over 127 are
 * split into (0, +-127) entries before the real one) end where they
 * start, so they are never it and only move the running line.  That is
 * what PyLineTable_NextAddressRange() gets by merging them into the next
 * range.  Offsets past the last entry have no line (-1), as in
 * _PyCode_CheckLineNumber().
 */
static int linetable310_line_at(const __u8 *t, size_t len, int first_line, __u32 offset)
{
	long long computed = first_line;
	bool has_line;
	__u64 end = 0;
	size_t i = 0;
	int delta;

	do {
		/* Out of entries, or half an entry left. */
		if (len - i < 2)
			return -1;
		end += t[i];
		delta = (__s8)t[i + 1];
		i += 2;
		has_line = delta != -128;
		if (has_line)
			computed += delta;
	} while (end <= offset);
	return has_line ? line_or_none(computed) : -1;
}

/* Entry codes of the 3.11+ location table (_PyCodeLocationInfoKind). */
enum {
	LOC_SHORT_LAST = 9,	/* 0-9: short forms, same line, 1 column byte */
	LOC_ONE_LINE0 = 10,	/* 10-12: line + 0..2, 2 column bytes */
	LOC_ONE_LINE2 = 12,
	LOC_NO_COLUMNS = 13,	/* svarint line delta */
	LOC_LONG = 14,		/* svarint line delta, 3 varints */
	LOC_NONE = 15,		/* no location at all */
};

/*
 * Number of 6-bit chunks accepted in one varint: 36 bits hold any
 * svarint of an int.  CPython itself would shift bits out of its
 * unsigned int past that; only garbage gets there.
 */
#define VARINT_MAX_CHUNKS 6

/*
 * Reads the varint at t[*pos] (6-bit chunks, least significant first,
 * bit 6 set on all chunks but the last) and moves *pos past it.  Fails
 * when the table ends inside it, when it is overlong, or when it runs
 * into a byte with bit 7 set: that byte starts the next entry, so this
 * one was cut short.
 */
static int read_varint(const __u8 *t, size_t len, size_t *pos, __u64 *val)
{
	unsigned int chunk;
	__u64 v = 0;
	__u8 b;

	for (chunk = 0; chunk < VARINT_MAX_CHUNKS; chunk++) {
		if (*pos >= len)
			return -1;
		b = t[*pos];
		if (b & 0x80)
			return -1;
		(*pos)++;
		v |= (__u64)(b & 0x3f) << (6 * chunk);
		if (!(b & 0x40)) {
			*val = v;
			return 0;
		}
	}
	return -1;
}

/* A signed varint: magnitude in the upper bits, sign in bit 0. */
static int read_svarint(const __u8 *t, size_t len, size_t *pos, long long *val)
{
	__u64 u;

	if (read_varint(t, len, pos, &u))
		return -1;
	*val = u & 1 ? -(long long)(u >> 1) : (long long)(u >> 1);
	return 0;
}

/* Skips @n raw column bytes of a short or one-line form entry. */
static int skip_bytes(const __u8 *t, size_t len, size_t *pos, unsigned int n)
{
	for (; n; n--) {
		/* Missing, or already the next entry's first byte. */
		if (*pos >= len || t[*pos] & 0x80)
			return -1;
		(*pos)++;
	}
	return 0;
}

/*
 * Location table of 3.11+ (Objects/locations.md): one entry per run of
 * 1-8 code units (2 bytes each), each starting with a byte 1CCCCLLL:
 * code C, length L + 1 units.  The start line is a delta from the
 * previous entry's (from co_firstlineno for the first); code 15 entries
 * have no line and leave the running line alone.  Offsets past the last
 * entry have no line (-1), as in CPython.  CPython finds the next entry
 * by skipping to the next byte with bit 7 set; this walk instead parses
 * every entry up to and including the one holding @offset to its exact
 * size, so that a cut or garbled entry is noticed (-1) rather than read
 * as some other line.  CPython writes only entries that pass.
 */
static int locations_line_at(const __u8 *t, size_t len, int first_line, __u32 offset)
{
	long long line = first_line, delta;
	__u64 end = 0, unused;
	unsigned int code, k;
	size_t i = 0;
	__u8 b;

	while (i < len) {
		b = t[i++];
		/* Each entry starts with bit 7 set; anything else is garbage. */
		if (!(b & 0x80))
			return -1;
		code = (b >> 3) & 15;
		end += ((b & 7) + 1) * 2;
		delta = 0;
		if (code <= LOC_SHORT_LAST) {
			if (skip_bytes(t, len, &i, 1))
				return -1;
		} else if (code <= LOC_ONE_LINE2) {
			delta = code - LOC_ONE_LINE0;
			if (skip_bytes(t, len, &i, 2))
				return -1;
		} else if (code == LOC_NO_COLUMNS) {
			if (read_svarint(t, len, &i, &delta))
				return -1;
		} else if (code == LOC_LONG) {
			if (read_svarint(t, len, &i, &delta))
				return -1;
			/* End line delta, column + 1, end column + 1. */
			for (k = 0; k < 3; k++)
				if (read_varint(t, len, &i, &unused))
					return -1;
		}
		/* LOC_NONE: no more bytes, no line. */
		line += delta;
		/*
		 * CPython keeps the running line in an int; this also keeps
		 * the sum far from overflowing however long the table.
		 */
		if (line < INT_MIN || line > INT_MAX)
			return -1;
		if (end > offset) {
			if (code == LOC_NONE)
				return -1;
			return line_or_none(line);
		}
	}
	return -1;
}

int linetable__line_at(enum py_linetable_kind kind, const __u8 *table, size_t len,
		       int first_line, __u32 offset)
{
	if (!table && len)
		return -1;

	switch (kind) {
	case PY_LT_LNOTAB_UNSIGNED:
		return lnotab_line_at(table, len, first_line, offset, false);
	case PY_LT_LNOTAB_SIGNED:
		return lnotab_line_at(table, len, first_line, offset, true);
	case PY_LT_LINETABLE_310:
		return linetable310_line_at(table, len, first_line, offset);
	case PY_LT_LOCATIONS_311:
		return locations_line_at(table, len, first_line, offset);
	}
	return -1;
}
