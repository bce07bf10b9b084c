/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Reads of another process's memory. Nothing read is trusted. */
#ifndef __REMOTE_H
#define __REMOTE_H

#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

/* Copy @len bytes at @addr of @pid into @buf: 0, or -errno (short read: -EFAULT). */
int remote__read(pid_t pid, __u64 addr, void *buf, size_t len);
int remote__read_u64(pid_t pid, __u64 addr, __u64 *v);
/*
 * Two reads in one system call (@addr 0: that one not wanted): bit 0
 * set when the first was read whole, bit 1 the second. The kernel stops
 * at the first that fails, so a failed first costs the second too.
 */
unsigned int remote__read2(pid_t pid, __u64 addr1, void *buf1, size_t len1, __u64 addr2,
			   void *buf2, size_t len2);

#endif /* __REMOTE_H */
