/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Types shared by the BPF sampler (bpf/) and the loader (user/).
 * Only fixed-width kernel UAPI types: the same header compiles for
 * -target bpf and for the host.
 */
#ifndef __PYBPFPROF_H
#define __PYBPFPROF_H

#ifndef PYBPFPROF_MAX_DEPTH
#define PYBPFPROF_MAX_DEPTH 1024	/* hard ceiling of --max-depth */
#endif
#define PYBPFPROF_DEFAULT_DEPTH 256
#define PYBPFPROF_MAX_THREADS 4096	/* bound of a thread-list walk */
#define PYBPFPROF_MAX_INTERPS 16	/* bound of the interpreter list */
/*
 * Bytes of one frame the kernel copies: every frame field offset (plus
 * its width) must lie below it, or the layout is refused as unsupported.
 */
#define PYBPFPROF_FRAME_BUF_SIZE 128

/* Values of the wanted map (processes asked for under a PID filter). */
enum want_flags {
	WANT_PROCESS = 1 << 0,
	WANT_CHILDREN = 1 << 1,		/* its forks are wanted too */
};

/* How a frame records its position in the bytecode. */
enum py_instr_kind {
	PY_INSTR_LASTI_BYTES = 0,	/* int f_lasti, byte offset (<= 3.9) */
	PY_INSTR_LASTI_UNITS = 1,	/* int f_lasti, 2-byte code units (3.10) */
	PY_INSTR_POINTER = 2,		/* _Py_CODEUNIT *prev_instr/instr_ptr (3.11+) */
};

/*
 * Everything the BPF walker needs to know about one Python process.
 * Filled by user/target/pytarget.c from the per-version table (or the
 * interpreter's own _Py_DebugOffsets) and stored in the py_procs map,
 * keyed by host tgid. Offsets are in bytes; -1 means "not present".
 */
struct py_proc_info {
	__u64 interp_head_addr;	/* address holding PyInterpreterState *head */
	__u64 none_addr;	/* &_Py_NoneStruct: a shim frame's executable (3.13+) */
	__u64 code_ptr_mask;	/* ~3 strips _PyStackRef tags (3.14+), else ~0 */
	__u32 version_hex;	/* PY_VERSION_HEX of the target */
	__s16 interp_next;
	__s16 interp_tstate_head;
	__s16 tstate_next;
	__s16 tstate_interp;
	__s16 tstate_frame;	/* frame, cframe or current_frame */
	__s16 cframe_frame;	/* _PyCFrame.current_frame, or -1 */
	__s16 tstate_thread_id;	/* pthread_self(): == the thread pointer */
	__s16 frame_back;
	__s16 frame_code;
	__s16 frame_instr;
	__s16 frame_owner;	/* 1-byte owner field, or -1 */
	__u8 owner_skip_min;	/* skip frames whose owner >= this */
	__u8 instr_kind;	/* enum py_instr_kind */
	__s16 code_cksum;	/* start of a 32-byte immutable window of PyCodeObject */
	__u16 frame_read_size;	/* bytes of a frame to copy: covers every field above */
	__s16 frame_tlbc;	/* int32 tlbc_index (free-threaded 3.14+), or -1 */
	/*
	 * 3.11+: interpreter frames live in the thread's data stack, callers
	 * just below callees, so one read of the memory below a frame holds
	 * many of its callers. 0 (2.7-3.10: heap frame objects): a read per frame.
	 */
	__u8 frames_contiguous;
	/* The GIL (enum gil_kind says how its state is read). */
	__u8 gil_kind;
	__s16 interp_gil_ptr;	/* 3.12+: PyInterpreterState.ceval.gil, or -1 */
	__s16 gil_locked;	/* in the GIL struct */
	__s16 gil_holder;
	__u16 gil_size;
	__s16 tstate_status;	/* 3.13+: PyThreadState._status bits, or -1 */
	__u16 pad2;
	__u64 gil_addr;		/* 3.7-3.11: &_PyRuntime.ceval.gil, else 0 */
	/*
	 * --native, 3.11: a frame's 1-byte is_entry (the first frame of an
	 * eval loop call) and _PyCFrame.previous, or -1. 3.12+ mark those
	 * calls with shim frames (frame_owner) instead.
	 */
	__s16 frame_is_entry;
	__s16 cframe_previous;
	__u32 pad3;
};

/* How a thread's GIL state is known (per process). */
enum gil_kind {
	GIL_KIND_UNKNOWN = 0,	/* 2.7, 3.6 (static variables), or no layout */
	GIL_KIND_HOLDER = 1,	/* held: gil->locked && gil->last_holder == tstate */
	GIL_KIND_FREE = 2,	/* free-threaded: attached (_status.active) or not */
};

/* _status bits of PyThreadState (3.13+). */
#define PY_TSTATE_STATUS_ACTIVE (1U << 4)
#define PY_TSTATE_STATUS_HOLDS_GIL (1U << 5)

/*
 * Frame as shipped to userspace: no strings, ever.
 *
 * Free-threaded 3.14+ builds may execute a frame in a thread-local copy
 * of the bytecode (co_tlbc->entries[tlbc_index], index 0 being the code
 * object's own co_code_adaptive). The kernel does not chase that array:
 * it puts the frame's tlbc_index in bits 48-63 of 'code', which x86-64
 * user addresses leave 0 (they end below 2^47; only a mapping asked for
 * above that on a 5-level-paging machine could not carry the index, and
 * its frames would come out unreadable), and keeps lasti =
 * (u32)(instr_ptr - code) as for every pointer kind. Userspace reads the
 * copy's address once per (code object, index) and recovers the exact
 * offset modulo 2^32: (u32)(lasti + (u32)(code - copy)), which is the
 * offset itself since bytecode is far shorter than 4 GiB. Index 0 and
 * default builds leave the high bits 0: the record is the same there.
 */
struct py_frame {
	__u64 code;	/* PyCodeObject *, | tlbc_index << PY_FRAME_TLBC_SHIFT */
	__u32 lasti;	/* byte offset into the bytecode (pointer kinds: from code) */
	__u32 cksum;	/* code-object checksum; 0 = code object unreadable */
};

#define PY_FRAME_TLBC_SHIFT 48
#define PY_FRAME_ADDR_MASK ((1ULL << PY_FRAME_TLBC_SHIFT) - 1)
/* A tlbc_index the 16 bits cannot hold (or a negative one): line unknown. */
#define PY_FRAME_TLBC_UNKNOWN 0xffffU

enum sample_flags {
	SAMPLE_TRUNCATED = 1 << 0,	/* more frames than --max-depth */
	SAMPLE_READ_ERROR = 1 << 1,	/* the walk stopped on an unreadable frame */
	SAMPLE_NATIVE = 1 << 4,		/* a struct native_part follows the frames */
};

/* A sample's thread and the GIL. */
enum gil_state {
	GIL_STATE_UNKNOWN = 0,
	GIL_STATE_HELD = 1,
	GIL_STATE_WAITING = 2,
	GIL_STATE_NONE = 3,
	GIL_STATE_ATTACHED = 4,	/* free-threaded: attached to the interpreter */
};

/*
 * Where a sampled thread was: 0 on a CPU; else off CPU (wall mode):
 * waiting for the GIL, runnable on a run queue, or blocked in system
 * call N (stored as N + 1), or blocked in a call we could not tell.
 */
#define OFFCPU_NONE 0
#define OFFCPU_RUNQUEUE 0xffffU
#define OFFCPU_GIL 0xfffeU
#define OFFCPU_BLOCKED 0xfffdU
#define OFFCPU_SYSCALL_MAX 0xfff0U

struct sample_hdr {
	__u32 tgid;	/* host PID */
	__u32 tid;	/* host TID */
	__u64 ktime_ns;
	__u32 cpu;
	__u16 nframes;
	__u8 flags;	/* enum sample_flags */
	__u8 gil;	/* enum gil_state */
	/* followed by nframes struct py_frame, leaf first */
};

/*
 * Wall mode: a thread of a profiled process that is off CPU at a
 * snapshot (a task iterator, over every task or over one process's
 * threads, read by userspace once a period). Userspace walks its stack
 * itself (the thread is not running, its memory is not the reader's), or
 * reuses the stack it walked at an earlier snapshot when @switches says
 * the thread has not run since.
 */
struct offcpu_scan_rec {
	__u32 tgid;
	__u32 tid;
	__u64 fsbase;		/* its thread pointer: finds its PyThreadState */
	__u64 futex_addr;	/* blocked in futex: its first argument */
	__u64 switches;		/* its context switches so far (nvcsw + nivcsw) */
	__u16 offcpu;		/* OFFCPU_RUNQUEUE, OFFCPU_BLOCKED or syscall + 1 */
	__u8 pad[6];
};

/*
 * --native: what a sample carries after its Python frames (hdr.flags has
 * SAMPLE_NATIVE): the thread's user registers, the Python frame runs'
 * boundaries in the C stack, the kernel stack (--kernel) and a copy of
 * the top of its user stack, each counted in struct native_part.
 */
enum py_native_reg {
	PY_NATIVE_IP,
	PY_NATIVE_SP,
	PY_NATIVE_BP,
	PY_NATIVE_BX,
	PY_NATIVE_R12,
	PY_NATIVE_R13,
	PY_NATIVE_R14,
	PY_NATIVE_R15,
	PY_NATIVE_NREGS,
};

#define PY_NATIVE_MAX_BOUNDS 256	/* C stack boundaries of a stack */
#define PY_NATIVE_MAX_KERNEL 127	/* kernel.perf_event_max_stack's default */
#define PY_NATIVE_MAX_STACK (16 << 10)	/* bytes of user stack, at most */

/*
 * Where a run of Python frames was entered: the address of an object on
 * the C stack of the eval loop call running it (3.12+: its entry frame;
 * 3.11: its _PyCFrame), and how many Python frames (leaf first) come
 * before the boundary. The native frame whose [sp, cfa) holds @addr is
 * the eval loop call that the run replaces.
 */
struct native_bound {
	__u64 addr;
	__u32 pos;
	__u32 pad;
};

struct native_part {
	__u64 regs[PY_NATIVE_NREGS];
	__u32 stack_len;	/* bytes copied from regs[PY_NATIVE_SP] up */
	__u16 nbounds;
	__u16 nkernel;
	/* then: bounds[nbounds], kernel ips (__u64)[nkernel], stack bytes[stack_len] */
};

enum pyprof_event_type {
	PYPROF_EVENT_EXEC = 1,	/* a process exec'd: maybe a new interpreter */
	PYPROF_EVENT_EXIT = 2,	/* a known Python (or wanted) process exited */
	PYPROF_EVENT_FORK = 3,	/* a known Python (or wanted, followed) process forked */
	PYPROF_EVENT_UNKNOWN = 4,	/* a sample hit a process we do not know yet */
};

struct pyprof_event {
	__u32 type;	/* enum pyprof_event_type */
	__u32 pid;
	__u32 ppid;	/* for FORK: the parent */
	__u32 pad;
	__u64 ktime_ns;	/* CLOCK_MONOTONIC, as bpf_ktime_get_ns() */
};

/* Per-CPU counters, summed by userspace for the summary line. */
enum counter_idx {
	CNT_SAMPLES = 0,	/* every non-idle sample */
	CNT_PY_SAMPLES,		/* records submitted */
	CNT_PY_NO_TSTATE,	/* Python process, thread without a thread state */
	CNT_PY_NO_FRAMES,	/* thread state without a Python frame */
	CNT_LOST,		/* ring buffer full */
	CNT_TRUNCATED,
	CNT_READ_ERRORS,
	CNT_EVENTS_LOST,
	CNT_TSTATE_WALKS,	/* cache misses that walked the thread list */
	CNT_SELF_TICKS,		/* runs that found the profiler itself */
	CNT_MAX,
};

/*
 * Checksum of a code object's 32-byte immutable window (argument
 * counts, flags, first line, ...): a different code object reusing a
 * freed address almost surely differs. Never 0: 0 means "unreadable".
 */
static inline __u32 py_code_cksum(const __u64 w[4])
{
	__u64 h = 0x9e3779b97f4a7c15ULL;

	h = (h ^ w[0]) * 0x100000001b3ULL;
	h = (h ^ w[1]) * 0x100000001b3ULL;
	h = (h ^ w[2]) * 0x100000001b3ULL;
	h = (h ^ w[3]) * 0x100000001b3ULL;
	h ^= h >> 32;
	return (__u32)h ? (__u32)h : 1;
}

#endif /* __PYBPFPROF_H */
