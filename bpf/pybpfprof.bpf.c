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
#include "sample.bpf.h"
#include "events.bpf.h"
#include "offcpu.bpf.h"
#include "native.bpf.h"
#include "legacy.bpf.h"

/* One CPU-clock tick; @native: with the native part (a constant per program). */
static __always_inline int sample_tick(struct bpf_perf_event_data *ctx, bool native)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32, tid = (__u32)id;
	struct task_struct *task;
	struct py_proc_info *pi;
	__u64 tstate, gil;

	task = (struct task_struct *)bpf_get_current_task();
	pi = tick_proc(tgid, task);
	if (!pi)
		return 0;

	tstate = find_tstate(pi, tgid, BPF_CORE_READ(task, thread.fsbase), &gil);
	if (!tstate) {
		count(CNT_PY_NO_TSTATE);
		return 0;
	}
	if (native)
		native_sample(ctx, pi, tgid, tid, tstate, gil_state(pi, tstate, gil),
			      bpf_ktime_get_ns());
	else
		emit_stack(pi, tgid, tid, tstate, gil_state(pi, tstate, gil), bpf_ktime_get_ns(), 0);
	return 0;
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	return sample_tick(ctx, false);
}

/* --native (5.19+: a ring record of a size known at run time), in on_sample's place. */
SEC("perf_event")
int on_sample_native(struct bpf_perf_event_data *ctx)
{
	return sample_tick(ctx, true);
}

/* ---- wall mode: the snapshot of threads off CPU (--mode wall only) ---- */

SEC("iter/task")
int offcpu_scan(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *task = ctx->task;

	/* Once, into a register: a second load of ctx->task is not null-checked. */
	barrier_var(task);
	if (task)
		offcpu_scan_task(seq, task);
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

	if (child->pid != ctgid || ptgid == ctgid) {
		/*
		 * A new thread. Its pthread may reuse the thread pointer of one
		 * that exited: whatever was cached for that pointer (a thread
		 * state, or "none" from before it was bound) is not this one's.
		 */
		struct tstate_key key = { .tgid = ctgid, .thread_ptr = child->thread.fsbase };

		if (bpf_map_lookup_elem(&py_procs, &ctgid))
			bpf_map_delete_elem(&tstate_cache, &key);
		return 0;
	}
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
