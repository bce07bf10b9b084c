// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * pprof as output_pprof.c writes it (google/pprof proto/profile.proto),
 * gzip-compressed or not, back into an agg. A small wire-format reader
 * of its own: the fields we need, the rest skipped.
 *
 * Top-level fields come in any order (ours writes the string table
 * last), so the message is walked twice: first everything samples point
 * into (strings, functions, locations, sample types), then the samples.
 * The count is the "samples/count" value; the process is the pid and
 * comm labels, the thread the tid and thread_name labels, as written.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include "array.h"
#include "hmap.h"
#include "output.h"
#include "profile_proto.h"
#include "protobuf.h"
#include "read_profile.h"

#define NO_ID ((__u32)-1)
/* Inflated, a profile may be this big: a gzip bomb is refused, not swallowed. */
#define MAX_RAW (1ULL << 30)

/* A message being read: bytes left, or a field just read. */
struct wire {
	const __u8 *p, *end;
	__u32 field;
	unsigned int type;
	__u64 v;		/* WIRE_VARINT */
	const __u8 *bytes;	/* WIRE_LEN */
	size_t len;
};

struct pp_func {
	__u64 name, file;	/* string indices */
	__s64 start_line;
};

struct pp_line {
	__u64 func;
	__s64 line;
};

struct pp_loc {
	size_t off, n;		/* in pprof_reader.lines */
	__u32 *frames;		/* agg frame ids, leaf first; NULL until used */
};

struct pprof_reader {
	struct agg *a;
	struct profile_info *info;
	char *why;
	size_t why_size;
	/* The string table, as (pointer, length) into the message. */
	const __u8 **strs;
	size_t *str_lens, nstrs, strs_cap, str_lens_cap;
	struct pp_func *funcs;
	size_t nfuncs, funcs_cap;
	struct hmap *func_ids;	/* pprof id -> index in funcs */
	struct pp_loc *locs;
	size_t nlocs, locs_cap;
	struct hmap *loc_index;	/* pprof id -> index in locs */
	struct pp_line *lines;
	size_t nlines, lines_cap;
	__u64 types[8][2];	/* sample types (type, unit), the first 8 */
	size_t ntypes;
	size_t value_index;	/* of samples/count */
	/* Keys of the labels we read, as string indices (0: absent). */
	__u64 key_pid, key_comm, key_tid, key_thread, key_gil;
	/* One sample's parts. */
	__u64 *loc_ids;
	size_t nloc_ids, loc_ids_cap;
	__u32 *stack;
	size_t stack_cap;
	bool nomem;		/* a callback of wire_repeated() ran out */
};

static int __attribute__((format(printf, 2, 3))) bad(struct pprof_reader *r, const char *fmt,
						      ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(r->why, r->why_size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

/* ---- the wire format ------------------------------------------------------ */

static bool wire_varint(struct wire *w, __u64 *v)
{
	__u64 x = 0;

	for (unsigned int shift = 0; shift < 64; shift += 7) {
		if (w->p >= w->end)
			return false;
		x |= (__u64)(*w->p & 0x7f) << shift;
		if (!(*w->p++ & 0x80)) {
			*v = x;
			return true;
		}
	}
	return false;
}

/* The next field into w->field, w->type and its value: 1, 0 at the end, -1 if damaged. */
static int wire_next(struct wire *w)
{
	__u64 key;

	if (w->p == w->end)
		return 0;
	if (!wire_varint(w, &key) || key >> 32 || !(key >> 3))
		return -1;
	w->field = (__u32)(key >> 3);
	w->type = key & 7;
	switch (w->type) {
	case WIRE_VARINT:
		return wire_varint(w, &w->v) ? 1 : -1;
	case WIRE_I64:
	case WIRE_I32: {
		size_t n = w->type == WIRE_I64 ? 8 : 4;

		if ((size_t)(w->end - w->p) < n)
			return -1;
		w->p += n;
		return 1;
	}
	case WIRE_LEN:
		if (!wire_varint(w, &key) || key > (__u64)(w->end - w->p))
			return -1;
		w->bytes = w->p;
		w->len = (size_t)key;
		w->p += key;
		return 1;
	}
	return -1;
}

/* The bytes of a field; a field of another wire type has none (NULL, 0). */
static struct wire wire_of(const __u8 *p, size_t len)
{
	return (struct wire){ .p = p, .end = p ? p + len : p };
}

/*
 * A repeated varint field, packed (WIRE_LEN) or one value a field: each
 * value to @cb. False when damaged.
 */
static bool wire_repeated(const struct wire *w, bool (*cb)(void *ctx, __u64 v), void *ctx)
{
	struct wire in;
	__u64 v;

	if (w->type == WIRE_VARINT)
		return cb(ctx, w->v);
	if (w->type != WIRE_LEN)
		return false;
	in = wire_of(w->bytes, w->len);
	while (in.p < in.end) {
		if (!wire_varint(&in, &v) || !cb(ctx, v))
			return false;
	}
	return true;
}

/* ---- strings, functions, locations ------------------------------------------- */

static bool str_is(const struct pprof_reader *r, __u64 idx, const char *s)
{
	return idx < r->nstrs && r->str_lens[idx] == strlen(s) &&
	       !memcmp(r->strs[idx], s, r->str_lens[idx]);
}

/* String @idx as a C string, malloc'd; "" when out of range. NULL without memory. */
static char *str_dup(const struct pprof_reader *r, __u64 idx)
{
	if (idx >= r->nstrs)
		return strdup("");
	return strndup((const char *)r->strs[idx], r->str_lens[idx]);
}

static int add_string(struct pprof_reader *r, const struct wire *w)
{
	if (w->type != WIRE_LEN)
		return bad(r, "a damaged string table");
	if (array__reserve((void **)&r->strs, &r->strs_cap, r->nstrs + 1, sizeof(*r->strs)) ||
	    array__reserve((void **)&r->str_lens, &r->str_lens_cap, r->nstrs + 1,
			   sizeof(*r->str_lens)))
		return -ENOMEM;
	r->strs[r->nstrs] = w->bytes;
	r->str_lens[r->nstrs++] = w->len;
	return 0;
}

static int add_sample_type(struct pprof_reader *r, const struct wire *w)
{
	struct wire in = wire_of(w->bytes, w->len);
	__u64 vt[2] = { 0, 0 };
	int ret;

	if (w->type != WIRE_LEN)
		return bad(r, "a damaged sample type");
	while ((ret = wire_next(&in)) > 0) {
		if (in.type == WIRE_VARINT && (in.field == VALUE_TYPE_TYPE ||
					       in.field == VALUE_TYPE_UNIT))
			vt[in.field - 1] = in.v;
	}
	if (ret < 0)
		return bad(r, "a damaged sample type");
	if (r->ntypes < 8)
		memcpy(r->types[r->ntypes], vt, sizeof(vt));
	r->ntypes++;
	return 0;
}

static int add_function(struct pprof_reader *r, const struct wire *w)
{
	struct wire in = wire_of(w->bytes, w->len);
	struct pp_func f = { 0 };
	__u64 id = 0;
	bool created;
	size_t *slot;
	int ret;

	if (w->type != WIRE_LEN)
		return bad(r, "a damaged function");
	while ((ret = wire_next(&in)) > 0) {
		if (in.type != WIRE_VARINT)
			continue;
		if (in.field == FUNCTION_ID)
			id = in.v;
		else if (in.field == FUNCTION_NAME)
			f.name = in.v;
		else if (in.field == FUNCTION_FILENAME)
			f.file = in.v;
		else if (in.field == FUNCTION_START_LINE)
			f.start_line = (__s64)in.v;
	}
	if (ret < 0 || !id)
		return bad(r, "a damaged function");
	if (array__reserve((void **)&r->funcs, &r->funcs_cap, r->nfuncs + 1, sizeof(*r->funcs)))
		return -ENOMEM;
	slot = hmap__insert(r->func_ids, &id, &created);
	if (!slot)
		return -ENOMEM;
	if (!created)
		return bad(r, "function id %llu is used twice", (unsigned long long)id);
	*slot = r->nfuncs;
	r->funcs[r->nfuncs++] = f;
	return 0;
}

static int add_line(struct pprof_reader *r, const struct wire *w)
{
	struct wire in = wire_of(w->bytes, w->len);
	struct pp_line l = { 0 };
	int ret;

	while ((ret = wire_next(&in)) > 0) {
		if (in.type == WIRE_VARINT && in.field == LINE_FUNCTION_ID)
			l.func = in.v;
		else if (in.type == WIRE_VARINT && in.field == LINE_LINE)
			l.line = (__s64)in.v;
	}
	if (ret < 0)
		return bad(r, "a damaged location line");
	if (array__reserve((void **)&r->lines, &r->lines_cap, r->nlines + 1, sizeof(*r->lines)))
		return -ENOMEM;
	r->lines[r->nlines++] = l;
	return 0;
}

static int add_location(struct pprof_reader *r, const struct wire *w)
{
	struct wire in = wire_of(w->bytes, w->len);
	struct pp_loc loc = { .off = r->nlines };
	__u64 id = 0;
	bool created;
	size_t *slot;
	int ret, err;

	if (w->type != WIRE_LEN)
		return bad(r, "a damaged location");
	while ((ret = wire_next(&in)) > 0) {
		if (in.type == WIRE_VARINT && in.field == LOCATION_ID) {
			id = in.v;
		} else if (in.type == WIRE_LEN && in.field == LOCATION_LINE) {
			err = add_line(r, &in);
			if (err)
				return err;
		}
	}
	if (ret < 0 || !id)
		return bad(r, "a damaged location");
	loc.n = r->nlines - loc.off;
	if (array__reserve((void **)&r->locs, &r->locs_cap, r->nlocs + 1, sizeof(*r->locs)))
		return -ENOMEM;
	slot = hmap__insert(r->loc_index, &id, &created);
	if (!slot)
		return -ENOMEM;
	if (!created)
		return bad(r, "location id %llu is used twice", (unsigned long long)id);
	*slot = r->nlocs;
	r->locs[r->nlocs++] = loc;
	return 0;
}

/* Pass 1: everything but the samples. */
static int read_tables(struct pprof_reader *r, const __u8 *data, size_t len)
{
	struct wire w = wire_of(data, len);
	int ret, err = 0;

	while (!err && (ret = wire_next(&w)) > 0) {
		switch (w.field) {
		case PROFILE_STRING_TABLE:
			err = add_string(r, &w);
			break;
		case PROFILE_SAMPLE_TYPE:
			err = add_sample_type(r, &w);
			break;
		case PROFILE_FUNCTION:
			err = add_function(r, &w);
			break;
		case PROFILE_LOCATION:
			err = add_location(r, &w);
			break;
		}
	}
	if (err)
		return err;
	if (ret < 0)
		return bad(r, "not a protobuf message");
	return 0;
}

/* Which value is the sample count, and what the profile measures. */
static int read_types(struct pprof_reader *r)
{
	size_t i;

	if (!r->nstrs || r->str_lens[0])
		return bad(r, "no string table: not a pprof profile");
	for (i = 0; i < r->ntypes && i < 8; i++) {
		if (str_is(r, r->types[i][0], "samples") && str_is(r, r->types[i][1], "count"))
			break;
	}
	if (i == r->ntypes || i == 8)
		return bad(r, "no samples/count sample type: not a profile pybpfprof wrote");
	r->value_index = i;
	/* The other type says what was measured: cpu or wall time. */
	for (size_t j = 0; j < r->ntypes && j < 8; j++) {
		__u64 t = r->types[j][0];

		if (j != i && t < r->nstrs && r->str_lens[t] < sizeof(r->info->mode)) {
			memcpy(r->info->mode, r->strs[t], r->str_lens[t]);
			r->info->mode[r->str_lens[t]] = '\0';
		}
	}
	for (size_t s = 1; s < r->nstrs; s++) {
		if (str_is(r, s, "pid"))
			r->key_pid = s;
		else if (str_is(r, s, "comm"))
			r->key_comm = s;
		else if (str_is(r, s, "tid"))
			r->key_tid = s;
		else if (str_is(r, s, "thread_name"))
			r->key_thread = s;
		else if (str_is(r, s, "gil"))
			r->key_gil = s;
	}
	return 0;
}

/* The agg frames of location @loc (leaf first), made on first use. */
static int loc_frames(struct pprof_reader *r, struct pp_loc *loc)
{
	if (loc->frames || !loc->n)
		return 0;
	loc->frames = malloc(loc->n * sizeof(*loc->frames));
	if (!loc->frames)
		return -ENOMEM;
	for (size_t i = 0; i < loc->n; i++) {
		const struct pp_line *l = &r->lines[loc->off + i];
		size_t *fi = hmap__find(r->func_ids, &l->func);
		const struct pp_func *f;
		char *name, *file;
		__u32 id;

		if (!fi)
			return bad(r, "a location names function %llu, which is not in the profile",
				   (unsigned long long)l->func);
		f = &r->funcs[*fi];
		name = str_dup(r, f->name);
		file = str_dup(r, f->file);
		id = NO_ID;
		if (name && file)
			id = agg__intern_frame(r->a, name, file,
					       f->start_line > 0 && f->start_line < INT32_MAX ?
					       (int)f->start_line : 0,
					       l->line > 0 && l->line < INT32_MAX ? (int)l->line : -1);
		free(name);
		free(file);
		if (id == NO_ID)
			return -ENOMEM;
		loc->frames[i] = id;
	}
	return 0;
}

static bool push_loc_id(void *ctx, __u64 v)
{
	struct pprof_reader *r = ctx;

	if (array__reserve((void **)&r->loc_ids, &r->loc_ids_cap, r->nloc_ids + 1,
			   sizeof(*r->loc_ids))) {
		r->nomem = true;
		return false;
	}
	r->loc_ids[r->nloc_ids++] = v;
	return true;
}

struct value_pick {
	size_t want, at;
	__u64 v;
	bool found;
};

static bool pick_value(void *ctx, __u64 v)
{
	struct value_pick *p = ctx;

	if (p->at++ == p->want) {
		p->v = v;
		p->found = true;
	}
	return true;
}

struct sample_labels {
	__u64 pid;
	__u64 comm, thread, gil;	/* string indices */
	__u64 tid;
};

static void read_label(const struct pprof_reader *r, const struct wire *w,
		       struct sample_labels *sl)
{
	struct wire in = wire_of(w->bytes, w->len);
	__u64 key = 0, str = 0, num = 0;

	while (wire_next(&in) > 0) {
		if (in.type != WIRE_VARINT)
			continue;
		if (in.field == LABEL_KEY)
			key = in.v;
		else if (in.field == LABEL_STR)
			str = in.v;
		else if (in.field == LABEL_NUM)
			num = in.v;
	}
	if (!key)
		return;
	if (key == r->key_pid) {
		/* A number, or for a backend the pid as text. */
		sl->pid = num;
		if (str && str < r->nstrs && r->str_lens[str] < 12) {
			char buf[12];

			memcpy(buf, r->strs[str], r->str_lens[str]);
			buf[r->str_lens[str]] = '\0';
			sl->pid = strtoull(buf, NULL, 10);
		}
	} else if (key == r->key_comm) {
		sl->comm = str;
	} else if (key == r->key_tid) {
		sl->tid = num;
	} else if (key == r->key_thread) {
		sl->thread = str;
	} else if (key == r->key_gil) {
		sl->gil = str;
	}
}

static unsigned int gil_state(const struct pprof_reader *r, __u64 str)
{
	for (unsigned int g = 1; str && g < 8; g++) {
		const char *name = output__gil_name(g);

		if (name && str_is(r, str, name))
			return g;
	}
	return 0;
}

/* The stack of one sample, root first, into r->stack; its length. */
static int sample_stack(struct pprof_reader *r, size_t *n, unsigned int *flags)
{
	*n = 0;
	for (size_t i = r->nloc_ids; i-- > 0;) {
		size_t *li = hmap__find(r->loc_index, &r->loc_ids[i]);
		struct pp_loc *loc;
		int err;

		if (!li)
			return bad(r, "a sample names location %llu, which is not in the profile",
				   (unsigned long long)r->loc_ids[i]);
		loc = &r->locs[*li];
		err = loc_frames(r, loc);
		if (err)
			return err;
		/* A location's lines are leaf first too: the last is the caller. */
		for (size_t j = loc->n; j-- > 0;) {
			const struct agg_frame *fr = agg__frame(r->a, loc->frames[j]);

			/* The root end's [truncated] is the agg's flag, not a frame. */
			if (!*n && fr && !strcmp(fr->qualname, "[truncated]") && !fr->file[0]) {
				*flags |= AGG_STACK_TRUNCATED;
				continue;
			}
			if (array__reserve((void **)&r->stack, &r->stack_cap, *n + 1,
					   sizeof(*r->stack)))
				return -ENOMEM;
			r->stack[(*n)++] = loc->frames[j];
		}
	}
	return 0;
}

static int read_sample(struct pprof_reader *r, const struct wire *w)
{
	struct wire in = wire_of(w->bytes, w->len);
	struct value_pick pick = { .want = r->value_index };
	struct sample_labels sl = { 0 };
	unsigned int flags = 0;
	char *comm = NULL, *thread = NULL;
	size_t n;
	__u32 proc;
	int ret, err;

	if (w->type != WIRE_LEN)
		return bad(r, "a damaged sample");
	r->nloc_ids = 0;
	while ((ret = wire_next(&in)) > 0) {
		if (in.field == SAMPLE_LOCATION_ID) {
			if (!wire_repeated(&in, push_loc_id, r))
				return r->nomem ? -ENOMEM : bad(r, "a damaged sample");
		} else if (in.field == SAMPLE_VALUE) {
			if (!wire_repeated(&in, pick_value, &pick))
				return bad(r, "a damaged sample");
		} else if (in.field == SAMPLE_LABEL && in.type == WIRE_LEN) {
			read_label(r, &in, &sl);
		}
	}
	if (ret < 0 || !pick.found)
		return bad(r, "a damaged sample");
	if (pick.v > INT64_MAX)
		return bad(r, "a sample count out of range");
	err = sample_stack(r, &n, &flags);
	if (err)
		return err;
	flags |= (gil_state(r, sl.gil) << AGG_STACK_GIL_SHIFT) & AGG_STACK_GIL_MASK;
	comm = sl.comm ? str_dup(r, sl.comm) : strdup("?");
	thread = sl.thread ? str_dup(r, sl.thread) : NULL;
	err = -ENOMEM;
	if (comm && (thread || !sl.thread)) {
		proc = agg__intern_proc(r->a, (__u32)sl.pid, comm);
		if (proc != NO_ID)
			err = agg__add_stack(r->a, proc, (__u32)sl.tid, thread, r->stack, n, flags,
					     pick.v);
	}
	free(comm);
	free(thread);
	return err;
}

/* Pass 2: the samples. */
static int read_samples(struct pprof_reader *r, const __u8 *data, size_t len)
{
	struct wire w = wire_of(data, len);
	int err = 0;

	while (!err && wire_next(&w) > 0) {
		if (w.field == PROFILE_SAMPLE)
			err = read_sample(r, &w);
	}
	return err;
}

/* ---- gzip ------------------------------------------------------------------ */

static int gunzip(struct pprof_reader *r, const void *data, size_t len, __u8 **out,
		  size_t *out_len)
{
	z_stream z = { .next_in = (Bytef *)data };
	size_t cap = 0, n = 0;
	__u8 *buf = NULL;
	int ret;

	/* 15 + 32: any window size, gzip or zlib header. */
	if (inflateInit2(&z, 15 + 32) != Z_OK)
		return -ENOMEM;
	do {
		if (array__reserve((void **)&buf, &cap, n + 65536, 1)) {
			ret = Z_MEM_ERROR;
			break;
		}
		if (!z.avail_in && len) {
			z.avail_in = len > UINT32_MAX ? UINT32_MAX : (uInt)len;
			len -= z.avail_in;
		}
		z.next_out = buf + n;
		z.avail_out = (uInt)(cap - n > UINT32_MAX ? UINT32_MAX : cap - n);
		ret = inflate(&z, Z_NO_FLUSH);
		n = (size_t)(z.next_out - buf);
		if (n > MAX_RAW) {
			ret = Z_BUF_ERROR;
			break;
		}
	} while (ret == Z_OK);
	inflateEnd(&z);
	if (ret != Z_STREAM_END) {
		free(buf);
		if (ret == Z_MEM_ERROR)
			return -ENOMEM;
		if (n > MAX_RAW)
			return bad(r, "inflates to more than %llu MiB", MAX_RAW >> 20);
		return bad(r, "damaged gzip data");
	}
	*out = buf;
	*out_len = n;
	return 0;
}

static void reader__free(struct pprof_reader *r)
{
	for (size_t i = 0; i < r->nlocs; i++)
		free(r->locs[i].frames);
	free(r->strs);
	free(r->str_lens);
	free(r->funcs);
	free(r->locs);
	free(r->lines);
	free(r->loc_ids);
	free(r->stack);
	hmap__free(r->func_ids);
	hmap__free(r->loc_index);
}

int read_pprof__parse(const void *data, size_t len, struct agg *a, struct profile_info *info,
		      char *why, size_t why_size)
{
	struct pprof_reader r = { .a = a, .info = info, .why = why, .why_size = why_size };
	const __u8 *raw = data;
	__u8 *inflated = NULL;
	int err;

	info->kind = PROFILE_PPROF;
	info->mode[0] = '\0';
	if (len >= 2 && raw[0] == 0x1f && raw[1] == 0x8b) {
		err = gunzip(&r, data, len, &inflated, &len);
		if (err)
			return err;
		raw = inflated;
	}
	r.func_ids = hmap__new(sizeof(__u64), sizeof(size_t));
	r.loc_index = hmap__new(sizeof(__u64), sizeof(size_t));
	err = -ENOMEM;
	if (r.func_ids && r.loc_index)
		err = read_tables(&r, raw, len) ?: read_types(&r) ?: read_samples(&r, raw, len);
	reader__free(&r);
	free(inflated);
	return err;
}
