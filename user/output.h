/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Writers of an aggregated profile, one per format. */
#ifndef __OUTPUT_H
#define __OUTPUT_H

#include <stdio.h>
#include "aggregate.h"

struct output_meta {
	double duration_s;
	unsigned int frequency_hz;
};

/* Each returns 0, or a negative errno when writing to @f failed. */
int output_table__write(const struct agg *a, const struct output_meta *m, FILE *f);
int output_folded__write(const struct agg *a, const struct output_meta *m, FILE *f);

/* Frame label used by folded (and later formats): "qualname (file:line)". */
int output__frame_label(const struct agg_frame *fr, char *buf, size_t size);

#endif /* __OUTPUT_H */
