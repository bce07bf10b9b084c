// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include "command.h"
#include "loop.h"

struct command {
	char *const *argv;
	pid_t pid;
	bool released;
	bool reaped;
	int nice;		/* from before the profiler raised its priority */
	bool drop;		/* run as uid/gid below */
	uid_t uid;
	gid_t gid;
	char user[64];		/* for initgroups(); empty: keep no extra groups */
	int go_fd;		/* write end: one byte lets the child exec */
	int err_fd;		/* read end: the child's exec errno, or EOF on success */
};

/* SUDO_UID and SUDO_GID, when both are set and valid (and we are root). */
static void find_invoking_user(struct command *c)
{
	const char *su = getenv("SUDO_UID"), *sg = getenv("SUDO_GID");
	unsigned long uid, gid;
	struct passwd *pw;
	char *end;

	if (!su || !sg || geteuid() != 0)
		return;
	errno = 0;
	uid = strtoul(su, &end, 10);
	if (errno || !*su || *end)
		return;
	gid = strtoul(sg, &end, 10);
	if (errno || !*sg || *end || uid == 0)
		return;
	c->drop = true;
	c->uid = (uid_t)uid;
	c->gid = (gid_t)gid;
	pw = getpwuid(c->uid);
	if (pw && strlen(pw->pw_name) < sizeof(c->user))
		strcpy(c->user, pw->pw_name);
}

/* What execvp() would run, without running it: 0, -ENOENT or -EACCES. */
static int check_runnable(const char *file)
{
	char path[PATH_MAX];
	const char *dirs, *p;
	int err = -ENOENT;
	struct stat st;

	if (strchr(file, '/')) {
		if (stat(file, &st))
			return -errno;
		return S_ISREG(st.st_mode) && !access(file, X_OK) ? 0 : -EACCES;
	}
	dirs = getenv("PATH");
	if (!dirs)
		dirs = "/usr/local/bin:/bin:/usr/bin";
	for (p = dirs; ; p = strchr(p, ':') + 1) {
		size_t len = strcspn(p, ":");

		if (snprintf(path, sizeof(path), "%.*s%s%s", (int)len, len ? p : "",
			     len ? "/" : "./", file) < (int)sizeof(path) && !stat(path, &st)) {
			if (S_ISREG(st.st_mode) && !access(path, X_OK))
				return 0;
			err = -EACCES;
		}
		if (!p[len])
			break;
	}
	return err;
}

struct command *command__prepare(char *const *argv, char *why, size_t size, int *status)
{
	struct command *c;
	int err;

	err = check_runnable(argv[0]);
	if (err) {
		snprintf(why, size, "cannot run '%s': %s", argv[0],
			 err == -ENOENT ? "command not found" : strerror(-err));
		*status = err == -ENOENT ? 127 : 126;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(why, size, "out of memory");
		*status = 1;
		return NULL;
	}
	c->argv = argv;
	c->go_fd = -1;
	c->err_fd = -1;
	errno = 0;
	c->nice = getpriority(PRIO_PROCESS, 0);
	if (errno)
		c->nice = 0;
	find_invoking_user(c);
	return c;
}

/* In the child: become the user's process, wait for the go, exec. */
static void __attribute__((noreturn)) child_run(struct command *c, int go_rd, int err_wr)
{
	char go;
	int err;

	loop__restore_signals();
	setpriority(PRIO_PROCESS, 0, c->nice);
	if (c->drop) {
		if ((c->user[0] ? initgroups(c->user, c->gid) : setgroups(0, NULL)) ||
		    setgid(c->gid) || setuid(c->uid))
			goto fail;
	}
	/* EOF: the profiler gave up (or died) before it was ready. */
	if (read(go_rd, &go, 1) != 1)
		_exit(127);
	close(go_rd);
	execvp(c->argv[0], c->argv);
fail:
	err = errno;
	if (write(err_wr, &err, sizeof(err)) < 0)
		_exit(127);
	_exit(err == ENOENT ? 127 : 126);
}

int command__spawn(struct command *c)
{
	int go[2], errp[2];

	if (pipe2(go, O_CLOEXEC))
		return -errno;
	if (pipe2(errp, O_CLOEXEC)) {
		int err = -errno;

		close(go[0]);
		close(go[1]);
		return err;
	}
	fflush(NULL);
	c->pid = fork();
	if (c->pid < 0) {
		int err = -errno;

		close(go[0]);
		close(go[1]);
		close(errp[0]);
		close(errp[1]);
		return err;
	}
	if (c->pid == 0) {
		close(go[1]);
		close(errp[0]);
		child_run(c, go[0], errp[1]);
	}
	close(go[0]);
	close(errp[1]);
	c->go_fd = go[1];
	c->err_fd = errp[0];
	return 0;
}

pid_t command__pid(const struct command *c)
{
	return c->pid;
}

int command__release(struct command *c, char *why, size_t size)
{
	ssize_t n;
	int err = 0, status;

	if (write(c->go_fd, "g", 1) != 1)
		err = errno;
	close(c->go_fd);
	c->go_fd = -1;
	c->released = true;
	/* The error pipe closes at a successful exec (O_CLOEXEC). */
	if (!err) {
		do {
			n = read(c->err_fd, &err, sizeof(err));
		} while (n < 0 && errno == EINTR);
		if (n != sizeof(err))
			err = 0;
	}
	close(c->err_fd);
	c->err_fd = -1;
	if (!err)
		return 0;
	snprintf(why, size, "cannot run '%s': %s", c->argv[0], strerror(err));
	waitpid(c->pid, &status, 0);
	c->reaped = true;
	return -err;
}

static int shell_status(int ws)
{
	if (WIFEXITED(ws))
		return WEXITSTATUS(ws);
	if (WIFSIGNALED(ws))
		return 128 + WTERMSIG(ws);
	return 1;
}

bool command__reap(struct command *c, int *status)
{
	int ws;

	if (c->reaped || waitpid(c->pid, &ws, WNOHANG) != c->pid)
		return false;
	c->reaped = true;
	*status = shell_status(ws);
	return true;
}

int command__wait(struct command *c)
{
	int ws;
	pid_t r;

	do {
		r = waitpid(c->pid, &ws, 0);
	} while (r < 0 && errno == EINTR);
	c->reaped = true;
	return r == c->pid ? shell_status(ws) : 1;
}

int command__kill(struct command *c, int sig)
{
	if (c->reaped)
		return -ESRCH;
	return kill(c->pid, sig) ? -errno : 0;
}

void command__free(struct command *c)
{
	int ws;

	if (!c)
		return;
	if (c->go_fd >= 0)
		close(c->go_fd);	/* the child sees EOF and exits */
	if (c->err_fd >= 0)
		close(c->err_fd);
	if (c->pid > 0 && !c->reaped) {
		if (!c->released)
			kill(c->pid, SIGKILL);
		waitpid(c->pid, &ws, 0);
	}
	free(c);
}
