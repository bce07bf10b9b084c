// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Folded stacks, the "collapsed" input of flamegraph.pl, inferno and
 * speedscope: one line per stack, root first,
 *
 *	comm (pid);[truncated];root (file:line);...;leaf (file:line) COUNT
 *
 * Distinct stacks of the agg can print the same text (threads of one
 * process, functions told apart only by their first line, names that
 * sanitize alike). Those are merged into one line, at the place of the
 * first, so consumers that do not sum duplicates see the right counts.
 *
 * Merging compares ids, not text: every distinct label gets one
 * canonical id (the lowest frame or process id that prints it), and two
 * lines are equal when their canonical id sequences are. Labels never
 * contain ';' and always end in ')', so the sequence determines the text.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "hmap.h"
#include "output.h"

/*
 * A line's key: root (process, or process and thread with --threads),
 * truncated flag, then frames, as canonical ids.
 */
#define KEY_PROC 0
#define KEY_TRUNCATED 1
#define KEY_FRAMES 2

struct folded_line {
	size_t off;	/* of the key in folded.keys */
	const __u32 *key;	/* fo->keys + off, once fo->keys stops moving */
	size_t len;
	__u64 count;
	bool merged;	/* counted in an earlier line */
};

struct folded {
	const struct agg *a;
	struct folded_line *lines;
	size_t nlines, lines_cap;
	__u32 *keys;
	size_t nkeys, keys_cap;
	size_t nframe_ids;	/* highest frame id in any stack + 1 */
	char **frame_labels;	/* by frame id; NULL for ids in no stack */
	char **proc_labels;	/* by root id */
	bool threads;		/* roots are (process, thread) pairs */
	struct folded_root *roots;	/* with threads: root id -> pair */
	size_t nroots, roots_cap;
	struct hmap *root_ids;	/* (process, tid) -> root id */
};

struct folded_root {
	__u32 proc_id;
	__u32 tid;
	__u32 gil;		/* enum gil_state: part of the thread frame */
	const char *thread_name;
};

struct label_ref {
	const char *label;
	__u32 id;
};

/* The root id of a stack: its process, or its (process, thread). */
static int folded__root(struct folded *fo, const struct agg_stack *s, __u32 *root)
{
	__u32 triple[3] = { s->proc_id, s->tid, agg_stack_gil(s->flags) }, *id;
	bool created;

	if (!fo->threads) {
		*root = s->proc_id;
		return 0;
	}
	id = hmap__insert(fo->root_ids, triple, &created);
	if (!id)
		return -ENOMEM;
	if (created) {
		if (array__reserve((void **)&fo->roots, &fo->roots_cap, fo->nroots + 1,
				   sizeof(*fo->roots)))
			return -ENOMEM;
		fo->roots[fo->nroots] = (struct folded_root){
			s->proc_id, s->tid, triple[2], s->thread_name,
		};
		*id = (__u32)fo->nroots++;
	}
	*root = *id;
	return 0;
}

/* Copy each stack's key out of the agg: it is rewritten in place later. */
static int folded__collect(const struct agg_stack *s, void *ctx)
{
	struct folded *fo = ctx;
	struct folded_line *l;
	__u32 *key, root;

	/* The labels are made per process id afterwards. */
	if (s->proc_id >= agg__nr_procs(fo->a))
		return -EINVAL;
	if (s->nframes > SIZE_MAX - KEY_FRAMES - fo->nkeys)
		return -ENOMEM;
	if (array__reserve((void **)&fo->keys, &fo->keys_cap, fo->nkeys + KEY_FRAMES + s->nframes,
			   sizeof(*fo->keys)) ||
	    array__reserve((void **)&fo->lines, &fo->lines_cap, fo->nlines + 1, sizeof(*fo->lines)))
		return -ENOMEM;

	if (folded__root(fo, s, &root))
		return -ENOMEM;
	key = fo->keys + fo->nkeys;
	key[KEY_PROC] = root;
	key[KEY_TRUNCATED] = !!(s->flags & AGG_STACK_TRUNCATED);
	for (size_t i = 0; i < s->nframes; i++) {
		key[KEY_FRAMES + i] = s->frame_ids[i];
		if (s->frame_ids[i] >= fo->nframe_ids)
			fo->nframe_ids = (size_t)s->frame_ids[i] + 1;
	}
	l = &fo->lines[fo->nlines++];
	l->off = fo->nkeys;
	l->key = NULL;
	l->len = KEY_FRAMES + s->nframes;
	l->count = s->count;
	l->merged = false;
	fo->nkeys += l->len;
	return 0;
}

static char *label_dup(const struct agg_frame *fr)
{
	char *s;
	int n;

	n = output__frame_label(fr, NULL, 0);
	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (s)
		output__frame_label(fr, s, (size_t)n + 1);
	return s;
}

/* A process label (@proc_label) or, without it, a thread label, malloc'd. */
static char *root_label_dup(int (*proc_label)(const struct agg_proc *, char *, size_t),
			    const struct agg_proc *p, __u32 tid, const char *name, __u32 gil)
{
	int n = proc_label ? proc_label(p, NULL, 0) : output__thread_label(tid, name, gil, NULL, 0);
	char *s;

	if (n < 0)
		return NULL;
	s = malloc((size_t)n + 1);
	if (!s)
		return NULL;
	if (proc_label)
		proc_label(p, s, (size_t)n + 1);
	else
		output__thread_label(tid, name, gil, s, (size_t)n + 1);
	return s;
}

static int folded__make_labels(struct folded *fo)
{
	static const struct agg_frame unknown = { .qualname = "[unknown]", .file = "?",
						  .line = -1 };
	if (!fo->threads)
		fo->nroots = agg__nr_procs(fo->a);
	fo->frame_labels = calloc(fo->nframe_ids + 1, sizeof(*fo->frame_labels));
	fo->proc_labels = calloc(fo->nroots + 1, sizeof(*fo->proc_labels));
	if (!fo->frame_labels || !fo->proc_labels)
		return -ENOMEM;

	for (size_t i = 0; i < fo->nlines; i++) {
		const __u32 *key = fo->keys + fo->lines[i].off;

		for (size_t j = KEY_FRAMES; j < fo->lines[i].len; j++) {
			const struct agg_frame *fr;

			if (fo->frame_labels[key[j]])
				continue;
			fr = agg__frame(fo->a, key[j]);
			fo->frame_labels[key[j]] = label_dup(fr ? fr : &unknown);
			if (!fo->frame_labels[key[j]])
				return -ENOMEM;
		}
	}

	for (size_t i = 0; i < fo->nroots; i++) {
		const struct folded_root *r = fo->threads ? &fo->roots[i] : NULL;
		const struct agg_proc *p = agg__proc(fo->a, r ? r->proc_id : (__u32)i);
		char *proc = root_label_dup(output__proc_label, p, 0, NULL, 0);
		char *thread = r ? root_label_dup(NULL, NULL, r->tid, r->thread_name, r->gil) : NULL;

		if (!proc || (r && !thread)) {
			free(proc);
			free(thread);
			return -ENOMEM;
		}
		if (!thread) {
			fo->proc_labels[i] = proc;
			continue;
		}
		/* Two frames, each sanitized on its own, behind one root id. */
		if (asprintf(&fo->proc_labels[i], "%s;%s", proc, thread) < 0)
			fo->proc_labels[i] = NULL;
		free(proc);
		free(thread);
		if (!fo->proc_labels[i])
			return -ENOMEM;
	}
	return 0;
}

static int label_ref_cmp(const void *pa, const void *pb)
{
	const struct label_ref *x = pa, *y = pb;
	int c = strcmp(x->label, y->label);

	if (c)
		return c;
	return (x->id > y->id) - (x->id < y->id);
}

/* canon[id] = the lowest id whose label equals that of id. */
static int canon_ids(char *const *labels, size_t n, __u32 *canon)
{
	struct label_ref *refs;
	size_t nrefs = 0;

	refs = malloc((n + 1) * sizeof(*refs));
	if (!refs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (labels[i])
			refs[nrefs++] = (struct label_ref){ .label = labels[i], .id = (__u32)i };
	}
	qsort(refs, nrefs, sizeof(*refs), label_ref_cmp);
	for (size_t i = 0, head = 0; i < nrefs; i++) {
		if (strcmp(refs[i].label, refs[head].label))
			head = i;
		canon[refs[i].id] = refs[head].id;
	}
	free(refs);
	return 0;
}

static bool line_key_eq(const struct folded_line *x, const struct folded_line *y)
{
	return x->len == y->len && !memcmp(x->key, y->key, x->len * sizeof(*x->key));
}

static int line_cmp(const void *pa, const void *pb)
{
	const struct folded_line *x = *(struct folded_line *const *)pa;
	const struct folded_line *y = *(struct folded_line *const *)pb;

	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	for (size_t i = 0; i < x->len; i++) {
		if (x->key[i] != y->key[i])
			return x->key[i] < y->key[i] ? -1 : 1;
	}
	/* Equal keys: the earlier line first, it absorbs the others. */
	return (x > y) - (x < y);
}

static int folded__merge(struct folded *fo)
{
	size_t nprocs = fo->nroots;
	__u32 *frame_canon, *proc_canon;
	struct folded_line **order;
	int err = -ENOMEM;

	frame_canon = calloc(fo->nframe_ids + 1, sizeof(*frame_canon));
	if (!frame_canon)
		return -ENOMEM;
	proc_canon = calloc(nprocs + 1, sizeof(*proc_canon));
	if (!proc_canon)
		goto free_frame_canon;
	order = malloc((fo->nlines + 1) * sizeof(*order));
	if (!order)
		goto free_proc_canon;
	if (canon_ids(fo->frame_labels, fo->nframe_ids, frame_canon) ||
	    canon_ids(fo->proc_labels, nprocs, proc_canon))
		goto free_order;

	for (size_t i = 0; i < fo->nlines; i++) {
		struct folded_line *l = &fo->lines[i];
		__u32 *key = fo->keys + l->off;

		key[KEY_PROC] = proc_canon[key[KEY_PROC]];
		for (size_t j = KEY_FRAMES; j < l->len; j++)
			key[j] = frame_canon[key[j]];
		l->key = key;
		order[i] = l;
	}
	qsort(order, fo->nlines, sizeof(*order), line_cmp);
	for (size_t i = 1, head = 0; i < fo->nlines; i++) {
		if (line_key_eq(order[head], order[i])) {
			order[head]->count += order[i]->count;
			order[i]->merged = true;
		} else {
			head = i;
		}
	}
	err = 0;
free_order:
	free(order);
free_proc_canon:
	free(proc_canon);
free_frame_canon:
	free(frame_canon);
	return err;
}

static int folded__print(const struct folded *fo, FILE *f)
{
	for (size_t i = 0; i < fo->nlines; i++) {
		const struct folded_line *l = &fo->lines[i];
		const __u32 *key = l->key;

		if (l->merged)
			continue;
		fputs(fo->proc_labels[key[KEY_PROC]], f);
		if (key[KEY_TRUNCATED])
			fputs(";[truncated]", f);
		for (size_t j = KEY_FRAMES; j < l->len; j++) {
			fputc(';', f);
			fputs(fo->frame_labels[key[j]], f);
		}
		/* Stop early on a dead pipe or a full disk. */
		if (fprintf(f, " %llu\n", (unsigned long long)l->count) < 0 || ferror(f))
			return -EIO;
	}
	return 0;
}

int output_folded__write(const struct agg *a, const struct output_meta *m, FILE *f)
{
	struct folded fo = { .a = a };
	int err;

	if (!a || !f)
		return -EINVAL;
	fo.threads = m && m->threads;
	if (fo.threads) {
		fo.root_ids = hmap__new(3 * sizeof(__u32), sizeof(__u32));
		if (!fo.root_ids)
			return -ENOMEM;
	}
	err = agg__for_each_stack(a, folded__collect, &fo);
	if (err)
		goto free_folded;
	err = folded__make_labels(&fo);
	if (err)
		goto free_folded;
	err = folded__merge(&fo);
	if (err)
		goto free_folded;
	err = folded__print(&fo, f);
	if (!err && (fflush(f) || ferror(f)))
		err = -EIO;
free_folded:
	if (fo.frame_labels) {
		for (size_t i = 0; i < fo.nframe_ids; i++)
			free(fo.frame_labels[i]);
	}
	if (fo.proc_labels) {
		for (size_t i = 0; i < fo.nroots; i++)
			free(fo.proc_labels[i]);
	}
	free(fo.roots);
	hmap__free(fo.root_ids);
	free(fo.frame_labels);
	free(fo.proc_labels);
	free(fo.lines);
	free(fo.keys);
	return err;
}
