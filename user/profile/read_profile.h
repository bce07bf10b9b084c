/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Profiles pybpfprof wrote, read back into an agg, for `pybpfprof diff`:
 * folded text (read_folded.c) or pprof (read_pprof.c), told apart by
 * their content, not their names.
 *
 * What a written profile keeps is what comes back: processes (comm and
 * pid), threads when it has them, the [truncated] mark, and each frame's
 * function, file and line. Folded text has no first line of a function:
 * its frames come back with first_line 0.
 */
#ifndef __READ_PROFILE_H
#define __READ_PROFILE_H

#include <stddef.h>
#include "aggregate.h"

enum profile_kind {
	PROFILE_FOLDED,
	PROFILE_PPROF,
};

struct profile_info {
	enum profile_kind kind;
	/* pprof: "cpu" or "wall", the second sample type; "" when unsaid. */
	char mode[16];
};

/*
 * Read the profile in @path into a new agg. NULL when it cannot be read
 * or is no profile of ours, with one line saying why (naming @path) in
 * @why.
 */
struct agg *read_profile__file(const char *path, struct profile_info *info, char *why,
			       size_t why_size);

/*
 * The readers, on a whole file in memory, into @a: 0, or -EINVAL (not
 * that format, or damaged: @why says where) or -ENOMEM. @why does not
 * name the file; the caller adds it.
 */
int read_folded__parse(const char *data, size_t len, struct agg *a, char *why, size_t why_size);
int read_pprof__parse(const void *data, size_t len, struct agg *a, struct profile_info *info,
		      char *why, size_t why_size);

/*
 * "qualname (file:line)", "qualname (file)" or a bare "[pseudo-frame]",
 * as output__frame_label() writes them, split back into their parts
 * (@label is cut in place). The first " (" ends the name: Python names
 * have no spaces, paths may.
 */
void read_folded__split_label(char *label, const char **qualname, const char **file, int *line);

#endif /* __READ_PROFILE_H */
