// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Tests of the speedscope writer (user/output_speedscope.c) and the JSON
 * value writer (user/json_writer.c): the output is parsed back by a
 * small strict JSON parser (RFC 8259, plus valid UTF-8 throughout) into
 * a tree, then checked against the file format: frames, one profile per
 * process or thread, samples root first, weights in seconds, the
 * "[truncated]" frame, merging, and names that try to break the JSON.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

#include "aggregate.h"
#include "json_writer.h"
#include "output.h"
#include "unit.h"

/* ---- a strict JSON parser ------------------------------------------------ */

enum jtype { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };

struct jv {
	enum jtype type;
	double num;
	char *str;		/* J_STR, decoded; NUL-free by construction here */
	size_t n;		/* J_ARR items, J_OBJ members */
	struct jv **items;
	char **keys;		/* J_OBJ */
};

struct jp {
	const char *p, *end;
	bool bad;
};

static void jv_free(struct jv *v)
{
	if (!v)
		return;
	for (size_t i = 0; i < v->n; i++) {
		jv_free(v->items[i]);
		if (v->keys)
			free(v->keys[i]);
	}
	free(v->items);
	free(v->keys);
	free(v->str);
	free(v);
}

static void ws(struct jp *j)
{
	while (j->p < j->end && strchr(" \t\n\r", *j->p) && *j->p)
		j->p++;
}

static bool lit(struct jp *j, const char *s)
{
	size_t n = strlen(s);

	if ((size_t)(j->end - j->p) < n || memcmp(j->p, s, n))
		return false;
	j->p += n;
	return true;
}

static int hex4(struct jp *j)
{
	int v = 0;

	for (int i = 0; i < 4; i++, j->p++) {
		char c = j->p < j->end ? *j->p : 0;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static size_t put_utf8(char *o, __u32 cp)
{
	if (cp < 0x80)
		return o[0] = (char)cp, 1;
	if (cp < 0x800)
		return o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)), 2;
	if (cp < 0x10000) {
		o[0] = (char)(0xe0 | cp >> 12);
		o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | cp >> 18);
	o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	o[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A valid UTF-8 sequence at @p: its length, else 0 (same rules as the writer's). */
static size_t utf8_len(const unsigned char *p, size_t avail)
{
	__u32 cp;
	size_t n;

	if (p[0] < 0x80)
		return 1;
	n = p[0] >= 0xf0 ? 4 : p[0] >= 0xe0 ? 3 : p[0] >= 0xc0 ? 2 : 0;
	if (!n || n > avail || p[0] > 0xf4)
		return 0;
	cp = p[0] & (0x7f >> n);
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (p[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

static char *parse_str(struct jp *j)
{
	char *out, *o;

	if (!lit(j, "\""))
		return NULL;
	out = o = malloc((size_t)(j->end - j->p) + 1);
	while (out && j->p < j->end && *j->p != '"') {
		unsigned char c = *j->p;

		if (c < 0x20) {
			/* Raw control characters are not allowed in JSON strings. */
			break;
		} else if (c == '\\') {
			const char *esc = "\"\\/bfnrt", *rep = "\"\\/\b\f\n\r\t", *e;
			int cp, lo;

			if (++j->p >= j->end)
				break;
			if (*j->p == 'u') {
				j->p++;
				cp = hex4(j);
				if (cp < 0)
					break;
				if (cp >= 0xd800 && cp <= 0xdbff) {
					if (!lit(j, "\\u"))
						break;
					lo = hex4(j);
					if (lo < 0xdc00 || lo > 0xdfff)
						break;
					cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
				} else if (cp >= 0xdc00 && cp <= 0xdfff) {
					break;
				}
				/* \u0000 would end the C string: never expected here. */
				if (cp == 0)
					break;
				o += put_utf8(o, (__u32)cp);
				continue;
			}
			e = strchr(esc, *j->p);
			if (!e || !*j->p)
				break;
			*o++ = rep[e - esc];
			j->p++;
		} else {
			size_t n = utf8_len((const unsigned char *)j->p, (size_t)(j->end - j->p));

			if (!n)
				break;
			memcpy(o, j->p, n);
			o += n;
			j->p += n;
		}
	}
	if (!out || !lit(j, "\"")) {
		free(out);
		j->bad = true;
		return NULL;
	}
	*o = '\0';
	return out;
}

static struct jv *parse_value(struct jp *j, int depth);

static bool push(struct jv *v, struct jv *item, char *key)
{
	struct jv **items = realloc(v->items, (v->n + 1) * sizeof(*items));
	char **keys = NULL;

	if (!items)
		return false;
	v->items = items;
	if (v->type == J_OBJ) {
		keys = realloc(v->keys, (v->n + 1) * sizeof(*keys));
		if (!keys)
			return false;
		v->keys = keys;
		v->keys[v->n] = key;
	}
	v->items[v->n++] = item;
	return true;
}

static struct jv *parse_container(struct jp *j, struct jv *v, int depth)
{
	char close = v->type == J_ARR ? ']' : '}';

	j->p++;
	ws(j);
	if (j->p < j->end && *j->p == close) {
		j->p++;
		return v;
	}
	for (;;) {
		char *key = NULL;
		struct jv *item;

		ws(j);
		if (v->type == J_OBJ) {
			key = parse_str(j);
			ws(j);
			if (!key || !lit(j, ":")) {
				free(key);
				break;
			}
		}
		item = parse_value(j, depth + 1);
		if (!item || !push(v, item, key)) {
			jv_free(item);
			free(key);
			break;
		}
		ws(j);
		if (lit(j, ","))
			continue;
		if (j->p < j->end && *j->p == close) {
			j->p++;
			return v;
		}
		break;
	}
	j->bad = true;
	jv_free(v);
	return NULL;
}

static struct jv *parse_value(struct jp *j, int depth)
{
	struct jv *v = calloc(1, sizeof(*v));
	const char *start;

	ws(j);
	if (!v || depth > 64 || j->p >= j->end)
		goto bad;
	if (*j->p == '{' || *j->p == '[') {
		v->type = *j->p == '{' ? J_OBJ : J_ARR;
		return parse_container(j, v, depth);
	}
	if (*j->p == '"') {
		v->type = J_STR;
		v->str = parse_str(j);
		if (!v->str)
			goto bad;
		return v;
	}
	if (lit(j, "null"))
		return v;
	if (lit(j, "true") || lit(j, "false")) {
		v->type = J_BOOL;
		return v;
	}
	/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
	start = j->p;
	if (j->p < j->end && *j->p == '-')
		j->p++;
	if (j->p < j->end && *j->p == '0') {
		j->p++;
	} else if (j->p < j->end && *j->p >= '1' && *j->p <= '9') {
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	} else {
		goto bad;
	}
	if (j->p < j->end && *j->p == '.') {
		if (++j->p >= j->end || *j->p < '0' || *j->p > '9')
			goto bad;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
		j->p++;
		if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
			j->p++;
		if (j->p >= j->end || *j->p < '0' || *j->p > '9')
			goto bad;
		while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
			j->p++;
	}
	v->type = J_NUM;
	v->num = strtod(start, NULL);
	return v;
bad:
	j->bad = true;
	free(v);
	return NULL;
}

/* The whole text as one JSON value, or NULL. */
static struct jv *parse_json(const char *text, size_t len)
{
	struct jp j = { text, text + len, false };
	struct jv *v = parse_value(&j, 0);

	ws(&j);
	if (v && (j.bad || j.p != j.end)) {
		jv_free(v);
		return NULL;
	}
	return v;
}

static const struct jv *get(const struct jv *v, const char *key)
{
	for (size_t i = 0; v && v->type == J_OBJ && i < v->n; i++) {
		if (!strcmp(v->keys[i], key))
			return v->items[i];
	}
	return NULL;
}

static const struct jv *at(const struct jv *v, size_t i)
{
	return v && v->type == J_ARR && i < v->n ? v->items[i] : NULL;
}

static const char *sget(const struct jv *v, const char *key)
{
	const struct jv *s = get(v, key);

	return s && s->type == J_STR ? s->str : NULL;
}

static double nget(const struct jv *v, const char *key)
{
	const struct jv *n = get(v, key);

	return n && n->type == J_NUM ? n->num : NAN;
}

static size_t len_of(const struct jv *v)
{
	return v && v->type == J_ARR ? v->n : (size_t)-1;
}

/* ---- rendering ----------------------------------------------------------- */

static char *render(const struct agg *a, const struct output_meta *m, size_t *len, int *err)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);

	if (!f)
		return NULL;
	*err = output_speedscope__write(a, m, f);
	fclose(f);
	*len = size;
	return buf;
}

static struct jv *load(const struct agg *a, const struct output_meta *m, char **text)
{
	size_t len = 0;
	int err = -1;
	char *buf = render(a, m, &len, &err);
	struct jv *doc;

	CHECK_EQ_INT(err, 0);
	doc = buf ? parse_json(buf, len) : NULL;
	CHECK(doc != NULL);
	if (text)
		*text = buf;
	else
		free(buf);
	return doc;
}

/* "name (file:line)" of frame @idx, for compact stack comparisons. */
static const char *frame_str(const struct jv *doc, const struct jv *idx)
{
	static char buf[8][256];
	static int turn;
	const struct jv *frames = get(get(doc, "shared"), "frames");
	const struct jv *fr = at(frames, idx ? (size_t)idx->num : SIZE_MAX);
	char *b = buf[turn++ % 8];

	if (!fr)
		return "?";
	if (!get(fr, "file"))
		snprintf(b, 256, "%s", sget(fr, "name"));
	else if (!get(fr, "line"))
		snprintf(b, 256, "%s (%s)", sget(fr, "name"), sget(fr, "file"));
	else
		snprintf(b, 256, "%s (%s:%g)", sget(fr, "name"), sget(fr, "file"),
			 nget(fr, "line"));
	return b;
}

/* A sample's frames, root first, joined with ';'. */
static const char *sample_str(const struct jv *doc, const struct jv *sample)
{
	static char buf[1024];
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < len_of(sample) && off < sizeof(buf); i++)
		off += snprintf(buf + off, sizeof(buf) - off, "%s%s", i ? ";" : "",
				frame_str(doc, at(sample, i)));
	return buf;
}

static bool near(double x, double y)
{
	return fabs(x - y) <= 1e-12 * fmax(1, fabs(y));
}

/* What speedscope's importer relies on, for every profile. */
static void check_profiles(const struct jv *doc, unsigned int hz)
{
	const struct jv *profiles = get(doc, "profiles");
	size_t nframes = len_of(get(get(doc, "shared"), "frames"));

	CHECK_EQ_STR(sget(doc, "$schema"), "https://www.speedscope.app/file-format-schema.json");
	CHECK_EQ_STR(sget(doc, "exporter"), "pybpfprof@" PYBPFPROF_VERSION);
	CHECK(sget(doc, "name") != NULL);
	CHECK(nframes != (size_t)-1);
	for (size_t i = 0; i < len_of(profiles); i++) {
		const struct jv *p = at(profiles, i), *samples = get(p, "samples");
		const struct jv *weights = get(p, "weights");
		double sum = 0;

		CHECK_EQ_STR(sget(p, "type"), "sampled");
		CHECK_EQ_STR(sget(p, "unit"), "seconds");
		CHECK(nget(p, "startValue") == 0);
		CHECK_EQ_INT(len_of(samples), len_of(weights));
		for (size_t s = 0; s < len_of(samples); s++) {
			const struct jv *w = at(weights, s);
			double count = w ? w->num * hz : -1;

			/* Each weight is a whole number of samples over the frequency. */
			CHECK(w && w->num > 0 && near(count, round(count)));
			sum += w ? w->num : 0;
			for (size_t k = 0; k < len_of(at(samples, s)); k++)
				CHECK(at(at(samples, s), k)->num < nframes);
		}
		CHECK(near(nget(p, "endValue"), sum));
	}
}

/* ---- tests --------------------------------------------------------------- */

static void test_basic(void)
{
	struct output_meta m = { .duration_s = 2, .frequency_hz = 99, .hostname = "h1" };
	struct agg *a = agg__new();
	struct jv *doc;
	__u32 p1, p2, st[3];

	p2 = agg__intern_proc(a, 50, "later");
	p1 = agg__intern_proc(a, 42, "python3");
	st[0] = agg__intern_frame(a, "main", "/w.py", 1, 5);
	st[1] = agg__intern_frame(a, "compute", "/w.py", 10, 12);
	st[2] = agg__intern_frame(a, "helper", "/w.py", 20, -1);
	agg__add_stack(a, p2, 50, NULL, st, 1, 0, 1);
	agg__add_stack(a, p1, 42, NULL, st, 2, 0, 500);
	agg__add_stack(a, p1, 43, NULL, st, 2, 0, 5);	/* other thread: merged */
	agg__add_stack(a, p1, 42, NULL, st, 3, 0, 300);
	agg__add_stack(a, p1, 42, NULL, st + 1, 2, AGG_STACK_TRUNCATED, 7);

	doc = load(a, &m, NULL);
	if (doc) {
		const struct jv *profiles = get(doc, "profiles"), *p;

		check_profiles(doc, 99);
		CHECK_EQ_STR(sget(doc, "name"), "pybpfprof on h1, 2.0 s at 99.0 Hz");
		CHECK_EQ_INT(len_of(get(get(doc, "shared"), "frames")), 4);
		/* By pid: 42 before 50, though 50 was seen first. */
		CHECK_EQ_INT(len_of(profiles), 2);
		p = at(profiles, 0);
		CHECK_EQ_STR(sget(p, "name"), "python3 (42)");
		CHECK_EQ_INT(len_of(get(p, "samples")), 3);
		CHECK_EQ_STR(sample_str(doc, at(get(p, "samples"), 0)),
			     "main (/w.py:5);compute (/w.py:12)");
		CHECK(near(at(get(p, "weights"), 0)->num, 505.0 / 99));
		CHECK_EQ_STR(sample_str(doc, at(get(p, "samples"), 1)),
			     "main (/w.py:5);compute (/w.py:12);helper (/w.py)");
		CHECK(near(at(get(p, "weights"), 1)->num, 300.0 / 99));
		/* The pseudo-frame at the root, a frame without file or line. */
		CHECK_EQ_STR(sample_str(doc, at(get(p, "samples"), 2)),
			     "[truncated];compute (/w.py:12);helper (/w.py)");
		CHECK(near(nget(p, "endValue"), 812.0 / 99));
		p = at(profiles, 1);
		CHECK_EQ_STR(sget(p, "name"), "later (50)");
		CHECK_EQ_STR(sample_str(doc, at(get(p, "samples"), 0)), "main (/w.py:5)");
		/* The busiest profile opens first. */
		CHECK(nget(doc, "activeProfileIndex") == 0);
	}
	jv_free(doc);
	agg__free(a);
}

static void test_threads(void)
{
	struct output_meta m = { .duration_s = 1, .frequency_hz = 100, .threads = true };
	struct agg *a = agg__new();
	struct jv *doc;
	__u32 p1, st[2];

	p1 = agg__intern_proc(a, 42, "python3");
	st[0] = agg__intern_frame(a, "main", "/w.py", 1, 5);
	st[1] = agg__intern_frame(a, "compute", "/w.py", 10, 12);
	agg__add_stack(a, p1, 44, "pool;1", st, 2, 0, 5);
	agg__add_stack(a, p1, 42, "MainThread", st, 2, 0, 3);
	agg__add_stack(a, p1, 45, NULL, st, 1, 0, 1);
	agg__add_stack(a, p1, 44, "pool;1", st, 1, 0, 2);

	doc = load(a, &m, NULL);
	if (doc) {
		const struct jv *profiles = get(doc, "profiles");

		check_profiles(doc, 100);
		CHECK_EQ_INT(len_of(profiles), 3);
		CHECK_EQ_STR(sget(at(profiles, 0), "name"), "python3 (42): MainThread (tid 42)");
		CHECK_EQ_STR(sget(at(profiles, 1), "name"), "python3 (42): pool:1 (tid 44)");
		CHECK_EQ_STR(sget(at(profiles, 2), "name"), "python3 (42): thread (tid 45)");
		CHECK_EQ_INT(len_of(get(at(profiles, 1), "samples")), 2);
		CHECK(near(nget(at(profiles, 1), "endValue"), 0.07));
		CHECK(near(nget(at(profiles, 0), "endValue"), 0.03));
		CHECK(nget(doc, "activeProfileIndex") == 1);
	}
	jv_free(doc);
	agg__free(a);
}

/* Functions told apart only by their first line look alike here: one frame. */
static void test_lookalike_frames(void)
{
	struct output_meta m = { .duration_s = 1, .frequency_hz = 10 };
	struct agg *a = agg__new();
	struct jv *doc;
	__u32 p, f1, f2, g;

	p = agg__intern_proc(a, 9, "app");
	f1 = agg__intern_frame(a, "f", "/m.py", 3, 8);
	f2 = agg__intern_frame(a, "f", "/m.py", 6, 8);
	g = agg__intern_frame(a, "g", "/m.py", 20, 21);
	agg__add_stack(a, p, 9, NULL, (__u32[]){ f2, g }, 2, 0, 1);
	agg__add_stack(a, p, 9, NULL, (__u32[]){ f1, g }, 2, 0, 2);
	agg__add_stack(a, p, 9, NULL, (__u32[]){ g, f1 }, 2, 0, 4);
	doc = load(a, &m, NULL);
	if (doc) {
		const struct jv *prof = at(get(doc, "profiles"), 0);

		check_profiles(doc, 10);
		CHECK_EQ_INT(len_of(get(get(doc, "shared"), "frames")), 2);
		CHECK_EQ_INT(len_of(get(prof, "samples")), 2);
		CHECK(near(at(get(prof, "weights"), 0)->num, 0.3));
		CHECK_EQ_STR(sample_str(doc, at(get(prof, "samples"), 1)),
			     "g (/m.py:21);f (/m.py:8)");
	}
	jv_free(doc);
	agg__free(a);
}

static void test_hostile_names(void)
{
	struct output_meta m = { .duration_s = 1, .frequency_hz = 99,
				 .hostname = "h\"o\\st\n" };
	static const char *const names[] = {
		"<script>alert(1)</script>", "q\"uote", "back\\slash\\", "nl\nnl\r\n",
		"ctl\x01\x02\x1f\x7f\ttab\b\f", "sep \xe2\x80\xa8 \xe2\x80\xa9 end",
		"\xf0\x9f\x90\x8d caf\xc3\xa9", "</script><!--", "'single'", "\\u0041",
	};
	size_t n = sizeof(names) / sizeof(names[0]);
	struct agg *a = agg__new();
	char *text = NULL;
	struct jv *doc;
	__u32 p, st[16];

	p = agg__intern_proc(a, 1, "c\"o\nmm\\");
	for (size_t i = 0; i < n; i++)
		st[i] = agg__intern_frame(a, names[i], names[n - 1 - i], (int)i, (int)i);
	/* Invalid UTF-8 and a truncated sequence at the end. */
	st[n] = agg__intern_frame(a, "bad\xff\xc3(\xed\xa0\x80", "/f\xe2\x82", 1, 1);
	agg__add_stack(a, p, 1, "t\"h\nr", st, n + 1, AGG_STACK_TRUNCATED, 3);

	doc = load(a, &m, &text);
	if (doc) {
		const struct jv *frames = get(get(doc, "shared"), "frames");

		check_profiles(doc, 99);
		/* Every name comes back byte for byte. */
		for (size_t i = 0; i < n; i++) {
			bool found = false;

			for (size_t k = 0; k < len_of(frames); k++) {
				const struct jv *fr = at(frames, k);

				found |= sget(fr, "name") && !strcmp(sget(fr, "name"), names[i]) &&
					 !strcmp(sget(fr, "file"), names[n - 1 - i]);
			}
			CHECK(found);
		}
		CHECK_EQ_STR(sget(at(frames, len_of(frames) - 1), "name"),
			     "bad\xef\xbf\xbd\xef\xbf\xbd(\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
		CHECK_EQ_STR(sget(at(frames, len_of(frames) - 1), "file"),
			     "/f\xef\xbf\xbd\xef\xbf\xbd");
		CHECK_EQ_STR(sget(at(get(doc, "profiles"), 0), "name"), "c\"o?mm\\ (1)");
		CHECK_EQ_STR(sget(doc, "name"), "pybpfprof on h\"o\\st\n, 1.0 s at 99.0 Hz");
	}
	/* The raw text: no line terminators a JavaScript string could trip on. */
	CHECK(text && !strstr(text, "\xe2\x80\xa8") && !strstr(text, "\xe2\x80\xa9"));
	CHECK(text && strstr(text, "\\u2028") && strstr(text, "\\u007f"));
	jv_free(doc);
	free(text);
	agg__free(a);
}

static void test_deterministic_and_empty(void)
{
	struct output_meta m = { .duration_s = 1, .frequency_hz = 99 };
	struct agg *a = agg__new();
	char *t1, *t2;
	size_t l1 = 0, l2 = 0;
	int e1 = -1, e2 = -1;
	struct jv *doc;
	__u32 p, f;

	doc = load(a, &m, NULL);
	if (doc) {
		CHECK_EQ_INT(len_of(get(doc, "profiles")), 0);
		CHECK_EQ_INT(len_of(get(get(doc, "shared"), "frames")), 0);
		CHECK_EQ_STR(sget(doc, "name"), "pybpfprof, 1.0 s at 99.0 Hz");
	}
	jv_free(doc);

	p = agg__intern_proc(a, 3, "x");
	f = agg__intern_frame(a, "f", "/f.py", 1, 2);
	agg__add_stack(a, p, 3, NULL, &f, 1, 0, 1);
	agg__add_stack(a, p, 3, NULL, NULL, 0, AGG_STACK_TRUNCATED, 1);
	t1 = render(a, &m, &l1, &e1);
	t2 = render(a, &m, &l2, &e2);
	CHECK(t1 && t2 && l1 == l2 && !memcmp(t1, t2, l1));
	doc = t1 ? parse_json(t1, l1) : NULL;
	CHECK(doc != NULL);
	if (doc)
		CHECK_EQ_STR(sample_str(doc, at(get(at(get(doc, "profiles"), 0), "samples"), 1)),
			     "[truncated]");
	jv_free(doc);
	free(t1);
	free(t2);
	agg__free(a);
}

static void test_errors(void)
{
	struct output_meta m = { .duration_s = 1, .frequency_hz = 99 };
	struct agg *a = agg__new();
	__u32 p, f;
	FILE *out;

	p = agg__intern_proc(a, 3, "x");
	f = agg__intern_frame(a, "f", "/f.py", 1, 2);
	agg__add_stack(a, p, 3, NULL, &f, 1, 0, 1);
	out = fopen("/dev/full", "w");
	if (out) {
		CHECK_EQ_INT(output_speedscope__write(a, &m, out), -EIO);
		fclose(out);
	}
	out = fopen("/dev/null", "r");
	if (out) {
		CHECK_EQ_INT(output_speedscope__write(a, &m, out), -EIO);
		fclose(out);
	}
	out = fopen("/dev/null", "w");
	if (out) {
		CHECK_EQ_INT(output_speedscope__write(a, NULL, out), -EINVAL);
		m.frequency_hz = 0;
		CHECK_EQ_INT(output_speedscope__write(a, &m, out), -EINVAL);
		fclose(out);
	}
	agg__free(a);
}

/* json__double: the shortest text that reads back exactly. */
static void test_numbers(void)
{
	static const double values[] = { 0, 1, 0.1, 1.0 / 3, 505.0 / 99, 1e-7, 123456789012.5,
					 1.0 / 10000, 5e-324, 1.7976931348623157e308 };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		json__double(f, values[i]);
		fputc(' ', f);
	}
	json__double(f, NAN);
	fclose(f);
	CHECK_EQ_STR(buf, "0 1 0.1 0.3333333333333333 5.101010101010101 1e-07 123456789012.5 "
			  "0.0001 4.94065645841247e-324 1.7976931348623157e+308 0");
	free(buf);
}

int main(void)
{
	test_basic();
	test_threads();
	test_lookalike_frames();
	test_hostile_names();
	test_deterministic_and_empty();
	test_errors();
	test_numbers();
	return unit_report("test_speedscope");
}
