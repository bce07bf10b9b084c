// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include "hmap.h"
#include "procfs.h"
#include "profiler.h"
#include "pytarget.h"
#include "sampler.h"
#include "symbolize.h"

#define NSEC_PER_MSEC 1000000ULL
#define RECHECK_NS (2000 * NSEC_PER_MSEC)	/* a non-Python process, looked at again */
#define SWEEP_NS (5000 * NSEC_PER_MSEC)
#define MAX_THREAD_NAMES 8192	/* per process; forgotten past that */

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
	__u32 agg_proc;
	char comm[16];
	struct py_target target;
	struct symbolizer *sym;
	struct hmap *thread_names;	/* tid -> comm[16], read on first sight */
};

struct profiler {
	struct profiler_opts opts;
	struct sampler *sampler;
	struct agg *agg;
	struct hmap *procs;		/* pid -> struct py_process * */
	struct pyprof_event *deferred;	/* exec/exit: handled after the samples */
	size_t ndeferred, deferred_cap;
	__u32 *ids;			/* frame ids of one stack */
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
	if (!p->opts.npids)
		return true;
	for (size_t i = 0; i < p->opts.npids; i++)
		if (p->opts.pids[i] == pid)
			return true;
	return false;
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

/* Forget what we knew of the image: the process exec'd or is gone. */
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
	if (proc->state == PROC_PYTHON)
		sampler__del_proc(p->sampler, proc->pid);
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

static int proc_activate(struct profiler *p, struct py_process *proc, const struct py_target *t)
{
	struct py_proc_info pi;
	int err;

	proc->target = *t;
	proc->sym = symbolizer__new(proc->pid, &proc->target, p->agg, p->opts.no_lines);
	if (!proc->sym)
		return -ENOMEM;
	if (procfs__comm(proc->pid, proc->comm, sizeof(proc->comm)))
		snprintf(proc->comm, sizeof(proc->comm), "python");
	proc->agg_proc = agg__intern_proc(p->agg, proc->pid, proc->comm);
	set_fork_parent(p, proc);
	py_target__proc_info(t, &pi);
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

static void on_sample(const struct sample_hdr *hdr, const struct py_frame *frames, void *ctx)
{
	struct profiler *p = ctx;
	struct py_process *proc = proc_find(p, hdr->tgid);
	unsigned int flags = 0;
	size_t n = hdr->nframes;

	if (!proc || proc->state != PROC_PYTHON) {
		p->stats.dropped_samples++;
		return;
	}
	if (n > p->opts.max_depth)
		n = p->opts.max_depth;
	for (size_t i = 0; i < n; i++)
		p->ids[n - 1 - i] = symbolizer__frame(proc->sym, &frames[i]);
	if (hdr->flags & (SAMPLE_TRUNCATED | SAMPLE_READ_ERROR))
		flags |= AGG_STACK_TRUNCATED;
	if (agg__add_stack(p->agg, proc->agg_proc, hdr->tid, thread_name(proc, hdr->tid),
			   p->ids, n, flags, 1))
		p->stats.dropped_samples++;
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
	/* The child's memory is a copy of the parent's: so is its layout. */
	if (pp && pp->state == PROC_PYTHON && proc->state != PROC_PYTHON &&
	    !proc_activate(p, proc, &pp->target)) {
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
	if (t->sweep && proc->state != PROC_PYTHON &&
	    (procfs__start_time(proc->pid, &start) || start != proc->start_time))
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

		if (!proc)
			continue;
		if (proc->state == PROC_PENDING)
			proc_probe(p, proc, now);
		else
			proc_remove(p, proc->pid);
	}
	free(t.gone);
}

static int scan_all(struct profiler *p)
{
	__u64 now = now_ns();
	struct dirent *de;
	DIR *dir;

	if (p->opts.npids) {
		for (size_t i = 0; i < p->opts.npids; i++) {
			struct py_process *proc = proc_add(p, p->opts.pids[i]);

			if (!proc)
				return -ENOMEM;
			proc_probe(p, proc, now);
			proc = proc_find(p, p->opts.pids[i]);
			if (proc && proc->state == PROC_NOT_PYTHON)
				fprintf(stderr, "pybpfprof: pid %d is not a Python process (yet); "
					"watching it\n", proc->pid);
		}
		return 0;
	}
	dir = opendir("/proc");
	if (!dir)
		return -errno;
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

struct profiler *profiler__new(const struct profiler_opts *o, struct agg *agg, int *err)
{
	struct sampler_callbacks cb = { .on_sample = on_sample, .on_event = on_event };
	struct sampler_opts so = {
		.max_depth = o->max_depth,
		.pid_filter = o->npids > 0,
		.ring_size = o->ring_size,
	};
	struct profiler *p = calloc(1, sizeof(*p));

	if (!p) {
		*err = -ENOMEM;
		return NULL;
	}
	p->opts = *o;
	p->agg = agg;
	p->procs = hmap__new(sizeof(pid_t), sizeof(struct py_process *));
	p->ids = calloc(PYBPFPROF_MAX_DEPTH, sizeof(*p->ids));
	if (!p->procs || !p->ids) {
		*err = -ENOMEM;
		goto err_free;
	}
	cb.ctx = p;
	p->sampler = sampler__open(&so, &cb, err);
	if (!p->sampler)
		goto err_free;
	*err = scan_all(p);
	if (*err)
		goto err_free;
	p->last_sweep_ns = now_ns();
	return p;
err_free:
	profiler__free(p);
	return NULL;
}

int profiler__start(struct profiler *p)
{
	return sampler__start(p->sampler, p->opts.frequency);
}

int profiler__poll(struct profiler *p)
{
	int n = sampler__drain(p->sampler);
	__u64 now = now_ns();

	handle_deferred(p, now);
	run_due_work(p, now);
	return n < 0 ? n : 0;
}

void profiler__stop(struct profiler *p)
{
	sampler__stop(p->sampler);
	sampler__drain(p->sampler);
	handle_deferred(p, now_ns());
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
	sampler__counters(p->sampler, st->counters);
	hmap__for_each(p->procs, add_sym_stats, st);
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
	free(p->deferred);
	free(p->ids);
	free(p);
}
