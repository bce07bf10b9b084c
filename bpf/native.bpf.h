/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * --native: a sample's record carries, after its Python frames, what
 * userspace needs to unwind the native stack (struct native_part): the
 * thread's user registers, the top of its user stack, where each run of
 * Python frames was entered on that stack (walk_bound()) and, with
 * --kernel, the kernel stack. Unwinding is userspace's (DWARF CFI with
 * libdw): the kernel only copies.
 *
 * The record's size varies with all four parts, so it is reserved as a
 * dynptr of the ring (5.19+) and written piece by piece: one copy of
 * each part, no record of the largest size in the ring.
 */
#ifndef __NATIVE_BPF_H
#define __NATIVE_BPF_H

/*
 * The rest of a --native record, beside the sample buffer (a per-CPU
 * value is at most 32 KiB). The sampler's alone: nothing else takes one.
 */
struct native_buf {
	struct native_part np;
	__u64 kips[PY_NATIVE_MAX_KERNEL + 1];
	/* Read a page at a time: room for one page past the end. */
	__u8 stack[PY_NATIVE_MAX_STACK + 4096];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct native_buf);
} native_bufs SEC(".maps");

/* The thread's user registers, whether the tick came in user or kernel mode. */
static __always_inline void native_regs(struct native_part *np)
{
	struct pt_regs *r = (struct pt_regs *)bpf_task_pt_regs(bpf_get_current_task_btf());

	np->regs[PY_NATIVE_IP] = r->ip;
	np->regs[PY_NATIVE_SP] = r->sp;
	np->regs[PY_NATIVE_BP] = r->bp;
	np->regs[PY_NATIVE_BX] = r->bx;
	np->regs[PY_NATIVE_R12] = r->r12;
	np->regs[PY_NATIVE_R13] = r->r13;
	np->regs[PY_NATIVE_R14] = r->r14;
	np->regs[PY_NATIVE_R15] = r->r15;
}

/*
 * Up to native_stack_size bytes of user stack from @sp, a page at a
 * time: the read stops at the first page not mapped (the top of the
 * main thread's stack) with what came before it kept. The bytes copied.
 */
/*
 * How much of the stack above @sp to copy: native_stack_size, or less
 * when the outermost run of Python frames was entered below that. What
 * lies above its eval loop's C frame is the program's start (main,
 * Py_RunMain, a thread's start), which the splice drops anyway; copying
 * it cost 3 us a sample at 8 KiB, nearly all of --native's in-kernel
 * cost. NATIVE_ROOT_SLACK keeps the rest of that eval loop frame and its
 * caller's. The last bounds are looked at: 3.11's root _PyCFrame lies in
 * the thread state, off the stack.
 */
#define NATIVE_ROOT_SLACK 1024
static __always_inline __u64 native_copy_size(const struct sample_buf *s, __u32 nbounds, __u64 sp)
{
	__u64 want = native_stack_size;

	if (want > PY_NATIVE_MAX_STACK)
		want = PY_NATIVE_MAX_STACK;
	for (int i = 1; i <= 3; i++) {
		__u32 k = nbounds - i;
		__u64 addr;

		if (nbounds < (__u32)i || k >= PY_NATIVE_MAX_BOUNDS)
			break;
		/*
		 * The mask changes nothing after the check above, but 6.1's
		 * verifier loses the check's bound on the copy clang indexes
		 * with ("unbounded memory access"); 6.18's keeps it. The
		 * barrier keeps clang from dropping the mask as redundant.
		 */
		barrier_var(k);
		addr = s->bounds[k & (PY_NATIVE_MAX_BOUNDS - 1)].addr;
		if (addr >= sp && addr - sp < want) {
			if (addr - sp + NATIVE_ROOT_SLACK < want)
				want = addr - sp + NATIVE_ROOT_SLACK;
			break;
		}
	}
	return want;
}

static __always_inline __u32 native_copy_stack(struct native_buf *nb, __u64 sp, __u64 want)
{
	__u64 off = 0, n;

	if (want > PY_NATIVE_MAX_STACK)
		want = PY_NATIVE_MAX_STACK;
	for (int i = 0; i < PY_NATIVE_MAX_STACK / 4096 + 1; i++) {
		if (off >= want)
			break;
		n = 4096 - ((sp + off) & 4095);
		if (n > want - off)
			n = want - off;
		/* Bounds the verifier can follow (hidden from the compiler): off < 16K, n <= 4K. */
		barrier_var(n);
		barrier_var(off);
		if (!n || n > 4096 || off >= PY_NATIVE_MAX_STACK)
			break;
		if (bpf_probe_read_user(&nb->stack[off], n, (const void *)(sp + off)))
			break;
		off += n;
	}
	return off;
}

/*
 * Ship the walked frames of @ws with the native part: as walk_submit()
 * for the Python part (the same header and counters), then the rest.
 */
static __always_inline int native_submit(void *ctx, struct walk_state *ws, struct sample_buf *s,
					 __u32 tgid, __u32 tid, __u8 gil, __u64 ktime)
{
	struct walk_ctx *c = &ws->w;
	struct native_part *np;
	struct native_buf *buf;
	struct bpf_dynptr rec;
	__u32 py, nb, nk, st, off, zero = 0;
	long kbytes = 0;

	if (!walk_end(c))
		return -1;
	buf = bpf_map_lookup_elem(&native_bufs, &zero);
	if (!buf)
		return -1;
	np = &buf->np;
	walk_header(s, c, tgid, tid, gil, ktime, SAMPLE_NATIVE);

	native_regs(np);
	st = native_copy_stack(buf, np->regs[PY_NATIVE_SP],
			       native_copy_size(s, c->nbounds, np->regs[PY_NATIVE_SP]));
	if (native_kernel)
		kbytes = bpf_get_stack(ctx, buf->kips, PY_NATIVE_MAX_KERNEL * sizeof(__u64), 0);
	nk = kbytes > 0 ? kbytes / sizeof(__u64) : 0;
	nb = c->nbounds;
	np->stack_len = st;
	np->nbounds = nb;
	np->nkernel = nk;

	py = sizeof(s->hdr) + c->n * sizeof(struct py_frame);
	if (c->n >= PYBPFPROF_MAX_DEPTH)
		py = sizeof(s->hdr) + sizeof(s->frames);
	nb *= sizeof(struct native_bound);
	nk *= sizeof(__u64);
	/* Each bounded where the verifier sees it, for the writes below. */
	if (nb > sizeof(s->bounds) || nk > sizeof(buf->kips) || st > PY_NATIVE_MAX_STACK)
		return -1;

	if (bpf_ringbuf_reserve_dynptr(&samples, py + sizeof(*np) + nb + nk + st, 0, &rec)) {
		bpf_ringbuf_discard_dynptr(&rec, 0);
		count(CNT_LOST);
		return -1;
	}
	off = 0;
	bpf_dynptr_write(&rec, off, s, py, 0);
	off += py;
	bpf_dynptr_write(&rec, off, np, sizeof(*np), 0);
	off += sizeof(*np);
	if (nb)
		bpf_dynptr_write(&rec, off, s->bounds, nb, 0);
	off += nb;
	if (nk)
		bpf_dynptr_write(&rec, off, buf->kips, nk, 0);
	off += nk;
	if (st)
		bpf_dynptr_write(&rec, off, buf->stack, st, 0);
	bpf_ringbuf_submit_dynptr(&rec, BPF_RB_NO_WAKEUP);
	count(CNT_PY_SAMPLES);
	return 0;
}

/*
 * The sampler with --native (loaded in place of on_sample): the Python
 * walk noting boundaries, then the native part.
 */
static __always_inline int native_sample(void *ctx, const struct py_proc_info *pi, __u32 tgid,
					 __u32 tid, __u64 tstate, __u8 gil, __u64 ktime)
{
	struct sample_buf *s = NULL;
	struct walk_state *ws = walk_start(pi, tstate, &s);

	if (!ws)
		return -1;
	ws->w.native = native_stack_size > 0;	/* --kernel alone: no boundaries */
	ws->w.frame_is_entry = pi->frame_is_entry;
	ws->w.cframe_previous = pi->cframe_previous;
	/* 3.11: the _PyCFrame of the innermost eval loop call. */
	ws->w.cframe = valid_off(pi->frame_is_entry) && valid_off(pi->cframe_previous) ?
		       read_ptr(tstate + pi->tstate_frame) : 0;
	walk_frames(ws, s);
	return native_submit(ctx, ws, s, tgid, tid, gil, ktime);
}

#endif /* __NATIVE_BPF_H */
