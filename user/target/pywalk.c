// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdbool.h>
#include <string.h>
#include "pywalk.h"
#include "remote.h"

static __u64 rd_ptr(pid_t pid, __u64 addr)
{
	__u64 v = 0;

	return remote__read_u64(pid, addr, &v) ? 0 : v;
}

static __u32 rd_u32(pid_t pid, __u64 addr)
{
	__u32 v = 0;

	return remote__read(pid, addr, &v, sizeof(v)) ? 0 : v;
}

static bool valid(__s16 off)
{
	return off >= 0;
}

__u64 pywalk__find_tstate(pid_t pid, const struct py_proc_info *pi, __u64 thread_ptr)
{
	__u64 interp = rd_ptr(pid, pi->interp_head_addr), tstate;
	unsigned int steps = 0;

	for (int i = 0; interp && i < PYBPFPROF_MAX_INTERPS; i++) {
		tstate = rd_ptr(pid, interp + pi->interp_tstate_head);
		while (tstate && steps++ < PYBPFPROF_MAX_THREADS) {
			if (rd_ptr(pid, tstate + pi->tstate_thread_id) == thread_ptr)
				return tstate;
			tstate = rd_ptr(pid, tstate + pi->tstate_next);
		}
		interp = rd_ptr(pid, interp + pi->interp_next);
	}
	return 0;
}

static __u64 buf_u64(const __u8 *b, __s16 off)
{
	__u64 v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

static __u32 buf_u32(const __u8 *b, __s16 off)
{
	__u32 v;

	memcpy(&v, b + off, sizeof(v));
	return v;
}

/*
 * One system call a frame: the next frame's read carries the checksum
 * window of the code object just recorded.
 */
unsigned int pywalk__stack(pid_t pid, const struct py_proc_info *pi, __u64 tstate,
			   struct py_frame *out, unsigned int max, __u16 *flags, __u64 *top)
{
	__u8 fb[PYBPFPROF_FRAME_BUF_SIZE + 8];
	unsigned int n = 0, size = pi->frame_read_size, got;
	__u64 frame, code, back, window[4], cksum_at;

	*flags = 0;
	if (size > PYBPFPROF_FRAME_BUF_SIZE)
		size = PYBPFPROF_FRAME_BUF_SIZE;
	frame = rd_ptr(pid, tstate + pi->tstate_frame);
	if (frame && valid(pi->cframe_frame))
		frame = rd_ptr(pid, frame + pi->cframe_frame);
	*top = frame;
	memset(fb, 0, sizeof(fb));
	if (frame && remote__read(pid, frame, fb, size)) {
		*flags |= SAMPLE_READ_ERROR;
		return 0;
	}
	/* As in the kernel: shim frames take steps too, one per Python frame. */
	for (unsigned int step = 0; frame && step < 2 * PYBPFPROF_MAX_DEPTH; step++) {
		__u32 lasti, tlbc;

		code = buf_u64(fb, pi->frame_code) & pi->code_ptr_mask;
		back = buf_u64(fb, pi->frame_back);
		cksum_at = 0;
		if (!(valid(pi->frame_owner) && fb[pi->frame_owner] >= pi->owner_skip_min) &&
		    !(pi->none_addr && code == pi->none_addr) && code) {
			if (n >= max) {
				*flags |= SAMPLE_TRUNCATED;
				return n;
			}
			if (pi->instr_kind == PY_INSTR_POINTER)
				lasti = (__u32)(buf_u64(fb, pi->frame_instr) - code);
			else
				lasti = buf_u32(fb, pi->frame_instr);
			cksum_at = code + pi->code_cksum;
			if (valid(pi->frame_tlbc) && !(code >> PY_FRAME_TLBC_SHIFT)) {
				tlbc = buf_u32(fb, pi->frame_tlbc);
				if (tlbc > PY_FRAME_TLBC_UNKNOWN)
					tlbc = PY_FRAME_TLBC_UNKNOWN;
				code |= (__u64)tlbc << PY_FRAME_TLBC_SHIFT;
			}
			out[n].code = code;
			out[n].lasti = lasti;
			out[n].cksum = 0;
			n++;
		}
		frame = back;
		memset(fb, 0, sizeof(fb));
		got = remote__read2(pid, cksum_at, window, sizeof(window), frame, fb, size);
		if (got & 1)
			out[n - 1].cksum = py_code_cksum(window);
		/* A failed first read stops the second: try it alone. */
		if (frame && !(got & 2) && (!cksum_at || (got & 1) ||
					    remote__read(pid, frame, fb, size))) {
			*flags |= SAMPLE_READ_ERROR;
			return n;
		}
	}
	if (frame)
		*flags |= SAMPLE_TRUNCATED;
	return n;
}

__u64 pywalk__gil(pid_t pid, const struct py_proc_info *pi, __u64 tstate)
{
	if (pi->gil_kind != GIL_KIND_HOLDER)
		return 0;
	if (pi->gil_addr)
		return pi->gil_addr;
	if (!valid(pi->interp_gil_ptr) || !valid(pi->tstate_interp))
		return 0;
	return rd_ptr(pid, rd_ptr(pid, tstate + pi->tstate_interp) + pi->interp_gil_ptr);
}

__u8 pywalk__gil_state(pid_t pid, const struct py_proc_info *pi, __u64 tstate, __u64 gil)
{
	__u32 locked = 0;
	__u64 holder = 0;

	switch (pi->gil_kind) {
	case GIL_KIND_HOLDER:
		/* Both fields in one system call. */
		if (!gil || remote__read2(pid, gil + pi->gil_locked, &locked, sizeof(locked),
					  gil + pi->gil_holder, &holder, sizeof(holder)) != 3)
			return GIL_STATE_UNKNOWN;
		return locked && holder == tstate ? GIL_STATE_HELD : GIL_STATE_NONE;
	case GIL_KIND_FREE:
		if (!valid(pi->tstate_status))
			return GIL_STATE_UNKNOWN;
		return rd_u32(pid, tstate + pi->tstate_status) & PY_TSTATE_STATUS_ACTIVE ?
		       GIL_STATE_ATTACHED : GIL_STATE_NONE;
	default:
		return GIL_STATE_UNKNOWN;
	}
}
