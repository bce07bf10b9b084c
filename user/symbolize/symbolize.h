/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Turns the kernel's (code object, instruction offset, checksum) frames
 * into named frames: reads code objects out of the target once, decodes
 * the line, and caches both per process.
 */
#ifndef __SYMBOLIZE_H
#define __SYMBOLIZE_H

#include <stdbool.h>
#include <sys/types.h>
#include "aggregate.h"
#include "pybpfprof.h"
#include "pytarget.h"

struct symbolizer;

struct symbolizer_stats {
	__u64 code_reads;	/* code objects read from the target */
	__u64 code_failures;	/* unreadable or changed under us */
	__u64 tlbc_frames;	/* frames found in thread-local bytecode (3.14t) */
	__u64 tlbc_failures;	/* ... whose copy could not be found: no line */
	__u64 cache_resets;	/* caches emptied on reaching their bound */
	__u64 codes_cached;	/* entries now in the caches */
	__u64 frames_cached;
};

/*
 * Frames are interned in @dict (an agg used as a frame dictionary: ids
 * stable for as long as it lives). With @no_lines, frames are per
 * function: their line is the first line.
 */
struct symbolizer *symbolizer__new(pid_t pid, const struct py_target *t, struct agg *dict,
				   bool no_lines);
/* The dictionary was replaced: forget every frame id (code objects stay). */
void symbolizer__set_dict(struct symbolizer *s, struct agg *dict);
void symbolizer__free(struct symbolizer *s);

/* The dictionary's frame id for @f (unreadable: a marker frame; -1: no memory). */
__u32 symbolizer__frame(struct symbolizer *s, const struct py_frame *f);
/* Fall back to @parent's memory for code objects the child can't provide. */
void symbolizer__set_fork_parent(struct symbolizer *s, pid_t parent);
void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *st);

#endif /* __SYMBOLIZE_H */
