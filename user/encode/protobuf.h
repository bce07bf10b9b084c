/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Just enough of the protobuf wire format to write a message: varints,
 * length-delimited fields and packed repeated varints, appended to a
 * growable buffer, plus a string table that hands out one index per
 * distinct string (pprof's string_table).
 *
 * A nested message is written into its own buffer first, then appended
 * as a length-delimited field: the length must precede the bytes.
 * Allocation failures are sticky (pb__err()), so a message can be built
 * without a check after every field.
 */
#ifndef __PROTOBUF_H
#define __PROTOBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* Wire types: the low 3 bits of a field's key. */
enum {
	WIRE_VARINT = 0,
	WIRE_I64 = 1,
	WIRE_LEN = 2,
	WIRE_I32 = 5,
};

struct pb {
	__u8 *data;
	size_t len, cap;
	bool nomem;
};

/* Empty @b, keeping its memory for the next message. */
static inline void pb__reset(struct pb *b)
{
	b->len = 0;
}

void pb__free(struct pb *b);
/* 0, or -ENOMEM when any append since the last pb__free() failed. */
int pb__err(const struct pb *b);

/* Wire type 0: uint64, int64 (negative values take ten bytes), bool. */
void pb__varint_field(struct pb *b, __u32 field, __u64 v);
/* Wire type 2: bytes, strings, nested messages. */
void pb__bytes_field(struct pb *b, __u32 field, const void *data, size_t len);
void pb__msg_field(struct pb *b, __u32 field, const struct pb *msg);
/* A packed repeated varint field; nothing at all when @n is 0. */
void pb__packed_field(struct pb *b, __u32 field, const __u64 *v, size_t n);

/* Distinct strings, in order of first use; index 0 is always "". */
struct pb_strtab;

struct pb_strtab *pb_strtab__new(void);
void pb_strtab__free(struct pb_strtab *t);
/*
 * Index of @s, adding it on first use. Strings that are not valid UTF-8
 * are stored with U+FFFD in place of bad sequences (proto3 strings must
 * be UTF-8); the caller's string is never kept. -ENOMEM on failure.
 */
long long pb_strtab__index(struct pb_strtab *t, const char *s);
size_t pb_strtab__count(const struct pb_strtab *t);
const char *pb_strtab__str(const struct pb_strtab *t, size_t idx);

#endif /* __PROTOBUF_H */
