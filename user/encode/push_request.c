// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A window becomes one request: its processes are grouped by service,
 * each group's stacks are copied into an aggregation of their own and
 * written as gzip pprof by the same writer as the files and scrapes, so
 * every backend sees the same profile. A group too big for one profile
 * is cut into runs of stacks: each agg stack is at most one pprof Sample,
 * so runs of max_samples stacks always pass the sample limit; a run over
 * the byte limit is cut again, in proportion to its size. A group's
 * stacks are sorted by their frames first, so that a run holds stacks
 * that share frames: the profiles it is cut into repeat few functions.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include "array.h"
#include "json_writer.h"
#include "output.h"
#include "protobuf.h"
#include "push_request.h"
#include "utf8.h"

/* push.proto and types.proto field numbers. */
enum {
	PUSH_REQUEST_SERIES = 1,

	SERIES_LABELS = 1,
	SERIES_SAMPLES = 2,

	LABEL_PAIR_NAME = 1,
	LABEL_PAIR_VALUE = 2,

	RAW_SAMPLE_RAW_PROFILE = 1,
	RAW_SAMPLE_ID = 2,
};

/* __name__: Pyroscope's CPU profile, or wall time as Alloy's wall profiles. */
#define PROFILE_NAME_CPU "process_cpu"
#define PROFILE_NAME_WALL "wall"
#define UUID_LEN 36

struct group {
	const char *name;		/* the service_name value, sanitized */
	struct agg_stack *stacks;	/* in the window's order */
	size_t nstacks, cap;
};

/* An id of the window's agg seen in the current profile's agg, or not. */
struct id_map {
	__u32 gen;
	__u32 id;
};

struct enc {
	const struct snapshot *s;
	const struct push_request_opts *o;
	struct push_request *r;
	size_t max_samples, max_bytes;
	struct label *labels;		/* one series' labels, sorted */
	size_t nlabels;
	struct group *groups;
	size_t ngroups;
	__u32 *group_of;		/* proc id -> group */
	struct id_map *frame_map, *proc_map;
	__u32 gen;
	__u32 *ids;			/* one stack's frame ids, re-interned */
	size_t ids_cap;
	/* proto: the request and the series being built; json: the text. */
	struct pb req, series, tmp;
	FILE *json;
	char *json_buf;
	size_t json_len;
	size_t series_profiles;
};

static const char *label_value(const struct push_request_opts *o, const char *name)
{
	for (size_t i = 0; i < o->nlabels; i++)
		if (!strcmp(o->labels[i].name, name))
			return o->labels[i].value;
	return NULL;
}

const char *push_request__service(const struct agg_proc *p, const struct push_request_opts *o)
{
	const char *v = label_value(o, "service_name");

	if (v)
		return v;
	if (p->service && *p->service)
		return p->service;
	if (p->comm && *p->comm)
		return p->comm;
	/* Pyroscope's own name for a series without one. */
	return "unknown_service";
}

/* ---- grouping --------------------------------------------------------- */

static int name_cmp(const void *a, const void *b, void *ctx)
{
	const char *const *names = ctx;
	int c = strcmp(names[*(const __u32 *)a], names[*(const __u32 *)b]);

	/* Equal names: by proc id, so the order is the same on every run. */
	return c ? c : (*(const __u32 *)a > *(const __u32 *)b) -
		       (*(const __u32 *)a < *(const __u32 *)b);
}

/* One group per distinct service name, sorted by name. */
static int enc__group_procs(struct enc *e)
{
	const struct agg *a = e->s->agg;
	size_t nprocs = agg__nr_procs(a);
	const char **names;
	__u32 *order;
	int err = -ENOMEM;

	names = calloc(nprocs + 1, sizeof(*names));
	order = calloc(nprocs + 1, sizeof(*order));
	e->group_of = calloc(nprocs + 1, sizeof(*e->group_of));
	e->groups = calloc(nprocs + 1, sizeof(*e->groups));
	if (!names || !order || !e->group_of || !e->groups)
		goto out;
	for (size_t i = 0; i < nprocs; i++) {
		names[i] = push_request__service(agg__proc(a, (__u32)i), e->o);
		order[i] = (__u32)i;
	}
	qsort_r(order, nprocs, sizeof(*order), name_cmp, names);
	for (size_t i = 0; i < nprocs; i++) {
		const char *name = names[order[i]];

		if (!e->ngroups || strcmp(name, names[order[i - 1]])) {
			/* Label values must be UTF-8: a comm need not be. */
			e->groups[e->ngroups].name = utf8__sanitize(name, strlen(name));
			if (!e->groups[e->ngroups].name)
				goto out;
			e->ngroups++;
		}
		e->group_of[order[i]] = (__u32)(e->ngroups - 1);
	}
	err = 0;
out:
	free(names);
	free(order);
	return err;
}

static int enc__collect(const struct agg_stack *s, void *ctx)
{
	struct enc *e = ctx;
	struct group *g = &e->groups[e->group_of[s->proc_id]];

	/* The copy points into the window's agg, which is immutable. */
	if (array__reserve((void **)&g->stacks, &g->cap, g->nstacks + 1, sizeof(*g->stacks)))
		return -ENOMEM;
	g->stacks[g->nstacks++] = *s;
	return 0;
}

/* By frame ids, root first, then by thread: neighbours share frames. */
static int stack_cmp(const void *pa, const void *pb)
{
	const struct agg_stack *a = pa, *b = pb;
	size_t n = a->nframes < b->nframes ? a->nframes : b->nframes;

	for (size_t i = 0; i < n; i++)
		if (a->frame_ids[i] != b->frame_ids[i])
			return a->frame_ids[i] < b->frame_ids[i] ? -1 : 1;
	if (a->nframes != b->nframes)
		return a->nframes < b->nframes ? -1 : 1;
	if (a->proc_id != b->proc_id)
		return a->proc_id < b->proc_id ? -1 : 1;
	return (a->tid > b->tid) - (a->tid < b->tid);
}

static bool enc__cancelled(const struct enc *e)
{
	__u64 at = e->o->abort_at_ns ? atomic_load(e->o->abort_at_ns) : 0;
	struct timespec ts;

	if (!at)
		return false;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec >= at;
}

/* ---- one profile --------------------------------------------------------- */

static __u32 enc__frame(struct enc *e, struct agg *sub, __u32 id)
{
	struct id_map *m = &e->frame_map[id];
	const struct agg_frame *fr;

	if (m->gen == e->gen)
		return m->id;
	fr = agg__frame(e->s->agg, id);
	if (!fr)
		return (__u32)-1;
	m->id = agg__intern_frame(sub, fr->qualname, fr->file, fr->first_line, fr->line);
	m->gen = e->gen;
	return m->id;
}

static __u32 enc__proc(struct enc *e, struct agg *sub, __u32 id)
{
	struct id_map *m = &e->proc_map[id];
	const struct agg_proc *p = agg__proc(e->s->agg, id);

	if (m->gen == e->gen)
		return m->id;
	m->id = agg__intern_proc(sub, p->pid, p->comm);
	if (m->id != (__u32)-1 && agg__set_proc_origin(sub, m->id, p->service, p->container_id))
		m->id = (__u32)-1;
	m->gen = e->gen;
	return m->id;
}

/* The aggregation of @n stacks: a profile of its own. NULL: no memory. */
static struct agg *enc__sub_agg(struct enc *e, const struct agg_stack *st, size_t n)
{
	struct agg *sub = agg__new();

	if (!sub)
		return NULL;
	e->gen++;
	for (size_t i = 0; i < n; i++) {
		const struct agg_stack *s = &st[i];
		__u32 proc;

		if (array__reserve((void **)&e->ids, &e->ids_cap, s->nframes + 1, sizeof(*e->ids)))
			goto err_free;
		for (size_t j = 0; j < s->nframes; j++) {
			e->ids[j] = enc__frame(e, sub, s->frame_ids[j]);
			if (e->ids[j] == (__u32)-1)
				goto err_free;
		}
		proc = enc__proc(e, sub, s->proc_id);
		if (proc == (__u32)-1 ||
		    agg__add_stack(sub, proc, s->tid, s->thread_name, e->ids, s->nframes, s->flags,
				   s->count))
			goto err_free;
	}
	return sub;
err_free:
	agg__free(sub);
	return NULL;
}

struct profile {
	char *data;		/* gzip pprof */
	size_t len;
	size_t raw_bytes;	/* uncompressed */
	size_t nsamples;
};

static int enc__profile(struct enc *e, const struct agg_stack *st, size_t n, struct profile *p)
{
	struct output_meta m = {
		.duration_s = e->s->duration_ns / 1e9,
		.frequency_hz = e->s->frequency,
		.start_unix_ns = e->s->start_unix_ns,
		.hostname = e->s->hostname,
		.backend_labels = true,
		.wall = e->s->wall,
		.raw_bytes = &p->raw_bytes,
		.nsamples = &p->nsamples,
	};
	struct agg *sub = enc__sub_agg(e, st, n);
	FILE *f;
	int err;

	memset(p, 0, sizeof(*p));
	if (!sub)
		return -ENOMEM;
	f = open_memstream(&p->data, &p->len);
	if (!f) {
		agg__free(sub);
		return -ENOMEM;
	}
	err = output_pprof__write(sub, &m, f);
	if (fclose(f) && !err)
		err = -ENOMEM;
	agg__free(sub);
	if (err) {
		free(p->data);
		p->data = NULL;
	}
	return err;
}

/* ---- the request ------------------------------------------------------------ */

/* A version 4 UUID: Pyroscope keeps an ID it is given, the same on every retry. */
static void make_uuid(char out[UUID_LEN + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char b[16];
	size_t o = 0;

	if (getrandom(b, sizeof(b), 0) != sizeof(b)) {
		out[0] = '\0';
		return;
	}
	b[6] = (b[6] & 0x0f) | 0x40;
	b[8] = (b[8] & 0x3f) | 0x80;
	for (int i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[b[i] >> 4];
		out[o++] = hex[b[i] & 15];
	}
	out[o] = '\0';
}

static int base64_write(FILE *f, const unsigned char *p, size_t n)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char buf[4096];
	size_t o = 0;

	for (size_t i = 0; i < n; i += 3) {
		__u32 v = (__u32)p[i] << 16 | (i + 1 < n ? (__u32)p[i + 1] << 8 : 0) |
			  (i + 2 < n ? p[i + 2] : 0);

		buf[o++] = tab[v >> 18];
		buf[o++] = tab[(v >> 12) & 63];
		buf[o++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		buf[o++] = i + 2 < n ? tab[v & 63] : '=';
		if (o > sizeof(buf) - 4) {
			if (fwrite(buf, 1, o, f) != o)
				return -EIO;
			o = 0;
		}
	}
	return fwrite(buf, 1, o, f) == o ? 0 : -EIO;
}

static int label_cmp(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name, ((const struct label *)b)->name);
}

/* __name__, service_name, hostname and the --label pairs, sorted by name. */
static void enc__labels(struct enc *e, const char *service)
{
	const char *host = e->o->hostname && *e->o->hostname ? e->o->hostname : e->s->hostname;

	e->nlabels = 0;
	e->labels[e->nlabels++] = (struct label){
		"__name__", e->s->wall ? PROFILE_NAME_WALL : PROFILE_NAME_CPU };
	e->labels[e->nlabels++] = (struct label){ "service_name", service };
	if (host && *host)
		e->labels[e->nlabels++] = (struct label){ "hostname", host };
	for (size_t i = 0; i < e->o->nlabels; i++)
		if (strcmp(e->o->labels[i].name, "service_name"))
			e->labels[e->nlabels++] = e->o->labels[i];
	qsort(e->labels, e->nlabels, sizeof(*e->labels), label_cmp);
}

/* The series' opening and labels, written with its first profile. */
static int enc__begin_series(struct enc *e)
{
	if (e->json) {
		fputs(e->r->nseries ? ",{\"labels\":[" : "{\"labels\":[", e->json);
		for (size_t i = 0; i < e->nlabels; i++) {
			fputs(i ? ",{\"name\":" : "{\"name\":", e->json);
			json__str(e->json, e->labels[i].name);
			fputs(",\"value\":", e->json);
			json__str(e->json, e->labels[i].value);
			fputc('}', e->json);
		}
		fputs("],\"samples\":[", e->json);
		return ferror(e->json) ? -ENOMEM : 0;
	}
	pb__reset(&e->series);
	for (size_t i = 0; i < e->nlabels; i++) {
		pb__reset(&e->tmp);
		pb__bytes_field(&e->tmp, LABEL_PAIR_NAME, e->labels[i].name,
				strlen(e->labels[i].name));
		pb__bytes_field(&e->tmp, LABEL_PAIR_VALUE, e->labels[i].value,
				strlen(e->labels[i].value));
		pb__msg_field(&e->series, SERIES_LABELS, &e->tmp);
	}
	return pb__err(&e->series);
}

static int enc__add_profile(struct enc *e, const struct profile *p)
{
	char id[UUID_LEN + 1];
	int err;

	if (!e->series_profiles) {
		err = enc__begin_series(e);
		if (err)
			return err;
	}
	make_uuid(id);
	e->r->nprofiles++;
	e->r->nsamples += p->nsamples;
	e->r->raw_bytes += p->raw_bytes;
	if (e->json) {
		fputs(e->series_profiles++ ? ",{\"rawProfile\":\"" : "{\"rawProfile\":\"", e->json);
		if (base64_write(e->json, (const unsigned char *)p->data, p->len))
			return -ENOMEM;
		fputc('"', e->json);
		if (*id)
			fprintf(e->json, ",\"ID\":\"%s\"", id);
		fputc('}', e->json);
		return ferror(e->json) ? -ENOMEM : 0;
	}
	e->series_profiles++;
	pb__reset(&e->tmp);
	pb__bytes_field(&e->tmp, RAW_SAMPLE_RAW_PROFILE, p->data, p->len);
	if (*id)
		pb__bytes_field(&e->tmp, RAW_SAMPLE_ID, id, UUID_LEN);
	pb__msg_field(&e->series, SERIES_SAMPLES, &e->tmp);
	return pb__err(&e->series);
}

static int enc__end_series(struct enc *e)
{
	e->r->nseries++;
	if (e->json) {
		fputs("]}", e->json);
		return ferror(e->json) ? -ENOMEM : 0;
	}
	pb__msg_field(&e->req, PUSH_REQUEST_SERIES, &e->series);
	return pb__err(&e->req);
}

/* Stacks @st[0..n) as one profile or, over a limit, as several. */
static int enc__put_stacks(struct enc *e, const struct agg_stack *st, size_t n)
{
	struct profile p;
	size_t parts;
	int err;

	if (n > e->max_samples) {
		parts = (n + e->max_samples - 1) / e->max_samples;
		goto split;
	}
	if (enc__cancelled(e))
		return -ECANCELED;
	err = enc__profile(e, st, n, &p);
	if (err)
		return err;
	if (p.raw_bytes <= e->max_bytes) {
		err = enc__add_profile(e, &p);
		free(p.data);
		return err;
	}
	free(p.data);
	if (n == 1) {
		/* Deeper or longer-named than any real stack; the rest still goes. */
		e->r->dropped_stacks++;
		return 0;
	}
	parts = p.raw_bytes / e->max_bytes + 1;
split:
	if (parts > n)
		parts = n;
	for (size_t i = 0; i < parts; i++) {
		size_t lo = n * i / parts, hi = n * (i + 1) / parts;

		err = enc__put_stacks(e, st + lo, hi - lo);
		if (err)
			return err;
	}
	return 0;
}

static int enc__series(struct enc *e, const struct group *g)
{
	int err;

	enc__labels(e, g->name);
	e->series_profiles = 0;
	qsort(g->stacks, g->nstacks, sizeof(*g->stacks), stack_cmp);
	err = enc__put_stacks(e, g->stacks, g->nstacks);
	if (err)
		return err;
	/* Every stack of it over the limit: no series rather than an empty one. */
	if (!e->series_profiles)
		return 0;
	return enc__end_series(e);
}

static int enc__run(struct enc *e)
{
	const struct agg *a = e->s->agg;
	int err;

	e->labels = calloc(e->o->nlabels + 3, sizeof(*e->labels));
	e->frame_map = calloc(agg__nr_frames(a) + 1, sizeof(*e->frame_map));
	e->proc_map = calloc(agg__nr_procs(a) + 1, sizeof(*e->proc_map));
	if (!e->labels || !e->frame_map || !e->proc_map)
		return -ENOMEM;
	err = enc__group_procs(e);
	if (!err)
		err = agg__for_each_stack(a, enc__collect, e);
	if (err)
		return err < 0 ? err : -ENOMEM;
	if (e->o->json) {
		e->json = open_memstream(&e->json_buf, &e->json_len);
		if (!e->json)
			return -ENOMEM;
		fputs("{\"series\":[", e->json);
	}
	for (size_t i = 0; i < e->ngroups; i++) {
		if (!e->groups[i].nstacks)
			continue;
		err = enc__series(e, &e->groups[i]);
		if (err)
			return err;
	}
	if (e->json) {
		fputs("]}", e->json);
		err = fclose(e->json) ? -ENOMEM : 0;
		e->json = NULL;
		if (err)
			return err;
		e->r->body = e->json_buf;
		e->r->len = e->json_len;
		e->json_buf = NULL;
		return 0;
	}
	err = pb__err(&e->req);
	if (err)
		return err;
	/* An empty PushRequest is zero bytes: give it a buffer all the same. */
	e->r->body = e->req.data ? e->req.data : calloc(1, 1);
	e->r->len = e->req.len;
	e->req.data = NULL;
	return e->r->body ? 0 : -ENOMEM;
}

int push_request__encode(const struct snapshot *s, const struct push_request_opts *o,
			 struct push_request *r)
{
	struct enc e = {
		.s = s, .o = o, .r = r,
		.max_samples = o->max_samples ? o->max_samples : PUSH_MAX_PROFILE_SAMPLES,
		.max_bytes = o->max_bytes ? o->max_bytes : PUSH_MAX_PROFILE_BYTES,
	};
	int err;

	memset(r, 0, sizeof(*r));
	if (!s || !s->agg || !s->frequency)
		return -EINVAL;
	err = enc__run(&e);
	if (e.json)
		fclose(e.json);
	free(e.json_buf);
	for (size_t i = 0; i < e.ngroups; i++) {
		free((char *)e.groups[i].name);
		free(e.groups[i].stacks);
	}
	free(e.groups);
	free(e.group_of);
	free(e.frame_map);
	free(e.proc_map);
	free(e.labels);
	free(e.ids);
	pb__free(&e.req);
	pb__free(&e.series);
	pb__free(&e.tmp);
	if (err)
		push_request__free(r);
	return err;
}

void push_request__free(struct push_request *r)
{
	free(r->body);
	memset(r, 0, sizeof(*r));
}
