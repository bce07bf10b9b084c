/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One sample record: the current thread's Python stack, walked and
 * copied into the ring, with its GIL state. Written by the CPU-clock
 * sampler for the thread it interrupted (wall mode's threads off CPU are
 * read by userspace, from the snapshot's task iterator).
 */
#ifndef __SAMPLE_BPF_H
#define __SAMPLE_BPF_H

/* u32 at @addr, or 0 when unreadable. */
static __always_inline __u32 read_u32(__u64 addr)
{
	__u32 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		return 0;
	return v;
}

/* Does @tstate hold the GIL @gil (or, free-threaded, is it attached)? */
static __always_inline __u8 gil_state(const struct py_proc_info *pi, __u64 tstate, __u64 gil)
{
	switch (pi->gil_kind) {
	case GIL_KIND_HOLDER:
		if (!gil)
			return GIL_STATE_UNKNOWN;
		/* last_holder outlives a release: only trust it while locked. */
		if (read_u32(gil + pi->gil_locked) && read_ptr(gil + pi->gil_holder) == tstate)
			return GIL_STATE_HELD;
		return GIL_STATE_NONE;
	case GIL_KIND_FREE:
		if (!valid_off(pi->tstate_status))
			return GIL_STATE_UNKNOWN;
		return read_u32(tstate + pi->tstate_status) & PY_TSTATE_STATUS_ACTIVE ?
		       GIL_STATE_ATTACHED : GIL_STATE_NONE;
	default:
		return GIL_STATE_UNKNOWN;
	}
}

/*
 * A walk of the current thread from @tstate, begun in the per-CPU walk
 * state; its record in *@s. NULL when the thread has no frame (counted)
 * or the per-CPU maps cannot be had.
 */
static __always_inline struct walk_state *walk_start(const struct py_proc_info *pi, __u64 tstate,
						     struct sample_buf **s)
{
	struct walk_state *ws = walk_state();
	__u32 key = 0;
	__u64 frame;

	frame = thread_frame(pi, tstate);
	if (!frame) {
		count(CNT_PY_NO_FRAMES);
		return NULL;
	}
	*s = bpf_map_lookup_elem(&scratch, &key);
	if (!*s || !ws)
		return NULL;
	walk_begin(ws, pi, frame);
	return ws;
}

/*
 * Walk the current thread's frames from @tstate and submit the record.
 * 0, or -1 when there was nothing to send (no frame, ring full).
 */
static __always_inline int emit_stack(const struct py_proc_info *pi, __u32 tgid, __u32 tid,
				      __u64 tstate, __u8 gil, __u64 ktime, __u16 extra_flags)
{
	struct sample_buf *s = NULL;
	struct walk_state *ws = walk_start(pi, tstate, &s);

	if (!ws)
		return -1;
	walk_frames(ws, s);
	return walk_submit(ws, s, tgid, tid, gil, ktime, extra_flags);
}

#endif /* __SAMPLE_BPF_H */
