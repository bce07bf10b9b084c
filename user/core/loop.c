// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include "loop.h"

#define MAX_EVENTS 16
#define NSEC_PER_SEC 1000000000ULL

/* The signals delivered through the loop. */
static const int loop_signals[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGCHLD };
#define NR_LOOP_SIGNALS (sizeof(loop_signals) / sizeof(loop_signals[0]))

static sigset_t saved_mask;
static bool signals_blocked;

enum source_kind { SRC_FD, SRC_TIMER, SRC_SIGNAL };

struct source {
	enum source_kind kind;
	int fd;
	loop_fd_fn fd_cb;
	loop_timer_fn timer_cb;
	void *ctx;
	bool dead;		/* removed: freed after the current round */
	struct source *next;
};

struct loop_timer {
	struct source src;
};

struct signal_handler {
	loop_signal_fn cb;
	void *ctx;
};

struct loop {
	int epfd;
	int sigfd;
	struct source sigsrc;
	struct source *sources;	/* fds and timers, owned */
	struct signal_handler handlers[NR_LOOP_SIGNALS];
	bool stop;
	int status;
};

int loop__block_signals(void)
{
	sigset_t set;

	sigemptyset(&set);
	for (size_t i = 0; i < NR_LOOP_SIGNALS; i++)
		sigaddset(&set, loop_signals[i]);
	if (sigprocmask(SIG_BLOCK, &set, signals_blocked ? NULL : &saved_mask))
		return -errno;
	signals_blocked = true;
	/* Writes to a closed pipe or socket fail with EPIPE instead. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void loop__restore_signals(void)
{
	signal(SIGPIPE, SIG_DFL);
	if (signals_blocked)
		sigprocmask(SIG_SETMASK, &saved_mask, NULL);
}

bool loop__stop_pending(void)
{
	sigset_t pending;

	if (sigpending(&pending))
		return false;
	return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1;
}

static int signal_index(int signo)
{
	for (size_t i = 0; i < NR_LOOP_SIGNALS; i++)
		if (loop_signals[i] == signo)
			return (int)i;
	return -1;
}

struct loop *loop__new(void)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct loop *l = calloc(1, sizeof(*l));
	sigset_t set;

	if (!l)
		return NULL;
	l->sigfd = -1;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		goto err_free;
	sigemptyset(&set);
	for (size_t i = 0; i < NR_LOOP_SIGNALS; i++)
		sigaddset(&set, loop_signals[i]);
	l->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (l->sigfd < 0)
		goto err_free;
	l->sigsrc.kind = SRC_SIGNAL;
	l->sigsrc.fd = l->sigfd;
	ev.data.ptr = &l->sigsrc;
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->sigfd, &ev))
		goto err_free;
	return l;
err_free:
	loop__free(l);
	return NULL;
}

void loop__free(struct loop *l)
{
	struct source *s, *next;

	if (!l)
		return;
	for (s = l->sources; s; s = next) {
		next = s->next;
		if (s->kind == SRC_TIMER)
			close(s->fd);
		free(s);
	}
	if (l->sigfd >= 0)
		close(l->sigfd);
	if (l->epfd >= 0)
		close(l->epfd);
	free(l);
}

static struct source *source_add(struct loop *l, struct source *s)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = s };

	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->fd, &ev))
		return NULL;
	s->next = l->sources;
	l->sources = s;
	return s;
}

int loop__add_fd(struct loop *l, int fd, loop_fd_fn cb, void *ctx)
{
	struct source *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->kind = SRC_FD;
	s->fd = fd;
	s->fd_cb = cb;
	s->ctx = ctx;
	if (!source_add(l, s)) {
		int err = -errno;

		free(s);
		return err;
	}
	return 0;
}

int loop__del_fd(struct loop *l, int fd)
{
	for (struct source *s = l->sources; s; s = s->next) {
		if (s->kind != SRC_FD || s->fd != fd || s->dead)
			continue;
		epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
		/* An event for it may be pending in this round: free it after. */
		s->dead = true;
		return 0;
	}
	return -ENOENT;
}

static void reap_dead(struct loop *l)
{
	struct source **pp = &l->sources;

	while (*pp) {
		struct source *s = *pp;

		if (s->dead) {
			*pp = s->next;
			free(s);
		} else {
			pp = &s->next;
		}
	}
}

static struct timespec ns_to_ts(__u64 ns)
{
	struct timespec ts = { .tv_sec = ns / NSEC_PER_SEC, .tv_nsec = ns % NSEC_PER_SEC };

	return ts;
}

int loop__set_timer(struct loop_timer *t, __u64 first_ns, __u64 interval_ns)
{
	struct itimerspec its = {
		.it_value = ns_to_ts(first_ns),
		.it_interval = ns_to_ts(interval_ns),
	};

	/* 0 would disarm: "now" is the smallest delay instead. */
	if (!first_ns && interval_ns)
		its.it_value.tv_nsec = 1;
	return timerfd_settime(t->src.fd, 0, &its, NULL) ? -errno : 0;
}

struct loop_timer *loop__add_timer(struct loop *l, __u64 first_ns, __u64 interval_ns,
				   loop_timer_fn cb, void *ctx)
{
	struct loop_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->src.kind = SRC_TIMER;
	t->src.timer_cb = cb;
	t->src.ctx = ctx;
	t->src.fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (t->src.fd < 0)
		goto err_free;
	if (loop__set_timer(t, first_ns ? first_ns : 1, interval_ns))
		goto err_close;
	if (!source_add(l, &t->src))
		goto err_close;
	return t;
err_close:
	close(t->src.fd);
err_free:
	free(t);
	return NULL;
}

int loop__on_signal(struct loop *l, int signo, loop_signal_fn cb, void *ctx)
{
	int i = signal_index(signo);

	if (i < 0)
		return -EINVAL;
	l->handlers[i].cb = cb;
	l->handlers[i].ctx = ctx;
	return 0;
}

static void dispatch_signals(struct loop *l)
{
	struct signalfd_siginfo si;

	while (read(l->sigfd, &si, sizeof(si)) == sizeof(si)) {
		int i = signal_index((int)si.ssi_signo);

		if (i >= 0 && l->handlers[i].cb)
			l->handlers[i].cb(l, &si, l->handlers[i].ctx);
	}
}

static void dispatch(struct loop *l, struct source *s, unsigned int events)
{
	__u64 expirations;

	switch (s->kind) {
	case SRC_SIGNAL:
		dispatch_signals(l);
		break;
	case SRC_TIMER:
		if (read(s->fd, &expirations, sizeof(expirations)) == sizeof(expirations))
			s->timer_cb(l, s->ctx);
		break;
	case SRC_FD:
		s->fd_cb(l, s->fd, events, s->ctx);
		break;
	}
}

int loop__run(struct loop *l)
{
	struct epoll_event evs[MAX_EVENTS];

	/* Signals that came before the loop ran are handled first. */
	dispatch_signals(l);
	while (!l->stop) {
		int n = epoll_wait(l->epfd, evs, MAX_EVENTS, -1);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		/*
		 * Signals first in each round: a stop request is seen before a
		 * timer that would otherwise do one more round of work.
		 */
		dispatch_signals(l);
		for (int i = 0; i < n && !l->stop; i++) {
			struct source *s = evs[i].data.ptr;

			if (!s->dead)
				dispatch(l, s, evs[i].events);
		}
		reap_dead(l);
	}
	return l->status;
}

void loop__stop(struct loop *l, int status)
{
	if (!l->stop)
		l->status = status;
	l->stop = true;
}

bool loop__stopping(const struct loop *l)
{
	return l->stop;
}
