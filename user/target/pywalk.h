/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The kernel's frame walk, done from userspace with process_vm_readv(),
 * for a thread that is not running (wall mode: a thread found off CPU by
 * a snapshot, whose memory the kernel cannot read from another task's
 * context). Same rules, same records (struct py_frame), so the
 * symbolizer cannot tell them apart. Every read may fail; every loop is bounded.
 */
#ifndef __PYWALK_H
#define __PYWALK_H

#include <sys/types.h>
#include <linux/types.h>
#include "pybpfprof.h"

/* The thread state whose thread_id is @thread_ptr (the FS base), or 0. */
__u64 pywalk__find_tstate(pid_t pid, const struct py_proc_info *pi, __u64 thread_ptr);
/*
 * Frames of @tstate, leaf first, into @out (at most @max): the count,
 * with SAMPLE_TRUNCATED / SAMPLE_READ_ERROR in *@flags, and the address
 * of the frame it began from in *@top (0: none), for telling whether the
 * thread has moved since.
 */
unsigned int pywalk__stack(pid_t pid, const struct py_proc_info *pi, __u64 tstate,
			   struct py_frame *out, unsigned int max, __u16 *flags, __u64 *top);
/* The GIL @tstate's interpreter uses (0 if not known). */
__u64 pywalk__gil(pid_t pid, const struct py_proc_info *pi, __u64 tstate);
/* enum gil_state of @tstate: held, none, attached or unknown. */
__u8 pywalk__gil_state(pid_t pid, const struct py_proc_info *pi, __u64 tstate, __u64 gil);

#endif /* __PYWALK_H */
