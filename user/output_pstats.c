// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include "output.h"

/* Placeholder until the pstats writer lands. */
int output_pstats__write(const struct agg *a, const struct output_meta *m, FILE *f)
{
	return -EOPNOTSUPP;
}
