// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Protobuf wire format, writer side only (protobuf.dev "Encoding"):
 * a field is a varint key (field number << 3 | wire type), then a
 * varint (type 0) or a varint length and that many bytes (type 2).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "hmap.h"
#include "protobuf.h"
#include "utf8.h"

void pb__free(struct pb *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->nomem = false;
}

int pb__err(const struct pb *b)
{
	return b->nomem ? -ENOMEM : 0;
}

static bool pb__reserve(struct pb *b, size_t more)
{
	size_t cap = b->cap ? b->cap : 256;
	__u8 *data;

	if (b->nomem)
		return false;
	if (more <= b->cap - b->len)
		return true;
	while (cap - b->len < more) {
		if (cap > SIZE_MAX / 2)
			goto nomem;
		cap *= 2;
	}
	data = realloc(b->data, cap);
	if (!data)
		goto nomem;
	b->data = data;
	b->cap = cap;
	return true;
nomem:
	b->nomem = true;
	return false;
}

static size_t varint_len(__u64 v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Seven bits a byte, least significant first, high bit = more follow. */
static void put_varint(struct pb *b, __u64 v)
{
	if (!pb__reserve(b, 10))
		return;
	while (v >= 0x80) {
		b->data[b->len++] = (__u8)(v | 0x80);
		v >>= 7;
	}
	b->data[b->len++] = (__u8)v;
}

static void put_key(struct pb *b, __u32 field, unsigned int wire)
{
	put_varint(b, (__u64)field << 3 | wire);
}

void pb__varint_field(struct pb *b, __u32 field, __u64 v)
{
	put_key(b, field, WIRE_VARINT);
	put_varint(b, v);
}

void pb__bytes_field(struct pb *b, __u32 field, const void *data, size_t len)
{
	put_key(b, field, WIRE_LEN);
	put_varint(b, len);
	if (!len || !pb__reserve(b, len))
		return;
	memcpy(b->data + b->len, data, len);
	b->len += len;
}

void pb__msg_field(struct pb *b, __u32 field, const struct pb *msg)
{
	if (msg->nomem) {
		b->nomem = true;
		return;
	}
	pb__bytes_field(b, field, msg->data, msg->len);
}

void pb__packed_field(struct pb *b, __u32 field, const __u64 *v, size_t n)
{
	size_t len = 0;

	/* An empty packed field would still be a (zero-length) entry. */
	if (!n)
		return;
	for (size_t i = 0; i < n; i++)
		len += varint_len(v[i]);
	put_key(b, field, WIRE_LEN);
	put_varint(b, len);
	if (!pb__reserve(b, len))
		return;
	for (size_t i = 0; i < n; i++)
		put_varint(b, v[i]);
}

/* ---- string table ------------------------------------------------------ */

/*
 * Strings are found by a 64-bit hash of their bytes; equal hashes are
 * chained through next[] (index + 1, 0 ends), so a collision costs a
 * strcmp and never merges two strings.
 */
struct pb_strtab {
	char **strs;
	__u32 *next;
	size_t n, cap;
	struct hmap *by_hash;	/* hash -> index + 1 of the newest */
};

struct pb_strtab *pb_strtab__new(void)
{
	struct pb_strtab *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->by_hash = hmap__new(sizeof(__u64), sizeof(__u32));
	if (!t->by_hash || pb_strtab__index(t, "") != 0) {
		pb_strtab__free(t);
		return NULL;
	}
	return t;
}

void pb_strtab__free(struct pb_strtab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		free(t->strs[i]);
	free(t->strs);
	free(t->next);
	hmap__free(t->by_hash);
	free(t);
}

static int strtab__grow(struct pb_strtab *t)
{
	size_t cap = t->cap ? t->cap * 2 : 64;
	__u32 *next;
	char **strs;

	/* Indices are handed out as long long and chained as __u32 + 1. */
	if (cap > UINT32_MAX - 1)
		return -ENOMEM;
	strs = realloc(t->strs, cap * sizeof(*strs));
	if (!strs)
		return -ENOMEM;
	t->strs = strs;
	next = realloc(t->next, cap * sizeof(*next));
	if (!next)
		return -ENOMEM;
	t->next = next;
	t->cap = cap;
	return 0;
}

long long pb_strtab__index(struct pb_strtab *t, const char *s)
{
	__u32 *head, idx1;
	bool created;
	char *copy;
	__u64 h;

	if (!s)
		s = "";
	copy = utf8__sanitize(s, strlen(s));
	if (!copy)
		return -ENOMEM;
	h = hash_bytes(copy, strlen(copy));
	head = hmap__insert(t->by_hash, &h, &created);
	if (!head)
		goto nomem;
	for (idx1 = *head; idx1; idx1 = t->next[idx1 - 1]) {
		if (!strcmp(t->strs[idx1 - 1], copy)) {
			free(copy);
			return idx1 - 1;
		}
	}
	if (t->n == t->cap && strtab__grow(t)) {
		/* Leave no empty chain head behind. */
		if (created)
			hmap__delete(t->by_hash, &h);
		goto nomem;
	}
	t->strs[t->n] = copy;
	t->next[t->n] = *head;
	*head = (__u32)++t->n;
	return (long long)t->n - 1;
nomem:
	free(copy);
	return -ENOMEM;
}

size_t pb_strtab__count(const struct pb_strtab *t)
{
	return t->n;
}

const char *pb_strtab__str(const struct pb_strtab *t, size_t idx)
{
	return idx < t->n ? t->strs[idx] : NULL;
}
