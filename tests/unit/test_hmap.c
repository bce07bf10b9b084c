// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The hash map: insert, find, delete under churn, growth, alignment. */
#include <stdint.h>
#include <stdlib.h>
#include "hmap.h"
#include "unit.h"

#define N 20000

static int count_cb(const void *key, void *value, void *ctx)
{
	(*(size_t *)ctx)++;
	return 0;
}

int main(void)
{
	struct hmap *m = hmap__new(sizeof(__u32), sizeof(void *));
	size_t visited = 0;
	bool created;
	int ok = 1;

	CHECK(m != NULL);
	for (__u32 k = 0; k < N; k++) {
		void **v = hmap__insert(m, &k, &created);

		ok &= v && created;
		/* 4-byte keys, pointer values: values must be 8-aligned. */
		ok &= ((uintptr_t)v & 7) == 0;
		*v = (void *)(uintptr_t)(k * 3 + 1);
	}
	CHECK(ok);
	CHECK_EQ_INT(hmap__size(m), N);
	ok = 1;
	for (__u32 k = 0; k < N; k++) {
		void **v = hmap__find(m, &k);

		ok &= v && *v == (void *)(uintptr_t)(k * 3 + 1);
	}
	CHECK(ok);
	/* Re-inserting finds the old value, not a new zeroed one. */
	{
		__u32 k = 77;
		void **v = hmap__insert(m, &k, &created);

		CHECK(!created);
		CHECK(v && *v == (void *)(uintptr_t)(77 * 3 + 1));
	}
	/* Delete every other key: backward shift must keep the rest findable. */
	for (__u32 k = 0; k < N; k += 2)
		CHECK(hmap__delete(m, &k));
	CHECK_EQ_INT(hmap__size(m), N / 2);
	ok = 1;
	for (__u32 k = 0; k < N; k++) {
		void **v = hmap__find(m, &k);

		ok &= (k & 1) ? (v && *v == (void *)(uintptr_t)(k * 3 + 1)) : v == NULL;
	}
	CHECK(ok);
	CHECK(!hmap__delete(m, &(__u32){ 0 }));
	hmap__for_each(m, count_cb, &visited);
	CHECK_EQ_INT(visited, N / 2);
	/* Churn: insert and delete many times over; size stays bounded. */
	for (int round = 0; round < 50; round++)
		for (__u32 k = N; k < N + 1000; k++) {
			hmap__insert(m, &k, NULL);
			hmap__delete(m, &k);
		}
	CHECK_EQ_INT(hmap__size(m), N / 2);
	hmap__free(m);
	hmap__free(NULL);
	return unit_report("hmap");
}
