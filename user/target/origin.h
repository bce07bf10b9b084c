/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Where a process runs, from its cgroup path (/proc/PID/cgroup): the
 * systemd unit (/system.slice/foo.service -> "foo") or the container
 * (docker, containerd, CRI-O and podman scopes, and cgroupfs-driver
 * paths) with its 64-hex id. The innermost one wins, so a rootless
 * podman container below user@1000.service is the container, and a
 * service's own processes are the service.
 */
#ifndef __ORIGIN_H
#define __ORIGIN_H

#include <sys/types.h>

#define ORIGIN_ID_LEN 64

struct proc_origin {
	char service[256];		/* "foo", "docker/0123456789ab", or "" */
	char container_id[ORIGIN_ID_LEN + 1];	/* or "" */
};

/* From the text of a /proc/PID/cgroup file (cgroup v2, or v1's lines). */
void origin__parse(const char *cgroup, struct proc_origin *o);
/* 0, or -errno when /proc/PID/cgroup cannot be read (@o is then empty). */
int origin__read(pid_t pid, struct proc_origin *o);

#endif /* __ORIGIN_H */
