/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where a profile is written: `-o PATH` behaves like the shell's
 * `> PATH`, made safe for a tool that runs as root.
 *
 * - A regular file (or a path that does not exist yet) is written to a
 *   temporary file in the directory of the file the path finally names,
 *   and renamed over it when complete: a reader never sees half a profile.
 * - Anything else is opened and written in place, never renamed over:
 *   character devices (/dev/null, a terminal), FIFOs, /dev/fd/N and
 *   /dev/stdout style links (pipes and sockets included), and Unix stream
 *   sockets (connected to). Block devices and directories are refused.
 * - Symbolic links on the way, in any component, are followed only when
 *   owned by root or by the invoking user (SUDO_UID when set, else the
 *   real uid), as the shell would follow them; one owned by anyone else
 *   is refused, never followed, replaced or written through.
 *
 * Write errors keep their errno (ENOSPC on /dev/full, EPIPE on a closed
 * pipe), so the caller can name the path and the error.
 */
#ifndef __OUTFILE_H
#define __OUTFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

struct outfile;

struct outfile_opts {
	mode_t mode;		/* of a new regular file: 0644, or 0600 */
	uid_t trusted_uid;	/* besides root, whose symlinks are followed */
};

/* The invoking user: SUDO_UID when set and valid, else the real uid. */
uid_t outfile__invoking_uid(void);

/*
 * Open @path (NULL: standard output). NULL on failure, with a one-line
 * reason naming the path in @why.
 */
struct outfile *outfile__open(const char *path, const struct outfile_opts *o, char *why,
			      size_t size);
FILE *outfile__stream(struct outfile *f);
/* "standard output", or the path as given. */
const char *outfile__name(const struct outfile *f);
/* The descriptor written to (for isatty()). */
int outfile__fd(const struct outfile *f);
/* True when the output is written in place (not a regular file). */
bool outfile__in_place(const struct outfile *f);
/*
 * Flush and publish. @err (a writer's -errno, or 0) set: the profile is
 * dropped. Returns 0, or -errno of the first failure (a write error's
 * own errno). Frees @f.
 */
int outfile__commit(struct outfile *f, int err);
/* Drop what was written (temporary files removed); frees @f. NULL is fine. */
void outfile__discard(struct outfile *f);

#endif /* __OUTFILE_H */
