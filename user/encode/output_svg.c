// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An interactive flame graph: one self-contained SVG file (inline CSS
 * and script, nothing fetched) in the layout of flamegraph.pl, the root
 * at the bottom, callees above their callers, x the share of samples.
 *
 * Every stack becomes a path of labels, "all", the process, the thread
 * (--threads), "[truncated]", then the Python frames root first. Paths
 * are merged into a tree where siblings with equal labels are one node,
 * and siblings are drawn sorted by label, so the picture depends only on
 * the counts. Nodes narrower than SVG_MIN_WIDTH_PX are not drawn, nor is
 * anything above them: their samples stay in their parent's width. That
 * bounds the size of the file by the width, not by the number of stacks.
 *
 * Each frame is one element, as the browser's work grows with their
 * number, and a <text> when some of its label fits:
 *
 *	<rect data-x=FIRST data-n=SAMPLES data-d=DEPTH data-l=LABEL .../>
 *
 * FIRST is the frame's first sample from the left, so the script can
 * zoom and measure searches in exact sample counts. The full labels are
 * written once each, one a line, in <metadata id="labels">; LABEL is the
 * line. Labels reach the file only as XML-escaped text, never in an
 * attribute or the script, and the script reads them with textContent
 * and writes them with textContent: names from the profiled programs
 * cannot add markup or code.
 *
 * The script adds a tooltip, click to zoom (callers dimmed below), and
 * a search box (Ctrl-F, regex or text) that highlights the matches and
 * shows their share of all samples, each sample counted once.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "array.h"
#include "hmap.h"
#include "output.h"
#include "output_diff.h"

#define SVG_WIDTH		1200	/* px, the whole image */
#define SVG_PAD_X		10	/* px left and right of the frames */
#define SVG_TOP			62	/* px above the frames: title, controls */
#define SVG_BOTTOM		30	/* px below them: the details line */
#define SVG_FRAME_H		16	/* px per stack level, a 1 px gap included */
/* Narrower frames are not drawn, like flamegraph.pl --minwidth: 11800 a level at most. */
#define SVG_MIN_WIDTH_PX	0.1
/* The advance of the CSS font, 12 px DejaVu Sans Mono (0.6 em, like most monospace). */
#define SVG_CHAR_W		7.25
#define SVG_TEXT_PAD		3	/* px between a frame's edge and its text */
#define SVG_TEXT_DY		11.5	/* baseline below a frame's top */
#define SVG_MIN_CHARS		3	/* fewer characters of a label are not shown */

#define NO_ID UINT32_MAX

/*
 * A diff (output_svg_diff): a frame's colour is the change of its share,
 * full red (grew) or blue (shrank) at this many percentage points.
 */
#define DIFF_FULL_POINTS	10.0
#define DIFF_SAME_FILL		"#f2f2ef"
#define DIFF_BASE_ONLY_FILL	"#cdcdcd"

enum svg_kind {
	KIND_ALL,
	KIND_PROC,
	KIND_THREAD,
	KIND_TRUNCATED,
	KIND_PYTHON,
};

struct svg_label {
	char *text;
	size_t len;
	__u32 next;		/* next label of the same hash, or NO_ID */
	enum svg_kind kind;
	__u32 dict;		/* index in the file's label list, NO_ID until drawn */
	char fill[8];		/* "#rrggbb" */
};

struct svg_node {
	__u32 label;
	__u32 child;		/* first child, or NO_ID */
	__u32 sibling;		/* next sibling, or NO_ID */
	__u64 count;		/* samples; a diff's width units */
	__u64 side[2];		/* a diff's samples in BASE and NEW */
};

struct svg {
	const struct agg *a;
	const struct diff *diff;	/* a diff's graph, not a profile's */
	bool threads;
	struct svg_label *labels;
	size_t nlabels, labels_cap;
	struct hmap *label_ids;	/* hash of (kind, text) -> first label */
	struct svg_node *nodes;	/* [0] is "all" */
	size_t nnodes, nodes_cap;
	struct hmap *child_ids;	/* (parent node, label) -> child node */
	__u32 *frame_labels;	/* agg frame id -> label, NO_ID until needed */
	size_t nframe_labels;
	__u32 *proc_labels;	/* agg proc id -> label, NO_ID until needed */
	size_t nproc_labels;
	__u32 truncated_label;
	__u32 *dict;		/* labels of the drawn frames, by first use */
	size_t ndict;
	char *buf;		/* scratch for labels */
	size_t buf_size;
	/* Layout */
	double px_per_sample;
	size_t max_depth;	/* of the drawn frames */
	size_t drawn;		/* frames wide enough to draw */
	FILE *f;
};

struct child_key {
	__u32 parent;
	__u32 label;
};

/*
 * Decode one UTF-8 sequence of the @len > 0 bytes at @s into *@cp.
 * Anything that is not strict UTF-8 (stray continuation, overlong,
 * surrogate, past U+10FFFF, cut short) is one byte of U+FFFD.
 */
static size_t utf8_next(const unsigned char *s, size_t len, __u32 *cp)
{
	unsigned char c = s[0];
	__u32 v, min;
	size_t need;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if (c >= 0xc2 && c <= 0xdf) {
		need = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		need = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		need = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		goto bad;
	}
	if (len < need)
		goto bad;
	for (size_t i = 1; i < need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			goto bad;
		v = v << 6 | (s[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		goto bad;
	*cp = v;
	return need;
bad:
	*cp = 0xfffd;
	return 1;
}

static size_t utf8_count(const char *s, size_t len)
{
	size_t n = 0;
	__u32 cp;

	for (size_t i = 0; i < len; n++)
		i += utf8_next((const unsigned char *)s + i, len - i, &cp);
	return n;
}

/* Printable ASCII that means nothing to XML: copied as it is. */
static bool xml_plain(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '&' && c != '<' && c != '>' && c != '"' &&
	       c != '\'';
}

/*
 * Write at most @max_chars characters of @s as XML character data that
 * is also safe in an attribute value: the five markup characters become
 * references, and what XML 1.0 does not allow, or would act on (control
 * characters, U+FFFE/U+FFFF, invalid UTF-8), becomes '?' or U+FFFD.
 * Labels are sanitized already; this does not rely on it.
 */
static void xml_text(FILE *f, const char *s, size_t len, size_t max_chars)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, chars = 0;

	while (i < len && chars < max_chars) {
		size_t run = 0, n;
		__u32 cp;

		while (i + run < len && chars + run < max_chars && xml_plain(p[i + run]))
			run++;
		if (run) {
			fwrite(p + i, 1, run, f);
			i += run;
			chars += run;
			continue;
		}
		n = utf8_next(p + i, len - i, &cp);
		switch (cp) {
		case '&':
			fputs("&amp;", f);
			break;
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		case '\'':
			fputs("&#39;", f);
			break;
		default:
			/* C0 (tab and newline too: a label is one line), DEL, C1. */
			if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
				fputc('?', f);
			else if (cp >= 0xfffd && cp <= 0xffff)
				fputs("\xef\xbf\xbd", f);
			else
				fwrite(p + i, 1, n, f);
			break;
		}
		i += n;
		chars++;
	}
}

static void xml_str(FILE *f, const char *s)
{
	xml_text(f, s, strlen(s), SIZE_MAX);
}

/* "#rrggbb" from hue (degrees), saturation and lightness (0..1). */
static void hsl_fill(char out[8], double h, double s, double l)
{
	double c = (1 - fabs(2 * l - 1)) * s, hp = h / 60;
	double x = c * (1 - fabs(fmod(hp, 2) - 1)), m = l - c / 2;
	double r = 0, g = 0, b = 0;

	if (hp < 1) {
		r = c;
		g = x;
	} else if (hp < 2) {
		r = x;
		g = c;
	} else if (hp < 3) {
		g = c;
		b = x;
	} else if (hp < 4) {
		g = x;
		b = c;
	} else if (hp < 5) {
		r = x;
		b = c;
	} else {
		r = c;
		b = x;
	}
	snprintf(out, 8, "#%02x%02x%02x", (unsigned int)lround((r + m) * 255),
		 (unsigned int)lround((g + m) * 255), (unsigned int)lround((b + m) * 255));
}

/*
 * Python frames are warm (red to amber), the colour fixed by the
 * function's name so it is the same in every graph; processes are
 * blue-grey and threads grey-green, so the program's own frames stand
 * out; [truncated] and "all" are neutral grey.
 */
static void label_fill(struct svg_label *l, const char *key)
{
	__u64 h = hash_bytes(key, strlen(key));
	double u1 = (double)(h & 0xffff) / 0xffff;
	double u2 = (double)((h >> 16) & 0xffff) / 0xffff;
	double u3 = (double)((h >> 32) & 0xffff) / 0xffff;

	switch (l->kind) {
	case KIND_PYTHON:
		hsl_fill(l->fill, 4 + 44 * u1, 0.72 + 0.2 * u2, 0.6 + 0.08 * u3);
		break;
	case KIND_PROC:
		hsl_fill(l->fill, 200 + 25 * u1, 0.22 + 0.15 * u2, 0.7 + 0.06 * u3);
		break;
	case KIND_THREAD:
		hsl_fill(l->fill, 150 + 25 * u1, 0.18 + 0.12 * u2, 0.72 + 0.06 * u3);
		break;
	case KIND_TRUNCATED:
		strcpy(l->fill, "#c4c4c4");
		break;
	case KIND_ALL:
		strcpy(l->fill, "#d5d8dc");
		break;
	}
}

/* The label @text of @kind, interned; NO_ID when out of memory. */
static __u32 svg__label(struct svg *sv, enum svg_kind kind, const char *text, size_t len,
			const char *colour_key)
{
	__u64 h = hash_bytes(text, len) ^ ((__u64)kind * 0x9e3779b97f4a7c15ULL);
	struct svg_label *l;
	bool created;
	__u32 *head, id;

	head = hmap__insert(sv->label_ids, &h, &created);
	if (!head)
		return NO_ID;
	if (created) {
		*head = NO_ID;
	} else {
		for (id = *head; id != NO_ID; id = sv->labels[id].next) {
			l = &sv->labels[id];
			if (l->kind == kind && l->len == len && !memcmp(l->text, text, len))
				return id;
		}
	}
	if (sv->nlabels >= NO_ID ||
	    array__reserve((void **)&sv->labels, &sv->labels_cap, sv->nlabels + 1,
			   sizeof(*sv->labels)))
		return NO_ID;
	l = &sv->labels[sv->nlabels];
	l->text = malloc(len + 1);
	if (!l->text)
		return NO_ID;
	memcpy(l->text, text, len);
	l->text[len] = '\0';
	l->len = len;
	l->kind = kind;
	l->dict = NO_ID;
	l->next = *head;
	label_fill(l, colour_key);
	*head = (__u32)sv->nlabels++;
	return *head;
}

/* Room for a label of @n characters in sv->buf. */
static int svg__buf(struct svg *sv, int n)
{
	char *nb;

	if (n < 0)
		return n;
	if ((size_t)n < sv->buf_size)
		return 0;
	nb = realloc(sv->buf, (size_t)n + 1);
	if (!nb)
		return -ENOMEM;
	sv->buf = nb;
	sv->buf_size = (size_t)n + 1;
	return 0;
}

static __u32 svg__python_label(struct svg *sv, const struct agg_frame *fr)
{
	int n = output__frame_label(fr, NULL, 0);

	if (svg__buf(sv, n))
		return NO_ID;
	output__frame_label(fr, sv->buf, (size_t)n + 1);
	return svg__label(sv, KIND_PYTHON, sv->buf, (size_t)n, fr->qualname ? fr->qualname : "?");
}

static __u32 svg__frame_label(struct svg *sv, __u32 frame_id)
{
	static const struct agg_frame unknown = { .qualname = "[unknown]", .file = "?",
						  .line = -1 };
	const struct agg_frame *fr = agg__frame(sv->a, frame_id);
	size_t old = sv->nframe_labels, cap;
	__u32 *nl;

	if (!fr)
		return svg__python_label(sv, &unknown);
	if (frame_id >= old) {
		/* Ids are dense: the array ends up as long as the agg's frames. */
		cap = old ? old : 256;
		while (cap <= frame_id)
			cap *= 2;
		nl = realloc(sv->frame_labels, cap * sizeof(*nl));
		if (!nl)
			return NO_ID;
		for (size_t i = old; i < cap; i++)
			nl[i] = NO_ID;
		sv->frame_labels = nl;
		sv->nframe_labels = cap;
	}
	if (sv->frame_labels[frame_id] == NO_ID)
		sv->frame_labels[frame_id] = svg__python_label(sv, fr);
	return sv->frame_labels[frame_id];
}

static __u32 svg__proc_label(struct svg *sv, __u32 proc_id)
{
	static const struct agg_proc unknown = { .pid = 0, .comm = "?" };
	const struct agg_proc *p = agg__proc(sv->a, proc_id);
	__u32 *cached = p && proc_id < sv->nproc_labels ? &sv->proc_labels[proc_id] : NULL;
	__u32 id;
	int n;

	if (cached && *cached != NO_ID)
		return *cached;
	if (!p)
		p = &unknown;
	n = output__proc_label(p, NULL, 0);
	if (svg__buf(sv, n))
		return NO_ID;
	output__proc_label(p, sv->buf, (size_t)n + 1);
	id = svg__label(sv, KIND_PROC, sv->buf, (size_t)n, sv->buf);
	if (cached)
		*cached = id;
	return id;
}

static __u32 svg__thread_label(struct svg *sv, __u32 tid, const char *name, __u32 gil)
{
	int n = output__thread_label(tid, name, gil, NULL, 0);

	if (svg__buf(sv, n))
		return NO_ID;
	output__thread_label(tid, name, gil, sv->buf, (size_t)n + 1);
	return svg__label(sv, KIND_THREAD, sv->buf, (size_t)n, sv->buf);
}

/* The child of @parent with @label, created when missing; NO_ID without memory. */
static __u32 svg__child(struct svg *sv, __u32 parent, __u32 label)
{
	struct child_key key = { .parent = parent, .label = label };
	struct svg_node *n;
	bool created;
	__u32 *id;

	if (label == NO_ID)
		return NO_ID;
	id = hmap__insert(sv->child_ids, &key, &created);
	if (!id)
		return NO_ID;
	if (!created)
		return *id;
	if (sv->nnodes >= NO_ID ||
	    array__reserve((void **)&sv->nodes, &sv->nodes_cap, sv->nnodes + 1,
			   sizeof(*sv->nodes))) {
		hmap__delete(sv->child_ids, &key);
		return NO_ID;
	}
	n = &sv->nodes[sv->nnodes];
	n->label = label;
	n->child = NO_ID;
	n->count = 0;
	n->side[DIFF_BASE] = 0;
	n->side[DIFF_NEW] = 0;
	n->sibling = sv->nodes[parent].child;
	sv->nodes[parent].child = (__u32)sv->nnodes;
	*id = (__u32)sv->nnodes++;
	return *id;
}

/* Go one level up the tree from *@node, counting @count samples there. */
static int svg__step(struct svg *sv, __u32 *node, __u32 label, __u64 count)
{
	*node = svg__child(sv, *node, label);
	if (*node == NO_ID)
		return -ENOMEM;
	sv->nodes[*node].count += count;
	return 0;
}

/* A diff's stack: widths from both sides' samples, which are kept too. */
static int svg__add_diff_stack(struct svg *sv, const struct diff_stack *s)
{
	__u64 w = diff__width(sv->diff, s->count[DIFF_BASE], s->count[DIFF_NEW]);
	__u32 node = 0, label;
	int err = 0;

	for (size_t i = 0; !err && i < s->nframes + 1 + s->truncated; i++) {
		if (!i)
			label = svg__label(sv, KIND_PROC, s->root, strlen(s->root), s->root);
		else if (i == 1 && s->truncated)
			label = sv->truncated_label;
		else
			label = svg__label(sv, KIND_PYTHON, s->frames[i - 1 - s->truncated],
					   strlen(s->frames[i - 1 - s->truncated]), "");
		err = svg__step(sv, &node, label, w);
		if (!err) {
			sv->nodes[node].side[DIFF_BASE] += s->count[DIFF_BASE];
			sv->nodes[node].side[DIFF_NEW] += s->count[DIFF_NEW];
		}
	}
	sv->nodes[0].count += w;
	sv->nodes[0].side[DIFF_BASE] += s->count[DIFF_BASE];
	sv->nodes[0].side[DIFF_NEW] += s->count[DIFF_NEW];
	return err;
}

static int svg__add_stack(const struct agg_stack *s, void *ctx)
{
	struct svg *sv = ctx;
	__u32 node = 0;
	int err;

	sv->nodes[0].count += s->count;
	err = svg__step(sv, &node, svg__proc_label(sv, s->proc_id), s->count);
	if (!err && sv->threads)
		err = svg__step(sv, &node, svg__thread_label(sv, s->tid, s->thread_name,
							       agg_stack_gil(s->flags)), s->count);
	if (!err && (s->flags & AGG_STACK_TRUNCATED))
		err = svg__step(sv, &node, sv->truncated_label, s->count);
	for (size_t i = 0; !err && i < s->nframes; i++)
		err = svg__step(sv, &node, svg__frame_label(sv, s->frame_ids[i]), s->count);
	return err;
}

struct sibling {
	const struct svg_label *label;
	__u32 node;
};

static int sibling_cmp(const void *pa, const void *pb)
{
	const struct sibling *x = pa, *y = pb;
	int c = strcmp(x->label->text, y->label->text);

	if (c)
		return c;
	if (x->label->kind != y->label->kind)
		return x->label->kind < y->label->kind ? -1 : 1;
	return (x->node > y->node) - (x->node < y->node);
}

/* Relink every node's children in label order, left to right. */
static int svg__sort(struct svg *sv)
{
	struct sibling *sib = NULL;
	size_t cap = 0;

	for (size_t p = 0; p < sv->nnodes; p++) {
		size_t n = 0;

		for (__u32 c = sv->nodes[p].child; c != NO_ID; c = sv->nodes[c].sibling) {
			if (array__reserve((void **)&sib, &cap, n + 1, sizeof(*sib))) {
				free(sib);
				return -ENOMEM;
			}
			sib[n].label = &sv->labels[sv->nodes[c].label];
			sib[n++].node = c;
		}
		if (n < 2)
			continue;
		qsort(sib, n, sizeof(*sib), sibling_cmp);
		sv->nodes[p].child = sib[0].node;
		for (size_t i = 0; i < n; i++)
			sv->nodes[sib[i].node].sibling = i + 1 < n ? sib[i + 1].node : NO_ID;
	}
	free(sib);
	return 0;
}

static bool svg__drawn(const struct svg *sv, __u32 node)
{
	return (double)sv->nodes[node].count * sv->px_per_sample >= SVG_MIN_WIDTH_PX;
}

/* Count the frames that will be drawn, and how high they stack. */
static void svg__measure(struct svg *sv, __u32 node, size_t depth)
{
	if (!svg__drawn(sv, node))
		return;
	sv->drawn++;
	if (depth > sv->max_depth)
		sv->max_depth = depth;
	for (__u32 c = sv->nodes[node].child; c != NO_ID; c = sv->nodes[c].sibling)
		svg__measure(sv, c, depth + 1);
}

/*
 * A diff's frame: light when its share held, redder the more it grew,
 * bluer the more it shrank, grey when it is only in BASE.
 */
static void svg__diff_fill(const struct svg *sv, const struct svg_node *n, char out[8])
{
	static const double same[3] = { 0xf2, 0xf2, 0xef };
	static const double grew[3] = { 0xe0, 0x30, 0x1e }, shrank[3] = { 0x2b, 0x6f, 0xd6 };
	const double *to;
	double d, t;

	if (!n->side[DIFF_NEW]) {
		strcpy(out, DIFF_BASE_ONLY_FILL);
		return;
	}
	d = diff__percent(sv->diff, DIFF_NEW, n->side[DIFF_NEW]) -
	    diff__percent(sv->diff, DIFF_BASE, n->side[DIFF_BASE]);
	t = fmin(fabs(d) / DIFF_FULL_POINTS, 1.0);
	to = d > 0 ? grew : shrank;
	snprintf(out, 8, "#%02x%02x%02x", (unsigned int)lround(same[0] + (to[0] - same[0]) * t),
		 (unsigned int)lround(same[1] + (to[1] - same[1]) * t),
		 (unsigned int)lround(same[2] + (to[2] - same[2]) * t));
}

/* Draw @node, whose first sample is @x, and what it calls. */
static int svg__emit(struct svg *sv, __u32 node, size_t depth, __u64 x)
{
	const struct svg_node *n = &sv->nodes[node];
	struct svg_label *l = &sv->labels[n->label];
	double w = (double)n->count * sv->px_per_sample;
	double px = SVG_PAD_X + (double)x * sv->px_per_sample;
	size_t y = SVG_TOP + (sv->max_depth - depth) * SVG_FRAME_H;
	double fit = floor((w - 2 * SVG_TEXT_PAD) / SVG_CHAR_W);
	const char *fill = l->fill;
	char diff_fill[8], sides[64] = "";
	FILE *f = sv->f;
	int err;

	if (!svg__drawn(sv, node))
		return 0;
	if (l->dict == NO_ID) {
		l->dict = (__u32)sv->ndict;
		sv->dict[sv->ndict++] = n->label;
	}
	if (sv->diff) {
		svg__diff_fill(sv, n, diff_fill);
		fill = diff_fill;
		snprintf(sides, sizeof(sides), " data-b=\"%llu\" data-c=\"%llu\"",
			 (unsigned long long)n->side[DIFF_BASE],
			 (unsigned long long)n->side[DIFF_NEW]);
	}
	/* One element a frame: the file's size and the browser's work are per element. */
	fprintf(f, "<rect data-x=\"%llu\" data-n=\"%llu\" data-d=\"%zu\" data-l=\"%u\"%s%s "
		"x=\"%.1f\" y=\"%zu\" width=\"%.1f\" height=\"%d\" fill=\"%s\"/>",
		(unsigned long long)x, (unsigned long long)n->count, depth, l->dict, sides,
		l->kind == KIND_TRUNCATED ? " class=\"tr\"" : "", px, y, w, SVG_FRAME_H - 1,
		fill);
	if (fit >= SVG_MIN_CHARS) {
		size_t max = (size_t)fit, chars = utf8_count(l->text, l->len);

		/* All of the label, or at least SVG_MIN_CHARS of it and "..". */
		if (chars <= max || max >= SVG_MIN_CHARS + 2) {
			fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", px + SVG_TEXT_PAD,
				y + SVG_TEXT_DY);
			if (chars <= max) {
				xml_text(f, l->text, l->len, SIZE_MAX);
			} else {
				xml_text(f, l->text, l->len, max - 2);
				fputs("..", f);
			}
			fputs("</text>", f);
		}
	}
	fputc('\n', f);
	/* Stop early on a dead pipe or a full disk. */
	if (ferror(f))
		return -EIO;
	for (__u32 c = n->child; c != NO_ID; c = sv->nodes[c].sibling) {
		err = svg__emit(sv, c, depth + 1, x);
		if (err)
			return err;
		x += sv->nodes[c].count;
	}
	return 0;
}

/*
 * The full labels of the drawn frames, one a line, in the order of
 * their data-l: each is written once, however many frames show it.
 */
static void svg__labels(struct svg *sv)
{
	fputs("<metadata id=\"labels\">", sv->f);
	for (size_t i = 0; i < sv->ndict; i++) {
		const struct svg_label *l = &sv->labels[sv->dict[i]];

		if (i)
			fputc('\n', sv->f);
		xml_text(sv->f, l->text, l->len, SIZE_MAX);
	}
	fputs("</metadata>\n", sv->f);
}

static const char svg_style[] =
	"text { font: 12px \"DejaVu Sans Mono\", Menlo, Consolas, monospace; fill: #000; }\n"
	"#bg { fill: #f7f7f5; }\n"
	"#title { font: bold 17px \"DejaVu Sans\", Verdana, sans-serif; text-anchor: middle; }\n"
	"#subtitle { fill: #555; }\n"
	"#matched { text-anchor: end; }\n"
	".btn { fill: #1a56b0; cursor: pointer; text-decoration: underline; }\n"
	".btn:hover { fill: #c0392b; }\n"
	".hidden, #frames .h { display: none; }\n"
	"#frames rect { cursor: pointer; rx: 2px; ry: 2px; }\n"
	"#frames text { pointer-events: none; }\n"
	"#frames rect:hover { stroke: #111; stroke-width: 1px; }\n"
	"#frames rect.tr { stroke: #666; stroke-dasharray: 3 2; }\n"
	"#frames .a { opacity: 0.5; }\n"
	"#frames rect.m { fill: #c238e0; }\n"
	"#tip { pointer-events: none; }\n"
	"#tip rect { fill: #fffff4; stroke: #888; }\n"
	"#tip .n { fill: #444; }\n"
	"input {\n"
	"\tfont: 12px \"DejaVu Sans Mono\", monospace; width: 100%; height: 100%;\n"
	"\tbox-sizing: border-box; padding: 1px 5px; border: 1px solid #999; border-radius: 3px;\n"
	"}\n"
	;

/*
 * The script is constant: no data is ever written into it, it reads
 * everything from the document. It sits in a CDATA section, so it must
 * never contain the three characters that end one.
 */
static const char svg_script[] =
	"\"use strict\";\n"
	"(function () {\n"
	"\tvar NS = \"http://www.w3.org/2000/svg\";\n"
	"\tvar doc = document, svg = doc.documentElement, ds = svg.dataset;\n"
	"\tvar total = +ds.total, pad = +ds.pad, fw = +ds.fw, cw = +ds.cw;\n"
	"\tvar tpad = +ds.tpad, ty = +ds.ty, minw = +ds.minw;\n"
	"\t/* A diff: shares are over these totals (BASE's, NEW's). */\n"
	"\tvar bt = +ds.bt, nt = +ds.nt;\n"
	"\tvar width = +svg.getAttribute(\"width\"), height = +svg.getAttribute(\"height\");\n"
	"\tvar frames = doc.getElementById(\"frames\");\n"
	"\tvar details = doc.getElementById(\"details\");\n"
	"\tvar matched = doc.getElementById(\"matched\");\n"
	"\tvar unzoomBtn = doc.getElementById(\"unzoom\");\n"
	"\tvar searchBtn = doc.getElementById(\"search\");\n"
	"\tvar clearBtn = doc.getElementById(\"clear\");\n"
	"\tvar input = doc.getElementById(\"term\");\n"
	"\tvar tip = doc.getElementById(\"tip\");\n"
	"\tvar tipBox = tip.querySelector(\"rect\"), tipText = tip.querySelector(\"text\");\n"
	"\t/* One label a line, by the frames' data-l. */\n"
	"\tvar labels = doc.getElementById(\"labels\").textContent.split(\"\\n\");\n"
	"\tvar hint = details.textContent;\n"
	"\tvar list = null, last = null, zoomed = null;\n"
	"\n"
	"\tfunction info(r) {\n"
	"\t\tvar l = +r.dataset.l;\n"
	"\n"
	"\t\treturn { r: r, t: null, l: l, label: labels[l] || \"\", x: +r.dataset.x,\n"
	"\t\t\t n: +r.dataset.n, d: +r.dataset.d };\n"
	"\t}\n"
	"\n"
	"\t/*\n"
	"\t * All frames, in document order: a <rect>, then its <text> when it\n"
	"\t * has one. Read on first use only, so opening the file stays fast.\n"
	"\t */\n"
	"\tfunction all() {\n"
	"\t\tif (!list) {\n"
	"\t\t\tlist = [];\n"
	"\t\t\tfor (var e = frames.firstElementChild; e; e = e.nextElementSibling) {\n"
	"\t\t\t\tif (e.localName === \"rect\")\n"
	"\t\t\t\t\tlist.push(info(e));\n"
	"\t\t\t\telse if (e.localName === \"text\" && list.length)\n"
	"\t\t\t\t\tlist[list.length - 1].t = e;\n"
	"\t\t\t}\n"
	"\t\t}\n"
	"\t\treturn list;\n"
	"\t}\n"
	"\n"
	"\tfunction pct(n, of) {\n"
	"\t\treturn (of ? 100 * n / of : 0).toFixed(2) + \"%\";\n"
	"\t}\n"
	"\n"
	"\tfunction cut(s, max) {\n"
	"\t\treturn s.length <= max ? s : s.slice(0, Math.max(max - 2, 0)) + \"..\";\n"
	"\t}\n"
	"\n"
	"\tfunction mark(f, name, on) {\n"
	"\t\tf.r.classList.toggle(name, on);\n"
	"\t\tif (f.t)\n"
	"\t\t\tf.t.classList.toggle(name, on);\n"
	"\t}\n"
	"\n"
	"\t/* Place frame @f at @x, @w px wide, with as much of its label as fits. */\n"
	"\tfunction fit(f, x, w) {\n"
	"\t\tvar max = Math.floor((w - 2 * tpad) / cw), s = \"\";\n"
	"\n"
	"\t\t/* All of the label, or at least 3 characters of it and \"..\". */\n"
	"\t\tif (f.label.length <= max || max >= 5)\n"
	"\t\t\ts = cut(f.label, max);\n"
	"\n"
	"\t\tf.r.setAttribute(\"x\", x.toFixed(2));\n"
	"\t\tf.r.setAttribute(\"width\", w.toFixed(2));\n"
	"\t\tif (!f.t) {\n"
	"\t\t\tif (!s)\n"
	"\t\t\t\treturn;\n"
	"\t\t\tf.t = doc.createElementNS(NS, \"text\");\n"
	"\t\t\tf.t.setAttribute(\"y\", (+f.r.getAttribute(\"y\") + ty).toFixed(1));\n"
	"\t\t\tf.r.after(f.t);\n"
	"\t\t}\n"
	"\t\tf.t.setAttribute(\"x\", (x + tpad).toFixed(2));\n"
	"\t\tf.t.textContent = s;\n"
	"\t}\n"
	"\n"
	"\t/*\n"
	"\t * Stretch frame @z to the full width: what it calls is rescaled, its\n"
	"\t * callers span the width dimmed, everything else is hidden.\n"
	"\t */\n"
	"\tfunction zoom(z) {\n"
	"\t\tvar fs = all(), scale = fw / z.n;\n"
	"\n"
	"\t\tfor (var i = 0; i < fs.length; i++) {\n"
	"\t\t\tvar f = fs[i], show = false, anc = false, w;\n"
	"\n"
	"\t\t\tif (f.d >= z.d && f.x >= z.x && f.x + f.n <= z.x + z.n) {\n"
	"\t\t\t\tw = f.n * scale;\n"
	"\t\t\t\tshow = w >= minw;\n"
	"\t\t\t\tif (show)\n"
	"\t\t\t\t\tfit(f, pad + (f.x - z.x) * scale, w);\n"
	"\t\t\t} else if (f.d < z.d && f.x <= z.x && f.x + f.n >= z.x + z.n) {\n"
	"\t\t\t\tshow = anc = true;\n"
	"\t\t\t\tfit(f, pad, fw);\n"
	"\t\t\t}\n"
	"\t\t\tmark(f, \"h\", !show);\n"
	"\t\t\tmark(f, \"a\", anc);\n"
	"\t\t}\n"
	"\t\tzoomed = z.d > 0 ? z : null;\n"
	"\t\tunzoomBtn.classList.toggle(\"hidden\", !zoomed);\n"
	"\t}\n"
	"\n"
	"\tfunction reset() {\n"
	"\t\tzoom({ x: 0, n: total, d: 0 });\n"
	"\t}\n"
	"\n"
	"\t/*\n"
	"\t * Highlight the frames whose label matches @term, a regular\n"
	"\t * expression, or plain text when it is not one. The matched share\n"
	"\t * counts each sample once: a match inside another adds nothing.\n"
	"\t */\n"
	"\tfunction search(term) {\n"
	"\t\tvar fs = all(), re = null, hit = [], hits = [], sum = 0, end = -1, i, p;\n"
	"\n"
	"\t\tterm = term || \"\";\n"
	"\t\tif (term) {\n"
	"\t\t\ttry {\n"
	"\t\t\t\tre = new RegExp(term);\n"
	"\t\t\t} catch (err) {\n"
	"\t\t\t\tre = null;\n"
	"\t\t\t}\n"
	"\t\t}\n"
	"\t\tfor (i = 0; i < labels.length; i++)\n"
	"\t\t\thit.push(!!term && (re ? re.test(labels[i]) : labels[i].indexOf(term) >= 0));\n"
	"\t\tfor (i = 0; i < fs.length; i++) {\n"
	"\t\t\tvar f = fs[i], m = f.d > 0 && hit[f.l];\n"
	"\n"
	"\t\t\t/* Depth 0 is \"all\", no program's frame. */\n"
	"\t\t\tf.r.classList.toggle(\"m\", m);\n"
	"\t\t\tif (m)\n"
	"\t\t\t\thits.push(f);\n"
	"\t\t}\n"
	"\t\thits.sort(function (a, b) { return a.x - b.x || b.n - a.n; });\n"
	"\t\tfor (i = 0; i < hits.length; i++) {\n"
	"\t\t\tvar h = hits[i];\n"
	"\n"
	"\t\t\tif (h.x + h.n <= end)\n"
	"\t\t\t\tcontinue;\n"
	"\t\t\tsum += h.x + h.n - Math.max(h.x, end);\n"
	"\t\t\tend = h.x + h.n;\n"
	"\t\t}\n"
	"\t\tp = total ? 100 * sum / total : 0;\n"
	"\t\tmatched.textContent = \"Matched: \" + p.toFixed(1) + \"%\";\n"
	"\t\tmatched.classList.toggle(\"hidden\", !term);\n"
	"\t\tclearBtn.classList.toggle(\"hidden\", !term);\n"
	"\t\tlast = { term: term, matched: p, samples: sum, frames: hits.length };\n"
	"\t\treturn last;\n"
	"\t}\n"
	"\n"
	"\t/* A diff's frame: its share in BASE and in NEW, and the change. */\n"
	"\tfunction change(f) {\n"
	"\t\tvar b = +f.r.dataset.b, c = +f.r.dataset.c;\n"
	"\t\tvar pb = bt ? 100 * b / bt : 0, pc = nt ? 100 * c / nt : 0, d = pc - pb;\n"
	"\n"
	"\t\tif (!c)\n"
	"\t\t\treturn \"only in base: \" + pb.toFixed(2) + \"% (\" + b + \" samples)\";\n"
	"\t\treturn \"base \" + pb.toFixed(2) + \"%, new \" + pc.toFixed(2) + \"%, \" +\n"
	"\t\t       (d < 0 ? \"\" : \"+\") + d.toFixed(2) + \" points (\" + b + \" -> \" + c +\n"
	"\t\t       \" samples)\";\n"
	"\t}\n"
	"\n"
	"\t/* The tooltip: the whole label, wrapped, then the samples. */\n"
	"\tfunction showTip(f) {\n"
	"\t\tvar max = Math.floor((fw - 40) / cw), lines = [], s = f.label, longest = 0;\n"
	"\n"
	"\t\twhile (s.length > max && lines.length < 8) {\n"
	"\t\t\tlines.push(s.slice(0, max));\n"
	"\t\t\ts = s.slice(max);\n"
	"\t\t}\n"
	"\t\tlines.push(cut(s, max));\n"
	"\t\tlines.push(ds.diff ? change(f) :\n"
	"\t\t\t   f.n + (f.n === 1 ? \" sample, \" : \" samples, \") + pct(f.n, total) +\n"
	"\t\t\t   (zoomed ? \", \" + pct(f.n, zoomed.n) + \" of the zoomed frame\" : \"\"));\n"
	"\t\ttipText.textContent = \"\";\n"
	"\t\tfor (var i = 0; i < lines.length; i++) {\n"
	"\t\t\tvar ts = doc.createElementNS(NS, \"tspan\");\n"
	"\n"
	"\t\t\tts.setAttribute(\"x\", \"6\");\n"
	"\t\t\tts.setAttribute(\"y\", String(16 + 15 * i));\n"
	"\t\t\tif (i === lines.length - 1)\n"
	"\t\t\t\tts.setAttribute(\"class\", \"n\");\n"
	"\t\t\tts.textContent = lines[i];\n"
	"\t\t\ttipText.appendChild(ts);\n"
	"\t\t\tlongest = Math.max(longest, lines[i].length);\n"
	"\t\t}\n"
	"\t\ttipBox.setAttribute(\"width\", String(longest * cw + 12));\n"
	"\t\ttipBox.setAttribute(\"height\", String(15 * lines.length + 8));\n"
	"\t\ttip.classList.remove(\"hidden\");\n"
	"\t\tdetails.textContent = cut(f.label + \" (\" + lines[lines.length - 1] + \")\",\n"
	"\t\t\t\t\t  Math.floor((fw - 150) / cw));\n"
	"\t}\n"
	"\n"
	"\tfunction moveTip(e) {\n"
	"\t\tvar m = svg.getScreenCTM(), bw = +tipBox.getAttribute(\"width\");\n"
	"\t\tvar bh = +tipBox.getAttribute(\"height\"), x, y;\n"
	"\n"
	"\t\tif (!m)\n"
	"\t\t\treturn;\n"
	"\t\tx = (e.clientX - m.e) / m.a + 14;\n"
	"\t\ty = (e.clientY - m.f) / m.d + 18;\n"
	"\t\tif (x + bw > width)\n"
	"\t\t\tx = Math.max(0, x - 28 - bw);\n"
	"\t\tif (y + bh > height)\n"
	"\t\t\ty = Math.max(0, y - 30 - bh);\n"
	"\t\ttip.setAttribute(\"transform\",\n"
	"\t\t\t\t \"translate(\" + x.toFixed(1) + \",\" + y.toFixed(1) + \")\");\n"
	"\t}\n"
	"\n"
	"\tfunction frameOf(e) {\n"
	"\t\tvar r = e.target;\n"
	"\n"
	"\t\treturn r.localName === \"rect\" && r.parentNode === frames ? r : null;\n"
	"\t}\n"
	"\n"
	"\tframes.addEventListener(\"mouseover\", function (e) {\n"
	"\t\tvar r = frameOf(e);\n"
	"\n"
	"\t\tif (r) {\n"
	"\t\t\tshowTip(info(r));\n"
	"\t\t\tmoveTip(e);\n"
	"\t\t}\n"
	"\t});\n"
	"\tframes.addEventListener(\"mousemove\", moveTip);\n"
	"\tframes.addEventListener(\"mouseout\", function () {\n"
	"\t\ttip.classList.add(\"hidden\");\n"
	"\t\tdetails.textContent = hint;\n"
	"\t});\n"
	"\tframes.addEventListener(\"click\", function (e) {\n"
	"\t\tvar r = frameOf(e);\n"
	"\n"
	"\t\tif (r) {\n"
	"\t\t\tzoom(info(r));\n"
	"\t\t\tshowTip(info(r));\n"
	"\t\t}\n"
	"\t});\n"
	"\tunzoomBtn.addEventListener(\"click\", reset);\n"
	"\tsearchBtn.addEventListener(\"click\", function () {\n"
	"\t\tsearch(input.value);\n"
	"\t});\n"
	"\tclearBtn.addEventListener(\"click\", function () {\n"
	"\t\tinput.value = \"\";\n"
	"\t\tsearch(\"\");\n"
	"\t});\n"
	"\tinput.addEventListener(\"keydown\", function (e) {\n"
	"\t\tif (e.key === \"Enter\") {\n"
	"\t\t\tsearch(input.value);\n"
	"\t\t} else if (e.key === \"Escape\") {\n"
	"\t\t\tinput.value = \"\";\n"
	"\t\t\tsearch(\"\");\n"
	"\t\t\tinput.blur();\n"
	"\t\t}\n"
	"\t});\n"
	"\t/* Ctrl-F searches the graph, not the page's text. */\n"
	"\twindow.addEventListener(\"keydown\", function (e) {\n"
	"\t\tif ((e.ctrlKey || e.metaKey) && (e.key === \"f\" || e.key === \"F\")) {\n"
	"\t\t\te.preventDefault();\n"
	"\t\t\tinput.focus();\n"
	"\t\t\tinput.select();\n"
	"\t\t}\n"
	"\t});\n"
	"\t/* file.svg?s=TERM opens with TERM searched. */\n"
	"\tif (location.search && window.URLSearchParams) {\n"
	"\t\tvar q = new URLSearchParams(location.search).get(\"s\");\n"
	"\n"
	"\t\tif (q) {\n"
	"\t\t\tinput.value = q;\n"
	"\t\t\tsearch(q);\n"
	"\t\t}\n"
	"\t}\n"
	"\twindow.pybpfprof = {\n"
	"\t\tsearch: search,\n"
	"\t\treset: reset,\n"
	"\t\tlast: function () { return last; },\n"
	"\t};\n"
	"})();\n"
	;

/* A diff's title and subtitle: what was compared, and how to read it. */
static void svg__diff_titles(struct svg *sv, char *title, size_t size, char *sub, size_t sub_size)
{
	const struct diff_opts *o = diff__opts(sv->diff);

	snprintf(title, size, "pybpfprof diff: %s -> %s", o->names[DIFF_BASE] ?: "BASE",
		 o->names[DIFF_NEW] ?: "NEW");
	snprintf(sub, sub_size, "base %llu samples, new %llu; width: the mean of both shares%s; "
		 "red grew, blue shrank (full at %g points), grey: only in base",
		 (unsigned long long)diff__total(sv->diff, DIFF_BASE),
		 (unsigned long long)diff__total(sv->diff, DIFF_NEW),
		 o->raw ? " (raw counts)" : "", DIFF_FULL_POINTS);
}

static void svg__header(struct svg *sv, const struct output_meta *m, size_t height)
{
	static const struct output_meta none = { .duration_s = 0 };
	unsigned long long total = agg__total_samples(sv->a);
	size_t nprocs = 0;
	FILE *f = sv->f;
	char title[1024], sub[512] = "";

	if (!m)
		m = &none;
	for (__u32 c = sv->nodes[0].child; c != NO_ID; c = sv->nodes[c].sibling)
		nprocs++;
	if (sv->diff)
		svg__diff_titles(sv, title, sizeof(title), sub, sizeof(sub));
	else
		snprintf(title, sizeof(title), "pybpfprof: %s%s%.1f s at %.1f Hz, %llu samples",
			 m->hostname && *m->hostname ? m->hostname : "",
			 m->hostname && *m->hostname ? ", " : "", m->duration_s, m->frequency_hz,
			 total);

	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"%d\" "
		"height=\"%zu\" viewBox=\"0 0 %d %zu\" data-total=\"%llu\" data-pad=\"%d\" "
		"data-fw=\"%d\" data-cw=\"%g\" data-tpad=\"%d\" data-ty=\"%g\" data-minw=\"%g\"",
		SVG_WIDTH, height, SVG_WIDTH, height, (unsigned long long)sv->nodes[0].count,
		SVG_PAD_X, SVG_WIDTH - 2 * SVG_PAD_X, SVG_CHAR_W, SVG_TEXT_PAD, SVG_TEXT_DY,
		SVG_MIN_WIDTH_PX);
	/* The totals a diff's shares are of: NEW's is BASE's with raw counts. */
	if (sv->diff)
		fprintf(f, " data-diff=\"1\" data-bt=\"%llu\" data-nt=\"%llu\"",
			(unsigned long long)diff__total(sv->diff, DIFF_BASE),
			(unsigned long long)diff__total(sv->diff, diff__opts(sv->diff)->raw ?
							DIFF_BASE : DIFF_NEW));
	fputs(">\n<title>", f);
	xml_str(f, title);
	fprintf(f, "</title>\n<style>\n%s</style>\n"
		"<rect id=\"bg\" width=\"100%%\" height=\"100%%\"/>\n"
		"<text id=\"title\" x=\"%d\" y=\"24\">", svg_style, SVG_WIDTH / 2);
	xml_str(f, title);
	fprintf(f, "</text>\n<text id=\"subtitle\" x=\"%d\" y=\"46\">", SVG_PAD_X);
	if (sv->diff) {
		xml_str(f, sub);
	} else {
		if (m->start_unix_ns) {
			time_t t = (time_t)(m->start_unix_ns / 1000000000ULL);
			char when[64];
			struct tm tm;

			if (gmtime_r(&t, &tm) &&
			    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm))
				fprintf(f, "started %s, ", when);
		}
		fprintf(f, "%zu process%s, %zu stack%s", nprocs, nprocs == 1 ? "" : "es",
			agg__nr_stacks(sv->a), agg__nr_stacks(sv->a) == 1 ? "" : "s");
		if (sv->nodes[0].count && sv->drawn < sv->nnodes)
			fprintf(f, ", %zu frames under %g px not drawn", sv->nnodes - sv->drawn,
				SVG_MIN_WIDTH_PX);
	}
	fprintf(f, "</text>\n"
		"<text id=\"unzoom\" class=\"btn hidden\" x=\"%d\" y=\"24\">Reset zoom</text>\n"
		"<foreignObject x=\"%d\" y=\"32\" width=\"220\" height=\"20\">"
		"<input xmlns=\"http://www.w3.org/1999/xhtml\" id=\"term\" type=\"text\" "
		"placeholder=\"regex or text (Ctrl-F)\" spellcheck=\"false\" "
		"autocomplete=\"off\"/></foreignObject>\n"
		"<text id=\"search\" class=\"btn\" x=\"%d\" y=\"46\">Search</text>\n"
		"<text id=\"clear\" class=\"btn hidden\" x=\"%d\" y=\"46\">Clear</text>\n",
		SVG_PAD_X, SVG_WIDTH - SVG_PAD_X - 330, SVG_WIDTH - SVG_PAD_X - 102,
		SVG_WIDTH - SVG_PAD_X - 44);
}

static void svg__footer(struct svg *sv, size_t height)
{
	fprintf(sv->f, "<text id=\"details\" x=\"%d\" y=\"%zu\">%s</text>\n"
		"<text id=\"matched\" class=\"hidden\" x=\"%d\" y=\"%zu\"></text>\n"
		"<g id=\"tip\" class=\"hidden\"><rect rx=\"3\" ry=\"3\"/><text></text></g>\n"
		"<script type=\"text/ecmascript\"><![CDATA[\n%s]]></script>\n"
		"</svg>\n", SVG_PAD_X, height - 10,
		sv->nodes[0].count ? "Hover a frame for details, click to zoom, Ctrl-F to search"
				   : "No samples",
		SVG_WIDTH - SVG_PAD_X, height - 10, svg_script);
}

static void svg__free(struct svg *sv)
{
	for (size_t i = 0; i < sv->nlabels; i++)
		free(sv->labels[i].text);
	free(sv->labels);
	free(sv->nodes);
	free(sv->frame_labels);
	free(sv->proc_labels);
	free(sv->buf);
	free(sv->dict);
	hmap__free(sv->label_ids);
	hmap__free(sv->child_ids);
}

/* The tree's root, "all", and the labels every graph has. */
static int svg__init(struct svg *sv, size_t nprocs)
{
	sv->label_ids = hmap__new(sizeof(__u64), sizeof(__u32));
	sv->child_ids = hmap__new(sizeof(struct child_key), sizeof(__u32));
	sv->nproc_labels = nprocs;
	sv->proc_labels = malloc((sv->nproc_labels + 1) * sizeof(*sv->proc_labels));
	if (!sv->label_ids || !sv->child_ids || !sv->proc_labels ||
	    array__reserve((void **)&sv->nodes, &sv->nodes_cap, 1, sizeof(*sv->nodes)))
		return -ENOMEM;
	for (size_t i = 0; i < sv->nproc_labels; i++)
		sv->proc_labels[i] = NO_ID;
	sv->nodes[0] = (struct svg_node){ .child = NO_ID, .sibling = NO_ID };
	sv->nnodes = 1;
	sv->nodes[0].label = svg__label(sv, KIND_ALL, "all", 3, "all");
	sv->truncated_label = svg__label(sv, KIND_TRUNCATED, "[truncated]", 11, "");
	if (sv->nodes[0].label == NO_ID || sv->truncated_label == NO_ID)
		return -ENOMEM;
	return 0;
}

/* Lay out the tree once it holds every stack, and write the file. */
static int svg__render(struct svg *sv, const struct output_meta *m)
{
	size_t height;
	int err;

	err = svg__sort(sv);
	if (err)
		return err;
	if (sv->nodes[0].count)
		sv->px_per_sample = (double)(SVG_WIDTH - 2 * SVG_PAD_X) / (double)sv->nodes[0].count;
	svg__measure(sv, 0, 0);
	sv->dict = malloc((sv->drawn + 1) * sizeof(*sv->dict));
	if (!sv->dict)
		return -ENOMEM;
	height = SVG_TOP + (sv->max_depth + 1) * SVG_FRAME_H + SVG_BOTTOM;

	svg__header(sv, m, height);
	fputs("<g id=\"frames\">\n", sv->f);
	err = svg__emit(sv, 0, 0, 0);
	if (err)
		return err;
	fputs("</g>\n", sv->f);
	svg__labels(sv);
	svg__footer(sv, height);
	if (fflush(sv->f) || ferror(sv->f))
		return -EIO;
	return 0;
}

int output_svg__write(const struct agg *a, const struct output_meta *m, FILE *f)
{
	struct svg sv = { .a = a, .f = f };
	int err;

	if (!a || !f)
		return -EINVAL;
	sv.threads = m && m->threads;
	err = svg__init(&sv, agg__nr_procs(a)) ?: agg__for_each_stack(a, svg__add_stack, &sv) ?:
	      svg__render(&sv, m);
	svg__free(&sv);
	return err;
}

/*
 * A diff's graph: NEW's flame graph with BASE's frames merged in (each
 * frame's width the mean of its two shares), coloured by the change.
 * Same layout, script and safety as a profile's.
 */
int output_diff_svg__write(const struct diff *d, FILE *f)
{
	struct svg sv = { .diff = d, .f = f };
	int err;

	if (!d || !f)
		return -EINVAL;
	err = svg__init(&sv, 0);
	for (size_t i = 0; !err && i < diff__nr_stacks(d); i++)
		err = svg__add_diff_stack(&sv, diff__stack(d, i));
	if (!err)
		err = svg__render(&sv, NULL);
	svg__free(&sv);
	return err;
}
