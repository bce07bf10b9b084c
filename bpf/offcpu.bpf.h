/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Wall mode: where Python threads spend their time off CPU.
 *
 * A snapshot, once a sampling period (userspace reads this iterator on
 * a timer): every thread of a profiled process that is not on a CPU now
 * is reported with why (runnable on a run queue, or blocked in system
 * call N, its first argument for the GIL check) and its context-switch
 * count. Userspace walks its stack (process_vm_readv: the thread is not
 * running) or, when the count says it has not run since the last
 * snapshot that found it off CPU, counts the stack it walked then.
 *
 * Running threads are the CPU-clock sampler's: a thread's samples, on
 * CPU from there and off CPU from here, add up to its wall time at the
 * rate. Nothing runs at a context switch or a system call: the cost is
 * per thread and per period, whatever the switch rate (the earlier
 * design, accounting each switch on sched_switch and raw_syscalls/
 * sys_exit, cost a server doing 18,000 switches a second 12.6% of its
 * CPU time).
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

/*
 * A task's state word: __state since 5.14, state before. @t is the
 * iterator's trusted pointer: plain loads, no helper call per field (the
 * snapshot reads every thread of every profiled process each period).
 */
static __always_inline long task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return t->__state;
	return ((struct task_struct___o *)t)->state;
}

/* The system call @t is blocked in (-1 if none), and its first argument. */
static __always_inline long task_syscall(struct task_struct *t, __u64 *arg0)
{
	struct pt_regs *regs;

	if (bpf_core_enum_value_exists(enum bpf_func_id, BPF_FUNC_task_pt_regs)) {
		/* 5.15+: a typed pointer, read with plain loads too. */
		regs = (struct pt_regs *)bpf_task_pt_regs(t);
		*arg0 = regs->di;
		return (long)regs->orig_ax;
	}
	regs = (struct pt_regs *)((void *)t->stack + KERNEL_STACK_SIZE) - 1;
	*arg0 = BPF_CORE_READ(regs, di);
	return (long)BPF_CORE_READ(regs, orig_ax);
}

/* The snapshot of one task: off CPU now, and a profiled process's? */
static __always_inline void offcpu_scan_task(struct seq_file *seq, struct task_struct *task)
{
	struct offcpu_scan_rec rec = {};
	__u32 tgid = task->tgid;
	__u64 arg0 = 0;
	long nr;

	if (task->on_cpu || task->exit_state || (task->flags & PF_EXITING) ||
	    !bpf_map_lookup_elem(&py_procs, &tgid))
		return;
	rec.tgid = tgid;
	rec.tid = task->pid;
	rec.fsbase = task->thread.fsbase;
	rec.switches = task->nvcsw + task->nivcsw;
	if (task_state(task) == 0) {
		/* Runnable, not running: preempted, or woken and not yet on a CPU. */
		rec.offcpu = OFFCPU_RUNQUEUE;
	} else {
		nr = task_syscall(task, &arg0);
		if (nr < 0 || nr >= OFFCPU_SYSCALL_MAX) {
			rec.offcpu = OFFCPU_BLOCKED;	/* a page fault, a stop */
		} else {
			rec.offcpu = (__u16)(nr + 1);
			/* The GIL check needs the interpreter's GIL: userspace makes it. */
			if (nr == NR_FUTEX)
				rec.futex_addr = arg0;
		}
	}
	bpf_seq_write(seq, &rec, sizeof(rec));
}

#endif /* __OFFCPU_BPF_H */
