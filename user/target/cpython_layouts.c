// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Built-in struct layouts of CPython, one row per minor version, for
 * x86-64 default (GIL) builds. Every row is the verbatim output of
 * tools/gen-layout-row run on a build with DWARF (the pyenv builds
 * named in each row's comment); do not edit offsets by hand, rerun the
 * script. Offsets are taken as stable within a minor version: each row
 * comes from the one patch release named, and a diff of the CPython
 * headers from X.Y.0 to the last X.Y.z tag (3.6-3.13) shows only
 * members appended at struct ends, past every field used here (the
 * known 3.7 drift is in _PyRuntimeState.gilstate, which we skip).
 *
 * 3.13+ interpreters also describe themselves through _Py_DebugOffsets
 * (user/debug_offsets.c); the 3.13 row here must agree with it, which
 * tests/unit/test_layouts.c checks on a captured dump.
 *
 * Semantics worth knowing when reading a row:
 *  - tstate_frame is 'frame' (PyFrameObject *) up to 3.10, 'cframe'
 *    (_PyCFrame *, follow cframe_frame) in 3.11-3.12, and
 *    'current_frame' (_PyInterpreterFrame *) from 3.13.
 *  - interp_tstate_head is 'tstate_head' up to 3.10 and 'threads.head'
 *    from 3.11 (3.11 already has the 'threads' struct).
 *  - frame_owner/owner_skip_min: 3.12-3.13 entry shims are owned by
 *    FRAME_OWNED_BY_CSTACK (3); 3.11 has no shim frames (-1/255).
 *  - code_cksum: start of the 32 bytes hashed by py_code_cksum(),
 *    which tell the code object sampled from a later one at the same
 *    address: those that end with the line table and hold co_filename,
 *    co_name and co_qualname, the very pointers userspace follows to
 *    name the frame (the comment of each row lists them). Not int
 *    counts: those collide (every module's <module> differs in
 *    co_stacksize at most, a module's code is freed once imported, and
 *    the next alike one gets its address).
 */
#include <stddef.h>
#include <linux/types.h>

#include "cpython_layout.h"
#include "pybpfprof.h"	/* enum py_instr_kind */

static const struct py_layout py_layouts[] = {
	/*
	 * 2.7.18, from libpython2.7.so.1.0
	 * by tools/gen-layout-row.
	 * cksum 80..112: co_filename, co_name, co_firstlineno, co_lnotab, 4
	 *   pad bytes
	 */
	{
		.major = 2, .minor = 7,
		.runtime_interp_head = -1,
		.interp_next = 0,
		.interp_tstate_head = 8,
		.tstate_next = 0,
		.tstate_interp = 8,
		.tstate_frame = 16,
		.cframe_frame = -1,
		.tstate_thread_id = 144,
		.tstate_native_thread_id = -1,
		.runtime_gil = -1,
		.interp_gil_ptr = -1,
		.gil_locked = -1,
		.gil_holder = -1,
		.tstate_status = -1,
		.gil_size = 0,
		.frame_back = 24,
		.frame_code = 32,
		.frame_instr = 120,
		.frame_owner = -1,
		.owner_skip_min = 255,
		.instr_kind = PY_INSTR_LASTI_BYTES,
		.frame_is_entry = -1,
		.cframe_previous = -1,
		.code_filename = 80,
		.code_name = 88,
		.code_qualname = -1,
		.code_firstlineno = 96,
		.code_linetable = 104,
		.code_adaptive = -1,
		.code_cksum = 80,
		.linetable_kind = PY_LT_LNOTAB_UNSIGNED,
		.str_kind = PY_STR_BYTES,
		.unicode_length = -1,
		.unicode_state = -1,
		.unicode_kind_shift = 0,
		.unicode_compact_bit = 0,
		.unicode_ascii_bit = 0,
		.unicode_ascii_data = -1,
		.unicode_compact_data = -1,
		.bytes_size = 16,
		.bytes_data = 36,
	},
	/*
	 * 3.6.15, from libpython3.6m.so.1.0
	 * by tools/gen-layout-row.
	 * cksum 88..120: co_cell2arg, co_filename, co_name, co_lnotab
	 */
	{
		.major = 3, .minor = 6,
		.runtime_interp_head = -1,
		.interp_next = 0,
		.interp_tstate_head = 8,
		.tstate_next = 8,
		.tstate_interp = 16,
		.tstate_frame = 24,
		.cframe_frame = -1,
		.tstate_thread_id = 152,
		.tstate_native_thread_id = -1,
		.runtime_gil = -1,
		.interp_gil_ptr = -1,
		.gil_locked = -1,
		.gil_holder = -1,
		.tstate_status = -1,
		.gil_size = 0,
		.frame_back = 24,
		.frame_code = 32,
		.frame_instr = 120,
		.frame_owner = -1,
		.owner_skip_min = 255,
		.instr_kind = PY_INSTR_LASTI_BYTES,
		.frame_is_entry = -1,
		.cframe_previous = -1,
		.code_filename = 96,
		.code_name = 104,
		.code_qualname = -1,
		.code_firstlineno = 36,
		.code_linetable = 112,
		.code_adaptive = -1,
		.code_cksum = 88,
		.linetable_kind = PY_LT_LNOTAB_SIGNED,
		.str_kind = PY_STR_UNICODE,
		.unicode_length = 16,
		.unicode_state = 32,
		.unicode_kind_shift = 2,
		.unicode_compact_bit = 5,
		.unicode_ascii_bit = 6,
		.unicode_ascii_data = 48,
		.unicode_compact_data = 72,
		.bytes_size = 16,
		.bytes_data = 32,
	},
	/*
	 * 3.7.16, from libpython3.7m.so.1.0
	 * by tools/gen-layout-row.
	 * cksum 88..120: co_cell2arg, co_filename, co_name, co_lnotab
	 */
	{
		.major = 3, .minor = 7,
		.runtime_interp_head = 24,
		.interp_next = 0,
		.interp_tstate_head = 8,
		.tstate_next = 8,
		.tstate_interp = 16,
		.tstate_frame = 24,
		.cframe_frame = -1,
		.tstate_thread_id = 176,
		.tstate_native_thread_id = -1,
		.runtime_gil = 1264,
		.interp_gil_ptr = -1,
		.gil_locked = 16,
		.gil_holder = 8,
		.tstate_status = -1,
		.gil_size = 208,
		.frame_back = 24,
		.frame_code = 32,
		.frame_instr = 104,
		.frame_owner = -1,
		.owner_skip_min = 255,
		.instr_kind = PY_INSTR_LASTI_BYTES,
		.frame_is_entry = -1,
		.cframe_previous = -1,
		.code_filename = 96,
		.code_name = 104,
		.code_qualname = -1,
		.code_firstlineno = 36,
		.code_linetable = 112,
		.code_adaptive = -1,
		.code_cksum = 88,
		.linetable_kind = PY_LT_LNOTAB_SIGNED,
		.str_kind = PY_STR_UNICODE,
		.unicode_length = 16,
		.unicode_state = 32,
		.unicode_kind_shift = 2,
		.unicode_compact_bit = 5,
		.unicode_ascii_bit = 6,
		.unicode_ascii_data = 48,
		.unicode_compact_data = 72,
		.bytes_size = 16,
		.bytes_data = 32,
	},
	/*
	 * 3.8.18, from libpython3.8.so.1.0
	 * by tools/gen-layout-row.
	 * cksum 96..128: co_cell2arg, co_filename, co_name, co_lnotab
	 */
	{
		.major = 3, .minor = 8,
		.runtime_interp_head = 32,
		.interp_next = 0,
		.interp_tstate_head = 8,
		.tstate_next = 8,
		.tstate_interp = 16,
		.tstate_frame = 24,
		.cframe_frame = -1,
		.tstate_thread_id = 176,
		.tstate_native_thread_id = -1,
		.runtime_gil = 1152,
		.interp_gil_ptr = -1,
		.gil_locked = 16,
		.gil_holder = 8,
		.tstate_status = -1,
		.gil_size = 208,
		.frame_back = 24,
		.frame_code = 32,
		.frame_instr = 104,
		.frame_owner = -1,
		.owner_skip_min = 255,
		.instr_kind = PY_INSTR_LASTI_BYTES,
		.frame_is_entry = -1,
		.cframe_previous = -1,
		.code_filename = 104,
		.code_name = 112,
		.code_qualname = -1,
		.code_firstlineno = 40,
		.code_linetable = 120,
		.code_adaptive = -1,
		.code_cksum = 96,
		.linetable_kind = PY_LT_LNOTAB_SIGNED,
		.str_kind = PY_STR_UNICODE,
		.unicode_length = 16,
		.unicode_state = 32,
		.unicode_kind_shift = 2,
		.unicode_compact_bit = 5,
		.unicode_ascii_bit = 6,
		.unicode_ascii_data = 48,
		.unicode_compact_data = 72,
		.bytes_size = 16,
		.bytes_data = 32,
	},
	/*
	 * 3.9.18, from libpython3.9.so.1.0
	 * by tools/gen-layout-row.
	 * cksum 96..128: co_cell2arg, co_filename, co_name, co_lnotab
	 */
	{
		.major = 3, .minor = 9,
		.runtime_interp_head = 32,
		.interp_next = 0,
		.interp_tstate_head = 8,
		.tstate_next = 8,
		.tstate_interp = 16,
		.tstate_frame = 24,
		.cframe_frame = -1,
		.tstate_thread_id = 176,
		.tstate_native_thread_id = -1,
		.runtime_gil = 352,
		.interp_gil_ptr = -1,
		.gil_locked = 16,
		.gil_holder = 8,
		.tstate_status = -1,
		.gil_size = 208,
		.frame_back = 24,
		.frame_code = 32,
		.frame_instr = 104,
		.frame_owner = -1,
		.owner_skip_min = 255,
		.instr_kind = PY_INSTR_LASTI_BYTES,
		.frame_is_entry = -1,
		.cframe_previous = -1,
		.code_filename = 104,
		.code_name = 112,
		.code_qualname = -1,
		.code_firstlineno = 40,
		.code_linetable = 120,
		.code_adaptive = -1,
		.code_cksum = 96,
		.linetable_kind = PY_LT_LNOTAB_SIGNED,
		.str_kind = PY_STR_UNICODE,
		.unicode_length = 16,
		.unicode_state = 32,
		.unicode_kind_shift = 2,
		.unicode_compact_bit = 5,
		.unicode_ascii_bit = 6,
		.unicode_ascii_data = 48,
		.unicode_compact_data = 72,
		.bytes_size = 16,
		.bytes_data = 32,
	},
	/*
	 * 3.10.13, from libpython3.10.so.1.0
	 * by tools/gen-layout-row.
	 * cksum 96..128: co_cell2arg, co_filename, co_name, co_linetable
	 */
	{
		.major = 3, .minor = 10,
		.runtime_interp_head = 32,
		.interp_next = 0,
		.interp_tstate_head = 8,
		.tstate_next = 8,
		.tstate_interp = 16,
		.tstate_frame = 24,
		.cframe_frame = -1,
		.tstate_thread_id = 176,
		.tstate_native_thread_id = -1,
		.runtime_gil = 352,
		.interp_gil_ptr = -1,
		.gil_locked = 16,
		.gil_holder = 8,
		.tstate_status = -1,
		.gil_size = 208,
		.frame_back = 24,
		.frame_code = 32,
		.frame_instr = 96,
		.frame_owner = -1,
		.owner_skip_min = 255,
		.instr_kind = PY_INSTR_LASTI_UNITS,
		.frame_is_entry = -1,
		.cframe_previous = -1,
		.code_filename = 104,
		.code_name = 112,
		.code_qualname = -1,
		.code_firstlineno = 40,
		.code_linetable = 120,
		.code_adaptive = -1,
		.code_cksum = 96,
		.linetable_kind = PY_LT_LINETABLE_310,
		.str_kind = PY_STR_UNICODE,
		.unicode_length = 16,
		.unicode_state = 32,
		.unicode_kind_shift = 2,
		.unicode_compact_bit = 5,
		.unicode_ascii_bit = 6,
		.unicode_ascii_data = 48,
		.unicode_compact_data = 72,
		.bytes_size = 16,
		.bytes_data = 32,
	},
	/*
	 * 3.11.7, from libpython3.11.so.1.0
	 * by tools/gen-layout-row.
	 * cksum 112..144: co_filename, co_name, co_qualname, co_linetable
	 */
	{
		.major = 3, .minor = 11,
		.runtime_interp_head = 40,
		.interp_next = 0,
		.interp_tstate_head = 16,
		.tstate_next = 8,
		.tstate_interp = 16,
		.tstate_frame = 56,
		.cframe_frame = 8,
		.tstate_thread_id = 152,
		.tstate_native_thread_id = 160,
		.runtime_gil = 360,
		.interp_gil_ptr = -1,
		.gil_locked = 16,
		.gil_holder = 8,
		.tstate_status = -1,
		.gil_size = 208,
		.frame_back = 48,
		.frame_code = 32,
		.frame_instr = 56,
		.frame_owner = -1,
		.owner_skip_min = 255,
		.instr_kind = PY_INSTR_POINTER,
		.frame_is_entry = 68,
		.cframe_previous = 16,
		.code_filename = 112,
		.code_name = 120,
		.code_qualname = 128,
		.code_firstlineno = 72,
		.code_linetable = 136,
		.code_adaptive = 184,
		.code_cksum = 112,
		.linetable_kind = PY_LT_LOCATIONS_311,
		.str_kind = PY_STR_UNICODE,
		.unicode_length = 16,
		.unicode_state = 32,
		.unicode_kind_shift = 2,
		.unicode_compact_bit = 5,
		.unicode_ascii_bit = 6,
		.unicode_ascii_data = 48,
		.unicode_compact_data = 72,
		.bytes_size = 16,
		.bytes_data = 32,
	},
	/*
	 * 3.12.1, from libpython3.12.so.1.0
	 * by tools/gen-layout-row.
	 * cksum 112..144: co_filename, co_name, co_qualname, co_linetable
	 */
	{
		.major = 3, .minor = 12,
		.runtime_interp_head = 40,
		.interp_next = 0,
		.interp_tstate_head = 72,
		.tstate_next = 8,
		.tstate_interp = 16,
		.tstate_frame = 56,
		.cframe_frame = 0,
		.tstate_thread_id = 136,
		.tstate_native_thread_id = 144,
		.runtime_gil = -1,
		.interp_gil_ptr = 384,
		.gil_locked = 16,
		.gil_holder = 8,
		.tstate_status = -1,
		.gil_size = 208,
		.frame_back = 8,
		.frame_code = 0,
		.frame_instr = 56,
		.frame_owner = 70,
		.owner_skip_min = 3,
		.instr_kind = PY_INSTR_POINTER,
		.frame_is_entry = -1,
		.cframe_previous = -1,
		.code_filename = 112,
		.code_name = 120,
		.code_qualname = 128,
		.code_firstlineno = 68,
		.code_linetable = 136,
		.code_adaptive = 192,
		.code_cksum = 112,
		.linetable_kind = PY_LT_LOCATIONS_311,
		.str_kind = PY_STR_UNICODE,
		.unicode_length = 16,
		.unicode_state = 32,
		.unicode_kind_shift = 2,
		.unicode_compact_bit = 5,
		.unicode_ascii_bit = 6,
		.unicode_ascii_data = 40,
		.unicode_compact_data = 56,
		.bytes_size = 16,
		.bytes_data = 32,
	},
	/*
	 * 3.13.0, from libpython3.13.so.1.0
	 * by tools/gen-layout-row.
	 * cksum 112..144: co_filename, co_name, co_qualname, co_linetable
	 */
	{
		.major = 3, .minor = 13,
		.runtime_interp_head = 632,
		.interp_next = 7264,
		.interp_tstate_head = 7344,
		.tstate_next = 8,
		.tstate_interp = 16,
		.tstate_frame = 72,
		.cframe_frame = -1,
		.tstate_thread_id = 152,
		.tstate_native_thread_id = 160,
		.runtime_gil = -1,
		.interp_gil_ptr = 16,
		.gil_locked = 16,
		.gil_holder = 8,
		.tstate_status = -1,
		.gil_size = 208,
		.frame_back = 8,
		.frame_code = 0,
		.frame_instr = 56,
		.frame_owner = 70,
		.owner_skip_min = 3,
		.instr_kind = PY_INSTR_POINTER,
		.frame_is_entry = -1,
		.cframe_previous = -1,
		.code_filename = 112,
		.code_name = 120,
		.code_qualname = 128,
		.code_firstlineno = 68,
		.code_linetable = 136,
		.code_adaptive = 200,
		.code_cksum = 112,
		.linetable_kind = PY_LT_LOCATIONS_311,
		.str_kind = PY_STR_UNICODE,
		.unicode_length = 16,
		.unicode_state = 32,
		.unicode_kind_shift = 2,
		.unicode_compact_bit = 5,
		.unicode_ascii_bit = 6,
		.unicode_ascii_data = 40,
		.unicode_compact_data = 56,
		.bytes_size = 16,
		.bytes_data = 32,
	},
};

const struct py_layout *py_layout__find(int major, int minor)
{
	size_t i;

	for (i = 0; i < sizeof(py_layouts) / sizeof(py_layouts[0]); i++) {
		if (py_layouts[i].major == major && py_layouts[i].minor == minor)
			return &py_layouts[i];
	}
	return NULL;
}
