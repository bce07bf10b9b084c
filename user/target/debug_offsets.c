// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * _Py_DebugOffsets (CPython 3.13+) -> struct py_layout.
 *
 * The struct is a run of uint64_t groups whose order and membership
 * change with each minor version; CPython only promises stability
 * within one. So we mirror the layout of each known minor below (from
 * the CPython headers: 3.13 Include/internal/pycore_runtime.h at
 * v3.13.0, 3.14 and 3.15 Include/internal/pycore_debug_offsets.h at
 * v3.14.0 and on the 3.15 branch at v3.15.0rc1), turn each mirror into
 * a table of byte positions, and read the buffer through that table.
 * Nothing is trusted: every offset we keep must fall inside the struct
 * size the target claims for it and fit our bounds.
 *
 * Adding a minor version: if its _Py_DebugOffsets is unchanged from the
 * previous one, only widen the accepted range in dbg_layout_for(); if
 * it changed, add a mirror and a table for it. Then recheck the
 * per-minor constants in dbg_constants().
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "debug_offsets.h"
#include "pybpfprof.h"	/* enum py_instr_kind */

/* --- mirrors of _Py_DebugOffsets, one per layout --------------------- */

struct dbg_runtime {
	__u64 size, finalizing, interpreters_head;
};

struct dbg_interp_313 {
	__u64 size, id, next, threads_head, gc, imports_modules, sysdict,
	      builtins, ceval_gil, gil_runtime_state,
	      gil_runtime_state_enabled, gil_runtime_state_locked,
	      gil_runtime_state_holder;
};

/* 3.14 adds threads_main and the two generation counters. */
struct dbg_interp_314 {
	__u64 size, id, next, threads_head, threads_main, gc,
	      imports_modules, sysdict, builtins, ceval_gil,
	      gil_runtime_state, gil_runtime_state_enabled,
	      gil_runtime_state_locked, gil_runtime_state_holder,
	      code_object_generation, tlbc_generation;
};

struct dbg_tstate_313 {
	__u64 size, prev, next, interp, current_frame, thread_id,
	      native_thread_id, datastack_chunk, status;
};

/* 3.15 inserts frame-cache fields before thread_id and GIL fields after. */
struct dbg_tstate_315 {
	__u64 size, prev, next, interp, current_frame, base_frame,
	      last_profiled_frame, last_profiled_frame_seq, thread_id,
	      native_thread_id, datastack_chunk, status, holds_gil,
	      gil_requested, current_exception, exc_state;
};

struct dbg_frame_313 {
	__u64 size, previous, executable, instr_ptr, localsplus, owner;
};

struct dbg_frame_314 {
	__u64 size, previous, executable, instr_ptr, localsplus, owner,
	      stackpointer, tlbc_index;
};

struct dbg_code_313 {
	__u64 size, filename, name, qualname, linetable, firstlineno,
	      argcount, localsplusnames, localspluskinds, co_code_adaptive;
};

struct dbg_code_314 {
	__u64 size, filename, name, qualname, linetable, firstlineno,
	      argcount, localsplusnames, localspluskinds, co_code_adaptive,
	      co_tlbc;
};

struct dbg_type_313 {
	__u64 size, tp_name, tp_repr, tp_flags;
};

struct dbg_type_315 {
	__u64 size, tp_name, tp_repr, tp_flags, tp_basicsize, tp_dictoffset;
};

struct dbg_unicode_313 {
	__u64 size, state, length, asciiobject_size;
};

struct dbg_unicode_315 {
	__u64 size, state, length, asciiobject_size,
	      compactunicodeobject_size;
};

struct dbg_gc_313 {
	__u64 size, collecting;
};

struct dbg_gc_315 {
	__u64 size, collecting, frame, generation_stats_size,
	      generation_stats;
};

struct dbg_pyobject { __u64 size, ob_type; };
struct dbg_heap_type { __u64 size, ht_cached_keys; };
struct dbg_varobj { __u64 size, ob_item, ob_size; };	/* tuple, list */
struct dbg_set { __u64 size, used, table, mask; };
struct dbg_dict { __u64 size, ma_keys, ma_values; };
struct dbg_float { __u64 size, ob_fval; };
struct dbg_long { __u64 size, lv_tag, ob_digit; };
struct dbg_bytes { __u64 size, ob_size, ob_sval; };
struct dbg_gen { __u64 size, gi_name, gi_iframe, gi_frame_state; };
struct dbg_llist { __u64 next, prev; };
struct dbg_debugger {
	__u64 eval_breaker, remote_debugger_support,
	      remote_debugging_enabled, debugger_pending_call,
	      debugger_script_path, debugger_script_path_size;
};
struct dbg_err_stackitem { __u64 exc_value; };

#define DBG_HEAD			\
	char cookie[8];			\
	__u64 version;			\
	__u64 free_threaded;		\
	struct dbg_runtime runtime_state

struct dbg_off_313 {
	DBG_HEAD;
	struct dbg_interp_313 interpreter_state;
	struct dbg_tstate_313 thread_state;
	struct dbg_frame_313 interpreter_frame;
	struct dbg_code_313 code_object;
	struct dbg_pyobject pyobject;
	struct dbg_type_313 type_object;
	struct dbg_varobj tuple_object;
	struct dbg_varobj list_object;
	struct dbg_dict dict_object;
	struct dbg_float float_object;
	struct dbg_long long_object;
	struct dbg_bytes bytes_object;
	struct dbg_unicode_313 unicode_object;
	struct dbg_gc_313 gc;
};

struct dbg_off_314 {
	DBG_HEAD;
	struct dbg_interp_314 interpreter_state;
	struct dbg_tstate_313 thread_state;
	struct dbg_frame_314 interpreter_frame;
	struct dbg_code_314 code_object;
	struct dbg_pyobject pyobject;
	struct dbg_type_313 type_object;
	struct dbg_varobj tuple_object;
	struct dbg_varobj list_object;
	struct dbg_set set_object;
	struct dbg_dict dict_object;
	struct dbg_float float_object;
	struct dbg_long long_object;
	struct dbg_bytes bytes_object;
	struct dbg_unicode_313 unicode_object;
	struct dbg_gc_313 gc;
	struct dbg_gen gen_object;
	struct dbg_llist llist_node;
	struct dbg_debugger debugger_support;
};

struct dbg_off_315 {
	DBG_HEAD;
	struct dbg_interp_314 interpreter_state;
	struct dbg_tstate_315 thread_state;
	struct dbg_err_stackitem err_stackitem;
	struct dbg_frame_314 interpreter_frame;
	struct dbg_code_314 code_object;
	struct dbg_pyobject pyobject;
	struct dbg_type_315 type_object;
	struct dbg_heap_type heap_type_object;
	struct dbg_varobj tuple_object;
	struct dbg_varobj list_object;
	struct dbg_set set_object;
	struct dbg_dict dict_object;
	struct dbg_float float_object;
	struct dbg_long long_object;
	struct dbg_bytes bytes_object;
	struct dbg_unicode_315 unicode_object;
	struct dbg_gc_315 gc;
	struct dbg_gen gen_object;
	struct dbg_llist llist_node;
	struct dbg_debugger debugger_support;
};

/* The mirrors must match CPython byte for byte: all-u64, no padding. */
_Static_assert(sizeof(struct dbg_off_313) == 584, "3.13 _Py_DebugOffsets");
_Static_assert(sizeof(struct dbg_off_314) == 760, "3.14 _Py_DebugOffsets");
_Static_assert(sizeof(struct dbg_off_315) == 888, "3.15 _Py_DebugOffsets");
_Static_assert(sizeof(struct dbg_off_315) <= DEBUG_OFFSETS_READ_SIZE,
	       "DEBUG_OFFSETS_READ_SIZE too small");

/* --- where each value sits in the buffer, per layout ----------------- */

/* Byte positions inside _Py_DebugOffsets of the values we use. */
struct dbg_layout {
	size_t total;		/* sizeof(_Py_DebugOffsets) */
	size_t rt_size, rt_interp_head;
	size_t is_size, is_next, is_threads_head;
	size_t is_ceval_gil, is_gil_state, is_gil_locked, is_gil_holder;
	size_t ts_size, ts_next, ts_interp, ts_current_frame, ts_thread_id,
	       ts_native_thread_id, ts_status;
	size_t fr_size, fr_previous, fr_executable, fr_instr_ptr, fr_owner;
	size_t co_size, co_filename, co_name, co_qualname, co_linetable,
	       co_firstlineno, co_adaptive;
	size_t by_size, by_ob_size, by_ob_sval;
	size_t un_size, un_state, un_length, un_ascii_size;
	size_t un_compact_size;	/* 0: absent (before 3.15) */
	size_t fr_tlbc_index;	/* 0: absent (3.13) */
	size_t co_tlbc;		/* 0: absent (3.13) */
};

#define DBG_LAYOUT(T)							\
	.total = sizeof(T),						\
	.rt_size = offsetof(T, runtime_state.size),			\
	.rt_interp_head = offsetof(T, runtime_state.interpreters_head),	\
	.is_size = offsetof(T, interpreter_state.size),			\
	.is_next = offsetof(T, interpreter_state.next),			\
	.is_threads_head = offsetof(T, interpreter_state.threads_head),	\
	.is_ceval_gil = offsetof(T, interpreter_state.ceval_gil),	\
	.is_gil_state = offsetof(T, interpreter_state.gil_runtime_state), \
	.is_gil_locked = offsetof(T, interpreter_state.gil_runtime_state_locked), \
	.is_gil_holder = offsetof(T, interpreter_state.gil_runtime_state_holder), \
	.ts_size = offsetof(T, thread_state.size),			\
	.ts_next = offsetof(T, thread_state.next),			\
	.ts_interp = offsetof(T, thread_state.interp),			\
	.ts_current_frame = offsetof(T, thread_state.current_frame),	\
	.ts_thread_id = offsetof(T, thread_state.thread_id),		\
	.ts_native_thread_id = offsetof(T, thread_state.native_thread_id), \
	.ts_status = offsetof(T, thread_state.status),			\
	.fr_size = offsetof(T, interpreter_frame.size),			\
	.fr_previous = offsetof(T, interpreter_frame.previous),		\
	.fr_executable = offsetof(T, interpreter_frame.executable),	\
	.fr_instr_ptr = offsetof(T, interpreter_frame.instr_ptr),	\
	.fr_owner = offsetof(T, interpreter_frame.owner),		\
	.co_size = offsetof(T, code_object.size),			\
	.co_filename = offsetof(T, code_object.filename),		\
	.co_name = offsetof(T, code_object.name),			\
	.co_qualname = offsetof(T, code_object.qualname),		\
	.co_linetable = offsetof(T, code_object.linetable),		\
	.co_firstlineno = offsetof(T, code_object.firstlineno),		\
	.co_adaptive = offsetof(T, code_object.co_code_adaptive),	\
	.by_size = offsetof(T, bytes_object.size),			\
	.by_ob_size = offsetof(T, bytes_object.ob_size),		\
	.by_ob_sval = offsetof(T, bytes_object.ob_sval),		\
	.un_size = offsetof(T, unicode_object.size),			\
	.un_state = offsetof(T, unicode_object.state),			\
	.un_length = offsetof(T, unicode_object.length),		\
	.un_ascii_size = offsetof(T, unicode_object.asciiobject_size)

static const struct dbg_layout dbg_layout_313 = {
	DBG_LAYOUT(struct dbg_off_313),
};

static const struct dbg_layout dbg_layout_314 = {
	DBG_LAYOUT(struct dbg_off_314),
	.fr_tlbc_index = offsetof(struct dbg_off_314, interpreter_frame.tlbc_index),
	.co_tlbc = offsetof(struct dbg_off_314, code_object.co_tlbc),
};

static const struct dbg_layout dbg_layout_315 = {
	DBG_LAYOUT(struct dbg_off_315),
	.un_compact_size =
		offsetof(struct dbg_off_315, unicode_object.compactunicodeobject_size),
	.fr_tlbc_index = offsetof(struct dbg_off_315, interpreter_frame.tlbc_index),
	.co_tlbc = offsetof(struct dbg_off_315, code_object.co_tlbc),
};

static const struct dbg_layout *dbg_layout_for(unsigned int minor)
{
	switch (minor) {
	case 13:
		return &dbg_layout_313;
	case 14:
		return &dbg_layout_314;
	case 15:
		/*
		 * main (3.16.0a0) still has this struct, but an alpha may
		 * change it any day: add 16 here once 3.16 is in beta
		 * with the struct unchanged.
		 */
		return &dbg_layout_315;
	default:
		return NULL;
	}
}

/* --- bounds -------------------------------------------------------- */

/*
 * Largest struct size we believe. Frames, code objects, thread states
 * and str/bytes headers are a few hundred bytes; PyInterpreterState
 * and _PyRuntimeState are hundreds of KiB, and the interpreter's
 * 'next' and 'threads.head' already sit past 7 KiB on 3.13 (after the
 * pending-calls array), so those two get a wider bound. Every offset we
 * keep must also fit the __s16 fields of struct py_layout.
 */
#define DBG_SMALL_STRUCT_MAX 4096
#define DBG_BIG_STRUCT_MAX (16u << 20)
#define DBG_OFFSET_MAX INT16_MAX

static __u64 dbg_u64(const unsigned char *buf, size_t pos)
{
	__u64 v;

	memcpy(&v, buf + pos, sizeof(v));	/* buf need not be aligned */
	return v;
}

/* The claimed size of a struct: non-zero and at most @max. */
static int dbg_size(const unsigned char *buf, size_t pos, __u64 max,
		    __u64 *size)
{
	*size = dbg_u64(buf, pos);
	if (*size == 0 || *size > max)
		return -EINVAL;
	return 0;
}

/* A field of @width bytes at the offset stored at @pos, inside @size. */
static int dbg_field(const unsigned char *buf, size_t pos, __u64 width,
		     __u64 size, __s16 *out)
{
	__u64 off = dbg_u64(buf, pos);

	if (off > DBG_OFFSET_MAX || off + width > size)
		return -EINVAL;
	*out = (__s16)off;
	return 0;
}

/* Do [a, a + aw) and [b, b + bw) share a byte? */
static bool dbg_overlap(int a, int aw, int b, int bw)
{
	return a < b + bw && b < a + aw;
}

/* --- what the debug offsets do not say ----------------------------- */

/*
 * Per minor version, from the CPython headers of that version:
 *  - frames owned by the C stack (3.13: FRAME_OWNED_BY_CSTACK = 3) or
 *    the interpreter (3.14: INTERPRETER = 3, CSTACK = 4; 3.15:
 *    INTERPRETER = 3, CSTACK gone) are not Python frames: skip >= 3;
 *  - instr_ptr is a _Py_CODEUNIT pointer, line tables are 3.11-style
 *    location tables;
 *  - PyASCIIObject.state: 'interned:2, kind:3, compact:1, ascii:1' on
 *    default builds; 3.14+ free-threaded builds make 'interned' a whole
 *    unsigned char, which moves kind/compact/ascii up by 6 bits
 *    (3.13t still has the bitfield);
 *  - PyCompactUnicodeObject is PyASCIIObject plus utf8_length and utf8
 *    (16 bytes) since 3.12; 3.15 states its size itself.
 * 3.14's f_executable is a tagged _PyStackRef: the offset is the same,
 * masking the tag bits is the reader's job (py_proc_info.code_ptr_mask).
 */
static void dbg_constants(unsigned int minor, bool ft, struct py_layout *l)
{
	unsigned int shift = (ft && minor >= 14) ? 6 : 0;

	l->cframe_frame = -1;
	l->owner_skip_min = 3;
	l->instr_kind = PY_INSTR_POINTER;
	l->linetable_kind = PY_LT_LOCATIONS_311;
	l->str_kind = PY_STR_UNICODE;
	l->unicode_kind_shift = 2 + shift;
	l->unicode_compact_bit = 5 + shift;
	l->unicode_ascii_bit = 6 + shift;
}

/*
 * The GIL: ceval.gil (a pointer in PyInterpreterState) and where the
 * lock flag and the holder sit, given relative to the interpreter's own
 * _gil: made relative to the GIL struct here, since ceval.gil may point
 * at another interpreter's (shared) one. Its size is not stated: the
 * default build's struct _gil_runtime_state is 208 bytes on glibc
 * x86-64 (two pthread conds and two mutexes after four words; the same
 * from 3.7 to 3.13 by DWARF), free-threaded builds add an int 'enabled'
 * in front. 0 sizes and -1 offsets mean "not known".
 */
static void dbg_gil(const unsigned char *b, const struct dbg_layout *d, __u64 is_size, bool ft,
		    struct py_layout *l)
{
	__u64 ptr = dbg_u64(b, d->is_ceval_gil), state = dbg_u64(b, d->is_gil_state);
	__u64 locked = dbg_u64(b, d->is_gil_locked), holder = dbg_u64(b, d->is_gil_holder);

	l->runtime_gil = -1;
	l->interp_gil_ptr = -1;
	l->gil_locked = l->gil_holder = -1;
	l->gil_size = 0;
	if (ptr + 8 > is_size || ptr > DBG_OFFSET_MAX || locked < state || holder < state ||
	    locked - state + 4 > 256 || holder - state + 8 > 256)
		return;
	l->interp_gil_ptr = (__s16)ptr;
	l->gil_locked = (__s16)(locked - state);
	l->gil_holder = (__s16)(holder - state);
	l->gil_size = ft ? 216 : 208;
}

/* --- the parser ------------------------------------------------------ */

int debug_offsets__parse(const void *buf, size_t len, struct py_layout *out,
			 __u32 *version_hex, bool *free_threaded)
{
	const unsigned char *b = buf;
	const struct dbg_layout *d;
	struct py_layout l;
	__u64 version, ft;
	__u64 rt_size, is_size, ts_size, fr_size, co_size, by_size, un_size;
	__u64 ascii_size, compact_size;
	unsigned int major, minor;
	int err = 0;

	if (!buf || !out || len < offsetof(struct dbg_off_313, runtime_state))
		return -EINVAL;
	if (memcmp(b, DEBUG_OFFSETS_COOKIE, DEBUG_OFFSETS_COOKIE_LEN))
		return -EINVAL;

	version = dbg_u64(b, offsetof(struct dbg_off_313, version));
	ft = dbg_u64(b, offsetof(struct dbg_off_313, free_threaded));
	if (version >> 32 || ft > 1)
		return -EINVAL;
	if (version_hex)
		*version_hex = (__u32)version;
	if (free_threaded)
		*free_threaded = ft;

	major = (version >> 24) & 0xff;
	minor = (version >> 16) & 0xff;
	if (major != 3)
		return -ENOTSUP;
	d = dbg_layout_for(minor);
	if (!d)
		return -ENOTSUP;
	if (len < d->total)
		return -EINVAL;

	memset(&l, 0, sizeof(l));
	l.major = major;
	l.minor = minor;
	l.frame_is_entry = -1;	/* 3.11 only: 3.13+ have entry shim frames */
	l.cframe_previous = -1;

	err |= dbg_size(b, d->rt_size, DBG_BIG_STRUCT_MAX, &rt_size);
	err |= dbg_size(b, d->is_size, DBG_BIG_STRUCT_MAX, &is_size);
	err |= dbg_size(b, d->ts_size, DBG_SMALL_STRUCT_MAX, &ts_size);
	err |= dbg_size(b, d->fr_size, DBG_SMALL_STRUCT_MAX, &fr_size);
	err |= dbg_size(b, d->co_size, DBG_SMALL_STRUCT_MAX, &co_size);
	err |= dbg_size(b, d->by_size, DBG_SMALL_STRUCT_MAX, &by_size);
	err |= dbg_size(b, d->un_size, DBG_SMALL_STRUCT_MAX, &un_size);
	if (err)
		return -EINVAL;

	/* Pointers and thread ids are 8 bytes, owner 1, int fields 4. */
	err |= dbg_field(b, d->rt_interp_head, 8, rt_size, &l.runtime_interp_head);
	dbg_gil(b, d, is_size, ft, &l);
	/* _status: a 4-byte bitfield word (active, holds_gil, ...). */
	if (dbg_field(b, d->ts_status, 4, ts_size, &l.tstate_status))
		l.tstate_status = -1;
	err |= dbg_field(b, d->is_next, 8, is_size, &l.interp_next);
	err |= dbg_field(b, d->is_threads_head, 8, is_size, &l.interp_tstate_head);
	err |= dbg_field(b, d->ts_next, 8, ts_size, &l.tstate_next);
	err |= dbg_field(b, d->ts_interp, 8, ts_size, &l.tstate_interp);
	err |= dbg_field(b, d->ts_current_frame, 8, ts_size, &l.tstate_frame);
	err |= dbg_field(b, d->ts_thread_id, 8, ts_size, &l.tstate_thread_id);
	err |= dbg_field(b, d->ts_native_thread_id, 8, ts_size,
			 &l.tstate_native_thread_id);
	err |= dbg_field(b, d->fr_previous, 8, fr_size, &l.frame_back);
	err |= dbg_field(b, d->fr_executable, 8, fr_size, &l.frame_code);
	err |= dbg_field(b, d->fr_instr_ptr, 8, fr_size, &l.frame_instr);
	err |= dbg_field(b, d->fr_owner, 1, fr_size, &l.frame_owner);
	err |= dbg_field(b, d->co_filename, 8, co_size, &l.code_filename);
	err |= dbg_field(b, d->co_name, 8, co_size, &l.code_name);
	err |= dbg_field(b, d->co_qualname, 8, co_size, &l.code_qualname);
	err |= dbg_field(b, d->co_firstlineno, 4, co_size, &l.code_firstlineno);
	err |= dbg_field(b, d->co_linetable, 8, co_size, &l.code_linetable);
	err |= dbg_field(b, d->co_adaptive, 1, co_size, &l.code_adaptive);
	err |= dbg_field(b, d->by_ob_size, 8, by_size, &l.bytes_size);
	err |= dbg_field(b, d->by_ob_sval, 1, by_size, &l.bytes_data);
	err |= dbg_field(b, d->un_state, 4, un_size, &l.unicode_state);
	err |= dbg_field(b, d->un_length, 8, un_size, &l.unicode_length);
	if (err)
		return -EINVAL;

	/*
	 * Checksum window: co_filename, co_name, co_qualname, co_linetable,
	 * the four pointers userspace follows, in that order on 3.11-3.15,
	 * default and free-threaded alike (see cpython_layouts.c for why
	 * not the int counts). Anything else and the layout is refused.
	 */
	l.code_cksum = l.code_filename;
	if (l.code_name != l.code_filename + 8 || l.code_qualname != l.code_filename + 16 ||
	    l.code_linetable != l.code_filename + 24 ||
	    dbg_overlap(l.code_cksum, 32, l.code_adaptive, 1) ||
	    dbg_overlap(l.code_firstlineno, 4, l.code_cksum, 32) ||
	    dbg_overlap(l.code_firstlineno, 4, l.code_adaptive, 1))
		return -EINVAL;

	/* Compact ASCII data follows PyASCIIObject, which holds state. */
	ascii_size = dbg_u64(b, d->un_ascii_size);
	if (ascii_size > un_size ||
	    ascii_size < (__u64)l.unicode_state + 4 ||
	    ascii_size < (__u64)l.unicode_length + 8)
		return -EINVAL;
	if (d->un_compact_size) {
		compact_size = dbg_u64(b, d->un_compact_size);
		if (compact_size < ascii_size || compact_size > un_size)
			return -EINVAL;
	} else {
		compact_size = ascii_size + 16;
	}
	l.unicode_ascii_data = ascii_size;
	l.unicode_compact_data = compact_size;

	/* The frame fields the walker reads must be distinct. */
	if (dbg_overlap(l.frame_back, 8, l.frame_code, 8) ||
	    dbg_overlap(l.frame_back, 8, l.frame_instr, 8) ||
	    dbg_overlap(l.frame_back, 8, l.frame_owner, 1) ||
	    dbg_overlap(l.frame_code, 8, l.frame_instr, 8) ||
	    dbg_overlap(l.frame_code, 8, l.frame_owner, 1) ||
	    dbg_overlap(l.frame_instr, 8, l.frame_owner, 1))
		return -EINVAL;

	/*
	 * Thread-local bytecode (free-threaded 3.14+): instr_ptr points
	 * into co_tlbc->entries[tlbc_index]. Default builds describe both
	 * fields as 0, so does a free-threaded build with neither; a
	 * free-threaded build must describe both or none.
	 */
	if (ft && d->fr_tlbc_index && d->co_tlbc &&
	    (dbg_u64(b, d->fr_tlbc_index) || dbg_u64(b, d->co_tlbc))) {
		if (dbg_field(b, d->fr_tlbc_index, 4, fr_size, &l.frame_tlbc) ||
		    dbg_field(b, d->co_tlbc, 8, co_size, &l.code_tlbc) ||
		    !l.frame_tlbc || !l.code_tlbc ||
		    dbg_overlap(l.frame_tlbc, 4, l.frame_back, 8) ||
		    dbg_overlap(l.frame_tlbc, 4, l.frame_code, 8) ||
		    dbg_overlap(l.frame_tlbc, 4, l.frame_instr, 8) ||
		    dbg_overlap(l.frame_tlbc, 4, l.frame_owner, 1) ||
		    dbg_overlap(l.code_tlbc, 8, l.code_cksum, 32) ||
		    dbg_overlap(l.code_tlbc, 8, l.code_adaptive, 1))
			return -EINVAL;
	}

	dbg_constants(minor, ft, &l);
	*out = l;
	return 0;
}
