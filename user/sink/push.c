// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * Two threads. The encoder turns each window handed over by submit()
 * into a request (push_request.c) and queues it; the sender sends the
 * oldest request when the backoff allows. Neither waits for the other:
 * a backend that takes 10 s to answer does not hold windows back from
 * being encoded (and their aggregations from being freed), and a huge
 * window being encoded does not hold back the requests already queued.
 * The capture thread only ever takes a lock to append a reference.
 *
 * Memory: at most MAX_INCOMING windows wait to be encoded (more would
 * mean the encoder cannot keep up); the requests are bounded by
 * --max-queue bytes, the request being sent included. A full queue
 * drops its oldest; the newest always stays.
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
/* Windows waiting for the encoder: more, and it is not keeping up. */
#define MAX_INCOMING 8
/*
 * The threads stop this long before close()'s deadline: a thread woken
 * at the deadline on a loaded host runs (and is joined) up to a few
 * hundred milliseconds later, and close() must have returned by then.
 */
#define STOP_MARGIN_NS (250 * 1000000ULL)
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
	pthread_t encoder, sender;
	bool encoder_started, sender_started;
	pthread_mutex_t lock;
	pthread_cond_t wake_encoder;	/* both on CLOCK_MONOTONIC */
	pthread_cond_t wake_sender;
	/* Under lock. */
	struct snapshot *incoming[MAX_INCOMING];
	size_t in_head, in_count;
	struct push_item *head, *tail;	/* encoded, oldest first */
	struct push_item *inflight;	/* being sent: off the list, in bytes */
	bool inflight_doomed;		/* the queue overflowed meanwhile */
	size_t bytes;
	bool stopping, encoder_done;
	/* The shutdown deadline, also read by the request and encoding in progress. */
	_Atomic __u64 deadline_ns;
	/* The sender's own. */
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

/* Sleep on @cond until @until (CLOCK_MONOTONIC) or a signal. Under k->lock. */
static void push__wait_until(struct push_sink *k, pthread_cond_t *cond, __u64 until)
{
	struct timespec ts = { .tv_sec = until / NSEC_PER_SEC, .tv_nsec = until % NSEC_PER_SEC };

	pthread_cond_timedwait(cond, &k->lock, &ts);
}

/* ---- the queue (under k->lock) ---------------------------------------------- */

/* An item off the queue for good: its bytes and its place go. */
static void push__release(struct push_sink *k, struct push_item *it)
{
	k->bytes -= it->req.len;
	atomic_fetch_sub(&metrics.queue_bytes, it->req.len);
	atomic_fetch_sub(&metrics.queue_windows, 1);
	push_request__free(&it->req);
	free(it);
}

static struct push_item *push__pop(struct push_sink *k)
{
	struct push_item *it = k->head;

	k->head = it->next;
	if (!k->head)
		k->tail = NULL;
	it->next = NULL;
	return it;
}

static void push__drop_head(struct push_sink *k, enum drop_reason why)
{
	atomic_fetch_add(&metrics.windows_dropped[why], 1);
	push__release(k, push__pop(k));
}

/* Bytes that stay: a request being sent that was doomed is on its way out. */
static size_t push__kept_bytes(const struct push_sink *k)
{
	return k->bytes - (k->inflight && k->inflight_doomed ? k->inflight->req.len : 0);
}

/* Append @it; when over the bound, the oldest make room, never @it. */
static void push__append(struct push_sink *k, struct push_item *it)
{
	char name[64];

	if (k->tail)
		k->tail->next = it;
	else
		k->head = it;
	k->tail = it;
	k->bytes += it->req.len;
	atomic_fetch_add(&metrics.queue_bytes, it->req.len);
	while (push__kept_bytes(k) > k->max_queue) {
		if (k->inflight && !k->inflight_doomed) {
			/* The oldest is being sent: dropped, unless this try works. */
			k->inflight_doomed = true;
			continue;
		}
		if (k->head == it)
			break;
		log__limited(&k->drop_log, "push: queue full (--max-queue %zu bytes): dropped %s",
			     k->max_queue, window_name(k->head, name, sizeof(name)));
		push__drop_head(k, DROP_QUEUE_FULL);
	}
	pthread_cond_signal(&k->wake_sender);
}

/* ---- the encoder -------------------------------------------------------------- */

/* @s as a queued request, or NULL (nothing to send, or it could not be made). */
static struct push_item *push__encode(struct push_sink *k, struct snapshot *s)
{
	struct push_item *it = calloc(1, sizeof(*it));
	int err;

	err = it ? push_request__encode(s, &k->ro, &it->req) : -ENOMEM;
	if (err == -ECANCELED) {
		atomic_fetch_add(&metrics.windows_dropped[DROP_SHUTDOWN], 1);
		goto err_free;
	}
	if (err) {
		log__limited(&k->encode_log, "push: window %lu lost: cannot encode it: %s",
			     s->seq, strerror(-err));
		goto err_free;
	}
	if (it->req.dropped_stacks)
		log__limited(&k->encode_log, "push: %zu stacks of window %lu left out: each "
			     "alone is over Pyroscope's %u-byte profile limit",
			     it->req.dropped_stacks, s->seq, PUSH_MAX_PROFILE_BYTES);
	if (!it->req.nseries) {
		/* Pyroscope refuses a request without profiles: nothing to send. */
		if (k->verbose)
			log__msg("push: window %lu has no samples: nothing to push", s->seq);
		goto err_free;
	}
	it->start_unix_ns = s->start_unix_ns;
	it->seq = s->seq;
	return it;
err_free:
	atomic_fetch_sub(&metrics.queue_windows, 1);
	if (it)
		push_request__free(&it->req);
	free(it);
	return NULL;
}

static void *encoder_thread(void *arg)
{
	struct push_sink *k = arg;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		struct push_item *it;
		struct snapshot *s;

		while (!k->in_count && !k->stopping)
			pthread_cond_wait(&k->wake_encoder, &k->lock);
		/* At close(), what came before it is still encoded, until the deadline. */
		if (!k->in_count)
			break;
		s = k->incoming[k->in_head];
		k->in_head = (k->in_head + 1) % MAX_INCOMING;
		k->in_count--;
		pthread_mutex_unlock(&k->lock);
		it = push__encode(k, s);
		snapshot__put(s);
		pthread_mutex_lock(&k->lock);
		if (it)
			push__append(k, it);
	}
	k->encoder_done = true;
	pthread_cond_signal(&k->wake_sender);
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* ---- the sender ------------------------------------------------------------------ */

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

enum attempt {
	ATTEMPT_DONE,	/* pushed or dropped, and counted: release it */
	ATTEMPT_KEEP,	/* to be tried again */
};

/* Send @it (off the lock); count and log what came of it. */
static enum attempt push__attempt(struct push_sink *k, struct push_item *it)
{
	const char *url = push_client__shown_url(k->client);
	struct push_result res;
	char name[64], text[640];
	__u64 delay;

	if (clock_ns(CLOCK_REALTIME) > it->start_unix_ns + MAX_AGE_NS) {
		log__limited(&k->drop_log, "push: dropped %s: older than Pyroscope accepts",
			     window_name(it, name, sizeof(name)));
		atomic_fetch_add(&metrics.windows_dropped[DROP_TOO_OLD], 1);
		return ATTEMPT_DONE;
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
		return ATTEMPT_DONE;
	case PUSH_REJECTED:
		/* The backend answered: it is up, only this window is wrong. */
		atomic_fetch_add(&metrics.push_attempts_failed, 1);
		atomic_fetch_add(&metrics.windows_dropped[DROP_REJECTED], 1);
		if (!k->verbose)
			log__limited(&k->reject_log, "push: %s rejected %s (%s): dropped, not retried",
				     url, window_name(it, name, sizeof(name)),
				     result_text(&res, text, sizeof(text)));
		k->failures = 0;
		k->next_try_ns = 0;
		return ATTEMPT_DONE;
	case PUSH_RETRY:
		atomic_fetch_add(&metrics.push_attempts_failed, 1);
		k->failures++;
		delay = push__backoff(k, &res);
		k->next_try_ns = clock_ns(CLOCK_MONOTONIC) + delay;
		if (!k->verbose)
			log__limited(&k->fail_log, "push: %s: %s; %llu bytes queued, next try in %.1f s",
				     url, result_text(&res, text, sizeof(text)),
				     (unsigned long long)atomic_load(&metrics.queue_bytes), delay / 1e9);
		return ATTEMPT_KEEP;
	case PUSH_ABORTED:
		/* The shutdown deadline: counted with what is left. */
		break;
	}
	return ATTEMPT_KEEP;
}

static void *sender_thread(void *arg)
{
	struct push_sink *k = arg;
	bool draining = false;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		__u64 now = clock_ns(CLOCK_MONOTONIC), deadline = atomic_load(&k->deadline_ns);
		struct push_item *it;

		if (k->stopping && now >= deadline)
			break;
		if (k->stopping && !draining) {
			/* One try now, whatever the backoff: the last window is the freshest. */
			draining = true;
			k->next_try_ns = 0;
		}
		if (!k->head) {
			if (k->stopping && k->encoder_done)
				break;
			if (k->stopping)
				push__wait_until(k, &k->wake_sender, deadline);
			else
				pthread_cond_wait(&k->wake_sender, &k->lock);
			continue;
		}
		if (now < k->next_try_ns) {
			push__wait_until(k, &k->wake_sender, k->stopping && deadline < k->next_try_ns ?
						      deadline : k->next_try_ns);
			continue;
		}
		it = k->inflight = push__pop(k);
		k->inflight_doomed = false;
		pthread_mutex_unlock(&k->lock);
		if (push__attempt(k, it) == ATTEMPT_DONE) {
			pthread_mutex_lock(&k->lock);
		} else {
			pthread_mutex_lock(&k->lock);
			if (k->inflight_doomed) {
				char name[64];

				atomic_fetch_add(&metrics.windows_dropped[DROP_QUEUE_FULL], 1);
				log__limited(&k->drop_log, "push: queue full (--max-queue %zu bytes): "
					     "dropped %s", k->max_queue,
					     window_name(it, name, sizeof(name)));
			} else {
				/* Back at the head, for the next try. */
				it->next = k->head;
				k->head = it;
				if (!k->tail)
					k->tail = it;
				it = NULL;
			}
		}
		k->inflight = NULL;
		if (it)
			push__release(k, it);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

/* ---- the sink ------------------------------------------------------------------- */

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
	/* Counted before a thread can see it: the gauge never dips below 0. */
	atomic_fetch_add(&metrics.queue_windows, 1);
	k->incoming[(k->in_head + k->in_count) % MAX_INCOMING] = snapshot__get(s);
	k->in_count++;
	pthread_cond_signal(&k->wake_encoder);
	pthread_mutex_unlock(&k->lock);
	if (old) {
		atomic_fetch_add(&metrics.windows_dropped[DROP_QUEUE_FULL], 1);
		atomic_fetch_sub(&metrics.queue_windows, 1);
		log__limited(&k->drop_log, "push: encoding is %d windows behind: dropped window %lu",
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
	pthread_cond_destroy(&k->wake_encoder);
	pthread_cond_destroy(&k->wake_sender);
	free(k);
}

/* Stop both threads (by the deadline) and count what they left as shutdown drops. */
static void push_sink__stop(struct push_sink *k, __u64 deadline_ns)
{
	__u64 now = clock_ns(CLOCK_MONOTONIC), stop_at;

	stop_at = deadline_ns > now + STOP_MARGIN_NS ? deadline_ns - STOP_MARGIN_NS : now;
	pthread_mutex_lock(&k->lock);
	k->stopping = true;
	/* 0 means "no deadline" to the request and the encoding in progress. */
	atomic_store(&k->deadline_ns, stop_at ? stop_at : 1);
	pthread_cond_broadcast(&k->wake_encoder);
	pthread_cond_broadcast(&k->wake_sender);
	pthread_mutex_unlock(&k->lock);
	if (k->client)
		push_client__wakeup(k->client);
	if (k->sender_started)
		pthread_join(k->sender, NULL);
	/* The encoder gives up at the deadline too, between profiles. */
	if (k->encoder_started)
		pthread_join(k->encoder, NULL);
	while (k->in_count) {
		atomic_fetch_add(&metrics.windows_dropped[DROP_SHUTDOWN], 1);
		atomic_fetch_sub(&metrics.queue_windows, 1);
		snapshot__put(k->incoming[k->in_head]);
		k->in_head = (k->in_head + 1) % MAX_INCOMING;
		k->in_count--;
	}
	while (k->head)
		push__drop_head(k, DROP_SHUTDOWN);
}

static void push_close(struct sink *sk, __u64 deadline_ns)
{
	struct push_sink *k = (struct push_sink *)sk;
	unsigned long long dropped = 0;

	push_sink__stop(k, deadline_ns);
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
	      pthread_cond_init(&k->wake_encoder, &attr) ?:
	      pthread_cond_init(&k->wake_sender, &attr) ?:
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
	k->ro.abort_at_ns = &k->deadline_ns;
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
	k->encoder_started = !pthread_create(&k->encoder, NULL, encoder_thread, k);
	k->sender_started = k->encoder_started &&
			    !pthread_create(&k->sender, NULL, sender_thread, k);
	if (!k->sender_started) {
		snprintf(why, size, "cannot start the --push threads");
		goto err_stop;
	}
	if (k->verbose)
		log__msg("push: to %s (%s), queue up to %zu bytes", push_client__shown_url(k->client),
			 o->json ? "application/json" : "application/proto", k->max_queue);
	return &k->sink;
err_stop:
	push_sink__stop(k, 1);
err_free:
	push_sink__free(k);
	return NULL;
}
