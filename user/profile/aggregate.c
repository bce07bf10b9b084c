// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Aggregation of symbolized samples.
 *
 * Every dictionary (strings, functions, frames, processes, stacks) is a
 * dense array of records, so an id is an index, plus an open-addressing
 * index from key to id. Strings are interned once and then compared and
 * hashed by pointer, which keeps frame and process keys fixed-size.
 *
 * agg__add_stack() is the hot path (once per sample): a hit costs one
 * hash of the frame ids, one index slot and one contiguous record (key,
 * count and frame ids together, so a lookup is two cache misses, not
 * three); ids are only validated when a new stack is inserted.
 *
 * Pointers returned by agg__frame() and agg__proc() stay valid until the
 * next agg__intern_*() call (the arrays may move); strings live as long
 * as the agg. Nothing may be added during agg__for_each_stack().
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "array.h"
#include "aggregate.h"

/* What the interning calls return when they cannot (no memory). */
#define AGG_NO_ID ((__u32)-1)
/* Ids are __u32 and AGG_NO_ID is reserved. */
#define AGG_MAX_ID ((size_t)UINT32_MAX - 1)

#define INDEX_MIN_SLOTS 64

struct index_slot {
	__u32 hash;	/* low bits of the key's hash: skips most compares */
	__u32 id1;	/* id + 1; 0 marks an empty slot */
};

/* Linear probing, at most half full; entries are never deleted. */
struct index {
	struct index_slot *slots;
	size_t mask;	/* number of slots - 1, slots a power of two */
	size_t used;
};

struct func_rec {
	const char *qualname;
	const char *file;
	int first_line;
};

/*
 * A stack is a run of words in agg->pool: this header, then its frame
 * ids; stacks lie back to back in insertion order, and the stack index
 * maps a key to the offset of its header. Words, not a struct, so the
 * pool is one plain __u32 array.
 */
enum {
	STK_COUNT_LO,
	STK_COUNT_HI,
	STK_THREAD,	/* string id + 1 of the thread name, 0 for none */
	STK_PROC,	/* the key: proc_id, tid, flags, nframes, frame ids */
	STK_TID,
	STK_FLAGS,
	STK_NFRAMES,
	STK_IDS,	/* header size */
};

/* A key being looked up, in the shape the eq callbacks expect. */
struct frame_key {
	const char *qualname;
	const char *file;
	int first_line;
	int line;
};

struct proc_key {
	__u32 pid;
	const char *comm;
};

struct stack_key {
	__u32 proc_id;
	__u32 tid;
	unsigned int flags;
	size_t nframes;
	const __u32 *ids;
};

struct agg {
	struct index str_index;
	char **strs;
	size_t nstrs, strs_cap;

	struct index func_index;
	struct func_rec *funcs;
	size_t nfuncs, funcs_cap;

	struct index frame_index;
	struct agg_frame *frames;
	size_t nframes, frames_cap;

	struct index proc_index;
	struct agg_proc *procs;
	size_t nprocs, procs_cap;

	struct index stack_index;	/* id = offset in pool */
	__u32 *pool;
	size_t pool_len, pool_cap;
	size_t nstacks;

	__u64 total;
	__u64 serial;		/* agg__serial() */
};

typedef bool (*index_eq_fn)(const struct agg *a, __u32 id, const void *key);

/* ---- hashing ---------------------------------------------------------- */

static inline __u64 mix64(__u64 x)
{
	/* The MurmurHash3 finalizer: every input bit reaches every output bit. */
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

static inline __u64 hash_step(__u64 h, __u64 w)
{
	h ^= w * 0x87c37b91114253d5ULL;
	h = (h << 31) | (h >> 33);
	return h * 0x4cf5ad432745937fULL;
}

/* FNV-1a; only used when a string is interned, never per sample. */
static __u64 hash_str(const char *s)
{
	__u64 h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return mix64(h);
}

static inline __u64 hash_ptr(const void *p)
{
	return (__u64)(uintptr_t)p;
}

static __u64 hash_stack(const struct stack_key *k)
{
	__u64 h = mix64(((__u64)k->proc_id << 32 | k->tid) ^ k->nframes);
	size_t i = 0;

	h = hash_step(h, k->flags);
	/* Two ids per step: this runs over every frame of every sample. */
	for (; i + 1 < k->nframes; i += 2)
		h = hash_step(h, (__u64)k->ids[i] << 32 | k->ids[i + 1]);
	if (i < k->nframes)
		h = hash_step(h, k->ids[i]);
	return mix64(h);
}

/* ---- the index -------------------------------------------------------- */

/* The slot holding a key equal to @key, or the empty slot where it would go. */
static struct index_slot *index__probe(const struct index *ix, __u32 hash, index_eq_fn eq,
				       const struct agg *a, const void *key)
{
	size_t i = hash & ix->mask;

	if (!ix->slots)
		return NULL;
	for (;;) {
		struct index_slot *s = &ix->slots[i];

		if (!s->id1 || (s->hash == hash && eq(a, s->id1 - 1, key)))
			return s;
		i = (i + 1) & ix->mask;
	}
}

static struct index_slot *index__free_slot(const struct index *ix, __u32 hash)
{
	size_t i = hash & ix->mask;

	while (ix->slots[i].id1)
		i = (i + 1) & ix->mask;
	return &ix->slots[i];
}

/* Make room for one more entry. Moves the slots: probe again afterwards. */
static int index__reserve(struct index *ix)
{
	size_t nslots = ix->slots ? ix->mask + 1 : 0;
	struct index_slot *old = ix->slots;
	size_t new_nslots;

	if (ix->slots && (ix->used + 1) * 2 <= nslots)
		return 0;
	new_nslots = nslots ? nslots * 2 : INDEX_MIN_SLOTS;
	if (new_nslots < nslots || new_nslots > SIZE_MAX / sizeof(*old))
		return -ENOMEM;
	ix->slots = calloc(new_nslots, sizeof(*old));
	if (!ix->slots) {
		ix->slots = old;
		return -ENOMEM;
	}
	ix->mask = new_nslots - 1;
	for (size_t i = 0; i < nslots; i++) {
		if (old[i].id1)
			*index__free_slot(ix, old[i].hash) = old[i];
	}
	free(old);
	return 0;
}

/* Insert @id under @hash; index__reserve() must have succeeded first. */
static void index__add(struct index *ix, __u32 hash, __u32 id)
{
	struct index_slot *s = index__free_slot(ix, hash);

	s->hash = hash;
	s->id1 = id + 1;
	ix->used++;
}

static void index__free(struct index *ix)
{
	free(ix->slots);
	ix->slots = NULL;
}

/* ---- arrays ----------------------------------------------------------- */

/* Room for @need elements of @size in *@v, growing it geometrically. */
/* Room for one more record in a dictionary: array slot, id and index slot. */
static int dict__reserve(void **v, size_t *cap, size_t n, size_t size, struct index *ix)
{
	if (n >= AGG_MAX_ID)
		return -ENOSPC;
	if (array__reserve(v, cap, n + 1, size))
		return -ENOMEM;
	return index__reserve(ix);
}

/* ---- strings ---------------------------------------------------------- */

static bool str_eq(const struct agg *a, __u32 id, const void *key)
{
	return !strcmp(a->strs[id], key);
}

/* The id of the agg's own copy of @s; AGG_NO_ID when out of memory. */
static __u32 agg__intern_str_id(struct agg *a, const char *s)
{
	__u32 hash = (__u32)hash_str(s);
	struct index_slot *slot;
	char *copy;

	slot = index__probe(&a->str_index, hash, str_eq, a, s);
	if (slot && slot->id1)
		return slot->id1 - 1;
	if (dict__reserve((void **)&a->strs, &a->strs_cap, a->nstrs, sizeof(*a->strs),
			  &a->str_index))
		return AGG_NO_ID;
	copy = strdup(s);
	if (!copy)
		return AGG_NO_ID;
	a->strs[a->nstrs] = copy;
	index__add(&a->str_index, hash, (__u32)a->nstrs);
	return (__u32)a->nstrs++;
}

/* The agg's own copy of @s; NULL when out of memory. */
static const char *agg__intern_str(struct agg *a, const char *s)
{
	__u32 id = agg__intern_str_id(a, s);

	return id == AGG_NO_ID ? NULL : a->strs[id];
}

/* ---- functions and frames --------------------------------------------- */

static bool func_eq(const struct agg *a, __u32 id, const void *key)
{
	const struct func_rec *r = &a->funcs[id];
	const struct frame_key *k = key;

	/* Interned: equal strings are the same pointer. */
	return r->qualname == k->qualname && r->file == k->file &&
	       r->first_line == k->first_line;
}

static bool frame_eq(const struct agg *a, __u32 id, const void *key)
{
	const struct agg_frame *r = &a->frames[id];
	const struct frame_key *k = key;

	return r->qualname == k->qualname && r->file == k->file &&
	       r->first_line == k->first_line && r->line == k->line;
}

static __u64 hash_func(const struct frame_key *k)
{
	__u64 h = mix64(hash_ptr(k->qualname));

	h = hash_step(h, hash_ptr(k->file));
	h = hash_step(h, (__u32)k->first_line);
	return mix64(h);
}

static __u32 agg__intern_func(struct agg *a, const struct frame_key *k)
{
	__u32 hash = (__u32)hash_func(k);
	struct index_slot *slot;
	struct func_rec *r;

	slot = index__probe(&a->func_index, hash, func_eq, a, k);
	if (slot && slot->id1)
		return slot->id1 - 1;
	if (dict__reserve((void **)&a->funcs, &a->funcs_cap, a->nfuncs, sizeof(*a->funcs),
			  &a->func_index))
		return AGG_NO_ID;
	r = &a->funcs[a->nfuncs];
	r->qualname = k->qualname;
	r->file = k->file;
	r->first_line = k->first_line;
	index__add(&a->func_index, hash, (__u32)a->nfuncs);
	return (__u32)a->nfuncs++;
}

__u32 agg__intern_frame(struct agg *a, const char *qualname, const char *file,
			int first_line, int line)
{
	struct frame_key k = { .first_line = first_line, .line = line < 0 ? -1 : line };
	struct index_slot *slot;
	struct agg_frame *fr;
	__u32 hash, func_id;

	if (!a)
		return AGG_NO_ID;
	/* Writers print these: never hand them a NULL. */
	k.qualname = agg__intern_str(a, qualname ? qualname : "?");
	k.file = agg__intern_str(a, file ? file : "?");
	if (!k.qualname || !k.file)
		return AGG_NO_ID;

	hash = (__u32)mix64(hash_func(&k) ^ (__u32)k.line);
	slot = index__probe(&a->frame_index, hash, frame_eq, a, &k);
	if (slot && slot->id1)
		return slot->id1 - 1;

	func_id = agg__intern_func(a, &k);
	if (func_id == AGG_NO_ID)
		return AGG_NO_ID;
	if (dict__reserve((void **)&a->frames, &a->frames_cap, a->nframes, sizeof(*a->frames),
			  &a->frame_index))
		return AGG_NO_ID;
	fr = &a->frames[a->nframes];
	fr->qualname = k.qualname;
	fr->file = k.file;
	fr->first_line = k.first_line;
	fr->line = k.line;
	fr->func_id = func_id;
	index__add(&a->frame_index, hash, (__u32)a->nframes);
	return (__u32)a->nframes++;
}

const struct agg_frame *agg__frame(const struct agg *a, __u32 frame_id)
{
	if (!a || frame_id >= a->nframes)
		return NULL;
	return &a->frames[frame_id];
}

/* ---- processes -------------------------------------------------------- */

static bool proc_eq(const struct agg *a, __u32 id, const void *key)
{
	const struct agg_proc *r = &a->procs[id];
	const struct proc_key *k = key;

	return r->pid == k->pid && r->comm == k->comm;
}

__u32 agg__intern_proc(struct agg *a, __u32 pid, const char *comm)
{
	struct proc_key k = { .pid = pid };
	struct index_slot *slot;
	struct agg_proc *p;
	__u32 hash;

	if (!a)
		return AGG_NO_ID;
	k.comm = agg__intern_str(a, comm ? comm : "?");
	if (!k.comm)
		return AGG_NO_ID;
	hash = (__u32)mix64(hash_step(pid, hash_ptr(k.comm)));
	slot = index__probe(&a->proc_index, hash, proc_eq, a, &k);
	if (slot && slot->id1)
		return slot->id1 - 1;
	if (dict__reserve((void **)&a->procs, &a->procs_cap, a->nprocs, sizeof(*a->procs),
			  &a->proc_index))
		return AGG_NO_ID;
	p = &a->procs[a->nprocs];
	p->pid = pid;
	p->comm = k.comm;
	p->service = NULL;
	p->container_id = NULL;
	index__add(&a->proc_index, hash, (__u32)a->nprocs);
	return (__u32)a->nprocs++;
}

int agg__set_proc_origin(struct agg *a, __u32 proc_id, const char *service,
			 const char *container_id)
{
	struct agg_proc *p;
	const char *sv = NULL, *ci = NULL;

	if (!a || proc_id >= a->nprocs)
		return -EINVAL;
	p = &a->procs[proc_id];
	if (p->service || p->container_id)
		return 0;
	/* Interned first: the array may move while strings are added. */
	if (service && !(sv = agg__intern_str(a, service)))
		return -ENOMEM;
	if (container_id && !(ci = agg__intern_str(a, container_id)))
		return -ENOMEM;
	p = &a->procs[proc_id];
	p->service = sv;
	p->container_id = ci;
	return 0;
}

const struct agg_proc *agg__proc(const struct agg *a, __u32 proc_id)
{
	if (!a || proc_id >= a->nprocs)
		return NULL;
	return &a->procs[proc_id];
}

/* ---- stacks ----------------------------------------------------------- */

static inline __u64 stack_count(const __u32 *h)
{
	return (__u64)h[STK_COUNT_HI] << 32 | h[STK_COUNT_LO];
}

static inline void stack_set_count(__u32 *h, __u64 count)
{
	h[STK_COUNT_LO] = (__u32)count;
	h[STK_COUNT_HI] = (__u32)(count >> 32);
}

/* 0 for no name, or when there is no memory to keep it. */
static __u32 agg__thread_ref(struct agg *a, const char *thread_name)
{
	__u32 id;

	if (!thread_name)
		return 0;
	id = agg__intern_str_id(a, thread_name);
	return id == AGG_NO_ID ? 0 : id + 1;
}

static bool stack_eq(const struct agg *a, __u32 off, const void *key)
{
	const __u32 *h = a->pool + off;
	const struct stack_key *k = key;

	return h[STK_NFRAMES] == k->nframes && h[STK_PROC] == k->proc_id &&
	       h[STK_TID] == k->tid && h[STK_FLAGS] == k->flags &&
	       (!k->nframes || !memcmp(h + STK_IDS, k->ids, k->nframes * sizeof(*k->ids)));
}

static int agg__insert_stack(struct agg *a, const struct stack_key *k, __u32 hash,
			     const char *thread_name, __u64 count)
{
	size_t len = STK_IDS + k->nframes;
	__u32 *h;
	int err;

	if (k->proc_id >= a->nprocs)
		return -EINVAL;
	for (size_t i = 0; i < k->nframes; i++) {
		if (k->ids[i] >= a->nframes)
			return -EINVAL;
	}
	/* Offsets are ids in the index: the pool is limited to ~16 GiB. */
	if (k->nframes > AGG_MAX_ID - STK_IDS || a->pool_len > AGG_MAX_ID - len)
		return -ENOSPC;
	/* Everything that can fail before anything changes. */
	err = array__reserve((void **)&a->pool, &a->pool_cap, a->pool_len + len,
			     sizeof(*a->pool));
	if (err)
		return err;
	err = index__reserve(&a->stack_index);
	if (err)
		return err;

	h = a->pool + a->pool_len;
	stack_set_count(h, count);
	/* Out of memory for a name loses the name, not the samples. */
	h[STK_THREAD] = agg__thread_ref(a, thread_name);
	h[STK_PROC] = k->proc_id;
	h[STK_TID] = k->tid;
	h[STK_FLAGS] = k->flags;
	h[STK_NFRAMES] = (__u32)k->nframes;
	if (k->nframes)
		memcpy(h + STK_IDS, k->ids, k->nframes * sizeof(*k->ids));
	index__add(&a->stack_index, hash, (__u32)a->pool_len);
	a->pool_len += len;
	a->nstacks++;
	return 0;
}

int agg__add_stack(struct agg *a, __u32 proc_id, __u32 tid, const char *thread_name,
		   const __u32 *frame_ids, size_t nframes, unsigned int flags, __u64 count)
{
	return agg__add_stack_ref(a, proc_id, tid, thread_name, frame_ids, nframes, flags, count,
				  NULL);
}

int agg__add_stack_ref(struct agg *a, __u32 proc_id, __u32 tid, const char *thread_name,
		       const __u32 *frame_ids, size_t nframes, unsigned int flags, __u64 count,
		       __u32 *ref)
{
	struct stack_key k = {
		.proc_id = proc_id,
		.tid = tid,
		.flags = flags,
		.nframes = nframes,
		.ids = frame_ids,
	};
	struct index_slot *slot;
	__u32 hash, *h;
	int err;

	if (ref)
		*ref = AGG_NO_ID;
	if (!a || (nframes && !frame_ids))
		return -EINVAL;
	/* A stack with no samples would print as a line with count 0. */
	if (!count)
		return 0;

	hash = (__u32)hash_stack(&k);
	slot = index__probe(&a->stack_index, hash, stack_eq, a, &k);
	if (slot && slot->id1) {
		if (ref)
			*ref = slot->id1 - 1;
		h = a->pool + slot->id1 - 1;
		stack_set_count(h, stack_count(h) + count);
		/*
		 * The thread name is not part of the key (a thread may be
		 * renamed mid-run): the first name seen sticks.
		 */
		if (!h[STK_THREAD] && thread_name)
			h[STK_THREAD] = agg__thread_ref(a, thread_name);
	} else {
		size_t at = a->pool_len;

		err = agg__insert_stack(a, &k, hash, thread_name, count);
		if (err)
			return err;
		if (ref)
			*ref = (__u32)at;
	}
	a->total += count;
	return 0;
}

int agg__add_at(struct agg *a, __u32 ref, __u64 count)
{
	__u32 *h;

	/* A stack's header and frames lie wholly inside the pool. */
	if (!a || ref > a->pool_len || a->pool_len - ref < STK_IDS ||
	    a->pool[ref + STK_NFRAMES] > a->pool_len - ref - STK_IDS)
		return -EINVAL;
	h = a->pool + ref;
	stack_set_count(h, stack_count(h) + count);
	a->total += count;
	return 0;
}

__u64 agg__serial(const struct agg *a)
{
	return a ? a->serial : 0;
}

int agg__for_each_stack(const struct agg *a,
			int (*cb)(const struct agg_stack *s, void *ctx), void *ctx)
{
	if (!a || !cb)
		return -EINVAL;
	for (size_t off = 0; off < a->pool_len; off += STK_IDS + a->pool[off + STK_NFRAMES]) {
		const __u32 *h = a->pool + off;
		struct agg_stack s = {
			.proc_id = h[STK_PROC],
			.tid = h[STK_TID],
			.thread_name = h[STK_THREAD] ? a->strs[h[STK_THREAD] - 1] : NULL,
			.flags = h[STK_FLAGS],
			.nframes = h[STK_NFRAMES],
			.frame_ids = h + STK_IDS,
			.count = stack_count(h),
		};
		int ret = cb(&s, ctx);

		if (ret)
			return ret;
	}
	return 0;
}

__u64 agg__total_samples(const struct agg *a)
{
	return a ? a->total : 0;
}

void agg__gil_totals(const struct agg *a, __u64 out[8])
{
	memset(out, 0, 8 * sizeof(out[0]));
	if (!a)
		return;
	for (size_t off = 0; off < a->pool_len; off += STK_IDS + a->pool[off + STK_NFRAMES])
		out[agg_stack_gil(a->pool[off + STK_FLAGS])] += stack_count(a->pool + off);
}

size_t agg__nr_stacks(const struct agg *a)
{
	return a ? a->nstacks : 0;
}

size_t agg__nr_frames(const struct agg *a)
{
	return a ? a->nframes : 0;
}

size_t agg__nr_procs(const struct agg *a)
{
	return a ? a->nprocs : 0;
}

/* ---- per-function counts ---------------------------------------------- */

static int func_cmp(const void *pa, const void *pb)
{
	const struct agg_func *x = pa, *y = pb;
	int c;

	if (x->own != y->own)
		return x->own > y->own ? -1 : 1;
	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	c = strcmp(x->qualname, y->qualname);
	if (c)
		return c;
	c = strcmp(x->file, y->file);
	if (c)
		return c;
	return (x->first_line > y->first_line) - (x->first_line < y->first_line);
}

struct agg_func *agg__functions(const struct agg *a, size_t *nfuncs)
{
	struct agg_func *funcs;
	size_t *seen, nframes, n = 0;

	if (!a) {
		errno = EINVAL;
		return NULL;
	}
	/* One extra element: an empty profile still returns non-NULL. */
	funcs = calloc(a->nfuncs + 1, sizeof(*funcs));
	if (!funcs)
		return NULL;
	/* seen[f] = the ordinal (from 1) of the last stack that counted f. */
	seen = calloc(a->nfuncs + 1, sizeof(*seen));
	if (!seen) {
		free(funcs);
		return NULL;
	}

	for (size_t off = 0, i = 1; off < a->pool_len; off += STK_IDS + nframes, i++) {
		const __u32 *h = a->pool + off, *ids = h + STK_IDS;
		__u64 count = stack_count(h);

		nframes = h[STK_NFRAMES];
		if (!nframes)
			continue;
		for (size_t j = 0; j < nframes; j++) {
			__u32 f = a->frames[ids[j]].func_id;

			/* Recursion: a function counts once per sample. */
			if (seen[f] != i) {
				seen[f] = i;
				funcs[f].total += count;
			}
		}
		funcs[a->frames[ids[nframes - 1]].func_id].own += count;
	}
	free(seen);

	/* Functions with no samples (interned, then never in a stack) are left out. */
	for (size_t f = 0; f < a->nfuncs; f++) {
		if (!funcs[f].total)
			continue;
		funcs[n] = funcs[f];
		funcs[n].qualname = a->funcs[f].qualname;
		funcs[n].file = a->funcs[f].file;
		funcs[n].first_line = a->funcs[f].first_line;
		n++;
	}
	qsort(funcs, n, sizeof(*funcs), func_cmp);
	if (nfuncs)
		*nfuncs = n;
	return funcs;
}

/* ---- life cycle ------------------------------------------------------- */

struct agg *agg__new(void)
{
	static __u64 serials;
	struct agg *a = calloc(1, sizeof(struct agg));

	/* Never 0, never repeated: a ref cached for a freed aggregate stays unmatched. */
	if (a)
		a->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
	return a;
}

void agg__free(struct agg *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nstrs; i++)
		free(a->strs[i]);
	free(a->strs);
	free(a->funcs);
	free(a->frames);
	free(a->procs);
	free(a->pool);
	index__free(&a->str_index);
	index__free(&a->func_index);
	index__free(&a->frame_index);
	index__free(&a->proc_index);
	index__free(&a->stack_index);
	free(a);
}
