// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <string.h>
#include <strings.h>
#include "formats.h"

static const struct format formats[] = {
	{ "table", { ".txt" }, output_table__write, false, false },
	{ "folded", { ".folded", ".collapsed" }, output_folded__write, false, false },
	{ "svg", { ".svg" }, output_svg__write, false, false },
	{ "speedscope", { ".json" }, output_speedscope__write, false, true },
	{ "pprof", { ".pb.gz", ".pprof" }, output_pprof__write, true, true },
	{ "pstats", { ".prof" }, output_pstats__write, true, true },
};

#define NR_FORMATS (sizeof(formats) / sizeof(formats[0]))

const char formats__names[] = "table, folded, svg, speedscope, pprof or pstats";

const struct format *formats__by_name(const char *name)
{
	for (size_t i = 0; i < NR_FORMATS; i++)
		if (!strcasecmp(name, formats[i].name))
			return &formats[i];
	return NULL;
}

const struct format *formats__by_path(const char *path)
{
	size_t len = strlen(path);

	for (size_t i = 0; i < NR_FORMATS; i++)
		for (size_t j = 0; j < 3 && formats[i].exts[j]; j++) {
			size_t n = strlen(formats[i].exts[j]);

			if (len > n && !strcasecmp(path + len - n, formats[i].exts[j]))
				return &formats[i];
		}
	return NULL;
}

const struct format *formats__default(void)
{
	return &formats[0];
}
