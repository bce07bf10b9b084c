// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Frame labels for the line-oriented formats. Names come from the
 * profiled programs, so a label is forced into one field of one line:
 * ';' separates frames in the folded format and control characters
 * would break lines or drive the terminal.
 */
#include <errno.h>
#include <stdio.h>
#include "output.h"
#include "pybpfprof.h"

/*
 * Replace, byte for byte, ';' by ':' and control characters by '?':
 * C0 and DEL, and C1 (U+0080..U+009F, UTF-8 C2 80..C2 9F) which some
 * terminals obey as escapes too. The length never changes, so the
 * snprintf()-style return value stays right.
 */
static void label_sanitize(char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = s[i];

		if (c == ';') {
			s[i] = ':';
		} else if (c < 0x20 || c == 0x7f) {
			s[i] = '?';
		} else if (c == 0xc2 && i + 1 < len && (unsigned char)s[i + 1] >= 0x80 &&
			   (unsigned char)s[i + 1] <= 0x9f) {
			s[i] = '?';
			s[++i] = '?';
		}
	}
}

/* Cut a truncated label before a partial UTF-8 sequence at its end. */
static void label_trim_utf8(char *s, size_t len)
{
	size_t i = len, need;
	unsigned char c;

	/* Find the lead byte of the last sequence: at most 3 continuations back. */
	while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return;
	c = s[i - 1];
	if (c < 0xc0)
		return;
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
	if (len - (i - 1) < need)
		s[i - 1] = '\0';
}

/*
 * After snprintf() returned @n into @buf of @size: the label made safe
 * (what fit of it), and snprintf()'s count, or -EOVERFLOW.
 */
static int label_finish(char *buf, size_t size, int n)
{
	size_t len;

	if (n < 0)
		return -EOVERFLOW;
	if (!size)
		return n;
	len = (size_t)n < size ? (size_t)n : size - 1;
	label_sanitize(buf, len);
	if ((size_t)n >= size)
		label_trim_utf8(buf, len);
	return n;
}

int output__frame_label(const struct agg_frame *fr, char *buf, size_t size)
{
	const char *qualname, *file;
	int n;

	if (!fr || (!buf && size))
		return -EINVAL;
	qualname = fr->qualname ? fr->qualname : "?";
	file = fr->file ? fr->file : "?";
	if (agg_frame_is_pseudo(fr))
		n = snprintf(buf, size, "%s", qualname);
	else if (fr->line < 0)
		n = snprintf(buf, size, "%s (%s)", qualname, file);
	else
		n = snprintf(buf, size, "%s (%s:%d)", qualname, file, fr->line);
	return label_finish(buf, size, n);
}

int output__name_label(const char *name, char *buf, size_t size)
{
	int n;

	if (!buf && size)
		return -EINVAL;
	n = snprintf(buf, size, "%s", name ? name : "?");
	return label_finish(buf, size, n);
}

int output__proc_label(const struct agg_proc *p, char *buf, size_t size)
{
	struct agg_frame pseudo = { .line = -1 };
	char pid[16];

	if (!p)
		return -EINVAL;
	/* "comm (pid)" is a frame label without a line: same sanitizing. */
	snprintf(pid, sizeof(pid), "%u", p->pid);
	pseudo.qualname = p->comm ? p->comm : "?";
	pseudo.file = pid;
	return output__frame_label(&pseudo, buf, size);
}

const char *output__gil_name(unsigned int gil)
{
	static const char *const names[] = {
		[GIL_STATE_HELD] = "held",
		[GIL_STATE_WAITING] = "waiting",
		[GIL_STATE_NONE] = "none",
		[GIL_STATE_ATTACHED] = "attached",
	};

	return gil < sizeof(names) / sizeof(names[0]) ? names[gil] : NULL;
}

int output__thread_label(__u32 tid, const char *name, unsigned int gil, char *buf, size_t size)
{
	struct agg_frame pseudo = { .line = -1 };
	const char *g = output__gil_name(gil);
	char id[48];

	if (g)
		snprintf(id, sizeof(id), "tid %u, GIL %s", tid, g);
	else
		snprintf(id, sizeof(id), "tid %u", tid);
	if (!name || !*name) {
		pseudo.qualname = "thread";
		pseudo.file = id;
	} else {
		pseudo.qualname = name;
		pseudo.file = id;
	}
	return output__frame_label(&pseudo, buf, size);
}
