// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The push thread. A window handed over by submit() is encoded as soon
 * as the thread is free (push_request.c), then waits in a FIFO bounded
 * in bytes of encoded requests; the oldest is sent when the backoff
 * allows. The capture thread only ever takes a lock to append a
 * reference, so no backend, however slow, holds up sampling.
 *
 * Retries: after a failure the next try waits a random time up to
 * 0.5 s * 2^(failures - 1), at most 5 min ("full jitter": many agents
 * that lost the same backend do not come back in step), or longer when
 * the server says so (Retry-After). A window is given up once 55 min
 * old: Pyroscope rejects profiles older than an hour. The queue is head
 * of line: windows arrive in order, and a backend that is down costs one
 * request per backoff, not one per window.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/random.h>
#include "log.h"
#include "metrics.h"
#include "push.h"
#include "push_client.h"

#define NSEC_PER_SEC 1000000000ULL
#define BACKOFF_MIN_NS (NSEC_PER_SEC / 2)
#define BACKOFF_MAX_NS (300 * NSEC_PER_SEC)
/* Pyroscope's reject_older_than is 1 h; leave room for a last try. */
#define MAX_AGE_NS (55 * 60 * NSEC_PER_SEC)
/* Windows not encoded yet: only while the thread is in a request. */
#define MAX_INCOMING 64
#define LOG_INTERVAL_S 60

struct push_item {
	struct push_item *next;
	struct push_request req;
	__u64 start_unix_ns;
	unsigned long seq;
};

struct push_sink {
	struct sink sink;
	struct push_client *client;
	struct push_request_opts ro;
	struct label *labels;		/* copies of the --label pairs */
	char hostname[256];
	size_t max_queue;
	bool verbose;
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;		/* on CLOCK_MONOTONIC */
	/* Under lock. */
	struct snapshot *incoming[MAX_INCOMING];
	size_t in_head, in_count;
	bool stopping;
	/* The shutdown deadline, also read by a request in flight; 0 before. */
	_Atomic __u64 deadline_ns;
	/* The push thread's own. */
	struct push_item *head, *tail;
	size_t bytes;
	unsigned int failures;		/* in a row: the backoff's exponent */
	__u64 next_try_ns;
	__u64 rng;
	struct log_limit fail_log, reject_log, drop_log, encode_log;
};

static __u64 clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return ts.tv_sec * NSEC_PER_SEC + ts.tv_nsec;
}

/* xorshift64*: jitter needs spread, not secrecy. */
static __u64 push__random(struct push_sink *k)
{
	k->rng ^= k->rng >> 12;
	k->rng ^= k->rng << 25;
	k->rng ^= k->rng >> 27;
	return k->rng * 0x2545f4914f6cdd1dULL;
}

/* "the window of 10:41:20Z (7)": which one, for a log line. */
static const char *window_name(const struct push_item *it, char *buf, size_t size)
{
	time_t t = it->start_unix_ns / NSEC_PER_SEC;
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, size, "the window of %02d:%02d:%02dZ (%lu)", tm.tm_hour, tm.tm_min,
		 tm.tm_sec, it->seq);
	return buf;
}

/* ---- the queue ---------------------------------------------------------- */

static void push__remove_head(struct push_sink *k)
{
	struct push_item *it = k->head;

	k->head = it->next;
	if (!k->head)
		k->tail = NULL;
	k->bytes -= it->req.len;
	atomic_fetch_sub(&metrics.queue_bytes, it->req.len);
	atomic_fetch_sub(&metrics.queue_windows, 1);
	push_request__free(&it->req);
	free(it);
}

static void push__drop_head(struct push_sink *k, enum drop_reason why)
{
	atomic_fetch_add(&metrics.windows_dropped[why], 1);
	push__remove_head(k);
}

/* Encode @s and queue it; when full, the oldest windows make room. */
static void push__enqueue(struct push_sink *k, struct snapshot *s)
{
	struct push_item *it = calloc(1, sizeof(*it));
	char name[64];
	int err;

	err = it ? push_request__encode(s, &k->ro, &it->req) : -ENOMEM;
	if (err) {
		atomic_fetch_sub(&metrics.queue_windows, 1);
		log__limited(&k->encode_log, "push: window %lu lost: cannot encode it: %s",
			     s->seq, strerror(-err));
		free(it);
		return;
	}
	if (it->req.dropped_stacks)
		log__limited(&k->encode_log, "push: %zu stacks of window %lu left out: each "
			     "alone is over Pyroscope's %u-byte profile limit",
			     it->req.dropped_stacks, s->seq, PUSH_MAX_PROFILE_BYTES);
	if (!it->req.nseries) {
		/* Pyroscope refuses a request without profiles: nothing to send. */
		atomic_fetch_sub(&metrics.queue_windows, 1);
		if (k->verbose)
			log__msg("push: window %lu has no samples: nothing to push", s->seq);
		push_request__free(&it->req);
		free(it);
		return;
	}
	it->start_unix_ns = s->start_unix_ns;
	it->seq = s->seq;
	if (k->tail)
		k->tail->next = it;
	else
		k->head = it;
	k->tail = it;
	k->bytes += it->req.len;
	atomic_fetch_add(&metrics.queue_bytes, it->req.len);
	/* The newest window always stays, even one larger than the bound. */
	while (k->bytes > k->max_queue && k->head != it) {
		log__limited(&k->drop_log, "push: queue full (--max-queue %zu bytes): dropped %s",
			     k->max_queue, window_name(k->head, name, sizeof(name)));
		push__drop_head(k, DROP_QUEUE_FULL);
		/* A new head starts its own tries; the backend's state stays. */
	}
}

/* ---- sending -------------------------------------------------------------- */

static __u64 push__backoff(struct push_sink *k, const struct push_result *res)
{
	__u64 ceiling = BACKOFF_MIN_NS, delay;

	for (unsigned int i = 1; i < k->failures && ceiling < BACKOFF_MAX_NS; i++)
		ceiling *= 2;
	if (ceiling > BACKOFF_MAX_NS)
		ceiling = BACKOFF_MAX_NS;
	delay = push__random(k) % (ceiling + 1);
	if (res->retry_after > 0) {
		__u64 asked = (__u64)res->retry_after * NSEC_PER_SEC;

		if (asked > BACKOFF_MAX_NS)
			asked = BACKOFF_MAX_NS;
		if (delay < asked)
			delay = asked;
	}
	return delay;
}

/* "HTTP 503: message", or the network error. */
static const char *result_text(const struct push_result *res, char *buf, size_t size)
{
	if (!res->status)
		return res->why;
	snprintf(buf, size, "HTTP %ld%s%s", res->status, *res->why ? ": " : "", res->why);
	return buf;
}

static void push__attempt(struct push_sink *k)
{
	const char *url = push_client__shown_url(k->client);
	struct push_item *it = k->head;
	struct push_result res;
	char name[64], text[640];
	__u64 delay;

	if (clock_ns(CLOCK_REALTIME) > it->start_unix_ns + MAX_AGE_NS) {
		log__limited(&k->drop_log, "push: dropped %s: older than Pyroscope accepts",
			     window_name(it, name, sizeof(name)));
		push__drop_head(k, DROP_TOO_OLD);
		return;
	}
	push_client__post(k->client, it->req.body, it->req.len, &k->deadline_ns, &res);
	if (k->verbose && res.outcome != PUSH_ABORTED)
		log__msg("push: window %lu: %zu services, %zu profiles, %zu bytes: %s in %.0f ms",
			 it->seq, it->req.nseries, it->req.nprofiles, it->req.len,
			 result_text(&res, text, sizeof(text)), res.seconds * 1e3);
	switch (res.outcome) {
	case PUSH_OK:
		atomic_fetch_add(&metrics.windows_pushed, 1);
		metrics__observe_push(res.seconds);
		if (k->failures)
			log__msg("push: %s accepts windows again, after %u failed tries", url,
				 k->failures);
		k->failures = 0;
		k->next_try_ns = 0;
		push__remove_head(k);
		break;
	case PUSH_REJECTED:
		/* The backend answered: it is up, only this window is wrong. */
		atomic_fetch_add(&metrics.push_attempts_failed, 1);
		if (!k->verbose)
			log__limited(&k->reject_log, "push: %s rejected %s (%s): dropped, not retried",
				     url, window_name(it, name, sizeof(name)),
				     result_text(&res, text, sizeof(text)));
		k->failures = 0;
		k->next_try_ns = 0;
		push__drop_head(k, DROP_REJECTED);
		break;
	case PUSH_RETRY:
		atomic_fetch_add(&metrics.push_attempts_failed, 1);
		k->failures++;
		delay = push__backoff(k, &res);
		k->next_try_ns = clock_ns(CLOCK_MONOTONIC) + delay;
		if (!k->verbose)
			log__limited(&k->fail_log, "push: %s: %s; %zu bytes queued, next try in %.1f s",
				     url, result_text(&res, text, sizeof(text)), k->bytes, delay / 1e9);
		break;
	case PUSH_ABORTED:
		/* The shutdown deadline: the window stays, and is counted there. */
		break;
	}
}

/* Sleep until @until (CLOCK_MONOTONIC), or until signalled. Under k->lock. */
static void push__wait_until(struct push_sink *k, __u64 until)
{
	struct timespec ts = { .tv_sec = until / NSEC_PER_SEC, .tv_nsec = until % NSEC_PER_SEC };

	pthread_cond_timedwait(&k->cond, &k->lock, &ts);
}

/* After close(): what is queued goes out until the deadline, the rest is dropped. */
static void push__drain(struct push_sink *k)
{
	__u64 deadline = atomic_load(&k->deadline_ns);

	/* One try now, whatever the backoff: the last window is the freshest. */
	k->next_try_ns = 0;
	while (k->head) {
		__u64 now = clock_ns(CLOCK_MONOTONIC);

		if (now >= deadline)
			break;
		if (now < k->next_try_ns) {
			pthread_mutex_lock(&k->lock);
			push__wait_until(k, k->next_try_ns < deadline ? k->next_try_ns : deadline);
			pthread_mutex_unlock(&k->lock);
			continue;
		}
		push__attempt(k);
	}
	/* Counted, and reported by close(). */
	while (k->head)
		push__drop_head(k, DROP_SHUTDOWN);
}

static void *push_thread(void *arg)
{
	struct push_sink *k = arg;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		if (k->in_count) {
			struct snapshot *s = k->incoming[k->in_head];

			k->in_head = (k->in_head + 1) % MAX_INCOMING;
			k->in_count--;
			pthread_mutex_unlock(&k->lock);
			push__enqueue(k, s);
			snapshot__put(s);
			pthread_mutex_lock(&k->lock);
			continue;
		}
		if (k->stopping)
			break;
		if (!k->head) {
			pthread_cond_wait(&k->cond, &k->lock);
		} else if (clock_ns(CLOCK_MONOTONIC) < k->next_try_ns) {
			push__wait_until(k, k->next_try_ns);
		} else {
			pthread_mutex_unlock(&k->lock);
			push__attempt(k);
			pthread_mutex_lock(&k->lock);
		}
	}
	pthread_mutex_unlock(&k->lock);
	push__drain(k);
	return NULL;
}

/* ---- the sink --------------------------------------------------------------- */

static void push_submit(struct sink *sk, struct snapshot *s)
{
	struct push_sink *k = (struct push_sink *)sk;
	struct snapshot *old = NULL;

	pthread_mutex_lock(&k->lock);
	if (k->in_count == MAX_INCOMING) {
		old = k->incoming[k->in_head];
		k->in_head = (k->in_head + 1) % MAX_INCOMING;
		k->in_count--;
	}
	/* Counted before the thread can see it: the gauge never dips below 0. */
	atomic_fetch_add(&metrics.queue_windows, 1);
	k->incoming[(k->in_head + k->in_count) % MAX_INCOMING] = snapshot__get(s);
	k->in_count++;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	if (old) {
		atomic_fetch_add(&metrics.windows_dropped[DROP_QUEUE_FULL], 1);
		atomic_fetch_sub(&metrics.queue_windows, 1);
		log__limited(&k->drop_log, "push: %d windows wait to be encoded: dropped window %lu",
			     MAX_INCOMING, old->seq);
		snapshot__put(old);
	}
}

static void push_sink__free(struct push_sink *k)
{
	if (!k)
		return;
	push_client__free(k->client);
	for (size_t i = 0; k->labels && i < k->ro.nlabels; i++) {
		free((char *)k->labels[i].name);
		free((char *)k->labels[i].value);
	}
	free(k->labels);
	pthread_mutex_destroy(&k->lock);
	pthread_cond_destroy(&k->cond);
	free(k);
}

static void push_close(struct sink *sk, __u64 deadline_ns)
{
	struct push_sink *k = (struct push_sink *)sk;
	unsigned long long dropped = 0;

	pthread_mutex_lock(&k->lock);
	k->stopping = true;
	/* 0 means "no deadline" to a request in flight. */
	atomic_store(&k->deadline_ns, deadline_ns ? deadline_ns : 1);
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	push_client__wakeup(k->client);
	pthread_join(k->thread, NULL);
	for (int i = 0; i < NR_DROP_REASONS; i++)
		dropped += atomic_load(&metrics.windows_dropped[i]);
	log__msg("push: %llu windows pushed, %llu dropped (%llu queue full, %llu too old, "
			 "%llu rejected, %llu at shutdown)",
			 (unsigned long long)atomic_load(&metrics.windows_pushed), dropped,
			 (unsigned long long)atomic_load(&metrics.windows_dropped[DROP_QUEUE_FULL]),
			 (unsigned long long)atomic_load(&metrics.windows_dropped[DROP_TOO_OLD]),
			 (unsigned long long)atomic_load(&metrics.windows_dropped[DROP_REJECTED]),
			 (unsigned long long)atomic_load(&metrics.windows_dropped[DROP_SHUTDOWN]));
	push_sink__free(k);
}

static const struct sink_ops push_ops = {
	.name = "push",
	.submit = push_submit,
	.close = push_close,
};

static int push_sink__copy_labels(struct push_sink *k, const struct push_opts *o)
{
	k->labels = calloc(o->nlabels + 1, sizeof(*k->labels));
	if (!k->labels)
		return -ENOMEM;
	for (size_t i = 0; i < o->nlabels; i++) {
		k->labels[i].name = strdup(o->labels[i].name);
		k->labels[i].value = strdup(o->labels[i].value);
		k->ro.nlabels = i + 1;
		if (!k->labels[i].name || !k->labels[i].value)
			return -ENOMEM;
	}
	k->ro.labels = k->labels;
	return 0;
}

static int push_sink__init_sync(struct push_sink *k)
{
	pthread_condattr_t attr;
	int err;

	if (pthread_condattr_init(&attr))
		return -ENOMEM;
	err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) ?:
	      pthread_cond_init(&k->cond, &attr) ?:
	      pthread_mutex_init(&k->lock, NULL);
	pthread_condattr_destroy(&attr);
	return err ? -err : 0;
}

struct sink *push_sink__new(const struct push_opts *o, char *why, size_t size)
{
	struct push_sink *k = calloc(1, sizeof(*k));

	if (!k || push_sink__init_sync(k)) {
		snprintf(why, size, "out of memory");
		free(k);
		return NULL;
	}
	k->sink.ops = &push_ops;
	k->max_queue = o->max_queue;
	k->verbose = o->verbose;
	snprintf(k->hostname, sizeof(k->hostname), "%s", o->hostname ? o->hostname : "");
	k->ro.hostname = k->hostname;
	k->ro.json = o->json;
	k->fail_log = (struct log_limit)LOG_LIMIT_INIT(LOG_INTERVAL_S);
	k->reject_log = (struct log_limit)LOG_LIMIT_INIT(LOG_INTERVAL_S);
	k->drop_log = (struct log_limit)LOG_LIMIT_INIT(LOG_INTERVAL_S);
	k->encode_log = (struct log_limit)LOG_LIMIT_INIT(LOG_INTERVAL_S);
	if (getrandom(&k->rng, sizeof(k->rng), 0) != sizeof(k->rng) || !k->rng)
		k->rng = clock_ns(CLOCK_MONOTONIC) | 1;
	if (push_sink__copy_labels(k, o)) {
		snprintf(why, size, "out of memory");
		goto err_free;
	}
	k->client = push_client__new(o->url, o->headers, o->nheaders, o->json, why, size);
	if (!k->client)
		goto err_free;
	if (pthread_create(&k->thread, NULL, push_thread, k)) {
		snprintf(why, size, "cannot start the --push thread");
		goto err_free;
	}
	if (k->verbose)
		log__msg("push: to %s (%s), queue up to %zu bytes", push_client__shown_url(k->client),
			 o->json ? "application/json" : "application/proto", k->max_queue);
	return &k->sink;
err_free:
	push_sink__free(k);
	return NULL;
}
