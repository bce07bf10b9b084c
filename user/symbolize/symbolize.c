// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "hmap.h"
#include "linetable.h"
#include "remote.h"
#include "symbolize.h"
#include "utf8.h"

#define MAX_STR_CHARS 4096		/* longer names are cut */
#define MAX_LINETABLE (1 << 20)
#define MAX_CODE_HEADER 512
#define UNREADABLE_NAME "[unreadable code object]"

/*
 * Per-process cache bounds. A long-lived process that keeps compiling
 * code (templates, exec, eval, RPC stubs) brings new code objects for as
 * long as it runs; past a bound the cache starts over, and the only cost
 * is reading the live code objects once more. Sized so that a large
 * application (tens of thousands of functions) never hits them.
 */
#define MAX_CACHED_CODES (1 << 16)
#define MAX_CACHED_FRAMES (1 << 18)

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
	pid_t pid;		/* the process the code object was read from */
	__u64 *tlbc;		/* co_tlbc->entries[0..tlbc_len), as last read */
	__u32 tlbc_len;
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
	bool tlbc;		/* free-threaded: frames carry a tlbc_index */
	struct hmap *codes;	/* code_key -> code_info */
	struct hmap *frames;	/* frame_key -> agg frame id */
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
	s->tlbc = s->l->instr_kind == PY_INSTR_POINTER && s->l->frame_tlbc > 0 &&
		  s->l->code_tlbc > 0;
	s->codes = hmap__new(sizeof(struct code_key), sizeof(struct code_info));
	s->frames = hmap__new(sizeof(struct frame_key), sizeof(__u32));
	if (!s->codes || !s->frames) {
		symbolizer__free(s);
		return NULL;
	}
	return s;
}

void symbolizer__set_dict(struct symbolizer *s, struct agg *dict)
{
	/* Frame ids belong to the dictionary; code objects stay cached. */
	hmap__free(s->frames);
	s->frames = hmap__new(sizeof(struct frame_key), sizeof(__u32));
	s->agg = dict;
}

static int free_code(const void *key, void *value, void *ctx)
{
	struct code_info *ci = value;

	free(ci->qualname);
	free(ci->file);
	free(ci->table);
	free(ci->tlbc);
	return 0;
}

void symbolizer__free(struct symbolizer *s)
{
	if (!s)
		return;
	if (s->codes)
		hmap__for_each(s->codes, free_code, NULL);
	hmap__free(s->codes);
	hmap__free(s->frames);
	free(s);
}

/*
 * Start the caches over once either reaches its bound (or a previous
 * reset ran out of memory, leaving a map NULL).
 */
static void symbolizer__bound_caches(struct symbolizer *s)
{
	if (s->codes && s->frames && hmap__size(s->codes) < MAX_CACHED_CODES &&
	    hmap__size(s->frames) < MAX_CACHED_FRAMES)
		return;
	if (s->codes)
		hmap__for_each(s->codes, free_code, NULL);
	hmap__free(s->codes);
	hmap__free(s->frames);
	s->codes = hmap__new(sizeof(struct code_key), sizeof(struct code_info));
	s->frames = hmap__new(sizeof(struct frame_key), sizeof(__u32));
	s->stats.cache_resets++;
}

void symbolizer__stats(const struct symbolizer *s, struct symbolizer_stats *st)
{
	*st = s->stats;
	st->codes_cached = s->codes ? hmap__size(s->codes) : 0;
	st->frames_cached = s->frames ? hmap__size(s->frames) : 0;
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
	/* PyObject_VAR_HEAD's ob_size is where PyBytesObject has it. */
	const __s16 offs[] = { l->code_filename, l->code_name, l->code_qualname,
			       l->code_firstlineno, l->code_linetable, l->code_cksum + 24,
			       l->instr_kind == PY_INSTR_POINTER ? l->bytes_size : -1 };
	size_t size = 24;

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
	/* ob_size: code units; 16 on default builds, 32 on free-threaded. */
	if (l->instr_kind == PY_INSTR_POINTER && l->bytes_size >= 0)
		ci->code_bytes = (__u32)get_u64(hdr, l->bytes_size) * 2;
	ci->table = read_bytes(s, pid, get_u64(hdr, l->code_linetable), MAX_LINETABLE,
			       &ci->table_len);
	ci->pid = pid;
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

/*
 * Read co_tlbc->entries[0..idx] (a _PyCodeArray: Py_ssize_t size, then
 * the pointers; entries[0] is co_code_adaptive). Copies are made when a
 * thread first runs the code and freed once their thread is gone, so
 * the array is read again whenever a cached entry does not fit.
 */
static int read_tlbc(struct symbolizer *s, __u64 code, struct code_info *ci, __u32 idx)
{
	__u64 arr, size, *v;

	if (remote__read_u64(ci->pid, code + s->l->code_tlbc, &arr) || !arr ||
	    remote__read_u64(ci->pid, arr, &size) || size <= idx)
		return -1;
	v = malloc((idx + 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (remote__read(ci->pid, arr + 8, v, (idx + 1) * sizeof(*v))) {
		free(v);
		return -1;
	}
	free(ci->tlbc);
	ci->tlbc = v;
	ci->tlbc_len = idx + 1;
	return 0;
}

/*
 * Byte offset of a frame executing in thread-local copy @idx, or -1.
 * lasti is (u32)(instr_ptr - code), so (u32)(lasti + (u32)(code - copy))
 * is instr_ptr - copy modulo 2^32: the offset itself. A result outside
 * the bytecode means the copy we know is not the one sampled.
 */
static long tlbc_offset(struct symbolizer *s, __u64 code, struct code_info *ci, __u32 idx,
			__u32 lasti)
{
	__u32 off, limit = ci->code_bytes ? ci->code_bytes : MAX_LINETABLE;

	for (int pass = 0; pass < 2; pass++) {
		if (idx < ci->tlbc_len && ci->tlbc[idx]) {
			off = lasti + (__u32)(code - ci->tlbc[idx]);
			if (off < limit && !(off & 1)) {
				s->stats.tlbc_frames++;
				return off;
			}
		}
		if (pass || idx == PY_FRAME_TLBC_UNKNOWN || read_tlbc(s, code, ci, idx))
			break;
	}
	s->stats.tlbc_failures++;
	return -1;
}

__u32 symbolizer__frame(struct symbolizer *s, const struct py_frame *f)
{
	struct frame_key fkey = { .code = f->code, .lasti = f->lasti, .cksum = f->cksum };
	struct code_key ckey = { .code = f->code, .cksum = f->cksum };
	struct code_info *ci;
	__u32 *id, fid, tlbc = 0;
	bool created, remember = true;
	long off;
	int line = -1;

	symbolizer__bound_caches(s);
	if (!s->codes || !s->frames)
		return agg__intern_frame(s->agg, UNREADABLE_NAME, "?", 0, -1);
	id = hmap__find(s->frames, &fkey);
	if (id)
		return *id;

	/* Free-threaded: the bytecode copy's index rides in the high bits. */
	if (s->tlbc) {
		tlbc = f->code >> PY_FRAME_TLBC_SHIFT;
		ckey.code = f->code & PY_FRAME_ADDR_MASK;
	}
	ci = hmap__insert(s->codes, &ckey, &created);
	if (ci && created)
		code_lookup(s, ckey.code, f->cksum, ci);
	if (!ci || !ci->ok) {
		fid = agg__intern_frame(s->agg, UNREADABLE_NAME, "?", 0, -1);
	} else if (s->no_lines) {
		fid = agg__intern_frame(s->agg, ci->qualname, ci->file, ci->first_line,
					ci->first_line);
	} else {
		if (tlbc) {
			off = tlbc_offset(s, ckey.code, ci, tlbc, f->lasti);
			/* The copy may show up in the array later: try again. */
			remember = off >= 0;
		} else {
			off = instr_offset(s, ci, f->lasti);
		}
		if (off >= 0 && ci->table)
			line = linetable__line_at(s->l->linetable_kind, ci->table, ci->table_len,
						  ci->first_line, (__u32)off);
		fid = agg__intern_frame(s->agg, ci->qualname, ci->file, ci->first_line, line);
	}
	/* An id of -1 (out of memory) is not worth remembering. */
	if (fid != (__u32)-1 && remember) {
		id = hmap__insert(s->frames, &fkey, NULL);
		if (id)
			*id = fid;
	}
	return fid;
}
