/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Diagnostics on stderr, one line per event, "pybpfprof: " first. A
 * long-running agent logs through a rate limit per kind of event, so a
 * backend that fails every second cannot flood the journal: the first
 * line goes out, the next ones within the interval are counted and the
 * count is reported with the next line that goes out.
 */
#ifndef __LOG_H
#define __LOG_H

#include <pthread.h>
#include <linux/types.h>

struct log_limit {
	__u64 interval_ns;
	__u64 last_ns;
	unsigned long suppressed;
	pthread_mutex_t lock;
};

#define LOG_LIMIT_INIT(seconds) \
	{ .interval_ns = (seconds) * 1000000000ULL, .lock = PTHREAD_MUTEX_INITIALIZER }

void log__msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log__msg() through @l's rate limit. */
void log__limited(struct log_limit *l, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#endif /* __LOG_H */
