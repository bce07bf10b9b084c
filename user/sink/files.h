/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --output-dir DIR: each window written as DIR/pybpfprof-<UTC
 * YYYYMMDDTHHMMSSZ>.pb.gz (gzip pprof), atomically, keeping the newest
 * --keep N of the files this naming matches.
 */
#ifndef __FILES_H
#define __FILES_H

#include "sink.h"

struct files_opts {
	const char *dir;
	unsigned int keep;
	mode_t mode;
};

/* NULL with a one-line reason in @why (the directory is checked now). */
struct sink *files_sink__new(const struct files_opts *o, char *why, size_t size);

#endif /* __FILES_H */
