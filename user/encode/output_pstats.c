// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The profile as a cProfile/pstats file: what cProfile.Profile.dump_stats()
 * writes, marshal.dump() of one dict,
 *
 *	(file, first_line, funcname) -> (cc, nc, tt, ct, callers)
 *	callers: (file, first_line, funcname) -> (nc, cc, tt, ct)
 *
 * so `python3 -m pstats FILE` and pstats.Stats(FILE) read it, and with it
 * snakeviz, gprof2dot and RunSnakeRun, which all load through
 * pstats.Stats and read .stats and the callers. Note the order:
 * cc before nc in a function's tuple, nc before cc in a caller's
 * (cProfile.snapshot_stats); pstats only prints "nc/cc" when they differ.
 *
 * What the numbers mean here, since nothing was called or timed:
 *  - funcname is the qualname (cProfile writes co_name), so methods of
 *    different classes stay apart.
 *  - cc = nc = the samples in which the function is on the stack, once
 *    per sample even when it recurses: sampled appearances, not calls.
 *    pstats divides tt by nc and ct by cc for "percall", so both are
 *    > 0 for every listed function (the cumtime percall is then always
 *    1/frequency).
 *  - tt = own samples / frequency, ct = total samples / frequency.
 *  - callers[caller] of a function counts the samples whose stack has
 *    caller directly above it, once per sample even when the pair repeats
 *    under recursion; its tt is the function's own time in those samples
 *    when it was the leaf below that caller, its ct all of them.
 *  - The root frame of a stack has no caller: the process is not a
 *    function, and a [truncated] stack lost its real root.
 *  - A stack without Python frames has no function to go to and is left
 *    out, so total_tt covers the Python samples only.
 *  - No samples gives an empty dict, which pstats.Stats() refuses
 *    ("Cannot create or construct"): there is nothing to show either way.
 *
 * Only marshal types every reader since 3.4 knows are written, no
 * references (FLAG_REF) and no interning, so CPython 3.4 and later load it:
 * '{' key value ... '0' for dicts, ')' n for tuples (all have 3 to 5
 * items), 'i' int32 or 'l' for a count past it, 'g' for binary doubles
 * and 'u' for strings, with little-endian lengths.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hmap.h"
#include "output.h"
#include "utf8.h"

/* A function, indexed by the agg's func_id. */
struct ps_func {
	const char *qualname;	/* the agg's, or @qualname_buf */
	const char *file;
	char *qualname_buf;	/* a UTF-8 copy, when the agg's is not */
	char *file_buf;
	int first_line;
	bool seen;		/* in some stack */
	__u64 own;
	__u64 total;
	size_t last_stack;	/* ordinal of the last stack that counted it */
	__u32 rank;		/* position in the output */
};

/* A caller -> callee pair, by func_id. */
struct ps_edge_key {
	__u32 caller;
	__u32 callee;
};

struct ps_edge {
	__u64 count;		/* samples with the pair in the stack */
	__u64 own;		/* ... of which the callee was the leaf */
	size_t last_stack;
};

/* A pair copied out of the map, for sorting. */
struct ps_edge_ref {
	struct ps_edge_key key;
	struct ps_edge val;
};

struct pstats {
	const struct agg *a;
	struct ps_func *funcs;	/* by func_id */
	size_t nfuncs;		/* highest func_id seen + 1 */
	size_t funcs_cap;
	struct hmap *edges;	/* struct ps_edge_key -> struct ps_edge */
	size_t nstack;		/* ordinal of the stack being counted, from 1 */
	__u32 *order;		/* func_ids, in output order */
	size_t norder;
	struct ps_edge_ref *refs;
	size_t nrefs;
	double hz;
};

static int pstats__grow(struct pstats *ps, size_t need)
{
	size_t cap = ps->funcs_cap ? ps->funcs_cap : 64;
	struct ps_func *nf;

	if (need <= ps->funcs_cap)
		return 0;
	while (cap < need) {
		if (cap > SIZE_MAX / 2 / sizeof(*nf))
			return -ENOMEM;
		cap *= 2;
	}
	nf = realloc(ps->funcs, cap * sizeof(*nf));
	if (!nf)
		return -ENOMEM;
	memset(nf + ps->funcs_cap, 0, (cap - ps->funcs_cap) * sizeof(*nf));
	ps->funcs = nf;
	ps->funcs_cap = cap;
	return 0;
}

/*
 * Names reach the agg sanitized, but a string that is not UTF-8 would make
 * marshal.load() fail on the whole file: write a repaired copy instead.
 * (Two names that repair alike would then share a key, and the later
 * entry would replace the earlier on load; only for names that were
 * never UTF-8.)
 */
static int utf8_or_copy(const char *s, const char **out, char **buf)
{
	size_t len = strlen(s);
	char *fixed = utf8__sanitize(s, len);

	if (!fixed)
		return -ENOMEM;
	if (!strcmp(fixed, s)) {
		free(fixed);
		*out = s;
	} else {
		*buf = fixed;
		*out = fixed;
	}
	return 0;
}

static struct ps_func *pstats__func(struct pstats *ps, const struct agg_frame *fr, int *err)
{
	struct ps_func *fn;

	*err = pstats__grow(ps, (size_t)fr->func_id + 1);
	if (*err)
		return NULL;
	fn = &ps->funcs[fr->func_id];
	if (!fn->seen) {
		fn->seen = true;
		fn->first_line = fr->first_line;
		*err = utf8_or_copy(fr->qualname, &fn->qualname, &fn->qualname_buf);
		/* A pseudo-frame is keyed like cProfile's built-ins: ('~', 0, name). */
		if (!*err)
			*err = utf8_or_copy(agg_frame_is_pseudo(fr) ? "~" : fr->file, &fn->file,
					    &fn->file_buf);
		if (*err)
			return NULL;
		if (fr->func_id >= ps->nfuncs)
			ps->nfuncs = (size_t)fr->func_id + 1;
	}
	return fn;
}

static int pstats__collect(const struct agg_stack *s, void *ctx)
{
	struct pstats *ps = ctx;
	__u32 prev = 0;
	int err;

	if (!s->nframes || !s->count)
		return 0;
	ps->nstack++;
	for (size_t i = 0; i < s->nframes; i++) {
		const struct agg_frame *fr = agg__frame(ps->a, s->frame_ids[i]);
		bool leaf = i + 1 == s->nframes;
		struct ps_edge_key k;
		struct ps_edge *e;
		struct ps_func *fn;
		bool created;

		/* agg__add_stack() checked the ids: this is a broken agg. */
		if (!fr)
			return -EINVAL;
		fn = pstats__func(ps, fr, &err);
		if (!fn)
			return err;
		/* Recursion: a function counts once per sample, as in agg__functions(). */
		if (fn->last_stack != ps->nstack) {
			fn->last_stack = ps->nstack;
			fn->total += s->count;
		}
		if (leaf)
			fn->own += s->count;

		if (i) {
			memset(&k, 0, sizeof(k));
			k.caller = prev;
			k.callee = fr->func_id;
			e = hmap__insert(ps->edges, &k, &created);
			if (!e)
				return -ENOMEM;
			if (e->last_stack != ps->nstack) {
				e->last_stack = ps->nstack;
				e->count += s->count;
			}
			/* Only the pair right above the leaf ran it. */
			if (leaf)
				e->own += s->count;
		}
		prev = fr->func_id;
	}
	return 0;
}

/* The order of agg__functions(): own, then total, descending, then by name. */
static int func_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct pstats *ps = ctx;
	const struct ps_func *x = &ps->funcs[*(const __u32 *)pa];
	const struct ps_func *y = &ps->funcs[*(const __u32 *)pb];
	int c;

	if (x->own != y->own)
		return x->own > y->own ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	c = strcmp(x->qualname, y->qualname);
	if (c)
		return c;
	c = strcmp(x->file, y->file);
	if (c)
		return c;
	return (x->first_line > y->first_line) - (x->first_line < y->first_line);
}

static int collect_edge(const void *key, void *value, void *ctx)
{
	struct pstats *ps = ctx;

	memcpy(&ps->refs[ps->nrefs].key, key, sizeof(struct ps_edge_key));
	memcpy(&ps->refs[ps->nrefs].val, value, sizeof(struct ps_edge));
	ps->nrefs++;
	return 0;
}

/* Callers grouped by callee, both in output order. */
static int edge_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct pstats *ps = ctx;
	const struct ps_edge_ref *x = pa, *y = pb;
	__u32 xe = ps->funcs[x->key.callee].rank, ye = ps->funcs[y->key.callee].rank;
	__u32 xr = ps->funcs[x->key.caller].rank, yr = ps->funcs[y->key.caller].rank;

	if (xe != ye)
		return xe < ye ? -1 : 1;
	return (xr > yr) - (xr < yr);
}

static int pstats__sort(struct pstats *ps)
{
	size_t nedges = hmap__size(ps->edges);

	ps->order = malloc((ps->nfuncs + 1) * sizeof(*ps->order));
	ps->refs = malloc((nedges + 1) * sizeof(*ps->refs));
	if (!ps->order || !ps->refs)
		return -ENOMEM;
	for (size_t i = 0; i < ps->nfuncs; i++) {
		if (ps->funcs[i].seen)
			ps->order[ps->norder++] = (__u32)i;
	}
	qsort_r(ps->order, ps->norder, sizeof(*ps->order), func_cmp, ps);
	for (size_t i = 0; i < ps->norder; i++)
		ps->funcs[ps->order[i]].rank = (__u32)i;

	hmap__for_each(ps->edges, collect_edge, ps);
	qsort_r(ps->refs, ps->nrefs, sizeof(*ps->refs), edge_cmp, ps);
	return 0;
}

/* ---- marshal ----------------------------------------------------------- */

#define M_DICT '{'
#define M_NULL '0'
#define M_SMALL_TUPLE ')'
#define M_INT 'i'
#define M_LONG 'l'
#define M_BINARY_FLOAT 'g'
#define M_UNICODE 'u'

/* marshal stores a long in 15-bit digits, 16 bits each, low digit first. */
#define M_LONG_SHIFT 15

static void m_byte(FILE *f, int c)
{
	putc(c, f);
}

static void m_u32(FILE *f, __u32 v)
{
	unsigned char b[4] = { v, v >> 8, v >> 16, v >> 24 };

	fwrite(b, 1, sizeof(b), f);
}

static void m_i32(FILE *f, __s32 v)
{
	m_byte(f, M_INT);
	m_u32(f, (__u32)v);
}

/* A count: an int when it fits, else a long, which marshal wants normalized. */
static void m_count(FILE *f, __u64 v)
{
	unsigned int ndigits = 0;

	if (v <= INT32_MAX) {
		m_i32(f, (__s32)v);
		return;
	}
	for (__u64 t = v; t; t >>= M_LONG_SHIFT)
		ndigits++;
	m_byte(f, M_LONG);
	m_u32(f, ndigits);
	for (; v; v >>= M_LONG_SHIFT) {
		__u32 d = v & ((1U << M_LONG_SHIFT) - 1);

		m_byte(f, d & 0xff);
		m_byte(f, d >> 8);
	}
}

static void m_float(FILE *f, double d)
{
	__u64 bits;

	memcpy(&bits, &d, sizeof(bits));
	m_byte(f, M_BINARY_FLOAT);
	m_u32(f, (__u32)bits);
	m_u32(f, (__u32)(bits >> 32));
}

static int m_str(FILE *f, const char *s)
{
	size_t len = strlen(s);

	/* marshal reads the length as a signed 32-bit number. */
	if (len > INT32_MAX)
		return -E2BIG;
	m_byte(f, M_UNICODE);
	m_u32(f, (__u32)len);
	fwrite(s, 1, len, f);
	return 0;
}

/* A function's key, as cProfile.label() makes it: (file, first_line, name). */
static int m_func_key(FILE *f, const struct ps_func *fn)
{
	int err;

	m_byte(f, M_SMALL_TUPLE);
	m_byte(f, 3);
	err = m_str(f, fn->file);
	if (err)
		return err;
	m_i32(f, fn->first_line);
	return m_str(f, fn->qualname);
}

static int pstats__write(const struct pstats *ps, FILE *f)
{
	size_t e = 0;
	int err;

	m_byte(f, M_DICT);
	for (size_t i = 0; i < ps->norder; i++) {
		const struct ps_func *fn = &ps->funcs[ps->order[i]];

		err = m_func_key(f, fn);
		if (err)
			return err;
		m_byte(f, M_SMALL_TUPLE);
		m_byte(f, 5);
		m_count(f, fn->total);		/* cc */
		m_count(f, fn->total);		/* nc */
		m_float(f, fn->own / ps->hz);	/* tt */
		m_float(f, fn->total / ps->hz);	/* ct */

		m_byte(f, M_DICT);
		/* The refs are sorted by callee rank, which is i here. */
		for (; e < ps->nrefs && ps->funcs[ps->refs[e].key.callee].rank == i; e++) {
			const struct ps_edge_ref *r = &ps->refs[e];

			err = m_func_key(f, &ps->funcs[r->key.caller]);
			if (err)
				return err;
			m_byte(f, M_SMALL_TUPLE);
			m_byte(f, 4);
			m_count(f, r->val.count);		/* nc */
			m_count(f, r->val.count);		/* cc */
			m_float(f, r->val.own / ps->hz);	/* tt */
			m_float(f, r->val.count / ps->hz);	/* ct */
		}
		m_byte(f, M_NULL);
		/* Stop early on a dead pipe or a full disk. */
		if (ferror(f))
			return -EIO;
	}
	m_byte(f, M_NULL);
	return 0;
}

int output_pstats__write(const struct agg *a, const struct output_meta *m, FILE *f)
{
	struct pstats ps = { .a = a };
	int err;

	/* Times are samples / frequency: without one there are no times. */
	if (!a || !m || !m->frequency_hz || !f)
		return -EINVAL;
	ps.hz = m->frequency_hz;
	ps.edges = hmap__new(sizeof(struct ps_edge_key), sizeof(struct ps_edge));
	if (!ps.edges)
		return -ENOMEM;
	err = agg__for_each_stack(a, pstats__collect, &ps);
	if (err)
		goto out;
	err = pstats__sort(&ps);
	if (err)
		goto out;
	err = pstats__write(&ps, f);
	if (!err && (fflush(f) || ferror(f)))
		err = -EIO;
out:
	for (size_t i = 0; i < ps.nfuncs; i++) {
		free(ps.funcs[i].qualname_buf);
		free(ps.funcs[i].file_buf);
	}
	free(ps.funcs);
	free(ps.order);
	free(ps.refs);
	hmap__free(ps.edges);
	return err;
}
