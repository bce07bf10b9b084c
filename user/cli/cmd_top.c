// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `pybpfprof top [options] [-- COMMAND [ARG]...]`: a live per-function
 * view, redrawn every second, until q, Ctrl-C, the duration, or COMMAND's
 * exit. Quitting with q while COMMAND runs stops it (SIGTERM, then
 * SIGKILL after a grace period), as the view it was started for is gone.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "session.h"
#include "shorten.h"
#include "top.h"

#define REFRESH_NS 1000000000ULL
#define KILL_GRACE_S 5

struct top_cmd {
	struct session s;
	struct cli_opts o;
	struct top_view view;
	struct agg *agg;
	bool quit;		/* q pressed */
};

static void redraw(struct top_cmd *t)
{
	struct agg *short_agg = t->o.full_filenames ? NULL : shorten__apply(t->agg);
	struct profiler_stats st;

	profiler__stats(t->s.prof, &st);
	t->view.frequency = session__rate(&t->s);
	/* Short file names keep the line number on screen; full ones if asked (or no memory). */
	top__render(&t->view, short_agg ? short_agg : t->agg, &st, session__elapsed(&t->s));
	agg__free(short_agg);
}

static void on_refresh(struct loop *l, void *ctx)
{
	redraw(ctx);
}

static void on_key(struct loop *l, int fd, unsigned int events, void *ctx)
{
	struct top_cmd *t = ctx;
	char key;
	ssize_t n = read(fd, &key, 1);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
		/* The terminal is gone. */
		loop__del_fd(l, fd);
		t->quit = true;
		loop__stop(l, 0);
		return;
	}
	if (n != 1)
		return;
	if (!top__key(&t->view, key)) {
		t->quit = true;
		loop__stop(l, 0);
		return;
	}
	redraw(t);
}

/* q with COMMAND still running: ask it to end, then insist. */
static int stop_command(struct session *s)
{
	if (!s->cmd || s->cmd_exited)
		return s->cmd_status;
	command__kill(s->cmd, SIGTERM);
	for (int i = 0; i < KILL_GRACE_S * 10; i++) {
		if (command__reap(s->cmd, &s->cmd_status))
			return s->cmd_status;
		usleep(100000);
	}
	command__kill(s->cmd, SIGKILL);
	return command__wait(s->cmd);
}

int cmd_top(int argc, char **argv)
{
	struct top_cmd *t = calloc(1, sizeof(*t));
	int status = 1, err;

	if (!t)
		die("out of memory");
	options__parse(argc, argv, &t->o);
	if (t->o.noutputs || t->o.format)
		die("top shows a live view and writes no profile: drop -o and -f");
	if (t->o.threads || t->o.focus)
		die("top does not take %s: it shapes written profiles only",
		    t->o.threads ? "--threads" : "--focus");
	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		die("top needs a terminal on standard input and output");
	session__check(&t->s, &t->o);

	t->agg = agg__new();
	if (!t->agg)
		goto out;
	err = session__load(&t->s);
	if (!err)
		err = profiler__add_window(t->s.prof, t->agg, 0, 0);
	if (!err)
		err = session__start(&t->s);
	if (err) {
		if (t->s.cmd_exited)
			status = t->s.cmd_status;
		goto out;
	}
	t->view.frequency = t->o.frequency;
	t->view.wall = t->o.wall;
	t->view.hostname = t->s.hostname;
	err = top__begin();
	if (err) {
		fprintf(stderr, "pybpfprof: top: %s\n", strerror(-err));
		goto out;
	}
	if (loop__add_fd(t->s.loop, STDIN_FILENO, on_key, t) ||
	    !loop__add_timer(t->s.loop, 0, REFRESH_NS, on_refresh, t)) {
		top__end();
		fprintf(stderr, "pybpfprof: top: %s\n", strerror(errno));
		goto out;
	}
	err = loop__run(t->s.loop);
	top__end();
	session__stop(&t->s);
	if (err < 0)
		fprintf(stderr, "pybpfprof: top: %s\n", strerror(-err));
	session__print_summary(&t->s, session__elapsed(&t->s));
	status = 0;
	if (t->o.command)
		status = t->quit ? stop_command(&t->s) : session__wait_command(&t->s);
	if (!status && (err < 0 || t->s.poll_err))
		status = 1;
out:
	session__free(&t->s);
	agg__free(t->agg);
	free(t);
	return status;
}
