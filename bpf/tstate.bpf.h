/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Finding the sampled thread's PyThreadState: its thread_id is
 * pthread_self(), the task's FS base; cached per (process, thread).
 */
#ifndef __TSTATE_BPF_H
#define __TSTATE_BPF_H

/* ---- finding the thread state ---------------------------------------- */

struct find_ctx {
	__u64 interp_head_addr;
	__u64 thread_ptr;
	__u64 interp;		/* current interpreter */
	__u64 tstate;		/* current thread state; 0: go to next interp */
	__u64 found;
	__s16 interp_next;
	__s16 interp_tstate_head;
	__s16 tstate_next;
	__s16 tstate_thread_id;
	bool started;
};

/* One step of the walk over every interpreter's thread list. */
static long find_step(__u32 i, struct find_ctx *c)
{
	if (!c->tstate) {
		if (!c->started) {
			c->started = true;
			c->interp = read_ptr(c->interp_head_addr);
		} else {
			c->interp = read_ptr(c->interp + c->interp_next);
		}
		if (!c->interp)
			return 1;
		c->tstate = read_ptr(c->interp + c->interp_tstate_head);
		return 0;
	}
	if (read_ptr(c->tstate + c->tstate_thread_id) == c->thread_ptr) {
		c->found = c->tstate;
		return 1;
	}
	c->tstate = read_ptr(c->tstate + c->tstate_next);
	return 0;
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

/* The thread state, and (when known) its GIL's address in *@gil. */
static __always_inline __u64 find_tstate(const struct py_proc_info *pi, __u32 tgid,
					 __u64 thread_ptr, __u64 *gil)
{
	struct tstate_key key = { .tgid = tgid, .thread_ptr = thread_ptr };
	struct tstate_val val = {};
	struct tstate_val *cached;
	struct find_ctx c = {};
	__u64 now;

	*gil = 0;
	cached = bpf_map_lookup_elem(&tstate_cache, &key);
	if (cached) {
		/* Re-check: the thread state may have been freed and reused. */
		if (cached->tstate &&
		    read_ptr(cached->tstate + pi->tstate_thread_id) == thread_ptr) {
			*gil = cached->gil;
			return cached->tstate;
		}
		if (!cached->tstate &&
		    bpf_ktime_get_ns() - cached->ktime_ns < NEGATIVE_TTL_NS)
			return 0;
	}

	count(CNT_TSTATE_WALKS);
	c.interp_head_addr = pi->interp_head_addr;
	c.thread_ptr = thread_ptr;
	c.interp_next = pi->interp_next;
	c.interp_tstate_head = pi->interp_tstate_head;
	c.tstate_next = pi->tstate_next;
	c.tstate_thread_id = pi->tstate_thread_id;
	bpf_loop(PYBPFPROF_MAX_THREADS + PYBPFPROF_MAX_INTERPS, find_step, &c, 0);

	now = bpf_ktime_get_ns();
	val.tstate = c.found;
	val.ktime_ns = now;
	if (c.found)
		val.gil = gil_of(pi, c.found);
	*gil = val.gil;
	bpf_map_update_elem(&tstate_cache, &key, &val, BPF_ANY);
	return c.found;
}

/*
 * At a context switch, where every nanosecond counts: a cached thread
 * state is taken without the re-check (a user memory read); whoever
 * walks from it (only when a sample is sent) re-checks it then.
 */
static __always_inline __u64 find_tstate_cached(const struct py_proc_info *pi, __u32 tgid,
						__u64 thread_ptr, __u64 *gil)
{
	struct tstate_key key = { .tgid = tgid, .thread_ptr = thread_ptr };
	struct tstate_val *cached = bpf_map_lookup_elem(&tstate_cache, &key);

	if (cached && cached->tstate) {
		*gil = cached->gil;
		return cached->tstate;
	}
	return find_tstate(pi, tgid, thread_ptr, gil);
}

#endif /* __TSTATE_BPF_H */
