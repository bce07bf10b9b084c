// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the sample aggregation (user/aggregate.c): interning, stack
 * counting, per-function own/total (recursion counted once), ordering,
 * and a load of 1M samples over 50k distinct deep stacks.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/types.h>

#include "aggregate.h"
#include "unit.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* xorshift64*: deterministic, so a failure reproduces. */
static __u64 rng_state = 0x9e3779b97f4a7c15ULL;

static __u64 rng(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static void test_free_null(void)
{
	agg__free(NULL);
	CHECK_EQ_INT(agg__total_samples(NULL), 0);
	CHECK_EQ_INT(agg__nr_stacks(NULL), 0);
	CHECK(agg__frame(NULL, 0) == NULL);
}

static void test_intern_frames(void)
{
	struct agg *a = agg__new();
	char name[16] = "compute", file[32] = "/tmp/w.py";
	const struct agg_frame *fr;
	__u32 f1, f2, f3, f4, f5, f6;

	CHECK(a != NULL);
	f1 = agg__intern_frame(a, name, file, 10, 12);
	f2 = agg__intern_frame(a, "compute", "/tmp/w.py", 10, 12);
	CHECK_EQ_INT(f1, f2);
	/* Another line of the same function: new frame, same function. */
	f3 = agg__intern_frame(a, "compute", "/tmp/w.py", 10, 13);
	CHECK(f3 != f1);
	CHECK_EQ_INT(agg__frame(a, f3)->func_id, agg__frame(a, f1)->func_id);
	/* Same name elsewhere, or redefined at another line: another function. */
	f4 = agg__intern_frame(a, "compute", "/tmp/v.py", 10, 12);
	f5 = agg__intern_frame(a, "compute", "/tmp/w.py", 30, 12);
	CHECK(f4 != f1 && f5 != f1 && f4 != f5);
	CHECK(agg__frame(a, f4)->func_id != agg__frame(a, f1)->func_id);
	CHECK(agg__frame(a, f5)->func_id != agg__frame(a, f1)->func_id);
	CHECK(agg__frame(a, f5)->func_id != agg__frame(a, f4)->func_id);
	/* Every unknown line is the same frame. */
	f6 = agg__intern_frame(a, "compute", "/tmp/w.py", 10, -1);
	CHECK_EQ_INT(agg__intern_frame(a, "compute", "/tmp/w.py", 10, -7), f6);
	CHECK_EQ_INT(agg__frame(a, f6)->line, -1);

	/* The agg keeps its own copies of the strings. */
	strcpy(name, "clobbered");
	strcpy(file, "/elsewhere.py");
	fr = agg__frame(a, f1);
	CHECK_EQ_STR(fr->qualname, "compute");
	CHECK_EQ_STR(fr->file, "/tmp/w.py");
	CHECK_EQ_INT(fr->first_line, 10);
	CHECK_EQ_INT(fr->line, 12);
	CHECK(agg__intern_frame(a, name, file, 10, 12) != f1);

	CHECK(agg__frame(a, 1000) == NULL);
	/* NULL names are a caller bug, but must not reach a writer. */
	fr = agg__frame(a, agg__intern_frame(a, NULL, NULL, 0, -1));
	CHECK(fr && fr->qualname && fr->file);
	agg__free(a);
}

static void test_intern_procs(void)
{
	struct agg *a = agg__new();
	char comm[16] = "python3";
	__u32 p1, p2, p3, p4;

	p1 = agg__intern_proc(a, 100, comm);
	p2 = agg__intern_proc(a, 100, "python3");
	CHECK_EQ_INT(p1, p2);
	p3 = agg__intern_proc(a, 100, "worker");	/* exec */
	p4 = agg__intern_proc(a, 101, "python3");
	CHECK(p3 != p1 && p4 != p1 && p4 != p3);
	CHECK_EQ_INT(agg__nr_procs(a), 3);
	strcpy(comm, "xx");
	CHECK_EQ_STR(agg__proc(a, p1)->comm, "python3");
	CHECK_EQ_INT(agg__proc(a, p4)->pid, 101);
	CHECK(agg__proc(a, 3) == NULL);
	agg__free(a);
}

struct collected {
	size_t n;
	struct agg_stack s[8];
	__u32 ids[8][8];
	int stop_after;
};

static int collect(const struct agg_stack *s, void *ctx)
{
	struct collected *c = ctx;

	if (c->n < 8) {
		c->s[c->n] = *s;
		memcpy(c->ids[c->n], s->frame_ids, (s->nframes < 8 ? s->nframes : 8) * 4);
	}
	c->n++;
	return c->stop_after && (int)c->n >= c->stop_after ? 42 : 0;
}

static void test_stacks(void)
{
	struct agg *a = agg__new();
	struct collected c = {};
	char tname[16] = "MainThread";
	__u32 p, f[3], bad[2];

	p = agg__intern_proc(a, 7, "python3");
	f[0] = agg__intern_frame(a, "<module>", "/w.py", 1, 40);
	f[1] = agg__intern_frame(a, "main", "/w.py", 30, 35);
	f[2] = agg__intern_frame(a, "work", "/w.py", 10, 12);

	CHECK_EQ_INT(agg__add_stack(a, p, 7, tname, f, 3, 0, 2), 0);
	strcpy(tname, "renamed");
	CHECK_EQ_INT(agg__add_stack(a, p, 7, tname, f, 3, 0, 3), 0);
	CHECK_EQ_INT(agg__add_stack(a, p, 8, NULL, f, 3, 0, 1), 0);	/* other thread */
	CHECK_EQ_INT(agg__add_stack(a, p, 7, NULL, f, 2, 0, 1), 0);	/* shorter */
	CHECK_EQ_INT(agg__add_stack(a, p, 7, NULL, f, 3, AGG_STACK_TRUNCATED, 1), 0);
	CHECK_EQ_INT(agg__add_stack(a, p, 8, "late", f, 3, 0, 1), 0);	/* name arrives */
	CHECK_EQ_INT(agg__add_stack(a, p, 9, NULL, NULL, 0, 0, 4), 0);	/* no frames */
	CHECK_EQ_INT(agg__add_stack(a, p, 9, NULL, f, 3, 0, 0), 0);	/* nothing */

	/* Bad input is refused and changes nothing. */
	bad[0] = f[0];
	bad[1] = 999;
	CHECK_EQ_INT(agg__add_stack(a, p, 7, NULL, bad, 2, 0, 1), -EINVAL);
	CHECK_EQ_INT(agg__add_stack(a, p + 5, 7, NULL, f, 3, 0, 1), -EINVAL);
	CHECK_EQ_INT(agg__add_stack(a, p, 7, NULL, NULL, 2, 0, 1), -EINVAL);
	CHECK_EQ_INT(agg__add_stack(NULL, p, 7, NULL, f, 3, 0, 1), -EINVAL);

	CHECK_EQ_INT(agg__nr_stacks(a), 5);
	CHECK_EQ_INT(agg__total_samples(a), 13);

	CHECK_EQ_INT(agg__for_each_stack(a, collect, &c), 0);
	CHECK_EQ_INT(c.n, 5);
	/* Insertion order, counts summed per key. */
	CHECK_EQ_INT(c.s[0].tid, 7);
	CHECK_EQ_INT(c.s[0].count, 5);
	CHECK_EQ_INT(c.s[0].nframes, 3);
	CHECK(c.ids[0][0] == f[0] && c.ids[0][1] == f[1] && c.ids[0][2] == f[2]);
	CHECK_EQ_STR(c.s[0].thread_name, "MainThread");
	CHECK_EQ_INT(c.s[1].tid, 8);
	CHECK_EQ_INT(c.s[1].count, 2);
	CHECK_EQ_STR(c.s[1].thread_name, "late");
	CHECK_EQ_INT(c.s[2].nframes, 2);
	CHECK_EQ_INT(c.s[3].flags, AGG_STACK_TRUNCATED);
	CHECK_EQ_INT(c.s[3].count, 1);
	CHECK_EQ_INT(c.s[4].nframes, 0);
	CHECK_EQ_INT(c.s[4].count, 4);
	CHECK(c.s[4].thread_name == NULL);

	/* A non-zero return stops the walk and is passed through. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	CHECK_EQ_INT(agg__for_each_stack(a, collect, &c), 42);
	CHECK_EQ_INT(c.n, 2);
	agg__free(a);
}

/* A stack counted again where it is (a parked thread's): the same as counted anew. */
static void test_stack_refs(void)
{
	struct agg *a = agg__new(), *b = agg__new();
	struct collected c = {};
	__u32 p, f[2], r1, r2, r3;

	CHECK(agg__serial(a) != 0 && agg__serial(b) != 0 && agg__serial(a) != agg__serial(b));
	CHECK_EQ_INT(agg__serial(NULL), 0);
	p = agg__intern_proc(a, 7, "python3");
	f[0] = agg__intern_frame(a, "<module>", "/w.py", 1, 40);
	f[1] = agg__intern_frame(a, "wait", "/w.py", 10, 12);

	/* A new stack, then one found: each says where it is. */
	CHECK_EQ_INT(agg__add_stack_ref(a, p, 7, "T", f, 2, 0, 3, &r1), 0);
	CHECK_EQ_INT(agg__add_stack_ref(a, p, 8, NULL, f, 1, 0, 1, &r2), 0);
	CHECK_EQ_INT(agg__add_stack_ref(a, p, 7, NULL, f, 2, 0, 2, &r3), 0);
	CHECK(r1 != r2);
	CHECK_EQ_INT(r3, r1);
	/* Nothing counted, nowhere to say. */
	CHECK_EQ_INT(agg__add_stack_ref(a, p, 7, NULL, f, 2, 0, 0, &r3), 0);
	CHECK_EQ_INT(r3, (__u32)-1);

	CHECK_EQ_INT(agg__add_at(a, r1, 10), 0);
	CHECK_EQ_INT(agg__add_at(a, r2, 4), 0);
	/* Refs outside the pool are refused and change nothing. */
	CHECK_EQ_INT(agg__add_at(a, (__u32)-1, 1), -EINVAL);
	CHECK_EQ_INT(agg__add_at(a, 1u << 30, 1), -EINVAL);
	CHECK_EQ_INT(agg__add_at(NULL, r1, 1), -EINVAL);
	CHECK_EQ_INT(agg__add_at(b, r1, 1), -EINVAL);	/* b is empty */

	CHECK_EQ_INT(agg__nr_stacks(a), 2);
	CHECK_EQ_INT(agg__total_samples(a), 20);
	CHECK_EQ_INT(agg__for_each_stack(a, collect, &c), 0);
	CHECK_EQ_INT(c.n, 2);
	CHECK_EQ_INT(c.s[0].count, 15);
	CHECK_EQ_STR(c.s[0].thread_name, "T");
	CHECK_EQ_INT(c.s[1].count, 5);
	agg__free(a);
	agg__free(b);
}

static const struct agg_func *find_func(const struct agg_func *fs, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(fs[i].qualname, name))
			return &fs[i];
	}
	return NULL;
}

static void test_functions(void)
{
	struct agg *a = agg__new();
	const struct agg_func *fn;
	struct agg_func *fs;
	__u32 p, m, f1, f2, f3, g, st[5];
	size_t n = 99;

	/* Empty: a valid, empty array. */
	fs = agg__functions(a, &n);
	CHECK(fs != NULL);
	CHECK_EQ_INT(n, 0);
	free(fs);

	p = agg__intern_proc(a, 1, "python3");
	m = agg__intern_frame(a, "main", "/w.py", 1, 5);
	f1 = agg__intern_frame(a, "f", "/w.py", 10, 11);
	f2 = agg__intern_frame(a, "f", "/w.py", 10, 12);
	f3 = agg__intern_frame(a, "f", "/w.py", 10, 13);
	g = agg__intern_frame(a, "g", "/w.py", 20, 21);
	agg__intern_frame(a, "never_sampled", "/w.py", 90, 91);

	/* main -> f -> f -> f (recursion at different lines), 3 samples */
	st[0] = m, st[1] = f1, st[2] = f2, st[3] = f3;
	agg__add_stack(a, p, 1, NULL, st, 4, 0, 3);
	/* main -> f -> g -> f: f is leaf and appears twice */
	st[0] = m, st[1] = f1, st[2] = g, st[3] = f2;
	agg__add_stack(a, p, 1, NULL, st, 4, 0, 1);
	/* main -> g, 2 samples; and main -> f -> g, 2 samples in another thread */
	st[0] = m, st[1] = g;
	agg__add_stack(a, p, 1, NULL, st, 2, 0, 2);
	st[0] = m, st[1] = f1, st[2] = g;
	agg__add_stack(a, p, 2, NULL, st, 3, 0, 2);
	/* no frames: counts in the total, in no function */
	agg__add_stack(a, p, 3, NULL, NULL, 0, 0, 2);

	CHECK_EQ_INT(agg__total_samples(a), 10);
	fs = agg__functions(a, &n);
	CHECK(fs != NULL);
	CHECK_EQ_INT(n, 3);	/* never_sampled left out */
	fn = find_func(fs, n, "f");
	CHECK(fn && fn->own == 4 && fn->total == 6 && fn->first_line == 10);
	fn = find_func(fs, n, "g");
	CHECK(fn && fn->own == 4 && fn->total == 5);
	fn = find_func(fs, n, "main");
	CHECK(fn && fn->own == 0 && fn->total == 8);
	CHECK_EQ_STR(fn ? fn->file : NULL, "/w.py");
	/* Ties on own broken by total; then by main's zero own. */
	CHECK_EQ_STR(fs[0].qualname, "f");
	CHECK_EQ_STR(fs[1].qualname, "g");
	CHECK_EQ_STR(fs[2].qualname, "main");
	free(fs);
	agg__free(a);
}

static void test_sort_ties(void)
{
	struct agg *a = agg__new();
	/* Same counts everywhere: order by name, then file, then first line. */
	static const struct { const char *q, *file; int first; } defs[] = {
		{ "b", "/a.py", 1 }, { "a", "/b.py", 1 }, { "a", "/a.py", 7 },
		{ "a", "/a.py", 3 }, { "c", "/a.py", 1 },
	};
	static const int want[] = { 3, 2, 1, 0, 4 };
	struct agg_func *fs;
	__u32 p = agg__intern_proc(a, 1, "x");
	size_t n;

	for (size_t i = 0; i < 5; i++) {
		__u32 id = agg__intern_frame(a, defs[i].q, defs[i].file, defs[i].first, 1);

		agg__add_stack(a, p, 1, NULL, &id, 1, 0, 5);
	}
	fs = agg__functions(a, &n);
	CHECK_EQ_INT(n, 5);
	for (size_t i = 0; fs && i < n && i < 5; i++) {
		CHECK_EQ_STR(fs[i].qualname, defs[want[i]].q);
		CHECK_EQ_STR(fs[i].file, defs[want[i]].file);
		CHECK_EQ_INT(fs[i].first_line, defs[want[i]].first);
	}
	free(fs);
	agg__free(a);
}

#define LOAD_FRAMES 2000
#define LOAD_STACKS 50000
#define LOAD_ADDS 1000000
#define LOAD_MAXDEPTH 60

static void test_load(void)
{
	struct agg *a = agg__new();
	__u32 *stacks, *expect, fids[LOAD_FRAMES], p[4];
	struct agg_func *fs;
	size_t n, nstacks_ok = 0;
	__u64 own_sum = 0;
	double t0, t_intern, t_add;
	char q[32], file[32];
	bool same = true;

	stacks = malloc((size_t)LOAD_STACKS * LOAD_MAXDEPTH * sizeof(*stacks));
	expect = calloc(LOAD_STACKS, sizeof(*expect));
	if (!stacks || !expect) {
		CHECK(!"out of memory");
		goto out;
	}

	t0 = now_s();
	for (int i = 0; i < LOAD_FRAMES; i++) {
		snprintf(q, sizeof(q), "func_%d", i / 4);
		snprintf(file, sizeof(file), "/src/mod_%d.py", i / 40);
		fids[i] = agg__intern_frame(a, q, file, i / 4 * 10, i % 4);
	}
	for (int i = 0; i < LOAD_FRAMES; i++) {
		snprintf(q, sizeof(q), "func_%d", i / 4);
		snprintf(file, sizeof(file), "/src/mod_%d.py", i / 40);
		same &= agg__intern_frame(a, q, file, i / 4 * 10, i % 4) == fids[i];
	}
	t_intern = now_s() - t0;
	CHECK(same);
	for (int i = 0; i < 4; i++)
		p[i] = agg__intern_proc(a, 1000 + i, "python3");

	/* Depth 40..60, ~50 on average; the first two frames make each distinct. */
	for (size_t i = 0; i < LOAD_STACKS; i++) {
		__u32 *s = stacks + i * LOAD_MAXDEPTH;

		s[0] = fids[i % LOAD_FRAMES];
		s[1] = fids[i / LOAD_FRAMES];
		for (size_t j = 2; j < LOAD_MAXDEPTH; j++)
			s[j] = fids[rng() % LOAD_FRAMES];
	}

	t0 = now_s();
	for (size_t k = 0; k < LOAD_ADDS; k++) {
		size_t i = rng() % LOAD_STACKS;

		if (!agg__add_stack(a, p[i % 4], 1000 + i % 4, NULL, stacks + i * LOAD_MAXDEPTH,
				    40 + i % 21, 0, 1))
			expect[i]++;
	}
	t_add = now_s() - t0;
	fprintf(stderr, "aggregate: %d frame interns: %.3f s; %d adds over %zu stacks: %.3f s\n",
		2 * LOAD_FRAMES, t_intern, LOAD_ADDS, agg__nr_stacks(a), t_add);

	CHECK_EQ_INT(agg__total_samples(a), LOAD_ADDS);
	for (size_t i = 0; i < LOAD_STACKS; i++)
		nstacks_ok += expect[i] != 0;
	CHECK_EQ_INT(agg__nr_stacks(a), nstacks_ok);

	fs = agg__functions(a, &n);
	CHECK(fs != NULL);
	for (size_t i = 0; fs && i < n; i++) {
		own_sum += fs[i].own;
		if (i && (fs[i].own > fs[i - 1].own ||
			  (fs[i].own == fs[i - 1].own && fs[i].total > fs[i - 1].total)))
			CHECK(!"functions out of order");
		if (fs[i].total > LOAD_ADDS || fs[i].own > fs[i].total)
			CHECK(!"impossible function counts");
	}
	CHECK_EQ_INT(own_sum, LOAD_ADDS);
	free(fs);
out:
	free(stacks);
	free(expect);
	agg__free(a);
}

/* Interning must stay O(1): 200k distinct frames, then look each up again. */
static void test_many_frames(void)
{
	struct agg *a = agg__new();
	enum { N = 200000 };
	__u32 *ids = malloc(N * sizeof(*ids));
	bool ok = true;
	char q[32];
	double t0;

	if (!ids) {
		CHECK(!"out of memory");
		agg__free(a);
		return;
	}
	t0 = now_s();
	for (int i = 0; i < N; i++) {
		snprintf(q, sizeof(q), "f%d", i % 50000);
		ids[i] = agg__intern_frame(a, q, "/big.py", i % 50000, i / 50000);
		ok &= ids[i] == (__u32)i;
	}
	for (int i = 0; i < N; i++) {
		snprintf(q, sizeof(q), "f%d", i % 50000);
		ok &= agg__intern_frame(a, q, "/big.py", i % 50000, i / 50000) == ids[i];
	}
	fprintf(stderr, "aggregate: %d frame interns: %.3f s\n", 2 * N, now_s() - t0);
	CHECK(ok);
	CHECK(agg__frame(a, N - 1) != NULL && agg__frame(a, N) == NULL);
	CHECK_EQ_INT(agg__frame(a, ids[N - 1])->func_id, agg__frame(a, ids[49999])->func_id);
	free(ids);
	agg__free(a);
}

int main(void)
{
	test_free_null();
	test_intern_frames();
	test_intern_procs();
	test_stacks();
	test_stack_refs();
	test_functions();
	test_sort_ties();
	test_load();
	test_many_frames();
	return unit_report("aggregate");
}
