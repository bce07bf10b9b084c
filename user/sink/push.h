/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --push URL: each closed window POSTed to URL/push.v1.PusherService/Push,
 * Grafana Pyroscope's Connect API over HTTP/1.1 (libcurl), from threads
 * of its own. Windows wait in a queue bounded in bytes (--max-queue);
 * failures (network, 408, 429, 5xx) are retried with capped exponential
 * backoff and jitter, never past the backend's ingestion window; a full
 * queue drops its oldest window; a 4xx other than 408/429 is not retried.
 */
#ifndef __PUSH_H
#define __PUSH_H

#include <stdbool.h>
#include <stddef.h>
#include "push_request.h"	/* struct label */
#include "sink.h"

struct push_opts {
	const char *url;		/* base URL, without the path */
	const char *const *headers;	/* "Name: value", e.g. Authorization */
	size_t nheaders;
	bool json;			/* application/json instead of application/proto */
	size_t max_queue;		/* bytes */
	const struct label *labels;	/* --label pairs (service_name among them wins) */
	size_t nlabels;
	const char *hostname;
	bool verbose;
};

/* NULL with a one-line reason in @why (a bad URL is caught here). */
struct sink *push_sink__new(const struct push_opts *o, char *why, size_t size);

#endif /* __PUSH_H */
