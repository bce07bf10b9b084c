/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* What /proc tells about a process: mappings, name, identity, files. */
#ifndef __PROCFS_H
#define __PROCFS_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <linux/types.h>

struct proc_map {
	__u64 start, end, offset;
	__u64 inode;
	unsigned int dev_major, dev_minor;
	bool exec;
	bool deleted;		/* " (deleted)": open through map_files only */
	char path[PATH_MAX];	/* as the process sees it (its mount namespace) */
};

/* File-backed mappings of @pid, malloc'd into *@maps: 0 or -errno. */
int procfs__read_maps(pid_t pid, struct proc_map **maps, size_t *n);
/* Where @pid's vDSO is mapped: 0, or -errno (-ENOENT: it has none). */
int procfs__vdso(pid_t pid, __u64 *start, __u64 *end);
int procfs__comm(pid_t pid, char *buf, size_t size);
int procfs__thread_comm(pid_t pid, pid_t tid, char *buf, size_t size);
/* Start time in clock ticks since boot: tells a reused PID apart. */
int procfs__start_time(pid_t pid, __u64 *start);
int procfs__ppid(pid_t pid, pid_t *ppid);
bool procfs__pid_exists(pid_t pid);
/*
 * Open the file behind mapping @m of @pid read-only. The path is
 * resolved inside the process's root (openat2 RESOLVE_IN_ROOT), so a
 * container's symlinks cannot lead to host files; map_files is the
 * fallback for deleted or otherwise unreachable files.
 */
int procfs__open_mapped(pid_t pid, const struct proc_map *m);

#endif /* __PROCFS_H */
