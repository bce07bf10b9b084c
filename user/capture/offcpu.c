// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include "array.h"
#include "hmap.h"
#include "offcpu.h"
#include "pywalk.h"
#include "remote.h"

/* futex(2) as the kernel side stores a system call: its number + 1. */
#define OFFCPU_FUTEX (SYS_futex + 1)
/* Snapshots a thread may go unseen off CPU (running, or gone) before it is forgotten. */
#define FORGET_AFTER 256

/* What the last snapshot that found a thread off CPU read of it. */
struct thread_seen {
	pid_t pid;
	__u64 fsbase;
	__u64 tstate;
	__u64 gil;		/* its interpreter's GIL (0: none or not known) */
	__u64 switches;		/* its context switches then */
	__u64 generation;	/* the snapshot */
	bool stack_ok;		/* frames hold its stack as of @switches */
	__u16 flags;
	__u16 why;
	__u8 gil_state;
	unsigned int n;
	size_t cap;
	struct py_frame *frames;
	struct offcpu_ids ids;
};

struct offcpu {
	struct hmap *threads;	/* tid -> struct thread_seen * */
	__u64 generation;
};

struct offcpu *offcpu__new(void)
{
	struct offcpu *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->threads = hmap__new(sizeof(__u32), sizeof(struct thread_seen *));
	if (!o->threads) {
		offcpu__free(o);
		return NULL;
	}
	o->generation = 1;
	return o;
}

static void thread_free(struct thread_seen *t)
{
	if (t) {
		free(t->frames);
		free(t->ids.v);
	}
	free(t);
}

static int free_one(const void *key, void *value, void *ctx)
{
	thread_free(*(struct thread_seen **)value);
	return 0;
}

void offcpu__free(struct offcpu *o)
{
	if (!o)
		return;
	if (o->threads)
		hmap__for_each(o->threads, free_one, NULL);
	hmap__free(o->threads);
	free(o);
}

/* The entry for @r's thread, new or reset when it names another thread now. */
static struct thread_seen *thread_get(struct offcpu *o, pid_t pid, const struct offcpu_scan_rec *r)
{
	struct thread_seen **slot, *t;
	bool created;

	slot = hmap__insert(o->threads, &r->tid, &created);
	if (!slot)
		return NULL;
	if (created) {
		*slot = calloc(1, sizeof(**slot));
		if (!*slot) {
			hmap__delete(o->threads, &r->tid);
			return NULL;
		}
	}
	t = *slot;
	/* A reused TID, or a pthread reused for another thread state. */
	if (t->pid != pid || t->fsbase != r->fsbase) {
		t->pid = pid;
		t->fsbase = r->fsbase;
		t->tstate = t->gil = 0;
		t->stack_ok = false;
		t->ids.gen = 0;
	}
	t->generation = o->generation;
	return t;
}

/* The thread state for @t's thread pointer: the one found before, if it still is. */
static __u64 thread_tstate(struct thread_seen *t, const struct py_proc_info *pi)
{
	__u64 id = 0;

	if (t->tstate && !remote__read_u64(t->pid, t->tstate + pi->tstate_thread_id, &id) &&
	    id == t->fsbase)
		return t->tstate;
	t->tstate = pywalk__find_tstate(t->pid, pi, t->fsbase);
	t->gil = t->tstate ? pywalk__gil(t->pid, pi, t->tstate) : 0;
	return t->tstate;
}

/* Walk @t's stack into its entry; false when it moved while being read. */
static bool thread_walk(struct thread_seen *t, const struct py_proc_info *pi, unsigned int max)
{
	struct py_frame check;
	__u64 top = 0, again = 0;
	__u16 flags;

	if (array__reserve((void **)&t->frames, &t->cap, max, sizeof(*t->frames)))
		return false;
	t->n = pywalk__stack(t->pid, pi, t->tstate, t->frames, max, &t->flags, &top);
	if (!t->n)
		return true;
	/*
	 * Woken meanwhile and running Python, it has moved its frame or the
	 * instruction of its leaf; a thread back in the same wait has not,
	 * and its stack is the same one anyway.
	 */
	if (pywalk__stack(t->pid, pi, t->tstate, &check, 1, &flags, &again) != 1 ||
	    again != top || check.code != t->frames[0].code || check.lasti != t->frames[0].lasti)
		return false;
	return true;
}

int offcpu__stack(struct offcpu *o, pid_t pid, const struct py_proc_info *pi,
		  const struct offcpu_scan_rec *r, unsigned int max, struct offcpu_stack *out)
{
	struct thread_seen *t = thread_get(o, pid, r);
	bool gil_wait;

	if (!t)
		return -ENOMEM;
	out->reused = t->stack_ok && t->switches == r->switches && t->why == r->offcpu;
	if (!out->reused) {
		t->stack_ok = false;
		t->ids.gen = 0;
		t->n = 0;
		if (max && thread_tstate(t, pi) && !thread_walk(t, pi, max))
			return -EAGAIN;
		gil_wait = r->offcpu == OFFCPU_FUTEX && t->gil && r->futex_addr >= t->gil &&
			   r->futex_addr < t->gil + pi->gil_size;
		/* Blocked, a thread keeps the GIL or not until it runs again. */
		t->gil_state = gil_wait ? GIL_STATE_WAITING :
			       t->n ? pywalk__gil_state(pid, pi, t->tstate, t->gil) : 0;
		t->why = r->offcpu;
		t->switches = r->switches;
		/* No thread state or no frame (a C thread, one not started): kept too. */
		t->stack_ok = true;
	}
	if (!t->n)
		return -ENOENT;
	out->frames = t->frames;
	out->n = t->n;
	out->flags = t->flags;
	out->why = t->gil_state == GIL_STATE_WAITING ? OFFCPU_GIL : t->why;
	out->gil = t->gil_state;
	out->ids = &t->ids;
	return 0;
}

struct stale {
	__u64 before;
	__u32 *tids;
	size_t n, cap;
};

static int note_stale(const void *key, void *value, void *ctx)
{
	struct thread_seen *t = *(struct thread_seen **)value;
	struct stale *s = ctx;

	if (t->generation >= s->before)
		return 0;
	if (array__reserve((void **)&s->tids, &s->cap, s->n + 1, sizeof(*s->tids)))
		return 1;
	s->tids[s->n++] = *(const __u32 *)key;
	return 0;
}

void offcpu__end_snapshot(struct offcpu *o)
{
	struct stale s = { 0 };

	if (++o->generation % FORGET_AFTER)
		return;
	s.before = o->generation - FORGET_AFTER;
	hmap__for_each(o->threads, note_stale, &s);
	for (size_t i = 0; i < s.n; i++) {
		struct thread_seen **t = hmap__find(o->threads, &s.tids[i]);

		if (t)
			thread_free(*t);
		hmap__delete(o->threads, &s.tids[i]);
	}
	free(s.tids);
}
