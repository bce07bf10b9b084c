/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What every sampling command (record, top, agent) does around its own
 * work: the checks before anything loads, loading the profiler, starting
 * the `-- COMMAND` child and following it, the event loop with the ring
 * drain, the duration, stop requests, and the summary line.
 *
 *   session__check()   privileges, kernel, PIDs, COMMAND: die() on failure
 *   session__load()    BPF loaded, processes found, COMMAND forked (held)
 *   (the command adds its windows, timers and handlers on s->loop)
 *   session__start()   sampling on, COMMAND released
 *   loop__run(s->loop)
 *   session__stop()    sampling off, the rings drained
 */
#ifndef __SESSION_H
#define __SESSION_H

#include <stdbool.h>
#include <linux/types.h>
#include "command.h"
#include "loop.h"
#include "options.h"
#include "profiler.h"

struct session {
	const struct cli_opts *o;
	struct loop *loop;
	struct profiler *prof;
	struct command *cmd;		/* -- COMMAND, or NULL */
	bool want_origins;		/* note each process's unit or container */
	__u64 start_ns;			/* CLOCK_MONOTONIC (bpf_ktime) at start */
	__u64 start_unix_ns;		/* the same moment on the wall clock */
	char hostname[256];
	bool cmd_exited;
	int cmd_status;			/* shell-style, once cmd_exited */
	unsigned long long poll_failures;
	int poll_err;
	struct loop_timer *redraw;	/* jitter: re-draws the sampling periods */
	struct loop_timer *snapshot;	/* wall mode: the threads off CPU, once a period */
	unsigned long long redraw_failures;
	unsigned long long redraws;	/* re-draws done, and the time they took */
	__u64 redraw_ns;
	/* Called for SIGUSR1 (status line), when set. */
	void (*on_status)(struct session *s);
	/* Called when sampling is to end (signal, duration, COMMAND exited). */
	void (*on_stop)(struct session *s);
};

/* Checks, and COMMAND prepared: a one-line error and exit on failure. */
void session__check(struct session *s, const struct cli_opts *o);
/* 0, or -errno after printing the reason. */
int session__load(struct session *s);
int session__start(struct session *s);
/* Ask the run to end: through on_stop, else the loop stops. */
void session__request_stop(struct session *s);
void session__stop(struct session *s);
double session__elapsed(const struct session *s);
/*
 * Samples per second on each CPU, measured (with jitter the periods are
 * random; the kernel may also skip or throttle): a sample is worth
 * 1/rate seconds in every output.
 */
double session__rate(struct session *s);
/* The one-line summary at the end of a run. */
void session__print_summary(struct session *s, double duration);
/* Wait for COMMAND to exit (after sampling ended with -d); its status. */
int session__wait_command(struct session *s);
void session__free(struct session *s);

__u64 session__now_ns(void);

#endif /* __SESSION_H */
