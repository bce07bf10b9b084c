// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof: a gzip-compressed Profile message of google/pprof
 * proto/profile.proto, as read by `go tool pprof`, Parca and Pyroscope.
 *
 *	sample_type	[samples/count, cpu/nanoseconds] (wall mode: wall/nanoseconds)
 *	period_type	cpu/nanoseconds (wall/nanoseconds), period = 1e9 / Hz
 *	sample		location_id leaf first, value [count, count * period],
 *			labels pid, comm and, with --threads, tid, thread_name;
 *			for a backend (the agent), string labels pid, comm,
 *			thread_name and container_id, and tid; and gil
 *			(held|waiting|none|attached) where the version tells
 *	location	one per (function, executing line), one Line each
 *	function	one per (qualname, file, first line)
 *	mapping		one, for all locations, marked as symbolized
 *
 * The process is a pair of labels, not a frame: pprof merges equal
 * locations across samples, and a per-process root location would make
 * every process's profile a different tree. "[truncated]" is a function
 * of its own at the root end of a stack that lost its root-most frames.
 *
 * The message is streamed through zlib as it is built: top-level fields
 * may come in any order, so the string table, which every other field
 * points into, is written last (as Go's runtime/pprof does), and only
 * it, the id maps and one sample at a time are held in memory.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "array.h"
#include "hmap.h"
#include "output.h"
#include "profile_proto.h"
#include "protobuf.h"

/* The one mapping every location is in. */
#define MAPPING_PYTHON 1
/* Stands for the "[truncated]" frame where an agg frame id would be. */
#define TRUNCATED_ID UINT32_MAX
/* Compressed bytes are handed to stdio in blocks of this size. */
#define GZ_CHUNK 65536
/* Encoded fields are handed to zlib in blocks of about this size. */
#define FLUSH_AT 65536

struct gz {
	z_stream z;
	FILE *f;
	__u8 out[GZ_CHUNK];
};

struct pp_root {
	__u32 proc_id;
	__u32 tid;			/* 0 without --threads */
	__u32 gil;			/* enum gil_state: the "gil" label */
	const char *thread_name;	/* first one seen, may be NULL */
};

struct pp_stack {
	__u32 root;
	size_t off, len;	/* location ids in pp.locs, leaf first */
	__u64 count;
	bool merged;		/* counted in an equal, earlier stack */
};

struct pp {
	const struct agg *a;
	bool threads;
	struct pp_root *roots;
	size_t nroots, roots_cap;
	struct hmap *root_ids;	/* (proc_id, tid) -> root index */
	struct pp_stack *stacks;
	size_t nstacks, stacks_cap;
	__u64 *locs;			/* every stack's location ids */
	size_t nlocs, locs_cap;
	/* Ids are handed out on first use, from 1: 0 means "none" in pprof. */
	__u32 *loc_of_frame;		/* agg frame id -> location id */
	size_t loc_of_frame_cap;
	__u32 *func_of;			/* agg func_id -> function id */
	size_t func_of_cap;
	__u32 *loc_frame;		/* location id - 1 -> agg frame id */
	size_t nloc_ids, loc_frame_cap;
	__u32 *func_frame;		/* function id - 1 -> an agg frame id */
	size_t nfunc_ids, func_frame_cap;
	__u32 truncated_loc;
};

/* Like array__reserve(), for a map indexed by id: new entries are 0. */
static int map__reserve(__u32 **v, size_t *cap, size_t need)
{
	size_t old = *cap;

	if (array__reserve((void **)v, cap, need, sizeof(**v)))
		return -ENOMEM;
	memset(*v + old, 0, (*cap - old) * sizeof(**v));
	return 0;
}

/* ---- gzip ---------------------------------------------------------------- */

static int gz__open(struct gz *g, FILE *f)
{
	int ret;

	memset(&g->z, 0, sizeof(g->z));
	g->f = f;
	/* 15 + 16: a 32 KiB window and a gzip (not zlib) header and trailer. */
	ret = deflateInit2(&g->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
			   Z_DEFAULT_STRATEGY);
	if (ret == Z_MEM_ERROR)
		return -ENOMEM;
	return ret == Z_OK ? 0 : -EIO;
}

/* Compress @len bytes, or with @finish end the stream. */
static int gz__write(struct gz *g, const void *data, size_t len, bool finish)
{
	int ret;

	/* avail_in is 32 bits: feed larger buffers in pieces. */
	if (len > UINT32_MAX)
		return gz__write(g, data, UINT32_MAX, false) ?:
		       gz__write(g, (const __u8 *)data + UINT32_MAX, len - UINT32_MAX, finish);
	g->z.next_in = (Bytef *)data;
	g->z.avail_in = (uInt)len;
	do {
		size_t have;

		g->z.next_out = g->out;
		g->z.avail_out = sizeof(g->out);
		ret = deflate(&g->z, finish ? Z_FINISH : Z_NO_FLUSH);
		if (ret == Z_STREAM_ERROR)
			return -EIO;
		have = sizeof(g->out) - g->z.avail_out;
		if (have && fwrite(g->out, 1, have, g->f) != have)
			return -EIO;
	} while (g->z.avail_out == 0 || (finish && ret != Z_STREAM_END));
	return 0;
}

/* Hand @out to zlib once it is big enough (or always, with @force). */
static int flush_out(struct gz *g, struct pb *out, bool force)
{
	int err = pb__err(out);

	if (err)
		return err;
	if (!force && out->len < FLUSH_AT)
		return 0;
	err = gz__write(g, out->data, out->len, false);
	pb__reset(out);
	return err;
}

/* ---- collecting ------------------------------------------------------------ */

static int pp__root(struct pp *pp, const struct agg_stack *s, __u32 *root)
{
	__u32 pair[3] = { s->proc_id, pp->threads ? s->tid : 0, agg_stack_gil(s->flags) }, *id;
	bool created;

	id = hmap__insert(pp->root_ids, pair, &created);
	if (!id)
		return -ENOMEM;
	if (created) {
		if (array__reserve((void **)&pp->roots, &pp->roots_cap, pp->nroots + 1,
				   sizeof(*pp->roots))) {
			hmap__delete(pp->root_ids, pair);
			return -ENOMEM;
		}
		pp->roots[pp->nroots] = (struct pp_root){ s->proc_id, pair[1], pair[2], NULL };
		*id = (__u32)pp->nroots++;
	}
	*root = *id;
	if (pp->threads && !pp->roots[*root].thread_name)
		pp->roots[*root].thread_name = s->thread_name;
	return 0;
}

/* The function id of @fr's function, made on first use. */
static int pp__func(struct pp *pp, __u32 frame_id, const struct agg_frame *fr, __u32 *func)
{
	if (map__reserve(&pp->func_of, &pp->func_of_cap, (size_t)fr->func_id + 1))
		return -ENOMEM;
	if (!pp->func_of[fr->func_id]) {
		if (array__reserve((void **)&pp->func_frame, &pp->func_frame_cap,
				   pp->nfunc_ids + 1, sizeof(*pp->func_frame)))
			return -ENOMEM;
		pp->func_frame[pp->nfunc_ids++] = frame_id;
		pp->func_of[fr->func_id] = (__u32)pp->nfunc_ids;
	}
	*func = pp->func_of[fr->func_id];
	return 0;
}

/* The location id of agg frame @frame_id (or TRUNCATED_ID), made on first use. */
static int pp__loc(struct pp *pp, __u32 frame_id, __u32 *loc)
{
	const struct agg_frame *fr = NULL;
	__u32 *slot, func;

	if (frame_id == TRUNCATED_ID) {
		slot = &pp->truncated_loc;
	} else {
		fr = agg__frame(pp->a, frame_id);
		if (!fr)
			return -EINVAL;
		if (map__reserve(&pp->loc_of_frame, &pp->loc_of_frame_cap, (size_t)frame_id + 1))
			return -ENOMEM;
		slot = &pp->loc_of_frame[frame_id];
	}
	if (!*slot) {
		/* The function is numbered here too, so both follow first use. */
		if ((fr && pp__func(pp, frame_id, fr, &func)) ||
		    array__reserve((void **)&pp->loc_frame, &pp->loc_frame_cap, pp->nloc_ids + 1,
				   sizeof(*pp->loc_frame)))
			return -ENOMEM;
		pp->loc_frame[pp->nloc_ids++] = frame_id;
		*slot = (__u32)pp->nloc_ids;
	}
	*loc = *slot;
	return 0;
}

static int pp__collect(const struct agg_stack *s, void *ctx)
{
	bool truncated = s->flags & AGG_STACK_TRUNCATED;
	struct pp *pp = ctx;
	size_t len;
	__u32 root, loc;
	int err;

	if (!agg__proc(pp->a, s->proc_id))
		return -EINVAL;
	if (s->nframes > SIZE_MAX / 2 - pp->nlocs)
		return -ENOMEM;
	len = s->nframes + truncated;
	if (array__reserve((void **)&pp->locs, &pp->locs_cap, pp->nlocs + len,
			   sizeof(*pp->locs)) ||
	    array__reserve((void **)&pp->stacks, &pp->stacks_cap, pp->nstacks + 1,
			   sizeof(*pp->stacks)) ||
	    pp__root(pp, s, &root))
		return -ENOMEM;
	pp->stacks[pp->nstacks] = (struct pp_stack){ .root = root, .off = pp->nlocs, .len = len,
						     .count = s->count };
	/* Leaf first: the agg's order reversed, the pseudo-frame at the root end. */
	for (size_t i = s->nframes; i-- > 0;) {
		err = pp__loc(pp, s->frame_ids[i], &loc);
		if (err)
			return err;
		pp->locs[pp->nlocs++] = loc;
	}
	if (truncated) {
		err = pp__loc(pp, TRUNCATED_ID, &loc);
		if (err)
			return err;
		pp->locs[pp->nlocs++] = loc;
	}
	pp->nstacks++;
	return 0;
}

/* ---- merging ------------------------------------------------------------- */

static int stack_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct pp_stack *x = *(struct pp_stack *const *)pa;
	const struct pp_stack *y = *(struct pp_stack *const *)pb;
	const __u64 *locs = ctx;

	if (x->root != y->root)
		return x->root < y->root ? -1 : 1;
	if (x->len != y->len)
		return x->len < y->len ? -1 : 1;
	for (size_t i = 0; i < x->len; i++) {
		if (locs[x->off + i] != locs[y->off + i])
			return locs[x->off + i] < locs[y->off + i] ? -1 : 1;
	}
	return 0;
}

static int merge_cmp(const void *pa, const void *pb, void *ctx)
{
	int c = stack_cmp(pa, pb, ctx);
	const struct pp_stack *x = *(struct pp_stack *const *)pa;
	const struct pp_stack *y = *(struct pp_stack *const *)pb;

	/* Equal keys: the earlier stack first, it absorbs the others. */
	return c ? c : (x > y) - (x < y);
}

/*
 * Without --threads, stacks of one process that differ only by thread
 * become one sample; each keeps the place of its first occurrence.
 */
static int pp__merge(struct pp *pp)
{
	struct pp_stack **order;

	order = malloc((pp->nstacks + 1) * sizeof(*order));
	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < pp->nstacks; i++)
		order[i] = &pp->stacks[i];
	qsort_r(order, pp->nstacks, sizeof(*order), merge_cmp, pp->locs);
	for (size_t i = 1, head = 0; i < pp->nstacks; i++) {
		if (!stack_cmp(&order[head], &order[i], pp->locs)) {
			order[head]->count += order[i]->count;
			order[i]->merged = true;
		} else {
			head = i;
		}
	}
	free(order);
	return 0;
}

/* ---- encoding ------------------------------------------------------------- */

/* Strings every profile uses, interned first so their indices are fixed. */
struct pp_strings {
	long long samples, count, cpu, wall, nanoseconds, pid, comm, tid, thread_name,
		  container_id, gil;
};

static int intern(struct pb_strtab *t, const char *s, long long *idx)
{
	*idx = pb_strtab__index(t, s);
	return *idx < 0 ? -ENOMEM : 0;
}

static int pp__intern_fixed(struct pb_strtab *t, struct pp_strings *st)
{
	return intern(t, "samples", &st->samples) ?: intern(t, "count", &st->count) ?:
	       intern(t, "cpu", &st->cpu) ?: intern(t, "nanoseconds", &st->nanoseconds) ?:
	       intern(t, "pid", &st->pid) ?: intern(t, "comm", &st->comm) ?:
	       intern(t, "tid", &st->tid) ?: intern(t, "thread_name", &st->thread_name) ?:
	       intern(t, "container_id", &st->container_id) ?: intern(t, "wall", &st->wall) ?:
	       intern(t, "gil", &st->gil);
}

static void put_value_type(struct pb *out, struct pb *tmp, __u32 field, long long type,
			   long long unit)
{
	pb__reset(tmp);
	pb__varint_field(tmp, VALUE_TYPE_TYPE, type);
	pb__varint_field(tmp, VALUE_TYPE_UNIT, unit);
	pb__msg_field(out, field, tmp);
}

static void put_num_label(struct pb *sample, struct pb *tmp, long long key, __s64 num)
{
	pb__reset(tmp);
	pb__varint_field(tmp, LABEL_KEY, key);
	pb__varint_field(tmp, LABEL_NUM, (__u64)num);
	pb__msg_field(sample, SAMPLE_LABEL, tmp);
}

static void put_str_label(struct pb *sample, struct pb *tmp, long long key, long long str)
{
	pb__reset(tmp);
	pb__varint_field(tmp, LABEL_KEY, key);
	pb__varint_field(tmp, LABEL_STR, str);
	pb__msg_field(sample, SAMPLE_LABEL, tmp);
}

struct pp_enc {
	struct pp *pp;
	bool backend;
	struct pb_strtab *strs;
	struct pp_strings st;
	struct gz gz;
	struct pb out, msg, sub;
	__s64 period;
};

static int pp__put_sample(struct pp_enc *e, const struct pp_stack *s)
{
	const struct pp_root *r = &e->pp->roots[s->root];
	const struct agg_proc *p = agg__proc(e->pp->a, r->proc_id);
	__u64 values[2];
	long long comm, name = 0;

	if (intern(e->strs, p->comm ? p->comm : "?", &comm))
		return -ENOMEM;
	if (e->pp->threads && r->thread_name && *r->thread_name &&
	    intern(e->strs, r->thread_name, &name))
		return -ENOMEM;
	values[0] = s->count;
	/* int64 on the wire: saturate rather than wrap to a negative time. */
	values[1] = s->count > (__u64)(INT64_MAX / e->period) ? (__u64)INT64_MAX :
		    s->count * (__u64)e->period;

	pb__reset(&e->msg);
	pb__packed_field(&e->msg, SAMPLE_LOCATION_ID, e->pp->locs + s->off, s->len);
	pb__packed_field(&e->msg, SAMPLE_VALUE, values, 2);
	if (e->backend) {
		/* Backends index string labels only: the pid as text. */
		char pid[16];
		long long pid_str, cid = 0;

		snprintf(pid, sizeof(pid), "%u", p->pid);
		if (intern(e->strs, pid, &pid_str) ||
		    (p->container_id && intern(e->strs, p->container_id, &cid)))
			return -ENOMEM;
		put_str_label(&e->msg, &e->sub, e->st.pid, pid_str);
		put_str_label(&e->msg, &e->sub, e->st.comm, comm);
		put_num_label(&e->msg, &e->sub, e->st.tid, r->tid);
		if (name)
			put_str_label(&e->msg, &e->sub, e->st.thread_name, name);
		if (cid)
			put_str_label(&e->msg, &e->sub, e->st.container_id, cid);
	} else {
		put_num_label(&e->msg, &e->sub, e->st.pid, p->pid);
		put_str_label(&e->msg, &e->sub, e->st.comm, comm);
	}
	/* The thread's GIL state, when its version lets us know it. */
	if (output__gil_name(r->gil)) {
		long long g;

		if (intern(e->strs, output__gil_name(r->gil), &g))
			return -ENOMEM;
		put_str_label(&e->msg, &e->sub, e->st.gil, g);
	}
	if (e->pp->threads && !e->backend) {
		put_num_label(&e->msg, &e->sub, e->st.tid, r->tid);
		if (name)
			put_str_label(&e->msg, &e->sub, e->st.thread_name, name);
	}
	pb__msg_field(&e->out, PROFILE_SAMPLE, &e->msg);
	return flush_out(&e->gz, &e->out, false);
}

static int pp__put_location(struct pp_enc *e, __u32 id)
{
	__u32 frame_id = e->pp->loc_frame[id - 1];
	const struct agg_frame *fr = NULL;
	__u32 func;

	if (frame_id == TRUNCATED_ID) {
		/* Numbered after every real function: not in func_of. */
		func = (__u32)e->pp->nfunc_ids + 1;
	} else {
		fr = agg__frame(e->pp->a, frame_id);
		func = e->pp->func_of[fr->func_id];
	}
	pb__reset(&e->sub);
	pb__varint_field(&e->sub, LINE_FUNCTION_ID, func);
	if (fr && fr->line > 0)
		pb__varint_field(&e->sub, LINE_LINE, (__u64)fr->line);
	pb__reset(&e->msg);
	pb__varint_field(&e->msg, LOCATION_ID, id);
	pb__varint_field(&e->msg, LOCATION_MAPPING_ID, MAPPING_PYTHON);
	pb__msg_field(&e->msg, LOCATION_LINE, &e->sub);
	pb__msg_field(&e->out, PROFILE_LOCATION, &e->msg);
	return flush_out(&e->gz, &e->out, false);
}

static int pp__put_function(struct pp_enc *e, __u32 id, const char *qualname, const char *file,
			    int first_line)
{
	long long name, filename;

	if (intern(e->strs, qualname, &name) || intern(e->strs, file, &filename))
		return -ENOMEM;
	pb__reset(&e->msg);
	pb__varint_field(&e->msg, FUNCTION_ID, id);
	/*
	 * No system_name: Python has no mangled name, and pprof "demangles"
	 * a name equal to its system_name, cutting <...> out of anything
	 * that looks like C++: <module>, <lambda> and <listcomp> became "".
	 */
	pb__varint_field(&e->msg, FUNCTION_NAME, name);
	pb__varint_field(&e->msg, FUNCTION_FILENAME, filename);
	if (first_line > 0)
		pb__varint_field(&e->msg, FUNCTION_START_LINE, (__u64)first_line);
	pb__msg_field(&e->out, PROFILE_FUNCTION, &e->msg);
	return flush_out(&e->gz, &e->out, false);
}

/*
 * Without a mapping, pprof adds an empty one and tries to symbolize the
 * addresses against a binary ("Main binary filename not available.").
 * This one says the locations carry their functions, files and lines.
 */
static int pp__put_mapping(struct pp_enc *e)
{
	pb__reset(&e->msg);
	pb__varint_field(&e->msg, MAPPING_ID, MAPPING_PYTHON);
	pb__varint_field(&e->msg, MAPPING_HAS_FUNCTIONS, 1);
	pb__varint_field(&e->msg, MAPPING_HAS_FILENAMES, 1);
	pb__varint_field(&e->msg, MAPPING_HAS_LINE_NUMBERS, 1);
	pb__msg_field(&e->out, PROFILE_MAPPING, &e->msg);
	return flush_out(&e->gz, &e->out, false);
}

static int pp__put_profile_fields(struct pp_enc *e, const struct output_meta *m)
{
	__u64 comments[2];
	size_t ncomments = 0;
	long long idx;
	char buf[320];

	put_value_type(&e->out, &e->sub, PROFILE_PERIOD_TYPE, m->wall ? e->st.wall : e->st.cpu,
		       e->st.nanoseconds);
	pb__varint_field(&e->out, PROFILE_PERIOD, (__u64)e->period);
	pb__varint_field(&e->out, PROFILE_TIME_NANOS, m->start_unix_ns);
	if (m->duration_s > 0 && m->duration_s < 9e9)
		pb__varint_field(&e->out, PROFILE_DURATION_NANOS,
				 (__u64)(m->duration_s * 1e9 + 0.5));
	/* `go tool pprof -comments` shows these. */
	if (intern(e->strs, "pybpfprof@" PYBPFPROF_VERSION, &idx))
		return -ENOMEM;
	comments[ncomments++] = idx;
	if (m->hostname && *m->hostname) {
		snprintf(buf, sizeof(buf), "host: %s", m->hostname);
		if (intern(e->strs, buf, &idx))
			return -ENOMEM;
		comments[ncomments++] = idx;
	}
	pb__packed_field(&e->out, PROFILE_COMMENT, comments, ncomments);
	/* Without it readers pick the last type, which is cpu too; say so anyway. */
	pb__varint_field(&e->out, PROFILE_DEFAULT_SAMPLE_TYPE, m->wall ? e->st.wall : e->st.cpu);
	return flush_out(&e->gz, &e->out, false);
}

static int pp__put_string_table(struct pp_enc *e)
{
	for (size_t i = 0; i < pb_strtab__count(e->strs); i++) {
		const char *s = pb_strtab__str(e->strs, i);
		int err;

		pb__bytes_field(&e->out, PROFILE_STRING_TABLE, s, strlen(s));
		err = flush_out(&e->gz, &e->out, false);
		if (err)
			return err;
	}
	return 0;
}

static int pp__encode(struct pp_enc *e, const struct output_meta *m)
{
	struct pp *pp = e->pp;
	int err;

	err = pp__intern_fixed(e->strs, &e->st);
	if (err)
		return err;
	put_value_type(&e->out, &e->sub, PROFILE_SAMPLE_TYPE, e->st.samples, e->st.count);
	put_value_type(&e->out, &e->sub, PROFILE_SAMPLE_TYPE, m->wall ? e->st.wall : e->st.cpu,
		       e->st.nanoseconds);

	for (size_t i = 0; i < pp->nstacks; i++) {
		if (pp->stacks[i].merged)
			continue;
		err = pp__put_sample(e, &pp->stacks[i]);
		if (err)
			return err;
		if (m->nsamples)
			(*m->nsamples)++;
	}
	err = pp__put_mapping(e);
	if (err)
		return err;
	for (size_t id = 1; id <= pp->nloc_ids; id++) {
		err = pp__put_location(e, (__u32)id);
		if (err)
			return err;
	}
	for (size_t id = 1; id <= pp->nfunc_ids; id++) {
		const struct agg_frame *fr = agg__frame(pp->a, pp->func_frame[id - 1]);

		err = pp__put_function(e, (__u32)id, fr->qualname, fr->file, fr->first_line);
		if (err)
			return err;
	}
	if (pp->truncated_loc) {
		err = pp__put_function(e, (__u32)pp->nfunc_ids + 1, "[truncated]", "", 0);
		if (err)
			return err;
	}
	err = pp__put_profile_fields(e, m) ?: pp__put_string_table(e) ?:
	      flush_out(&e->gz, &e->out, true);
	if (err)
		return err;
	err = gz__write(&e->gz, NULL, 0, true);
	if (!err && m->raw_bytes)
		*m->raw_bytes = e->gz.z.total_in;
	return err;
}

static int pp__write(struct pp *pp, const struct output_meta *m, FILE *f)
{
	struct pp_enc *e;
	int err;

	/* Holds the 64 KiB gzip buffer: on the heap, not the stack. */
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->pp = pp;
	e->backend = m->backend_labels;
	/* Above 1 GHz the period rounds to 0 ns: keep values non-zero. */
	e->period = m->frequency_hz > 1e9 ? 1 : llround(1e9 / m->frequency_hz);
	e->strs = pb_strtab__new();
	if (!e->strs) {
		free(e);
		return -ENOMEM;
	}
	err = gz__open(&e->gz, f);
	if (!err) {
		err = pp__encode(e, m);
		deflateEnd(&e->gz.z);
	}
	if (!err && (fflush(f) || ferror(f)))
		err = -EIO;
	pb__free(&e->out);
	pb__free(&e->msg);
	pb__free(&e->sub);
	pb_strtab__free(e->strs);
	free(e);
	return err;
}

int output_pprof__write(const struct agg *a, const struct output_meta *m, FILE *f)
{
	struct pp pp = { .a = a };
	int err;

	/* The period, and so the cpu values, need the frequency. */
	if (!a || !m || !f || !m->frequency_hz)
		return -EINVAL;
	pp.threads = m->threads || m->backend_labels;
	if (m->nsamples)
		*m->nsamples = 0;
	pp.root_ids = hmap__new(3 * sizeof(__u32), sizeof(__u32));
	if (!pp.root_ids)
		return -ENOMEM;
	err = agg__for_each_stack(a, pp__collect, &pp);
	if (!err)
		err = pp__merge(&pp);
	if (!err)
		err = pp__write(&pp, m, f);
	hmap__free(pp.root_ids);
	free(pp.roots);
	free(pp.stacks);
	free(pp.locs);
	free(pp.loc_of_frame);
	free(pp.func_of);
	free(pp.loc_frame);
	free(pp.func_frame);
	return err;
}
