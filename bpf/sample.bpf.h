/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * One sample record: the current thread's Python stack, walked and
 * copied into the ring, with its weight, where the thread was (on CPU,
 * or off CPU and why) and its GIL state. Shared by the CPU-clock sampler
 * and, in wall mode, the switch-in of a thread that was off CPU.
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
 * Walk the current thread's frames from @tstate and submit the record.
 * 0, or -1 when there was nothing to send (no frame, ring full).
 */
static __always_inline int emit_stack(const struct py_proc_info *pi, __u32 tgid, __u32 tid,
				      __u64 tstate, __u32 weight, __u16 offcpu, __u8 gil,
				      __u64 ktime, __u16 extra_flags)
{
	struct walk_ctx w = {};
	struct sample_buf *s;
	__u32 zero = 0, size;
	__u64 frame;

	frame = read_ptr(tstate + pi->tstate_frame);
	if (frame && valid_off(pi->cframe_frame))
		frame = read_ptr(frame + pi->cframe_frame);
	if (!frame) {
		count(CNT_PY_NO_FRAMES);
		return -1;
	}

	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return -1;

	w.s = s;
	w.frame = frame;
	w.none_addr = pi->none_addr;
	w.code_ptr_mask = pi->code_ptr_mask;
	w.limit = max_depth;
	w.read_size = pi->frame_read_size;
	w.frame_back = pi->frame_back;
	w.frame_code = pi->frame_code;
	w.frame_instr = pi->frame_instr;
	w.frame_owner = pi->frame_owner;
	w.frame_tlbc = pi->frame_tlbc;
	w.contiguous = pi->frames_contiguous;
	w.code_cksum = pi->code_cksum;
	w.owner_skip_min = pi->owner_skip_min;
	w.instr_kind = pi->instr_kind;
	/* Shim frames take loop steps too: allow one per Python frame. */
	bpf_loop(2 * PYBPFPROF_MAX_DEPTH, walk_step, &w, 0);
	if (w.frame && !(w.flags & SAMPLE_READ_ERROR))
		w.flags |= SAMPLE_TRUNCATED;
	if (w.flags & SAMPLE_TRUNCATED)
		count(CNT_TRUNCATED);
	if (w.flags & SAMPLE_READ_ERROR)
		count(CNT_READ_ERRORS);
	if (!w.n) {
		count(CNT_PY_NO_FRAMES);
		return -1;
	}

	s->hdr.tgid = tgid;
	s->hdr.tid = tid;
	s->hdr.ktime_ns = ktime;
	s->hdr.cpu = bpf_get_smp_processor_id();
	s->hdr.nframes = w.n;
	s->hdr.flags = w.flags | extra_flags;
	s->hdr.weight = weight;
	s->hdr.offcpu = offcpu;
	s->hdr.gil = gil;
	s->hdr.pad = 0;
	size = sizeof(s->hdr) + (w.n & (PYBPFPROF_MAX_DEPTH - 1)) * sizeof(struct py_frame);
	if (w.n == PYBPFPROF_MAX_DEPTH)
		size = sizeof(s->hdr) + sizeof(s->frames);
	if (bpf_ringbuf_output(&samples, s, size, BPF_RB_NO_WAKEUP)) {
		count(CNT_LOST);
		return -1;
	}
	count(CNT_PY_SAMPLES);
	return 0;
}

#endif /* __SAMPLE_BPF_H */
