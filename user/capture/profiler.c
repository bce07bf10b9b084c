// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "array.h"
#include "hmap.h"
#include "log.h"
#include "origin.h"
#include "procfs.h"
#include "profiler.h"
#include "pytarget.h"
#include "offcpu.h"
#include "syscalls.h"
#include "mixed.h"
#include "sampler.h"
#include "symbolize.h"

#define NSEC_PER_MSEC 1000000ULL
#define NSEC_PER_SEC (1000 * NSEC_PER_MSEC)
/* A process's own iterator costs about what walking this many tasks does. */
#define PER_PROCESS_TASKS 30
#define RECHECK_NS (2000 * NSEC_PER_MSEC)	/* a non-Python process, looked at again */
#define SWEEP_NS (5000 * NSEC_PER_MSEC)
#define MAX_THREAD_NAMES 8192	/* per process; forgotten past that */
/*
 * The frame dictionary starts over past this many frames (a year of an
 * agent on a host that keeps generating code): ids are then handed out
 * again, and every symbolizer and window forgets the old ones.
 */
#define MAX_DICT_FRAMES (1U << 20)
#define NO_ID ((__u32)-1)
/* Room for a whole stack: Python, native, kernel frames and markers. */
#define MAX_STACK_IDS MIXED_MAX_IDS

/*
 * After an exec the interpreter needs a moment to map libpython: look
 * again after each of these delays (ms), then give up until a sample
 * says otherwise.
 */
static const unsigned int probe_delays_ms[] = { 2, 5, 10, 20, 40, 80, 160, 320, 640, 1280 };

enum proc_state {
	PROC_PENDING,
	PROC_PYTHON,
	PROC_NOT_PYTHON,
	PROC_UNSUPPORTED,
};

struct py_process {
	pid_t pid;
	enum proc_state state;
	unsigned int probes;
	__u64 start_time;
	__u64 next_probe_ns;	/* PENDING */
	__u64 checked_ns;	/* NOT_PYTHON */
	__u64 probed_ns;	/* last identification attempt */
	char comm[16];
	struct proc_origin origin;	/* its unit or container, when asked for */
	struct py_target target;
	struct py_proc_info info;	/* what the kernel walks it with */
	struct symbolizer *sym;
	struct hmap *thread_names;	/* tid -> comm[16], read on first sight */
};

/* An aggregation that counts the samples taken in [start_ns, end_ns). */
struct window {
	struct agg *agg;
	__u64 start_ns;
	__u64 end_ns;		/* 0: open */
	__u32 *remap;		/* dictionary frame id -> window frame id + 1 */
	size_t remap_cap;
};

struct profiler {
	struct profiler_opts opts;
	struct sampler *sampler;
	struct agg *dict;		/* frame dictionary: names, stable ids */
	struct window *windows;
	size_t nwindows, windows_cap;
	struct hmap *procs;		/* pid -> struct py_process * */
	struct hmap *followed;		/* pid -> bool: forks are wanted too */
	pid_t *pids;			/* -p, without repeats */
	size_t npids;
	struct pyprof_event *deferred;	/* exec/exit: handled after the samples */
	size_t ndeferred, deferred_cap;
	__u32 *ids;			/* dictionary frame ids of one stack */
	__u32 *wids;			/* the same in one window */
	struct hmap *offcpu_ids;	/* OFFCPU_* code -> dictionary frame id */
	struct hmap *gil_notices;	/* version -> said once that its GIL is unknown */
	struct offcpu *offcpu;		/* wall mode: stacks of threads off CPU */
	__u64 dict_gen;			/* the dictionary's generation: +1 at each reset */
	struct mixed *mixed;		/* --native, --kernel */
	__u64 snap_origin_ns;		/* wall mode: snapshot k is due at origin + k period */
	__u64 snap_period_ns;
	__u64 snap_points;		/* the last k taken */
	__u64 snap_ns;			/* the snapshot being counted: its time, */
	__u32 snap_weight;		/* and the samples each thread off CPU earns */
	pid_t *snap_pids;		/* the Python processes, for their own iterators */
	size_t snap_npids, snap_pids_cap;
	unsigned long host_tasks;	/* tasks on the host, and when last read */
	__u64 host_tasks_ns;
	struct agg *late;		/* takes samples older than every window */
	struct profiler_stats stats;
	__u64 last_sweep_ns;
};

static __u64 now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static bool pid_wanted(const struct profiler *p, pid_t pid)
{
	if (!p->opts.pid_filter)
		return true;
	for (size_t i = 0; i < p->npids; i++)
		if (p->pids[i] == pid)
			return true;
	return hmap__find(p->followed, &pid);
}

static struct py_process *proc_find(struct profiler *p, pid_t pid)
{
	struct py_process **pp = hmap__find(p->procs, &pid);

	return pp ? *pp : NULL;
}

static struct py_process *proc_add(struct profiler *p, pid_t pid)
{
	struct py_process **pp, *proc;
	bool created;

	pp = hmap__insert(p->procs, &pid, &created);
	if (!pp)
		return NULL;
	if (!created)
		return *pp;
	proc = calloc(1, sizeof(*proc));
	if (!proc) {
		hmap__delete(p->procs, &pid);
		return NULL;
	}
	proc->pid = pid;
	proc->state = PROC_PENDING;
	procfs__start_time(pid, &proc->start_time);
	*pp = proc;
	return proc;
}

/* The thread's name (/proc/PID/task/TID/comm) when first seen, or NULL. */
static const char *thread_name(struct py_process *proc, __u32 tid)
{
	char *name;
	bool created;

	if (proc->thread_names && hmap__size(proc->thread_names) > MAX_THREAD_NAMES) {
		hmap__free(proc->thread_names);
		proc->thread_names = NULL;
	}
	if (!proc->thread_names)
		proc->thread_names = hmap__new(sizeof(tid), 16);
	if (!proc->thread_names)
		return NULL;
	name = hmap__insert(proc->thread_names, &tid, &created);
	if (!name)
		return NULL;
	if (created && procfs__thread_comm(proc->pid, tid, name, 16))
		name[0] = '\0';
	return name[0] ? name : NULL;
}

/* Forget what we knew of the image: the process exec'd or is gone. */
static void proc_reset(struct profiler *p, struct py_process *proc)
{
	struct symbolizer_stats ss;

	if (proc->sym) {
		symbolizer__stats(proc->sym, &ss);
		p->stats.code_failures += ss.code_failures;
		p->stats.cache_resets += ss.cache_resets;
		p->stats.tlbc_frames += ss.tlbc_frames;
		p->stats.tlbc_failures += ss.tlbc_failures;
	}
	symbolizer__free(proc->sym);
	proc->sym = NULL;
	hmap__free(proc->thread_names);
	proc->thread_names = NULL;
	mixed__forget(p->mixed, proc->pid);
	if (proc->state == PROC_PYTHON)
		sampler__del_proc(p->sampler, proc->pid);
	sampler__forget_proc(p->sampler, proc->pid);
	proc->state = PROC_PENDING;
	proc->probes = 0;
}

static void proc_remove(struct profiler *p, pid_t pid)
{
	struct py_process *proc = proc_find(p, pid);

	if (!proc)
		return;
	proc_reset(p, proc);
	hmap__delete(p->procs, &pid);
	free(proc);
}

/*
 * A child of a Python process running the same interpreter image may
 * have been forked: its parent can name code objects the child, gone
 * too soon, no longer can.
 */
static void set_fork_parent(struct profiler *p, struct py_process *proc)
{
	struct py_process *parent;
	pid_t ppid;

	if (procfs__ppid(proc->pid, &ppid))
		return;
	parent = proc_find(p, ppid);
	if (parent && parent->state == PROC_PYTHON &&
	    parent->target.runtime_addr == proc->target.runtime_addr &&
	    parent->target.interp_head_addr == proc->target.interp_head_addr)
		symbolizer__set_fork_parent(proc->sym, ppid);
}

/* --gil and wall mode: a version whose GIL cannot be read says so, once. */
static void gil_notice(struct profiler *p, const struct py_process *proc)
{
	__u32 ver = proc->target.major << 8 | proc->target.minor;
	bool created;

	if ((!p->opts.wall && !p->opts.gil_only) || proc->info.gil_kind != GIL_KIND_UNKNOWN)
		return;
	if (!hmap__insert(p->gil_notices, &ver, &created) || !created)
		return;
	fprintf(stderr, "pybpfprof: CPython %d.%d%s (pid %d first): its GIL state cannot be "
		"read (%s); its samples carry none%s\n", proc->target.major, proc->target.minor,
		proc->target.free_threaded ? "t" : "", proc->pid,
		proc->target.major == 2 || proc->target.minor < 7 ?
		"this version keeps the GIL in static variables" : "no layout for it",
		p->opts.gil_only ? ", and --gil leaves them out" : "");
}

static int proc_activate(struct profiler *p, struct py_process *proc, const struct py_target *t)
{
	struct py_proc_info pi;
	int err;

	/* Never two symbolizers for one process (a probe after a fork event). */
	if (proc->state == PROC_PYTHON)
		proc_reset(p, proc);
	proc->target = *t;
	proc->sym = symbolizer__new(proc->pid, &proc->target, p->dict, p->opts.no_lines);
	if (!proc->sym)
		return -ENOMEM;
	if (procfs__comm(proc->pid, proc->comm, sizeof(proc->comm)))
		snprintf(proc->comm, sizeof(proc->comm), "python");
	if (p->opts.origins)
		origin__read(proc->pid, &proc->origin);
	set_fork_parent(p, proc);
	py_target__proc_info(t, &pi);
	proc->info = pi;
	gil_notice(p, proc);
	err = sampler__set_proc(p->sampler, proc->pid, &pi);
	if (err) {
		symbolizer__free(proc->sym);
		proc->sym = NULL;
		return err;
	}
	proc->state = PROC_PYTHON;
	p->stats.procs_seen++;
	if (p->opts.verbose)
		fprintf(stderr, "pybpfprof: pid %d (%s): CPython %d.%d%s, %s%s\n", proc->pid,
			proc->comm, t->major, t->minor, t->free_threaded ? "t" : "", t->binary,
			t->from_debug_offsets ? " (debug offsets)" : "");
	return 0;
}

static void proc_probe(struct profiler *p, struct py_process *proc, __u64 now)
{
	struct py_target t;
	char why[256];
	int err;

	proc->probed_ns = now_ns();
	err = py_target__identify(proc->pid, &t, why, sizeof(why));
	if (!err) {
		if (proc_activate(p, proc, &t))
			proc->state = PROC_NOT_PYTHON;
		return;
	}
	if (!procfs__pid_exists(proc->pid)) {
		proc_remove(p, proc->pid);
		return;
	}
	switch (err) {
	case -EAGAIN:
		if (proc->probes < sizeof(probe_delays_ms) / sizeof(probe_delays_ms[0])) {
			proc->state = PROC_PENDING;
			proc->next_probe_ns = now + probe_delays_ms[proc->probes++] * NSEC_PER_MSEC;
			return;
		}
		break;
	case -ENOTSUP:
		proc->state = PROC_UNSUPPORTED;
		p->stats.procs_unsupported++;
		procfs__comm(proc->pid, proc->comm, sizeof(proc->comm));
		fprintf(stderr, "pybpfprof: pid %d (%s): %s: %s; not profiled\n", proc->pid,
			proc->comm, t.binary[0] ? t.binary : "?", why);
		return;
	default:
		break;
	}
	proc->state = PROC_NOT_PYTHON;
	proc->checked_ns = now;
}

/* The window's own id for dictionary frame @id; NO_ID when out of memory. */
static __u32 window_frame(struct profiler *p, struct window *w, __u32 id)
{
	const struct agg_frame *fr;
	__u32 wid;

	if (id == NO_ID)
		return NO_ID;
	if (id >= w->remap_cap) {
		size_t old = w->remap_cap;

		if (array__reserve((void **)&w->remap, &w->remap_cap, (size_t)id + 1,
				   sizeof(*w->remap)))
			return NO_ID;
		memset(w->remap + old, 0, (w->remap_cap - old) * sizeof(*w->remap));
	}
	if (w->remap[id])
		return w->remap[id] - 1;
	fr = agg__frame(p->dict, id);
	if (!fr)
		return NO_ID;
	wid = agg__intern_frame(w->agg, fr->qualname, fr->file, fr->first_line, fr->line);
	if (wid != NO_ID)
		w->remap[id] = wid + 1;
	return wid;
}

/*
 * Count the stack in p->ids in @w. @seen (an off-CPU thread's, else NULL)
 * says where it was counted last: if in @w with the same flags (the
 * thread has stayed parked), it is counted there with no lookup; else
 * anew, and @seen notes where.
 */
static int window_count(struct profiler *p, struct window *w, struct py_process *proc,
			__u32 tid, size_t n, unsigned int flags, __u32 weight,
			struct offcpu_ids *seen)
{
	__u32 proc_id, ref;
	int err;

	if (seen && seen->agg_serial == agg__serial(w->agg) && seen->agg_flags == flags &&
	    !agg__add_at(w->agg, seen->agg_ref, weight))
		return 0;
	for (size_t i = 0; i < n; i++) {
		p->wids[i] = window_frame(p, w, p->ids[i]);
		if (p->wids[i] == NO_ID)
			return -ENOMEM;
	}
	proc_id = agg__intern_proc(w->agg, proc->pid, proc->comm);
	if (proc_id == NO_ID)
		return -ENOMEM;
	if ((proc->origin.service[0] || proc->origin.container_id[0]) &&
	    agg__set_proc_origin(w->agg, proc_id, proc->origin.service[0] ? proc->origin.service : NULL,
				 proc->origin.container_id[0] ? proc->origin.container_id : NULL))
		return -ENOMEM;
	err = agg__add_stack_ref(w->agg, proc_id, tid, thread_name(proc, tid), p->wids, n, flags,
				 weight, &ref);
	if (!err && seen) {
		seen->agg_serial = agg__serial(w->agg);
		seen->agg_ref = ref;
		seen->agg_flags = flags;
	}
	return err;
}

/* The "[off-CPU: WHY]" pseudo-frame's dictionary id. */
static __u32 offcpu_frame(struct profiler *p, __u16 why)
{
	char name[64];
	const char *sc;
	__u32 *id;
	bool created;

	id = hmap__insert(p->offcpu_ids, &why, &created);
	if (id && !created)
		return *id;
	if (why == OFFCPU_GIL)
		snprintf(name, sizeof(name), "[off-CPU: GIL]");
	else if (why == OFFCPU_RUNQUEUE)
		snprintf(name, sizeof(name), "[off-CPU: runqueue]");
	else if (why == OFFCPU_BLOCKED || why > OFFCPU_SYSCALL_MAX)
		snprintf(name, sizeof(name), "[off-CPU: blocked]");
	else if ((sc = syscalls__name(why - 1u)))
		snprintf(name, sizeof(name), "[off-CPU: %s]", sc);
	else
		snprintf(name, sizeof(name), "[off-CPU: syscall %u]", why - 1u);
	/* No file, no line: every writer shows it as the bare name. */
	if (!id)
		return agg__intern_frame(p->dict, name, "", 0, -1);
	*id = agg__intern_frame(p->dict, name, "", 0, -1);
	if (*id == NO_ID)
		hmap__delete(p->offcpu_ids, &why);
	return *id;
}

/*
 * Count @weight samples of the stack in p->ids in every window whose span
 * holds @ktime; @gil is the thread's GIL state. @seen: where an off-CPU
 * thread's stack was counted last (NULL for a CPU sample).
 */
static void count_ids(struct profiler *p, struct py_process *proc, __u32 tid, __u64 ktime,
		      size_t n, unsigned int flags, __u32 weight, __u8 gil,
		      struct offcpu_ids *seen);

/* @frames (leaf first) as dictionary ids in p->ids, root first: their count. */
static size_t stack_ids(struct profiler *p, struct py_process *proc,
			const struct py_frame *frames, size_t n, __u16 offcpu)
{
	if (n > p->opts.max_depth)
		n = p->opts.max_depth;
	for (size_t i = 0; i < n; i++)
		p->ids[n - 1 - i] = symbolizer__frame(proc->sym, &frames[i]);
	/* The leaf of an off-CPU stack says why it was off CPU. */
	if (offcpu)
		p->ids[n++] = offcpu_frame(p, offcpu);
	return n;
}

/* One sample the kernel walked, on CPU. */
static void count_stack(struct profiler *p, struct py_process *proc, __u32 tid, __u64 ktime,
			const struct py_frame *frames, size_t n, __u16 sflags, __u8 gil)
{
	n = stack_ids(p, proc, frames, n, OFFCPU_NONE);
	count_ids(p, proc, tid, ktime, n,
		  sflags & (SAMPLE_TRUNCATED | SAMPLE_READ_ERROR) ? AGG_STACK_TRUNCATED : 0,
		  1, gil, NULL);
}

/* Count the stack in p->ids (@n frames, root first) in its windows. */
static void count_ids(struct profiler *p, struct py_process *proc, __u32 tid, __u64 ktime,
		      size_t n, unsigned int flags, __u32 weight, __u8 gil,
		      struct offcpu_ids *seen)
{
	struct window *late = NULL;
	bool counted = false;

	if (!weight)
		weight = 1;
	if (p->opts.gil_only && gil != GIL_STATE_HELD && gil != GIL_STATE_ATTACHED) {
		p->stats.gil_filtered += weight;
		return;
	}
	flags |= ((unsigned int)gil << AGG_STACK_GIL_SHIFT) & AGG_STACK_GIL_MASK;
	for (size_t i = 0; i < p->nwindows; i++) {
		struct window *w = &p->windows[i];

		if (ktime < w->start_ns || (w->end_ns && ktime >= w->end_ns)) {
			if (w->agg == p->late && ktime < w->start_ns)
				late = w;
			continue;
		}
		if (window_count(p, w, proc, tid, n, flags, weight, seen))
			p->stats.dropped_samples += weight;
		counted = true;
	}
	/* Drained after its window closed: counted in the next, never lost. */
	if (!counted && late) {
		p->stats.late_samples += weight;
		if (window_count(p, late, proc, tid, n, flags, weight, seen))
			p->stats.dropped_samples += weight;
	}
}

/* A label's dictionary id: "SYMBOL (BINARY)", "BINARY+0xOFFSET", "[k] SYMBOL". */
static void on_sample(const struct sample_hdr *hdr, const struct py_frame *frames,
		      const struct native_part *native, void *ctx)
{
	struct profiler *p = ctx;
	struct py_process *proc;

	proc = proc_find(p, hdr->tgid);
	if (!proc || proc->state != PROC_PYTHON) {
		p->stats.dropped_samples++;
		return;
	}
	if (native && (!p->opts.gil_only || hdr->gil == GIL_STATE_HELD ||
				       hdr->gil == GIL_STATE_ATTACHED)) {
		size_t npy = hdr->nframes > p->opts.max_depth ? p->opts.max_depth : hdr->nframes;

		count_ids(p, proc, hdr->tid, hdr->ktime_ns,
			  mixed__build(p->mixed, p->dict, proc->sym, proc->pid,
				       proc->target.major == 3 && proc->target.minor >= 11, hdr,
				       frames, npy, native, p->ids),
			  hdr->flags & SAMPLE_TRUNCATED ? AGG_STACK_TRUNCATED : 0,
			  1, hdr->gil, NULL);
		return;
	}
	count_stack(p, proc, hdr->tid, hdr->ktime_ns, frames, hdr->nframes, hdr->flags, hdr->gil);
}

/*
 * Wall mode: a thread the snapshot found off CPU. Its stack read from
 * its memory (it is not running), or the one read before if it has not
 * run since; p->snap_weight samples of it, at the snapshot's time.
 */
static void on_offcpu(const struct offcpu_scan_rec *r, void *ctx)
{
	struct profiler *p = ctx;
	struct py_process *proc = proc_find(p, r->tgid);
	struct offcpu_stack st;
	struct offcpu_ids *ids;
	int err;

	if (!proc || proc->state != PROC_PYTHON)
		return;
	err = offcpu__stack(p->offcpu, proc->pid, &proc->info, r, p->opts.max_depth, &st);
	if (err == -ENOENT)
		return;	/* not a Python thread, or no frame yet: no Python time */
	if (err) {
		p->stats.offcpu_unread += p->snap_weight;
		return;
	}
	p->stats.offcpu_samples += p->snap_weight;
	if (!st.reused)
		p->stats.offcpu_walks++;
	/* Counted before with this dictionary: its ids are known (a parked thread). */
	ids = st.ids;
	if (ids->gen != p->dict_gen) {
		ids->agg_serial = 0;
		ids->n = stack_ids(p, proc, st.frames, st.n, st.why);
		ids->flags = st.flags & (SAMPLE_TRUNCATED | SAMPLE_READ_ERROR) ?
			     AGG_STACK_TRUNCATED : 0;
		if (array__reserve((void **)&ids->v, &ids->cap, ids->n, sizeof(*ids->v)))
			ids->gen = 0;
		else {
			memcpy(ids->v, p->ids, ids->n * sizeof(*ids->v));
			ids->gen = p->dict_gen;
		}
	} else {
		memcpy(p->ids, ids->v, ids->n * sizeof(*ids->v));
	}
	count_ids(p, proc, r->tid, p->snap_ns, ids->n, ids->flags, p->snap_weight, st.gil, ids);
}

static void defer_event(struct profiler *p, const struct pyprof_event *e)
{
	if (p->ndeferred == p->deferred_cap) {
		size_t cap = p->deferred_cap ? p->deferred_cap * 2 : 64;
		struct pyprof_event *v = realloc(p->deferred, cap * sizeof(*v));

		if (!v)
			return;
		p->deferred = v;
		p->deferred_cap = cap;
	}
	p->deferred[p->ndeferred++] = *e;
}

static void on_fork(struct profiler *p, pid_t child, pid_t parent, __u64 now)
{
	struct py_process *pp = proc_find(p, parent), *proc;

	proc = proc_add(p, child);
	if (!proc)
		return;
	/* Already found by a probe (a sample beat this event): nothing to redo. */
	if (proc->state == PROC_PYTHON)
		return;
	/* The child's memory is a copy of the parent's: so is its layout. */
	if (pp && pp->state == PROC_PYTHON && !proc_activate(p, proc, &pp->target)) {
		/* The child may be gone already: the event names its parent. */
		symbolizer__set_fork_parent(proc->sym, parent);
		return;
	}
	proc_probe(p, proc, now);
}

static void on_event(const struct pyprof_event *e, void *ctx)
{
	struct profiler *p = ctx;
	struct py_process *proc;
	__u64 now = now_ns();

	/* A command's descendants: the kernel follows them already. */
	if (e->type == PYPROF_EVENT_FORK && p->opts.pid_filter &&
	    hmap__find(p->followed, &(pid_t){ e->ppid }))
		hmap__insert(p->followed, &(pid_t){ e->pid }, NULL);
	if (!pid_wanted(p, e->pid))
		return;
	switch (e->type) {
	case PYPROF_EVENT_FORK:
		on_fork(p, e->pid, e->ppid, now);
		break;
	case PYPROF_EVENT_UNKNOWN:
		proc = proc_find(p, e->pid);
		if (!proc) {
			proc = proc_add(p, e->pid);
			if (proc)
				proc_probe(p, proc, now);
		} else if (proc->state == PROC_PYTHON) {
			/* Like an exec: after the samples of the old image. */
			defer_event(p, e);
		} else if (proc->state == PROC_NOT_PYTHON && now - proc->checked_ns >= RECHECK_NS) {
			proc_probe(p, proc, now);
		}
		break;
	case PYPROF_EVENT_EXEC:
	case PYPROF_EVENT_EXIT:
		/* Samples taken before it still need the old image. */
		defer_event(p, e);
		break;
	}
}

static void handle_deferred(struct profiler *p, __u64 now)
{
	for (size_t i = 0; i < p->ndeferred; i++) {
		const struct pyprof_event *e = &p->deferred[i];
		struct py_process *proc;

		if (e->type == PYPROF_EVENT_EXIT) {
			proc_remove(p, e->pid);
			hmap__delete(p->followed, &(pid_t){ e->pid });
			continue;
		}
		if (e->type == PYPROF_EVENT_UNKNOWN) {
			/*
			 * The kernel no longer knows as Python a process we do:
			 * it exec'd, or exited and its PID was reused, and the
			 * event that said so was lost. Start over with what runs
			 * there now (unless an exec was handled since).
			 */
			proc = proc_find(p, e->pid);
			if (!proc || proc->state != PROC_PYTHON || proc->probed_ns > e->ktime_ns)
				continue;
			p->stats.stale_repaired++;
			proc_reset(p, proc);
			procfs__start_time(e->pid, &proc->start_time);
			proc_probe(p, proc, now);
			continue;
		}
		proc = proc_add(p, e->pid);
		if (!proc)
			continue;
		/* Already looked at since this exec (a sample beat the event)? */
		if (proc->probed_ns > e->ktime_ns && proc->state != PROC_PENDING)
			continue;
		proc_reset(p, proc);
		procfs__start_time(e->pid, &proc->start_time);
		proc_probe(p, proc, now);
	}
	p->ndeferred = 0;
}

struct tick_ctx {
	struct profiler *p;
	__u64 now;
	bool sweep;
	pid_t *gone;
	size_t ngone, cap;
};

static int tick_one(const void *key, void *value, void *ctx)
{
	struct py_process *proc = *(struct py_process **)value;
	struct tick_ctx *t = ctx;
	__u64 start = 0;

	if (proc->state == PROC_PENDING && proc->next_probe_ns <= t->now) {
		/* Probing may delete entries: do it after the walk. */
		goto collect;
	}
	/*
	 * Every entry, Python ones included: an exit or exec event lost to a
	 * full ring must not leave a stale entry (and its caches) forever,
	 * nor a reused PID named after the process that had it before.
	 */
	if (t->sweep && (procfs__start_time(proc->pid, &start) || start != proc->start_time))
		goto collect;
	return 0;
collect:
	if (t->ngone == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		pid_t *v = realloc(t->gone, cap * sizeof(*v));

		if (!v)
			return 1;
		t->gone = v;
		t->cap = cap;
	}
	t->gone[t->ngone++] = proc->pid;
	return 0;
}

static void run_due_work(struct profiler *p, __u64 now)
{
	struct tick_ctx t = { .p = p, .now = now };

	t.sweep = now - p->last_sweep_ns >= SWEEP_NS;
	if (t.sweep)
		p->last_sweep_ns = now;
	hmap__for_each(p->procs, tick_one, &t);
	for (size_t i = 0; i < t.ngone; i++) {
		struct py_process *proc = proc_find(p, t.gone[i]);
		pid_t pid = t.gone[i];

		if (!proc)
			continue;
		if (proc->state == PROC_PENDING && proc->next_probe_ns <= now) {
			proc_probe(p, proc, now);
			continue;
		}
		if (proc->state == PROC_PYTHON)
			p->stats.stale_repaired++;
		proc_remove(p, pid);
		/* Its PID now belongs to another process: look at that one. */
		if (procfs__pid_exists(pid) && pid_wanted(p, pid)) {
			proc = proc_add(p, pid);
			if (proc)
				proc_probe(p, proc, now);
		}
	}
	free(t.gone);
}

/* A new dictionary once the old one is full: every cached id is forgotten. */
static int reset_dict_one(const void *key, void *value, void *ctx)
{
	struct py_process *proc = *(struct py_process **)value;

	if (proc->sym)
		symbolizer__set_dict(proc->sym, ctx);
	return 0;
}

int profiler__reset_dict(struct profiler *p)
{
	struct agg *dict = agg__new();

	if (!dict)
		return -ENOMEM;
	hmap__for_each(p->procs, reset_dict_one, dict);
	for (size_t i = 0; i < p->nwindows; i++)
		if (p->windows[i].remap)
			memset(p->windows[i].remap, 0,
			       p->windows[i].remap_cap * sizeof(*p->windows[i].remap));
	agg__free(p->dict);
	p->dict = dict;
	hmap__free(p->offcpu_ids);
	p->offcpu_ids = hmap__new(sizeof(__u16), sizeof(__u32));
	p->stats.dict_resets++;
	p->dict_gen++;
	return 0;
}

static void bound_dict(struct profiler *p)
{
	if (agg__nr_frames(p->dict) >= MAX_DICT_FRAMES)
		profiler__reset_dict(p);
}

size_t profiler__dict_frames(const struct profiler *p)
{
	return agg__nr_frames(p->dict);
}

static int scan_all(struct profiler *p, char *why, size_t why_size)
{
	__u64 now = now_ns();
	struct dirent *de;
	DIR *dir;

	if (p->opts.pid_filter) {
		for (size_t i = 0; i < p->npids; i++) {
			struct py_process *proc = proc_add(p, p->pids[i]);

			if (!proc) {
				snprintf(why, why_size, "out of memory");
				return -ENOMEM;
			}
			proc_probe(p, proc, now);
			proc = proc_find(p, p->pids[i]);
			if (proc && proc->state == PROC_NOT_PYTHON)
				fprintf(stderr, "pybpfprof: pid %d is not a Python process (yet); "
					"watching it\n", proc->pid);
		}
		return 0;
	}
	dir = opendir("/proc");
	if (!dir) {
		snprintf(why, why_size, "cannot list the processes in /proc: %s", strerror(errno));
		return -errno;
	}
	while ((de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		struct py_process *proc;

		if (*end || pid <= 0 || pid == getpid())
			continue;
		proc = proc_add(p, pid);
		if (proc)
			proc_probe(p, proc, now);
	}
	closedir(dir);
	return 0;
}

/* The -p list without repeats: "-p X -p X" is one process, counted once. */
static int set_pids(struct profiler *p, const pid_t *pids, size_t n)
{
	p->pids = calloc(n ? n : 1, sizeof(*p->pids));
	if (!p->pids)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		for (size_t j = 0; j < p->npids && !dup; j++)
			dup = p->pids[j] == pids[i];
		if (!dup)
			p->pids[p->npids++] = pids[i];
	}
	return 0;
}

struct profiler *profiler__new(const struct profiler_opts *o, int *err, char *why,
			       size_t why_size)
{
	struct sampler_callbacks cb = {
		.on_sample = on_sample, .on_event = on_event, .on_offcpu = on_offcpu,
	};
	struct sampler_opts so = {
		.max_depth = o->max_depth,
		.pid_filter = o->pid_filter,
		.ring_size = o->ring_size,
		.wall = o->wall,
		.native_stack = o->native ? o->native_stack : 0,
		.kernel_stacks = o->kernel,
		.tail_walker = o->tail_walker,
	};
	struct profiler *p = calloc(1, sizeof(*p));

	why[0] = '\0';
	if (!p) {
		*err = -ENOMEM;
		goto err_nomem;
	}
	p->opts = *o;
	p->opts.pids = NULL;
	p->dict = agg__new();
	p->dict_gen = 1;
	p->procs = hmap__new(sizeof(pid_t), sizeof(struct py_process *));
	p->followed = hmap__new(sizeof(pid_t), sizeof(bool));
	/* Room for the deepest mixed stack, and the off-CPU pseudo-frame. */
	p->ids = calloc(MAX_STACK_IDS + 1, sizeof(*p->ids));
	p->wids = calloc(MAX_STACK_IDS + 1, sizeof(*p->wids));
	/*
	 * --native and --kernel need ring records of a size known at run time
	 * (5.19+) and bpf_loop. Without them, Python stacks only, said once: an
	 * agent deployed with --native across a fleet keeps profiling its
	 * older kernels rather than refusing to start there.
	 */
	if ((o->native || o->kernel) && !sampler__native_supported(o->tail_walker)) {
		const char *what = o->native && o->kernel ? "--native --kernel" :
				   o->native ? "--native" : "--kernel";

		if (sampler__native_supported(false))
			log__msg("%s: not with the tail-call walker (PYBPFPROF_TAIL_WALKER=1): "
				 "Python stacks only", what);
		else
			log__msg("%s needs Linux 5.19+ (BPF ring records of a size known at run "
				 "time, bpf_loop); this kernel has not got them: Python stacks only",
				 what);
		p->opts.native = p->opts.kernel = false;
		so.native_stack = 0;
		so.kernel_stacks = false;
	}
	if ((p->opts.native || p->opts.kernel) &&
	    !(p->mixed = mixed__new(p->opts.native, p->opts.kernel))) {
		*err = -ENOMEM;
		goto err_nomem;
	}
	p->offcpu_ids = hmap__new(sizeof(__u16), sizeof(__u32));
	p->gil_notices = hmap__new(sizeof(__u32), sizeof(bool));
	if (o->wall && !(p->offcpu = offcpu__new())) {
		*err = -ENOMEM;
		goto err_nomem;
	}
	if (!p->dict || !p->procs || !p->followed || !p->ids || !p->wids ||
	    !p->offcpu_ids || !p->gil_notices ||
	    set_pids(p, o->pids, o->npids)) {
		*err = -ENOMEM;
		goto err_nomem;
	}
	cb.ctx = p;
	p->sampler = sampler__open(&so, &cb, err);
	if (!p->sampler) {
		snprintf(why, why_size, "failed to load the BPF program: %s (needs Linux 5.8+ "
			 "with BPF and BTF; -vv shows the verifier log)", strerror(-*err));
		goto err_free;
	}
	if (sampler__wall_refused(p->sampler)) {
		fprintf(stderr, "pybpfprof: --mode wall needs BPF programs this kernel refuses "
			"(%s; task iterators: Linux 5.8+): sampling on-CPU time only\n",
			strerror(-sampler__wall_refused(p->sampler)));
		p->opts.wall = false;
	}
	for (size_t i = 0; i < p->npids; i++) {
		*err = sampler__want_pid(p->sampler, p->pids[i], false);
		if (*err) {
			snprintf(why, why_size, "cannot add pid %d to the BPF filter: %s",
				 p->pids[i], strerror(-*err));
			goto err_free;
		}
	}
	*err = scan_all(p, why, why_size);
	if (*err)
		goto err_free;
	p->last_sweep_ns = now_ns();
	return p;
err_nomem:
	snprintf(why, why_size, "out of memory");
err_free:
	profiler__free(p);
	return NULL;
}

int profiler__follow(struct profiler *p, pid_t pid)
{
	if (!hmap__insert(p->followed, &pid, NULL))
		return -ENOMEM;
	return sampler__want_pid(p->sampler, pid, true);
}

int profiler__start(struct profiler *p)
{
	int err = sampler__start(p->sampler, p->opts.frequency, p->opts.jitter);

	/* Snapshot k is due at the start + k periods, give or take the jitter. */
	p->snap_origin_ns = now_ns();
	p->snap_period_ns = NSEC_PER_SEC / p->opts.frequency;
	p->snap_points = 0;
	return err;
}

/* Tasks on the host, from /proc/loadavg ("0.00 0.01 0.05 2/345 6789"); 0 if unknown. */
static unsigned long host_tasks(void)
{
	unsigned long running, total = 0;
	FILE *f = fopen("/proc/loadavg", "re");

	if (!f)
		return 0;
	if (fscanf(f, "%*s %*s %*s %lu/%lu", &running, &total) != 2)
		total = 0;
	fclose(f);
	return total;
}

static int note_python(const void *key, void *value, void *ctx)
{
	struct py_process *proc = *(struct py_process **)value;
	struct profiler *p = ctx;

	if (proc->state != PROC_PYTHON)
		return 0;
	if (array__reserve((void **)&p->snap_pids, &p->snap_pids_cap, p->snap_npids + 1,
			   sizeof(*p->snap_pids)))
		return 1;
	p->snap_pids[p->snap_npids++] = proc->pid;
	return 0;
}

/*
 * One snapshot: an iterator per Python process when they are few among
 * the host's tasks (a few syscalls each), else one over every task (the
 * kernel's walk costs ~0.1 us a task).
 */
static int offcpu_scan(struct profiler *p, __u64 now)
{
	/* Once a second (and not at all where /proc/loadavg is hidden: 0, so all). */
	if (!p->host_tasks_ns || now - p->host_tasks_ns >= NSEC_PER_SEC) {
		p->host_tasks = host_tasks();
		p->host_tasks_ns = now;
	}
	p->snap_npids = 0;
	if (p->opts.wall_iter == OFFCPU_ITER_ALL || hmap__for_each(p->procs, note_python, p) ||
	    sampler__proc_iters_refused(p->sampler) ||
	    (p->opts.wall_iter == OFFCPU_ITER_AUTO &&
	     p->snap_npids * PER_PROCESS_TASKS >= p->host_tasks))
		return sampler__scan_offcpu(p->sampler, NULL, 0);
	p->stats.offcpu_by_process++;
	return sampler__scan_offcpu(p->sampler, p->snap_pids, p->snap_npids);
}

__u64 profiler__offcpu_snapshot(struct profiler *p)
{
	__u64 now = now_ns(), k, period = p->snap_period_ns, next;

	if (!p->opts.wall || !period)
		return 0;
	/* The snapshots due by now, counting one half a period early as due. */
	k = (now - p->snap_origin_ns + period / 2) / period;
	if (k > p->snap_points) {
		/*
		 * Late by whole periods (a stalled profiler): a thread found
		 * off CPU now earns every one of them, exactly so when it has
		 * not run meanwhile, roughly otherwise; counted, not hidden.
		 */
		p->stats.offcpu_late_points += k - p->snap_points - 1;
		p->snap_weight = k - p->snap_points > 0xffffffffULL ? 0xffffffffU :
				 (__u32)(k - p->snap_points);
		p->snap_points = k;
		p->snap_ns = now;
		p->stats.offcpu_snapshots++;
		if (offcpu_scan(p, now) < 0)
			p->stats.offcpu_failed_snapshots++;
		offcpu__end_snapshot(p->offcpu);
	}
	/*
	 * The next one at its due time plus a uniform draw within 0.4 of a
	 * period either side: never in phase with a periodic workload, and
	 * never claiming two points at once when on time.
	 */
	next = p->snap_origin_ns + (p->snap_points + 1) * period +
	       (__s64)(period * profiler__uniform(p, -0.4, 0.4));
	return next > now ? next - now : 1;
}

int profiler__redraw(struct profiler *p)
{
	return sampler__redraw(p->sampler);
}

double profiler__uniform(struct profiler *p, double lo, double hi)
{
	return sampler__uniform(p->sampler, lo, hi);
}

double profiler__rate(struct profiler *p)
{
	__u64 c[CNT_MAX];
	double hz;

	/*
	 * Wall mode: a snapshot's sample is 1/HZ s exactly, and an on-CPU
	 * sample must weigh the same (the contract: a sample = 1/HZ s).
	 */
	if (p->opts.wall)
		return p->opts.frequency;
	sampler__counters(p->sampler, c);
	hz = sampler__rate(p->sampler, c[CNT_SAMPLES], c[CNT_SELF_TICKS]);
	/* Nothing measured yet (or the counters unreadable): the rate asked for. */
	return hz > 0 ? hz : p->opts.frequency;
}

bool profiler__tail_walker(const struct profiler *p)
{
	return sampler__tail_walker(p->sampler);
}

int profiler__poll(struct profiler *p)
{
	int n = sampler__drain(p->sampler);
	__u64 now = now_ns();

	handle_deferred(p, now);
	run_due_work(p, now);
	bound_dict(p);
	return n < 0 ? n : 0;
}

void profiler__stop(struct profiler *p)
{
	sampler__stop(p->sampler);
	sampler__drain(p->sampler);
	handle_deferred(p, now_ns());
}

int profiler__add_window(struct profiler *p, struct agg *agg, __u64 start_ns, __u64 end_ns)
{
	if (array__reserve((void **)&p->windows, &p->windows_cap, p->nwindows + 1,
			   sizeof(*p->windows)))
		return -ENOMEM;
	p->windows[p->nwindows++] = (struct window){
		.agg = agg, .start_ns = start_ns, .end_ns = end_ns,
	};
	return 0;
}

int profiler__set_late_window(struct profiler *p, struct agg *agg)
{
	p->late = agg;
	return 0;
}

static struct window *window_find(struct profiler *p, const struct agg *agg)
{
	for (size_t i = 0; i < p->nwindows; i++)
		if (p->windows[i].agg == agg)
			return &p->windows[i];
	return NULL;
}

void profiler__end_window(struct profiler *p, struct agg *agg, __u64 end_ns)
{
	struct window *w = window_find(p, agg);

	if (w)
		w->end_ns = end_ns;
}

void profiler__remove_window(struct profiler *p, struct agg *agg)
{
	struct window *w = window_find(p, agg);

	if (!w)
		return;
	if (p->late == agg)
		p->late = NULL;
	free(w->remap);
	*w = p->windows[--p->nwindows];
}

static int add_sym_stats(const void *key, void *value, void *ctx)
{
	struct py_process *proc = *(struct py_process **)value;
	struct profiler_stats *st = ctx;
	struct symbolizer_stats ss;

	st->procs_tracked++;
	if (proc->sym) {
		symbolizer__stats(proc->sym, &ss);
		st->code_failures += ss.code_failures;
		st->codes_cached += ss.codes_cached;
		st->frames_cached += ss.frames_cached;
		st->cache_resets += ss.cache_resets;
		st->tlbc_frames += ss.tlbc_frames;
		st->tlbc_failures += ss.tlbc_failures;
	}
	return 0;
}

void profiler__stats(struct profiler *p, struct profiler_stats *st)
{
	*st = p->stats;
	st->offcpu_process_refused = sampler__proc_iters_refused(p->sampler);
	sampler__counters(p->sampler, st->counters);
	hmap__for_each(p->procs, add_sym_stats, st);
	st->dict_frames = agg__nr_frames(p->dict);
	if (p->mixed) {
		struct mixed_stats ms;

		mixed__stats(p->mixed, &ms);
		st->native_unwound = ms.unwound;
		st->native_truncated = ms.truncated;
		st->native_median_ns = ms.median_ns;
		st->native_p99_ns = ms.p99_ns;
	}
}

static int free_proc(const void *key, void *value, void *ctx)
{
	struct py_process *proc = *(struct py_process **)value;

	symbolizer__free(proc->sym);
	hmap__free(proc->thread_names);
	free(proc);
	return 0;
}

void profiler__free(struct profiler *p)
{
	if (!p)
		return;
	if (p->procs) {
		hmap__for_each(p->procs, free_proc, NULL);
		hmap__free(p->procs);
	}
	sampler__close(p->sampler);
	for (size_t i = 0; i < p->nwindows; i++)
		free(p->windows[i].remap);
	free(p->windows);
	hmap__free(p->followed);
	agg__free(p->dict);
	free(p->pids);
	free(p->deferred);
	free(p->ids);
	free(p->wids);
	mixed__free(p->mixed);
	hmap__free(p->offcpu_ids);
	hmap__free(p->gil_notices);
	offcpu__free(p->offcpu);
	free(p->snap_pids);
	free(p);
}
