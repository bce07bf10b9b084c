/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Writers of an aggregated profile, one per format. */
#ifndef __OUTPUT_H
#define __OUTPUT_H

#include <stdbool.h>
#include <stdio.h>
#include "aggregate.h"

struct output_meta {
	double duration_s;
	double frequency_hz;	/* samples per second per CPU, as measured */
	__u64 start_unix_ns;	/* wall-clock time sampling started */
	const char *hostname;
	/*
	 * --threads: a thread frame ("name (tid N)") below each process
	 * frame; otherwise stacks that differ only by thread are merged.
	 */
	bool threads;
	/*
	 * pprof for a backend (the agent): every sample labelled with string
	 * labels pid, comm, thread_name and, where known, container_id, which
	 * Pyroscope and Parca index (implies per-thread samples).
	 */
	bool backend_labels;
	/* Wall mode: pprof's second sample type is wall/nanoseconds, not cpu. */
	bool wall;
	/* When set, the pprof writer stores here the uncompressed size and
	 * the number of Sample messages (backends limit both). */
	size_t *raw_bytes;
	size_t *nsamples;
};

/* Each returns 0, or a negative errno when writing to @f failed. */
int output_table__write(const struct agg *a, const struct output_meta *m, FILE *f);
int output_folded__write(const struct agg *a, const struct output_meta *m, FILE *f);
int output_svg__write(const struct agg *a, const struct output_meta *m, FILE *f);
int output_speedscope__write(const struct agg *a, const struct output_meta *m, FILE *f);
int output_pprof__write(const struct agg *a, const struct output_meta *m, FILE *f);
int output_pstats__write(const struct agg *a, const struct output_meta *m, FILE *f);

/*
 * Labels shared by every format, snprintf()-style (the length the full
 * label needs), sanitized: ';' becomes ':' and control characters '?'.
 */
/* A Python frame: "qualname (file:line)", or "qualname (file)" without a line. */
int output__frame_label(const struct agg_frame *fr, char *buf, size_t size);
/* A bare name (a process's comm), sanitized like the labels. */
int output__name_label(const char *name, char *buf, size_t size);
/* The process frame: "comm (pid)". */
int output__proc_label(const struct agg_proc *p, char *buf, size_t size);
/*
 * The thread frame of --threads: "name (tid N)", or "thread (tid N)"
 * without a name; with a known GIL state (enum gil_state) "name (tid N,
 * GIL held)".
 */
int output__thread_label(__u32 tid, const char *name, unsigned int gil, char *buf, size_t size);
/* "held", "waiting", "none", "attached"; NULL for an unknown state. */
const char *output__gil_name(unsigned int gil);

#endif /* __OUTPUT_H */
