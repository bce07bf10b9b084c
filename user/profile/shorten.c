// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Short file names for the readable formats (shorten.h says which). A
 * file's short name is a suffix of its path, from just after a '/', so
 * lengthening one to tell it from another is only moving that start
 * back a directory at a time.
 */
#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "hmap.h"
#include "shorten.h"

#define NO_ID ((__u32)-1)
/* Main scripts' directories looked at; a host runs a handful of programs. */
#define MAX_ROOTS 256

struct short_file {
	const char *path;	/* the agg's own string */
	size_t start;		/* where the short name begins */
};

struct root {
	const char *dir;	/* a path, up to (not including) its last '/' */
	size_t len;
};

struct shorten {
	const struct agg *in;
	struct agg *out;
	struct hmap *file_ids;		/* path pointer -> index in files */
	struct short_file *files;
	size_t nfiles, files_cap;
	__u32 *file_of;			/* frame id -> index in files */
	struct root roots[MAX_ROOTS];
	size_t nroots;
	__u32 *frame_map;		/* frame id in @in -> frame id in @out */
	__u32 *ids;			/* one stack's frame ids in @out */
	size_t ids_cap;
};

/* ---- where a short name begins -------------------------------------------- */

static bool is_component(const char *s, size_t len, const char *name)
{
	return strlen(name) == len && !memcmp(s, name, len);
}

/* "python3.11", "python3.13t": a lib/pythonX.Y directory's last part. */
static bool is_python_dir(const char *s, size_t len)
{
	size_t i = 6;

	if (len < 9 || memcmp(s, "python", 6) || !isdigit((unsigned char)s[i]))
		return false;
	while (i < len && isdigit((unsigned char)s[i]))
		i++;
	if (i == len || s[i++] != '.' || i == len || !isdigit((unsigned char)s[i]))
		return false;
	while (i < len && isdigit((unsigned char)s[i]))
		i++;
	return i == len || (i + 1 == len && s[i] == 't');
}

/*
 * After the last site-packages or dist-packages directory, else after
 * the last lib/pythonX.Y, else 0. Only directories count, not the file.
 */
static size_t packages_start(const char *path)
{
	size_t site = 0, stdlib = 0, prev_off = 0, prev_len = 0;
	const char *p = path;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t off = p - path, len;

		if (!slash)
			break;
		len = slash - p;
		if (is_component(p, len, "site-packages") || is_component(p, len, "dist-packages"))
			site = off + len + 1;
		else if (is_python_dir(p, len) &&
			 (is_component(path + prev_off, prev_len, "lib") ||
			  is_component(path + prev_off, prev_len, "lib64")))
			stdlib = off + len + 1;
		prev_off = off;
		prev_len = len;
		p = slash + 1;
	}
	return site ? site : stdlib;
}

/* After the longest main script's directory holding @path, else 0. */
static size_t root_start(const struct shorten *sh, const char *path)
{
	size_t best = 0;

	for (size_t i = 0; i < sh->nroots; i++) {
		const struct root *r = &sh->roots[i];

		if (r->len + 1 > best && !strncmp(path, r->dir, r->len) && path[r->len] == '/')
			best = r->len + 1;
	}
	return best;
}

static size_t initial_start(const struct shorten *sh, const char *path)
{
	size_t start;

	/* Relative names, "<frozen ...>", binaries' base names: as they are. */
	if (path[0] != '/')
		return 0;
	start = packages_start(path);
	if (!start)
		start = root_start(sh, path);
	/* A name must be left: "/usr/lib/python3.11/" alone stays whole. */
	return path[start] ? start : 0;
}

/* One directory more: from "b/c.py" to "a/b/c.py", "/a/b/c.py" at last. */
static size_t lengthen(const char *path, size_t start)
{
	size_t i;

	if (!start)
		return 0;
	for (i = start - 1; i > 0; i--) {
		if (path[i - 1] == '/')
			return i;
	}
	return 0;
}

/* ---- collecting ------------------------------------------------------------- */

static int collect_files(struct shorten *sh)
{
	size_t n = agg__nr_frames(sh->in);

	sh->file_of = calloc(n + 1, sizeof(*sh->file_of));
	if (!sh->file_of)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct agg_frame *fr = agg__frame(sh->in, (__u32)i);
		uintptr_t key = (uintptr_t)fr->file;
		bool created;
		__u32 *id = hmap__insert(sh->file_ids, &key, &created);

		if (!id)
			return -ENOMEM;
		if (created) {
			if (array__reserve((void **)&sh->files, &sh->files_cap, sh->nfiles + 1,
					   sizeof(*sh->files))) {
				hmap__delete(sh->file_ids, &key);
				return -ENOMEM;
			}
			sh->files[sh->nfiles] = (struct short_file){ fr->file, 0 };
			*id = (__u32)sh->nfiles++;
		}
		sh->file_of[i] = *id;
	}
	return 0;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && !strcmp(s + n - m, suffix);
}

/*
 * A whole stack's root-most Python frame, when it is a module's code,
 * runs the main script: its directory is sys.path[0].
 */
static int find_root(const struct agg_stack *s, void *ctx)
{
	struct shorten *sh = ctx;

	if (s->flags & AGG_STACK_TRUNCATED || sh->nroots == MAX_ROOTS)
		return 0;
	for (size_t i = 0; i < s->nframes; i++) {
		const struct agg_frame *fr = agg__frame(sh->in, s->frame_ids[i]);
		const char *slash;
		size_t len;

		/* Native frames and frozen modules come first under some launchers. */
		if (!fr || fr->file[0] != '/' || !ends_with(fr->file, ".py"))
			continue;
		if (strcmp(fr->qualname, "<module>"))
			return 0;
		slash = strrchr(fr->file, '/');
		len = slash - fr->file;
		if (!len)
			return 0;
		for (size_t r = 0; r < sh->nroots; r++) {
			if (sh->roots[r].len == len && !strncmp(sh->roots[r].dir, fr->file, len))
				return 0;
		}
		sh->roots[sh->nroots++] = (struct root){ fr->file, len };
		return 0;
	}
	return 0;
}

/* ---- one name per file ---------------------------------------------------------- */

static int name_cmp(const void *pa, const void *pb)
{
	const struct short_file *x = *(struct short_file *const *)pa;
	const struct short_file *y = *(struct short_file *const *)pb;

	return strcmp(x->path + x->start, y->path + y->start);
}

/*
 * Lengthen every name that another file shares until none is shared.
 * Paths differ, so each round moves at least one start back, and a
 * name can be lengthened only as far as its path: it ends.
 */
static int make_unique(struct shorten *sh)
{
	struct short_file **order = malloc((sh->nfiles + 1) * sizeof(*order));
	bool again = true;

	if (!order)
		return -ENOMEM;
	for (size_t i = 0; i < sh->nfiles; i++)
		order[i] = &sh->files[i];
	while (again) {
		again = false;
		qsort(order, sh->nfiles, sizeof(*order), name_cmp);
		for (size_t i = 0, j; i < sh->nfiles; i = j) {
			for (j = i + 1; j < sh->nfiles && !name_cmp(&order[i], &order[j]); j++)
				;
			if (j - i < 2)
				continue;
			for (size_t k = i; k < j; k++)
				order[k]->start = lengthen(order[k]->path, order[k]->start);
			again = true;
		}
	}
	free(order);
	return 0;
}

/* ---- the copy ----------------------------------------------------------------------- */

static int copy_frames(struct shorten *sh)
{
	size_t n = agg__nr_frames(sh->in);

	sh->frame_map = malloc((n + 1) * sizeof(*sh->frame_map));
	if (!sh->frame_map)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const struct agg_frame *fr = agg__frame(sh->in, (__u32)i);
		const struct short_file *sf = &sh->files[sh->file_of[i]];

		sh->frame_map[i] = agg__intern_frame(sh->out, fr->qualname, sf->path + sf->start,
						     fr->first_line, fr->line);
		if (sh->frame_map[i] == NO_ID)
			return -ENOMEM;
	}
	return 0;
}

static int copy_stack(const struct agg_stack *s, void *ctx)
{
	struct shorten *sh = ctx;
	const struct agg_proc *p = agg__proc(sh->in, s->proc_id);
	__u32 proc;

	if (!p)
		return -EINVAL;
	if (array__reserve((void **)&sh->ids, &sh->ids_cap, s->nframes + 1, sizeof(*sh->ids)))
		return -ENOMEM;
	for (size_t i = 0; i < s->nframes; i++) {
		if (s->frame_ids[i] >= agg__nr_frames(sh->in))
			return -EINVAL;
		sh->ids[i] = sh->frame_map[s->frame_ids[i]];
	}
	proc = agg__intern_proc(sh->out, p->pid, p->comm);
	if (proc == NO_ID || agg__set_proc_origin(sh->out, proc, p->service, p->container_id))
		return -ENOMEM;
	return agg__add_stack(sh->out, proc, s->tid, s->thread_name, sh->ids, s->nframes,
			      s->flags, s->count);
}

struct agg *shorten__apply(const struct agg *a)
{
	struct shorten sh = { .in = a };
	int err = -ENOMEM;

	sh.out = agg__new();
	sh.file_ids = hmap__new(sizeof(uintptr_t), sizeof(__u32));
	if (sh.out && sh.file_ids)
		err = collect_files(&sh) ?: agg__for_each_stack(a, find_root, &sh);
	if (!err) {
		for (size_t i = 0; i < sh.nfiles; i++)
			sh.files[i].start = initial_start(&sh, sh.files[i].path);
		err = make_unique(&sh) ?: copy_frames(&sh) ?:
		      agg__for_each_stack(a, copy_stack, &sh);
	}
	if (err) {
		agg__free(sh.out);
		sh.out = NULL;
	}
	hmap__free(sh.file_ids);
	free(sh.files);
	free(sh.file_of);
	free(sh.frame_map);
	free(sh.ids);
	return sh.out;
}
