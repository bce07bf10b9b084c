/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Process events for userspace: exec, exit, fork, and processes
 * sampled that it does not know yet.
 */
#ifndef __EVENTS_BPF_H
#define __EVENTS_BPF_H

static __always_inline bool is_wanted(__u32 tgid)
{
	return !pid_filter || bpf_map_lookup_elem(&wanted, &tgid);
}

/*
 * A process sampled that userspace does not know as Python: report it
 * (rate-limited) so that it is looked at. Under -p this still holds for
 * the wanted ones, which may load libpython long after they started.
 */
static __always_inline void report_unknown(__u32 tgid)
{
	struct pyprof_event *e;
	__u64 now, *last;

	if (!is_wanted(tgid))
		return;
	now = bpf_ktime_get_ns();
	last = bpf_map_lookup_elem(&unknown_reported, &tgid);
	if (last && now - *last < UNKNOWN_REPORT_NS)
		return;
	bpf_map_update_elem(&unknown_reported, &tgid, &now, BPF_ANY);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(CNT_EVENTS_LOST);
		return;
	}
	e->type = PYPROF_EVENT_UNKNOWN;
	e->pid = tgid;
	e->ppid = 0;
	e->pad = 0;
	e->ktime_ns = now;
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

static __always_inline void emit_event(__u32 type, __u32 pid, __u32 ppid)
{
	struct pyprof_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e) {
		count(CNT_EVENTS_LOST);
		return;
	}
	e->type = type;
	e->pid = pid;
	e->ppid = ppid;
	e->pad = 0;
	e->ktime_ns = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
}

/* BTF tracepoints: typed arguments, and no tracefs needed to attach. */

/*
 * A CPU-clock tick, counted, and the Python process it landed in: NULL
 * on an idle CPU, or in a process userspace does not know as Python
 * (reported, unless a kernel thread: those never run Python). Both
 * samplers start here: on_sample and the pre-5.17 on_sample_tail.
 */
static __always_inline struct py_proc_info *tick_proc(__u32 tgid, struct task_struct *task)
{
	struct py_proc_info *pi;

	if (!tgid)	/* idle */
		return NULL;
	count(CNT_SAMPLES);	/* with the CPUs' busy time: the rate measured */
	if (tgid == self_tgid)
		count(CNT_SELF_TICKS);
	pi = bpf_map_lookup_elem(&py_procs, &tgid);
	if (!pi && !(BPF_CORE_READ(task, flags) & PF_KTHREAD))
		report_unknown(tgid);
	return pi;
}

#endif /* __EVENTS_BPF_H */
