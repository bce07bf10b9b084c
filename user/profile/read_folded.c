// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Folded stacks as output_folded.c writes them, one stack a line:
 *
 *	comm (pid)[;name (tid N[, GIL state])][;[truncated]];frame;... COUNT
 *
 * The thread frame is there with --threads only. Labels never hold ';'
 * (the writer turns it into ':'), so splitting on it is exact.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "output.h"
#include "read_profile.h"

#define NO_ID ((__u32)-1)

struct folded_reader {
	struct agg *a;
	__u32 *ids;
	size_t ids_cap;
	size_t lineno;
	char *why;
	size_t why_size;
};

static int __attribute__((format(printf, 2, 3))) bad(struct folded_reader *r, const char *fmt,
						      ...)
{
	int n = snprintf(r->why, r->why_size, "line %zu: ", r->lineno);
	va_list ap;

	if (n >= 0 && (size_t)n < r->why_size) {
		va_start(ap, fmt);
		vsnprintf(r->why + n, r->why_size - n, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* "12345" in full: true, with the value. */
static bool parse_u64(const char *s, size_t len, unsigned long long *v)
{
	unsigned long long x = 0;

	if (!len || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9' || x > (~0ULL - (s[i] - '0')) / 10)
			return false;
		x = x * 10 + (s[i] - '0');
	}
	*v = x;
	return true;
}

void read_folded__split_label(char *label, const char **qualname, const char **file, int *line)
{
	char *open = strstr(label, " ("), *colon;
	size_t len = strlen(label);
	unsigned long long n;

	*qualname = label;
	*file = "";
	*line = -1;
	/* A pseudo-frame ("[off-CPU: read]") or something without a place. */
	if (!open || len < 3 || label[len - 1] != ')')
		return;
	*open = '\0';
	label[len - 1] = '\0';
	*file = open + 2;
	colon = strrchr(open + 2, ':');
	if (colon && parse_u64(colon + 1, strlen(colon + 1), &n) && n <= 0x7fffffff) {
		*colon = '\0';
		*line = (int)n;
	}
}

/* "comm (1234)": the process frame. */
static bool split_proc(char *s, const char **comm, __u32 *pid)
{
	size_t len = strlen(s);
	char *open = strrchr(s, '(');
	unsigned long long v;

	if (!open || open < s + 2 || open[-1] != ' ' || s[len - 1] != ')' ||
	    !parse_u64(open + 1, s + len - 1 - (open + 1), &v) || v > 0xffffffffULL)
		return false;
	open[-1] = '\0';
	*comm = s;
	*pid = (__u32)v;
	return true;
}

/* "name (tid 12)" or "name (tid 12, GIL held)": the thread frame of --threads. */
static bool split_thread(char *s, const char **name, __u32 *tid, unsigned int *gil)
{
	size_t len = strlen(s);
	char *open = strrchr(s, '('), *comma, *end;
	unsigned long long v;

	if (!open || open < s + 2 || open[-1] != ' ' || s[len - 1] != ')' ||
	    strncmp(open + 1, "tid ", 4))
		return false;
	end = s + len - 1;
	comma = memchr(open + 5, ',', end - (open + 5));
	if (!parse_u64(open + 5, (comma ? comma : end) - (open + 5), &v) || v > 0xffffffffULL)
		return false;
	*gil = 0;
	if (comma) {
		size_t glen = end - comma;

		if (glen < 7 || strncmp(comma, ", GIL ", 6))
			return false;
		for (unsigned int g = 1; g < 8 && !*gil; g++) {
			const char *gn = output__gil_name(g);

			if (gn && strlen(gn) == glen - 6 && !strncmp(comma + 6, gn, glen - 6))
				*gil = g;
		}
		if (!*gil)
			return false;
	}
	open[-1] = '\0';
	*name = s;
	*tid = (__u32)v;
	return true;
}

/* One line, without its newline, cut in place. */
static int folded_line(struct folded_reader *r, char *s, size_t len)
{
	const char *comm, *tname = NULL;
	unsigned long long count;
	unsigned int flags = 0, gil = 0;
	char *sp, *frame, *next;
	size_t n = 0;
	__u32 pid, tid = 0, proc;

	sp = memrchr(s, ' ', len);
	if (!sp || !parse_u64(sp + 1, s + len - sp - 1, &count))
		return bad(r, "no sample count at the end");
	*sp = '\0';
	len = sp - s;
	sp = memrchr(s, ' ', len);
	if (sp && parse_u64(sp + 1, s + len - sp - 1, &(unsigned long long){ 0 }))
		return bad(r, "two counts: a diff's output, not a profile");

	next = strchr(s, ';');
	if (next)
		*next++ = '\0';
	if (!split_proc(s, &comm, &pid))
		return bad(r, "the first frame is not a process, 'comm (pid)'");
	if (next) {
		char *end = strchr(next, ';');
		char save = end ? *end : '\0';
		const char *name;

		if (end)
			*end = '\0';
		if (split_thread(next, &name, &tid, &gil)) {
			tname = *name && strcmp(name, "thread") ? name : NULL;
			next = end ? end + 1 : NULL;
		} else if (end) {
			*end = save;
		}
	}
	if (next && (!strncmp(next, "[truncated];", 12) || !strcmp(next, "[truncated]"))) {
		flags |= AGG_STACK_TRUNCATED;
		next = next[11] ? next + 12 : NULL;
	}
	for (frame = next; frame; frame = next) {
		const char *qualname, *file;
		int line;

		next = strchr(frame, ';');
		if (next)
			*next++ = '\0';
		if (!*frame)
			return bad(r, "an empty frame");
		read_folded__split_label(frame, &qualname, &file, &line);
		if (array__reserve((void **)&r->ids, &r->ids_cap, n + 1, sizeof(*r->ids)))
			return -ENOMEM;
		r->ids[n] = agg__intern_frame(r->a, qualname, file, 0, line);
		if (r->ids[n++] == NO_ID)
			return -ENOMEM;
	}
	proc = agg__intern_proc(r->a, pid, comm);
	if (proc == NO_ID)
		return -ENOMEM;
	flags |= (gil << AGG_STACK_GIL_SHIFT) & AGG_STACK_GIL_MASK;
	return agg__add_stack(r->a, proc, tid, tname, r->ids, n, flags, count);
}

int read_folded__parse(const char *data, size_t len, struct agg *a, char *why, size_t why_size)
{
	struct folded_reader r = { .a = a, .why = why, .why_size = why_size };
	char *buf = NULL;
	size_t cap = 0;
	int err = 0;

	for (size_t off = 0; off < len && !err;) {
		const char *nl = memchr(data + off, '\n', len - off);
		size_t n = (nl ? (size_t)(nl - data) : len) - off;

		r.lineno++;
		if (n && data[off + n - 1] == '\r')
			n--;
		/* Blank lines and comments (Austin's "# key: value") carry no stack. */
		if (n && data[off] != '#') {
			if (memchr(data + off, '\0', n)) {
				err = bad(&r, "a NUL byte: not text");
				break;
			}
			if (array__reserve((void **)&buf, &cap, n + 1, 1)) {
				err = -ENOMEM;
				break;
			}
			memcpy(buf, data + off, n);
			buf[n] = '\0';
			err = folded_line(&r, buf, n);
		}
		off = nl ? (size_t)(nl - data) + 1 : len;
	}
	free(buf);
	free(r.ids);
	return err;
}
