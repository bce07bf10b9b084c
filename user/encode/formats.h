/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The output formats by name and file extension, for every command that
 * writes a profile (the one-shot run, the agent's files, diff).
 */
#ifndef __FORMATS_H
#define __FORMATS_H

#include <stdbool.h>
#include <stdio.h>
#include "aggregate.h"
#include "output.h"

typedef int (*format_write_fn)(const struct agg *a, const struct output_meta *m, FILE *f);

struct format {
	const char *name;
	const char *exts[3];	/* file extensions that select it */
	format_write_fn write;
	bool binary;		/* never to a terminal */
	/*
	 * Absolute file names always: pprof, speedscope and pstats, whose
	 * tools key on them (pprof's source view, speedscope's file column,
	 * pstats' (file, line, name) keys). Others show short ones (shorten.h).
	 */
	bool full_paths;
};

/* "table, folded, svg, speedscope, pprof or pstats", for error messages. */
extern const char formats__names[];

/* The format called @name (any case), or NULL. */
const struct format *formats__by_name(const char *name);
/* The format @path's extension selects, or NULL. */
const struct format *formats__by_path(const char *path);
/* The default format: table. */
const struct format *formats__default(void);

#endif /* __FORMATS_H */
