// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include "splice.h"

/* libpython functions that only carry a call from one Python frame to another. */
static const char *const plumbing[] = {
	"_PyEval_EvalFrame", "PyEval_EvalFrame", "_PyEval_Vector", "PyEval_EvalCode",
	"_PyEval_EvalCode", "_PyFunction_", "_PyObject_Vectorcall", "PyObject_Vectorcall",
	"_PyObject_Call", "PyObject_Call", "_PyObject_MakeTpCall", "_PyObject_FastCall",
	"PyObject_CallFunction", "PyObject_CallMethod", "cfunction_call", "cfunction_vectorcall",
	"method_vectorcall", "vectorcall_", "slot_tp_call", "_PyCFunction_", "function_code_fastcall",
	"call_function", "do_call_core", "_PyMethodDef_", "builtin___import__", "object_vacall",
	"_PyVectorcall_Call", "PyVectorcall_Call", "_Py_call_", "call_unbound", "vgetargs",
	"PyCFunction_", "_PyEval_EvalFrameDefault", "_PyCode_", "_PyEval_CallTracing",
};

/* Frames of the process's start (below the outermost Python frame). */
static const char *const startup[] = {
	"run_eval_code_obj", "run_mod", "pyrun_", "PyRun_", "_PyRun_", "Py_RunMain",
	"pymain_", "Py_BytesMain", "Py_Main", "main", "thread_run", "pythread_wrapper",
	"t_bootstrap", "__libc_start", "_start", "start_thread", "clone",
};

static bool prefixed(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		if (!strncmp(s, list[i], strlen(list[i])))
			return true;
	return false;
}

bool splice__is_eval_frame(const struct native_frame *f)
{
	return f->python && f->symbol &&
	       (!strncmp(f->symbol, "_PyEval_EvalFrameDefault", 24) ||
		!strncmp(f->symbol, "PyEval_EvalFrameEx", 18) ||
		!strncmp(f->symbol, "_PyEval_EvalFrame", 17));
}

static bool is_plumbing(const struct native_frame *f)
{
	return f->python && prefixed(f->symbol, plumbing, sizeof(plumbing) / sizeof(plumbing[0]));
}

static bool is_libc(const struct native_frame *f)
{
	return f->binary && (!strncmp(f->binary, "libc.so", 7) || !strncmp(f->binary, "libc-", 5) ||
			     !strncmp(f->binary, "ld-linux", 8));
}

static bool is_startup(const struct native_frame *f)
{
	return (f->python || is_libc(f)) &&
	       (!f->symbol || prefixed(f->symbol, startup, sizeof(startup) / sizeof(startup[0])) ||
		is_plumbing(f));
}

/* The native frame (from @from on) whose stack holds @addr, or -1. */
static long frame_of(const struct native_frame *nf, size_t n, size_t from, __u64 addr)
{
	for (size_t j = from; j < n; j++)
		if (addr >= nf[j].sp && addr < nf[j].cfa)
			return (long)j;
	return -1;
}

struct out_buf {
	struct mixed_frame *out;
	size_t n, max;
};

static void put(struct out_buf *o, enum mixed_kind kind, size_t index)
{
	if (o->n < o->max)
		o->out[o->n++] = (struct mixed_frame){ kind, index };
}

static void put_run(struct out_buf *o, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		put(o, MIXED_PYTHON, i);
}

/* Native frames [from, to) that stay: not the interpreter's call plumbing. */
static void put_natives(struct out_buf *o, const struct native_frame *nf, size_t from,
			size_t to, bool below_python)
{
	for (size_t k = from; k < to; k++) {
		if (is_plumbing(&nf[k]) || (below_python && is_startup(&nf[k])))
			continue;
		put(o, MIXED_NATIVE, k);
	}
}

size_t splice__merge(size_t npy, const struct native_bound *bounds, size_t nbounds,
		     bool by_address, const struct native_frame *native, size_t nnative,
		     bool native_truncated, struct mixed_frame *out, size_t max)
{
	struct out_buf o = { .out = out, .max = max };
	size_t placed = 0, next = 0;

	if (by_address) {
		/* Each run, leaf to root, replaces the native frame that entered it. */
		for (size_t r = 0; r < nbounds && placed < npy; r++) {
			size_t end = bounds[r].pos > npy ? npy : bounds[r].pos;
			long j = frame_of(native, nnative, next, bounds[r].addr);

			if (end <= placed)
				continue;
			if (j < 0)
				break;
			put_natives(&o, native, next, (size_t)j, false);
			put_run(&o, placed, end);
			placed = end;
			next = (size_t)j + 1;
		}
	} else {
		/* Before 3.11 no address ties them: each eval loop call runs one frame. */
		for (size_t k = 0; k < nnative && placed < npy; k++) {
			if (!splice__is_eval_frame(&native[k]))
				continue;
			put_natives(&o, native, next, k, false);
			put(&o, MIXED_PYTHON, placed++);
			next = k + 1;
		}
	}
	if (placed < npy) {
		/*
		 * Python frames no native frame could take (the unwinding
		 * stopped first, or no frame holds their entry): after a gap,
		 * never spliced where they do not belong.
		 */
		put_natives(&o, native, next, nnative, true);
		put(&o, MIXED_TRUNCATED, 0);
		put_run(&o, placed, npy);
		return o.n;
	}
	/* Below the outermost Python frame: the program's own frames only. */
	put_natives(&o, native, next, nnative, npy > 0);
	if (native_truncated && !npy)
		put(&o, MIXED_TRUNCATED, 0);
	return o.n;
}
