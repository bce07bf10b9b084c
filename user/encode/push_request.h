/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * One closed window as the body of a Pyroscope push: a PushRequest of
 * grafana/pyroscope api/push/v1/push.proto, in protobuf or in the JSON
 * mapping of Connect, with one RawProfileSeries per service:
 *
 *	labels	__name__=process_cpu (wall for a wall-mode window),
 *		service_name, hostname and the --label pairs, sorted by name
 *	samples	one or more gzip pprof profiles of that service's stacks
 *		(output_pprof.c with the backend labels), each within the
 *		server's default limits: at most 16,000 Sample messages and
 *		4 MiB uncompressed; a service over either is split into
 *		several profiles, which the server adds up
 *
 * A service is, in this order: the service_name of --label (one series
 * for everything), the process's systemd unit or container (origin.c),
 * else its command name.
 */
#ifndef __PUSH_REQUEST_H
#define __PUSH_REQUEST_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/types.h>
#include "aggregate.h"
#include "snapshot.h"

/* Pyroscope's defaults (pkg/validation/limits.go): larger is rejected. */
#define PUSH_MAX_PROFILE_SAMPLES 16000
#define PUSH_MAX_PROFILE_BYTES (4U << 20)

struct label {
	const char *name;
	const char *value;
};

struct push_request_opts {
	const struct label *labels;	/* --label pairs; service_name among them wins */
	size_t nlabels;
	const char *hostname;		/* the hostname label; the snapshot's when NULL */
	bool json;			/* application/json instead of application/proto */
	/* Limits of one profile; 0 for Pyroscope's (tests make them small). */
	size_t max_samples;
	size_t max_bytes;
	/*
	 * When set and non-zero, a time (CLOCK_MONOTONIC) after which the
	 * encoding gives up, looked at before each profile: a shutdown
	 * deadline.
	 */
	const _Atomic __u64 *abort_at_ns;
};

struct push_request {
	void *body;		/* malloc'd */
	size_t len;
	size_t nseries;		/* services */
	size_t nprofiles;	/* RawSample messages, all series */
	size_t nsamples;	/* pprof Sample messages, all profiles */
	size_t raw_bytes;	/* uncompressed pprof, all profiles */
	size_t dropped_stacks;	/* a stack over the byte limit on its own */
};

/*
 * Encode the window @s into @r (zeroed first). A window without samples
 * gives a request with no series (nothing to send). 0, -ENOMEM, or
 * -ECANCELED once *abort_at_ns has passed.
 */
int push_request__encode(const struct snapshot *s, const struct push_request_opts *o,
			 struct push_request *r);
void push_request__free(struct push_request *r);

/* The service_name of process @p, by the order above. */
const char *push_request__service(const struct agg_proc *p, const struct push_request_opts *o);

#endif /* __PUSH_REQUEST_H */
