// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the pprof writer (user/output_pprof.c) and the protobuf
 * encoder under it (user/protobuf.c): the output is gunzipped and read
 * back by a small strict decoder of the profile.proto fields the writer
 * uses, then checked against the spec's rules (string_table[0] = "",
 * ids non-zero and resolvable, leaf first) and ours (sample and period
 * types, labels, merging of threads, "[truncated]" at the root end).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <linux/types.h>

#include "aggregate.h"
#include "output.h"
#include "protobuf.h"
#include "unit.h"

#define MAX_ITEMS 64

/* ---- gunzip -------------------------------------------------------------- */

/* The writer's output; *@len its size, *@err its return value. */
static unsigned char *render(const struct agg *a, const struct output_meta *m, size_t *len,
			     int *err)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	*err = output_pprof__write(a, m, f);
	fclose(f);
	*len = size;
	return (unsigned char *)buf;
}

/* One whole gzip member, nothing after it; NULL otherwise. */
static unsigned char *gunzip(const unsigned char *in, size_t len, size_t *out_len)
{
	size_t cap = 4096;
	unsigned char *out = malloc(cap);
	z_stream z = { 0 };
	int ret;

	if (!out || inflateInit2(&z, 15 + 16) != Z_OK) {
		free(out);
		return NULL;
	}
	z.next_in = (Bytef *)in;
	z.avail_in = (uInt)len;
	do {
		if (z.total_out == cap) {
			unsigned char *n = realloc(out, cap * 2);

			if (!n)
				break;
			out = n;
			cap *= 2;
		}
		z.next_out = out + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		ret = inflate(&z, Z_NO_FLUSH);
	} while (ret == Z_OK);
	*out_len = z.total_out;
	inflateEnd(&z);
	if (ret != Z_STREAM_END || z.avail_in != 0) {
		free(out);
		return NULL;
	}
	return out;
}

/* ---- a strict decoder of the profile.proto subset ------------------------ */

struct rd {
	const unsigned char *p, *end;
	bool bad;
};

static __u64 rd_varint(struct rd *r)
{
	__u64 v = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		if (r->p >= r->end) {
			r->bad = true;
			return 0;
		}
		v |= (__u64)(*r->p & 0x7f) << shift;
		if (!(*r->p++ & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

/* The next field: number, wire type, and a varint or a sub-reader. */
static bool rd_field(struct rd *r, __u32 *field, unsigned int *wire, __u64 *v, struct rd *sub)
{
	__u64 key;

	if (r->bad || r->p >= r->end)
		return false;
	key = rd_varint(r);
	*field = (__u32)(key >> 3);
	*wire = key & 7;
	if (*field == 0)
		r->bad = true;
	if (*wire == 0) {
		*v = rd_varint(r);
	} else if (*wire == 2) {
		__u64 len = rd_varint(r);

		if (len > (__u64)(r->end - r->p)) {
			r->bad = true;
			return false;
		}
		*sub = (struct rd){ r->p, r->p + len, false };
		r->p += len;
	} else {
		/* The writer never uses fixed32/64 or groups. */
		r->bad = true;
	}
	return !r->bad;
}

/* A repeated varint, packed (wire 2) or not (wire 0). */
static void rd_repeated(struct rd *r, unsigned int wire, __u64 v, struct rd *sub, __u64 *out,
			size_t *n)
{
	if (wire == 0) {
		if (*n < MAX_ITEMS)
			out[(*n)++] = v;
		return;
	}
	while (sub->p < sub->end && !sub->bad) {
		__u64 x = rd_varint(sub);

		if (*n < MAX_ITEMS)
			out[(*n)++] = x;
	}
	r->bad |= sub->bad;
}

struct label {
	__u64 key, str;
	__s64 num;
	bool has_num;
};

struct sample {
	__u64 locs[MAX_ITEMS];
	size_t nlocs;
	__u64 values[MAX_ITEMS];
	size_t nvalues;
	struct label labels[8];
	size_t nlabels;
};

struct location {
	__u64 id, mapping_id, function_id, line;
	size_t nlines;
};

struct function {
	__u64 id, name, system_name, filename, start_line;
};

struct profile {
	char *strs[MAX_ITEMS * 4];
	size_t nstrs;
	__u64 sample_types[4][2];
	size_t nsample_types;
	struct sample samples[MAX_ITEMS];
	size_t nsamples;
	struct location locs[MAX_ITEMS];
	size_t nlocs;
	struct function funcs[MAX_ITEMS];
	size_t nfuncs;
	__u64 mapping_id;
	bool mapping_symbolized;
	size_t nmappings;
	__u64 period_type[2], period, time_nanos, duration_nanos, default_sample_type;
	__u64 comments[8];
	size_t ncomments;
	bool bad;
};

static void rd_value_type(struct rd *r, __u64 out[2])
{
	struct rd sub;
	unsigned int wire;
	__u32 field;
	__u64 v;

	while (rd_field(r, &field, &wire, &v, &sub)) {
		if (field == 1 && wire == 0)
			out[0] = v;
		else if (field == 2 && wire == 0)
			out[1] = v;
		else
			r->bad = true;
	}
}

static void rd_sample(struct rd *r, struct sample *s)
{
	struct rd sub, lsub;
	unsigned int wire, lwire;
	__u32 field, lfield;
	__u64 v, lv;

	while (rd_field(r, &field, &wire, &v, &sub)) {
		if (field == 1) {
			rd_repeated(r, wire, v, &sub, s->locs, &s->nlocs);
		} else if (field == 2) {
			rd_repeated(r, wire, v, &sub, s->values, &s->nvalues);
		} else if (field == 3 && wire == 2 && s->nlabels < 8) {
			struct label *l = &s->labels[s->nlabels++];

			while (rd_field(&sub, &lfield, &lwire, &lv, &lsub)) {
				if (lfield == 1)
					l->key = lv;
				else if (lfield == 2)
					l->str = lv;
				else if (lfield == 3)
					l->num = (__s64)lv, l->has_num = true;
				else
					sub.bad = true;
			}
			r->bad |= sub.bad;
		} else {
			r->bad = true;
		}
	}
}

static void rd_location(struct rd *r, struct location *l)
{
	struct rd sub, lsub;
	unsigned int wire, lwire;
	__u32 field, lfield;
	__u64 v, lv;

	while (rd_field(r, &field, &wire, &v, &sub)) {
		if (field == 1 && wire == 0) {
			l->id = v;
		} else if (field == 2 && wire == 0) {
			l->mapping_id = v;
		} else if (field == 4 && wire == 2) {
			l->nlines++;
			while (rd_field(&sub, &lfield, &lwire, &lv, &lsub)) {
				if (lfield == 1)
					l->function_id = lv;
				else if (lfield == 2)
					l->line = lv;
				else
					sub.bad = true;
			}
			r->bad |= sub.bad;
		} else {
			r->bad = true;
		}
	}
}

static void rd_function(struct rd *r, struct function *fn)
{
	struct rd sub;
	unsigned int wire;
	__u32 field;
	__u64 v;

	while (rd_field(r, &field, &wire, &v, &sub)) {
		if (wire != 0)
			r->bad = true;
		else if (field == 1)
			fn->id = v;
		else if (field == 2)
			fn->name = v;
		else if (field == 3)
			fn->system_name = v;
		else if (field == 4)
			fn->filename = v;
		else if (field == 5)
			fn->start_line = v;
		else
			r->bad = true;
	}
}

static void rd_mapping(struct rd *r, struct profile *p)
{
	bool fn = false, fl = false, ln = false;
	struct rd sub;
	unsigned int wire;
	__u32 field;
	__u64 v;

	while (rd_field(r, &field, &wire, &v, &sub)) {
		if (field == 1)
			p->mapping_id = v;
		else if (field == 7)
			fn = v;
		else if (field == 8)
			fl = v;
		else if (field == 9)
			ln = v;
	}
	p->mapping_symbolized = fn && fl && ln;
	p->nmappings++;
}

static bool decode(const unsigned char *data, size_t len, struct profile *p)
{
	struct rd r = { data, data + len, false }, sub;
	unsigned int wire;
	__u32 field;
	__u64 v;

	memset(p, 0, sizeof(*p));
	while (rd_field(&r, &field, &wire, &v, &sub)) {
		switch (field) {
		case 1:
			if (p->nsample_types < 4)
				rd_value_type(&sub, p->sample_types[p->nsample_types++]);
			break;
		case 2:
			if (p->nsamples < MAX_ITEMS)
				rd_sample(&sub, &p->samples[p->nsamples++]);
			break;
		case 3:
			rd_mapping(&sub, p);
			break;
		case 4:
			if (p->nlocs < MAX_ITEMS)
				rd_location(&sub, &p->locs[p->nlocs++]);
			break;
		case 5:
			if (p->nfuncs < MAX_ITEMS)
				rd_function(&sub, &p->funcs[p->nfuncs++]);
			break;
		case 6:
			if (wire != 2 || p->nstrs >= sizeof(p->strs) / sizeof(p->strs[0])) {
				r.bad = true;
				break;
			}
			p->strs[p->nstrs] = strndup((const char *)sub.p, sub.end - sub.p);
			/* A NUL inside would hide behind strndup: count it. */
			if (memchr(sub.p, 0, sub.end - sub.p))
				r.bad = true;
			p->nstrs++;
			break;
		case 9:
			p->time_nanos = v;
			break;
		case 10:
			p->duration_nanos = v;
			break;
		case 11:
			rd_value_type(&sub, p->period_type);
			break;
		case 12:
			p->period = v;
			break;
		case 13:
			rd_repeated(&r, wire, v, &sub, p->comments, &p->ncomments);
			break;
		case 14:
			p->default_sample_type = v;
			break;
		default:
			r.bad = true;
		}
		r.bad |= sub.bad;
	}
	p->bad = r.bad;
	return !r.bad;
}

static void profile_free(struct profile *p)
{
	for (size_t i = 0; i < p->nstrs; i++)
		free(p->strs[i]);
}

static const char *str(const struct profile *p, __u64 idx)
{
	return idx < p->nstrs ? p->strs[idx] : "(bad string index)";
}

static const struct location *loc_by_id(const struct profile *p, __u64 id)
{
	for (size_t i = 0; i < p->nlocs; i++) {
		if (p->locs[i].id == id)
			return &p->locs[i];
	}
	return NULL;
}

static const struct function *func_by_id(const struct profile *p, __u64 id)
{
	for (size_t i = 0; i < p->nfuncs; i++) {
		if (p->funcs[i].id == id)
			return &p->funcs[i];
	}
	return NULL;
}

/* "name:line;...": the sample's locations in the order written (leaf first). */
static const char *stack_str(const struct profile *p, const struct sample *s)
{
	static char buf[1024];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < s->nlocs; i++) {
		const struct location *l = loc_by_id(p, s->locs[i]);
		const struct function *fn = l ? func_by_id(p, l->function_id) : NULL;

		off += snprintf(buf + off, sizeof(buf) - off, "%s%s:%llu", i ? ";" : "",
				fn ? str(p, fn->name) : "?", l ? (unsigned long long)l->line : 0);
		if (off >= sizeof(buf))
			break;
	}
	return buf;
}

/* The label @key of @s: its string, or its number in *@num. NULL when absent. */
static const char *label(const struct profile *p, const struct sample *s, const char *key,
			 __s64 *num)
{
	for (size_t i = 0; i < s->nlabels; i++) {
		if (strcmp(str(p, s->labels[i].key), key))
			continue;
		if (num)
			*num = s->labels[i].num;
		return s->labels[i].has_num ? "" : str(p, s->labels[i].str);
	}
	return NULL;
}

/* Render, gunzip and decode in one step; false (and a failed check) otherwise. */
static bool load(const struct agg *a, const struct output_meta *m, struct profile *p)
{
	unsigned char *gz, *raw;
	size_t gz_len = 0, raw_len = 0;
	int err = -1;
	bool ok;

	gz = render(a, m, &gz_len, &err);
	CHECK_EQ_INT(err, 0);
	CHECK(gz && gz_len >= 18);
	if (!gz || gz_len < 18) {
		free(gz);
		return false;
	}
	/* gzip magic, deflate, and the OS byte zlib writes on Linux (3, Unix). */
	CHECK(gz[0] == 0x1f && gz[1] == 0x8b && gz[2] == 8 && gz[9] == 3);
	raw = gunzip(gz, gz_len, &raw_len);
	CHECK(raw != NULL);
	free(gz);
	if (!raw)
		return false;
	ok = decode(raw, raw_len, p);
	CHECK(ok);
	free(raw);
	return ok;
}

/* The rules of profile.proto every output must keep. */
static void check_invariants(const struct profile *p)
{
	CHECK(p->nstrs > 0 && !strcmp(p->strs[0], ""));
	for (size_t i = 0; i < p->nlocs; i++) {
		CHECK(p->locs[i].id != 0);
		CHECK_EQ_INT(p->locs[i].nlines, 1);
		CHECK(func_by_id(p, p->locs[i].function_id) != NULL);
		CHECK_EQ_INT(p->locs[i].mapping_id, p->mapping_id);
		for (size_t j = 0; j < i; j++) {
			CHECK(p->locs[j].id != p->locs[i].id);
			/* One location per (function, line). */
			CHECK(p->locs[j].function_id != p->locs[i].function_id ||
			      p->locs[j].line != p->locs[i].line);
		}
	}
	for (size_t i = 0; i < p->nfuncs; i++) {
		const struct function *fn = &p->funcs[i];

		CHECK(fn->id != 0);
		CHECK(fn->name < p->nstrs && fn->filename < p->nstrs);
		for (size_t j = 0; j < i; j++) {
			CHECK(p->funcs[j].id != fn->id);
			/* One function per (name, file, first line). */
			CHECK(p->funcs[j].name != fn->name ||
			      p->funcs[j].filename != fn->filename ||
			      p->funcs[j].start_line != fn->start_line);
		}
	}
	for (size_t i = 0; i < p->nsamples; i++) {
		CHECK_EQ_INT(p->samples[i].nvalues, p->nsample_types);
		for (size_t j = 0; j < p->samples[i].nlocs; j++)
			CHECK(loc_by_id(p, p->samples[i].locs[j]) != NULL);
	}
	CHECK_EQ_INT(p->nmappings, 1);
	CHECK(p->mapping_id != 0 && p->mapping_symbolized);
}

/* ---- tests --------------------------------------------------------------- */

static void test_profile_fields(void)
{
	struct output_meta m = { .duration_s = 2.5, .frequency_hz = 99,
				 .start_unix_ns = 1700000000123456789ULL, .hostname = "h1" };
	struct agg *a = agg__new();
	struct profile p;
	__u32 proc, st[2];

	proc = agg__intern_proc(a, 42, "python3");
	st[0] = agg__intern_frame(a, "main", "/w.py", 1, 5);
	st[1] = agg__intern_frame(a, "compute", "/w.py", 10, 12);
	agg__add_stack(a, proc, 42, "MainThread", st, 2, 0, 7);
	if (load(a, &m, &p)) {
		check_invariants(&p);
		CHECK_EQ_INT(p.nsample_types, 2);
		CHECK_EQ_STR(str(&p, p.sample_types[0][0]), "samples");
		CHECK_EQ_STR(str(&p, p.sample_types[0][1]), "count");
		CHECK_EQ_STR(str(&p, p.sample_types[1][0]), "cpu");
		CHECK_EQ_STR(str(&p, p.sample_types[1][1]), "nanoseconds");
		CHECK_EQ_STR(str(&p, p.period_type[0]), "cpu");
		CHECK_EQ_STR(str(&p, p.period_type[1]), "nanoseconds");
		CHECK_EQ_INT(p.period, 1000000000 / 99);
		CHECK_EQ_STR(str(&p, p.default_sample_type), "cpu");
		CHECK(p.time_nanos == 1700000000123456789ULL);
		CHECK_EQ_INT(p.duration_nanos, 2500000000LL);
		CHECK_EQ_INT(p.ncomments, 2);
		CHECK_EQ_STR(str(&p, p.comments[0]), "pybpfprof@" PYBPFPROF_VERSION);
		CHECK_EQ_STR(str(&p, p.comments[1]), "host: h1");

		CHECK_EQ_INT(p.nsamples, 1);
		CHECK_EQ_STR(stack_str(&p, &p.samples[0]), "compute:12;main:5");
		CHECK_EQ_INT(p.samples[0].values[0], 7);
		CHECK_EQ_INT(p.samples[0].values[1], 7 * (1000000000 / 99));
		CHECK_EQ_INT(p.nfuncs, 2);
		for (size_t i = 0; i < p.nfuncs; i++) {
			const struct function *fn = &p.funcs[i];

			CHECK_EQ_STR(str(&p, fn->filename), "/w.py");
			/* Empty on purpose: pprof would "demangle" an equal one. */
			CHECK_EQ_INT(fn->system_name, 0);
			CHECK(fn->start_line == (strcmp(str(&p, fn->name), "main") ? 10 : 1));
		}
	}
	profile_free(&p);
	agg__free(a);
}

static void test_labels_and_threads(void)
{
	struct output_meta m = { .duration_s = 1, .frequency_hz = 100 };
	struct agg *a = agg__new();
	struct profile p;
	__u32 p1, p2, st[2];
	__s64 num = 0;

	p1 = agg__intern_proc(a, 42, "python3");
	p2 = agg__intern_proc(a, 43, "worker");
	st[0] = agg__intern_frame(a, "main", "/w.py", 1, 5);
	st[1] = agg__intern_frame(a, "compute", "/w.py", 10, 12);
	agg__add_stack(a, p1, 42, "MainThread", st, 2, 0, 3);
	agg__add_stack(a, p1, 44, "pool-1", st, 2, 0, 4);	/* same stack, other thread */
	agg__add_stack(a, p2, 43, NULL, st, 1, 0, 5);
	agg__add_stack(a, p1, 44, "pool-1", st, 1, 0, 6);

	/* Without --threads: threads of one process merge, no thread labels. */
	if (load(a, &m, &p)) {
		check_invariants(&p);
		CHECK_EQ_INT(p.nsamples, 3);
		CHECK_EQ_STR(stack_str(&p, &p.samples[0]), "compute:12;main:5");
		CHECK_EQ_INT(p.samples[0].values[0], 7);
		CHECK_EQ_INT(p.samples[0].values[1], 7 * 10000000LL);
		CHECK_EQ_STR(label(&p, &p.samples[0], "comm", NULL), "python3");
		CHECK(label(&p, &p.samples[0], "pid", &num) && num == 42);
		CHECK(!label(&p, &p.samples[0], "tid", NULL));
		CHECK(!label(&p, &p.samples[0], "thread_name", NULL));
		CHECK_EQ_STR(stack_str(&p, &p.samples[1]), "main:5");
		CHECK_EQ_STR(label(&p, &p.samples[1], "comm", NULL), "worker");
		CHECK(label(&p, &p.samples[1], "pid", &num) && num == 43);
		CHECK_EQ_INT(p.samples[2].values[0], 6);
		/* The process is labels, never a location. */
		CHECK_EQ_INT(p.nlocs, 2);
	}
	profile_free(&p);

	m.threads = true;
	if (load(a, &m, &p)) {
		check_invariants(&p);
		CHECK_EQ_INT(p.nsamples, 4);
		CHECK(label(&p, &p.samples[0], "tid", &num) && num == 42);
		CHECK_EQ_STR(label(&p, &p.samples[0], "thread_name", NULL), "MainThread");
		CHECK(label(&p, &p.samples[1], "tid", &num) && num == 44);
		CHECK_EQ_STR(label(&p, &p.samples[1], "thread_name", NULL), "pool-1");
		CHECK_EQ_INT(p.samples[1].values[0], 4);
		/* No name known: a tid label, no thread_name. */
		CHECK(label(&p, &p.samples[2], "tid", &num) && num == 43);
		CHECK(!label(&p, &p.samples[2], "thread_name", NULL));
		CHECK(label(&p, &p.samples[3], "pid", &num) && num == 42);
	}
	profile_free(&p);
	agg__free(a);
}

static void test_truncated_and_lines(void)
{
	struct output_meta m = { .duration_s = 1, .frequency_hz = 99 };
	struct agg *a = agg__new();
	struct profile p;
	__u32 proc, st[3];

	proc = agg__intern_proc(a, 7, "py");
	st[0] = agg__intern_frame(a, "f", "/m.py", 3, 4);
	st[1] = agg__intern_frame(a, "f", "/m.py", 3, 8);	/* same function, other line */
	st[2] = agg__intern_frame(a, "g", "/m.py", 20, -1);	/* line unknown */
	agg__add_stack(a, proc, 7, NULL, st, 3, AGG_STACK_TRUNCATED, 2);
	agg__add_stack(a, proc, 7, NULL, st + 1, 2, 0, 1);
	if (load(a, &m, &p)) {
		check_invariants(&p);
		CHECK_EQ_INT(p.nsamples, 2);
		/* Leaf first, the pseudo-frame at the root end. */
		CHECK_EQ_STR(stack_str(&p, &p.samples[0]), "g:0;f:8;f:4;[truncated]:0");
		CHECK_EQ_STR(stack_str(&p, &p.samples[1]), "g:0;f:8");
		/* f at two lines: two locations, one function. */
		CHECK_EQ_INT(p.nlocs, 4);
		CHECK_EQ_INT(p.nfuncs, 3);
	}
	profile_free(&p);
	agg__free(a);
}

static void test_strings(void)
{
	struct output_meta m = { .duration_s = 1, .frequency_hz = 99 };
	static const char *const names[] = {
		"<module>", "<script>alert(1)</script>", "q\"uote\\back\nnl\ttab\x01",
		"caf\xc3\xa9 \xe2\x80\xa8", "",
	};
	struct agg *a = agg__new();
	struct profile p;
	__u32 proc, st[6];
	size_t n = sizeof(names) / sizeof(names[0]);

	proc = agg__intern_proc(a, 7, "bad\xff\xfe comm");
	for (size_t i = 0; i < n; i++)
		st[i] = agg__intern_frame(a, names[i], "/x.py", (int)i + 1, (int)i + 1);
	/* Invalid UTF-8 straight into the agg, as a careless caller could. */
	st[n] = agg__intern_frame(a, "bad\xc0\xaf", "/x\xed\xa0\x80.py", 9, 9);
	agg__add_stack(a, proc, 7, NULL, st, n + 1, 0, 1);
	if (load(a, &m, &p)) {
		check_invariants(&p);
		for (size_t i = 0; i < n; i++) {
			bool found = false;

			for (size_t j = 0; j < p.nfuncs; j++)
				found |= !strcmp(str(&p, p.funcs[j].name), names[i]);
			CHECK(found);
		}
		CHECK_EQ_STR(label(&p, &p.samples[0], "comm", NULL),
			     "bad\xef\xbf\xbd\xef\xbf\xbd comm");
		CHECK_EQ_STR(stack_str(&p, &p.samples[0]), "bad\xef\xbf\xbd\xef\xbf\xbd:9;:5;"
			     "caf\xc3\xa9 \xe2\x80\xa8:4;q\"uote\\back\nnl\ttab\x01:3;"
			     "<script>alert(1)</script>:2;<module>:1");
		/* Each distinct string once. */
		for (size_t i = 0; i < p.nstrs; i++) {
			for (size_t j = 0; j < i; j++)
				CHECK(strcmp(p.strs[i], p.strs[j]));
		}
	}
	profile_free(&p);
	agg__free(a);
}

static void test_empty(void)
{
	struct output_meta m = { .duration_s = 1, .frequency_hz = 99 };
	struct agg *a = agg__new();
	struct profile p;

	if (load(a, &m, &p)) {
		check_invariants(&p);
		CHECK_EQ_INT(p.nsamples, 0);
		CHECK_EQ_INT(p.nsample_types, 2);
	}
	profile_free(&p);
	agg__free(a);
}

/* Enough distinct stacks that the stream crosses several zlib and stdio blocks. */
static void test_large(void)
{
	struct output_meta m = { .duration_s = 1, .frequency_hz = 99 };
	struct agg *a = agg__new();
	unsigned char *gz, *raw;
	size_t gz_len = 0, raw_len = 0, nsamples = 0;
	__u32 proc, st[64];
	int err = -1;

	proc = agg__intern_proc(a, 1, "py");
	for (int i = 0; i < 64; i++) {
		char name[32];

		snprintf(name, sizeof(name), "f%d", i);
		st[i] = agg__intern_frame(a, name, "/big.py", i, i);
	}
	for (int i = 0; i < 20000; i++) {
		__u32 s[3] = { st[i % 64], st[(i / 64) % 64], st[(i / 4096) % 64] };

		agg__add_stack(a, proc, 1, NULL, s, 3, 0, 1);
	}
	gz = render(a, &m, &gz_len, &err);
	CHECK_EQ_INT(err, 0);
	raw = gz ? gunzip(gz, gz_len, &raw_len) : NULL;
	CHECK(raw != NULL);
	if (raw) {
		struct rd r = { raw, raw + raw_len, false }, sub;
		unsigned int wire;
		__u32 field;
		__u64 v;

		while (rd_field(&r, &field, &wire, &v, &sub))
			nsamples += field == 2;
		CHECK(!r.bad);
		CHECK_EQ_INT(nsamples, 20000);
	}
	free(gz);
	free(raw);
	agg__free(a);
}

static void test_errors(void)
{
	struct output_meta m = { .duration_s = 1, .frequency_hz = 99 };
	struct agg *a = agg__new();
	__u32 proc, fr;
	FILE *f;

	proc = agg__intern_proc(a, 7, "py");
	fr = agg__intern_frame(a, "f", "/m.py", 3, 4);
	agg__add_stack(a, proc, 7, NULL, &fr, 1, 0, 2);

	f = fopen("/dev/full", "w");
	if (f) {
		CHECK_EQ_INT(output_pprof__write(a, &m, f), -EIO);
		fclose(f);
	}
	f = fopen("/dev/null", "r");
	if (f) {
		CHECK_EQ_INT(output_pprof__write(a, &m, f), -EIO);
		fclose(f);
	}
	f = fopen("/dev/null", "w");
	if (f) {
		CHECK_EQ_INT(output_pprof__write(a, NULL, f), -EINVAL);
		m.frequency_hz = 0;
		CHECK_EQ_INT(output_pprof__write(a, &m, f), -EINVAL);
		CHECK_EQ_INT(output_pprof__write(NULL, &m, f), -EINVAL);
		fclose(f);
	}
	agg__free(a);
}

/* The encoder on its own: the byte values from protobuf.dev's examples. */
static void test_encoder(void)
{
	static const __u64 packed[] = { 3, 270, 86942 };
	struct pb_strtab *t = pb_strtab__new();
	struct pb b = { 0 }, sub = { 0 };

	pb__varint_field(&b, 1, 150);
	CHECK(b.len == 3 && !memcmp(b.data, "\x08\x96\x01", 3));
	pb__reset(&b);
	pb__bytes_field(&b, 2, "testing", 7);
	CHECK(b.len == 9 && !memcmp(b.data, "\x12\x07testing", 9));
	pb__reset(&b);
	pb__packed_field(&b, 4, packed, 3);
	CHECK(b.len == 8 && !memcmp(b.data, "\x22\x06\x03\x8e\x02\x9e\xa7\x05", 8));
	pb__reset(&b);
	pb__packed_field(&b, 4, packed, 0);
	CHECK_EQ_INT(b.len, 0);
	pb__varint_field(&sub, 1, 150);
	pb__msg_field(&b, 3, &sub);
	CHECK(b.len == 5 && !memcmp(b.data, "\x1a\x03\x08\x96\x01", 5));
	pb__reset(&b);
	/* Negative int64: ten bytes, two's complement. */
	pb__varint_field(&b, 1, (__u64)-2LL);
	CHECK(b.len == 11 && b.data[1] == 0xfe && b.data[10] == 0x01);
	CHECK_EQ_INT(pb__err(&b), 0);

	CHECK(t != NULL);
	if (t) {
		CHECK_EQ_INT(pb_strtab__index(t, "a"), 1);
		CHECK_EQ_INT(pb_strtab__index(t, "b"), 2);
		CHECK_EQ_INT(pb_strtab__index(t, "a"), 1);
		CHECK_EQ_INT(pb_strtab__index(t, ""), 0);
		CHECK_EQ_INT(pb_strtab__index(t, NULL), 0);
		/* Repaired, then found under its repaired form. */
		CHECK_EQ_INT(pb_strtab__index(t, "x\xff"), 3);
		CHECK_EQ_INT(pb_strtab__index(t, "x\xef\xbf\xbd"), 3);
		CHECK_EQ_INT(pb_strtab__count(t), 4);
		CHECK_EQ_STR(pb_strtab__str(t, 3), "x\xef\xbf\xbd");
		CHECK(pb_strtab__str(t, 4) == NULL);
		/* Past the first growth of the table and hash map. */
		for (int i = 0; i < 1000; i++) {
			char s[16];

			snprintf(s, sizeof(s), "s%d", i);
			CHECK_EQ_INT(pb_strtab__index(t, s), 4 + i);
		}
		CHECK_EQ_INT(pb_strtab__index(t, "s500"), 504);
	}
	pb_strtab__free(t);
	pb__free(&b);
	pb__free(&sub);
}

int main(void)
{
	test_encoder();
	test_profile_fields();
	test_labels_and_threads();
	test_truncated_and_lines();
	test_strings();
	test_empty();
	test_large();
	test_errors();
	return unit_report("test_pprof");
}
