// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <linux/openat2.h>
#include "loop.h"
#include "outfile.h"

/* The kernel's own limit on symlinks followed while resolving a path. */
#define MAX_LINK_HOPS 40
#define STREAM_BUFFER (64 << 10)
#define FIFO_POLL_NS (50 * 1000000L)

enum outfile_kind {
	OUT_STDOUT,
	OUT_REGULAR,	/* temporary file + rename */
	OUT_IN_PLACE,	/* device, FIFO, pipe, socket: written where it is */
};

struct outfile {
	enum outfile_kind kind;
	const char *path;		/* as given */
	int fd;
	int dirfd;			/* OUT_REGULAR: the final file's directory */
	char base[NAME_MAX + 1];	/* OUT_REGULAR: the final file's name there */
	char tmp[NAME_MAX + 1];		/* OUT_REGULAR: the temporary file's name */
	FILE *stream;
	int write_err;			/* first write error, as -errno */
	bool discarding;		/* drop buffered data instead of writing it */
};

/* A path after resolution: a canonical one, or a /proc magic link. */
struct resolved {
	char path[PATH_MAX];
	bool magic;	/* /proc/PID/fd/N naming a pipe, socket or device */
};

uid_t outfile__invoking_uid(void)
{
	const char *s = getenv("SUDO_UID");
	unsigned long v;
	char *end;

	if (s && *s) {
		errno = 0;
		v = strtoul(s, &end, 10);
		if (!errno && !*end && v < (unsigned long)(uid_t)-1)
			return (uid_t)v;
	}
	return getuid();
}

/* ---- resolving the path ------------------------------------------------ */

/* /proc/{self,thread-self,PID}/[task/TID/]fd/N: links the kernel resolves itself. */
static bool is_proc_fd_link(const char *p)
{
	const char *s;

	if (strncmp(p, "/proc/", 6))
		return false;
	s = p + 6;
	if (!strncmp(s, "self/", 5))
		s += 5;
	else if (!strncmp(s, "thread-self/", 12))
		s += 12;
	else {
		if (*s < '0' || *s > '9')
			return false;
		s += strspn(s, "0123456789");
		if (*s++ != '/')
			return false;
		if (!strncmp(s, "task/", 5)) {
			s += 5;
			if (*s < '0' || *s > '9')
				return false;
			s += strspn(s, "0123456789");
			if (*s++ != '/')
				return false;
		}
	}
	if (strncmp(s, "fd/", 3))
		return false;
	s += 3;
	return *s >= '0' && *s <= '9' && s[strspn(s, "0123456789")] == '\0';
}

/* Drop the last component of an absolute canonical path ("" is "/"). */
static void path_pop(char *p)
{
	char *slash = strrchr(p, '/');

	if (slash)
		*slash = '\0';
}

/*
 * Resolve @path component by component, following only the symlinks
 * that root or @trusted own. The result has no symlink in it, except a
 * final /proc magic link naming something that has no path (a pipe, a
 * socket) or a device, which is opened as it is.
 */
static int resolve(const char *path, uid_t trusted, struct resolved *r, char *why,
		   size_t size)
{
	char rest[PATH_MAX * 2], link[PATH_MAX], cand[PATH_MAX];
	int hops = 0;

	r->magic = false;
	if (path[0] == '/') {
		r->path[0] = '\0';
	} else if (!getcwd(r->path, sizeof(r->path))) {
		snprintf(why, size, "cannot resolve output file '%s': %s", path, strerror(errno));
		return -errno;
	} else if (!strcmp(r->path, "/")) {
		r->path[0] = '\0';
	}
	if (snprintf(rest, sizeof(rest), "%s", path) >= (int)sizeof(rest))
		goto too_long;

	while (rest[0]) {
		char comp[NAME_MAX + 1], *slash = strchr(rest, '/');
		size_t len = slash ? (size_t)(slash - rest) : strlen(rest);
		bool last;
		struct stat st;

		if (len > NAME_MAX)
			goto too_long;
		memcpy(comp, rest, len);
		comp[len] = '\0';
		memmove(rest, rest + len + (slash ? 1 : 0), strlen(rest + len + (slash ? 1 : 0)) + 1);
		last = rest[strspn(rest, "/")] == '\0';
		if (!len || !strcmp(comp, "."))
			continue;
		if (!strcmp(comp, "..")) {
			path_pop(r->path);
			continue;
		}
		if (snprintf(cand, sizeof(cand), "%s/%s", r->path, comp) >= (int)sizeof(cand))
			goto too_long;
		if (lstat(cand, &st)) {
			if (errno == ENOENT && last) {
				memcpy(r->path, cand, strlen(cand) + 1);
				return 0;
			}
			snprintf(why, size, "cannot create output file '%s': %s: %s", path, cand,
				 strerror(errno));
			return -errno;
		}
		if (!S_ISLNK(st.st_mode)) {
			if (!last && !S_ISDIR(st.st_mode)) {
				snprintf(why, size, "cannot create output file '%s': %s is not a "
					 "directory", path, cand);
				return -ENOTDIR;
			}
			memcpy(r->path, cand, strlen(cand) + 1);
			continue;
		}
		if (st.st_uid != 0 && st.st_uid != trusted) {
			snprintf(why, size, "refusing output file '%s': the symbolic link %s is "
				 "owned by uid %u, neither root nor the invoking user", path, cand,
				 (unsigned int)st.st_uid);
			return -EPERM;
		}
		if (++hops > MAX_LINK_HOPS) {
			snprintf(why, size, "cannot create output file '%s': %s", path,
				 strerror(ELOOP));
			return -ELOOP;
		}
		if (is_proc_fd_link(cand)) {
			struct stat target;

			if (stat(cand, &target)) {
				snprintf(why, size, "cannot open output file '%s': %s: %s", path,
					 cand, strerror(errno));
				return -errno;
			}
			/*
			 * A pipe or socket has no path to go on with, nor has a
			 * deleted file: open those as they are.
			 */
			if ((!S_ISREG(target.st_mode) && !S_ISDIR(target.st_mode)) ||
			    (S_ISREG(target.st_mode) && !target.st_nlink)) {
				if (!last) {
					snprintf(why, size, "cannot create output file '%s': %s is "
						 "not a directory", path, cand);
					return -ENOTDIR;
				}
				memcpy(r->path, cand, strlen(cand) + 1);
				r->magic = true;
				return 0;
			}
		}
		{
			ssize_t n = readlink(cand, link, sizeof(link) - 1);
			size_t rlen = strlen(rest);

			if (n < 0) {
				snprintf(why, size, "cannot resolve output file '%s': %s: %s", path,
					 cand, strerror(errno));
				return -errno;
			}
			link[n] = '\0';
			/* A file deleted while open: its link text is no path. */
			if (link[0] != '/' && is_proc_fd_link(cand)) {
				snprintf(why, size, "cannot create output file '%s': %s names "
					 "'%s'", path, cand, link);
				return -ENOENT;
			}
			if ((size_t)n + 1 + rlen + 1 > sizeof(rest))
				goto too_long;
			/* rest = link + "/" + rest */
			memmove(rest + n + 1, rest, rlen + 1);
			memcpy(rest, link, n);
			rest[n] = rlen ? '/' : '\0';
			if (link[0] == '/')
				r->path[0] = '\0';
		}
	}
	/* The path named a directory ("/", "a/.."). */
	if (!r->path[0])
		strcpy(r->path, "/");
	return 0;
too_long:
	snprintf(why, size, "invalid output file '%s': path too long", path);
	return -ENAMETOOLONG;
}

/* ---- writing ------------------------------------------------------------ */

/* stdio over a descriptor that remembers the first write error's errno. */
static ssize_t cookie_write(void *c, const char *buf, size_t len)
{
	struct outfile *f = c;
	size_t done = 0;

	if (f->discarding)
		return (ssize_t)len;
	while (done < len) {
		ssize_t n = write(f->fd, buf + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!f->write_err)
				f->write_err = n < 0 ? -errno : -EIO;
			return -1;
		}
		done += n;
	}
	return (ssize_t)len;
}

static int stream_open(struct outfile *f)
{
	cookie_io_functions_t io = { .write = cookie_write };

	f->stream = fopencookie(f, "w", io);
	if (!f->stream)
		return -errno;
	setvbuf(f->stream, NULL, _IOFBF, STREAM_BUFFER);
	return 0;
}

/* ---- opening ------------------------------------------------------------ */

/* Without openat2 (before 5.6) the canonical path is opened plainly. */
static int open_dir_no_symlinks(const char *dir)
{
	struct open_how how = {
		.flags = O_PATH | O_DIRECTORY | O_CLOEXEC,
		.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	int fd = syscall(SYS_openat2, AT_FDCWD, dir, &how, sizeof(how));

	if (fd < 0 && (errno == ENOSYS || errno == EINVAL))
		fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	return fd;
}

static int open_regular(struct outfile *f, const char *final, mode_t mode, char *why,
			size_t size)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(final, '/');
	size_t dlen = slash - final;

	if (strlen(slash + 1) > NAME_MAX - 8) {
		snprintf(why, size, "invalid output file '%s': file name too long", f->path);
		return -ENAMETOOLONG;
	}
	memcpy(dir, final, dlen);
	dir[dlen ? dlen : 1] = '\0';
	if (!dlen)
		dir[0] = '/';
	strcpy(f->base, slash + 1);
	/*
	 * The directory is reopened refusing any symlink: one swapped in
	 * since resolve() looked fails here instead of being followed.
	 */
	f->dirfd = open_dir_no_symlinks(dir);
	if (f->dirfd < 0)
		goto fail;
	for (int tries = 0; tries < 100; tries++) {
		struct timespec ts;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		snprintf(f->tmp, sizeof(f->tmp), ".%.*s.%06lx", NAME_MAX - 9, f->base,
			 (unsigned long)((ts.tv_nsec ^ getpid() ^ tries * 7919) & 0xffffff));
		f->fd = openat(f->dirfd, f->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
			       O_NOFOLLOW, mode);
		if (f->fd >= 0 || errno != EEXIST)
			break;
	}
	if (f->fd < 0)
		goto fail;
	f->kind = OUT_REGULAR;
	/* The umask must not narrow what --private or the default asked for. */
	if (fchmod(f->fd, mode))
		goto fail;
	return 0;
fail:
	snprintf(why, size, "cannot create output file '%s': %s", f->path, strerror(errno));
	return -errno;
}

/* A FIFO without a reader: wait for one, as the shell would, but stay stoppable. */
static int open_fifo(const char *path, const char *name, char *why, size_t size)
{
	bool told = false;
	int fd;

	for (;;) {
		fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK);
		if (fd >= 0 || errno != ENXIO)
			break;
		if (!told) {
			fprintf(stderr, "pybpfprof: waiting for a reader of FIFO %s\n", name);
			told = true;
		}
		if (loop__stop_pending()) {
			snprintf(why, size, "interrupted while waiting for a reader of FIFO '%s'",
				 name);
			return -EINTR;
		}
		nanosleep(&(struct timespec){ 0, FIFO_POLL_NS }, NULL);
	}
	if (fd < 0) {
		snprintf(why, size, "cannot open output file '%s': %s", name, strerror(errno));
		return -errno;
	}
	/* Blocking writes from here on, as to any file. */
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	return fd;
}

static int connect_socket(const char *path, const char *name, char *why, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(why, size, "cannot connect to socket '%s': path too long", name);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		int err = errno;

		if (fd >= 0)
			close(fd);
		snprintf(why, size, "cannot connect to socket '%s': %s", name, strerror(err));
		return -err;
	}
	return fd;
}

/* /proc/self/fd/N (or our own PID's): a copy of our descriptor N. */
static int dup_own_fd(const char *link)
{
	char self[64];
	const char *n;
	long fd;

	snprintf(self, sizeof(self), "/proc/%d/fd/", getpid());
	if (!strncmp(link, "/proc/self/fd/", 14))
		n = link + 14;
	else if (!strncmp(link, self, strlen(self)))
		n = link + strlen(self);
	else
		return -1;
	fd = strtol(n, NULL, 10);
	return fcntl((int)fd, F_DUPFD_CLOEXEC, 3);
}

static int open_in_place(struct outfile *f, const struct resolved *r, char *why, size_t size)
{
	struct stat st;
	int fd;

	if (stat(r->path, &st)) {
		snprintf(why, size, "cannot open output file '%s': %s", f->path, strerror(errno));
		return -errno;
	}
	if (S_ISBLK(st.st_mode)) {
		snprintf(why, size, "refusing output file '%s': %s is a block device", f->path,
			 r->path);
		return -EPERM;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(why, size, "invalid output file '%s': is a directory", f->path);
		return -EISDIR;
	}
	if (S_ISFIFO(st.st_mode)) {
		fd = open_fifo(r->path, f->path, why, size);
	} else if (S_ISSOCK(st.st_mode)) {
		/* A socket behind /proc/PID/fd/N cannot be opened, only shared. */
		fd = r->magic ? dup_own_fd(r->path) : -1;
		if (fd < 0 && r->magic) {
			snprintf(why, size, "cannot open output file '%s': %s", f->path,
				 strerror(ENXIO));
			return -ENXIO;
		}
		if (fd < 0)
			fd = connect_socket(r->path, f->path, why, size);
	} else {
		fd = open(r->path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
		if (fd < 0) {
			snprintf(why, size, "cannot open output file '%s': %s", f->path,
				 strerror(errno));
			fd = -errno;
		}
	}
	if (fd < 0)
		return fd;
	f->fd = fd;
	f->kind = OUT_IN_PLACE;
	return 0;
}

struct outfile *outfile__open(const char *path, const struct outfile_opts *o, char *why,
			      size_t size)
{
	struct outfile *f = calloc(1, sizeof(*f));
	struct resolved r;
	struct stat st;
	int err;

	if (!f) {
		snprintf(why, size, "out of memory");
		return NULL;
	}
	f->fd = -1;
	f->dirfd = -1;
	f->path = path;
	if (!path) {
		f->kind = OUT_STDOUT;
		f->fd = STDOUT_FILENO;
		goto stream;
	}
	if (!*path) {
		snprintf(why, size, "invalid output file '': empty path");
		goto err_free;
	}
	err = resolve(path, o->trusted_uid, &r, why, size);
	if (err)
		goto err_free;
	if (r.magic)
		err = open_in_place(f, &r, why, size);
	else if (lstat(r.path, &st) && errno == ENOENT)
		err = open_regular(f, r.path, o->mode, why, size);
	else if (S_ISREG(st.st_mode))
		err = open_regular(f, r.path, o->mode, why, size);
	else
		err = open_in_place(f, &r, why, size);
	if (err)
		goto err_free;
stream:
	if (stream_open(f)) {
		snprintf(why, size, "cannot open output file '%s': %s",
			 path ? path : "standard output", strerror(errno));
		goto err_free;
	}
	return f;
err_free:
	outfile__discard(f);
	return NULL;
}

FILE *outfile__stream(struct outfile *f)
{
	return f->stream;
}

const char *outfile__name(const struct outfile *f)
{
	return f->kind == OUT_STDOUT ? "standard output" : f->path;
}

int outfile__fd(const struct outfile *f)
{
	return f->fd;
}

bool outfile__in_place(const struct outfile *f)
{
	return f->kind != OUT_REGULAR;
}

static void outfile__free(struct outfile *f)
{
	if (f->fd >= 0 && f->kind != OUT_STDOUT)
		close(f->fd);
	if (f->dirfd >= 0)
		close(f->dirfd);
	free(f);
}

int outfile__commit(struct outfile *f, int err)
{
	if (fflush(f->stream) && !f->write_err)
		f->write_err = -EIO;
	fclose(f->stream);
	f->stream = NULL;
	/* The device's, pipe's or disk's own error wins over a writer's. */
	err = f->write_err ?: err;
	if (f->kind == OUT_REGULAR) {
		if (!err && fsync(f->fd))
			err = -errno;
		if (!err && close(f->fd))
			err = -errno;
		f->fd = -1;
		if (!err && renameat(f->dirfd, f->tmp, f->dirfd, f->base))
			err = -errno;
		if (err)
			unlinkat(f->dirfd, f->tmp, 0);
	} else if (f->kind == OUT_IN_PLACE) {
		if (close(f->fd) && !err && errno != EINTR)
			err = -errno;
		f->fd = -1;
	}
	outfile__free(f);
	return err;
}

void outfile__discard(struct outfile *f)
{
	if (!f)
		return;
	f->discarding = true;
	if (f->stream)
		fclose(f->stream);
	if (f->kind == OUT_REGULAR && f->fd >= 0)
		unlinkat(f->dirfd, f->tmp, 0);
	outfile__free(f);
}
