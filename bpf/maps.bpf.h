/* SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause */
/*
 * Settings, maps, counters and the small helpers every part of the
 * kernel side shares. Included once, by pybpfprof.bpf.c.
 */
#ifndef __MAPS_BPF_H
#define __MAPS_BPF_H

#define NSEC_PER_MSEC 1000000ULL
/*
 * A thread without a thread state is looked up again after this: a
 * native thread costs a list walk per 10 ms at most, and a new Python
 * thread caught before it bound its thread state is seen 10 ms later
 * (a request handler's whole thread may live 25 ms).
 */
#define NEGATIVE_TTL_NS (10 * NSEC_PER_MSEC)
/* An unknown process is reported to userspace at most this often. */
#define UNKNOWN_REPORT_NS (1000 * NSEC_PER_MSEC)
#define FRAME_BUF_SIZE PYBPFPROF_FRAME_BUF_SIZE
/* include/linux/sched.h: a kernel thread has no user memory to read. */
#define PF_KTHREAD 0x00200000
#define PF_EXITING 0x00000004
#define CODE_WINDOW 32
/*
 * Most bytes of a 3.11+ data stack read at once: a page, holding a frame
 * and the callers just below it (a frame with its locals is typically
 * 100-200 bytes). One read of a few KiB costs a few times one of 64
 * bytes, and replaces dozens of them.
 */
#define STACK_WINDOW 2048
#define PAGE_MASK_4K (~4095ULL)

/* Set by userspace before load. */
const volatile __u32 max_depth = PYBPFPROF_DEFAULT_DEPTH;
const volatile bool pid_filter = false;	/* -p or a command: only wanted tgids */
/* --native: bytes of user stack to copy (0: off); --kernel: the kernel stack too. */
const volatile __u32 native_stack_size = 0;
const volatile bool native_kernel = false;
/* The profiler itself: its ticks are left out of the rate measured (sampler__rate). */
const volatile __u32 self_tgid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);			/* host tgid */
	__type(value, struct py_proc_info);
} py_procs SEC(".maps");

/*
 * Under pid_filter, the processes asked for (-p) and, for a command the
 * profiler started, its descendants: a fork inherits WANT_CHILDREN.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);			/* host tgid */
	__type(value, __u32);			/* enum want_flags */
} wanted SEC(".maps");

struct tstate_key {
	__u32 tgid;
	__u32 pad;
	__u64 thread_ptr;
};

struct tstate_val {
	__u64 tstate;		/* 0: no thread state (negative entry) */
	__u64 ktime_ns;		/* when a negative entry was made */
	__u64 gil;		/* its interpreter's GIL struct, 0 if not known */
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tstate_key);
	__type(value, struct tstate_val);
} tstate_cache SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 8 << 20);		/* resized by --ring-size */
} samples SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 << 10);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} unknown_reported SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

/* A sample is assembled here, then copied into the ring in one go. */
struct sample_buf {
	struct sample_hdr hdr;
	struct py_frame frames[PYBPFPROF_MAX_DEPTH];
	__u8 frame[FRAME_BUF_SIZE + 8];
	__u64 code[CODE_WINDOW / 8];
	/* A frame found in it is used in place: room for its fields past the end. */
	__u8 window[STACK_WINDOW + FRAME_BUF_SIZE + 8];
	/* --native: where runs of frames were entered (walk_bound()). */
	struct native_bound bounds[PY_NATIVE_MAX_BOUNDS];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sample_buf);
} scratch SEC(".maps");

static __always_inline void count(__u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
}

static __always_inline __u64 read_ptr(__u64 addr)
{
	__u64 v = 0;

	if (bpf_probe_read_user(&v, sizeof(v), (const void *)addr))
		return 0;
	return v;
}

static __always_inline bool valid_off(__s16 off)
{
	return off >= 0;
}

#endif /* __MAPS_BPF_H */
