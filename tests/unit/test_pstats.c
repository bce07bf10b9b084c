// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the pstats writer (user/output_pstats.c): the exact marshal
 * bytes of a tiny profile, then, read back by a strict little marshal
 * reader, the numbers and callers of a profile with recursion, several
 * callers, a truncated stack and two processes; long counts, repaired
 * UTF-8, and errors.
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

/* The writer's output; *@len its size, *@err its return value. */
static unsigned char *render(const struct agg *a, unsigned int hz, size_t *len, int *err)
{
	struct output_meta meta = { .duration_s = 1.0, .frequency_hz = hz };
	unsigned char *buf;
	FILE *f = tmpfile();
	long n;

	if (!f)
		return NULL;
	*err = output_pstats__write(a, &meta, f);
	n = ftell(f);
	buf = malloc(n > 0 ? n : 1);
	rewind(f);
	if (!buf || fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	fclose(f);
	*len = n;
	return buf;
}

/* ---- a strict reader of the marshal subset the writer may use ---------- */

enum mv_type { MV_DICT, MV_TUPLE, MV_INT, MV_FLOAT, MV_STR };

struct mv {
	enum mv_type type;
	size_t n;		/* tuple items, or dict keys and values in turn */
	struct mv **items;
	unsigned long long i;	/* MV_INT: never negative here */
	double d;
	char *s;
	size_t slen;
};

struct reader {
	const unsigned char *p, *end;
};

static bool rd_u32(struct reader *r, __u32 *v)
{
	if (r->end - r->p < 4)
		return false;
	*v = r->p[0] | r->p[1] << 8 | r->p[2] << 16 | (__u32)r->p[3] << 24;
	r->p += 4;
	return true;
}

static void mv_free(struct mv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++)
		mv_free(v->items[i]);
	free(v->items);
	free(v->s);
	free(v);
}

static bool mv_push(struct mv *v, struct mv *item)
{
	struct mv **items = realloc(v->items, (v->n + 1) * sizeof(*items));

	if (!items)
		return false;
	v->items = items;
	v->items[v->n++] = item;
	return true;
}

/* NULL on anything but the types below, a reference flag, or a short read. */
static struct mv *mv_read(struct reader *r)
{
	struct mv *v = calloc(1, sizeof(*v));
	__u32 n, bits[2];
	int code;

	if (!v || r->p >= r->end)
		goto bad;
	code = *r->p++;
	switch (code) {
	case '{':
		v->type = MV_DICT;
		while (r->p < r->end && *r->p != '0') {
			struct mv *k = mv_read(r), *val = k ? mv_read(r) : NULL;

			if (!val || !mv_push(v, k) || !mv_push(v, val)) {
				mv_free(k);
				mv_free(val);
				goto bad;
			}
		}
		if (r->p >= r->end)
			goto bad;
		r->p++;
		return v;
	case ')':
		v->type = MV_TUPLE;
		if (r->p >= r->end)
			goto bad;
		n = *r->p++;
		for (__u32 i = 0; i < n; i++) {
			struct mv *item = mv_read(r);

			if (!item || !mv_push(v, item)) {
				mv_free(item);
				goto bad;
			}
		}
		return v;
	case 'i':
		v->type = MV_INT;
		if (!rd_u32(r, &n) || (__s32)n < 0)
			goto bad;
		v->i = n;
		return v;
	case 'l':
		/* 15-bit digits, low first; the top one must not be 0. */
		v->type = MV_INT;
		if (!rd_u32(r, &n) || n == 0 || n > 5 || r->end - r->p < 2 * (long)n)
			goto bad;
		for (__u32 k = 0; k < n; k++) {
			unsigned int d = r->p[2 * k] | r->p[2 * k + 1] << 8;

			if (d >= 1U << 15 || (k == n - 1 && !d))
				goto bad;
			v->i |= (unsigned long long)d << (15 * k);
		}
		r->p += 2 * n;
		return v;
	case 'g':
		v->type = MV_FLOAT;
		if (!rd_u32(r, &bits[0]) || !rd_u32(r, &bits[1]))
			goto bad;
		{
			__u64 b = bits[0] | (__u64)bits[1] << 32;

			memcpy(&v->d, &b, sizeof(v->d));
		}
		return v;
	case 'u':
		v->type = MV_STR;
		if (!rd_u32(r, &n) || (size_t)(r->end - r->p) < n)
			goto bad;
		v->s = malloc(n + 1);
		if (!v->s)
			goto bad;
		memcpy(v->s, r->p, n);
		v->s[n] = '\0';
		v->slen = n;
		r->p += n;
		return v;
	}
bad:
	mv_free(v);
	return NULL;
}

/* The whole buffer as one value, or NULL. */
static struct mv *mv_parse(const unsigned char *buf, size_t len)
{
	struct reader r = { buf, buf + len };
	struct mv *v = mv_read(&r);

	if (v && r.p != r.end) {
		mv_free(v);
		return NULL;
	}
	return v;
}

/* A function key (file, first_line, name), as the writer must make it. */
static bool is_key(const struct mv *k, const char *file, int line, const char *name)
{
	return k->type == MV_TUPLE && k->n == 3 &&
	       k->items[0]->type == MV_STR && !strcmp(k->items[0]->s, file) &&
	       k->items[1]->type == MV_INT && k->items[1]->i == (unsigned long long)line &&
	       k->items[2]->type == MV_STR && !strcmp(k->items[2]->s, name);
}

static const struct mv *dict_get(const struct mv *d, const char *file, int line,
				 const char *name)
{
	if (!d || d->type != MV_DICT)
		return NULL;
	for (size_t i = 0; i < d->n; i += 2) {
		if (is_key(d->items[i], file, line, name))
			return d->items[i + 1];
	}
	return NULL;
}

static bool is_count(const struct mv *v, unsigned long long want)
{
	return v->type == MV_INT && v->i == want;
}

static bool is_time(const struct mv *v, double want)
{
	return v->type == MV_FLOAT && v->d == want;
}

/* stats[func] == (cc, nc, tt, ct, callers) with cc == nc == @n. */
static bool check_func(const struct mv *stats, const char *name, int line, unsigned long long n,
		       double tt, double ct, size_t ncallers)
{
	const struct mv *v = dict_get(stats, "w.py", line, name);

	if (!v || v->type != MV_TUPLE || v->n != 5) {
		fprintf(stderr, "no stats for %s\n", name);
		return false;
	}
	if (!is_count(v->items[0], n) || !is_count(v->items[1], n) ||
	    !is_time(v->items[2], tt) || !is_time(v->items[3], ct) ||
	    v->items[4]->type != MV_DICT || v->items[4]->n != 2 * ncallers) {
		fprintf(stderr, "%s: cc %llu nc %llu tt %g ct %g callers %zu\n", name,
			v->items[0]->i, v->items[1]->i, v->items[2]->d, v->items[3]->d,
			v->items[4]->n / 2);
		return false;
	}
	return true;
}

/* stats[callee][4][caller] == (nc, cc, tt, ct) with nc == cc == @n. */
static bool check_caller(const struct mv *stats, const char *callee, int callee_line,
			 const char *caller, int caller_line, unsigned long long n,
			 double tt, double ct)
{
	const struct mv *v = dict_get(stats, "w.py", callee_line, callee), *c;

	if (!v || v->n != 5)
		return false;
	c = dict_get(v->items[4], "w.py", caller_line, caller);
	if (!c || c->type != MV_TUPLE || c->n != 4) {
		fprintf(stderr, "%s has no caller %s\n", callee, caller);
		return false;
	}
	if (!is_count(c->items[0], n) || !is_count(c->items[1], n) ||
	    !is_time(c->items[2], tt) || !is_time(c->items[3], ct)) {
		fprintf(stderr, "%s <- %s: nc %llu cc %llu tt %g ct %g\n", callee, caller,
			c->items[0]->i, c->items[1]->i, c->items[2]->d, c->items[3]->d);
		return false;
	}
	return true;
}

/* ---- tests --------------------------------------------------------------- */

/* Two frames, one stack of 2 samples at 4 Hz: every byte is known. */
static void test_exact_bytes(void)
{
	static const unsigned char want[] = {
		'{',
		/* ("a.py", 3, "f"): the leaf, own 2 first */
		')', 3, 'u', 4, 0, 0, 0, 'a', '.', 'p', 'y', 'i', 3, 0, 0, 0,
		'u', 1, 0, 0, 0, 'f',
		/* (cc 2, nc 2, tt 0.5, ct 0.5, callers) */
		')', 5, 'i', 2, 0, 0, 0, 'i', 2, 0, 0, 0,
		'g', 0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 'g', 0, 0, 0, 0, 0, 0, 0xe0, 0x3f,
		/* {("a.py", 1, "main"): (nc 2, cc 2, tt 0.5, ct 0.5)} */
		'{', ')', 3, 'u', 4, 0, 0, 0, 'a', '.', 'p', 'y', 'i', 1, 0, 0, 0,
		'u', 4, 0, 0, 0, 'm', 'a', 'i', 'n',
		')', 4, 'i', 2, 0, 0, 0, 'i', 2, 0, 0, 0,
		'g', 0, 0, 0, 0, 0, 0, 0xe0, 0x3f, 'g', 0, 0, 0, 0, 0, 0, 0xe0, 0x3f, '0',
		/* ("a.py", 1, "main"): (2, 2, 0.0, 0.5, {}) */
		')', 3, 'u', 4, 0, 0, 0, 'a', '.', 'p', 'y', 'i', 1, 0, 0, 0,
		'u', 4, 0, 0, 0, 'm', 'a', 'i', 'n',
		')', 5, 'i', 2, 0, 0, 0, 'i', 2, 0, 0, 0,
		'g', 0, 0, 0, 0, 0, 0, 0, 0, 'g', 0, 0, 0, 0, 0, 0, 0xe0, 0x3f, '{', '0',
		'0',
	};
	struct agg *a = agg__new();
	__u32 proc = agg__intern_proc(a, 100, "python3");
	__u32 ids[2] = {
		agg__intern_frame(a, "main", "a.py", 1, 2),
		agg__intern_frame(a, "f", "a.py", 3, 4),
	};
	unsigned char *buf;
	size_t len = 0;
	int err = -1;

	CHECK_EQ_INT(agg__add_stack(a, proc, 100, NULL, ids, 2, 0, 2), 0);
	buf = render(a, 4, &len, &err);
	CHECK_EQ_INT(err, 0);
	CHECK_EQ_INT(len, sizeof(want));
	CHECK(buf && len == sizeof(want) && !memcmp(buf, want, len));
	if (buf && len == sizeof(want)) {
		for (size_t i = 0; i < len; i++) {
			if (buf[i] != want[i]) {
				fprintf(stderr, "first difference at byte %zu: %#x, want %#x\n",
					i, buf[i], want[i]);
				break;
			}
		}
	}
	free(buf);
	agg__free(a);
}

/*
 * Recursion (a and b call each other; r calls itself), a function with
 * two callers, one function at two lines, a truncated stack, and the
 * same code in two processes (one function). At 10 Hz.
 */
static void test_structure(void)
{
	struct agg *a = agg__new();
	__u32 p1 = agg__intern_proc(a, 100, "python3"), p2 = agg__intern_proc(a, 200, "python3");
	__u32 main_ = agg__intern_frame(a, "main", "w.py", 1, 2);
	__u32 fa = agg__intern_frame(a, "A.a", "w.py", 10, 11);
	__u32 fa2 = agg__intern_frame(a, "A.a", "w.py", 10, 12);
	__u32 fb = agg__intern_frame(a, "b", "w.py", 20, 21);
	__u32 fc = agg__intern_frame(a, "c", "w.py", 30, 31);
	__u32 fr = agg__intern_frame(a, "r", "w.py", 40, 41);
	__u32 s1[] = { main_, fa, fb, fa2, fb };
	__u32 s2[] = { main_, fc, fb };
	__u32 s3[] = { main_, fa2 };
	__u32 s4[] = { main_, fr, fr, fr };
	__u32 s5[] = { fb };
	static const struct {
		const char *name;
		int line;
	} order[] = { { "b", 20 }, { "r", 40 }, { "A.a", 10 }, { "main", 1 }, { "c", 30 } };
	struct agg_func *funcs;
	size_t nfuncs = 0, len = 0;
	unsigned char *buf;
	struct mv *stats;
	int err = -1;

	CHECK_EQ_INT(agg__add_stack(a, p1, 100, NULL, s1, 5, 0, 3), 0);
	CHECK_EQ_INT(agg__add_stack(a, p1, 101, NULL, s2, 3, 0, 5), 0);
	CHECK_EQ_INT(agg__add_stack(a, p2, 200, NULL, s3, 2, 0, 2), 0);
	CHECK_EQ_INT(agg__add_stack(a, p2, 200, NULL, s4, 4, 0, 4), 0);
	CHECK_EQ_INT(agg__add_stack(a, p1, 100, NULL, s5, 1, AGG_STACK_TRUNCATED, 1), 0);
	/* No Python frames: no function to count it in. */
	CHECK_EQ_INT(agg__add_stack(a, p1, 100, NULL, NULL, 0, 0, 7), 0);

	buf = render(a, 10, &len, &err);
	CHECK_EQ_INT(err, 0);
	stats = buf ? mv_parse(buf, len) : NULL;
	CHECK(stats && stats->type == MV_DICT);
	if (!stats || stats->type != MV_DICT)
		goto out;
	CHECK_EQ_INT(stats->n, 2 * 5);

	/* cc = nc = samples on the stack; tt own, ct total, over 10 Hz. */
	CHECK(check_func(stats, "main", 1, 14, 0.0, 1.4, 0));
	CHECK(check_func(stats, "A.a", 10, 5, 0.2, 0.5, 2));
	CHECK(check_func(stats, "b", 20, 9, 0.9, 0.9, 2));
	CHECK(check_func(stats, "c", 30, 5, 0.0, 0.5, 1));
	CHECK(check_func(stats, "r", 40, 4, 0.4, 0.4, 2));

	/* a -> b twice in s1 counts once; b's own time went through a and c. */
	CHECK(check_caller(stats, "b", 20, "A.a", 10, 3, 0.3, 0.3));
	CHECK(check_caller(stats, "b", 20, "c", 30, 5, 0.5, 0.5));
	CHECK(check_caller(stats, "A.a", 10, "main", 1, 5, 0.2, 0.5));
	CHECK(check_caller(stats, "A.a", 10, "b", 20, 3, 0.0, 0.3));
	CHECK(check_caller(stats, "c", 30, "main", 1, 5, 0.0, 0.5));
	CHECK(check_caller(stats, "r", 40, "main", 1, 4, 0.0, 0.4));
	CHECK(check_caller(stats, "r", 40, "r", 40, 4, 0.4, 0.4));

	/* The order of agg__functions(), with the same counts. */
	funcs = agg__functions(a, &nfuncs);
	CHECK_EQ_INT(nfuncs, 5);
	for (size_t i = 0; funcs && i < nfuncs && i < 5; i++) {
		const struct mv *k = stats->items[2 * i], *v = stats->items[2 * i + 1];

		CHECK(is_key(k, "w.py", order[i].line, order[i].name));
		CHECK(is_key(k, funcs[i].file, funcs[i].first_line, funcs[i].qualname));
		CHECK(is_count(v->items[1], funcs[i].total));
		CHECK(is_time(v->items[2], funcs[i].own / 10.0));
	}
	free(funcs);
out:
	mv_free(stats);
	free(buf);
	agg__free(a);
}

/* A count past int32 is a normalized marshal long. */
static void test_long_count(void)
{
	static const unsigned char want_count[] = {
		'l', 3, 0, 0, 0, 0x00, 0x5e, 0xa0, 0x65, 0x02, 0x00,
	};
	struct agg *a = agg__new();
	__u32 proc = agg__intern_proc(a, 1, "p");
	__u32 id = agg__intern_frame(a, "f", "x.py", 1, 1);
	size_t len = 0, off = 1 + 2 + 9 + 5 + 6 + 2;	/* dict, key tuple, 3 items, tuple */
	unsigned char *buf;
	struct mv *stats = NULL;
	int err = -1;

	CHECK_EQ_INT(agg__add_stack(a, proc, 1, NULL, &id, 1, 0, 3000000000ULL), 0);
	buf = render(a, 1, &len, &err);
	CHECK_EQ_INT(err, 0);
	CHECK(buf && len > off + 2 * sizeof(want_count));
	if (buf && len > off + 2 * sizeof(want_count)) {
		CHECK(!memcmp(buf + off, want_count, sizeof(want_count)));
		CHECK(!memcmp(buf + off + sizeof(want_count), want_count, sizeof(want_count)));
		stats = mv_parse(buf, len);
	}
	CHECK(stats && stats->n == 2 && stats->items[1]->n == 5 &&
	      is_count(stats->items[1]->items[0], 3000000000ULL) &&
	      is_time(stats->items[1]->items[2], 3e9));
	mv_free(stats);
	free(buf);
	agg__free(a);
}

/* marshal.load() rejects the whole file on one bad string: repair it. */
static void test_invalid_utf8(void)
{
	struct agg *a = agg__new();
	__u32 proc = agg__intern_proc(a, 1, "p");
	__u32 id = agg__intern_frame(a, "bad\xff", "x\xc3.py", 1, 1);
	unsigned char *buf;
	struct mv *stats = NULL;
	size_t len = 0;
	int err = -1;

	CHECK_EQ_INT(agg__add_stack(a, proc, 1, NULL, &id, 1, 0, 1), 0);
	buf = render(a, 99, &len, &err);
	CHECK_EQ_INT(err, 0);
	if (buf)
		stats = mv_parse(buf, len);
	CHECK(stats && stats->n == 2 &&
	      is_key(stats->items[0], "x\xef\xbf\xbd.py", 1, "bad\xef\xbf\xbd"));
	mv_free(stats);
	free(buf);
	agg__free(a);
}

static void test_empty_and_errors(void)
{
	struct output_meta meta = { .frequency_hz = 99 }, nohz = { .frequency_hz = 0 };
	struct agg *a = agg__new();
	__u32 proc = agg__intern_proc(a, 1, "p");
	__u32 id = agg__intern_frame(a, "f", "x.py", 1, 1);
	unsigned char *buf;
	size_t len = 0;
	int err = -1;
	FILE *f;

	/* An empty dict: what there is, though pstats.Stats() refuses it. */
	buf = render(a, 99, &len, &err);
	CHECK_EQ_INT(err, 0);
	CHECK(buf && len == 2 && buf[0] == '{' && buf[1] == '0');
	free(buf);

	CHECK_EQ_INT(agg__add_stack(a, proc, 1, NULL, &id, 1, 0, 1), 0);
	CHECK_EQ_INT(output_pstats__write(a, NULL, stdout), -EINVAL);
	CHECK_EQ_INT(output_pstats__write(a, &nohz, stdout), -EINVAL);
	CHECK_EQ_INT(output_pstats__write(NULL, &meta, stdout), -EINVAL);

	/* A full disk shows at the flush, a stream that cannot write at once. */
	f = fopen("/dev/full", "w");
	CHECK(f);
	if (f) {
		CHECK_EQ_INT(output_pstats__write(a, &meta, f), -EIO);
		fclose(f);
	}
	f = fopen("/dev/null", "r");
	CHECK(f);
	if (f) {
		CHECK_EQ_INT(output_pstats__write(a, &meta, f), -EIO);
		fclose(f);
	}
	agg__free(a);
}

int main(void)
{
	test_exact_bytes();
	test_structure();
	test_long_count();
	test_invalid_utf8();
	test_empty_and_errors();
	return unit_report("test_pstats");
}
