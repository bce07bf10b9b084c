/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Finding the sampled thread's PyThreadState: its thread_id is
 * pthread_self(), the task's FS base; cached per (process, thread).
 *
 * The thread-list walk is find_one() repeated: by bpf_loop on 5.17+, by
 * the find_tail program of legacy.bpf.h (bounded chunks and tail calls)
 * before. Both take the same steps within FIND_STEPS.
 */
#ifndef __TSTATE_BPF_H
#define __TSTATE_BPF_H

#include "walk_state.bpf.h"

/* ---- finding the thread state ---------------------------------------- */

/* One step of the walk over every interpreter's thread list; 1: over. */
static __always_inline long find_one(struct find_ctx *c)
{
	if (c->done || c->steps >= FIND_STEPS)
		return 1;
	c->steps++;
	if (!c->tstate) {
		if (!c->started) {
			c->started = true;
			c->interp = read_ptr(c->interp_head_addr);
		} else {
			c->interp = read_ptr(c->interp + c->interp_next);
		}
		if (!c->interp) {
			c->done = true;
			return 1;
		}
		c->tstate = read_ptr(c->interp + c->interp_tstate_head);
		return 0;
	}
	if (read_ptr(c->tstate + c->tstate_thread_id) == c->thread_ptr) {
		c->found = c->tstate;
		c->done = true;
		return 1;
	}
	c->tstate = read_ptr(c->tstate + c->tstate_next);
	return 0;
}

static __always_inline void find_begin(struct find_ctx *c, const struct py_proc_info *pi,
				       __u64 thread_ptr)
{
	c->interp_head_addr = pi->interp_head_addr;
	c->thread_ptr = thread_ptr;
	c->interp = 0;
	c->tstate = 0;
	c->found = 0;
	c->steps = 0;
	c->interp_next = pi->interp_next;
	c->interp_tstate_head = pi->interp_tstate_head;
	c->tstate_next = pi->tstate_next;
	c->tstate_thread_id = pi->tstate_thread_id;
	c->started = false;
	c->done = false;
}

/*
 * The GIL the thread's interpreter uses: 3.7-3.11 one for the runtime,
 * 3.12+ PyInterpreterState.ceval.gil (its own, or the main one's).
 */
static __always_inline __u64 gil_of(const struct py_proc_info *pi, __u64 tstate)
{
	if (pi->gil_kind != GIL_KIND_HOLDER)
		return 0;
	if (pi->gil_addr)
		return pi->gil_addr;
	if (!valid_off(pi->interp_gil_ptr) || !valid_off(pi->tstate_interp))
		return 0;
	return read_ptr(read_ptr(tstate + pi->tstate_interp) + pi->interp_gil_ptr);
}

enum tstate_cache_result {
	TSTATE_MISS,		/* walk the thread list */
	TSTATE_NONE,		/* known recently to have no thread state */
	TSTATE_HIT,		/* *@tstate and *@gil, still to be re-checked */
};

static __always_inline int tstate_cached(__u32 tgid, __u64 thread_ptr, __u64 *tstate,
					 __u64 *gil)
{
	struct tstate_key key = { .tgid = tgid, .thread_ptr = thread_ptr };
	struct tstate_val *cached = bpf_map_lookup_elem(&tstate_cache, &key);

	if (!cached)
		return TSTATE_MISS;
	if (cached->tstate) {
		*tstate = cached->tstate;
		*gil = cached->gil;
		return TSTATE_HIT;
	}
	if (bpf_ktime_get_ns() - cached->ktime_ns < NEGATIVE_TTL_NS)
		return TSTATE_NONE;
	return TSTATE_MISS;
}

/* Re-check: the thread state may have been freed and reused. */
static __always_inline bool tstate_valid(const struct py_proc_info *pi, __u64 tstate,
					 __u64 thread_ptr)
{
	return read_ptr(tstate + pi->tstate_thread_id) == thread_ptr;
}

/* Cache what a walk found (0: none); its GIL's address, when known. */
static __always_inline __u64 tstate_remember(const struct py_proc_info *pi, __u32 tgid,
					     __u64 thread_ptr, __u64 tstate)
{
	struct tstate_key key = { .tgid = tgid, .thread_ptr = thread_ptr };
	struct tstate_val val = { .tstate = tstate, .ktime_ns = bpf_ktime_get_ns() };

	if (tstate)
		val.gil = gil_of(pi, tstate);
	bpf_map_update_elem(&tstate_cache, &key, &val, BPF_ANY);
	return val.gil;
}

/* ---- the bpf_loop walk (5.17+) ---------------------------------------- */

/* bpf_loop's context must be on the stack: it points at the map's. */
struct find_loop {
	struct find_ctx *c;
};

static long find_step(__u32 i, struct find_loop *l)
{
	return l->c ? find_one(l->c) : 1;
}

/* The thread state, and (when known) its GIL's address in *@gil. */
static __always_inline __u64 find_tstate(const struct py_proc_info *pi, __u32 tgid,
					 __u64 thread_ptr, __u64 *gil)
{
	struct walk_state *ws = walk_state();
	struct find_loop l;
	__u64 tstate = 0;

	*gil = 0;
	switch (tstate_cached(tgid, thread_ptr, &tstate, gil)) {
	case TSTATE_NONE:
		return 0;
	case TSTATE_HIT:
		if (tstate_valid(pi, tstate, thread_ptr))
			return tstate;
		*gil = 0;
		break;
	}
	if (!ws)
		return 0;

	count(CNT_TSTATE_WALKS);
	find_begin(&ws->f, pi, thread_ptr);
	l.c = &ws->f;
	bpf_loop(FIND_STEPS, find_step, &l, 0);
	tstate = ws->f.found;
	*gil = tstate_remember(pi, tgid, thread_ptr, tstate);
	return tstate;
}

#endif /* __TSTATE_BPF_H */
