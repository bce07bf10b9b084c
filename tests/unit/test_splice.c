// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the mixed-stack splice (user/unwind/splice.c): Python runs
 * replace the eval loop calls whose C stack holds their entry, in order;
 * plumbing and startup frames go; a run that cannot be placed lands
 * after "[truncated]", never in the wrong place.
 */
#include <stdio.h>
#include <string.h>
#include "splice.h"
#include "unit.h"

#define LIBPY "libpython3.12.so.1.0"

/* A native frame spanning [sp, sp + 100). */
#define NF(sym, bin, py, at) { .pc = 0x1000 + (at), .sp = (at), .cfa = (at) + 100, \
	.binary = (bin), .symbol = (sym), .python = (py) }

/* The merge as text: "P0 N3 T P1", leaf first. */
static void render(const struct mixed_frame *m, size_t n, char *buf, size_t size)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (m[i].kind == MIXED_TRUNCATED)
			len += snprintf(buf + len, size - len, "%sT", i ? " " : "");
		else
			len += snprintf(buf + len, size - len, "%s%c%zu", i ? " " : "",
					m[i].kind == MIXED_PYTHON ? 'P' : 'N', m[i].index);
	}
}

static void expect(const char *what, size_t npy, const struct native_bound *b, size_t nb,
		   bool by_addr, const struct native_frame *nf, size_t nn, bool trunc,
		   const char *want)
{
	struct mixed_frame out[64];
	char got[256];
	size_t n = splice__merge(npy, b, nb, by_addr, nf, nn, trunc, out, 64);

	render(out, n, got, sizeof(got));
	if (strcmp(got, want))
		fprintf(stderr, "%s: got '%s', want '%s'\n", what, got, want);
	CHECK_EQ_STR(got, want);
}

int main(void)
{
	/* zlib.compress called from f0, called from f1 (3.12: entry frames). */
	static const struct native_frame zlib[] = {
		NF("deflate_slow", "libz.so.1.2.13", false, 100),
		NF("deflate", "libz.so.1.2.13", false, 200),
		NF("zlib_compress_impl", "zlib.cpython-312.so", false, 300),
		NF("cfunction_vectorcall_FASTCALL", LIBPY, true, 400),
		NF("_PyEval_EvalFrameDefault", LIBPY, true, 500),
		NF("_PyFunction_Vectorcall", LIBPY, true, 600),
		NF("_PyEval_EvalFrameDefault", LIBPY, true, 700),
		NF("PyEval_EvalCode", LIBPY, true, 800),
		NF("run_mod", LIBPY, true, 900),
		NF("Py_RunMain", LIBPY, true, 1000),
		NF("main", "python3.12", true, 1100),
		NF("__libc_start_call_main", "libc.so.6", false, 1200),
		NF("_start", "python3.12", true, 1300),
	};
	static const struct native_bound zb[] = { { 550, 1, 0 }, { 750, 2, 0 } };

	expect("zlib", 2, zb, 2, true, zlib, 13, false, "N0 N1 N2 P0 P1");

	/* Python -> C spin (calls back) -> Python: py_callback P0, py_caller P1. */
	static const struct native_frame cb[] = {
		NF("_PyEval_EvalFrameDefault", LIBPY, true, 100),
		NF("PyObject_Call", LIBPY, true, 200),
		NF(NULL, "spinext.so", false, 300),		/* no symbol */
		NF("spin_then_call", "spinext.so", false, 400),
		NF("cfunction_call", LIBPY, true, 500),
		NF("_PyEval_EvalFrameDefault", LIBPY, true, 600),
		NF("start_thread", "libc.so.6", false, 700),
	};
	static const struct native_bound cbb[] = { { 150, 1, 0 }, { 650, 2, 0 } };

	expect("callback", 2, cbb, 2, true, cb, 7, false, "P0 N2 N3 P1");

	/* The unwinding stopped at frame 3: the caller's run has no frame. */
	expect("truncated", 2, cbb, 2, true, cb, 4, true, "P0 N2 N3 T P1");

	/* A run whose entry lies in no frame: after a gap, not guessed. */
	static const struct native_bound lost[] = { { 150, 1, 0 }, { 99999, 2, 0 } };

	expect("lost", 2, lost, 2, true, cb, 7, false, "P0 N2 N3 T P1");

	/* Out of order (a deeper run cannot sit above a shallower one). */
	static const struct native_bound order[] = { { 650, 1, 0 }, { 150, 2, 0 } };

	expect("order", 2, order, 2, true, cb, 7, false, "N2 N3 P0 T P1");

	/* A Python frame left at the root with nothing entered: after a gap. */
	expect("extra python", 3, cbb, 2, true, cb, 7, false, "P0 N2 N3 P1 T P2");

	/* Before 3.11, by count: each eval call takes the next Python frame. */
	static const struct native_frame old[] = {
		NF("deflate", "libz.so.1.2.11", false, 100),
		NF("PyCFunction_Call", "libpython3.9.so.1.0", true, 200),
		NF("_PyEval_EvalFrameDefault", "libpython3.9.so.1.0", true, 300),
		NF("_PyFunction_Vectorcall", "libpython3.9.so.1.0", true, 400),
		NF("_PyEval_EvalFrameDefault", "libpython3.9.so.1.0", true, 500),
		NF("main", "python3.9", true, 600),
	};

	expect("count", 2, NULL, 0, false, old, 6, false, "N0 P0 P1");
	expect("count short", 3, NULL, 0, false, old, 6, false, "N0 P0 P1 T P2");

	/* No Python frames at all (a thread in C only): kept as unwound. */
	expect("native only", 0, NULL, 0, true, zlib, 3, true, "N0 N1 N2 T");

	/* The eval loop's .cold part is the same C frame: placed by address too. */
	static const struct native_frame cold[] = {
		NF("_PyEval_EvalFrameDefault.cold", LIBPY, true, 100),
		NF("main", "python3.12", true, 200),
	};
	static const struct native_bound coldb[] = { { 120, 3, 0 } };

	expect("cold", 3, coldb, 1, true, cold, 2, false, "P0 P1 P2");
	CHECK(splice__is_eval_frame(&cold[0]));
	CHECK(!splice__is_eval_frame(&zlib[0]));
	return unit_report("splice");
}
