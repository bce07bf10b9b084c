/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A mixed stack: the native frames of a sample (unwound) with the Python
 * frames (walked in the kernel) put in place of the eval loop calls that
 * ran them, leaf first.
 *
 * Placement is by address, never by counting alone: each run of Python
 * frames was entered through an object on the C stack of one eval loop
 * call (3.12+: its entry frame; 3.11: its _PyCFrame), so the run replaces
 * the native frame whose [sp, cfa) holds that address. Runs must land on
 * native frames in order, leaf to root; a run that cannot be placed (the
 * unwinding stopped first, or no frame holds it) goes after a
 * "[truncated]" marker with the runs rootward of it, never in the wrong
 * place. Only where the version gives no such address (before 3.11)
 * does each eval loop call, by name, take one Python frame.
 *
 * The interpreter's call plumbing between Python frames (vectorcall,
 * PyObject_Call, the eval loop's own entry) is dropped, as are the
 * startup frames below the outermost Python frame (_start, main,
 * Py_RunMain, thread bootstrap) of libpython, the python executable and
 * libc; every other native frame is kept.
 */
#ifndef __SPLICE_H
#define __SPLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "pybpfprof.h"
#include "unwind.h"

enum mixed_kind {
	MIXED_PYTHON,		/* index into the Python frames */
	MIXED_NATIVE,		/* index into the native frames */
	MIXED_TRUNCATED,	/* "[truncated]": frames missing here */
};

struct mixed_frame {
	enum mixed_kind kind;
	size_t index;
};

/*
 * Merge, leaf first, into @out (at most @max). @bounds: where each run of
 * the @npy Python frames was entered (struct native_bound); @by_address:
 * the version places runs by address (3.11+), else by counting eval loop
 * calls. The count written.
 */
size_t splice__merge(size_t npy, const struct native_bound *bounds, size_t nbounds,
		     bool by_address, const struct native_frame *native, size_t nnative,
		     bool native_truncated, struct mixed_frame *out, size_t max);

/* An eval loop call (_PyEval_EvalFrameDefault, its .cold part, ...)? */
bool splice__is_eval_frame(const struct native_frame *f);

#endif /* __SPLICE_H */
