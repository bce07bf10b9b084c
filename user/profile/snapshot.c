// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdio.h>
#include <stdlib.h>
#include "snapshot.h"

struct snapshot *snapshot__new(struct agg *agg, __u64 start_unix_ns, __u64 duration_ns,
			       double frequency, const char *hostname)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->agg = agg;
	s->start_unix_ns = start_unix_ns;
	s->duration_ns = duration_ns;
	s->frequency = frequency;
	snprintf(s->hostname, sizeof(s->hostname), "%s", hostname ? hostname : "");
	atomic_init(&s->refs, 1);
	return s;
}

struct snapshot *snapshot__get(struct snapshot *s)
{
	atomic_fetch_add(&s->refs, 1);
	return s;
}

void snapshot__put(struct snapshot *s)
{
	if (!s || atomic_fetch_sub(&s->refs, 1) != 1)
		return;
	agg__free(s->agg);
	free(s);
}
