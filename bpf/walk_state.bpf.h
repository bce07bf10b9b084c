/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * The per-CPU state of one sample: the frame walk (walk.bpf.h) and the
 * thread-list walk (tstate.bpf.h). It lives in a map, not on the stack,
 * so that the pre-5.17 walker's tail calls (legacy.bpf.h) find it.
 */
#ifndef __WALK_STATE_BPF_H
#define __WALK_STATE_BPF_H

/* Shim frames take steps too: allow one per Python frame. */
#define WALK_STEPS (2 * PYBPFPROF_MAX_DEPTH)
/* Thread-list walk: every interpreter, then every thread state of each. */
#define FIND_STEPS (PYBPFPROF_MAX_THREADS + PYBPFPROF_MAX_INTERPS)
/*
 * Code objects already read in this sample (recursion): a direct-mapped
 * table, small enough (two cache lines) to be cleared for every sample
 * and to stay in cache: a bigger one costs more in misses than it saves.
 */
#define SEEN_SLOTS 8

struct seen_slot {
	__u64 code;		/* 0: empty */
	__u32 cksum;
	__u32 pad;
};

struct walk_ctx {
	__u64 frame;
	__u64 win_base;		/* user address of s->window[0] */
	__u64 none_addr;
	__u64 code_ptr_mask;
	__u32 win_len;		/* valid bytes in s->window; 0 = empty */
	__u32 n;
	__u32 limit;
	__u32 steps;		/* frames stepped through, shims included */
	__u16 flags;
	__u16 read_size;
	__s16 frame_back;
	__s16 frame_code;
	__s16 frame_instr;
	__s16 frame_owner;
	__s16 frame_tlbc;
	__s16 code_cksum;
	__u8 contiguous;
	__u8 owner_skip_min;
	__u8 instr_kind;
	/*
	 * --native: note where each eval loop call's run of frames began
	 * (struct native_bound, in the sample buffer). 3.11 finds them with
	 * is_entry and the _PyCFrame chain from @cframe; 3.12+ with the
	 * shim frames skipped.
	 */
	__u8 native;
	__u16 nbounds;
	__s16 frame_is_entry;
	__s16 cframe_previous;
	__u16 pad;
	__u64 cframe;
	struct seen_slot seen[SEEN_SLOTS];
};


/* find_ctx: the thread-list walk of tstate.bpf.h. */
struct find_ctx {
	__u64 interp_head_addr;
	__u64 thread_ptr;
	__u64 interp;		/* current interpreter */
	__u64 tstate;		/* current thread state; 0: go to next interp */
	__u64 found;
	__u32 steps;
	__s16 interp_next;
	__s16 interp_tstate_head;
	__s16 tstate_next;
	__s16 tstate_thread_id;
	bool started;
	bool done;
};

/*
 * Per-CPU state of one sample's walk: on the stack it would not survive
 * the tail calls of the pre-5.17 walker, so every walker keeps it here.
 */
struct walk_state {
	struct walk_ctx w;
	struct find_ctx f;		/* a thread-list walk going on */
	/* Pre-5.17: what the programs after the first one need. */
	struct py_proc_info pi;		/* the process */
	__u64 thread_ptr;
	__u64 ktime;			/* when the sample was taken */
	__u32 tgid;
	__u8 gil;			/* enum gil_state */
	__u8 pad[3];
};

/*
 * The walk in progress on this CPU. Only the perf_event programs walk,
 * and the kernel never nests a perf program in another: one slot.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct walk_state);
} walk_states SEC(".maps");

static __always_inline struct walk_state *walk_state(void)
{
	__u32 key = 0;

	return bpf_map_lookup_elem(&walk_states, &key);
}

#endif /* __WALK_STATE_BPF_H */
