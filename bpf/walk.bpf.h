/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Walking a thread's Python frames into a sample record.
 */
#ifndef __WALK_BPF_H
#define __WALK_BPF_H

/* ---- walking the frames ---------------------------------------------- */

struct walk_ctx {
	struct sample_buf *s;
	__u64 frame;
	__u64 win_base;		/* user address of s->window[0] */
	__u32 win_len;		/* valid bytes in s->window; 0 = empty */
	__u8 contiguous;
	__u64 none_addr;
	__u64 code_ptr_mask;
	__u32 n;
	__u32 limit;
	__u16 flags;
	__u16 read_size;
	__s16 frame_back;
	__s16 frame_code;
	__s16 frame_instr;
	__s16 frame_owner;
	__s16 frame_tlbc;
	__s16 code_cksum;
	__u8 owner_skip_min;
	__u8 instr_kind;
};

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

/* One frame: copy it, skip shims, record (code, position, checksum). */
static long walk_step(__u32 i, struct walk_ctx *c)
{
	__u32 lasti, tlbc, cksum = 0, size = c->read_size;
	struct sample_buf *s = c->s;
	__u64 code, back;
	__u8 *fb;

	if (!c->frame || !s)
		return 1;
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

	if (!bpf_probe_read_user(s->code, sizeof(s->code),
				 (const void *)(code + c->code_cksum)))
		cksum = py_code_cksum(s->code);

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
	return 0;
}

#endif /* __WALK_BPF_H */
