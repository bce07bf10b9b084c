/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Growable arrays: one overflow-checked doubling for every writer. */
#ifndef __ARRAY_H
#define __ARRAY_H

#include <stddef.h>

/*
 * Make room for @need elements of @size bytes in *@v (capacity *@cap),
 * doubling. 0, or -ENOMEM with *@v and *@cap unchanged.
 */
int array__reserve(void **v, size_t *cap, size_t need, size_t size);

#endif /* __ARRAY_H */
