/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Wall mode: where Python threads spend their time off CPU.
 *
 * A thread's off-CPU time is sampled on a grid of its own: points every
 * wall_period_ns (1/HZ), at a phase fixed per thread, so a thread off
 * CPU for d ns earns d/period samples on average, whatever the lengths
 * of its waits, and its samples (on CPU from the CPU-clock sampler, off
 * CPU from here) add up to its wall time at the chosen rate.
 *
 * Only tracepoints are used (kprobes and fentry are missing or denied on
 * many kernels, this one among them):
 *  - switch-out (sched_switch, the thread still current): note when and
 *    why it stops. Blocked in a system call (the common case: sleep,
 *    I/O, locks, the GIL's futex), that is all: a map update, no walk.
 *    Preempted, or blocked outside a system call (a page fault), nothing
 *    will run in its context before it runs Python again, so its stack
 *    is walked now and sent with no weight yet (SAMPLE_PENDING).
 *  - the system call's return (raw_syscalls/sys_exit, the thread current
 *    again, its Python stack exactly as when it blocked): count the grid
 *    points of its time off CPU and, only when there are any, walk its
 *    stack once for one record standing for all of them. Short waits
 *    cost a lookup.
 *  - switch-in (sched_switch, as next) of a thread whose stack went out
 *    at switch-out: a record of its weight alone (SAMPLE_WEIGHT).
 *  - the scan (iter/task, run by userspace every second and at window
 *    ends): threads still off CPU (blocked for long, or since before the
 *    profiler started) have their time so far claimed; userspace walks
 *    their stacks itself (they are not running).
 */
#ifndef __OFFCPU_BPF_H
#define __OFFCPU_BPF_H

/* arch/x86/entry/syscalls/syscall_64.tbl */
#define NR_FUTEX 202
/* x86-64 THREAD_SIZE without KASAN: where a task's user registers sit. */
#define KERNEL_STACK_SIZE 16384

struct task_struct___o {
	volatile long state;
} __attribute__((preserve_access_index));

/* A task's state word: __state since 5.14, state before. */
static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return BPF_CORE_READ((struct task_struct___o *)t, state);
}

/* The system call @t is blocked in (-1 if none), and its first argument. */
static __always_inline long task_syscall(struct task_struct *t, __u64 *arg0)
{
	struct pt_regs *regs;

	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs))
		regs = (struct pt_regs *)bpf_task_pt_regs(t);
	else
		regs = (struct pt_regs *)((void *)BPF_CORE_READ(t, stack) + KERNEL_STACK_SIZE) - 1;
	*arg0 = BPF_CORE_READ(regs, di);
	return (long)BPF_CORE_READ(regs, orig_ax);
}

/* Why a blocked thread waits: the GIL, or system call N (as N + 1). */
static __always_inline __u16 offcpu_reason(long nr, __u64 arg0, __u64 gil, __u16 gil_size)
{
	if (nr < 0 || nr >= OFFCPU_SYSCALL_MAX)
		return OFFCPU_BLOCKED;
	/* A futex inside the GIL struct: its cond or mutex. */
	if (nr == NR_FUTEX && gil && arg0 >= gil && arg0 < gil + gil_size)
		return OFFCPU_GIL;
	return (__u16)(nr + 1);
}

/* Grid points of thread @tid in (t0, t1]; the last one's time in *@last. */
static __always_inline __u32 grid_points(__u32 tid, __u64 t0, __u64 t1, __u64 *last)
{
	__u64 p = wall_period_ns, ph, a, b;

	if (!p || t1 <= t0)
		return 0;
	ph = ((__u64)tid * 0x9e3779b97f4a7c15ULL) % p;
	if (t0 < ph)
		t0 = ph;
	a = (t0 - ph) / p;
	b = (t1 - ph) / p;
	*last = ph + b * p;
	return b - a > 0xffffffffULL ? 0xffffffffU : (__u32)(b - a);
}

/* A record that only carries weight, for the stack a switch-out sent. */
static __always_inline void emit_weight(__u32 tgid, __u32 tid, __u32 weight, __u64 ktime)
{
	struct sample_hdr *h = bpf_ringbuf_reserve(&samples, sizeof(*h), 0);

	if (!h) {
		count(CNT_LOST);
		return;
	}
	__builtin_memset(h, 0, sizeof(*h));
	h->tgid = tgid;
	h->tid = tid;
	h->ktime_ns = ktime;
	h->flags = SAMPLE_WEIGHT;
	h->weight = weight;
	bpf_ringbuf_submit(h, BPF_RB_NO_WAKEUP);
}

/* sched_switch, @prev still current: note when and why it stops running. */
static __always_inline void offcpu_switch_out(bool preempt, struct task_struct *prev)
{
	struct py_proc_info *pi;
	struct task_wall *w;
	__u32 tgid = prev->tgid, tid = prev->pid;
	__u64 tstate, gil, fsbase, arg0 = 0;
	long nr = -1;

	pi = bpf_map_lookup_elem(&py_procs, &tgid);
	if (!pi)
		return;
	w = bpf_task_storage_get(&task_walls, prev, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!w) {
		count(CNT_OFFCPU_LOST);
		return;
	}
	/*
	 * Off CPU again before its system call returned (preempted in the
	 * kernel): the span that began earlier is still open, keep it.
	 */
	if (w->t_out && !w->pending)
		return;
	fsbase = prev->thread.fsbase;
	if (w->tstate && w->fsbase == fsbase && w->tgid == tgid) {
		tstate = w->tstate;
		gil = w->gil;
	} else {
		tstate = find_tstate(pi, tgid, fsbase, &gil, WALK_SLOT_TASK);
		w->tstate = tstate;
		w->gil = gil;
		w->fsbase = fsbase;
		w->tgid = tgid;
	}
	if (!tstate)
		return;	/* not a Python thread: its time is not profiled */
	count(CNT_SWITCHES);
	w->t_out = bpf_ktime_get_ns();
	w->futex_addr = 0;
	w->pending = 0;
	if (!preempt && task_state(prev) != 0)
		nr = task_syscall(prev, &arg0);
	if (preempt || task_state(prev) == 0) {
		w->offcpu = OFFCPU_RUNQUEUE;
	} else {
		w->offcpu = offcpu_reason(nr, arg0, gil, pi->gil_size);
		if (nr == NR_FUTEX)
			w->futex_addr = arg0;
	}
	/*
	 * Its GIL state is read when a sample is sent: a thread blocked in a
	 * call keeps the GIL, or not, until the call returns.
	 */
	w->gil_state = w->offcpu == OFFCPU_GIL ? GIL_STATE_WAITING : GIL_STATE_UNKNOWN;
	/*
	 * Not in a system call: nothing runs in its context before it runs
	 * Python again, so its stack goes out now, its weight later.
	 */
	if (nr < 0) {
		if (w->gil_state == GIL_STATE_UNKNOWN)
			w->gil_state = gil_state(pi, tstate, gil);
		if (emit_stack(pi, tgid, tid, tstate, 0, w->offcpu, w->gil_state, w->t_out,
			       SAMPLE_PENDING, WALK_SLOT_TASK)) {
			w->t_out = 0;
			return;
		}
		w->pending = 1;
	}
}

/* sched_switch, @next about to run: the weight of a stack sent at switch-out. */
static __always_inline void offcpu_switch_in(struct task_struct *next)
{
	struct task_wall *w = bpf_task_storage_get(&task_walls, next, 0, 0);
	__u64 last = 0, t_out;
	__u32 k;

	if (!w || !w->t_out || !w->pending)
		return;
	t_out = w->t_out;
	w->t_out = 0;
	w->pending = 0;
	k = grid_points(next->pid, t_out, bpf_ktime_get_ns(), &last);
	/* Even with no weight: userspace forgets the stack it holds. */
	emit_weight(w->tgid, next->pid, k, last);
}

/* A system call returns, the thread current again: account its time off CPU. */
static __always_inline void offcpu_syscall_return(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct task_wall *w = bpf_task_storage_get(&task_walls, task, 0, 0);
	__u64 now, last = 0, tstate, gil, t_out;
	struct py_proc_info *pi;
	__u32 tgid, tid, k;
	__u8 gs;

	if (!w || !w->t_out || w->pending)
		return;
	t_out = w->t_out;
	w->t_out = 0;
	now = bpf_ktime_get_ns();
	tid = task->pid;
	k = grid_points(tid, t_out, now, &last);
	if (!k)
		return;
	tgid = task->tgid;
	pi = bpf_map_lookup_elem(&py_procs, &tgid);
	if (!pi)
		return;
	/* Found again with the re-check: it is about to run from it. */
	tstate = find_tstate(pi, tgid, w->fsbase, &gil, WALK_SLOT_TASK);
	if (!tstate)
		return;
	gs = w->gil_state == GIL_STATE_UNKNOWN ? gil_state(pi, tstate, gil) : w->gil_state;
	if (!emit_stack(pi, tgid, tid, tstate, k, w->offcpu, gs, last, 0, WALK_SLOT_TASK))
		count(CNT_OFFCPU_SAMPLES);
}

/* The scan: claim the time of a thread still off CPU, for userspace. */
static __always_inline void offcpu_scan_task(struct seq_file *seq, struct task_struct *task)
{
	struct offcpu_scan_rec rec = {};
	struct task_wall *w;
	__u32 tgid = task->tgid, tid = task->pid;
	__u64 now = bpf_ktime_get_ns(), until = scan_until_ns, arg0 = 0, last = 0;
	long nr;

	if (!bpf_map_lookup_elem(&py_procs, &tgid) || task->on_cpu)
		return;
	if (!until || until > now)
		until = now;
	w = bpf_task_storage_get(&task_walls, task, 0, BPF_LOCAL_STORAGE_GET_F_CREATE);
	if (!w) {
		count(CNT_OFFCPU_LOST);
		return;
	}
	if (!w->t_out) {
		/*
		 * Blocked in a system call since before we looked: its time
		 * counts from now on, until the call returns. (One waiting on a
		 * run queue is left alone: no return from a call would end its
		 * span; it runs again within a scheduler slice anyway.)
		 */
		if (task_state(task) == 0)
			return;
		nr = task_syscall(task, &arg0);
		if (nr < 0)
			return;
		w->t_out = until;
		w->tgid = tgid;
		w->fsbase = task->thread.fsbase;
		w->tstate = 0;
		w->pending = 0;
		/* The GIL check needs its address: userspace makes it. */
		w->offcpu = offcpu_reason(nr, 0, 0, 0);
		w->futex_addr = nr == NR_FUTEX ? arg0 : 0;
		w->gil_state = GIL_STATE_UNKNOWN;
		return;
	}
	if (w->t_out >= until)
		return;
	rec.weight = grid_points(tid, w->t_out, until, &last);
	rec.tgid = tgid;
	rec.tid = tid;
	rec.fsbase = w->fsbase;
	rec.from_ns = w->t_out;
	rec.to_ns = until;
	rec.last_point_ns = last;
	rec.futex_addr = w->futex_addr;
	rec.offcpu = w->offcpu;
	rec.gil = w->gil_state;
	rec.pending = w->pending;
	w->t_out = until;
	if (rec.weight)
		bpf_seq_write(seq, &rec, sizeof(rec));
}

#endif /* __OFFCPU_BPF_H */
