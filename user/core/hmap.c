// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hmap.h"

#define MIN_SLOTS 16

struct hmap {
	size_t key_size;
	size_t value_size;
	size_t value_off;	/* from the slot start: after the key, 8-aligned */
	size_t entry_size;	/* used byte, padding, key, padding, value */
	size_t nslots;		/* power of two */
	size_t size;
	unsigned char *slots;
};

/* FNV-1a folded through a final mix: fast for the short keys used here. */
__u64 hash_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	__u64 h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static unsigned char *slot_at(const struct hmap *m, size_t i)
{
	return m->slots + i * m->entry_size;
}

static void *slot_key(const struct hmap *m, unsigned char *slot)
{
	(void)m;
	return slot + 8;
}

static void *slot_value(const struct hmap *m, unsigned char *slot)
{
	return slot + m->value_off;
}

struct hmap *hmap__new(size_t key_size, size_t value_size)
{
	struct hmap *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->key_size = key_size;
	m->value_size = value_size;
	/* Values hold pointers and u64s: keep them 8-byte aligned. */
	m->value_off = (8 + key_size + 7) & ~(size_t)7;
	m->entry_size = (m->value_off + value_size + 7) & ~(size_t)7;
	m->nslots = MIN_SLOTS;
	m->slots = calloc(m->nslots, m->entry_size);
	if (!m->slots) {
		free(m);
		return NULL;
	}
	return m;
}

void hmap__free(struct hmap *m)
{
	if (!m)
		return;
	free(m->slots);
	free(m);
}

size_t hmap__size(const struct hmap *m)
{
	return m->size;
}

/* Slot holding @key, or the empty slot where it would go. */
static size_t probe(const struct hmap *m, const void *key, __u64 h)
{
	size_t mask = m->nslots - 1, i = h & mask;

	for (;;) {
		unsigned char *s = slot_at(m, i);

		if (!s[0] || !memcmp(slot_key(m, s), key, m->key_size))
			return i;
		i = (i + 1) & mask;
	}
}

void *hmap__find(const struct hmap *m, const void *key)
{
	unsigned char *s = slot_at(m, probe(m, key, hash_bytes(key, m->key_size)));

	return s[0] ? slot_value(m, s) : NULL;
}

static int grow(struct hmap *m)
{
	size_t old_n = m->nslots;
	unsigned char *old = m->slots;

	m->slots = calloc(old_n * 2, m->entry_size);
	if (!m->slots) {
		m->slots = old;
		return -ENOMEM;
	}
	m->nslots = old_n * 2;
	for (size_t i = 0; i < old_n; i++) {
		unsigned char *s = old + i * m->entry_size;
		void *k = slot_key(m, s);

		if (s[0])
			memcpy(slot_at(m, probe(m, k, hash_bytes(k, m->key_size))), s,
			       m->entry_size);
	}
	free(old);
	return 0;
}

void *hmap__insert(struct hmap *m, const void *key, bool *created)
{
	unsigned char *s;

	if ((m->size + 1) * 10 > m->nslots * 7 && grow(m))
		return NULL;
	s = slot_at(m, probe(m, key, hash_bytes(key, m->key_size)));
	if (created)
		*created = !s[0];
	if (!s[0]) {
		s[0] = 1;
		memcpy(slot_key(m, s), key, m->key_size);
		memset(slot_value(m, s), 0, m->value_size);
		m->size++;
	}
	return slot_value(m, s);
}

bool hmap__delete(struct hmap *m, const void *key)
{
	size_t mask = m->nslots - 1, i, j;

	i = probe(m, key, hash_bytes(key, m->key_size));
	if (!slot_at(m, i)[0])
		return false;
	/* Backward-shift: move later members of the cluster into the hole. */
	j = i;
	for (;;) {
		unsigned char *sj;
		size_t home;

		j = (j + 1) & mask;
		sj = slot_at(m, j);
		if (!sj[0])
			break;
		home = hash_bytes(slot_key(m, sj), m->key_size) & mask;
		/* Leave sj when its home lies cyclically in (i, j]. */
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		memcpy(slot_at(m, i), sj, m->entry_size);
		i = j;
	}
	slot_at(m, i)[0] = 0;
	m->size--;
	return true;
}

int hmap__for_each(const struct hmap *m,
		   int (*cb)(const void *key, void *value, void *ctx), void *ctx)
{
	for (size_t i = 0; i < m->nslots; i++) {
		unsigned char *s = slot_at(m, i);
		int err;

		if (!s[0])
			continue;
		err = cb(slot_key(m, s), slot_value(m, s), ctx);
		if (err)
			return err;
	}
	return 0;
}
