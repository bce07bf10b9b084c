// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
/*
 * pybpfprof: the kernel side.
 *
 * A perf_event program runs on every CPU-clock sample. For a task of a
 * known Python process it finds the thread's PyThreadState by matching
 * PyThreadState.thread_id (pthread_self(), i.e. the thread pointer) with
 * the task's FS base, walks the frame chain, and ships code-object
 * addresses and instruction offsets through a ring buffer. No strings are
 * read here: userspace symbolizes.
 *
 * Tracepoints on exec, fork and exit keep the process table current.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>
#include "pybpfprof.h"
#include "maps.bpf.h"
#include "tstate.bpf.h"
#include "walk.bpf.h"
#include "events.bpf.h"

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id, zero = 0, size;
	struct task_struct *task;
	struct py_proc_info *pi;
	struct walk_ctx w = {};
	struct sample_buf *s;
	__u64 thread_ptr, tstate, frame;

	if (!tgid)	/* idle */
		return 0;
	count(CNT_SAMPLES);

	task = (struct task_struct *)bpf_get_current_task();
	pi = bpf_map_lookup_elem(&py_procs, &tgid);
	if (!pi) {
		/* Kernel threads never run Python: not worth a look from userspace. */
		if (!(BPF_CORE_READ(task, flags) & PF_KTHREAD))
			report_unknown(tgid);
		return 0;
	}

	thread_ptr = BPF_CORE_READ(task, thread.fsbase);
	tstate = find_tstate(pi, tgid, thread_ptr);
	if (!tstate) {
		count(CNT_PY_NO_TSTATE);
		return 0;
	}

	frame = read_ptr(tstate + pi->tstate_frame);
	if (frame && valid_off(pi->cframe_frame))
		frame = read_ptr(frame + pi->cframe_frame);
	if (!frame) {
		count(CNT_PY_NO_FRAMES);
		return 0;
	}

	s = bpf_map_lookup_elem(&scratch, &zero);
	if (!s)
		return 0;

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
		return 0;
	}

	s->hdr.tgid = tgid;
	s->hdr.tid = tid;
	s->hdr.ktime_ns = bpf_ktime_get_ns();
	s->hdr.cpu = bpf_get_smp_processor_id();
	s->hdr.nframes = w.n;
	s->hdr.flags = w.flags;
	size = sizeof(s->hdr) + (w.n & (PYBPFPROF_MAX_DEPTH - 1)) * sizeof(struct py_frame);
	if (w.n == PYBPFPROF_MAX_DEPTH)
		size = sizeof(s->hdr) + sizeof(s->frames);
	if (bpf_ringbuf_output(&samples, s, size, BPF_RB_NO_WAKEUP))
		count(CNT_LOST);
	else
		count(CNT_PY_SAMPLES);
	return 0;
}

/* ---- process lifecycle ------------------------------------------------ */

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p)
{
	__u32 tgid = p->tgid;

	/* The old image's layout is void from here on. */
	bpf_map_delete_elem(&py_procs, &tgid);
	if (is_wanted(tgid))
		emit_event(PYPROF_EVENT_EXEC, tgid, 0);
	return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	struct tstate_key key = { .tgid = task->tgid };
	bool python = bpf_map_lookup_elem(&py_procs, &key.tgid);
	bool want = pid_filter && bpf_map_lookup_elem(&wanted, &key.tgid);

	if (!python && !want)
		return 0;
	/* This thread's pthread (and thread state) may be reused: forget it. */
	key.thread_ptr = task->thread.fsbase;
	if (python)
		bpf_map_delete_elem(&tstate_cache, &key);

	/* signal->live drops before this tracepoint: 0 means the last thread. */
	if (BPF_CORE_READ(task, signal, live.counter) == 0) {
		bpf_map_delete_elem(&py_procs, &key.tgid);
		bpf_map_delete_elem(&wanted, &key.tgid);
		emit_event(PYPROF_EVENT_EXIT, key.tgid, 0);
	}
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid, *want;
	struct py_proc_info *pi;

	if (child->pid != ctgid || ptgid == ctgid)	/* a new thread */
		return 0;
	if (pid_filter) {
		want = bpf_map_lookup_elem(&wanted, &ptgid);
		if (!want || !(*want & WANT_CHILDREN))
			return 0;
		/* A descendant of the command: wanted from its first instruction. */
		bpf_map_update_elem(&wanted, &ctgid, want, BPF_ANY);
	}
	pi = bpf_map_lookup_elem(&py_procs, &ptgid);
	/* fork() copies the address space: the parent's layout holds. */
	if (pi)
		bpf_map_update_elem(&py_procs, &ctgid, pi, BPF_NOEXIST);
	if (pi || pid_filter)
		emit_event(PYPROF_EVENT_FORK, ctgid, ptgid);
	return 0;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
