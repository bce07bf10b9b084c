// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the push request encoder (user/encode/push_request.c): its
 * output is read back by a strict decoder of the PushRequest fields
 * (grafana/pyroscope push.proto, types.proto) and every raw profile is
 * gunzipped and read as profile.proto: the series are one per service,
 * in the documented order of names, with the documented labels; the
 * counts of each service survive splitting, and every profile keeps
 * within the limits it was given; the JSON form carries the same
 * profiles.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <linux/types.h>

#include "aggregate.h"
#include "push_request.h"
#include "snapshot.h"
#include "unit.h"

#define MAX_SERIES 16
#define MAX_LABELS 16
#define MAX_PROFILES 64
#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define START 1700000000123456789ULL
#define DURATION 10000000000ULL

/* ---- a strict reader of the wire format -------------------------------- */

struct rd {
	const unsigned char *p, *end;
	bool bad;
};

static __u64 rd_varint(struct rd *r)
{
	__u64 v = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		if (r->p >= r->end)
			break;
		v |= (__u64)(*r->p & 0x7f) << shift;
		if (!(*r->p++ & 0x80))
			return v;
	}
	r->bad = true;
	return 0;
}

/* Next field: varint in *@v or a length-delimited @sub; false at the end or on error. */
static bool rd_field(struct rd *r, __u32 *field, unsigned int *wire, __u64 *v, struct rd *sub)
{
	__u64 key, len;

	if (r->bad || r->p >= r->end)
		return false;
	key = rd_varint(r);
	*field = (__u32)(key >> 3);
	*wire = key & 7;
	if (!*field || (*wire != 0 && *wire != 2))
		r->bad = true;
	else if (*wire == 0)
		*v = rd_varint(r);
	else if ((len = rd_varint(r)) > (__u64)(r->end - r->p))
		r->bad = true;
	else {
		*sub = (struct rd){ r->p, r->p + len, false };
		r->p += len;
	}
	return !r->bad;
}

static char *rd_str(const struct rd *s)
{
	return strndup((const char *)s->p, s->end - s->p);
}

/* ---- PushRequest ------------------------------------------------------- */

struct raw {
	unsigned char *data;
	size_t len;
	char *id;
};

struct series {
	char *names[MAX_LABELS], *values[MAX_LABELS];
	size_t nlabels;
	struct raw profiles[MAX_PROFILES];
	size_t nprofiles;
};

struct request {
	struct series series[MAX_SERIES];
	size_t nseries;
	bool bad;
};

static void rd_label_pair(struct rd *r, struct series *s)
{
	struct rd sub;
	unsigned int wire;
	__u32 field;
	__u64 v;

	if (s->nlabels == MAX_LABELS) {
		r->bad = true;
		return;
	}
	s->names[s->nlabels] = s->values[s->nlabels] = NULL;
	while (rd_field(r, &field, &wire, &v, &sub)) {
		if (wire != 2 || field > 2)
			r->bad = true;
		else if (field == 1)
			s->names[s->nlabels] = rd_str(&sub);
		else
			s->values[s->nlabels] = rd_str(&sub);
	}
	s->nlabels++;
}

static void rd_raw_sample(struct rd *r, struct series *s)
{
	struct raw *p = &s->profiles[s->nprofiles];
	struct rd sub;
	unsigned int wire;
	__u32 field;
	__u64 v;

	if (s->nprofiles == MAX_PROFILES) {
		r->bad = true;
		return;
	}
	memset(p, 0, sizeof(*p));
	while (rd_field(r, &field, &wire, &v, &sub)) {
		if (wire != 2 || field > 2) {
			r->bad = true;
		} else if (field == 1) {
			p->len = sub.end - sub.p;
			p->data = malloc(p->len + 1);
			memcpy(p->data, sub.p, p->len);
		} else {
			p->id = rd_str(&sub);
		}
	}
	s->nprofiles++;
}

static bool read_request(const void *body, size_t len, struct request *q)
{
	struct rd r = { body, (const unsigned char *)body + len, false }, sub, sub2;
	unsigned int wire;
	__u32 field;
	__u64 v;

	memset(q, 0, sizeof(*q));
	while (rd_field(&r, &field, &wire, &v, &sub)) {
		struct series *s = &q->series[q->nseries];

		if (field != 1 || wire != 2 || q->nseries == MAX_SERIES) {
			r.bad = true;
			break;
		}
		while (rd_field(&sub, &field, &wire, &v, &sub2)) {
			if (wire != 2 || field < 1 || field > 2)
				sub.bad = true;
			else if (field == 1)
				rd_label_pair(&sub2, s);
			else
				rd_raw_sample(&sub2, s);
			sub.bad |= sub2.bad;
		}
		r.bad |= sub.bad;
		q->nseries++;
	}
	q->bad = r.bad;
	return !r.bad;
}

static void request_free(struct request *q)
{
	for (size_t i = 0; i < q->nseries; i++) {
		struct series *s = &q->series[i];

		for (size_t j = 0; j < s->nlabels; j++) {
			free(s->names[j]);
			free(s->values[j]);
		}
		for (size_t j = 0; j < s->nprofiles; j++) {
			free(s->profiles[j].data);
			free(s->profiles[j].id);
		}
	}
}

static const char *label_of(const struct series *s, const char *name)
{
	for (size_t i = 0; i < s->nlabels; i++)
		if (s->names[i] && !strcmp(s->names[i], name))
			return s->values[i];
	return NULL;
}

/* ---- the profiles in it -------------------------------------------------- */

static unsigned char *gunzip(const unsigned char *in, size_t len, size_t *out_len)
{
	size_t cap = 1 << 16;
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
			out = realloc(out, cap *= 2);
			if (!out)
				break;
		}
		z.next_out = out + z.total_out;
		z.avail_out = (uInt)(cap - z.total_out);
		ret = inflate(&z, Z_NO_FLUSH);
	} while (out && ret == Z_OK);
	*out_len = z.total_out;
	inflateEnd(&z);
	if (!out || ret != Z_STREAM_END) {
		free(out);
		return NULL;
	}
	return out;
}

struct prof {
	size_t nsamples, raw_bytes;
	__u64 count;			/* sum of samples/count */
	__u64 time_nanos, duration_nanos;
	bool has_cid;			/* CID in the string table */
	bool bad;
};

static void read_profile(const struct raw *raw, struct prof *p)
{
	size_t len = 0;
	unsigned char *data = gunzip(raw->data, raw->len, &len);
	struct rd r, sub, sub2;
	unsigned int wire;
	__u32 field;
	__u64 v;

	memset(p, 0, sizeof(*p));
	if (!data) {
		p->bad = true;
		return;
	}
	p->raw_bytes = len;
	r = (struct rd){ data, data + len, false };
	while (rd_field(&r, &field, &wire, &v, &sub)) {
		if (field == 2) {
			p->nsamples++;
			while (rd_field(&sub, &field, &wire, &v, &sub2))
				if (field == 2)	/* packed values: the first is the count */
					p->count += rd_varint(&sub2);
		} else if (field == 6) {
			p->has_cid |= sub.end - sub.p == 64 && !memcmp(sub.p, CID, 64);
		} else if (field == 9) {
			p->time_nanos = v;
		} else if (field == 10) {
			p->duration_nanos = v;
		}
		r.bad |= sub.bad;
	}
	p->bad = r.bad;
	free(data);
}

/* ---- fixtures ------------------------------------------------------------- */

/*
 * Processes: pid 10 in web.service, pid 11 in web.service too, pid 20
 * in a docker container, pid 30 nowhere (its comm names it).
 */
static struct snapshot *make_window(size_t stacks_per_proc)
{
	static const __u32 pids[] = { 10, 11, 20, 30 };
	static const char *const comms[] = { "gunicorn", "gunicorn", "worker", "cron\xff" };
	struct agg *a = agg__new();

	for (size_t i = 0; i < 4; i++) {
		__u32 proc = agg__intern_proc(a, pids[i], comms[i]);

		if (i < 2)
			agg__set_proc_origin(a, proc, "web", NULL);
		else if (i == 2)
			agg__set_proc_origin(a, proc, "docker/0123456789ab", CID);
		for (size_t j = 0; j < stacks_per_proc; j++) {
			__u32 ids[3];

			ids[0] = agg__intern_frame(a, "<module>", "/app/main.py", 1, 3);
			ids[1] = agg__intern_frame(a, "handle", "/app/main.py", 10, 12);
			/* One distinct leaf per stack: each is a Sample of its own. */
			ids[2] = agg__intern_frame(a, "leaf", "/app/main.py", 20, 21 + (int)j);
			agg__add_stack(a, proc, pids[i], "MainThread", ids, 3, 0, 1 + j % 3);
		}
	}
	return snapshot__new(a, START, DURATION, 19, "host-a");
}

/* samples/count of every stack of process @i in make_window(@n). */
static __u64 expected_count(size_t n)
{
	__u64 sum = 0;

	for (size_t j = 0; j < n; j++)
		sum += 1 + j % 3;
	return sum;
}

static bool encode(struct snapshot *s, const struct push_request_opts *o, struct push_request *r,
		   struct request *q)
{
	if (push_request__encode(s, o, r))
		return false;
	return read_request(r->body, r->len, q);
}

/* ---- tests ------------------------------------------------------------------- */

static void test_series_and_labels(void)
{
	static const struct label labels[] = { { "env", "prod" }, { "team", "a" } };
	struct push_request_opts o = { .labels = labels, .nlabels = 2, .hostname = "host-b" };
	struct snapshot *s = make_window(4);
	struct push_request r;
	struct request q;

	CHECK(encode(s, &o, &r, &q));
	CHECK_EQ_INT(q.nseries, 3);
	CHECK_EQ_INT(r.nseries, 3);
	CHECK_EQ_INT(r.nprofiles, 3);
	/* Sorted by service: the container, the comm (made UTF-8), the unit. */
	CHECK_EQ_STR(label_of(&q.series[0], "service_name"), "cron\xef\xbf\xbd");
	CHECK_EQ_STR(label_of(&q.series[1], "service_name"), "docker/0123456789ab");
	CHECK_EQ_STR(label_of(&q.series[2], "service_name"), "web");
	for (size_t i = 0; i < q.nseries; i++) {
		const struct series *se = &q.series[i];
		struct prof p;

		CHECK_EQ_INT(se->nlabels, 5);
		CHECK_EQ_STR(label_of(se, "__name__"), "process_cpu");
		CHECK_EQ_STR(label_of(se, "hostname"), "host-b");
		CHECK_EQ_STR(label_of(se, "env"), "prod");
		CHECK_EQ_STR(label_of(se, "team"), "a");
		/* Sorted by name, as Pyroscope keeps them. */
		for (size_t j = 1; j < se->nlabels; j++)
			CHECK(strcmp(se->names[j - 1], se->names[j]) < 0);
		CHECK_EQ_INT(se->nprofiles, 1);
		read_profile(&se->profiles[0], &p);
		CHECK(!p.bad);
		CHECK_EQ_INT(p.time_nanos, START);
		CHECK_EQ_INT(p.duration_nanos, DURATION);
		/* web holds two processes' stacks, merged into one profile. */
		CHECK_EQ_INT(p.nsamples, i == 2 ? 8 : 4);
		CHECK_EQ_INT(p.count, (i == 2 ? 2 : 1) * expected_count(4));
		CHECK(p.has_cid == (i == 1));
		/* A version 4 UUID, for the server to keep. */
		CHECK(se->profiles[0].id && strlen(se->profiles[0].id) == 36 &&
		      se->profiles[0].id[14] == '4');
	}
	CHECK(strcmp(q.series[0].profiles[0].id, q.series[1].profiles[0].id));
	request_free(&q);
	push_request__free(&r);
	snapshot__put(s);
}

static void test_service_name_label_wins(void)
{
	static const struct label labels[] = { { "service_name", "billing" } };
	struct push_request_opts o = { .labels = labels, .nlabels = 1 };
	struct snapshot *s = make_window(2);
	struct push_request r;
	struct request q;
	struct prof p;

	CHECK(encode(s, &o, &r, &q));
	CHECK_EQ_INT(q.nseries, 1);
	CHECK_EQ_STR(label_of(&q.series[0], "service_name"), "billing");
	/* Given once, not twice; the snapshot's hostname without one of ours. */
	CHECK_EQ_INT(q.series[0].nlabels, 3);
	CHECK_EQ_STR(label_of(&q.series[0], "hostname"), "host-a");
	read_profile(&q.series[0].profiles[0], &p);
	CHECK_EQ_INT(p.nsamples, 8);
	CHECK_EQ_INT(p.count, 4 * expected_count(2));
	request_free(&q);
	push_request__free(&r);
	snapshot__put(s);
}

/* Every profile within both limits, and no count lost or doubled. */
static void check_split(const struct request *q, size_t max_samples, size_t max_bytes,
			size_t stacks)
{
	for (size_t i = 0; i < q->nseries; i++) {
		const struct series *se = &q->series[i];
		size_t nsamples = 0;
		__u64 count = 0;

		for (size_t j = 0; j < se->nprofiles; j++) {
			struct prof p;

			read_profile(&se->profiles[j], &p);
			CHECK(!p.bad);
			CHECK(p.nsamples <= max_samples);
			CHECK(p.raw_bytes <= max_bytes);
			CHECK_EQ_INT(p.time_nanos, START);
			CHECK_EQ_INT(p.duration_nanos, DURATION);
			nsamples += p.nsamples;
			count += p.count;
		}
		CHECK_EQ_INT(nsamples, (i == 2 ? 2 : 1) * stacks);
		CHECK_EQ_INT(count, (i == 2 ? 2 : 1) * expected_count(stacks));
	}
}

static void test_split_by_samples(void)
{
	struct push_request_opts o = { .max_samples = 7 };
	struct snapshot *s = make_window(20);
	struct push_request r;
	struct request q;

	CHECK(encode(s, &o, &r, &q));
	CHECK_EQ_INT(q.nseries, 3);
	/* 20 stacks: 3 profiles of at most 7; web's 40: 6. */
	CHECK_EQ_INT(q.series[0].nprofiles, 3);
	CHECK_EQ_INT(q.series[2].nprofiles, 6);
	CHECK_EQ_INT(r.nprofiles, 12);
	CHECK_EQ_INT(r.nsamples, 80);
	check_split(&q, 7, PUSH_MAX_PROFILE_BYTES, 20);
	request_free(&q);
	push_request__free(&r);
	snapshot__put(s);
}

static void test_split_by_bytes(void)
{
	struct push_request_opts o = { .max_bytes = 2000 };
	struct snapshot *s = make_window(60);
	struct push_request r;
	struct request q;

	CHECK(encode(s, &o, &r, &q));
	CHECK_EQ_INT(q.nseries, 3);
	CHECK(q.series[2].nprofiles > 1);
	CHECK_EQ_INT(r.dropped_stacks, 0);
	check_split(&q, PUSH_MAX_PROFILE_SAMPLES, 2000, 60);
	request_free(&q);
	push_request__free(&r);
	snapshot__put(s);
}

/* A stack too big for any profile is left out, not the window. */
static void test_stack_over_limit(void)
{
	struct push_request_opts o = { .max_bytes = 100 };
	struct snapshot *s = make_window(1);
	struct push_request r;

	CHECK_EQ_INT(push_request__encode(s, &o, &r), 0);
	CHECK_EQ_INT(r.nseries, 0);
	CHECK_EQ_INT(r.dropped_stacks, 4);
	CHECK_EQ_INT(r.len, 0);
	push_request__free(&r);
	snapshot__put(s);
}

static void test_empty(void)
{
	struct push_request_opts o = { 0 };
	struct snapshot *s = snapshot__new(agg__new(), START, DURATION, 19, "h");
	struct push_request r;

	CHECK_EQ_INT(push_request__encode(s, &o, &r), 0);
	CHECK_EQ_INT(r.nseries, 0);
	CHECK_EQ_INT(r.len, 0);
	CHECK(r.body != NULL);
	push_request__free(&r);
	o.json = true;
	CHECK_EQ_INT(push_request__encode(s, &o, &r), 0);
	CHECK_EQ_STR((const char *)r.body, "{\"series\":[]}");
	push_request__free(&r);
	snapshot__put(s);
}

/* Standard base64 (RFC 4648), padding required. */
static unsigned char *unbase64(const char *s, size_t n, size_t *out_len)
{
	unsigned char *out = malloc(n / 4 * 3 + 1);
	size_t o = 0;

	if (n % 4)
		goto bad;
	for (size_t i = 0; i < n; i += 4) {
		__u32 v = 0;
		int pad = 0;

		for (size_t j = 0; j < 4; j++) {
			const char *t = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
			const char *c = s[i + j] == '=' ? NULL : strchr(t, s[i + j]);

			if (s[i + j] == '=')
				pad++;
			else if (!c || !s[i + j] || pad)
				goto bad;
			v = v << 6 | (c ? (__u32)(c - t) : 0);
		}
		out[o++] = v >> 16;
		if (pad < 2)
			out[o++] = (v >> 8) & 255;
		if (pad < 1)
			out[o++] = v & 255;
	}
	*out_len = o;
	return out;
bad:
	free(out);
	return NULL;
}

/* The JSON form: the same series, labels and profiles, byte for byte. */
static void test_json(void)
{
	static const char head[] =
		"{\"series\":[{\"labels\":[{\"name\":\"__name__\",\"value\":\"process_cpu\"},";
	struct push_request_opts o = { .max_samples = 3 };
	struct snapshot *s = make_window(5);
	struct push_request r, rj;
	struct request q;
	const char *p;
	size_t n = 0;

	CHECK(encode(s, &o, &r, &q));
	o.json = true;
	CHECK_EQ_INT(push_request__encode(s, &o, &rj), 0);
	CHECK_EQ_INT(rj.nprofiles, r.nprofiles);
	CHECK(rj.len > 0 && ((char *)rj.body)[rj.len] == '\0');
	CHECK(!strncmp(rj.body, head, strlen(head)));
	CHECK(strstr(rj.body, "{\"name\":\"service_name\",\"value\":\"cron\xef\xbf\xbd\"}"));
	for (p = rj.body; (p = strstr(p, "\"rawProfile\":\"")); n++) {
		const char *end;
		unsigned char *bytes;
		size_t len = 0, si = 0, k = n;

		p += strlen("\"rawProfile\":\"");
		end = strchr(p, '"');
		bytes = unbase64(p, end - p, &len);
		/* The n-th profile of the proto form, series by series. */
		while (si < q.nseries && k >= q.series[si].nprofiles)
			k -= q.series[si++].nprofiles;
		CHECK(bytes && si < q.nseries);
		if (bytes && si < q.nseries) {
			CHECK_EQ_INT(len, q.series[si].profiles[k].len);
			CHECK(!memcmp(bytes, q.series[si].profiles[k].data, len));
		}
		CHECK(!strncmp(end, "\",\"ID\":\"", 8));
		free(bytes);
	}
	CHECK_EQ_INT(n, r.nprofiles);
	request_free(&q);
	push_request__free(&r);
	push_request__free(&rj);
	snapshot__put(s);
}

/* A wall-mode window is Pyroscope's "wall" profile, not process_cpu. */
static void test_wall(void)
{
	struct push_request_opts o = { 0 };
	struct snapshot *s = make_window(2);
	struct push_request r;
	struct request q;

	s->wall = true;
	CHECK(encode(s, &o, &r, &q));
	CHECK_EQ_INT(q.nseries, 3);
	for (size_t i = 0; i < q.nseries; i++)
		CHECK_EQ_STR(label_of(&q.series[i], "__name__"), "wall");
	request_free(&q);
	push_request__free(&r);
	snapshot__put(s);
}

/* A deadline already past: given up before the first profile. */
static void test_cancelled(void)
{
	_Atomic __u64 past = 1, none = 0;
	struct push_request_opts o = { .abort_at_ns = &past };
	struct snapshot *s = make_window(2);
	struct push_request r;

	CHECK_EQ_INT(push_request__encode(s, &o, &r), -ECANCELED);
	CHECK(r.body == NULL && r.len == 0);
	o.abort_at_ns = &none;
	CHECK_EQ_INT(push_request__encode(s, &o, &r), 0);
	CHECK_EQ_INT(r.nseries, 3);
	push_request__free(&r);
	snapshot__put(s);
}

int main(void)
{
	test_series_and_labels();
	test_service_name_label_wins();
	test_split_by_samples();
	test_split_by_bytes();
	test_stack_over_limit();
	test_empty();
	test_json();
	test_cancelled();
	test_wall();
	return unit_report("test_push_request");
}
