// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * speedscope's own file format (jlfwong/speedscope
 * src/lib/file-format-spec.ts, schema at
 * https://www.speedscope.app/file-format-schema.json):
 *
 *	{"$schema": ..., "exporter": "pybpfprof@VERSION", "name": ...,
 *	 "activeProfileIndex": N,
 *	 "shared": {"frames": [{"name", "file", "line"}, ...]},
 *	 "profiles": [{"type": "sampled", "name": "comm (pid)",
 *		       "unit": "seconds", "startValue": 0, "endValue": T,
 *		       "samples": [[frame index, root first], ...],
 *		       "weights": [seconds, ...]}, ...]}
 *
 * One sampled profile per process, or per (process, thread) with
 * --threads: speedscope shows one profile at a time and has no frame
 * kind for "process", so the process is the profile, not a root frame.
 * A sample's weight is its count over the frequency: seconds on CPU.
 *
 * Frames that look alike in this format (same name, file and executing
 * line; functions told apart only by their first line) share one entry,
 * and samples that then coincide are merged, so each stack appears once.
 * The order depends only on the agg: profiles by pid, proc id and tid,
 * samples in the order the agg first saw them, frames by first use.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "hmap.h"
#include "json_writer.h"
#include "output.h"

#define SCHEMA_URL "https://www.speedscope.app/file-format-schema.json"
/* Index of the "[truncated]" pseudo-frame among frame ids. */
#define TRUNCATED_ID UINT32_MAX
#define NO_INDEX UINT32_MAX

struct ss_root {
	__u32 proc_id;
	__u32 tid;			/* 0 without --threads */
	const char *thread_name;	/* first one seen, may be NULL */
	__u64 count;
};

struct ss_stack {
	__u32 root;
	size_t off, len;	/* frame ids in ss.ids, root first */
	size_t seq;		/* position in the agg's order */
	__u64 count;
	bool merged;		/* counted in an equal, earlier stack */
	const __u32 *key;	/* ss.ids + off once ss.ids stops moving */
};

struct ss {
	const struct agg *a;
	bool threads;
	struct ss_root *roots;
	size_t nroots, roots_cap;
	struct hmap *root_ids;	/* (proc_id, tid) -> root index */
	struct ss_stack *stacks;
	size_t nstacks, stacks_cap;
	__u32 *ids;
	size_t nids, ids_cap;
	size_t nframe_ids;	/* highest agg frame id in a stack + 1 */
	__u32 *canon;		/* agg frame id -> id of the first look-alike */
	__u32 *index_of;	/* canonical frame id -> output index */
	__u32 truncated_index;
	__u32 *frame_of;	/* output index -> frame id or TRUNCATED_ID */
	size_t nout;
};

static int ss__root(struct ss *ss, const struct agg_stack *s, __u32 *root)
{
	__u32 pair[2] = { s->proc_id, ss->threads ? s->tid : 0 }, *id;
	bool created;

	id = hmap__insert(ss->root_ids, pair, &created);
	if (!id)
		return -ENOMEM;
	if (created) {
		if (array__reserve((void **)&ss->roots, &ss->roots_cap, ss->nroots + 1,
				   sizeof(*ss->roots))) {
			hmap__delete(ss->root_ids, pair);
			return -ENOMEM;
		}
		ss->roots[ss->nroots] = (struct ss_root){ s->proc_id, pair[1], NULL, 0 };
		*id = (__u32)ss->nroots++;
	}
	*root = *id;
	if (ss->threads && !ss->roots[*root].thread_name)
		ss->roots[*root].thread_name = s->thread_name;
	return 0;
}

/* Copy each stack out of the agg: its frame ids are rewritten later. */
static int ss__collect(const struct agg_stack *s, void *ctx)
{
	bool truncated = s->flags & AGG_STACK_TRUNCATED;
	struct ss *ss = ctx;
	struct ss_stack *st;
	size_t len;
	__u32 root;

	if (!agg__proc(ss->a, s->proc_id))
		return -EINVAL;
	if (s->nframes > SIZE_MAX / 2 - ss->nids)
		return -ENOMEM;
	len = s->nframes + truncated;
	if (array__reserve((void **)&ss->ids, &ss->ids_cap, ss->nids + len, sizeof(*ss->ids)) ||
	    array__reserve((void **)&ss->stacks, &ss->stacks_cap, ss->nstacks + 1,
			   sizeof(*ss->stacks)) ||
	    ss__root(ss, s, &root))
		return -ENOMEM;

	st = &ss->stacks[ss->nstacks];
	*st = (struct ss_stack){ .root = root, .off = ss->nids, .len = len,
				 .seq = ss->nstacks, .count = s->count };
	/* The pseudo-frame goes where the missing frames would be: at the root. */
	if (truncated)
		ss->ids[ss->nids++] = TRUNCATED_ID;
	for (size_t i = 0; i < s->nframes; i++) {
		__u32 id = s->frame_ids[i];

		if (!agg__frame(ss->a, id))
			return -EINVAL;
		ss->ids[ss->nids++] = id;
		if (id >= ss->nframe_ids)
			ss->nframe_ids = (size_t)id + 1;
	}
	ss->roots[root].count += s->count;
	ss->nstacks++;
	return 0;
}

static int frame_cmp(const struct agg_frame *x, const struct agg_frame *y)
{
	int c = strcmp(x->qualname, y->qualname);

	if (!c)
		c = strcmp(x->file, y->file);
	if (!c)
		c = (x->line > y->line) - (x->line < y->line);
	return c;
}

static int frame_id_cmp(const void *pa, const void *pb, void *ctx)
{
	__u32 x = *(const __u32 *)pa, y = *(const __u32 *)pb;
	int c = frame_cmp(agg__frame(ctx, x), agg__frame(ctx, y));

	return c ? c : (x > y) - (x < y);
}

/* canon[id] = the lowest frame id that writes the same frame entry. */
static int ss__canon_frames(struct ss *ss)
{
	__u32 *used;
	size_t n = 0;

	ss->canon = calloc(ss->nframe_ids + 1, sizeof(*ss->canon));
	used = calloc(ss->nframe_ids + 1, sizeof(*used));
	if (!ss->canon || !used) {
		free(used);
		return -ENOMEM;
	}
	/* Mark the ids in use with canon = 1, then list them. */
	for (size_t i = 0; i < ss->nids; i++) {
		if (ss->ids[i] != TRUNCATED_ID)
			ss->canon[ss->ids[i]] = 1;
	}
	for (size_t id = 0; id < ss->nframe_ids; id++) {
		if (ss->canon[id])
			used[n++] = (__u32)id;
	}
	qsort_r(used, n, sizeof(*used), frame_id_cmp, (void *)ss->a);
	for (size_t i = 0, head = 0; i < n; i++) {
		if (frame_cmp(agg__frame(ss->a, used[i]), agg__frame(ss->a, used[head])))
			head = i;
		ss->canon[used[i]] = used[head];
	}
	free(used);
	return 0;
}

static int key_cmp(const struct ss_stack *x, const struct ss_stack *y)
{
	if (x->root != y->root)
		return x->root < y->root ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	for (size_t i = 0; i < x->len; i++) {
		if (x->key[i] != y->key[i])
			return x->key[i] < y->key[i] ? -1 : 1;
	}
	return 0;
}

static int merge_cmp(const void *pa, const void *pb)
{
	const struct ss_stack *x = *(struct ss_stack *const *)pa;
	const struct ss_stack *y = *(struct ss_stack *const *)pb;
	int c = key_cmp(x, y);

	/* Equal keys: the earlier stack first, it absorbs the others. */
	return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

static int root_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct ss *ss = ctx;
	const struct ss_root *x = &ss->roots[*(const __u32 *)pa];
	const struct ss_root *y = &ss->roots[*(const __u32 *)pb];
	__u32 px = agg__proc(ss->a, x->proc_id)->pid;
	__u32 py = agg__proc(ss->a, y->proc_id)->pid;

	if (px != py)
		return px < py ? -1 : 1;
	if (x->proc_id != y->proc_id)
		return x->proc_id < y->proc_id ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

/* Output order: by profile (@ctx: the rank of each root), then by first sight. */
static int order_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct ss_stack *x = *(struct ss_stack *const *)pa;
	const struct ss_stack *y = *(struct ss_stack *const *)pb;
	const __u32 *rank = ctx;

	if (rank[x->root] != rank[y->root])
		return rank[x->root] < rank[y->root] ? -1 : 1;
	return (x->seq > y->seq) - (x->seq < y->seq);
}

/*
 * Merge look-alike stacks, then put the rest in output order in
 * @order (returns how many) and the profiles' roots in @root_order.
 */
static size_t ss__merge_and_order(struct ss *ss, struct ss_stack **order, __u32 *root_order,
				  __u32 *rank)
{
	size_t n = 0;

	for (size_t i = 0; i < ss->nstacks; i++) {
		struct ss_stack *st = &ss->stacks[i];
		__u32 *key = ss->ids + st->off;

		for (size_t j = 0; j < st->len; j++) {
			if (key[j] != TRUNCATED_ID)
				key[j] = ss->canon[key[j]];
		}
		st->key = key;
		order[i] = st;
	}
	qsort(order, ss->nstacks, sizeof(*order), merge_cmp);
	for (size_t i = 1, head = 0; i < ss->nstacks; i++) {
		if (!key_cmp(order[head], order[i])) {
			order[head]->count += order[i]->count;
			order[i]->merged = true;
		} else {
			head = i;
		}
	}

	for (size_t i = 0; i < ss->nroots; i++)
		root_order[i] = (__u32)i;
	qsort_r(root_order, ss->nroots, sizeof(*root_order), root_cmp, ss);
	for (size_t i = 0; i < ss->nroots; i++)
		rank[root_order[i]] = (__u32)i;

	for (size_t i = 0; i < ss->nstacks; i++) {
		if (!ss->stacks[i].merged)
			order[n++] = &ss->stacks[i];
	}
	qsort_r(order, n, sizeof(*order), order_cmp, rank);
	return n;
}

/* Frame entries are numbered in the order the samples first use them. */
static int ss__number_frames(struct ss *ss, struct ss_stack *const *order, size_t n)
{
	ss->index_of = malloc((ss->nframe_ids + 1) * sizeof(*ss->index_of));
	ss->frame_of = malloc((ss->nframe_ids + 2) * sizeof(*ss->frame_of));
	if (!ss->index_of || !ss->frame_of)
		return -ENOMEM;
	for (size_t i = 0; i < ss->nframe_ids; i++)
		ss->index_of[i] = NO_INDEX;
	ss->truncated_index = NO_INDEX;

	for (size_t i = 0; i < n; i++) {
		for (size_t j = 0; j < order[i]->len; j++) {
			__u32 id = order[i]->key[j];
			__u32 *idx = id == TRUNCATED_ID ? &ss->truncated_index : &ss->index_of[id];

			if (*idx != NO_INDEX)
				continue;
			*idx = (__u32)ss->nout;
			ss->frame_of[ss->nout++] = id;
		}
	}
	return 0;
}

static void ss__write_frames(const struct ss *ss, FILE *f)
{
	fputs("\"shared\":{\"frames\":[", f);
	for (size_t i = 0; i < ss->nout; i++) {
		const struct agg_frame *fr;

		fputs(i ? ",\n" : "\n", f);
		if (ss->frame_of[i] == TRUNCATED_ID) {
			fputs("{\"name\":\"[truncated]\"}", f);
			continue;
		}
		fr = agg__frame(ss->a, ss->frame_of[i]);
		fputs("{\"name\":", f);
		json__str(f, fr->qualname);
		if (agg_frame_is_pseudo(fr)) {
			fputc('}', f);
			continue;
		}
		fputs(",\"file\":", f);
		json__str(f, fr->file);
		if (fr->line >= 0)
			fprintf(f, ",\"line\":%d", fr->line);
		fputc('}', f);
	}
	fputs("]},\n", f);
}

/* "comm (pid)", or "comm (pid): name (tid N)" with --threads. */
static char *ss__profile_name(const struct ss *ss, const struct ss_root *r)
{
	const struct agg_proc *p = agg__proc(ss->a, r->proc_id);
	int np = output__proc_label(p, NULL, 0);
	int nt = ss->threads ? output__thread_label(r->tid, r->thread_name, 0, NULL, 0) : 0;
	char *name;

	if (np < 0 || nt < 0)
		return NULL;
	name = malloc((size_t)np + (size_t)nt + 3);
	if (!name)
		return NULL;
	output__proc_label(p, name, (size_t)np + 1);
	if (ss->threads) {
		memcpy(name + np, ": ", 2);
		output__thread_label(r->tid, r->thread_name, 0, name + np + 2, (size_t)nt + 1);
	}
	return name;
}

/* One profile: the stacks order[0..n) all belong to root @r. */
static int ss__write_profile(const struct ss *ss, const struct ss_root *r, double hz,
			     struct ss_stack *const *order, size_t n, FILE *f)
{
	char *name = ss__profile_name(ss, r);

	if (!name)
		return -ENOMEM;
	fputs("{\"type\":\"sampled\",\"name\":", f);
	json__str(f, name);
	free(name);
	fputs(",\"unit\":\"seconds\",\"startValue\":0,\"endValue\":", f);
	json__double(f, (double)r->count / hz);
	fputs(",\n\"samples\":[", f);
	for (size_t i = 0; i < n; i++) {
		const struct ss_stack *st = order[i];

		fputs(i ? ",[" : "[", f);
		for (size_t j = 0; j < st->len; j++) {
			__u32 id = st->key[j];

			fprintf(f, j ? ",%u" : "%u",
				id == TRUNCATED_ID ? ss->truncated_index : ss->index_of[id]);
		}
		fputc(']', f);
	}
	fputs("],\n\"weights\":[", f);
	for (size_t i = 0; i < n; i++) {
		if (i)
			fputc(',', f);
		json__double(f, (double)order[i]->count / hz);
	}
	fputs("]}", f);
	return ferror(f) ? -EIO : 0;
}

static void ss__write_header(const struct ss *ss, const struct output_meta *m,
			     const __u32 *root_order, FILE *f)
{
	char name[512];
	size_t active = 0;

	/* Open on the busiest profile: the one a user most likely came for. */
	for (size_t i = 1; i < ss->nroots; i++) {
		if (ss->roots[root_order[i]].count > ss->roots[root_order[active]].count)
			active = i;
	}
	if (m->hostname && *m->hostname)
		snprintf(name, sizeof(name), "pybpfprof on %s, %.1f s at %.1f Hz", m->hostname,
			 m->duration_s, m->frequency_hz);
	else
		snprintf(name, sizeof(name), "pybpfprof, %.1f s at %.1f Hz", m->duration_s,
			 m->frequency_hz);

	fputs("{\"$schema\":\"" SCHEMA_URL "\",\n", f);
	fputs("\"exporter\":\"pybpfprof@" PYBPFPROF_VERSION "\",\n\"name\":", f);
	json__str(f, name);
	fprintf(f, ",\n\"activeProfileIndex\":%zu,\n", active);
}

static int ss__write(struct ss *ss, const struct output_meta *m, FILE *f)
{
	struct ss_stack **order;
	__u32 *root_order, *rank;
	size_t n, first = 0;
	int err = -ENOMEM;

	order = malloc((ss->nstacks + 1) * sizeof(*order));
	root_order = malloc((ss->nroots + 1) * sizeof(*root_order));
	rank = malloc((ss->nroots + 1) * sizeof(*rank));
	if (!order || !root_order || !rank)
		goto out;
	err = ss__canon_frames(ss);
	if (err)
		goto out;
	n = ss__merge_and_order(ss, order, root_order, rank);
	err = ss__number_frames(ss, order, n);
	if (err)
		goto out;

	ss__write_header(ss, m, root_order, f);
	ss__write_frames(ss, f);
	fputs("\"profiles\":[", f);
	for (size_t p = 0; p < ss->nroots; p++) {
		size_t end = first;

		while (end < n && order[end]->root == root_order[p])
			end++;
		fputs(p ? ",\n" : "\n", f);
		err = ss__write_profile(ss, &ss->roots[root_order[p]], m->frequency_hz,
					order + first, end - first, f);
		/* Stop early on a dead pipe or a full disk. */
		if (err)
			goto out;
		first = end;
	}
	fputs("]}\n", f);
	err = fflush(f) || ferror(f) ? -EIO : 0;
out:
	free(order);
	free(root_order);
	free(rank);
	return err;
}

int output_speedscope__write(const struct agg *a, const struct output_meta *m, FILE *f)
{
	struct ss ss = { .a = a };
	int err;

	/* Weights are seconds: they need the frequency. */
	if (!a || !m || !f || !m->frequency_hz)
		return -EINVAL;
	ss.threads = m->threads;
	ss.root_ids = hmap__new(2 * sizeof(__u32), sizeof(__u32));
	if (!ss.root_ids)
		return -ENOMEM;
	err = agg__for_each_stack(a, ss__collect, &ss);
	if (!err)
		err = ss__write(&ss, m, f);
	hmap__free(ss.root_ids);
	free(ss.roots);
	free(ss.stacks);
	free(ss.ids);
	free(ss.canon);
	free(ss.index_of);
	free(ss.frame_of);
	return err;
}
