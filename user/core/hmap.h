/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * An open-addressing hash map with fixed-size keys and values, compared
 * and hashed as bytes (zero any padding in keys). Linear probing with
 * backward-shift deletion: no tombstones, lookups stay short after churn.
 */
#ifndef __HMAP_H
#define __HMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct hmap;

struct hmap *hmap__new(size_t key_size, size_t value_size);
void hmap__free(struct hmap *m);

/* Pointer to the value stored under @key, or NULL. */
void *hmap__find(const struct hmap *m, const void *key);
/*
 * Pointer to the value under @key, inserting a zeroed one when absent
 * (*@created tells which). NULL when out of memory. The pointer is valid
 * until the next insert or delete.
 */
void *hmap__insert(struct hmap *m, const void *key, bool *created);
bool hmap__delete(struct hmap *m, const void *key);
size_t hmap__size(const struct hmap *m);

/* Visit every entry; @cb returns non-zero to stop. No inserts meanwhile. */
int hmap__for_each(const struct hmap *m,
		   int (*cb)(const void *key, void *value, void *ctx), void *ctx);

__u64 hash_bytes(const void *data, size_t len);

#endif /* __HMAP_H */
