// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the profile readers (read_folded.c, read_pprof.c) and the
 * diff (diff.c) with its writers: what the folded and pprof writers
 * write reads back as the same stacks, labels split back into their
 * parts, shares and changes are computed as stated, and the same inputs
 * give the same bytes whatever order their stacks came in.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aggregate.h"
#include "diff.h"
#include "output.h"
#include "output_diff.h"
#include "read_profile.h"
#include "unit.h"

typedef int (*write_fn)(const struct agg *a, const struct output_meta *m, FILE *f);

static char *render(write_fn w, const struct agg *a, const struct output_meta *m, size_t *len)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	CHECK_EQ_INT(w(a, m, f), 0);
	fclose(f);
	*len = size;
	return buf;
}

static char *render_diff(int (*w)(const struct diff *, FILE *), const struct diff *d)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	CHECK_EQ_INT(w(d, f), 0);
	fclose(f);
	return buf;
}

/* A small profile: two processes, a truncated stack, a pseudo-frame, a thread. */
static struct agg *sample_profile(bool reversed, __u64 hot)
{
	struct agg *a = agg__new();
	__u32 p1 = agg__intern_proc(a, 100, "app");
	__u32 p2 = agg__intern_proc(a, 200, "worker;x");
	__u32 mod = agg__intern_frame(a, "<module>", "/srv/w.py", 1, 30);
	__u32 main_ = agg__intern_frame(a, "main", "/srv/w.py", 20, 25);
	__u32 hotf = agg__intern_frame(a, "hot", "/srv/my dir (1)/w.py", 8, 10);
	__u32 cold = agg__intern_frame(a, "Cls.cold", "/srv/w.py", 12, 15);
	__u32 off = agg__intern_frame(a, "[off-CPU: read]", "", 0, -1);
	__u32 s1[] = { mod, main_, hotf }, s2[] = { mod, main_, cold }, s3[] = { main_, off };
	unsigned int held = 1u << AGG_STACK_GIL_SHIFT;

	if (!reversed) {
		agg__add_stack(a, p1, 100, NULL, s1, 3, 0, hot);
		agg__add_stack(a, p1, 101, "T1", s2, 3, held, 60);
		agg__add_stack(a, p2, 200, NULL, s3, 2, AGG_STACK_TRUNCATED, 10);
	} else {
		agg__add_stack(a, p2, 200, NULL, s3, 2, AGG_STACK_TRUNCATED, 10);
		agg__add_stack(a, p1, 101, "T1", s2, 3, held, 60);
		agg__add_stack(a, p1, 100, NULL, s1, 3, 0, hot);
	}
	return a;
}

static void test_split_label(void)
{
	char a[] = "Cls.f (/x/my dir (1)/y.py:12)", b[] = "[off-CPU: read]", c[] = "f (y.py)";
	const char *q, *file;
	int line;

	read_folded__split_label(a, &q, &file, &line);
	CHECK_EQ_STR(q, "Cls.f");
	CHECK_EQ_STR(file, "/x/my dir (1)/y.py");
	CHECK_EQ_INT(line, 12);
	read_folded__split_label(b, &q, &file, &line);
	CHECK_EQ_STR(q, "[off-CPU: read]");
	CHECK_EQ_STR(file, "");
	CHECK_EQ_INT(line, -1);
	read_folded__split_label(c, &q, &file, &line);
	CHECK_EQ_STR(file, "y.py");
	CHECK_EQ_INT(line, -1);
}

/* Written, read back, written again: the same text. */
static void test_roundtrip(write_fn w, bool threads)
{
	struct output_meta m = { .frequency_hz = 99, .threads = threads };
	struct agg *a = sample_profile(false, 30), *back = agg__new();
	struct profile_info info = { 0 };
	char why[256] = "", *one, *folded1, *folded2;
	size_t n1, n2;
	int err;

	one = render(w, a, &m, &n1);
	if (w == output_pprof__write)
		err = read_pprof__parse(one, n1, back, &info, why, sizeof(why));
	else
		err = read_folded__parse(one, n1, back, why, sizeof(why));
	if (err)
		fprintf(stderr, "read back: %s\n", why);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_INT(agg__total_samples(back), 100);
	if (w == output_pprof__write)
		CHECK_EQ_STR(info.mode, "cpu");
	folded1 = render(output_folded__write, a, &m, &n1);
	folded2 = render(output_folded__write, back, &m, &n2);
	CHECK_EQ_STR(folded2, folded1);
	free(one);
	free(folded1);
	free(folded2);
	agg__free(a);
	agg__free(back);
}

static void test_bad_inputs(void)
{
	static const char *const bad[] = {
		"app (1);f (w.py:1)\n",			/* no count */
		"f (w.py:1) 5\n",			/* no process */
		"app (1);f (w.py:1) 5 6\n",		/* a diff's output */
		"app (1);;f (w.py:1) 5\n",		/* an empty frame */
		"app (x);f (w.py:1) 5\n",
	};
	char why[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct agg *a = agg__new();

		CHECK_EQ_INT(read_folded__parse(bad[i], strlen(bad[i]), a, why, sizeof(why)),
			     -EINVAL);
		CHECK(!strncmp(why, "line 1: ", 8));
		agg__free(a);
	}
}

static void test_diff_numbers(void)
{
	struct diff_opts o = { .names = { "a", "b" } };
	struct agg *base = sample_profile(false, 30), *new = sample_profile(true, 130);
	struct diff *d = diff__new(base, new, &o);
	const struct diff_func *fn;
	size_t n;

	CHECK(d);
	CHECK_EQ_INT(diff__total(d, DIFF_BASE), 100);
	CHECK_EQ_INT(diff__total(d, DIFF_NEW), 200);
	fn = diff__functions(d, &n);
	/* hot: 30% -> 65%; cold: 60% -> 30%; the pseudo-frame 10% -> 5%. */
	CHECK_EQ_STR(fn[0].label, "hot (/srv/my dir (1)/w.py)");
	CHECK(fn[0].own_delta > 34.99 && fn[0].own_delta < 35.01);
	CHECK_EQ_STR(fn[1].label, "Cls.cold (/srv/w.py)");
	CHECK(fn[1].total_delta > -30.01 && fn[1].total_delta < -29.99);
	/* Processes by comm: one "app" stack for both of its threads' stacks. */
	CHECK_EQ_INT(diff__nr_stacks(d), 3);
	CHECK_EQ_STR(diff__stack(d, 0)->root, "app");
	CHECK_EQ_STR(diff__stack(d, 2)->root, "worker:x");
	CHECK(diff__stack(d, 2)->truncated);
	/* Widths: the mean of the shares, as integers that add up. */
	CHECK_EQ_INT(diff__width(d, 100, 200), 2 * diff__width(d, 50, 100));
	CHECK_EQ_INT(diff__width(d, 30, 0) * 2, diff__width(d, 0, 60) * 2);
	diff__free(d);

	o.raw = true;
	d = diff__new(base, new, &o);
	fn = diff__functions(d, &n);
	/* Raw: over BASE's 100: hot 30 -> 130. */
	CHECK(fn[0].own_delta > 99.99 && fn[0].own_delta < 100.01);
	diff__free(d);
	agg__free(base);
	agg__free(new);
}

/* Stacks in another order, the same bytes out. */
static void test_deterministic(void)
{
	struct diff_opts o = { .names = { "a", "b" } };
	struct agg *b1 = sample_profile(false, 30), *n1 = sample_profile(true, 90);
	struct agg *b2 = sample_profile(true, 30), *n2 = sample_profile(false, 90);
	struct diff *d1 = diff__new(b1, n1, &o), *d2 = diff__new(b2, n2, &o);
	int (*writers[])(const struct diff *, FILE *) = {
		output_diff_table__write, output_diff_folded__write, output_diff_svg__write,
	};

	for (size_t i = 0; i < 3; i++) {
		char *x = render_diff(writers[i], d1), *y = render_diff(writers[i], d2);

		CHECK(x && y && !strcmp(x, y));
		free(x);
		free(y);
	}
	diff__free(d1);
	diff__free(d2);
	agg__free(b1);
	agg__free(n1);
	agg__free(b2);
	agg__free(n2);
}

int main(void)
{
	test_split_label();
	test_roundtrip(output_folded__write, false);
	test_roundtrip(output_folded__write, true);
	test_roundtrip(output_pprof__write, false);
	test_roundtrip(output_pprof__write, true);
	test_bad_inputs();
	test_diff_numbers();
	test_deterministic();
	return unit_report("test_diff");
}
