// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of short file names (user/profile/shorten.c): each rule of
 * shorten.h on the paths it is for, files that would share a name told
 * apart, and the copy keeping every stack and count.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "aggregate.h"
#include "shorten.h"
#include "unit.h"

/* The short name of the frame of @qualname in @a (the first such). */
static const char *file_of(const struct agg *a, const char *qualname)
{
	for (size_t i = 0; i < agg__nr_frames(a); i++) {
		const struct agg_frame *fr = agg__frame(a, (__u32)i);

		if (!strcmp(fr->qualname, qualname))
			return fr->file;
	}
	return "(none)";
}

/* A stack of <module> in @script, then one frame of @qualname in @file. */
static void add(struct agg *a, __u32 proc, const char *script, const char *qualname,
		const char *file, unsigned int flags, __u64 count)
{
	__u32 ids[2] = {
		agg__intern_frame(a, "<module>", script, 1, 3),
		agg__intern_frame(a, qualname, file, 10, 12),
	};

	agg__add_stack(a, proc, 1, NULL, ids, 2, flags, count);
}

static void test_rules(void)
{
	struct agg *a = agg__new(), *s;
	__u32 p = agg__intern_proc(a, 1, "app"), q = agg__intern_proc(a, 2, "tool");

	add(a, p, "/srv/app/main.py", "raw_decode", "/usr/lib/python3.11/json/decoder.py", 0, 1);
	add(a, p, "/srv/app/main.py", "get",
	    "/srv/venv/lib/python3.12/site-packages/requests/api.py", 0, 2);
	add(a, p, "/srv/app/main.py", "Cache.open", "/usr/lib/python3/dist-packages/apt/cache.py",
	    0, 3);
	add(a, p, "/srv/app/main.py", "fspath", "/opt/py/lib64/python3.13t/os.py", 0, 4);
	add(a, p, "/srv/app/main.py", "view", "/srv/app/pkg/views.py", 0, 5);
	add(a, p, "/srv/app/main.py", "_load", "<frozen importlib._bootstrap>", 0, 6);
	add(a, p, "/srv/app/main.py", "[off-CPU: read]", "", 0, 7);
	add(a, p, "/srv/app/main.py", "elsewhere", "/opt/lib/util.py", 0, 8);
	add(a, p, "/srv/app/main.py", "not_stdlib", "/home/u/python3.11/x.py", 0, 9);
	/* A truncated stack's root-most <module> is no main script. */
	add(a, q, "/var/imported/mod.py", "deep", "/var/imported/deep.py", AGG_STACK_TRUNCATED, 10);

	s = shorten__apply(a);
	CHECK(s);
	CHECK_EQ_STR(file_of(s, "raw_decode"), "json/decoder.py");
	CHECK_EQ_STR(file_of(s, "get"), "requests/api.py");
	CHECK_EQ_STR(file_of(s, "Cache.open"), "apt/cache.py");
	CHECK_EQ_STR(file_of(s, "fspath"), "os.py");
	CHECK_EQ_STR(file_of(s, "view"), "pkg/views.py");
	CHECK_EQ_STR(file_of(s, "<module>"), "main.py");
	CHECK_EQ_STR(file_of(s, "_load"), "<frozen importlib._bootstrap>");
	CHECK_EQ_STR(file_of(s, "[off-CPU: read]"), "");
	CHECK_EQ_STR(file_of(s, "elsewhere"), "/opt/lib/util.py");
	CHECK_EQ_STR(file_of(s, "not_stdlib"), "/home/u/python3.11/x.py");
	CHECK_EQ_STR(file_of(s, "deep"), "/var/imported/deep.py");
	/* Everything else as it was. */
	CHECK_EQ_INT(agg__total_samples(s), agg__total_samples(a));
	CHECK_EQ_INT(agg__nr_stacks(s), agg__nr_stacks(a));
	CHECK_EQ_INT(agg__nr_frames(s), agg__nr_frames(a));
	CHECK_EQ_INT(agg__proc(s, 1)->pid, 2);
	agg__free(s);
	agg__free(a);
}

static void test_unique(void)
{
	struct agg *a = agg__new(), *s;
	__u32 p = agg__intern_proc(a, 1, "a"), q = agg__intern_proc(a, 2, "b");
	__u32 r = agg__intern_proc(a, 3, "c");

	/* Two main scripts called work.py, and a relative work.py. */
	add(a, p, "/srv/x/work.py", "f", "/srv/x/util.py", 0, 1);
	add(a, q, "/srv/y/work.py", "g", "/srv/y/util.py", 0, 1);
	add(a, r, "/tmp/work.py", "h", "work.py", 0, 1);
	s = shorten__apply(a);
	CHECK(s);
	CHECK_EQ_STR(file_of(s, "f"), "x/util.py");
	CHECK_EQ_STR(file_of(s, "g"), "y/util.py");
	CHECK_EQ_STR(file_of(s, "h"), "work.py");
	for (size_t i = 0; i < agg__nr_frames(s); i++) {
		const struct agg_frame *fr = agg__frame(s, (__u32)i);

		if (strcmp(fr->qualname, "<module>"))
			continue;
		/* x/work.py, y/work.py, tmp/work.py: all differ from each other and "work.py". */
		CHECK(strcmp(fr->file, "work.py"));
		CHECK(!strcmp(fr->file, "x/work.py") || !strcmp(fr->file, "y/work.py") ||
		      !strcmp(fr->file, "tmp/work.py"));
	}
	/* Every distinct file keeps a distinct name. */
	CHECK_EQ_INT(agg__nr_frames(s), agg__nr_frames(a));
	agg__free(s);
	agg__free(a);
}

int main(void)
{
	test_rules();
	test_unique();
	return unit_report("test_shorten");
}
