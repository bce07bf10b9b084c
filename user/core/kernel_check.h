/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What the running kernel must offer, checked before anything loads. */
#ifndef __KERNEL_CHECK_H
#define __KERNEL_CHECK_H

#include <stddef.h>

/*
 * 0 when the kernel has BTF, BPF, perf_event programs, the ring buffer
 * and bpf_loop; otherwise -errno with a one-line reason in @why that
 * names what is missing.
 */
int kernel__check_features(char *why, size_t size);

#endif /* __KERNEL_CHECK_H */
