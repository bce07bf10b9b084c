// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <linux/openat2.h>
#include "procfs.h"

#define MAX_MAPS 65536	/* bound on a hostile /proc/PID/maps */

static int parse_map_line(char *line, struct proc_map *m)
{
	char perms[8] = "";
	int path_at = 0;
	size_t len;

	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %llu %n", &m->start, &m->end, perms,
		   &m->offset, &m->dev_major, &m->dev_minor, &m->inode, &path_at) < 7)
		return -EINVAL;
	m->exec = perms[2] == 'x';
	if (!path_at || line[path_at] != '/' || !m->inode)
		return -ENOENT;	/* anonymous, [heap], [vdso], ... */
	len = strcspn(line + path_at, "\n");
	if (len >= sizeof(m->path))
		return -ENAMETOOLONG;
	memcpy(m->path, line + path_at, len);
	m->path[len] = '\0';
	m->deleted = len > 10 && !strcmp(m->path + len - 10, " (deleted)");
	if (m->deleted)
		m->path[len - 10] = '\0';
	return 0;
}

int procfs__read_maps(pid_t pid, struct proc_map **maps, size_t *n)
{
	char fname[64], *line = NULL;
	struct proc_map *v = NULL, *tmp;
	size_t cap = 0, cnt = 0, lcap = 0;
	int err = 0;
	FILE *f;

	snprintf(fname, sizeof(fname), "/proc/%d/maps", pid);
	f = fopen(fname, "re");
	if (!f)
		return -errno;
	while (getline(&line, &lcap, f) > 0 && cnt < MAX_MAPS) {
		struct proc_map m = {};

		if (parse_map_line(line, &m))
			continue;
		if (cnt == cap) {
			cap = cap ? cap * 2 : 64;
			tmp = realloc(v, cap * sizeof(*v));
			if (!tmp) {
				err = -ENOMEM;
				goto out_free;
			}
			v = tmp;
		}
		v[cnt++] = m;
	}
	*maps = v;
	*n = cnt;
	v = NULL;
out_free:
	free(v);
	free(line);
	fclose(f);
	return err;
}

int procfs__vdso(pid_t pid, __u64 *start, __u64 *end)
{
	char fname[64], *line = NULL;
	size_t lcap = 0;
	int err = -ENOENT;
	FILE *f;

	snprintf(fname, sizeof(fname), "/proc/%d/maps", pid);
	f = fopen(fname, "re");
	if (!f)
		return -errno;
	while (getline(&line, &lcap, f) > 0) {
		unsigned long long s, e;
		int at = 0;

		if (sscanf(line, "%llx-%llx %*s %*s %*s %*s %n", &s, &e, &at) == 2 && at &&
		    !strncmp(line + at, "[vdso]", 6)) {
			*start = s;
			*end = e;
			err = 0;
			break;
		}
	}
	free(line);
	fclose(f);
	return err;
}

static int read_comm(const char *fname, char *buf, size_t size)
{
	ssize_t n;
	int fd;

	fd = open(fname, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	return 0;
}

int procfs__comm(pid_t pid, char *buf, size_t size)
{
	char fname[64];

	snprintf(fname, sizeof(fname), "/proc/%d/comm", pid);
	return read_comm(fname, buf, size);
}

int procfs__thread_comm(pid_t pid, pid_t tid, char *buf, size_t size)
{
	char fname[64];

	snprintf(fname, sizeof(fname), "/proc/%d/task/%d/comm", pid, tid);
	return read_comm(fname, buf, size);
}

/* Field @field (>= 3) of /proc/PID/stat, which follows the last ')'. */
static int stat_field(pid_t pid, int field, __u64 *value)
{
	char fname[64], buf[1024], *p;
	ssize_t n;
	int fd;

	snprintf(fname, sizeof(fname), "/proc/%d/stat", pid);
	fd = open(fname, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* comm may hold spaces and ')': fields start after the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EINVAL;
	for (int i = 2; i < field && p; i++)
		p = strchr(p + 1, ' ');
	if (!p)
		return -EINVAL;
	*value = strtoull(p + 1, NULL, 10);
	return 0;
}

int procfs__start_time(pid_t pid, __u64 *start)
{
	return stat_field(pid, 22, start);
}

int procfs__ppid(pid_t pid, pid_t *ppid)
{
	__u64 v;
	int err = stat_field(pid, 4, &v);

	if (!err)
		*ppid = (pid_t)v;
	return err;
}

bool procfs__pid_exists(pid_t pid)
{
	char fname[64];

	snprintf(fname, sizeof(fname), "/proc/%d", pid);
	return access(fname, F_OK) == 0;
}

static int open_in_root(pid_t pid, const char *path)
{
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	char root[64];
	int dirfd, fd;

	snprintf(root, sizeof(root), "/proc/%d/root", pid);
	dirfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		return -errno;
	fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));
	if (fd < 0)
		fd = -errno;
	close(dirfd);
	return fd;
}

int procfs__open_mapped(pid_t pid, const struct proc_map *m)
{
	char fname[96];
	struct stat st;
	int fd = -ENOENT;

	if (!m->deleted)
		fd = open_in_root(pid, m->path);
	if (fd >= 0) {
		/*
		 * The path may now name another file than the one mapped: the
		 * same inode number on another device is another file. (On
		 * overlayfs the maps name the backing file, so this falls to
		 * map_files, which is always the mapped file.)
		 */
		if (!fstat(fd, &st) && st.st_ino == m->inode &&
		    major(st.st_dev) == m->dev_major && minor(st.st_dev) == m->dev_minor)
			return fd;
		close(fd);
	}
	snprintf(fname, sizeof(fname), "/proc/%d/map_files/%llx-%llx", pid, m->start, m->end);
	fd = open(fname, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}
