/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The sampler for kernels without bpf_loop (5.8-5.16): the same walks,
 * in bounded chunks that tail-call the next chunk. Userspace loads these
 * programs instead of on_sample when a probe finds no bpf_loop helper
 * (never by kernel version) and fills tail_progs with them.
 *
 *   on_sample_tail   as on_sample, up to a thread state found in the cache
 *   find_tail        FIND_CHUNK steps of the thread-list walk, then itself
 *   walk_tail        TAIL_CHUNK frames, then itself; ships the record
 *
 * A chain of tail calls stops after 33 (MAX_TAIL_CALL_CNT): the chunks are
 * sized so that a full thread-list walk (8 runs) and a full frame walk
 * (22 runs) take 30. State survives in the per-CPU walk_states map. No
 * program here calls a function that is not inlined: before 5.10 a
 * program with tail calls may not have BPF-to-BPF calls.
 */
#ifndef __LEGACY_BPF_H
#define __LEGACY_BPF_H

#define TAIL_CHUNK 96		/* WALK_STEPS in 22 runs */
#define FIND_CHUNK 520		/* FIND_STEPS in 8 runs */

enum tail_prog {
	TAIL_FIND = 0,
	TAIL_WALK = 1,
	TAIL_MAX,
};

/* Filled by userspace when it loads these programs. */
struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, TAIL_MAX);
	__type(key, __u32);
	__type(value, __u32);
} tail_progs SEC(".maps");

/* Walk the frames of @tstate, whose GIL is @gil (as on_sample's emit_stack). */
static __always_inline int tail_walk_start(struct bpf_perf_event_data *ctx,
					   struct walk_state *ws,
					   const struct py_proc_info *pi, __u64 tstate,
					   __u64 gil)
{
	__u64 frame = thread_frame(pi, tstate);

	if (!frame) {
		count(CNT_PY_NO_FRAMES);
		return 0;
	}
	ws->gil = gil_state(pi, tstate, gil);
	walk_begin(ws, pi, frame);
	bpf_tail_call(ctx, &tail_progs, TAIL_WALK);
	return 0;
}

SEC("perf_event")
int on_sample_tail(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	struct task_struct *task;
	struct py_proc_info *pi;
	struct walk_state *ws;
	__u64 thread_ptr, tstate = 0, gil = 0;

	task = (struct task_struct *)bpf_get_current_task();
	pi = tick_proc(tgid, task);
	if (!pi)
		return 0;
	ws = walk_state();
	if (!ws)
		return 0;
	ws->ktime = bpf_ktime_get_ns();

	thread_ptr = BPF_CORE_READ(task, thread.fsbase);
	switch (tstate_cached(tgid, thread_ptr, &tstate, &gil)) {
	case TSTATE_NONE:
		count(CNT_PY_NO_TSTATE);
		return 0;
	case TSTATE_HIT:
		if (tstate_valid(pi, tstate, thread_ptr))
			return tail_walk_start(ctx, ws, pi, tstate, gil);
		break;
	}

	count(CNT_TSTATE_WALKS);
	ws->pi = *pi;
	ws->tgid = tgid;
	ws->thread_ptr = thread_ptr;
	find_begin(&ws->f, pi, thread_ptr);
	bpf_tail_call(ctx, &tail_progs, TAIL_FIND);
	return 0;
}

SEC("perf_event")
int find_tail(struct bpf_perf_event_data *ctx)
{
	struct walk_state *ws = walk_state();
	__u64 tstate, gil;

	if (!ws)
		return 0;
	for (int i = 0; i < FIND_CHUNK; i++)
		if (find_one(&ws->f))
			break;
	if (!ws->f.done && ws->f.steps < FIND_STEPS)
		bpf_tail_call(ctx, &tail_progs, TAIL_FIND);
	/* Done, or out of tail calls: as with bpf_loop's bound, not found. */
	tstate = ws->f.found;
	gil = tstate_remember(&ws->pi, ws->tgid, ws->thread_ptr, tstate);
	if (!tstate) {
		count(CNT_PY_NO_TSTATE);
		return 0;
	}
	return tail_walk_start(ctx, ws, &ws->pi, tstate, gil);
}

SEC("perf_event")
int walk_tail(struct bpf_perf_event_data *ctx)
{
	struct walk_state *ws = walk_state();
	__u32 key = 0;
	struct sample_buf *s = bpf_map_lookup_elem(&scratch, &key);
	__u64 id;

	if (!ws || !s)
		return 0;
	for (int i = 0; i < TAIL_CHUNK; i++)
		if (walk_frame(ws, s))
			goto done;
	bpf_tail_call(ctx, &tail_progs, TAIL_WALK);
	/* Out of tail calls: the record ends here, marked truncated. */
done:
	id = bpf_get_current_pid_tgid();
	walk_submit(ws, s, id >> 32, (__u32)id, ws->gil, ws->ktime, 0);
	return 0;
}

#endif /* __LEGACY_BPF_H */
