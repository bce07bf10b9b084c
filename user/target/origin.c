// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "origin.h"

#define CGROUP_FILE_MAX 8192

/* Container scopes by prefix, and the runtime each belongs to. */
static const struct {
	const char *prefix;
	const char *runtime;
} scopes[] = {
	{ "docker-", "docker" },
	{ "cri-containerd-", "containerd" },
	{ "crio-", "cri-o" },
	{ "libpod-", "podman" },
};

static bool is_hex_id(const char *s, size_t len)
{
	if (len != ORIGIN_ID_LEN)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i]))
			return false;
	return true;
}

static void set_container(struct proc_origin *o, const char *runtime, const char *id)
{
	memcpy(o->container_id, id, ORIGIN_ID_LEN);
	o->container_id[ORIGIN_ID_LEN] = '\0';
	snprintf(o->service, sizeof(o->service), "%s/%.12s", runtime, id);
}

/*
 * One path component: a container scope ("docker-<id>.scope"), a
 * cgroupfs-driver container ("<id>" below "docker" or a kubepods path),
 * or a unit ("foo.service"). True when it names the process's origin.
 */
static bool component(const char *c, size_t len, const char *parent, size_t plen,
		      struct proc_origin *o)
{
	static const char scope[] = ".scope", service[] = ".service";

	if (len > sizeof(scope) - 1 && !memcmp(c + len - 6, scope, 6)) {
		for (size_t i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
			size_t n = strlen(scopes[i].prefix);

			if (len == n + ORIGIN_ID_LEN + 6 && !memcmp(c, scopes[i].prefix, n) &&
			    is_hex_id(c + n, ORIGIN_ID_LEN)) {
				set_container(o, scopes[i].runtime, c + n);
				return true;
			}
		}
		return false;
	}
	if (is_hex_id(c, len) && parent) {
		/* cgroupfs driver: /docker/<id>, /kubepods/.../<id>. */
		if (plen == 6 && !memcmp(parent, "docker", 6)) {
			set_container(o, "docker", c);
			return true;
		}
		if (plen >= 3 && !memcmp(parent, "pod", 3)) {
			set_container(o, "kubernetes", c);
			return true;
		}
	}
	if (len > sizeof(service) - 1 && !memcmp(c + len - 8, service, 8)) {
		snprintf(o->service, sizeof(o->service), "%.*s", (int)(len - 8), c);
		return true;
	}
	return false;
}

/* The path of one cgroup line ("0::/a/b", "1:name=systemd:/a/b"), leaf first. */
static void origin_of_path(const char *path, size_t len, struct proc_origin *o)
{
	const char *end = path + len;

	while (end > path) {
		const char *start = end, *pstart, *pend;

		while (start > path && start[-1] != '/')
			start--;
		pend = start > path ? start - 1 : path;
		pstart = pend;
		while (pstart > path && pstart[-1] != '/')
			pstart--;
		if (end > start &&
		    component(start, end - start, pend > pstart ? pstart : NULL, pend - pstart, o))
			return;
		end = start > path ? start - 1 : path;
	}
}

void origin__parse(const char *cgroup, struct proc_origin *o)
{
	const char *line = cgroup, *best = NULL, *best_end = NULL;
	int best_rank = 0;

	memset(o, 0, sizeof(*o));
	/* v2's unified line, else v1's systemd hierarchy, else the first. */
	while (line && *line) {
		const char *nl = strchr(line, '\n'), *end = nl ? nl : line + strlen(line);
		const char *c1 = memchr(line, ':', end - line);
		const char *c2 = c1 ? memchr(c1 + 1, ':', end - c1 - 1) : NULL;
		int rank = 0;

		if (c2) {
			if (c2 == c1 + 1 && line[0] == '0' && c1 == line + 1)
				rank = 3;
			else if ((size_t)(c2 - c1 - 1) == 12 && !memcmp(c1 + 1, "name=systemd", 12))
				rank = 2;
			else
				rank = 1;
			if (rank > best_rank) {
				best_rank = rank;
				best = c2 + 1;
				best_end = end;
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	if (best)
		origin_of_path(best, best_end - best, o);
}

int origin__read(pid_t pid, struct proc_origin *o)
{
	char path[64], buf[CGROUP_FILE_MAX];
	ssize_t n;
	int fd, err = 0;

	memset(o, 0, sizeof(*o));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0)
		err = -errno;
	close(fd);
	if (err)
		return err;
	buf[n] = '\0';
	origin__parse(buf, o);
	return 0;
}
