/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A request for "the next N seconds" (GET /debug/pprof/profile?seconds=N),
 * handed from an HTTP thread to the capture thread and back. The HTTP
 * thread posts it and waits; the capture thread (woken through the
 * queue's eventfd, in its event loop) opens a window [now, now + N),
 * closes it when the time is up and the ring is drained, and completes
 * the request with the snapshot. Only the capture thread touches BPF and
 * the profiler; the HTTP thread only waits and encodes the snapshot.
 */
#ifndef __SCRAPE_H
#define __SCRAPE_H

#include <pthread.h>
#include <stdbool.h>
#include <linux/types.h>
#include "snapshot.h"

/* Profiles being collected at once; more are refused (503). */
#define SCRAPE_MAX_ACTIVE 8

struct scrape {
	double seconds;
	/* Set by the capture thread. */
	__u64 start_ns, end_ns;		/* CLOCK_MONOTONIC */
	struct agg *agg;		/* while collecting */
	struct snapshot *result;	/* when done, if it worked */
	int err;			/* when done: 0 or -errno */
	bool done;
	bool abandoned;			/* the HTTP side gave up: free when done */
	struct scrape *next;
};

struct scrape_queue {
	pthread_mutex_t lock;
	pthread_cond_t done_cond;
	int efd;			/* readable when requests are pending */
	struct scrape *pending;		/* posted, not yet started */
	struct scrape *active;		/* being collected (capture thread's) */
	unsigned int nactive;		/* pending + active */
	bool closed;
};

int scrape_queue__init(struct scrape_queue *q);
/* Fail every request and refuse new ones (at shutdown). */
void scrape_queue__close(struct scrape_queue *q);
void scrape_queue__destroy(struct scrape_queue *q);

/*
 * HTTP side: collect @seconds of samples and wait for them (at most
 * @seconds + slack). 0 with *@out a snapshot reference to put(), or
 * -EBUSY (too many at once), -ESHUTDOWN, -ETIMEDOUT, -ENOMEM.
 */
int scrape__collect(struct scrape_queue *q, double seconds, struct snapshot **out);

/* Capture side: the requests posted since the last call (then active). */
struct scrape *scrape_queue__take_pending(struct scrape_queue *q);
/* Capture side: finish @s (moved out of the active list by the caller). */
void scrape__complete(struct scrape_queue *q, struct scrape *s, struct snapshot *result,
		      int err);

#endif /* __SCRAPE_H */
