// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <bpf/libbpf.h>
#include "kernel_check.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

int kernel__check_features(char *why, size_t size)
{
	int ret;

	if (access(VMLINUX_BTF, R_OK)) {
		snprintf(why, size, "the kernel has no BTF (%s: %s): it needs "
			 "CONFIG_DEBUG_INFO_BTF=y", VMLINUX_BTF, strerror(errno));
		return -ENOENT;
	}
	/* Each probe loads a tiny program or map: 1 = supported. */
	ret = libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_PERF_EVENT, NULL);
	if (ret <= 0) {
		snprintf(why, size, "the kernel cannot load BPF perf_event programs (%s): "
			 "it needs CONFIG_BPF_SYSCALL=y and CONFIG_BPF_EVENTS=y",
			 ret ? strerror(-ret) : "not supported");
		return ret ? ret : -EOPNOTSUPP;
	}
	ret = libbpf_probe_bpf_map_type(BPF_MAP_TYPE_RINGBUF, NULL);
	if (ret <= 0) {
		snprintf(why, size, "the kernel has no BPF ring buffer: Linux 5.8 or later "
			 "is needed");
		return -EOPNOTSUPP;
	}
	ret = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_loop, NULL);
	if (ret <= 0) {
		snprintf(why, size, "the kernel has no bpf_loop helper: Linux 5.17 or later "
			 "is needed");
		return -EOPNOTSUPP;
	}
	return 0;
}
