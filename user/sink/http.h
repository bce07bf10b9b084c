/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * --listen ADDR:PORT, an HTTP server (libmicrohttpd) for pull-based
 * backends:
 *   GET /debug/pprof/profile?seconds=N  a gzip pprof of the next N
 *       seconds (Parca's and Alloy's scrapers, `go tool pprof URL`),
 *       Content-Type application/octet-stream; N defaults to 30 as in Go
 *   GET /metrics  the agent's health, Prometheus text format
 * It binds to loopback unless an address is given.
 */
#ifndef __HTTP_H
#define __HTTP_H

#include <stddef.h>
#include "scrape.h"

struct http_server;

/*
 * Listen on @listen ("PORT", ":PORT", "ADDR:PORT", "[V6ADDR]:PORT").
 * NULL with a one-line reason in @why (bad address, port in use).
 */
struct http_server *http_server__new(const char *listen, struct scrape_queue *q,
				     const char *hostname, char *why, size_t size);
void http_server__free(struct http_server *h);

#endif /* __HTTP_H */
