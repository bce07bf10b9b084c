/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The agent's own health, for /metrics (Prometheus text format). Every
 * value is an atomic: the capture thread, the sinks' threads and the
 * HTTP server's threads update and read them without locks.
 */
#ifndef __METRICS_H
#define __METRICS_H

#include <stdatomic.h>
#include <stddef.h>
#include <linux/types.h>

/* Upper bounds of the push latency histogram, seconds. */
#define METRICS_LATENCY_BUCKETS 9

enum drop_reason {
	DROP_QUEUE_FULL,	/* the oldest window made room for a new one */
	DROP_TOO_OLD,		/* past the backend's ingestion window */
	DROP_REJECTED,		/* a 4xx other than 408/429: never retried */
	DROP_SHUTDOWN,		/* still queued when the agent stopped */
	NR_DROP_REASONS,
};

struct metrics {
	/* Copied from the kernel's and the profiler's counters each second. */
	atomic_ullong samples;
	atomic_ullong python_samples;
	atomic_ullong samples_lost;
	atomic_ullong samples_dropped;
	atomic_ullong events_lost;
	atomic_ullong processes_tracked;
	atomic_ullong python_processes_seen;
	atomic_ullong symbolizer_entries;
	/* Windows. */
	atomic_ullong windows_closed;
	atomic_ullong windows_pushed;
	atomic_ullong push_attempts_failed;
	atomic_ullong windows_dropped[NR_DROP_REASONS];
	atomic_ullong queue_bytes;
	atomic_ullong queue_windows;
	atomic_ullong queue_limit_bytes;
	atomic_ullong push_latency_count;
	atomic_ullong push_latency_sum_us;
	atomic_ullong push_latency_buckets[METRICS_LATENCY_BUCKETS];
	atomic_ullong files_written;
	atomic_ullong file_errors;
	atomic_ullong scrapes;
	atomic_ullong scrapes_failed;
};

extern struct metrics metrics;

void metrics__observe_push(double seconds);
/*
 * The whole exposition, Prometheus text format 0.0.4, malloc'd into
 * *@buf: 0 or -errno.
 */
int metrics__render(char **buf, size_t *len);

#endif /* __METRICS_H */
