/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * An open-addressing hash map with fixed-size keys and values, compared
 * and hashed as bytes (zero any padding in keys). Linear probing with
 * backward-shift deletion: no tombstones, lookups stay short after churn.
 */
#ifndef __HASHMAP_H
#define __HASHMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

struct hashmap;

struct hashmap *hashmap__new(size_t key_size, size_t value_size);
void hashmap__free(struct hashmap *m);

/* Pointer to the value stored under @key, or NULL. */
void *hashmap__find(const struct hashmap *m, const void *key);
/*
 * Pointer to the value under @key, inserting a zeroed one when absent
 * (*@created tells which). NULL when out of memory. The pointer is valid
 * until the next insert or delete.
 */
void *hashmap__insert(struct hashmap *m, const void *key, bool *created);
bool hashmap__delete(struct hashmap *m, const void *key);
size_t hashmap__size(const struct hashmap *m);

/* Visit every entry; @cb returns non-zero to stop. No inserts meanwhile. */
int hashmap__for_each(const struct hashmap *m,
		      int (*cb)(const void *key, void *value, void *ctx), void *ctx);

__u64 hash_bytes(const void *data, size_t len);

#endif /* __HASHMAP_H */
