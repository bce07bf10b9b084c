/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where CPython keeps what we read, per minor version. The one place
 * that knows struct offsets: user/cpython_layouts.c holds a row per
 * version, user/debug_offsets.c fills a row from a 3.13+ interpreter's
 * own _Py_DebugOffsets. Offsets in bytes, x86-64; -1 = absent.
 */
#ifndef __CPYTHON_LAYOUT_H
#define __CPYTHON_LAYOUT_H

#include <linux/types.h>
#include "linetable.h"

enum py_str_kind {
	PY_STR_UNICODE = 0,	/* PEP 393 compact str (3.3+) */
	PY_STR_BYTES = 1,	/* PyStringObject (2.7) */
};

struct py_layout {
	int major, minor;

	/* _PyRuntimeState (3.7+): offsetof(interpreters.head) */
	__s16 runtime_interp_head;

	/* PyInterpreterState */
	__s16 interp_next;
	__s16 interp_tstate_head;	/* tstate_head / threads.head */

	/* PyThreadState */
	__s16 tstate_next;
	__s16 tstate_interp;
	__s16 tstate_frame;		/* frame (<=3.10), cframe (3.11-3.12), current_frame (3.13+) */
	__s16 cframe_frame;		/* _PyCFrame.current_frame (3.11-3.12), else -1 */
	__s16 tstate_thread_id;
	__s16 tstate_native_thread_id;	/* 3.11+, else -1 */

	/*
	 * The GIL (3.7+; -1 when not known: 2.7, 3.6 keep it in statics).
	 * 3.7-3.11: struct _gil_runtime_state embedded in _PyRuntime.ceval;
	 * 3.12+: PyInterpreterState.ceval.gil points at it (one per
	 * interpreter, or the main one's, shared). 'holder' only means
	 * something while 'locked' is set.
	 */
	__s32 runtime_gil;		/* offsetof(_PyRuntimeState, ceval.gil) */
	__s16 interp_gil_ptr;		/* offsetof(PyInterpreterState, ceval.gil) */
	__s16 gil_locked;		/* in the GIL struct: int locked */
	__s16 gil_holder;		/* PyThreadState *last_holder */
	__u16 gil_size;			/* sizeof: its futexes lie inside */
	__s16 tstate_status;		/* 3.13+ PyThreadState._status word, else -1 */

	/* PyFrameObject (<=3.10) / _PyInterpreterFrame (3.11+) */
	__s16 frame_back;		/* f_back / previous */
	__s16 frame_code;		/* f_code / f_executable */
	__s16 frame_instr;		/* f_lasti / prev_instr / instr_ptr */
	__s16 frame_owner;		/* 1-byte owner (3.12+), else -1 */
	/*
	 * Free-threaded 3.14+ only: the int32 index of the thread-local
	 * copy of the bytecode that instr_ptr points into (0: the code
	 * object's own co_code_adaptive). 0 = absent, as in CPython's own
	 * _Py_DebugOffsets of a default build: offset 0 is f_executable.
	 */
	__s16 frame_tlbc;
	__u8 owner_skip_min;		/* skip frames with owner >= this */
	__u8 instr_kind;		/* enum py_instr_kind */
	/*
	 * 3.11 only (--native): the 1-byte is_entry of the first frame an
	 * eval loop call runs, and _PyCFrame.previous, the caller's
	 * _PyCFrame on the C stack. -1 elsewhere.
	 */
	__s16 frame_is_entry;
	__s16 cframe_previous;

	/* PyCodeObject */
	__s16 code_filename;
	__s16 code_name;
	__s16 code_qualname;		/* 3.11+, else -1 */
	__s16 code_firstlineno;
	__s16 code_linetable;		/* co_lnotab (<=3.9) / co_linetable (3.10+) */
	__s16 code_adaptive;		/* co_code_adaptive (3.11+), else -1 */
	__s16 code_tlbc;		/* co_tlbc, _PyCodeArray * (3.14t+); 0 = absent */
	__s16 code_cksum;		/* 32 immutable bytes hashed into the checksum */
	__u8 linetable_kind;		/* enum py_linetable_kind */

	/* str / bytes */
	__u8 str_kind;			/* enum py_str_kind */
	__s16 unicode_length;		/* PyASCIIObject.length */
	__s16 unicode_state;		/* PyASCIIObject.state (4 bytes of bitfields) */
	__u8 unicode_kind_shift;	/* state bit of 'kind' (3 bits) */
	__u8 unicode_compact_bit;	/* state bit of 'compact' */
	__u8 unicode_ascii_bit;		/* state bit of 'ascii' */
	__s16 unicode_ascii_data;	/* sizeof(PyASCIIObject) */
	__s16 unicode_compact_data;	/* sizeof(PyCompactUnicodeObject) */
	__s16 bytes_size;		/* PyBytesObject/PyStringObject ob_size */
	__s16 bytes_data;		/* ob_sval */
};

/* The built-in row for @major.@minor, or NULL when there is none. */
const struct py_layout *py_layout__find(int major, int minor);

#endif /* __CPYTHON_LAYOUT_H */
