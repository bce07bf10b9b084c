// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include "focus.h"

#define LABEL_MAX 4096

struct focus_ctx {
	const struct agg *in;
	struct agg *out;
	const regex_t *re;
	__u32 *ids;		/* re-interned frame ids of one stack */
	size_t cap;
	int err;
};

static bool frame_matches(const regex_t *re, const struct agg_frame *fr)
{
	char label[LABEL_MAX];

	if (!regexec(re, fr->qualname, 0, NULL, 0))
		return true;
	snprintf(label, sizeof(label), "%s (%s:%d)", fr->qualname, fr->file, fr->first_line);
	return !regexec(re, label, 0, NULL, 0);
}

static int focus_stack(const struct agg_stack *s, void *ctx)
{
	struct focus_ctx *c = ctx;
	const struct agg_proc *proc;
	size_t start = s->nframes, n;
	__u32 proc_id;

	for (size_t i = 0; i < s->nframes; i++) {
		const struct agg_frame *fr = agg__frame(c->in, s->frame_ids[i]);

		if (fr && frame_matches(c->re, fr)) {
			start = i;
			break;
		}
	}
	if (start == s->nframes)
		return 0;
	n = s->nframes - start;
	if (n > c->cap) {
		__u32 *v = realloc(c->ids, n * sizeof(*v));

		if (!v)
			goto err_nomem;
		c->ids = v;
		c->cap = n;
	}
	for (size_t i = 0; i < n; i++) {
		const struct agg_frame *fr = agg__frame(c->in, s->frame_ids[start + i]);

		c->ids[i] = agg__intern_frame(c->out, fr->qualname, fr->file, fr->first_line,
					      fr->line);
		if (c->ids[i] == (__u32)-1)
			goto err_nomem;
	}
	proc = agg__proc(c->in, s->proc_id);
	proc_id = agg__intern_proc(c->out, proc->pid, proc->comm);
	if (proc_id == (__u32)-1 ||
	    agg__set_proc_origin(c->out, proc_id, proc->service, proc->container_id))
		goto err_nomem;
	/* Re-rooted: whatever was cut off above was not truncation. */
	if (agg__add_stack(c->out, proc_id, s->tid, s->thread_name, c->ids, n,
			   start ? s->flags & ~AGG_STACK_TRUNCATED : s->flags, s->count))
		goto err_nomem;
	return 0;
err_nomem:
	c->err = -1;
	return 1;
}

struct agg *focus__apply(const struct agg *a, const regex_t *re)
{
	struct focus_ctx c = { .in = a, .re = re };

	c.out = agg__new();
	if (!c.out)
		return NULL;
	agg__for_each_stack(a, focus_stack, &c);
	free(c.ids);
	if (c.err) {
		agg__free(c.out);
		return NULL;
	}
	return c.out;
}
