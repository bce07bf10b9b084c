/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The one event loop of every command: epoll over file descriptors,
 * timerfds for periodic work, and a signalfd so signals arrive as events
 * in order with everything else (no handler races, no EINTR games).
 *
 * Signals are blocked for the whole process by loop__block_signals(),
 * called first thing in main() so that threads started later inherit the
 * mask and a SIGINT during start-up waits to be handled in order instead
 * of killing the process with temporary files left behind. A child that
 * is to run a user's command calls loop__restore_signals() before exec.
 */
#ifndef __LOOP_H
#define __LOOP_H

#include <stdbool.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <linux/types.h>

struct loop;
struct loop_timer;

typedef void (*loop_fd_fn)(struct loop *l, int fd, unsigned int events, void *ctx);
typedef void (*loop_timer_fn)(struct loop *l, void *ctx);
typedef void (*loop_signal_fn)(struct loop *l, const struct signalfd_siginfo *si, void *ctx);

/* Block the signals the loop delivers (INT, TERM, HUP, QUIT, USR1, CHLD). */
int loop__block_signals(void);
/* The signal mask and dispositions from before, for a child about to exec. */
void loop__restore_signals(void);
/* True when SIGINT or SIGTERM is pending (for waits before the loop runs). */
bool loop__stop_pending(void);

struct loop *loop__new(void);
void loop__free(struct loop *l);

/* Call @cb when @fd is readable (EPOLLIN) or hung up. */
int loop__add_fd(struct loop *l, int fd, loop_fd_fn cb, void *ctx);
int loop__del_fd(struct loop *l, int fd);
/*
 * Call @cb after @first_ns and then every @interval_ns (0: once), on
 * CLOCK_MONOTONIC. Missed expirations are not replayed: @cb runs once.
 */
struct loop_timer *loop__add_timer(struct loop *l, __u64 first_ns, __u64 interval_ns,
				   loop_timer_fn cb, void *ctx);
/* Re-arm an existing timer (0, 0 disarms it). */
int loop__set_timer(struct loop_timer *t, __u64 first_ns, __u64 interval_ns);
/* The last handler set for @signo wins; unhandled blocked signals are dropped. */
int loop__on_signal(struct loop *l, int signo, loop_signal_fn cb, void *ctx);

/* Run until loop__stop(); returns what loop__stop() was given, or -errno. */
int loop__run(struct loop *l);
void loop__stop(struct loop *l, int status);
bool loop__stopping(const struct loop *l);

#endif /* __LOOP_H */
