// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A stand-in for a free-threaded CPython 3.14 ("3.14t") process, for
 * tests/freethreaded.bats when no real 3.14t interpreter is built.
 *
 * It holds what the profiler reads, laid out as a 3.14t build lays it
 * out (Include/internal/pycore_debug_offsets.h, pycore_interpframe_structs.h,
 * cpython/code.h, object.h and unicodeobject.h with Py_GIL_DISABLED):
 *  - _PyRuntime in a .PyRuntime section, starting with _Py_DebugOffsets
 *    (version 3.14.0, free_threaded = 1, co_tlbc and tlbc_index set);
 *  - one interpreter whose thread list has the main thread and two
 *    workers, each with thread_id = pthread_self();
 *  - per thread a chain of _PyInterpreterFrames whose f_executable is a
 *    tagged _PyStackRef (Py_TAG_DEFERRED), with interpreter-owned entry
 *    frames (owner 3, f_executable = &_Py_NoneStruct | 1) to skip;
 *  - code objects with the free-threaded object header (32 bytes), str
 *    objects whose state keeps 'interned' in a whole byte, 3.11+
 *    location tables, and a co_tlbc array.
 * The main thread's frames point into co_code_adaptive (tlbc_index 0);
 * worker N's frames point into its own copy of the bytecode,
 * co_tlbc->entries[N], mapped far from the code objects, as a real
 * 3.14t does once a second thread runs a function.
 *
 * Every thread spins on the CPU until SECONDS have passed.
 * usage: fake_py314t SECONDS
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define NWORKERS 2
#define NUNITS 16		/* code units per code object */
#define TAG_DEFERRED 1ULL	/* Py_TAG_DEFERRED */
#define OWNED_BY_THREAD 0
#define OWNED_BY_INTERPRETER 3	/* entry frames, 3.14 */

/* ---- object headers, free-threaded ---------------------------------- */

struct ft_object {
	uint64_t ob_tid;
	uint16_t ob_flags;
	uint8_t ob_mutex;
	uint8_t ob_gc_bits;
	uint32_t ob_ref_local;
	int64_t ob_ref_shared;
	void *ob_type;
};

struct ft_varobject {
	struct ft_object ob_base;
	int64_t ob_size;
};

/* PyASCIIObject: state is 'unsigned char interned' then kind:3, compact:1, ascii:1. */
struct ft_ascii {
	struct ft_object ob_base;
	int64_t length;
	int64_t hash;
	uint32_t state;
	uint32_t pad;
};

struct ft_compact {
	struct ft_ascii base;
	int64_t utf8_length;
	char *utf8;
};

#define STATE(kind, compact, ascii) \
	((uint32_t)(kind) << 8 | (uint32_t)(compact) << 11 | (uint32_t)(ascii) << 12)

struct ft_str {		/* a compact str with room for its data */
	struct ft_compact h;
	char data[64];
};

struct ft_bytes {
	struct ft_varobject ob_base;
	int64_t ob_shash;
	char ob_sval[64];
};

struct ft_code_array {	/* _PyCodeArray */
	int64_t size;
	char *entries[NWORKERS + 1];
};

struct ft_code {
	struct ft_varobject ob_base;
	void *co_consts, *co_names, *co_exceptiontable;
	int32_t co_flags, co_argcount, co_posonlyargcount, co_kwonlyargcount;
	int32_t co_stacksize, co_firstlineno, co_nlocalsplus, co_framesize;
	int32_t co_nlocals, co_ncellvars, co_nfreevars;
	uint32_t co_version;
	void *co_localsplusnames, *co_localspluskinds;
	struct ft_str *co_filename, *co_name, *co_qualname;
	struct ft_bytes *co_linetable;
	void *co_weakreflist, *co_executors, *_co_cached;
	uint64_t _co_instrumentation_version;
	void *_co_monitoring;
	int64_t _co_unique_id;
	int32_t _co_firsttraceable;
	void *co_extra;
	struct ft_code_array *co_tlbc;
	uint16_t co_code_adaptive[NUNITS];
};

struct ft_frame {	/* _PyInterpreterFrame */
	uint64_t f_executable;
	struct ft_frame *previous;
	uint64_t f_funcobj;
	void *f_globals, *f_builtins, *f_locals, *frame_obj;
	uint16_t *instr_ptr;
	void *stackpointer;
	int32_t tlbc_index;
	uint16_t return_offset;
	char owner;
	uint8_t visited;
	uint64_t localsplus[1];
};

_Static_assert(sizeof(struct ft_object) == 32, "free-threaded PyObject");
_Static_assert(offsetof(struct ft_ascii, state) == 48, "PyASCIIObject.state");
_Static_assert(sizeof(struct ft_ascii) == 56, "PyASCIIObject");
_Static_assert(sizeof(struct ft_compact) == 72, "PyCompactUnicodeObject");
_Static_assert(offsetof(struct ft_bytes, ob_sval) == 48, "PyBytesObject.ob_sval");
_Static_assert(offsetof(struct ft_code, co_argcount) == 68, "co_argcount");
_Static_assert(offsetof(struct ft_code, co_firstlineno) ==
	       offsetof(struct ft_code, co_argcount) + 16, "co_firstlineno");
_Static_assert(offsetof(struct ft_frame, instr_ptr) == 56, "instr_ptr");
_Static_assert(offsetof(struct ft_frame, tlbc_index) == 72, "tlbc_index");
_Static_assert(offsetof(struct ft_frame, owner) == 78, "owner");
_Static_assert(offsetof(struct ft_frame, localsplus) == 80, "localsplus");

struct ft_tstate {	/* PyThreadState, the fields read */
	struct ft_tstate *prev, *next;
	void *interp;
	char pad0[72 - 24];
	struct ft_frame *current_frame;		/* 72 */
	char pad1[152 - 80];
	uint64_t thread_id;			/* 152 */
	uint64_t native_thread_id;		/* 160 */
	void *datastack_chunk;
	char pad2[400 - 176];
};

struct ft_interp {	/* PyInterpreterState, the fields read */
	char pad0[8];
	int64_t id;
	struct ft_interp *next;
	struct ft_tstate *threads_head;
	struct ft_tstate *threads_main;
	char pad1[8192 - 40];
};

/* ---- _Py_DebugOffsets, 3.14 order ----------------------------------- */

struct dbg_314 {
	char cookie[8];
	uint64_t version, free_threaded;
	struct { uint64_t size, finalizing, interpreters_head; } runtime_state;
	struct {
		uint64_t size, id, next, threads_head, threads_main, gc,
			 imports_modules, sysdict, builtins, ceval_gil,
			 gil_runtime_state, gil_runtime_state_enabled,
			 gil_runtime_state_locked, gil_runtime_state_holder,
			 code_object_generation, tlbc_generation;
	} interpreter_state;
	struct {
		uint64_t size, prev, next, interp, current_frame, thread_id,
			 native_thread_id, datastack_chunk, status;
	} thread_state;
	struct {
		uint64_t size, previous, executable, instr_ptr, localsplus,
			 owner, stackpointer, tlbc_index;
	} interpreter_frame;
	struct {
		uint64_t size, filename, name, qualname, linetable,
			 firstlineno, argcount, localsplusnames,
			 localspluskinds, co_code_adaptive, co_tlbc;
	} code_object;
	struct { uint64_t size, ob_type; } pyobject;
	struct { uint64_t size, tp_name, tp_repr, tp_flags; } type_object;
	struct { uint64_t size, ob_item, ob_size; } tuple_object, list_object;
	struct { uint64_t size, used, table, mask; } set_object;
	struct { uint64_t size, ma_keys, ma_values; } dict_object;
	struct { uint64_t size, ob_fval; } float_object;
	struct { uint64_t size, lv_tag, ob_digit; } long_object;
	struct { uint64_t size, ob_size, ob_sval; } bytes_object;
	struct { uint64_t size, state, length, asciiobject_size; } unicode_object;
	struct { uint64_t size, collecting; } gc;
	struct { uint64_t size, gi_name, gi_iframe, gi_frame_state; } gen_object;
	struct { uint64_t next, prev; } llist_node;
	struct {
		uint64_t eval_breaker, remote_debugger_support,
			 remote_debugging_enabled, debugger_pending_call,
			 debugger_script_path, debugger_script_path_size;
	} debugger_support;
};

_Static_assert(sizeof(struct dbg_314) == 760, "3.14 _Py_DebugOffsets");

struct ft_runtime {
	struct dbg_314 debug_offsets;
	char pad0[1024 - sizeof(struct dbg_314)];
	uint64_t finalizing;
	struct ft_interp *interpreters_head;
	char pad1[8192 - 1040];
};

#define OFF(T, f) ((uint64_t)offsetof(T, f))

__attribute__((section(".PyRuntime"), used))
struct ft_runtime _PyRuntime = {
	.debug_offsets = {
		.cookie = "xdebugpy",
		.version = 0x030e00f0,
		.free_threaded = 1,
		.runtime_state = {
			.size = sizeof(struct ft_runtime),
			.finalizing = OFF(struct ft_runtime, finalizing),
			.interpreters_head = OFF(struct ft_runtime, interpreters_head),
		},
		.interpreter_state = {
			.size = sizeof(struct ft_interp),
			.id = OFF(struct ft_interp, id),
			.next = OFF(struct ft_interp, next),
			.threads_head = OFF(struct ft_interp, threads_head),
			.threads_main = OFF(struct ft_interp, threads_main),
		},
		.thread_state = {
			.size = sizeof(struct ft_tstate),
			.prev = OFF(struct ft_tstate, prev),
			.next = OFF(struct ft_tstate, next),
			.interp = OFF(struct ft_tstate, interp),
			.current_frame = OFF(struct ft_tstate, current_frame),
			.thread_id = OFF(struct ft_tstate, thread_id),
			.native_thread_id = OFF(struct ft_tstate, native_thread_id),
			.datastack_chunk = OFF(struct ft_tstate, datastack_chunk),
		},
		.interpreter_frame = {
			.size = offsetof(struct ft_frame, localsplus) + 8,
			.previous = OFF(struct ft_frame, previous),
			.executable = OFF(struct ft_frame, f_executable),
			.instr_ptr = OFF(struct ft_frame, instr_ptr),
			.localsplus = OFF(struct ft_frame, localsplus),
			.owner = OFF(struct ft_frame, owner),
			.stackpointer = OFF(struct ft_frame, stackpointer),
			.tlbc_index = OFF(struct ft_frame, tlbc_index),
		},
		.code_object = {
			.size = sizeof(struct ft_code),
			.filename = OFF(struct ft_code, co_filename),
			.name = OFF(struct ft_code, co_name),
			.qualname = OFF(struct ft_code, co_qualname),
			.linetable = OFF(struct ft_code, co_linetable),
			.firstlineno = OFF(struct ft_code, co_firstlineno),
			.argcount = OFF(struct ft_code, co_argcount),
			.localsplusnames = OFF(struct ft_code, co_localsplusnames),
			.localspluskinds = OFF(struct ft_code, co_localspluskinds),
			.co_code_adaptive = OFF(struct ft_code, co_code_adaptive),
			.co_tlbc = OFF(struct ft_code, co_tlbc),
		},
		.pyobject = { .size = 32, .ob_type = 24 },
		.bytes_object = {
			.size = 56,
			.ob_size = OFF(struct ft_bytes, ob_base.ob_size),
			.ob_sval = OFF(struct ft_bytes, ob_sval),
		},
		.unicode_object = {
			.size = 80,
			.state = OFF(struct ft_ascii, state),
			.length = OFF(struct ft_ascii, length),
			.asciiobject_size = sizeof(struct ft_ascii),
		},
	},
};

struct ft_object _Py_NoneStruct;

/* ---- the program the stacks pretend to run ------------------------- */

enum { F_MODULE, F_MAIN, F_THREAD_MAIN, F_OUTER, F_MIDDLE, F_LEAF, NFUNCS };

static const struct {
	const char *qualname;
	int first_line;
} funcs[NFUNCS] = {
	[F_MODULE] = { "<module>", 1 },
	[F_MAIN] = { "main", 10 },
	[F_THREAD_MAIN] = { "thread_main", 20 },
	[F_OUTER] = { "Worker.outer", 30 },
	[F_MIDDLE] = { "Worker.middle", 40 },
	[F_LEAF] = { "Worker.inner_leaf", 50 },
};

/*
 * Latin-1, not ASCII: the file name is a compact str of kind 1 whose
 * data follows PyCompactUnicodeObject, not PyASCIIObject.
 */
static const char file_name[] = "/fake/n\xe9sted.py";

static struct ft_code codes[NFUNCS];
static struct ft_str names[NFUNCS], file;
static struct ft_bytes linetable;
static struct ft_code_array tlbc[NFUNCS];
static struct ft_interp interp;
static struct ft_tstate tstates[NWORKERS + 1];
static volatile int stop;

static void make_str(struct ft_str *s, const char *text, int ascii)
{
	s->h.base.length = strlen(text);
	s->h.base.state = STATE(1, 1, ascii);
	s->h.base.ob_base.ob_ref_local = UINT32_MAX;	/* immortal */
	memcpy(ascii ? (char *)s + sizeof(s->h.base) : s->data, text, strlen(text));
}

/*
 * The 3.11+ location table: one entry per code unit, 'no column' form
 * (code 13), line delta 0 for the first and +1 for each next one, so
 * the unit at byte offset 2k runs line first_line + k.
 */
static void make_linetable(void)
{
	int n = 0;

	for (int i = 0; i < NUNITS; i++) {
		linetable.ob_sval[n++] = (char)(0x80 | 13 << 3);
		linetable.ob_sval[n++] = i ? 2 : 0;	/* svarint: delta << 1 */
	}
	linetable.ob_base.ob_size = n;
}

static void make_codes(void)
{
	make_str(&file, file_name, 0);
	make_linetable();
	for (int i = 0; i < NFUNCS; i++) {
		struct ft_code *c = &codes[i];

		make_str(&names[i], funcs[i].qualname, 1);
		c->ob_base.ob_size = NUNITS;
		c->co_flags = 3;
		c->co_argcount = i;
		c->co_stacksize = 4;
		c->co_firstlineno = funcs[i].first_line;
		c->co_nlocalsplus = 2;
		c->co_framesize = 16 + i;
		c->co_filename = &file;
		c->co_name = &names[i];
		c->co_qualname = &names[i];
		c->co_linetable = &linetable;
		c->co_tlbc = &tlbc[i];
		for (int u = 0; u < NUNITS; u++)
			c->co_code_adaptive[u] = 0x0100 | u;
		tlbc[i].size = NWORKERS + 1;
		tlbc[i].entries[0] = (char *)c->co_code_adaptive;
	}
}

/*
 * Thread-local bytecode of worker @idx: a copy of every code object's
 * bytecode, in its own mapping (far from the code objects, so that
 * instr_ptr - code is not the offset, not even modulo 2^32).
 */
static void make_copies(int idx)
{
	char *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);

	if (m == MAP_FAILED) {
		perror("mmap");
		exit(1);
	}
	for (int i = 0; i < NFUNCS; i++) {
		char *copy = m + 4096 * idx + 256 * i;

		memcpy(copy, codes[i].co_code_adaptive, sizeof(codes[i].co_code_adaptive));
		tlbc[i].entries[idx] = copy;
	}
}

/* A frame running @func at code unit @unit of bytecode copy @idx. */
static void set_frame(struct ft_frame *f, int func, int unit, int idx, struct ft_frame *prev)
{
	uint16_t *bytecode = (uint16_t *)tlbc[func].entries[idx];

	f->f_executable = (uint64_t)&codes[func] | TAG_DEFERRED;
	f->previous = prev;
	f->instr_ptr = bytecode + unit;
	f->tlbc_index = idx;
	f->owner = OWNED_BY_THREAD;
}

static void set_entry_frame(struct ft_frame *f, struct ft_frame *prev)
{
	f->f_executable = (uint64_t)&_Py_NoneStruct | TAG_DEFERRED;
	f->previous = prev;
	f->owner = OWNED_BY_INTERPRETER;
}

/*
 * Main thread (index 0): <module>:4, main:12, [entry], outer:31,
 * middle:41, inner_leaf:55. Worker N: [entry], thread_main:21,
 * outer:31, middle:41, inner_leaf:55+N, all in copy N.
 */
static void build_stack(int idx, struct ft_frame *fr)
{
	if (!idx) {
		set_entry_frame(&fr[0], NULL);
		set_frame(&fr[1], F_MODULE, 3, 0, &fr[0]);
		set_frame(&fr[2], F_MAIN, 2, 0, &fr[1]);
		set_entry_frame(&fr[3], &fr[2]);
		set_frame(&fr[4], F_OUTER, 1, 0, &fr[3]);
	} else {
		set_entry_frame(&fr[0], NULL);
		set_frame(&fr[1], F_THREAD_MAIN, 1, idx, &fr[0]);
		set_entry_frame(&fr[2], &fr[1]);
		set_entry_frame(&fr[3], &fr[2]);
		set_frame(&fr[4], F_OUTER, 1, idx, &fr[3]);
	}
	set_frame(&fr[5], F_MIDDLE, 1, idx, &fr[4]);
	set_frame(&fr[6], F_LEAF, 5 + idx, idx, &fr[5]);
}

static void *run_thread(void *arg)
{
	int idx = (int)(intptr_t)arg;
	struct ft_tstate *ts = &tstates[idx];
	static __thread struct ft_frame frames[7];
	unsigned long spin = 0;

	build_stack(idx, frames);
	ts->interp = &interp;
	ts->native_thread_id = gettid();
	ts->current_frame = &frames[6];
	__atomic_store_n(&ts->thread_id, (uint64_t)pthread_self(), __ATOMIC_RELEASE);
	while (!stop)
		spin++;
	return (void *)spin;
}

static void *watchdog(void *arg)
{
	double seconds = *(double *)arg;
	struct timespec ts = {
		.tv_sec = (time_t)seconds,
		.tv_nsec = (long)((seconds - (time_t)seconds) * 1e9),
	};

	nanosleep(&ts, NULL);
	stop = 1;
	return NULL;
}

int main(int argc, char **argv)
{
	double seconds = argc > 1 ? atof(argv[1]) : 5;
	pthread_t th[NWORKERS], wd;

	make_codes();
	for (int i = 1; i <= NWORKERS; i++)
		make_copies(i);
	/* The thread list, in the order threads.head runs. */
	for (int i = 0; i <= NWORKERS; i++) {
		tstates[i].next = i < NWORKERS ? &tstates[i + 1] : NULL;
		tstates[i].prev = i ? &tstates[i - 1] : NULL;
	}
	interp.threads_head = &tstates[0];
	interp.threads_main = &tstates[0];
	_PyRuntime.interpreters_head = &interp;

	pthread_create(&wd, NULL, watchdog, &seconds);
	for (int i = 0; i < NWORKERS; i++)
		pthread_create(&th[i], NULL, run_thread, (void *)(intptr_t)(i + 1));
	run_thread((void *)0);
	for (int i = 0; i < NWORKERS; i++)
		pthread_join(th[i], NULL);
	pthread_join(wd, NULL);
	return 0;
}
