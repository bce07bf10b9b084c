// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Two aggs made comparable. Every label either profile needs (frames,
 * functions, processes) is made once, and all of them are sorted into
 * one dictionary: an id is a label's rank, so stacks compared by ids
 * sort exactly as their texts would, and the output's order follows
 * from the texts alone, never from the order samples came in.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "diff.h"
#include "output.h"

/* Widths must stay exact in a browser's doubles. */
#define WIDTH_LIMIT (1ULL << 53)

/* A label being collected, and where its id goes once it has one. */
struct label_ref {
	char *text;
	__u32 *dest;
};

/* A stack of one side: a key of label ids in diff.keys. */
struct stack_rec {
	size_t off, len;
	enum diff_side side;
	__u64 count;
};

/* Key layout: the process, the truncated mark, then the frames. */
#define KEY_ROOT 0
#define KEY_TRUNCATED 1
#define KEY_FRAMES 2

struct side_map {
	const struct agg *a;
	__u32 *frame;		/* agg frame id -> label id */
	__u32 *func;		/* agg frame id -> its function's label id */
	__u32 *proc;		/* agg proc id -> label id of its comm */
};

struct diff {
	struct diff_opts o;
	__u64 total[2];
	__u64 weight[2];	/* width units per sample of each side */
	char **labels;		/* sorted, distinct */
	size_t nlabels;
	__u32 *func_of;		/* frame label id -> function label id */
	struct side_map map[2];
	struct label_ref *refs;
	size_t nrefs, refs_cap;
	__u32 *keys;
	size_t nkeys, keys_cap;
	struct stack_rec *recs;
	size_t nrecs, recs_cap;
	struct diff_stack *stacks;
	size_t nstacks;
	const char **frame_labels;	/* every stack's frames, back to back */
	struct diff_func *funcs;
	size_t nfuncs;
};

/* ---- labels ----------------------------------------------------------------- */

static int add_ref(struct diff *d, char *text, __u32 *dest)
{
	if (!text)
		return -ENOMEM;
	if (array__reserve((void **)&d->refs, &d->refs_cap, d->nrefs + 1, sizeof(*d->refs))) {
		free(text);
		return -ENOMEM;
	}
	d->refs[d->nrefs++] = (struct label_ref){ text, dest };
	return 0;
}

static char *frame_label(const struct agg_frame *fr, bool no_line)
{
	struct agg_frame f = *fr;
	char *s;
	int n;

	if (no_line)
		f.line = -1;
	n = output__frame_label(&f, NULL, 0);
	if (n < 0 || !(s = malloc((size_t)n + 1)))
		return NULL;
	output__frame_label(&f, s, (size_t)n + 1);
	return s;
}

static char *name_label(const char *name)
{
	int n = output__name_label(name, NULL, 0);
	char *s;

	if (n < 0 || !(s = malloc((size_t)n + 1)))
		return NULL;
	output__name_label(name, s, (size_t)n + 1);
	return s;
}

/* Every label of one side, with the slots their ids go to. */
static int collect_labels(struct diff *d, struct side_map *m)
{
	size_t nframes = agg__nr_frames(m->a), nprocs = agg__nr_procs(m->a);

	m->frame = calloc(nframes + 1, sizeof(*m->frame));
	m->func = calloc(nframes + 1, sizeof(*m->func));
	m->proc = calloc(nprocs + 1, sizeof(*m->proc));
	if (!m->frame || !m->func || !m->proc)
		return -ENOMEM;
	for (size_t i = 0; i < nframes; i++) {
		const struct agg_frame *fr = agg__frame(m->a, (__u32)i);
		int err = add_ref(d, frame_label(fr, d->o.no_lines), &m->frame[i]) ?:
			  add_ref(d, frame_label(fr, true), &m->func[i]);

		if (err)
			return err;
	}
	for (size_t i = 0; i < nprocs; i++) {
		int err = add_ref(d, name_label(agg__proc(m->a, (__u32)i)->comm), &m->proc[i]);

		if (err)
			return err;
	}
	return 0;
}

static int ref_cmp(const void *pa, const void *pb)
{
	const struct label_ref *x = pa, *y = pb;

	return strcmp(x->text, y->text);
}

/* Sort the collected labels into the dictionary; every slot gets its id. */
static int number_labels(struct diff *d)
{
	if (d->nrefs)
		qsort(d->refs, d->nrefs, sizeof(*d->refs), ref_cmp);
	d->labels = malloc((d->nrefs + 1) * sizeof(*d->labels));
	if (!d->labels)
		return -ENOMEM;
	for (size_t i = 0; i < d->nrefs; i++) {
		if (d->nlabels && !strcmp(d->labels[d->nlabels - 1], d->refs[i].text)) {
			free(d->refs[i].text);
		} else {
			d->labels[d->nlabels++] = d->refs[i].text;
		}
		d->refs[i].text = NULL;
		*d->refs[i].dest = (__u32)(d->nlabels - 1);
	}
	free(d->refs);
	d->refs = NULL;
	d->nrefs = 0;
	return 0;
}

/* ---- stacks ------------------------------------------------------------------ */

struct collect_ctx {
	struct diff *d;
	enum diff_side side;
};

static int collect_stack(const struct agg_stack *s, void *arg)
{
	struct collect_ctx *c = arg;
	struct diff *d = c->d;
	const struct side_map *m = &d->map[c->side];
	size_t len = KEY_FRAMES + s->nframes;
	__u32 *key;

	if (s->proc_id >= agg__nr_procs(m->a))
		return -EINVAL;
	if (array__reserve((void **)&d->keys, &d->keys_cap, d->nkeys + len, sizeof(*d->keys)) ||
	    array__reserve((void **)&d->recs, &d->recs_cap, d->nrecs + 1, sizeof(*d->recs)))
		return -ENOMEM;
	key = d->keys + d->nkeys;
	key[KEY_ROOT] = m->proc[s->proc_id];
	key[KEY_TRUNCATED] = !!(s->flags & AGG_STACK_TRUNCATED);
	for (size_t i = 0; i < s->nframes; i++) {
		if (s->frame_ids[i] >= agg__nr_frames(m->a))
			return -EINVAL;
		key[KEY_FRAMES + i] = m->frame[s->frame_ids[i]];
	}
	d->recs[d->nrecs++] = (struct stack_rec){ d->nkeys, len, c->side, s->count };
	d->nkeys += len;
	return 0;
}

/* Lexicographic on ids, so on texts; a stack sorts before those it is a prefix of. */
static int rec_cmp(const void *pa, const void *pb, void *arg)
{
	const struct stack_rec *x = pa, *y = pb;
	const __u32 *keys = arg;
	size_t n = x->len < y->len ? x->len : y->len;

	for (size_t i = 0; i < n; i++) {
		__u32 a = keys[x->off + i], b = keys[y->off + i];

		if (a != b)
			return a < b ? -1 : 1;
	}
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	return (int)x->side - (int)y->side;
}

static bool rec_eq(const struct diff *d, const struct stack_rec *x, const struct stack_rec *y)
{
	return x->len == y->len &&
	       !memcmp(d->keys + x->off, d->keys + y->off, x->len * sizeof(*d->keys));
}

/* Equal keys become one stack, with each side's samples. */
static int merge_stacks(struct diff *d)
{
	size_t nframes = 0, j = 0;

	if (d->nrecs)
		qsort_r(d->recs, d->nrecs, sizeof(*d->recs), rec_cmp, d->keys);
	d->stacks = calloc(d->nrecs + 1, sizeof(*d->stacks));
	if (!d->stacks)
		return -ENOMEM;
	for (size_t i = 0; i < d->nrecs; i++) {
		const struct stack_rec *r = &d->recs[i];

		if (!i || !rec_eq(d, r, &d->recs[i - 1])) {
			d->recs[d->nstacks] = *r;
			d->stacks[d->nstacks].count[DIFF_BASE] = 0;
			d->stacks[d->nstacks].count[DIFF_NEW] = 0;
			d->nstacks++;
			nframes += r->len - KEY_FRAMES;
		}
		d->stacks[d->nstacks - 1].count[r->side] += r->count;
	}
	d->frame_labels = malloc((nframes + 1) * sizeof(*d->frame_labels));
	if (!d->frame_labels)
		return -ENOMEM;
	for (size_t i = 0; i < d->nstacks; i++) {
		const __u32 *key = d->keys + d->recs[i].off;
		struct diff_stack *s = &d->stacks[i];

		s->root = d->labels[key[KEY_ROOT]];
		s->truncated = key[KEY_TRUNCATED];
		s->nframes = d->recs[i].len - KEY_FRAMES;
		s->frames = d->frame_labels + j;
		for (size_t k = 0; k < s->nframes; k++)
			d->frame_labels[j++] = d->labels[key[KEY_FRAMES + k]];
	}
	return 0;
}

/* ---- functions --------------------------------------------------------------- */

static double abs_d(double x)
{
	return x < 0 ? -x : x;
}

static int func_cmp(const void *pa, const void *pb)
{
	const struct diff_func *x = pa, *y = pb;
	double ox = abs_d(x->own_delta), oy = abs_d(y->own_delta);
	double tx = abs_d(x->total_delta), ty = abs_d(y->total_delta);

	if (ox != oy)
		return ox > oy ? -1 : 1;
	if (tx != ty)
		return tx > ty ? -1 : 1;
	return strcmp(x->label, y->label);
}

/* Frame label id -> function label id, from either side's frames. */
static int map_functions(struct diff *d)
{
	d->func_of = malloc((d->nlabels + 1) * sizeof(*d->func_of));
	if (!d->func_of)
		return -ENOMEM;
	for (int s = 0; s < 2; s++) {
		const struct side_map *m = &d->map[s];

		for (size_t i = 0; i < agg__nr_frames(m->a); i++)
			d->func_of[m->frame[i]] = m->func[i];
	}
	return 0;
}

static int count_functions(struct diff *d)
{
	struct diff_func *f = calloc(d->nlabels + 1, sizeof(*f));
	size_t *seen = calloc(d->nlabels + 1, sizeof(*seen));
	size_t n = 0;

	if (!f || !seen) {
		free(f);
		free(seen);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->nstacks; i++) {
		const __u32 *key = d->keys + d->recs[i].off;
		const struct diff_stack *s = &d->stacks[i];

		if (!s->nframes)
			continue;
		for (size_t k = 0; k < s->nframes; k++) {
			__u32 fn = d->func_of[key[KEY_FRAMES + k]];

			/* Recursion: a function counts once per sample. */
			if (seen[fn] == i + 1)
				continue;
			seen[fn] = i + 1;
			f[fn].total[DIFF_BASE] += s->count[DIFF_BASE];
			f[fn].total[DIFF_NEW] += s->count[DIFF_NEW];
		}
		f[d->func_of[key[KEY_FRAMES + s->nframes - 1]]].own[DIFF_BASE] += s->count[DIFF_BASE];
		f[d->func_of[key[KEY_FRAMES + s->nframes - 1]]].own[DIFF_NEW] += s->count[DIFF_NEW];
	}
	free(seen);
	for (size_t id = 0; id < d->nlabels; id++) {
		if (!f[id].total[DIFF_BASE] && !f[id].total[DIFF_NEW])
			continue;
		f[n] = f[id];
		f[n].label = d->labels[id];
		f[n].own_delta = diff__percent(d, DIFF_NEW, f[n].own[DIFF_NEW]) -
				 diff__percent(d, DIFF_BASE, f[n].own[DIFF_BASE]);
		f[n].total_delta = diff__percent(d, DIFF_NEW, f[n].total[DIFF_NEW]) -
				   diff__percent(d, DIFF_BASE, f[n].total[DIFF_BASE]);
		n++;
	}
	qsort(f, n, sizeof(*f), func_cmp);
	d->funcs = f;
	d->nfuncs = n;
	return 0;
}

/* ---- widths ------------------------------------------------------------------- */

static __u64 gcd(__u64 a, __u64 b)
{
	while (b) {
		__u64 t = a % b;

		a = b;
		b = t;
	}
	return a;
}

/*
 * Width units per sample: BASE's count NEW's total and NEW's count
 * BASE's, so a frame's width is the sum of its two shares (the mean,
 * doubled) times both totals. Raw, a sample is a sample. Halved while
 * the whole would pass 2^53: the ratio stays within a part in 2^20 or so.
 */
static void set_weights(struct diff *d)
{
	__u64 tb = d->total[DIFF_BASE], tn = d->total[DIFF_NEW], g;

	d->weight[DIFF_BASE] = 1;
	d->weight[DIFF_NEW] = 1;
	if (!d->o.raw && tb && tn) {
		g = gcd(tb, tn);
		d->weight[DIFF_BASE] = tn / g;
		d->weight[DIFF_NEW] = tb / g;
	}
	for (;;) {
		__u64 wb = d->weight[DIFF_BASE], wn = d->weight[DIFF_NEW];

		if ((!tb || wb <= WIDTH_LIMIT / 2 / tb) && (!tn || wn <= WIDTH_LIMIT / 2 / tn))
			break;
		if (wb == 1 && wn == 1)
			break;		/* 2^52 samples: not a real profile */
		d->weight[DIFF_BASE] = wb > 1 ? wb >> 1 : 1;
		d->weight[DIFF_NEW] = wn > 1 ? wn >> 1 : 1;
	}
}

__u64 diff__width(const struct diff *d, __u64 base, __u64 new)
{
	return base * d->weight[DIFF_BASE] + new * d->weight[DIFF_NEW];
}

/* ---- the rest ------------------------------------------------------------------ */

struct diff *diff__new(const struct agg *base, const struct agg *new, const struct diff_opts *o)
{
	struct diff *d = calloc(1, sizeof(*d));
	int err;

	if (!d)
		return NULL;
	d->o = *o;
	d->map[DIFF_BASE].a = base;
	d->map[DIFF_NEW].a = new;
	d->total[DIFF_BASE] = agg__total_samples(base);
	d->total[DIFF_NEW] = agg__total_samples(new);
	set_weights(d);
	err = collect_labels(d, &d->map[DIFF_BASE]) ?: collect_labels(d, &d->map[DIFF_NEW]) ?:
	      number_labels(d) ?: map_functions(d);
	for (int s = 0; !err && s < 2; s++) {
		struct collect_ctx c = { d, (enum diff_side)s };

		err = agg__for_each_stack(d->map[s].a, collect_stack, &c);
	}
	if (!err)
		err = merge_stacks(d) ?: count_functions(d);
	if (err) {
		diff__free(d);
		return NULL;
	}
	return d;
}

void diff__free(struct diff *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nrefs; i++)
		free(d->refs[i].text);
	for (size_t i = 0; i < d->nlabels; i++)
		free(d->labels[i]);
	for (int s = 0; s < 2; s++) {
		free(d->map[s].frame);
		free(d->map[s].func);
		free(d->map[s].proc);
	}
	free(d->refs);
	free(d->labels);
	free(d->func_of);
	free(d->keys);
	free(d->recs);
	free(d->stacks);
	free(d->frame_labels);
	free(d->funcs);
	free(d);
}

const struct diff_opts *diff__opts(const struct diff *d)
{
	return &d->o;
}

__u64 diff__total(const struct diff *d, enum diff_side side)
{
	return d->total[side];
}

double diff__percent(const struct diff *d, enum diff_side side, __u64 count)
{
	__u64 of = d->o.raw ? d->total[DIFF_BASE] : d->total[side];

	return of ? 100.0 * (double)count / (double)of : 0.0;
}

size_t diff__nr_stacks(const struct diff *d)
{
	return d->nstacks;
}

const struct diff_stack *diff__stack(const struct diff *d, size_t i)
{
	return i < d->nstacks ? &d->stacks[i] : NULL;
}

const struct diff_func *diff__functions(const struct diff *d, size_t *nfuncs)
{
	*nfuncs = d->nfuncs;
	return d->funcs;
}
