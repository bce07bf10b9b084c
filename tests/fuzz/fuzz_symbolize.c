// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The code-object and string reader over a fuzzed target memory: the
 * input is the target's memory, mapped at a fake address, and frames
 * point into it. remote__read is replaced by reads of that image.
 * Input: version selector (1 byte), frame count (1), then memory.
 * Selector 0xfe is a free-threaded 3.14t-style target: frames carry a
 * thread-local bytecode index and code objects a co_tlbc array, so the
 * copy lookup (symbolize.c tlbc_offset) is fuzzed too.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include "aggregate.h"
#include "cpython_layout.h"
#include "remote.h"
#include "symbolize.h"

#define FAKE_BASE 0x10000000ULL

static const uint8_t *mem;
static size_t mem_size;

int remote__read(pid_t pid, __u64 addr, void *buf, size_t len)
{
	if (addr < FAKE_BASE || addr - FAKE_BASE > mem_size ||
	    len > mem_size - (addr - FAKE_BASE))
		return -EFAULT;
	memcpy(buf, mem + (addr - FAKE_BASE), len);
	return 0;
}

int remote__read_u64(pid_t pid, __u64 addr, __u64 *v)
{
	return remote__read(pid, addr, v, sizeof(*v));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int minors[] = { 6, 7, 8, 9, 10, 11, 12, 13 };
	const struct py_layout *l;
	struct py_target t = {};
	struct symbolizer *s;
	struct agg *agg;

	if (size < 2)
		return 0;
	bool tlbc = data[0] == 0xfe;

	l = data[0] == 0xff ? py_layout__find(2, 7) :
	    tlbc ? py_layout__find(3, 13) :
	    py_layout__find(3, minors[data[0] % (sizeof(minors) / sizeof(minors[0]))]);
	if (!l)
		return 0;
	t.layout = *l;
	t.major = l->major;
	t.minor = l->minor;
	if (tlbc) {
		/* As in 3.14t: co_tlbc just before co_code_adaptive. */
		t.minor = t.layout.minor = 14;
		t.free_threaded = true;
		t.layout.frame_tlbc = 72;
		t.layout.code_tlbc = t.layout.code_adaptive - 8;
	}
	mem = data + 2;
	mem_size = size - 2;
	agg = agg__new();
	s = symbolizer__new(1, &t, agg, data[1] & 0x80);
	if (!s || !agg)
		goto out;
	/* Frames at every 8-byte offset of the image, checksum or not. */
	for (size_t i = 0; i < (data[1] & 0x3f) && i * 8 < mem_size; i++) {
		struct py_frame f = {
			/* With tlbc: an index in the high bits, as the kernel ships it. */
			.code = (FAKE_BASE + i * 8) |
				(tlbc ? (__u64)(i % 5) << PY_FRAME_TLBC_SHIFT : 0),
			.lasti = (__u32)(i * 37),
			.cksum = (data[1] & 0x40) ? (__u32)i : 0,
		};

		symbolizer__frame(s, &f);
	}
out:
	symbolizer__free(s);
	agg__free(agg);
	return 0;
}
