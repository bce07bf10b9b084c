// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/eventfd.h>
#include "scrape.h"

/* Beyond the N seconds: the final drain and the capture thread's turn. */
#define SCRAPE_SLACK_S 10

int scrape_queue__init(struct scrape_queue *q)
{
	pthread_condattr_t ca;

	q->pending = q->active = NULL;
	q->nactive = 0;
	q->closed = false;
	q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (q->efd < 0)
		return -errno;
	pthread_mutex_init(&q->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->done_cond, &ca);
	pthread_condattr_destroy(&ca);
	return 0;
}

static void finish_locked(struct scrape_queue *q, struct scrape *s, struct snapshot *r, int err)
{
	s->result = r;
	s->err = err;
	s->done = true;
	q->nactive--;
	if (s->abandoned) {
		snapshot__put(s->result);
		free(s);
	}
}

void scrape_queue__close(struct scrape_queue *q)
{
	struct scrape *s, *next;

	pthread_mutex_lock(&q->lock);
	q->closed = true;
	for (s = q->pending; s; s = next) {
		next = s->next;
		finish_locked(q, s, NULL, -ESHUTDOWN);
	}
	q->pending = NULL;
	pthread_cond_broadcast(&q->done_cond);
	pthread_mutex_unlock(&q->lock);
}

void scrape_queue__destroy(struct scrape_queue *q)
{
	if (q->efd >= 0)
		close(q->efd);
	q->efd = -1;
	pthread_cond_destroy(&q->done_cond);
	pthread_mutex_destroy(&q->lock);
}

int scrape__collect(struct scrape_queue *q, double seconds, struct snapshot **out)
{
	struct scrape *s = calloc(1, sizeof(*s));
	struct timespec deadline;
	__u64 one = 1;
	int err = 0;

	*out = NULL;
	if (!s)
		return -ENOMEM;
	s->seconds = seconds;
	pthread_mutex_lock(&q->lock);
	if (q->closed || q->nactive >= SCRAPE_MAX_ACTIVE) {
		err = q->closed ? -ESHUTDOWN : -EBUSY;
		pthread_mutex_unlock(&q->lock);
		free(s);
		return err;
	}
	s->next = q->pending;
	q->pending = s;
	q->nactive++;
	pthread_mutex_unlock(&q->lock);
	/* Fails only when the counter is at its maximum: the loop wakes anyway. */
	(void)!write(q->efd, &one, sizeof(one));

	clock_gettime(CLOCK_MONOTONIC, &deadline);
	deadline.tv_sec += (time_t)seconds + SCRAPE_SLACK_S;
	pthread_mutex_lock(&q->lock);
	while (!s->done && !err)
		err = pthread_cond_timedwait(&q->done_cond, &q->lock, &deadline);
	if (!s->done) {
		/* The capture thread frees it when it gets there. */
		s->abandoned = true;
		pthread_mutex_unlock(&q->lock);
		return -ETIMEDOUT;
	}
	pthread_mutex_unlock(&q->lock);
	err = s->err;
	*out = s->result;
	free(s);
	return err;
}

struct scrape *scrape_queue__take_pending(struct scrape_queue *q)
{
	struct scrape *list;
	__u64 n;

	/* EAGAIN when nothing is new: the list says so too. */
	(void)!read(q->efd, &n, sizeof(n));
	pthread_mutex_lock(&q->lock);
	list = q->pending;
	q->pending = NULL;
	pthread_mutex_unlock(&q->lock);
	return list;
}

void scrape__complete(struct scrape_queue *q, struct scrape *s, struct snapshot *result,
		      int err)
{
	pthread_mutex_lock(&q->lock);
	finish_locked(q, s, result, err);
	pthread_cond_broadcast(&q->done_cond);
	pthread_mutex_unlock(&q->lock);
}
