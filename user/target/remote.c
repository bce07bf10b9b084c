// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <sys/uio.h>
#include "remote.h"

int remote__read(pid_t pid, __u64 addr, void *buf, size_t len)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec target = { .iov_base = (void *)(unsigned long)addr, .iov_len = len };
	ssize_t n;

	if (!addr)
		return -EFAULT;
	n = process_vm_readv(pid, &local, 1, &target, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EFAULT;
}

int remote__read_u64(pid_t pid, __u64 addr, __u64 *v)
{
	return remote__read(pid, addr, v, sizeof(*v));
}

unsigned int remote__read2(pid_t pid, __u64 addr1, void *buf1, size_t len1, __u64 addr2,
			   void *buf2, size_t len2)
{
	struct iovec local[2], target[2];
	unsigned int n = 0, done = 0;
	ssize_t got;

	if (addr1) {
		local[n] = (struct iovec){ .iov_base = buf1, .iov_len = len1 };
		target[n++] = (struct iovec){ .iov_base = (void *)(unsigned long)addr1,
					      .iov_len = len1 };
	}
	if (addr2) {
		local[n] = (struct iovec){ .iov_base = buf2, .iov_len = len2 };
		target[n++] = (struct iovec){ .iov_base = (void *)(unsigned long)addr2,
					      .iov_len = len2 };
	}
	if (!n)
		return 0;
	got = process_vm_readv(pid, local, n, target, n, 0);
	if (got <= 0)
		return 0;
	if (addr1 && (size_t)got >= len1) {
		done |= 1;
		got -= len1;
	} else if (addr1) {
		return 0;
	}
	if (addr2 && (size_t)got >= len2)
		done |= 2;
	return done;
}
