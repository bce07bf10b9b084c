/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Walking a thread's Python frames into a sample record.
 *
 * One frame is one walk_frame(); two drivers repeat it. On 5.17+ a
 * bpf_loop callback walks WALK_CHUNK frames per call, so the indirect
 * call (a retpoline on some CPUs) is paid once per chunk rather than per
 * frame. Before 5.17 (no bpf_loop), the walk_tail program of legacy.bpf.h
 * walks TAIL_CHUNK frames per run and tail-calls itself. Both keep their
 * state in the per-CPU walk_states map, step the same frames in the same
 * order within the same budget of WALK_STEPS, and so write the same
 * records.
 */
#ifndef __WALK_BPF_H
#define __WALK_BPF_H

#define WALK_CHUNK 8		/* frames per bpf_loop callback */

#include "walk_state.bpf.h"

static __always_inline __u64 buf_u64(const __u8 *fb, __s16 off)
{
	return *(const __u64 *)&fb[off & (FRAME_BUF_SIZE - 1)];
}

static __always_inline __u32 buf_u32(const __u8 *fb, __s16 off)
{
	return *(const __u32 *)&fb[off & (FRAME_BUF_SIZE - 1)];
}

/*
 * The @size bytes of the current frame, or NULL when unreadable. 3.11+
 * frames come out of a window of the data stack: the memory from the
 * start of the frame's page up to its end, where its callers (at lower
 * addresses) mostly are, so the walk finds them already read. The window
 * stays within the frame's own pages, which are mapped since the frame
 * is there: the page below may not be (a data stack chunk's start), and
 * a read that faults costs more than it saves.
 */
static __always_inline __u8 *frame_bytes(struct walk_ctx *c, struct sample_buf *s, __u32 size)
{
	__u64 rel, end = c->frame + size, start, n;

	if (!c->contiguous) {
		if (bpf_probe_read_user(s->frame, size, (const void *)c->frame))
			return NULL;
		return s->frame;
	}
	rel = c->frame - c->win_base;
	if (c->win_len && c->frame >= c->win_base && rel + size <= c->win_len)
		return &s->window[rel & (STACK_WINDOW - 1)];

	start = c->frame & PAGE_MASK_4K;
	if (end - start > STACK_WINDOW)
		start = end - STACK_WINDOW;
	n = end - start;
	/* Hide the bound from the compiler so it keeps the check the verifier needs. */
	barrier_var(n);
	if (!n || n > STACK_WINDOW || bpf_probe_read_user(s->window, n, (const void *)start)) {
		c->win_len = 0;
		return NULL;
	}
	c->win_base = start;
	c->win_len = n;
	return &s->window[(c->frame - start) & (STACK_WINDOW - 1)];
}

/*
 * The checksum of the code object at @code. A code object met twice in
 * one sample (recursion) is read once: the stack holds a reference to it
 * for the whole sample, so it is the same object both times.
 */
static __always_inline __u32 code_cksum(struct walk_state *ws, struct sample_buf *s, __u64 code)
{
	struct walk_ctx *c = &ws->w;
	struct seen_slot *slot;
	__u32 cksum = 0;

	/* Code objects are 16-byte aligned and hundreds of bytes long. */
	slot = &c->seen[(code >> 8) & (SEEN_SLOTS - 1)];
	if (slot->code == code)
		return slot->cksum;
	if (!bpf_probe_read_user(s->code, sizeof(s->code), (const void *)(code + c->code_cksum)))
		cksum = py_code_cksum(s->code);
	slot->code = code;
	slot->cksum = cksum;
	return cksum;
}

/*
 * --native: the run of frames walked since the last boundary was entered
 * through @addr, an object on the C stack of the eval loop call that ran
 * it. Userspace only keeps those it finds on the stack it unwinds.
 */
static __always_inline void walk_bound(struct walk_ctx *c, struct sample_buf *s, __u64 addr)
{
	struct native_bound *b;

	if (!addr || c->nbounds >= PY_NATIVE_MAX_BOUNDS)
		return;
	b = &s->bounds[c->nbounds & (PY_NATIVE_MAX_BOUNDS - 1)];
	b->addr = addr;
	b->pos = c->n;
	b->pad = 0;
	c->nbounds++;
}

/*
 * One frame: copy it, skip shims, record (code, position, checksum).
 * 0: go on with the next frame; 1: the walk is over.
 */
static __always_inline int walk_frame(struct walk_state *ws, struct sample_buf *s)
{
	struct walk_ctx *c = &ws->w;
	__u32 lasti, tlbc, cksum, size = c->read_size;
	__u64 code, back;
	__u8 *fb;

	if (!c->frame || c->steps >= WALK_STEPS)
		return 1;
	c->steps++;
	if (size > FRAME_BUF_SIZE)
		size = FRAME_BUF_SIZE;
	fb = frame_bytes(c, s, size);
	if (!fb) {
		c->flags |= SAMPLE_READ_ERROR;
		return 1;
	}
	code = buf_u64(fb, c->frame_code) & c->code_ptr_mask;
	back = buf_u64(fb, c->frame_back);

	/* Interpreter entry/shim frames: never emitted, followed through. */
	if ((valid_off(c->frame_owner) &&
	     fb[c->frame_owner & (FRAME_BUF_SIZE - 1)] >= c->owner_skip_min) ||
	    (c->none_addr && code == c->none_addr) || !code) {
		/* An eval loop call's entry frame, on its C stack (3.12+). */
		if (c->native && code)
			walk_bound(c, s, c->frame);
		c->frame = back;
		return 0;
	}
	if (c->n >= c->limit) {
		c->flags |= SAMPLE_TRUNCATED;
		return 1;
	}

	if (c->instr_kind == PY_INSTR_POINTER)
		lasti = (__u32)(buf_u64(fb, c->frame_instr) - code);
	else
		lasti = buf_u32(fb, c->frame_instr);

	cksum = code_cksum(ws, s, code);

	/*
	 * Free-threaded: which copy of the bytecode instr_ptr points into.
	 * Shipped in the unused high bits of the address (see struct
	 * py_frame); userspace finds the copy. No extra read here.
	 */
	if (valid_off(c->frame_tlbc) && !(code >> PY_FRAME_TLBC_SHIFT)) {
		tlbc = buf_u32(fb, c->frame_tlbc);	/* int32; < 0: bogus */
		if (tlbc > PY_FRAME_TLBC_UNKNOWN)
			tlbc = PY_FRAME_TLBC_UNKNOWN;
		code |= (__u64)tlbc << PY_FRAME_TLBC_SHIFT;
	}

	s->frames[c->n & (PYBPFPROF_MAX_DEPTH - 1)].code = code;
	s->frames[c->n & (PYBPFPROF_MAX_DEPTH - 1)].lasti = lasti;
	s->frames[c->n & (PYBPFPROF_MAX_DEPTH - 1)].cksum = cksum;
	c->n++;
	c->frame = back;
	/* 3.11: the first frame of an eval loop call, whose _PyCFrame is next. */
	if (c->native && valid_off(c->frame_is_entry) &&
	    fb[c->frame_is_entry & (FRAME_BUF_SIZE - 1)]) {
		walk_bound(c, s, c->cframe);
		c->cframe = c->cframe ? read_ptr(c->cframe + c->cframe_previous) : 0;
	}
	return 0;
}

/* Set up a walk from @frame, the thread's current frame. */
static __always_inline void walk_begin(struct walk_state *ws, const struct py_proc_info *pi,
				       __u64 frame)
{
	struct walk_ctx *c = &ws->w;

	c->frame = frame;
	c->win_base = 0;
	c->win_len = 0;
	c->none_addr = pi->none_addr;
	c->code_ptr_mask = pi->code_ptr_mask;
	for (int i = 0; i < SEEN_SLOTS; i++)
		c->seen[i].code = 0;
	c->n = 0;
	c->limit = max_depth;
	c->steps = 0;
	c->flags = 0;
	c->read_size = pi->frame_read_size;
	c->frame_back = pi->frame_back;
	c->frame_code = pi->frame_code;
	c->frame_instr = pi->frame_instr;
	c->frame_owner = pi->frame_owner;
	c->frame_tlbc = pi->frame_tlbc;
	c->contiguous = pi->frames_contiguous;
	c->code_cksum = pi->code_cksum;
	c->owner_skip_min = pi->owner_skip_min;
	c->instr_kind = pi->instr_kind;
	c->native = 0;
	c->nbounds = 0;
}

/*
 * The walk is over: flag and count how it ended. false when it found no
 * frame, and there is nothing to send.
 */
static __always_inline bool walk_end(struct walk_ctx *c)
{
	if (c->frame && !(c->flags & SAMPLE_READ_ERROR))
		c->flags |= SAMPLE_TRUNCATED;
	if (c->flags & SAMPLE_TRUNCATED)
		count(CNT_TRUNCATED);
	if (c->flags & SAMPLE_READ_ERROR)
		count(CNT_READ_ERRORS);
	if (!c->n) {
		count(CNT_PY_NO_FRAMES);
		return false;
	}
	return true;
}

/* The record's header: who, when, where, and the walk's flags with @extra_flags. */
static __always_inline void walk_header(struct sample_buf *s, const struct walk_ctx *c,
					__u32 tgid, __u32 tid, __u8 gil, __u64 ktime,
					__u16 extra_flags)
{
	s->hdr.tgid = tgid;
	s->hdr.tid = tid;
	s->hdr.ktime_ns = ktime;
	s->hdr.cpu = bpf_get_smp_processor_id();
	s->hdr.nframes = c->n;
	s->hdr.flags = c->flags | extra_flags;
	s->hdr.gil = gil;
}

/*
 * The walk is over: flag, count and ship the record, with the thread's
 * GIL state. 0, or -1 when there was nothing to send (no frame, ring full).
 */
static __always_inline int walk_submit(struct walk_state *ws, struct sample_buf *s, __u32 tgid,
				       __u32 tid, __u8 gil, __u64 ktime, __u16 extra_flags)
{
	struct walk_ctx *c = &ws->w;
	__u32 size;

	if (!walk_end(c))
		return -1;
	walk_header(s, c, tgid, tid, gil, ktime, extra_flags);
	size = sizeof(s->hdr) + (c->n & (PYBPFPROF_MAX_DEPTH - 1)) * sizeof(struct py_frame);
	if (c->n >= PYBPFPROF_MAX_DEPTH)
		size = sizeof(s->hdr) + sizeof(s->frames);
	if (bpf_ringbuf_output(&samples, s, size, BPF_RB_NO_WAKEUP)) {
		count(CNT_LOST);
		return -1;
	}
	count(CNT_PY_SAMPLES);
	return 0;
}

/* The thread's current frame from its state (0: none). */
static __always_inline __u64 thread_frame(const struct py_proc_info *pi, __u64 tstate)
{
	__u64 frame = read_ptr(tstate + pi->tstate_frame);

	if (frame && valid_off(pi->cframe_frame))
		frame = read_ptr(frame + pi->cframe_frame);
	return frame;
}

/* ---- the bpf_loop walker (5.17+) -------------------------------------- */

struct walk_loop {
	struct walk_state *ws;
	struct sample_buf *s;
};

static long walk_chunk(__u32 i, struct walk_loop *l)
{
	struct walk_state *ws = l->ws;
	struct sample_buf *s = l->s;

	if (!ws || !s)
		return 1;
	for (int k = 0; k < WALK_CHUNK; k++)
		if (walk_frame(ws, s))
			return 1;
	return 0;
}

static __always_inline void walk_frames(struct walk_state *ws, struct sample_buf *s)
{
	struct walk_loop l = { .ws = ws, .s = s };

	bpf_loop(WALK_STEPS / WALK_CHUNK, walk_chunk, &l, 0);
}

#endif /* __WALK_BPF_H */
