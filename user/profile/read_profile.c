// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A profile file, whole in memory, handed to the reader its content
 * names: gzip or a protobuf message is pprof, text lines ending in a
 * count are folded. The other formats we write get a message that says
 * what they are, as someone will try them.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "array.h"
#include "read_profile.h"

/* A profile file may be this big: anything larger is not one of ours. */
#define MAX_FILE (1ULL << 30)

static int read_all(const char *path, char **data, size_t *len)
{
	size_t cap = 0, n = 0;
	char *buf = NULL;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t got;

		if (n > MAX_FILE) {
			err = -EFBIG;
			break;
		}
		if (array__reserve((void **)&buf, &cap, n + 65536 + 1, 1)) {
			err = -ENOMEM;
			break;
		}
		got = read(fd, buf + n, cap - n - 1);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			err = -errno;
			break;
		}
		if (!got)
			break;
		n += (size_t)got;
	}
	close(fd);
	if (err) {
		free(buf);
		return err;
	}
	if (!buf && !(buf = malloc(1)))
		return -ENOMEM;
	buf[n] = '\0';
	*data = buf;
	*len = n;
	return 0;
}

/* Text whose first line ends in " COUNT": the folded format. */
static bool looks_folded(const char *data, size_t len)
{
	const char *nl = memchr(data, '\n', len), *p;
	size_t n = nl ? (size_t)(nl - data) : len;

	if (n && data[n - 1] == '\r')
		n--;
	p = data + n;
	while (p > data && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return p < data + n && p > data && p[-1] == ' ' && !memchr(data, '\0', n);
}

/* What another format of ours is called, to say so; NULL when none. */
static const char *other_format(const char *data, size_t len)
{
	if (len >= 5 && (!memcmp(data, "<?xml", 5) || !memcmp(data, "<svg", 4)))
		return "an SVG flame graph";
	if (len >= 2 && data[0] == '{' && data[1] && strchr("\"} \t\r\n", data[1]))
		return "JSON (speedscope?)";
	if (len >= 4 && !memcmp(data, "%OWN", 4))
		return "a table";
	/* A marshalled dict, with or without its reference flag: pstats. */
	if (data[0] == '{' || (unsigned char)data[0] == 0xfb)
		return "pstats";
	return NULL;
}

struct agg *read_profile__file(const char *path, struct profile_info *info, char *why,
			       size_t why_size)
{
	char detail[512] = "";
	const char *other;
	struct agg *a;
	char *data = NULL;
	size_t len = 0;
	int err;

	err = read_all(path, &data, &len);
	if (err) {
		snprintf(why, why_size, "cannot read %s: %s", path,
			 err == -EFBIG ? "larger than 1 GiB: not a profile" : strerror(-err));
		return NULL;
	}
	a = agg__new();
	if (!a) {
		free(data);
		snprintf(why, why_size, "out of memory reading %s", path);
		return NULL;
	}
	memset(info, 0, sizeof(*info));
	if (!len) {
		err = -EINVAL;
		snprintf(detail, sizeof(detail), "an empty file");
	} else if (len >= 2 && (unsigned char)data[0] == 0x1f && (unsigned char)data[1] == 0x8b) {
		err = read_pprof__parse(data, len, a, info, detail, sizeof(detail));
	} else if (looks_folded(data, len)) {
		info->kind = PROFILE_FOLDED;
		err = read_folded__parse(data, len, a, detail, sizeof(detail));
	} else if ((other = other_format(data, len))) {
		err = -EINVAL;
		snprintf(detail, sizeof(detail), "%s, not a folded or pprof profile", other);
	} else {
		/* Uncompressed pprof; if it is not, say what was expected. */
		err = read_pprof__parse(data, len, a, info, detail, sizeof(detail));
		if (err == -EINVAL)
			snprintf(detail, sizeof(detail),
				 "neither folded stacks nor a pprof profile");
	}
	free(data);
	if (err) {
		if (err == -ENOMEM)
			snprintf(why, why_size, "out of memory reading %s", path);
		else
			snprintf(why, why_size, "%s: %s", path, detail);
		agg__free(a);
		return NULL;
	}
	return a;
}
