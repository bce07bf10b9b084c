// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include "array.h"

int array__reserve(void **v, size_t *cap, size_t need, size_t size)
{
	size_t new_cap;
	void *nv;

	if (need <= *cap)
		return 0;
	new_cap = *cap ? *cap : 16;
	while (new_cap < need) {
		if (new_cap > SIZE_MAX / 2)
			return -ENOMEM;
		new_cap *= 2;
	}
	if (new_cap > SIZE_MAX / size)
		return -ENOMEM;
	nv = realloc(*v, new_cap * size);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	*cap = new_cap;
	return 0;
}
