// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the flame graph writer (user/output_svg.c): the tree and its
 * layout, escaping of hostile names, --threads, leaving out frames
 * narrower than the minimum width, empty profiles and write errors.
 *
 * With arguments it writes an SVG for the browser tests instead:
 *	test_svg --big FILE [NSTACKS]	a synthetic profile (50000 stacks)
 *	test_svg --hostile FILE		names full of markup and bad bytes
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "aggregate.h"
#include "output.h"
#include "unit.h"

static const struct output_meta meta = {
	.duration_s = 2.5, .frequency_hz = 99, .hostname = "testhost",
	.start_unix_ns = 1700000000ULL * 1000000000ULL,
};

static char *render(const struct agg *a, const struct output_meta *m, int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	*err = output_svg__write(a, m, f);
	fclose(f);
	return buf;
}

static size_t count_of(const char *hay, const char *needle)
{
	size_t n = 0;

	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/*
 * The first <rect> drawn with @label (as escaped in the file), found
 * through the label list: data-l is the label's line in it. NULL if none.
 */
static const char *frame_of(const char *svg, const char *label)
{
	const char *list = strstr(svg, "<metadata id=\"labels\">"), *end, *p;
	size_t len = strlen(label);
	char key[32];
	int idx = 0;

	if (!list)
		return NULL;
	p = list + strlen("<metadata id=\"labels\">");
	end = strstr(p, "</metadata>");
	while (p && p < end) {
		const char *nl = memchr(p, '\n', end - p);
		const char *eol = nl ? nl : end;

		if ((size_t)(eol - p) == len && !memcmp(p, label, len))
			break;
		idx++;
		p = nl ? nl + 1 : NULL;
	}
	if (!p || p >= end)
		return NULL;
	snprintf(key, sizeof(key), " data-l=\"%d\"", idx);
	p = strstr(svg, key);
	if (!p || p > list)
		return NULL;
	while (p > svg && strncmp(p, "<rect ", 6))
		p--;
	return p;
}

static long long attr_of(const char *elem, const char *name)
{
	char key[64];
	const char *p, *end;

	if (!elem)
		return -1;
	end = strchr(elem, '>');
	snprintf(key, sizeof(key), " %s=\"", name);
	p = strstr(elem, key);
	return p && p < end ? atoll(p + strlen(key)) : -1;
}

/* Strict UTF-8, and no character that XML 1.0 rejects. */
static bool valid_xml_chars(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;

	while (*p) {
		unsigned int c = *p, cp, n;

		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n')
				return false;
			p++;
			continue;
		}
		n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc2 ? 2 : 0;
		if (!n || c > 0xf4)
			return false;
		cp = c & (0x7f >> n);
		for (unsigned int i = 1; i < n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe || cp == 0xffff)
			return false;
		p += n;
	}
	return true;
}

static void test_layout(void)
{
	struct agg *a = agg__new();
	__u32 p = agg__intern_proc(a, 100, "python3");
	__u32 mod = agg__intern_frame(a, "<module>", "app.py", 1, 9);
	__u32 b = agg__intern_frame(a, "beta", "app.py", 3, 4);
	__u32 al = agg__intern_frame(a, "alpha", "app.py", 5, 6);
	__u32 s1[] = { mod, b }, s2[] = { mod, al }, s3[] = { mod };
	const char *g_all, *g_proc, *g_mod, *g_alpha, *g_beta;
	char *out;
	int err = -1;

	agg__add_stack(a, p, 100, NULL, s1, 2, 0, 30);
	agg__add_stack(a, p, 100, NULL, s2, 2, 0, 10);
	agg__add_stack(a, p, 100, NULL, s3, 1, 0, 60);
	out = render(a, &meta, &err);
	CHECK_EQ_INT(err, 0);
	CHECK(out && !strncmp(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"", 36));
	CHECK(out && strstr(out, ">pybpfprof: testhost, 2.5 s at 99.0 Hz, 100 samples</text>"));
	CHECK(out && strstr(out, "started 2023-11-14 22:13:20 UTC, 1 process, 3 stacks<"));
	CHECK(out && strstr(out, "data-total=\"100\""));
	CHECK(out && count_of(out, "<script") == 1 && count_of(out, "]]>") == 1);
	g_all = out ? frame_of(out, "all") : NULL;
	g_proc = out ? frame_of(out, "python3 (100)") : NULL;
	g_mod = out ? frame_of(out, "&lt;module&gt; (app.py:9)") : NULL;
	g_alpha = out ? frame_of(out, "alpha (app.py:6)") : NULL;
	g_beta = out ? frame_of(out, "beta (app.py:4)") : NULL;
	CHECK(g_all && g_proc && g_mod && g_alpha && g_beta);
	if (g_all && g_proc && g_mod && g_alpha && g_beta) {
		CHECK_EQ_INT(attr_of(g_all, "data-n"), 100);
		CHECK_EQ_INT(attr_of(g_all, "data-d"), 0);
		CHECK_EQ_INT(attr_of(g_mod, "data-n"), 100);
		CHECK_EQ_INT(attr_of(g_mod, "data-d"), 2);
		/* Siblings by label: alpha left of beta, though added later. */
		CHECK_EQ_INT(attr_of(g_alpha, "data-x"), 0);
		CHECK_EQ_INT(attr_of(g_alpha, "data-n"), 10);
		CHECK_EQ_INT(attr_of(g_beta, "data-x"), 10);
		CHECK_EQ_INT(attr_of(g_beta, "data-n"), 30);
		/* The root at the bottom: callers below their callees. */
		CHECK(attr_of(g_all, "y") > attr_of(g_proc, "y"));
		CHECK(attr_of(g_proc, "y") > attr_of(g_mod, "y"));
		CHECK(attr_of(g_mod, "y") > attr_of(g_alpha, "y"));
		CHECK_EQ_INT(attr_of(g_alpha, "y"), attr_of(g_beta, "y"));
		/* The label once, and on the frame as far as it fits. */
		CHECK(strstr(g_beta, "<text x=\"") == strstr(g_beta, ">") + 1);
		CHECK_EQ_INT(count_of(out, "beta (app.py:4)"), 2);
	}
	CHECK(out && valid_xml_chars(out));
	free(out);
	agg__free(a);
}

static const char *fill_of(const char *g)
{
	static char fill[8];
	const char *p = g ? strstr(g, "fill=\"") : NULL;

	if (!p || p > strchr(g, '>'))
		return "";
	memcpy(fill, p + 6, 7);
	fill[7] = '\0';
	return fill;
}

static void test_colours(void)
{
	struct agg *a = agg__new();
	__u32 p = agg__intern_proc(a, 7, "worker");
	__u32 f1 = agg__intern_frame(a, "handle", "h.py", 10, 12);
	__u32 f2 = agg__intern_frame(a, "handle", "h.py", 10, 15);
	__u32 s1[] = { f1 }, s2[] = { f2 };
	char fa[8], fb[8], fp[8];
	char *out;
	int err = -1;

	agg__add_stack(a, p, 7, NULL, s1, 1, AGG_STACK_TRUNCATED, 5);
	agg__add_stack(a, p, 7, NULL, s2, 1, AGG_STACK_TRUNCATED, 5);
	out = render(a, &meta, &err);
	CHECK_EQ_INT(err, 0);
	if (!out)
		goto out;
	/* One colour per function, whatever the line. */
	snprintf(fa, sizeof(fa), "%s", fill_of(frame_of(out, "handle (h.py:12)")));
	snprintf(fb, sizeof(fb), "%s", fill_of(frame_of(out, "handle (h.py:15)")));
	snprintf(fp, sizeof(fp), "%s", fill_of(frame_of(out, "worker (7)")));
	CHECK(fa[0] == '#' && !strcmp(fa, fb));
	/* Warm: more red than blue. Processes: more blue than red. */
	CHECK(strtol((char[]){ fa[1], fa[2], 0 }, NULL, 16) >
	      strtol((char[]){ fa[5], fa[6], 0 }, NULL, 16));
	CHECK(strtol((char[]){ fp[1], fp[2], 0 }, NULL, 16) <
	      strtol((char[]){ fp[5], fp[6], 0 }, NULL, 16));
	CHECK(attr_of(frame_of(out, "[truncated]"), "data-n") == 10);
	CHECK(strstr(frame_of(out, "[truncated]"), " class=\"tr\" ") != NULL);
	CHECK_EQ_STR(fill_of(frame_of(out, "[truncated]")), "#c4c4c4");
out:
	free(out);
	agg__free(a);
}

/* Frame, file, comm and thread names that would be markup, or not XML at all. */
static struct agg *hostile_agg(void)
{
	struct agg *a = agg__new();
	__u32 p = agg__intern_proc(a, 66, "<b>\"&'\xff\x01");
	__u32 f1 = agg__intern_frame(a, "<script>alert(1)</script>;\"&",
				     "]]><script>alert(2)</script>", 1, 2);
	__u32 f2 = agg__intern_frame(a, "<img src=x onerror=alert(3)>\n\r\t\x1b[31m",
				     "a'b\"c&d<e>f\xc2\x85g\xef\xbf\xbe\xed\xa0\x80\xc0\xaf", 3, 4);
	__u32 f3 = agg__intern_frame(a, "&amp;&#x3c;&lt;script&gt;", "<![CDATA[x]]>", 5, -1);
	__u32 f4 = agg__intern_frame(a, "<svg onload=alert(4)>", "<?xml-stylesheet href=x?>", 6, 7);
	__u32 s1[] = { f1, f2, f3 }, s2[] = { f1, f4 };

	agg__add_stack(a, p, 67, "<thread>\"'&\x7f\xc2\x9b", s1, 3, AGG_STACK_TRUNCATED, 40);
	agg__add_stack(a, p, 68, "]]>", s2, 2, 0, 60);
	return a;
}

static void test_hostile(void)
{
	struct output_meta m = meta;
	struct agg *a = hostile_agg();

	m.hostname = "<h>&\"'";
	for (int threads = 0; threads < 2; threads++) {
		char *out;
		int err = -1;

		m.threads = threads;
		out = render(a, &m, &err);
		CHECK_EQ_INT(err, 0);
		CHECK(out != NULL);
		if (!out)
			continue;
		CHECK(valid_xml_chars(out));
		/* Only the writer's own script, and its CDATA section is not cut short. */
		CHECK_EQ_INT(count_of(out, "<script"), 1);
		CHECK_EQ_INT(count_of(out, "]]>"), 1);
		CHECK_EQ_INT(count_of(out, "<img"), 0);
		CHECK_EQ_INT(count_of(out, "<svg"), 1);
		CHECK_EQ_INT(count_of(out, "<![CDATA["), 1);
		CHECK_EQ_INT(count_of(out, "<?"), 1);
		CHECK_EQ_INT(count_of(out, "<b>"), 0);
		CHECK_EQ_INT(count_of(out, "<h>"), 0);
		CHECK(strstr(out, "&lt;script&gt;alert(1)&lt;/script&gt;:&quot;&amp; (]]&gt;"));
		CHECK(strstr(out, "&amp;amp:&amp;#x3c:&amp;lt:script&amp;gt: "
				  "(&lt;![CDATA[x]]&gt;)"));
		CHECK(strstr(out, ">pybpfprof: &lt;h&gt;&amp;&quot;&#39;, ") != NULL);
		/* U+FFFE and a surrogate are replaced; so is the bad byte of comm. */
		CHECK(strstr(out, "\xef\xbf\xbe") == NULL && strstr(out, "\xed\xa0\x80") == NULL);
		CHECK(strstr(out, "&lt;b&gt;&quot;&amp;&#39;\xef\xbf\xbd?") != NULL);
		CHECK_EQ_INT(!!strstr(out, "(tid 67)") + !!strstr(out, "(tid 68)"),
			     threads ? 2 : 0);
		free(out);
	}
	agg__free(a);
}

static void test_threads(void)
{
	struct output_meta m = meta;
	struct agg *a = agg__new();
	__u32 p = agg__intern_proc(a, 5, "py");
	__u32 fr = agg__intern_frame(a, "run", "r.py", 1, 2);
	__u32 s[] = { fr };
	char *out;
	int err = -1;

	agg__add_stack(a, p, 5, "MainThread", s, 1, 0, 3);
	agg__add_stack(a, p, 6, "worker", s, 1, 0, 4);
	out = render(a, &m, &err);
	CHECK_EQ_INT(err, 0);
	/* Without --threads the two stacks are one: all, process, run. */
	CHECK(out && count_of(out, "<rect data-") == 3);
	CHECK(out && attr_of(frame_of(out, "run (r.py:2)"), "data-n") == 7);
	free(out);

	m.threads = true;
	out = render(a, &m, &err);
	CHECK_EQ_INT(err, 0);
	CHECK(out && count_of(out, "<rect data-") == 6);
	CHECK(out && attr_of(frame_of(out, "MainThread (tid 5)"), "data-n") == 3);
	CHECK(out && attr_of(frame_of(out, "worker (tid 6)"), "data-x") == 3);
	CHECK(out && attr_of(frame_of(out, "worker (tid 6)"), "data-d") == 2);
	free(out);
	agg__free(a);
}

static void test_min_width(void)
{
	struct agg *a = agg__new();
	__u32 p = agg__intern_proc(a, 9, "py");
	__u32 big = agg__intern_frame(a, "big", "b.py", 1, 1);
	__u32 s[2] = { big, 0 };
	char *out, name[32];
	int err = -1;

	agg__add_stack(a, p, 9, NULL, s, 1, 0, 1000000);
	/* 1 sample in 1000100 is 0.0012 px: none of these is drawn. */
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "tiny%d", i);
		s[1] = agg__intern_frame(a, name, "t.py", i, i);
		agg__add_stack(a, p, 9, NULL, s, 2, 0, 1);
	}
	out = render(a, &meta, &err);
	CHECK_EQ_INT(err, 0);
	CHECK(out && count_of(out, "<rect data-") == 3);
	CHECK(out && !strstr(out, "tiny"));
	CHECK(out && strstr(out, ", 100 frames under 0.1 px not drawn<"));
	/* Their samples stay in the parent's width. */
	CHECK(out && attr_of(frame_of(out, "big (b.py:1)"), "data-n") == 1000100);
	free(out);
	agg__free(a);
}

static void test_empty(void)
{
	struct agg *a = agg__new();
	char *out;
	int err = -1;

	out = render(a, NULL, &err);
	CHECK_EQ_INT(err, 0);
	CHECK(out && strstr(out, ">No samples</text>"));
	CHECK(out && count_of(out, "<rect data-") == 0);
	CHECK(out && strstr(out, "</svg>\n"));
	free(out);
	agg__free(a);
}

static void test_write_errors(void)
{
	struct agg *a = hostile_agg();
	FILE *f;

	f = fopen("/dev/full", "w");
	CHECK(f != NULL);
	if (f) {
		CHECK_EQ_INT(output_svg__write(a, &meta, f), -EIO);
		fclose(f);
	}
	CHECK_EQ_INT(output_svg__write(NULL, &meta, stdout), -EINVAL);
	agg__free(a);
}

/* xorshift64*: the same synthetic profile on every run. */
static __u64 rnd(__u64 *s)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 0x2545f4914f6cdd1dULL;
}

/*
 * @nstacks distinct stacks like a busy server's: 8 processes, 3000
 * functions in 200 files, depth 6..45, each stack sharing a prefix with
 * an earlier one, counts from 1 to a few thousand (most of them small).
 */
static struct agg *big_agg(size_t nstacks)
{
	enum { NPROCS = 8, NFUNCS = 3000, MAX_DEPTH = 45 };
	struct agg *a = agg__new();
	__u32 procs[NPROCS], (*prev)[MAX_DEPTH] = calloc(nstacks, sizeof(*prev));
	size_t *prev_len = calloc(nstacks, sizeof(*prev_len));
	__u64 seed = 0x5eed;
	char name[64], file[64];

	if (!a || !prev || !prev_len)
		goto fail;
	for (int i = 0; i < NPROCS; i++) {
		snprintf(name, sizeof(name), "python3.12");
		procs[i] = agg__intern_proc(a, 1000 + i, name);
	}
	for (size_t n = 0, tries = 0; agg__nr_stacks(a) < nstacks && tries < 4 * nstacks; tries++) {
		__u32 *ids = prev[n];
		size_t depth = 6 + rnd(&seed) % (MAX_DEPTH - 5), keep = 0;
		__u64 r = rnd(&seed), count;

		if (n) {
			size_t from = rnd(&seed) % n;

			keep = rnd(&seed) % (prev_len[from] + 1);
			if (keep > depth)
				keep = depth;
			memcpy(ids, prev[from], keep * sizeof(*ids));
		}
		for (size_t d = keep; d < depth; d++) {
			unsigned int fn = rnd(&seed) % NFUNCS;

			snprintf(name, sizeof(name), "mod%u.Class%u.method_%u", fn % 200, fn % 37,
				 fn);
			snprintf(file, sizeof(file), "/srv/app/pkg%u/module_%u.py", fn % 13,
				 fn % 200);
			ids[d] = agg__intern_frame(a, name, file, (int)fn % 500 + 1,
						   (int)(fn % 500 + 2 + rnd(&seed) % 4));
		}
		count = r % 100 < 3 ? 1 + r % 4000 : 1 + r % 25;
		if (agg__add_stack(a, procs[ids[0] % NPROCS], 1000, NULL, ids, depth, 0, count))
			goto fail;
		prev_len[n] = depth;
		if (agg__nr_stacks(a) > n)
			n++;
	}
	free(prev);
	free(prev_len);
	return a;
fail:
	free(prev);
	free(prev_len);
	agg__free(a);
	return NULL;
}

static int write_file(const char *path, struct agg *a, const struct output_meta *m)
{
	FILE *f = fopen(path, "w");
	int err;

	if (!f || !a) {
		fprintf(stderr, "test_svg: %s: cannot write\n", path);
		if (f)
			fclose(f);
		agg__free(a);
		return 1;
	}
	err = output_svg__write(a, m, f);
	if (fclose(f) && !err)
		err = -EIO;
	fprintf(stderr, "test_svg: %s: %zu stacks, %llu samples: %s\n", path, agg__nr_stacks(a),
		(unsigned long long)agg__total_samples(a), err ? strerror(-err) : "ok");
	agg__free(a);
	return err ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && !strcmp(argv[1], "--big"))
		return write_file(argv[2], big_agg(argc > 3 ? strtoul(argv[3], NULL, 10) : 50000),
				  &meta);
	if (argc >= 3 && !strcmp(argv[1], "--hostile")) {
		struct output_meta m = meta;

		m.threads = true;
		return write_file(argv[2], hostile_agg(), &m);
	}
	test_layout();
	test_colours();
	test_hostile();
	test_threads();
	test_min_width();
	test_empty();
	test_write_errors();
	{
		/* The synthetic profile in memory: the writer's cost and size bound. */
		struct agg *a = big_agg(5000);
		char *out;
		int err = -1;

		CHECK(a && agg__nr_stacks(a) == 5000);
		out = a ? render(a, &meta, &err) : NULL;
		CHECK_EQ_INT(err, 0);
		CHECK(out && valid_xml_chars(out));
		free(out);
		agg__free(a);
	}
	return unit_report("svg");
}
