// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the profile writers (user/output_*.c): exact folded and
 * table text, sanitizing of names and comm, the truncated marker,
 * merging of lines that print alike, frame labels, write errors, and
 * that every folded line parses with flamegraph.pl's grammar.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "aggregate.h"
#include "output.h"
#include "unit.h"

static const struct output_meta meta = { .duration_s = 1.0, .frequency_hz = 99 };

enum writer { FOLDED, TABLE };

/* The writer's output as a malloc'd string; *@err gets its return value. */
static char *render(const struct agg *a, enum writer w, int *err)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	*err = w == FOLDED ? output_folded__write(a, &meta, f) : output_table__write(a, &meta, f);
	fclose(f);
	return buf;
}

/*
 * flamegraph.pl reads each line with /^(.*)\s+?(\d+(?:\.\d*)?)$/: the
 * count is the digits after the last run of whitespace, the stack is
 * everything before. Returns false when a line does not match.
 */
static bool parse_folded_line(const char *line, size_t len, char *stack, size_t size,
			      unsigned long long *count)
{
	size_t end = len, digits;

	while (end > 0 && line[end - 1] >= '0' && line[end - 1] <= '9')
		end--;
	digits = len - end;
	if (!digits || end == 0 || (line[end - 1] != ' ' && line[end - 1] != '\t'))
		return false;
	if (end - 1 >= size)
		return false;
	memcpy(stack, line, end - 1);
	stack[end - 1] = '\0';
	*count = strtoull(line + end, NULL, 10);
	return true;
}

static size_t count_fields(const char *stack)
{
	size_t n = 1;

	for (; *stack; stack++)
		n += *stack == ';';
	return n;
}

/* Every line parses; returns the number of lines and the sum of counts. */
static size_t check_flamegraph_grammar(const char *text, unsigned long long *sum)
{
	size_t nlines = 0;
	char stack[4096];

	*sum = 0;
	while (*text) {
		const char *nl = strchr(text, '\n');
		unsigned long long count;
		size_t len;

		if (!nl) {
			CHECK(!"folded output ends without a newline");
			break;
		}
		len = (size_t)(nl - text);
		CHECK(parse_folded_line(text, len, stack, sizeof(stack), &count));
		CHECK(memchr(text, '\r', len) == NULL);
		*sum += count;
		nlines++;
		text = nl + 1;
	}
	return nlines;
}

static void test_frame_label(void)
{
	struct agg_frame fr = { .qualname = "compute", .file = "/tmp/w.py", .first_line = 10,
				.line = 12 };
	char buf[64], small[8];
	int n;

	n = output__frame_label(&fr, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "compute (/tmp/w.py:12)");
	CHECK_EQ_INT(n, strlen("compute (/tmp/w.py:12)"));
	fr.line = -1;
	output__frame_label(&fr, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "compute (/tmp/w.py)");
	fr.line = 0;
	output__frame_label(&fr, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "compute (/tmp/w.py:0)");

	/* snprintf() semantics: full length back, truncated and terminated. */
	fr.line = 12;
	n = output__frame_label(&fr, small, sizeof(small));
	CHECK_EQ_INT(n, 22);
	CHECK_EQ_STR(small, "compute");
	CHECK_EQ_INT(output__frame_label(&fr, NULL, 0), 22);
	CHECK_EQ_INT(output__frame_label(NULL, buf, sizeof(buf)), -EINVAL);
	CHECK_EQ_INT(output__frame_label(&fr, NULL, 5), -EINVAL);

	/* One field of one line, whatever the program named things. */
	fr.qualname = "a;b\nc\td\re\x1b[31m\x7f";
	fr.file = "/x;y.py";
	output__frame_label(&fr, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "a:b?c?d?e?[31m? (/x:y.py:12)");
	/* C1 controls (U+009B is a CSI) too; other UTF-8 is kept. */
	fr.qualname = "caf\xc3\xa9\xc2\x9b";
	fr.file = "/\xe2\x82\xac.py";
	output__frame_label(&fr, buf, sizeof(buf));
	CHECK_EQ_STR(buf, "caf\xc3\xa9?? (/\xe2\x82\xac.py:12)");
	/* Truncation does not leave half a UTF-8 sequence behind. */
	fr.qualname = "ab\xe2\x82\xac";
	n = output__frame_label(&fr, small, 5);
	CHECK_EQ_STR(small, "ab");
	CHECK_EQ_INT(n, (int)strlen("ab\xe2\x82\xac (/\xe2\x82\xac.py:12)"));
	n = output__frame_label(&fr, small, 6);
	CHECK_EQ_STR(small, "ab\xe2\x82\xac");
}

/* The profile most tests print: a process running w.py. */
struct fixture {
	struct agg *a;
	__u32 proc;
	__u32 main_f, compute_f, helper_f;
};

static void fixture_init(struct fixture *fx)
{
	fx->a = agg__new();
	fx->proc = agg__intern_proc(fx->a, 42, "python3");
	fx->main_f = agg__intern_frame(fx->a, "main", "/tmp/w.py", 1, 5);
	fx->compute_f = agg__intern_frame(fx->a, "compute", "/tmp/w.py", 10, 12);
	fx->helper_f = agg__intern_frame(fx->a, "helper", "/tmp/w.py", 20, -1);
}

static void test_folded_basic(void)
{
	struct fixture fx;
	unsigned long long sum;
	__u32 st[3];
	char *out;
	int err = -1;

	fixture_init(&fx);
	st[0] = fx.main_f, st[1] = fx.compute_f, st[2] = fx.helper_f;
	agg__add_stack(fx.a, fx.proc, 42, NULL, st, 2, 0, 500);
	agg__add_stack(fx.a, fx.proc, 42, NULL, st, 3, 0, 300);
	agg__add_stack(fx.a, fx.proc, 42, NULL, st + 1, 2, AGG_STACK_TRUNCATED, 7);
	agg__add_stack(fx.a, fx.proc, 43, NULL, NULL, 0, 0, 3);
	agg__add_stack(fx.a, fx.proc, 43, NULL, NULL, 0, AGG_STACK_TRUNCATED, 2);

	out = render(fx.a, FOLDED, &err);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_STR(out,
		     "python3 (42);main (/tmp/w.py:5);compute (/tmp/w.py:12) 500\n"
		     "python3 (42);main (/tmp/w.py:5);compute (/tmp/w.py:12);"
		     "helper (/tmp/w.py) 300\n"
		     "python3 (42);[truncated];compute (/tmp/w.py:12);helper (/tmp/w.py) 7\n"
		     "python3 (42) 3\n"
		     "python3 (42);[truncated] 2\n");
	CHECK_EQ_INT(check_flamegraph_grammar(out ? out : "", &sum), 5);
	CHECK_EQ_INT(sum, agg__total_samples(fx.a));
	free(out);
	agg__free(fx.a);
}

static void test_folded_merge(void)
{
	struct agg *a = agg__new();
	__u32 p1, p2, p3, f1, f2, g, st[2];
	unsigned long long sum;
	char *out;
	int err = -1;

	p1 = agg__intern_proc(a, 9, "app;x");
	p2 = agg__intern_proc(a, 9, "app:x");	/* sanitizes to the same label */
	p3 = agg__intern_proc(a, 10, "app:x");
	/* Two functions named f at different first lines print alike. */
	f1 = agg__intern_frame(a, "f", "/m.py", 3, 8);
	f2 = agg__intern_frame(a, "f", "/m.py", 6, 8);
	g = agg__intern_frame(a, "g", "/m.py", 20, 21);

	st[0] = f1, st[1] = g;
	agg__add_stack(a, p1, 9, NULL, st, 2, 0, 1);	/* line A */
	agg__add_stack(a, p3, 10, NULL, st, 2, 0, 4);	/* line B */
	agg__add_stack(a, p1, 11, NULL, st, 2, 0, 2);	/* other thread: A */
	agg__add_stack(a, p1, 9, NULL, st, 1, 0, 8);	/* line C */
	agg__add_stack(a, p2, 9, NULL, st, 2, 0, 16);	/* other proc id, same label: A */
	st[0] = f2;
	agg__add_stack(a, p1, 9, NULL, st, 2, 0, 32);	/* other function, same label: A */
	agg__add_stack(a, p1, 9, NULL, st, 2, AGG_STACK_TRUNCATED, 64);	/* line D */
	CHECK_EQ_INT(agg__nr_stacks(a), 7);

	out = render(a, FOLDED, &err);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_STR(out,
		     "app:x (9);f (/m.py:8);g (/m.py:21) 51\n"
		     "app:x (10);f (/m.py:8);g (/m.py:21) 4\n"
		     "app:x (9);f (/m.py:8) 8\n"
		     "app:x (9);[truncated];f (/m.py:8);g (/m.py:21) 64\n");
	CHECK_EQ_INT(check_flamegraph_grammar(out ? out : "", &sum), 4);
	CHECK_EQ_INT(sum, agg__total_samples(a));
	free(out);
	agg__free(a);
}

static void test_folded_sanitize(void)
{
	struct agg *a = agg__new();
	unsigned long long count;
	char *out, stack[256];
	__u32 p, st[2];
	int err = -1;

	p = agg__intern_proc(a, 7, "we;ird\nco\tmm");
	st[0] = agg__intern_frame(a, "<module>", "/a;b.py", 1, 3);
	st[1] = agg__intern_frame(a, "evil\n1 2\r\x01;x", "/c\td.py", 5, 6);
	agg__add_stack(a, p, 7, NULL, st, 2, 0, 12);

	out = render(a, FOLDED, &err);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_STR(out, "we:ird?co?mm (7);<module> (/a:b.py:3);evil?1 2??:x (/c?d.py:6) 12\n");
	/* One line, the count where flamegraph.pl looks, three fields. */
	CHECK(out && strchr(out, '\n') == out + strlen(out) - 1);
	CHECK(out && parse_folded_line(out, strlen(out) - 1, stack, sizeof(stack), &count));
	CHECK_EQ_INT(count, 12);
	CHECK_EQ_INT(count_fields(stack), 3);
	free(out);
	agg__free(a);
}

static void test_folded_empty(void)
{
	struct agg *a = agg__new();
	char *out;
	int err = -1;

	out = render(a, FOLDED, &err);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_STR(out, "");
	free(out);
	CHECK_EQ_INT(output_folded__write(NULL, &meta, stdout), -EINVAL);
	agg__free(a);
}

static const char table_header[] = " %OWN  %TOTAL      OWN    TOTAL  FUNCTION\n";

static void test_table(void)
{
	struct fixture fx;
	__u32 st[3];
	char *out;
	int err = -1;

	fixture_init(&fx);
	st[0] = fx.main_f, st[1] = fx.compute_f, st[2] = fx.helper_f;
	agg__add_stack(fx.a, fx.proc, 42, NULL, st, 2, 0, 500);
	agg__add_stack(fx.a, fx.proc, 42, NULL, st, 3, 0, 300);

	out = render(fx.a, TABLE, &err);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_STR(out,
		     " %OWN  %TOTAL      OWN    TOTAL  FUNCTION\n"
		     " 62.5   100.0      500      800  compute (/tmp/w.py:10)\n"
		     " 37.5    37.5      300      300  helper (/tmp/w.py:20)\n"
		     "  0.0   100.0        0      800  main (/tmp/w.py:1)\n");
	free(out);
	agg__free(fx.a);
}

static void test_table_empty(void)
{
	struct agg *a = agg__new();
	char *out, want[128];
	int err = -1;

	snprintf(want, sizeof(want), "%s(no Python samples)\n", table_header);
	out = render(a, TABLE, &err);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_STR(out, want);
	free(out);
	CHECK_EQ_INT(output_table__write(NULL, &meta, stdout), -EINVAL);
	agg__free(a);
}

static void test_table_wide_and_sanitized(void)
{
	struct agg *a = agg__new();
	__u32 p, st[2];
	char *out;
	int err = -1;

	p = agg__intern_proc(a, 1, "x");
	st[0] = agg__intern_frame(a, "outer", "/a;b.py", 1, 2);
	st[1] = agg__intern_frame(a, "bad\nname\t\x1b", "/c.py", 7, 8);
	agg__add_stack(a, p, 1, NULL, st, 2, 0, 123456789);
	agg__add_stack(a, p, 1, NULL, st, 1, 0, 1);
	/* Unreadable code: no first line to show. */
	st[0] = agg__intern_frame(a, "[unreadable code object]", "?", 0, -1);
	agg__add_stack(a, p, 1, NULL, st, 1, 0, 10);

	out = render(a, TABLE, &err);
	CHECK_EQ_INT(err, 0);
	/* Counts wider than the default columns widen them; ';' stays. */
	CHECK_EQ_STR(out,
		     " %OWN  %TOTAL        OWN      TOTAL  FUNCTION\n"
		     "100.0   100.0  123456789  123456789  bad?name?? (/c.py:7)\n"
		     "  0.0     0.0         10         10  [unreadable code object] (?)\n"
		     "  0.0   100.0          1  123456790  outer (/a;b.py:1)\n");
	free(out);
	agg__free(a);
}

/* A stream that fails on flush: both writers must say so. */
static void test_write_errors(void)
{
	struct fixture fx;
	FILE *f;

	fixture_init(&fx);
	agg__add_stack(fx.a, fx.proc, 42, NULL, &fx.main_f, 1, 0, 1);
	f = fopen("/dev/full", "w");
	if (f) {
		CHECK_EQ_INT(output_folded__write(fx.a, &meta, f), -EIO);
		fclose(f);
	}
	f = fopen("/dev/full", "w");
	if (f) {
		CHECK_EQ_INT(output_table__write(fx.a, &meta, f), -EIO);
		fclose(f);
	}
	/* Writing to a read-only stream fails at once. */
	f = fopen("/dev/null", "r");
	if (f) {
		CHECK_EQ_INT(output_folded__write(fx.a, &meta, f), -EIO);
		clearerr(f);
		CHECK_EQ_INT(output_table__write(fx.a, &meta, f), -EIO);
		fclose(f);
	}
	agg__free(fx.a);
}

/* Many stacks and threads: folded keeps every sample, each line parses. */
static void test_folded_load(void)
{
	struct agg *a = agg__new();
	unsigned long long sum;
	__u32 procs[3], frames[64], st[32];
	char q[32], *out;
	size_t nlines;
	int err = -1;

	for (int i = 0; i < 3; i++)
		procs[i] = agg__intern_proc(a, 100 + i, i == 2 ? "py;thon" : "python");
	for (int i = 0; i < 64; i++) {
		snprintf(q, sizeof(q), "f%d", i % 16);
		/* 4 first lines per name, same line: 4 frames per label. */
		frames[i] = agg__intern_frame(a, q, "/load.py", i, 100 + i % 16);
	}
	for (unsigned int s = 0; s < 2000; s++) {
		size_t depth = 1 + s % 32;

		for (size_t j = 0; j < depth; j++)
			st[j] = frames[(s * 7 + j * 13) % 64];
		agg__add_stack(a, procs[s % 3], s % 5, NULL, st, depth, s % 11 == 0, 1 + s % 3);
	}
	out = render(a, FOLDED, &err);
	CHECK_EQ_INT(err, 0);
	nlines = check_flamegraph_grammar(out ? out : "", &sum);
	CHECK_EQ_INT(sum, agg__total_samples(a));
	CHECK(nlines > 0 && nlines <= agg__nr_stacks(a));
	free(out);
	agg__free(a);
}

int main(void)
{
	test_frame_label();
	test_folded_basic();
	test_folded_merge();
	test_folded_sanitize();
	test_folded_empty();
	test_table();
	test_table_empty();
	test_table_wide_and_sanitized();
	test_write_errors();
	test_folded_load();
	return unit_report("output");
}
