// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "aggregate.h"
#include "ksyms.h"
#include "mixed.h"
#include "splice.h"
#include "symbolize.h"
#include "unwind.h"

/* Unwinding times kept for the median: a uniform sample of them all. */
#define TIMES_KEPT 4096

struct mixed {
	struct unwinder *unwinder;	/* --native */
	struct ksyms *ksyms;		/* --kernel */
	struct native_frame *native;	/* one stack's native frames, leaf first */
	struct native_bound *bounds;	/* its boundaries that lie on the copied stack */
	struct mixed_frame *merged;	/* its frames, merged, leaf first */
	__u32 *pyids;			/* its Python frame ids, leaf first */
	__u32 *leaf_first;		/* the result before it is turned root first */
	__u32 times[TIMES_KEPT];	/* ns per unwinding (reservoir sampling) */
	__u64 unwound, truncated;
	__u64 rng;
};

struct mixed *mixed__new(bool native, bool kernel)
{
	struct mixed *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->rng = 0x9e3779b97f4a7c15ULL;
	m->native = calloc(MIXED_MAX_NATIVE, sizeof(*m->native));
	m->bounds = calloc(PY_NATIVE_MAX_BOUNDS, sizeof(*m->bounds));
	m->merged = calloc(MIXED_MAX_IDS, sizeof(*m->merged));
	m->pyids = calloc(PYBPFPROF_MAX_DEPTH, sizeof(*m->pyids));
	m->leaf_first = calloc(MIXED_MAX_IDS, sizeof(*m->leaf_first));
	if (!m->native || !m->bounds || !m->merged || !m->pyids || !m->leaf_first ||
	    (native && !(m->unwinder = unwinder__new()))) {
		mixed__free(m);
		return NULL;
	}
	/* No kallsyms (hidden by kptr_restrict): "[k] [unknown]" frames, still counted. */
	if (kernel)
		m->ksyms = ksyms__load();
	return m;
}

void mixed__free(struct mixed *m)
{
	if (!m)
		return;
	unwinder__free(m->unwinder);
	ksyms__free(m->ksyms);
	free(m->native);
	free(m->bounds);
	free(m->merged);
	free(m->pyids);
	free(m->leaf_first);
	free(m);
}

void mixed__forget(struct mixed *m, pid_t pid)
{
	if (m)
		unwinder__forget(m->unwinder, pid);
}

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (__u64)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/* Keep @ns with the probability that leaves every unwinding equally likely kept. */
static void keep_time(struct mixed *m, __u64 ns)
{
	__u64 slot;

	if (ns > UINT32_MAX)
		ns = UINT32_MAX;
	m->unwound++;
	if (m->unwound <= TIMES_KEPT) {
		m->times[m->unwound - 1] = ns;
		return;
	}
	m->rng ^= m->rng >> 12;
	m->rng ^= m->rng << 25;
	m->rng ^= m->rng >> 27;
	slot = (m->rng * 0x2545f4914f6cdd1dULL) % m->unwound;
	if (slot < TIMES_KEPT)
		m->times[slot] = ns;
}

static __u32 native_frame_id(struct agg *dict, const struct native_frame *f)
{
	char name[256];

	if (f->symbol) {
		const char *at = strchr(f->symbol, '@');

		/* clock_gettime@@GLIBC_2.17 is clock_gettime: the version is the linker's. */
		if (at && at > f->symbol) {
			snprintf(name, sizeof(name), "%.*s", (int)(at - f->symbol), f->symbol);
			return agg__intern_frame(dict, name, f->binary ? f->binary : "?", 0, -1);
		}
		return agg__intern_frame(dict, f->symbol, f->binary ? f->binary : "?", 0, -1);
	}
	snprintf(name, sizeof(name), "%s+0x%llx", f->binary ? f->binary : "[unknown]",
		 (unsigned long long)f->offset);
	return agg__intern_frame(dict, name, "", 0, -1);
}

size_t mixed__build(struct mixed *m, struct agg *dict, struct symbolizer *sym, pid_t pid,
		    bool by_address, const struct sample_hdr *hdr, const struct py_frame *frames,
		    size_t npy, const struct native_part *np, __u32 *ids)
{
	const struct native_bound *bounds = (const void *)(np + 1);
	const __u64 *kips = (const void *)(bounds + np->nbounds);
	const __u8 *stack = (const void *)(kips + np->nkernel);
	__u64 lo = np->regs[PY_NATIVE_SP], hi = lo + np->stack_len;
	size_t nn = 0, nm, nb = 0, n = 0;
	bool truncated = false;

	if (npy > PYBPFPROF_MAX_DEPTH)
		npy = PYBPFPROF_MAX_DEPTH;
	for (size_t i = 0; i < npy; i++)
		m->pyids[i] = symbolizer__frame(sym, &frames[i]);
	/*
	 * Boundaries off the copied stack are not the C stack's (3.11's
	 * root _PyCFrame lives in the thread state), or lie past the copy,
	 * where no frame was unwound: either way none can be placed.
	 */
	for (size_t i = 0; i < np->nbounds; i++)
		if (bounds[i].addr >= lo && bounds[i].addr < hi)
			m->bounds[nb++] = bounds[i];
	if (m->unwinder) {
		__u64 t0 = mono_ns();

		nn = unwinder__unwind(m->unwinder, pid, hdr->tid, np->regs, stack, np->stack_len,
				      m->native, MIXED_MAX_NATIVE, &truncated);
		keep_time(m, mono_ns() - t0);
		nm = splice__merge(npy, m->bounds, nb, by_address, m->native, nn, truncated,
				   m->merged, MIXED_MAX_IDS);
		/* Counted as the outputs show it: with a [truncated] marker. */
		for (size_t i = 0; i < nm; i++)
			if (m->merged[i].kind == MIXED_TRUNCATED) {
				m->truncated++;
				break;
			}
	} else {
		/* --kernel alone: the Python stack as it is, the kernel's on top. */
		for (nm = 0; nm < npy && nm < MIXED_MAX_IDS; nm++)
			m->merged[nm] = (struct mixed_frame){ MIXED_PYTHON, nm };
	}
	/* Leaf first, then turned root first into @ids. */
	for (size_t i = 0; m->ksyms && i < np->nkernel && n < MIXED_MAX_IDS; i++) {
		const char *ksym = ksyms__name(m->ksyms, kips[i]);
		char name[160];

		snprintf(name, sizeof(name), "[k] %s", ksym ? ksym : "[unknown]");
		m->leaf_first[n++] = agg__intern_frame(dict, name, "", 0, -1);
	}
	for (size_t i = 0; i < nm && n < MIXED_MAX_IDS; i++) {
		const struct mixed_frame *f = &m->merged[i];

		if (f->kind == MIXED_PYTHON)
			m->leaf_first[n++] = m->pyids[f->index];
		else if (f->kind == MIXED_NATIVE)
			m->leaf_first[n++] = native_frame_id(dict, &m->native[f->index]);
		else
			m->leaf_first[n++] = agg__intern_frame(dict, "[truncated]", "", 0, -1);
	}
	for (size_t i = 0; i < n; i++)
		ids[n - 1 - i] = m->leaf_first[i];
	return n;
}

static int cmp_u32(const void *a, const void *b)
{
	__u32 x = *(const __u32 *)a, y = *(const __u32 *)b;

	return (x > y) - (x < y);
}

void mixed__stats(const struct mixed *m, struct mixed_stats *st)
{
	__u32 sorted[TIMES_KEPT];
	size_t n;

	memset(st, 0, sizeof(*st));
	if (!m)
		return;
	st->unwound = m->unwound;
	st->truncated = m->truncated;
	n = m->unwound < TIMES_KEPT ? m->unwound : TIMES_KEPT;
	if (!n)
		return;
	memcpy(sorted, m->times, n * sizeof(*sorted));
	qsort(sorted, n, sizeof(*sorted), cmp_u32);
	st->median_ns = sorted[n / 2];
	st->p99_ns = sorted[n * 99 / 100];
}
