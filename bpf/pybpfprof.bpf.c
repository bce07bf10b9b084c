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

#define NSEC_PER_MSEC 1000000ULL
/* A thread without a thread state is looked up again after this. */
#define NEGATIVE_TTL_NS (100 * NSEC_PER_MSEC)
/* An unknown process is reported to userspace at most this often. */
#define UNKNOWN_REPORT_NS (1000 * NSEC_PER_MSEC)
#define FRAME_BUF_SIZE PYBPFPROF_FRAME_BUF_SIZE
/* include/linux/sched.h: a kernel thread has no user memory to read. */
#define PF_KTHREAD 0x00200000
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

/* ---- finding the thread state ---------------------------------------- */

struct find_ctx {
	__u64 interp_head_addr;
	__u64 thread_ptr;
	__u64 interp;		/* current interpreter */
	__u64 tstate;		/* current thread state; 0: go to next interp */
	__u64 found;
	__s16 interp_next;
	__s16 interp_tstate_head;
	__s16 tstate_next;
	__s16 tstate_thread_id;
	bool started;
};

/* One step of the walk over every interpreter's thread list. */
static long find_step(__u32 i, struct find_ctx *c)
{
	if (!c->tstate) {
		if (!c->started) {
			c->started = true;
			c->interp = read_ptr(c->interp_head_addr);
		} else {
			c->interp = read_ptr(c->interp + c->interp_next);
		}
		if (!c->interp)
			return 1;
		c->tstate = read_ptr(c->interp + c->interp_tstate_head);
		return 0;
	}
	if (read_ptr(c->tstate + c->tstate_thread_id) == c->thread_ptr) {
		c->found = c->tstate;
		return 1;
	}
	c->tstate = read_ptr(c->tstate + c->tstate_next);
	return 0;
}

static __always_inline __u64 find_tstate(const struct py_proc_info *pi, __u32 tgid,
					 __u64 thread_ptr)
{
	struct tstate_key key = { .tgid = tgid, .thread_ptr = thread_ptr };
	struct tstate_val val = {};
	struct tstate_val *cached;
	struct find_ctx c = {};
	__u64 now;

	cached = bpf_map_lookup_elem(&tstate_cache, &key);
	if (cached) {
		/* Re-check: the thread state may have been freed and reused. */
		if (cached->tstate &&
		    read_ptr(cached->tstate + pi->tstate_thread_id) == thread_ptr)
			return cached->tstate;
		if (!cached->tstate &&
		    bpf_ktime_get_ns() - cached->ktime_ns < NEGATIVE_TTL_NS)
			return 0;
	}

	count(CNT_TSTATE_WALKS);
	c.interp_head_addr = pi->interp_head_addr;
	c.thread_ptr = thread_ptr;
	c.interp_next = pi->interp_next;
	c.interp_tstate_head = pi->interp_tstate_head;
	c.tstate_next = pi->tstate_next;
	c.tstate_thread_id = pi->tstate_thread_id;
	bpf_loop(PYBPFPROF_MAX_THREADS + PYBPFPROF_MAX_INTERPS, find_step, &c, 0);

	now = bpf_ktime_get_ns();
	val.tstate = c.found;
	val.ktime_ns = now;
	bpf_map_update_elem(&tstate_cache, &key, &val, BPF_ANY);
	return c.found;
}

/* ---- walking the frames ---------------------------------------------- */

struct walk_ctx {
	struct sample_buf *s;
	__u64 frame;
	__u64 win_base;		/* user address of s->window[0] */
	__u32 win_len;		/* valid bytes in s->window; 0 = empty */
	__u8 contiguous;
	__u64 none_addr;
	__u64 code_ptr_mask;
	__u32 n;
	__u32 limit;
	__u16 flags;
	__u16 read_size;
	__s16 frame_back;
	__s16 frame_code;
	__s16 frame_instr;
	__s16 frame_owner;
	__s16 frame_tlbc;
	__s16 code_cksum;
	__u8 owner_skip_min;
	__u8 instr_kind;
};

static __always_inline __u64 buf_u64(const __u8 *fb, __s16 off)
{
	return *(const __u64 *)&fb[off & (FRAME_BUF_SIZE - 1)];
}

static __always_inline __u32 buf_u32(const __u8 *fb, __s16 off)
{
	return *(const __u32 *)&fb[off & (FRAME_BUF_SIZE - 1)];
}

/*
 * The @size bytes of the current frame, or NULL when unreadable. 3.11+
 * frames come out of a window of the data stack: the memory from the
 * start of the frame's page up to its end, where its callers (at lower
 * addresses) mostly are, so the walk finds them already read. The window
 * stays within the frame's own pages, which are mapped since the frame
 * is there: the page below may not be (a data stack chunk's start), and
 * a read that faults costs more than it saves.
 */
static __always_inline __u8 *frame_bytes(struct walk_ctx *c, struct sample_buf *s, __u32 size)
{
	__u64 rel, end = c->frame + size, start, n;

	if (!c->contiguous) {
		if (bpf_probe_read_user(s->frame, size, (const void *)c->frame))
			return NULL;
		return s->frame;
	}
	rel = c->frame - c->win_base;
	if (c->win_len && c->frame >= c->win_base && rel + size <= c->win_len)
		return &s->window[rel & (STACK_WINDOW - 1)];

	start = c->frame & PAGE_MASK_4K;
	if (end - start > STACK_WINDOW)
		start = end - STACK_WINDOW;
	n = end - start;
	/* Hide the bound from the compiler so it keeps the check the verifier needs. */
	barrier_var(n);
	if (!n || n > STACK_WINDOW || bpf_probe_read_user(s->window, n, (const void *)start)) {
		c->win_len = 0;
		return NULL;
	}
	c->win_base = start;
	c->win_len = n;
	return &s->window[(c->frame - start) & (STACK_WINDOW - 1)];
}

/* One frame: copy it, skip shims, record (code, position, checksum). */
static long walk_step(__u32 i, struct walk_ctx *c)
{
	__u32 lasti, tlbc, cksum = 0, size = c->read_size;
	struct sample_buf *s = c->s;
	__u64 code, back;
	__u8 *fb;

	if (!c->frame || !s)
		return 1;
	if (size > FRAME_BUF_SIZE)
		size = FRAME_BUF_SIZE;
	fb = frame_bytes(c, s, size);
	if (!fb) {
		c->flags |= SAMPLE_READ_ERROR;
		return 1;
	}
	code = buf_u64(fb, c->frame_code) & c->code_ptr_mask;
	back = buf_u64(fb, c->frame_back);

	/* Interpreter entry/shim frames: never emitted, followed through. */
	if ((valid_off(c->frame_owner) &&
	     fb[c->frame_owner & (FRAME_BUF_SIZE - 1)] >= c->owner_skip_min) ||
	    (c->none_addr && code == c->none_addr) || !code) {
		c->frame = back;
		return 0;
	}
	if (c->n >= c->limit) {
		c->flags |= SAMPLE_TRUNCATED;
		return 1;
	}

	if (c->instr_kind == PY_INSTR_POINTER)
		lasti = (__u32)(buf_u64(fb, c->frame_instr) - code);
	else
		lasti = buf_u32(fb, c->frame_instr);

	if (!bpf_probe_read_user(s->code, sizeof(s->code),
				 (const void *)(code + c->code_cksum)))
		cksum = py_code_cksum(s->code);

	/*
	 * Free-threaded: which copy of the bytecode instr_ptr points into.
	 * Shipped in the unused high bits of the address (see struct
	 * py_frame); userspace finds the copy. No extra read here.
	 */
	if (valid_off(c->frame_tlbc) && !(code >> PY_FRAME_TLBC_SHIFT)) {
		tlbc = buf_u32(fb, c->frame_tlbc);	/* int32; < 0: bogus */
		if (tlbc > PY_FRAME_TLBC_UNKNOWN)
			tlbc = PY_FRAME_TLBC_UNKNOWN;
		code |= (__u64)tlbc << PY_FRAME_TLBC_SHIFT;
	}

	s->frames[c->n & (PYBPFPROF_MAX_DEPTH - 1)].code = code;
	s->frames[c->n & (PYBPFPROF_MAX_DEPTH - 1)].lasti = lasti;
	s->frames[c->n & (PYBPFPROF_MAX_DEPTH - 1)].cksum = cksum;
	c->n++;
	c->frame = back;
	return 0;
}

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
