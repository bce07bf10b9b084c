/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * The HTTP side of --push: one POST to URL/push.v1.PusherService/Push
 * at a time (a unary Connect call over HTTP/1.1, libcurl), on one kept
 * connection, and what its answer means for the window:
 *
 *	2xx				pushed
 *	network error, timeout,
 *	408, 429, 5xx			try again later (Retry-After is noted)
 *	any other status		rejected: the same body would be again
 *
 * The server's words come back with the status: a Connect error is
 * {"code": ..., "message": ...}; anything else is taken as text.
 * Header values (credentials) are never part of any message.
 */
#ifndef __PUSH_CLIENT_H
#define __PUSH_CLIENT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>

/* A request gives up after this long, connection included. */
#define PUSH_TIMEOUT_MS 10000

struct push_client;

enum push_outcome {
	PUSH_OK,
	PUSH_RETRY,
	PUSH_REJECTED,
	PUSH_ABORTED,	/* the abort time passed first */
};

struct push_result {
	enum push_outcome outcome;
	long status;		/* HTTP status, 0 without an answer */
	double seconds;		/* the request's time */
	long retry_after;	/* seconds the server asked for, or 0 */
	char why[512];		/* one line: the network error or the server's message */
};

/*
 * @url: the base URL (http or https, credentials in it allowed);
 * @headers: "Name: value" each. NULL with the reason in @why.
 */
struct push_client *push_client__new(const char *url, const char *const *headers,
				     size_t nheaders, bool json, char *why, size_t size);
void push_client__free(struct push_client *c);

/* The endpoint as it may be logged: no user, password or query. */
const char *push_client__shown_url(const struct push_client *c);

/*
 * POST @body. *@abort_at_ns (CLOCK_MONOTONIC, 0 for none) is read while
 * the request runs: once it passes, the request is given up (-> aborted).
 */
void push_client__post(struct push_client *c, const void *body, size_t len,
		       const _Atomic __u64 *abort_at_ns, struct push_result *res);

/* Make a post in progress look at *abort_at_ns again now (any thread). */
void push_client__wakeup(struct push_client *c);

#endif /* __PUSH_CLIENT_H */
