/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --focus REGEX: keep only the stacks that pass through a function whose
 * name matches, re-rooted at the root-most such frame (the process and
 * thread stay above it). Profiling "just this function", without
 * decorators or restarts.
 */
#ifndef __FOCUS_H
#define __FOCUS_H

#include <regex.h>
#include "aggregate.h"

/*
 * A new aggregation holding the focused stacks of @a; a frame matches
 * when @re matches its qualname or its "qualname (file:first_line)".
 * NULL when out of memory.
 */
struct agg *focus__apply(const struct agg *a, const regex_t *re);

#endif /* __FOCUS_H */
