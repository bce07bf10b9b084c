// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <stdarg.h>
#include <stdio.h>
#include <time.h>
#include "log.h"

static void log__vmsg(const char *suffix, const char *fmt, va_list ap)
{
	char line[1024];

	/* One write per line: lines of several threads never interleave. */
	vsnprintf(line, sizeof(line), fmt, ap);
	fprintf(stderr, "pybpfprof: %s%s\n", line, suffix);
}

void log__msg(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log__vmsg("", fmt, ap);
	va_end(ap);
}

void log__limited(struct log_limit *l, const char *fmt, ...)
{
	struct timespec ts;
	char suffix[64] = "";
	unsigned long n;
	va_list ap;
	__u64 now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = ts.tv_sec * 1000000000ULL + ts.tv_nsec;
	pthread_mutex_lock(&l->lock);
	if (l->last_ns && now - l->last_ns < l->interval_ns) {
		l->suppressed++;
		pthread_mutex_unlock(&l->lock);
		return;
	}
	l->last_ns = now;
	n = l->suppressed;
	l->suppressed = 0;
	pthread_mutex_unlock(&l->lock);
	if (n)
		snprintf(suffix, sizeof(suffix), " (%lu more like it not shown)", n);
	va_start(ap, fmt);
	log__vmsg(suffix, fmt, ap);
	va_end(ap);
}
