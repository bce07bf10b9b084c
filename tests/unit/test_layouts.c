// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the built-in CPython layouts (user/cpython_layouts.c) and of
 * the _Py_DebugOffsets parser (user/debug_offsets.c): every row present
 * and plausible, and the parse of a real 3.13 _PyRuntime dump equal to
 * the DWARF-generated 3.13 row.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "cpython_layout.h"
#include "debug_offsets.h"
#include "pybpfprof.h"
#include "pytarget.h"
#include "unit.h"

/*
 * First 584 bytes of _PyRuntime of a running CPython 3.13.0
 * (libpython3.13.so.1.0), captured by tests/unit/gen-debug-offsets-blob.
 */
static const unsigned char pyruntime_313[584] = {
	0x78, 0x64, 0x65, 0x62, 0x75, 0x67, 0x70, 0x79, 0xf0, 0x00, 0x0d, 0x03,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xb8, 0x52, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x60, 0x02, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x78, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x98, 0xf9, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x68, 0x1c, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x60, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xb0, 0x1c, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe8, 0x1c, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xe8, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xd8, 0x1d, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xe0, 0x1d, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x48, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x58, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x50, 0x1e, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x30, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x98, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xe8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x50, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x38, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x46, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xd0, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x70, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x78, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x88, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x44, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x34, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x60, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x68, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xc8, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa0, 0x01, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x58, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0xa8, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x30, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x18, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0x20, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x28, 0x00, 0x00, 0x00,
	0x00, 0x00, 0x00, 0x00, 0xf0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
	0xc8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static const struct {
	int major, minor;
} versions[] = {
	{ 2, 7 }, { 3, 6 }, { 3, 7 }, { 3, 8 }, { 3, 9 },
	{ 3, 10 }, { 3, 11 }, { 3, 12 }, { 3, 13 },
};

static bool ver_ge(const struct py_layout *l, int major, int minor)
{
	return l->major > major || (l->major == major && l->minor >= minor);
}

/* A pointer-sized member at a plausible, aligned offset below @max. */
static bool ptr_ok(int off, int max)
{
	return off >= 0 && off < max && off % 8 == 0;
}

static bool overlaps(int a, int aw, int b, int bw)
{
	return a < b + bw && b < a + aw;
}

static void test_row(int major, int minor)
{
	const struct py_layout *l = py_layout__find(major, minor);
	bool cframe, iframe;

	CHECK(l != NULL);
	if (!l)
		return;
	CHECK_EQ_INT(l->major, major);
	CHECK_EQ_INT(l->minor, minor);
	cframe = ver_ge(l, 3, 11) && !ver_ge(l, 3, 13);
	iframe = ver_ge(l, 3, 11);

	/* runtime / interpreter / thread state */
	if (ver_ge(l, 3, 7))
		CHECK(ptr_ok(l->runtime_interp_head, 4096));
	else
		CHECK_EQ_INT(l->runtime_interp_head, -1);
	CHECK(ptr_ok(l->interp_next, 16384));
	CHECK(ptr_ok(l->interp_tstate_head, 16384));
	CHECK(l->interp_next != l->interp_tstate_head);
	CHECK(ptr_ok(l->tstate_next, 64));
	CHECK(ptr_ok(l->tstate_interp, 64));
	CHECK(ptr_ok(l->tstate_frame, 512));
	CHECK(ptr_ok(l->tstate_thread_id, 512));
	CHECK(l->tstate_next != l->tstate_interp);
	CHECK(l->tstate_frame != l->tstate_thread_id);
	if (cframe)
		CHECK(ptr_ok(l->cframe_frame, 32));
	else
		CHECK_EQ_INT(l->cframe_frame, -1);
	if (ver_ge(l, 3, 11))
		CHECK_EQ_INT(l->tstate_native_thread_id, l->tstate_thread_id + 8);
	else
		CHECK_EQ_INT(l->tstate_native_thread_id, -1);

	/* frames */
	CHECK(ptr_ok(l->frame_back, 128));
	CHECK(ptr_ok(l->frame_code, 128));
	CHECK(l->frame_instr >= 0 && l->frame_instr < 256);
	CHECK(!overlaps(l->frame_back, 8, l->frame_code, 8));
	CHECK(!overlaps(l->frame_back, 8, l->frame_instr, iframe ? 8 : 4));
	CHECK(!overlaps(l->frame_code, 8, l->frame_instr, iframe ? 8 : 4));
	if (iframe) {
		CHECK_EQ_INT(l->instr_kind, PY_INSTR_POINTER);
		CHECK(ptr_ok(l->frame_instr, 128));
	} else if (ver_ge(l, 3, 10)) {
		CHECK_EQ_INT(l->instr_kind, PY_INSTR_LASTI_UNITS);
	} else {
		CHECK_EQ_INT(l->instr_kind, PY_INSTR_LASTI_BYTES);
	}
	if (ver_ge(l, 3, 12)) {
		CHECK(l->frame_owner > 0 && l->frame_owner < 128);
		CHECK_EQ_INT(l->owner_skip_min, 3);
		CHECK(!overlaps(l->frame_owner, 1, l->frame_back, 8));
		CHECK(!overlaps(l->frame_owner, 1, l->frame_code, 8));
		CHECK(!overlaps(l->frame_owner, 1, l->frame_instr, 8));
	} else {
		CHECK_EQ_INT(l->frame_owner, -1);
		CHECK_EQ_INT(l->owner_skip_min, 255);
	}

	/* code objects */
	CHECK(ptr_ok(l->code_filename, 256));
	CHECK(ptr_ok(l->code_name, 256));
	CHECK(ptr_ok(l->code_linetable, 256));
	CHECK(l->code_firstlineno >= 16 && l->code_firstlineno < 256 &&
	      l->code_firstlineno % 4 == 0);
	if (ver_ge(l, 3, 11)) {
		CHECK(ptr_ok(l->code_qualname, 256));
		CHECK(l->code_adaptive > l->code_linetable &&
		      l->code_adaptive < 256);
		CHECK_EQ_INT(l->linetable_kind, PY_LT_LOCATIONS_311);
	} else {
		CHECK_EQ_INT(l->code_qualname, -1);
		CHECK_EQ_INT(l->code_adaptive, -1);
		CHECK_EQ_INT(l->linetable_kind,
			     l->major == 2 ? PY_LT_LNOTAB_UNSIGNED :
			     ver_ge(l, 3, 10) ? PY_LT_LINETABLE_310 :
			     PY_LT_LNOTAB_SIGNED);
	}
	/*
	 * The checksum window: past ob_refcnt/ob_type, clear of the code,
	 * the 32 bytes that end with the line table and hold every pointer
	 * a frame's names are read through.
	 */
	CHECK(l->code_cksum >= 16 && l->code_cksum + 32 <= 256);
	if (l->code_adaptive >= 0)
		CHECK(l->code_cksum + 32 <= l->code_adaptive);
	CHECK_EQ_INT(l->code_linetable, l->code_cksum + 24);
	CHECK(overlaps(l->code_cksum, 32, l->code_filename, 8));
	CHECK(overlaps(l->code_cksum, 32, l->code_name, 8));
	if (ver_ge(l, 3, 11))
		CHECK_EQ_INT(l->code_qualname, l->code_cksum + 16);

	/* strings */
	if (l->major == 2) {
		CHECK_EQ_INT(l->str_kind, PY_STR_BYTES);
		CHECK_EQ_INT(l->unicode_length, -1);
		CHECK_EQ_INT(l->unicode_state, -1);
		CHECK_EQ_INT(l->bytes_size, 16);
		CHECK_EQ_INT(l->bytes_data, 36);
		return;
	}
	CHECK_EQ_INT(l->str_kind, PY_STR_UNICODE);
	CHECK_EQ_INT(l->unicode_length, 16);
	CHECK_EQ_INT(l->unicode_state, 32);
	CHECK_EQ_INT(l->unicode_kind_shift, 2);
	CHECK_EQ_INT(l->unicode_compact_bit, 5);
	CHECK_EQ_INT(l->unicode_ascii_bit, 6);
	/* 'wstr' went away in 3.12: PyASCIIObject shrank from 48 to 40. */
	CHECK_EQ_INT(l->unicode_ascii_data, ver_ge(l, 3, 12) ? 40 : 48);
	CHECK_EQ_INT(l->unicode_compact_data, ver_ge(l, 3, 12) ? 56 : 72);
	CHECK_EQ_INT(l->bytes_size, 16);
	CHECK_EQ_INT(l->bytes_data, 32);
}

/* Values in shared/notes/cpython-internals.md, found independently. */
static void test_known_values(void)
{
	const struct py_layout *l;

	l = py_layout__find(2, 7);
	if (l) {
		CHECK_EQ_INT(l->tstate_frame, 16);
		CHECK_EQ_INT(l->frame_code, 32);
		CHECK_EQ_INT(l->frame_back, 24);
		CHECK_EQ_INT(l->frame_instr, 120);
		CHECK_EQ_INT(l->tstate_thread_id, 144);
	}
	l = py_layout__find(3, 6);
	if (l) {
		CHECK_EQ_INT(l->tstate_frame, 24);
		CHECK_EQ_INT(l->code_filename, 96);
		CHECK_EQ_INT(l->code_name, 104);
		CHECK_EQ_INT(l->tstate_thread_id, 152);
	}
	l = py_layout__find(3, 10);
	if (l) {
		CHECK_EQ_INT(l->code_filename, 104);
		CHECK_EQ_INT(l->code_name, 112);
		CHECK_EQ_INT(l->tstate_thread_id, 176);
	}
	l = py_layout__find(3, 11);
	if (l) {
		CHECK_EQ_INT(l->tstate_frame, 56);
		CHECK_EQ_INT(l->cframe_frame, 8);
		CHECK_EQ_INT(l->frame_code, 32);
		CHECK_EQ_INT(l->frame_back, 48);
		CHECK_EQ_INT(l->frame_instr, 56);
		CHECK_EQ_INT(l->tstate_thread_id, 152);
		CHECK_EQ_INT(l->tstate_native_thread_id, 160);
	}
	l = py_layout__find(3, 12);
	if (l) {
		CHECK_EQ_INT(l->tstate_frame, 56);
		CHECK_EQ_INT(l->cframe_frame, 0);
		CHECK_EQ_INT(l->frame_code, 0);
		CHECK_EQ_INT(l->frame_back, 8);
		CHECK_EQ_INT(l->frame_instr, 56);
		CHECK_EQ_INT(l->frame_owner, 70);
		CHECK_EQ_INT(l->tstate_thread_id, 136);
	}
	l = py_layout__find(3, 13);
	if (l) {
		CHECK_EQ_INT(l->tstate_frame, 72);
		CHECK_EQ_INT(l->frame_code, 0);
		CHECK_EQ_INT(l->frame_back, 8);
		CHECK_EQ_INT(l->frame_instr, 56);
		CHECK_EQ_INT(l->frame_owner, 70);
		CHECK_EQ_INT(l->code_filename, 112);
		CHECK_EQ_INT(l->code_name, 120);
		CHECK_EQ_INT(l->tstate_thread_id, 152);
	}
}

static void test_find_misses(void)
{
	CHECK(py_layout__find(3, 99) == NULL);
	CHECK(py_layout__find(3, 5) == NULL);
	CHECK(py_layout__find(3, 14) == NULL);	/* 3.14+: debug offsets */
	CHECK(py_layout__find(2, 6) == NULL);
	CHECK(py_layout__find(4, 0) == NULL);
	CHECK(py_layout__find(0, 0) == NULL);
}

/* Every field of two layouts, named on a mismatch. */
#define SAME(f) CHECK_EQ_INT(a->f, b->f)

static void check_same_layout(const struct py_layout *a,
			      const struct py_layout *b)
{
	SAME(major); SAME(minor);
	SAME(runtime_interp_head);
	SAME(interp_next); SAME(interp_tstate_head);
	SAME(tstate_next); SAME(tstate_interp); SAME(tstate_frame);
	SAME(cframe_frame); SAME(tstate_thread_id);
	SAME(tstate_native_thread_id);
	SAME(frame_back); SAME(frame_code); SAME(frame_instr);
	SAME(frame_owner); SAME(owner_skip_min); SAME(instr_kind);
	SAME(code_filename); SAME(code_name); SAME(code_qualname);
	SAME(code_firstlineno); SAME(code_linetable); SAME(code_adaptive);
	SAME(code_cksum); SAME(linetable_kind);
	SAME(str_kind); SAME(unicode_length); SAME(unicode_state);
	SAME(unicode_kind_shift); SAME(unicode_compact_bit);
	SAME(unicode_ascii_bit); SAME(unicode_ascii_data);
	SAME(unicode_compact_data); SAME(bytes_size); SAME(bytes_data);
}

static void test_debug_offsets_313(void)
{
	const struct py_layout *row = py_layout__find(3, 13);
	unsigned char big[DEBUG_OFFSETS_READ_SIZE];
	struct py_layout l;
	__u32 hex = 0;
	bool ft = true;

	CHECK_EQ_INT(debug_offsets__parse(pyruntime_313, sizeof(pyruntime_313),
					  &l, &hex, &ft), 0);
	CHECK_EQ_INT(hex, 0x030d00f0);
	CHECK(!ft);
	CHECK(row != NULL);
	if (row)
		check_same_layout(&l, row);

	/* The caller's usual read: a larger buffer starting at _PyRuntime. */
	memset(big, 0x5a, sizeof(big));
	memcpy(big, pyruntime_313, sizeof(pyruntime_313));
	CHECK_EQ_INT(debug_offsets__parse(big, sizeof(big), &l, NULL, NULL), 0);
	if (row)
		check_same_layout(&l, row);
}

static int parse_copy(const unsigned char *src, size_t len, size_t at,
		      __u64 val)
{
	unsigned char buf[sizeof(pyruntime_313)];
	struct py_layout l, untouched;
	int ret;

	memcpy(buf, src, len);
	memcpy(buf + at, &val, sizeof(val));
	memset(&l, 0xa5, sizeof(l));
	memcpy(&untouched, &l, sizeof(l));
	ret = debug_offsets__parse(buf, len, &l, NULL, NULL);
	if (ret)
		CHECK(!memcmp(&l, &untouched, sizeof(l)));	/* out unchanged */
	return ret;
}

/* Byte positions in the 3.13 struct (pycore_runtime.h, v3.13.0). */
enum {
	P313_VERSION = 8,
	P313_FREE_THREADED = 16,
	P313_RT_SIZE = 24,
	P313_RT_INTERP_HEAD = 40,
	P313_IS_THREADS_HEAD = 72,
	P313_TS_SIZE = 152,
	P313_TS_CURRENT_FRAME = 184,
	P313_FR_SIZE = 224,
	P313_FR_PREVIOUS = 232,
	P313_FR_OWNER = 264,
	P313_CO_NAME = 288,
	P313_CO_LINETABLE = 304,
	P313_CO_FIRSTLINENO = 312,
	P313_UN_ASCII_SIZE = 560,
};

static __u64 blob_u64(size_t at)
{
	__u64 v;

	memcpy(&v, pyruntime_313 + at, sizeof(v));
	return v;
}

static void test_debug_offsets_rejects(void)
{
	const unsigned char *b = pyruntime_313;
	const size_t n = sizeof(pyruntime_313);
	unsigned char bad[sizeof(pyruntime_313)];
	struct py_layout l;
	__u32 hex = 0;
	unsigned int seed;
	size_t i;

	/* The positions above really are the 3.13 fields. */
	CHECK_EQ_INT(blob_u64(P313_VERSION), 0x030d00f0);
	CHECK_EQ_INT(blob_u64(P313_RT_INTERP_HEAD), 632);
	CHECK_EQ_INT(blob_u64(P313_IS_THREADS_HEAD), 7344);
	CHECK_EQ_INT(blob_u64(P313_TS_SIZE), 304);
	CHECK_EQ_INT(blob_u64(P313_TS_CURRENT_FRAME), 72);
	CHECK_EQ_INT(blob_u64(P313_FR_SIZE), 80);
	CHECK_EQ_INT(blob_u64(P313_FR_PREVIOUS), 8);
	CHECK_EQ_INT(blob_u64(P313_FR_OWNER), 70);
	CHECK_EQ_INT(blob_u64(P313_CO_NAME), 120);
	CHECK_EQ_INT(blob_u64(P313_CO_LINETABLE), 136);
	CHECK_EQ_INT(blob_u64(P313_CO_FIRSTLINENO), 68);
	CHECK_EQ_INT(blob_u64(P313_UN_ASCII_SIZE), 40);
	CHECK_EQ_INT(parse_copy(b, n, P313_TS_CURRENT_FRAME, 72), 0);
	CHECK_EQ_INT(parse_copy(b, n, P313_FR_OWNER, 70), 0);

	/* Cookie. */
	memcpy(bad, b, n);
	bad[0] = 'X';
	CHECK_EQ_INT(debug_offsets__parse(bad, n, &l, NULL, NULL), -EINVAL);
	memset(bad, 0, n);
	CHECK_EQ_INT(debug_offsets__parse(bad, n, &l, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(debug_offsets__parse(NULL, n, &l, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(debug_offsets__parse(b, n, NULL, NULL, NULL), -EINVAL);

	/* Truncated buffers. */
	CHECK_EQ_INT(debug_offsets__parse(b, 0, &l, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(debug_offsets__parse(b, 8, &l, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(debug_offsets__parse(b, 23, &l, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(debug_offsets__parse(b, 200, &l, NULL, NULL), -EINVAL);
	CHECK_EQ_INT(debug_offsets__parse(b, n - 1, &l, NULL, NULL), -EINVAL);

	/* Garbage offsets and sizes. */
	CHECK_EQ_INT(parse_copy(b, n, P313_TS_CURRENT_FRAME, 1ULL << 40), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_TS_CURRENT_FRAME, 304), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_TS_CURRENT_FRAME, 300), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_TS_CURRENT_FRAME, (__u64)-8), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_TS_SIZE, 0), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_TS_SIZE, 1 << 20), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_FR_SIZE, 60), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_FR_OWNER, 80), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_FR_OWNER, 8), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_FR_PREVIOUS, 0), -EINVAL);
	/*
	 * The checksum window is co_filename, co_name, co_qualname,
	 * co_linetable in a row: a pointer elsewhere (each a valid field
	 * on its own) is refused.
	 */
	CHECK_EQ_INT(parse_copy(b, n, P313_CO_NAME, 144), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_CO_LINETABLE, 152), -EINVAL);
	/* co_firstlineno inside the window or the code itself. */
	CHECK_EQ_INT(parse_copy(b, n, P313_CO_FIRSTLINENO, 120), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_CO_FIRSTLINENO, 200), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_RT_SIZE, 0), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_RT_INTERP_HEAD, 1ULL << 20), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_IS_THREADS_HEAD, 40000), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_UN_ASCII_SIZE, 8), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_FREE_THREADED, 2), -EINVAL);
	CHECK_EQ_INT(parse_copy(b, n, P313_VERSION, 0x1030d00f0ULL), -EINVAL);

	/* Random bytes behind a valid head. */
	for (seed = 1; seed <= 64; seed++) {
		srand(seed);
		memcpy(bad, b, 24);
		for (i = 24; i < n; i++)
			bad[i] = rand() & 0xff;
		CHECK_EQ_INT(debug_offsets__parse(bad, n, &l, NULL, NULL), -EINVAL);
	}

	/* Versions without a known layout; the version is still reported. */
	CHECK_EQ_INT(parse_copy(b, n, P313_VERSION, 0x030c01f0), -ENOTSUP);
	CHECK_EQ_INT(parse_copy(b, n, P313_VERSION, 0x036300a0), -ENOTSUP);
	CHECK_EQ_INT(parse_copy(b, n, P313_VERSION, 0x04000000), -ENOTSUP);
	memcpy(bad, b, n);
	bad[P313_VERSION + 2] = 99;
	CHECK_EQ_INT(debug_offsets__parse(bad, n, &l, &hex, NULL), -ENOTSUP);
	CHECK_EQ_INT(hex, 0x036300f0);
}

/*
 * Synthetic 3.14 and 3.15 dumps, laid out field by field as in
 * Include/internal/pycore_debug_offsets.h at v3.14.0 and v3.15.0rc1,
 * with made-up but plausible offsets (no such build here). They check
 * that the parser maps each field from the right slot.
 */
struct blob {
	__u64 w[128];
	int n;
};

static void put(struct blob *bl, __u64 v)
{
	bl->w[bl->n++] = v;
}

static void put_head(struct blob *bl, __u64 version, __u64 ft)
{
	memcpy(&bl->w[0], "xdebugpy", 8);
	bl->n = 1;
	put(bl, version);
	put(bl, ft);
	put(bl, 300000); put(bl, 600); put(bl, 640);	/* runtime_state */
	/* interpreter_state: size id next threads_head threads_main gc
	 * imports_modules sysdict builtins ceval_gil gil_runtime_state
	 * _enabled _locked _holder code_object_generation tlbc_generation */
	put(bl, 200000); put(bl, 7200); put(bl, 7264); put(bl, 7344);
	put(bl, 7352); put(bl, 7400); put(bl, 7600); put(bl, 7640);
	put(bl, 7648); put(bl, 16); put(bl, 7752); put(bl, 0);
	put(bl, 7768); put(bl, 7760); put(bl, 7800); put(bl, 7808);
}

static void put_tail(struct blob *bl, bool v315, bool ft)
{
	/* interpreter_frame: size previous executable instr_ptr localsplus
	 * owner stackpointer tlbc_index; free-threaded builds have the
	 * int32 tlbc_index before return_offset, which moves owner, and
	 * default builds describe tlbc_index and co_tlbc as 0. */
	put(bl, 88); put(bl, 8); put(bl, 0); put(bl, 56); put(bl, 80);
	put(bl, ft ? 78 : 74); put(bl, 64); put(bl, ft ? 72 : 0);
	/* code_object: size filename name qualname linetable firstlineno
	 * argcount localsplusnames localspluskinds co_code_adaptive co_tlbc */
	put(bl, 224); put(bl, 112); put(bl, 120); put(bl, 128); put(bl, 136);
	put(bl, 68); put(bl, 52); put(bl, 96); put(bl, 104); put(bl, 216);
	put(bl, ft ? 208 : 0);
	put(bl, 16); put(bl, 8);				/* pyobject */
	put(bl, 416); put(bl, 24); put(bl, 88); put(bl, 168);	/* type */
	if (v315) {
		put(bl, 32); put(bl, 264);	/* tp_basicsize, tp_dictoffset */
		put(bl, 944); put(bl, 880);	/* heap_type_object */
	}
	put(bl, 32); put(bl, 24); put(bl, 16);		/* tuple */
	put(bl, 40); put(bl, 24); put(bl, 16);		/* list */
	put(bl, 200); put(bl, 24); put(bl, 40); put(bl, 32);	/* set */
	put(bl, 48); put(bl, 32); put(bl, 40);		/* dict */
	put(bl, 24); put(bl, 16);				/* float */
	put(bl, 32); put(bl, 16); put(bl, 24);		/* long */
	put(bl, 40); put(bl, 16); put(bl, 32);		/* bytes */
	/* unicode: size state length asciiobject_size [compact size] */
	put(bl, 64); put(bl, 32); put(bl, 16); put(bl, 40);
	if (v315)
		put(bl, 56);
	put(bl, 400); put(bl, 8);				/* gc */
	if (v315) {
		put(bl, 16); put(bl, 24); put(bl, 64);
	}
	put(bl, 200); put(bl, 48); put(bl, 120); put(bl, 100);	/* gen */
	put(bl, 0); put(bl, 8);				/* llist_node */
	put(bl, 24); put(bl, 320); put(bl, 9000); put(bl, 0); put(bl, 4);
	put(bl, 512);					/* debugger_support */
}

static void build_314(struct blob *bl, bool ft)
{
	put_head(bl, 0x030e00f0, ft);
	/* thread_state: size prev next interp current_frame thread_id
	 * native_thread_id datastack_chunk status */
	put(bl, 320); put(bl, 0); put(bl, 8); put(bl, 16); put(bl, 72);
	put(bl, 152); put(bl, 160); put(bl, 232); put(bl, 32);
	put_tail(bl, false, ft);
}

static void build_315(struct blob *bl, bool ft)
{
	put_head(bl, 0x030f00c1, ft);
	/* thread_state: size prev next interp current_frame base_frame
	 * last_profiled_frame last_profiled_frame_seq thread_id
	 * native_thread_id datastack_chunk status holds_gil gil_requested
	 * current_exception exc_state */
	put(bl, 352); put(bl, 0); put(bl, 8); put(bl, 16); put(bl, 72);
	put(bl, 296); put(bl, 304); put(bl, 312); put(bl, 152); put(bl, 160);
	put(bl, 232); put(bl, 32); put(bl, 32); put(bl, 32); put(bl, 112);
	put(bl, 256);
	put(bl, 0);				/* err_stackitem.exc_value */
	put_tail(bl, true, ft);
}

static void check_synthetic(const struct py_layout *l, int minor, bool ft)
{
	CHECK_EQ_INT(l->major, 3);
	CHECK_EQ_INT(l->minor, minor);
	CHECK_EQ_INT(l->runtime_interp_head, 640);
	CHECK_EQ_INT(l->interp_next, 7264);
	CHECK_EQ_INT(l->interp_tstate_head, 7344);
	CHECK_EQ_INT(l->tstate_next, 8);
	CHECK_EQ_INT(l->tstate_interp, 16);
	CHECK_EQ_INT(l->tstate_frame, 72);
	CHECK_EQ_INT(l->cframe_frame, -1);
	CHECK_EQ_INT(l->tstate_thread_id, 152);
	CHECK_EQ_INT(l->tstate_native_thread_id, 160);
	CHECK_EQ_INT(l->frame_back, 8);
	CHECK_EQ_INT(l->frame_code, 0);
	CHECK_EQ_INT(l->frame_instr, 56);
	CHECK_EQ_INT(l->frame_owner, ft ? 78 : 74);
	CHECK_EQ_INT(l->frame_tlbc, ft ? 72 : 0);
	CHECK_EQ_INT(l->code_tlbc, ft ? 208 : 0);
	CHECK_EQ_INT(l->owner_skip_min, 3);
	CHECK_EQ_INT(l->instr_kind, PY_INSTR_POINTER);
	CHECK_EQ_INT(l->code_filename, 112);
	CHECK_EQ_INT(l->code_name, 120);
	CHECK_EQ_INT(l->code_qualname, 128);
	CHECK_EQ_INT(l->code_linetable, 136);
	CHECK_EQ_INT(l->code_firstlineno, 68);
	CHECK_EQ_INT(l->code_adaptive, 216);
	CHECK_EQ_INT(l->code_cksum, 112);
	CHECK_EQ_INT(l->linetable_kind, PY_LT_LOCATIONS_311);
	CHECK_EQ_INT(l->str_kind, PY_STR_UNICODE);
	CHECK_EQ_INT(l->unicode_length, 16);
	CHECK_EQ_INT(l->unicode_state, 32);
	CHECK_EQ_INT(l->unicode_kind_shift, ft ? 8 : 2);
	CHECK_EQ_INT(l->unicode_compact_bit, ft ? 11 : 5);
	CHECK_EQ_INT(l->unicode_ascii_bit, ft ? 12 : 6);
	CHECK_EQ_INT(l->unicode_ascii_data, 40);
	CHECK_EQ_INT(l->unicode_compact_data, 56);
	CHECK_EQ_INT(l->bytes_size, 16);
	CHECK_EQ_INT(l->bytes_data, 32);
}

static void test_debug_offsets_newer(void)
{
	struct blob bl;
	struct py_layout l;
	__u32 hex;
	bool ft, f;
	int i;

	for (i = 0; i < 2; i++) {
		f = i;
		memset(&bl, 0, sizeof(bl));
		build_314(&bl, f);
		CHECK_EQ_INT(bl.n * 8, 760);
		CHECK_EQ_INT(debug_offsets__parse(bl.w, bl.n * 8, &l, &hex, &ft), 0);
		CHECK_EQ_INT(hex, 0x030e00f0);
		CHECK(ft == f);
		check_synthetic(&l, 14, f);
		CHECK_EQ_INT(debug_offsets__parse(bl.w, bl.n * 8 - 8, &l, NULL,
						  NULL), -EINVAL);

		memset(&bl, 0, sizeof(bl));
		build_315(&bl, f);
		CHECK_EQ_INT(bl.n * 8, 888);
		CHECK_EQ_INT(debug_offsets__parse(bl.w, bl.n * 8, &l, &hex, &ft), 0);
		CHECK_EQ_INT(hex, 0x030f00c1);
		CHECK(ft == f);
		check_synthetic(&l, 15, f);
		CHECK_EQ_INT(debug_offsets__parse(bl.w, bl.n * 8 - 8, &l, NULL,
						  NULL), -EINVAL);
	}

	/*
	 * 3.14t: tlbc_index (word 38) must not overlap the other frame
	 * fields, and co_tlbc (word 49) comes with it or not at all.
	 */
	memset(&bl, 0, sizeof(bl));
	build_314(&bl, true);
	CHECK_EQ_INT(bl.w[38], 72);
	CHECK_EQ_INT(bl.w[49], 208);
	bl.w[38] = 76;		/* tlbc_index over owner (78) */
	CHECK_EQ_INT(debug_offsets__parse(bl.w, bl.n * 8, &l, NULL, NULL), -EINVAL);
	bl.w[38] = 0;		/* co_tlbc alone */
	CHECK_EQ_INT(debug_offsets__parse(bl.w, bl.n * 8, &l, NULL, NULL), -EINVAL);
	bl.w[49] = 0;		/* neither: a 3.14t without tlbc */
	CHECK_EQ_INT(debug_offsets__parse(bl.w, bl.n * 8, &l, NULL, NULL), 0);
	CHECK_EQ_INT(l.frame_tlbc, 0);
	CHECK_EQ_INT(l.code_tlbc, 0);

	/* main (3.16) is not accepted until its struct settles. */
	memset(&bl, 0, sizeof(bl));
	build_315(&bl, false);
	bl.w[1] = 0x031000a0;
	CHECK_EQ_INT(debug_offsets__parse(bl.w, bl.n * 8, &l, NULL, NULL),
		     -ENOTSUP);
}

/*
 * Every frame field the kernel reads must lie in the bytes of a frame it
 * copies: each built-in row fits, and a layout with a field past the
 * buffer is refused with a reason (the kernel would mask the offset and
 * read the wrong bytes).
 */
static void test_kernel_fit(void)
{
	char why[256];
	struct py_layout l;

	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		const struct py_layout *row = py_layout__find(versions[i].major, versions[i].minor);

		if (!row)
			continue;
		why[0] = '\0';
		CHECK_EQ_INT(py_layout__check_kernel_fit(row, why, sizeof(why)), 0);
	}
	l = *py_layout__find(3, 12);
	l.frame_instr = PYBPFPROF_FRAME_BUF_SIZE - 4;	/* an 8-byte pointer, half past */
	CHECK_EQ_INT(py_layout__check_kernel_fit(&l, why, sizeof(why)), -ENOTSUP);
	CHECK(strstr(why, "past the 128 bytes of a frame the kernel reads") != NULL);
	l = *py_layout__find(3, 12);
	l.frame_owner = PYBPFPROF_FRAME_BUF_SIZE - 1;	/* a 1-byte field, the last byte */
	CHECK_EQ_INT(py_layout__check_kernel_fit(&l, why, sizeof(why)), 0);
	l.frame_owner = PYBPFPROF_FRAME_BUF_SIZE;
	CHECK_EQ_INT(py_layout__check_kernel_fit(&l, why, sizeof(why)), -ENOTSUP);
}

int main(void)
{
	size_t i;

	for (i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		test_row(versions[i].major, versions[i].minor);
	test_known_values();
	test_find_misses();
	test_debug_offsets_313();
	test_debug_offsets_rejects();
	test_debug_offsets_newer();
	test_kernel_fit();
	return unit_report("layouts");
}
