// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hashmap.h"
#include "linetable.h"
#include "remote.h"
#include "symbolize.h"
#include "utf8.h"

#define MAX_STR_CHARS 4096		/* longer names are cut */
#define MAX_LINETABLE (1 << 20)
#define MAX_CODE_HEADER 512
#define UNREADABLE_NAME "[unreadable code object]"

struct code_key {
	__u64 code;
	__u32 cksum;
	__u32 pad;
};

struct code_info {
	bool ok;
	char *qualname;
	char *file;
	int first_line;
	__u32 code_bytes;	/* bytecode size (3.11+), 0 = unknown */
	__u8 *table;
	size_t table_len;
};

struct frame_key {
	__u64 code;
	__u32 lasti;
	__u32 cksum;
};

struct symbolizer {
	pid_t pid;
	pid_t fork_parent;	/* holds the same code objects, if still alive */
	const struct py_layout *l;
	struct py_target target;
	struct agg *agg;
	bool no_lines;
	struct hashmap *codes;	/* code_key -> code_info */
	struct hashmap *frames;	/* frame_key -> agg frame id */
	struct symbolizer_stats stats;
};

struct symbolizer *symbolizer__new(pid_t pid, const struct py_target *t, struct agg *agg,
				   bool no_lines)
{
	struct symbolizer *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->pid = pid;
	s->target = *t;
	s->l = &s->target.layout;
	s->agg = agg;
	s->no_lines = no_lines;
	s->codes = hashmap__new(sizeof(struct code_key), sizeof(struct code_info));
	s->frames = hashmap__new(sizeof(struct frame_key), sizeof(__u32));
	if (!s->codes || !s->frames) {
		symbolizer__free(s);
		return NULL;
	}
	return s;
}

static int free_code(const void *key, void *value, void *ctx)
{
	struct code_info *ci = value;

	free(ci->qualname);
	free(ci->file);
	free(ci->table);
	return 0;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	if (s->codes)
		hashmap__for_each(s->codes, free_code, NULL);
	hashmap__free(s->codes);
	hashmap__free(s->frames);
	free(s);
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *st)
{
	*st = s->stats;
}

static __u64 get_u64(const __u8 *buf, __s16 off)
{
	__u64 v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

static __u32 get_u32(const __u8 *buf, __s16 off)
{
	__u32 v;

	memcpy(&v, buf + off, sizeof(v));
	return v;
}

/* A PyBytesObject / PyStringObject's contents, bounded by @max. */
static __u8 *read_bytes(struct symbolizer *s, pid_t pid, __u64 addr, size_t max, size_t *len)
{
	__u64 size;
	__u8 *buf;

	if (remote__read_u64(pid, addr + s->l->bytes_size, &size) || size > max)
		return NULL;
	buf = malloc(size + 1);
	if (!buf)
		return NULL;
	if (size && remote__read(pid, addr + s->l->bytes_data, buf, size)) {
		free(buf);
		return NULL;
	}
	buf[size] = '\0';
	*len = size;
	return buf;
}

/* A compact str (PEP 393) as UTF-8; legacy non-compact strs are refused. */
static char *read_unicode(struct symbolizer *s, pid_t pid, __u64 addr)
{
	const struct py_layout *l = s->l;
	__u8 hdr[128], *data = NULL;
	unsigned int kind, width;
	__u64 length, state;
	char *out = NULL;
	size_t n;

	if (l->unicode_compact_data <= 0 || l->unicode_compact_data > (int)sizeof(hdr) ||
	    remote__read(pid, addr, hdr, l->unicode_compact_data))
		return NULL;
	length = get_u64(hdr, l->unicode_length);
	state = get_u32(hdr, l->unicode_state);
	if (!((state >> l->unicode_compact_bit) & 1))
		return NULL;
	if ((state >> l->unicode_ascii_bit) & 1) {
		kind = 1;
		width = 1;
		addr += l->unicode_ascii_data;
	} else {
		kind = (state >> l->unicode_kind_shift) & 7;
		if (kind != 1 && kind != 2 && kind != 4)
			return NULL;
		width = kind;
		addr += l->unicode_compact_data;
	}
	n = length > MAX_STR_CHARS ? MAX_STR_CHARS : length;
	data = malloc(n * width + 1);
	if (!data)
		return NULL;
	if (n && remote__read(pid, addr, data, n * width))
		goto out_free;
	out = utf8__from_ucs(data, n, width);
out_free:
	free(data);
	return out;
}

static char *read_str(struct symbolizer *s, pid_t pid, __u64 addr)
{
	size_t len;
	__u8 *raw;
	char *out;

	if (!addr)
		return NULL;
	if (s->l->str_kind == PY_STR_UNICODE)
		return read_unicode(s, pid, addr);
	raw = read_bytes(s, pid, addr, MAX_STR_CHARS, &len);
	if (!raw)
		return NULL;
	out = utf8__sanitize((const char *)raw, len);
	free(raw);
	return out;
}

static size_t code_header_size(const struct py_layout *l)
{
	const __s16 offs[] = { l->code_filename, l->code_name, l->code_qualname,
			       l->code_firstlineno, l->code_linetable, l->code_cksum + 24 };
	size_t size = 24;	/* PyObject_VAR_HEAD: ob_size for 3.11+ */

	for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++)
		if (offs[i] >= 0 && (size_t)offs[i] + 8 > size)
			size = offs[i] + 8;
	return size;
}

static bool read_code(struct symbolizer *s, pid_t pid, __u64 code, __u32 cksum,
		      struct code_info *ci)
{
	const struct py_layout *l = s->l;
	__u8 hdr[MAX_CODE_HEADER];
	size_t size = code_header_size(l);
	__u64 window[4];

	if (size > sizeof(hdr) || remote__read(pid, code, hdr, size))
		goto fail;
	memcpy(window, hdr + l->code_cksum, sizeof(window));
	/* Another code object now lives at this address: names would lie. */
	if (cksum && py_code_cksum(window) != cksum)
		goto fail;

	ci->qualname = read_str(s, pid, get_u64(hdr, l->code_qualname >= 0 ?
						l->code_qualname : l->code_name));
	ci->file = read_str(s, pid, get_u64(hdr, l->code_filename));
	if (!ci->qualname || !ci->file)
		goto fail;
	ci->first_line = (int)get_u32(hdr, l->code_firstlineno);
	if (l->instr_kind == PY_INSTR_POINTER)
		ci->code_bytes = (__u32)get_u64(hdr, 16) * 2;	/* ob_size: code units */
	ci->table = read_bytes(s, pid, get_u64(hdr, l->code_linetable), MAX_LINETABLE,
			       &ci->table_len);
	ci->ok = true;
	return true;
fail:
	free(ci->qualname);
	free(ci->file);
	ci->qualname = ci->file = NULL;
	return false;
}

/*
 * A forked child that already exited can still be named: its parent
 * holds the same code objects at the same addresses, and the kernel's
 * checksum proves a code object there is the one sampled.
 */
static void code_lookup(struct symbolizer *s, __u64 code, __u32 cksum, struct code_info *ci)
{
	s->stats.code_reads++;
	if (read_code(s, s->pid, code, cksum, ci))
		return;
	if (s->fork_parent && cksum && read_code(s, s->fork_parent, code, cksum, ci))
		return;
	s->stats.code_failures++;
}

void symbolizer__set_fork_parent(struct symbolizer *s, pid_t parent)
{
	s->fork_parent = parent;
}

/* Byte offset of the executing instruction, or -1 when out of range. */
static long instr_offset(const struct symbolizer *s, const struct code_info *ci, __u32 lasti)
{
	long off;

	switch (s->l->instr_kind) {
	case PY_INSTR_LASTI_BYTES:
		return (int)lasti < 0 ? 0 : (long)(int)lasti;
	case PY_INSTR_LASTI_UNITS:
		return (int)lasti < 0 ? 0 : 2L * (int)lasti;
	default:
		/* lasti = instruction pointer - code object address. */
		off = (long)(int)lasti - s->l->code_adaptive;
		if (off < 0)	/* 3.11-3.12 prev_instr before the first one */
			return 0;
		if (ci->code_bytes && off >= ci->code_bytes)
			return -1;
		return off;
	}
}

__u32 symbolizer__frame(struct symbolizer *s, const struct py_frame *f)
{
	struct frame_key fkey = { .code = f->code, .lasti = f->lasti, .cksum = f->cksum };
	struct code_key ckey = { .code = f->code, .cksum = f->cksum };
	struct code_info *ci;
	__u32 *id, fid;
	bool created;
	long off;
	int line = -1;

	id = hashmap__find(s->frames, &fkey);
	if (id)
		return *id;

	ci = hashmap__insert(s->codes, &ckey, &created);
	if (ci && created)
		code_lookup(s, f->code, f->cksum, ci);
	if (!ci || !ci->ok) {
		fid = agg__intern_frame(s->agg, UNREADABLE_NAME, "?", 0, -1);
	} else {
		off = instr_offset(s, ci, f->lasti);
		if (s->no_lines)
			line = ci->first_line;
		else if (off >= 0 && ci->table)
			line = linetable__line_at(s->l->linetable_kind, ci->table, ci->table_len,
						  ci->first_line, (__u32)off);
		fid = agg__intern_frame(s->agg, ci->qualname, ci->file, ci->first_line, line);
	}
	/* An id of -1 (out of memory) is not worth remembering. */
	if (fid != (__u32)-1) {
		id = hashmap__insert(s->frames, &fkey, NULL);
		if (id)
			*id = fid;
	}
	return fid;
}
