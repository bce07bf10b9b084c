/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --native: a sampled thread's native stack, unwound in userspace from
 * what the kernel copied (its user registers and the top of its user
 * stack) with elfutils' libdw: DWARF CFI (.eh_frame, .debug_frame) where
 * the binaries have it, frame pointers where they do not. Memory reads
 * are served from the copy; the binaries are opened inside the
 * process's own root (a container's files, not the host's), and
 * separate debug info is looked for by build-id and debuglink there too.
 *
 * One libdw session per process, reused for every sample (its modules
 * and CFI are parsed once); reported again when a sample's PC lies in no
 * module known (a library loaded since).
 */
#ifndef __UNWIND_H
#define __UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>
#include "pybpfprof.h"

struct unwinder;

struct native_frame {
	__u64 pc;		/* as unwound (a return address, but for the leaf) */
	__u64 sp;		/* the frame's stack pointer: its lowest address */
	__u64 cfa;		/* its canonical frame address: the caller's sp */
	const char *binary;	/* the file's base name (the unwinder's), or NULL */
	const char *symbol;	/* or NULL when none covers the pc */
	__u64 offset;		/* pc - the module's load bias, for BINARY+0xOFFSET */
	bool python;		/* in libpython or the python executable */
};

struct unwinder *unwinder__new(void);
void unwinder__free(struct unwinder *u);
/* Forget what is known of @pid (it exited or exec'd). */
void unwinder__forget(struct unwinder *u, pid_t pid);

/*
 * Unwind thread @tid of @pid, leaf first, into @out (at most @max).
 * @regs: PY_NATIVE_* registers; @stack: @stack_len bytes copied from
 * regs[PY_NATIVE_SP] up. The count of frames; *@truncated when the
 * unwinding stopped before the stack's root (an unreadable frame).
 */
size_t unwinder__unwind(struct unwinder *u, pid_t pid, pid_t tid, const __u64 *regs,
			const void *stack, size_t stack_len, struct native_frame *out,
			size_t max, bool *truncated);

#endif /* __UNWIND_H */
