// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Placeholder until the push sink lands: --push is refused clearly. */
#include <stdio.h>
#include "push.h"

struct sink *push_sink__new(const struct push_opts *o, char *why, size_t size)
{
	snprintf(why, size, "--push is not available in this build yet");
	return NULL;
}
