// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <bpf/libbpf.h>
#include "checks.h"

#define VMLINUX_BTF "/sys/kernel/btf/vmlinux"

int checks__privileges(char *why, size_t size)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};
	static const struct { int cap; const char *name; } need[] = {
		{ CAP_BPF, "CAP_BPF" },
		{ CAP_PERFMON, "CAP_PERFMON" },
		{ CAP_SYS_PTRACE, "CAP_SYS_PTRACE" },
	};
	char missing[128] = "";

	if (syscall(SYS_capget, &hdr, data)) {
		snprintf(why, size, "cannot read the process capabilities: %s", strerror(errno));
		return -errno;
	}
	for (size_t i = 0; i < sizeof(need) / sizeof(need[0]); i++) {
		int c = need[i].cap;

		if (data[c / 32].effective & (1U << (c % 32)))
			continue;
		/* Before 5.8, CAP_SYS_ADMIN covered what CAP_BPF and CAP_PERFMON do. */
		if (c != CAP_SYS_PTRACE &&
		    (data[CAP_SYS_ADMIN / 32].effective & (1U << (CAP_SYS_ADMIN % 32))))
			continue;
		snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing), "%s%s",
			 missing[0] ? ", " : "", need[i].name);
	}
	if (missing[0]) {
		snprintf(why, size, "needs root or CAP_BPF, CAP_PERFMON and CAP_SYS_PTRACE "
			 "(missing %s): run it with sudo", missing);
		return -EPERM;
	}
	return 0;
}

int checks__kernel(char *why, size_t size)
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
	return 0;
}

/*
 * Features newer than the 5.8 floor, each probed by loading a tiny
 * program (never by kernel version): what lacks one degrades, with a
 * notice, rather than failing to load.
 */
bool checks__has_bpf_loop(void)
{
	static int have = -1;

	/* 5.17+. Without it the frames are walked in tail-called chunks. */
	if (have < 0)
		have = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT, BPF_FUNC_loop, NULL) > 0;
	return have;
}

bool checks__has_ringbuf_dynptr(void)
{
	static int have = -1;

	/* 5.19+. --native's records vary in size: reserved as a dynptr. */
	if (have < 0)
		have = libbpf_probe_bpf_helper(BPF_PROG_TYPE_PERF_EVENT,
					       BPF_FUNC_ringbuf_reserve_dynptr, NULL) > 0;
	return have;
}

int checks__pids(const pid_t *pids, size_t n, char *why, size_t size)
{
	char path[64];

	for (size_t i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "/proc/%d", pids[i]);
		if (access(path, F_OK)) {
			snprintf(why, size, "no process with pid %d", pids[i]);
			return -ESRCH;
		}
	}
	return 0;
}
