/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Recognising a Python process by what its ELF files hold (_PyRuntime,
 * Py_Version, .PyRuntime, interp_head), never by its name, and working
 * out where its interpreter state lives.
 */
#ifndef __PYTARGET_H
#define __PYTARGET_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "cpython_layout.h"
#include "pybpfprof.h"

struct py_target {
	int major, minor;
	__u32 version_hex;	/* 0 when only major.minor is known */
	bool free_threaded;
	bool from_debug_offsets;	/* layout read from the interpreter itself */
	__u64 runtime_addr;	/* &_PyRuntime, 0 before 3.7 */
	__u64 interp_head_addr;	/* where PyInterpreterState *head is stored */
	__u64 none_addr;	/* &_Py_NoneStruct */
	struct py_layout layout;
	char binary[PATH_MAX];	/* ELF holding the runtime, as the target sees it */
};

/*
 * Identify @pid. Returns 0 when it is a supported Python process;
 * -ENOENT when it is not Python; -EAGAIN when it may become one soon
 * (an interpreter whose libpython is not mapped yet); -ENOTSUP when it
 * is a Python we cannot profile, with the reason in @why.
 */
int py_target__identify(pid_t pid, struct py_target *t, char *why, size_t why_size);

/*
 * -ENOTSUP, with the reason in @why, when a frame field of @l lies past
 * the bytes of each frame the kernel copies (PYBPFPROF_FRAME_BUF_SIZE).
 */
int py_layout__check_kernel_fit(const struct py_layout *l, char *why, size_t why_size);

/* What the BPF walker needs, from an identified target. */
void py_target__proc_info(const struct py_target *t, struct py_proc_info *pi);

/* Drop cached facts about ELF files (tests, long runs). */
void py_target__flush_cache(void);

#endif /* __PYTARGET_H */
