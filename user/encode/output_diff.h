/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Writers of a diff of two profiles (diff.h), one per format. */
#ifndef __OUTPUT_DIFF_H
#define __OUTPUT_DIFF_H

#include <stdio.h>
#include "diff.h"

/* Each returns 0, or a negative errno when writing to @f failed. */
int output_diff_table__write(const struct diff *d, FILE *f);
int output_diff_folded__write(const struct diff *d, FILE *f);
int output_diff_svg__write(const struct diff *d, FILE *f);

#endif /* __OUTPUT_DIFF_H */
