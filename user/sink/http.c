// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <microhttpd.h>
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "output.h"

/* Go's net/http/pprof default when ?seconds= is absent. */
#define DEFAULT_SECONDS 30
#define MAX_SECONDS 3600
/* Scrapers, a browser, curl: a handful at a time is plenty. */
#define MAX_CONNECTIONS 32
#define IDLE_TIMEOUT_S 30

struct http_server {
	struct MHD_Daemon *d;
	struct scrape_queue *q;
	int fd;
	char hostname[256];
	struct log_limit errors;
};

static const char index_page[] =
	"pybpfprof agent\n"
	"\n"
	"/debug/pprof/profile?seconds=N  gzip pprof of the next N seconds (default 30)\n"
	"/metrics                        the agent's health, Prometheus text format\n";

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status, const char *type,
			     void *body, size_t len, enum MHD_ResponseMemoryMode mode)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, body, mode);
	enum MHD_Result ret;

	if (!r) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status,
				  const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned int status,
				  const char *fmt, ...)
{
	char *body = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&body, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MHD_NO;
	return reply(c, status, "text/plain; charset=utf-8", body, n, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result serve_metrics(struct MHD_Connection *c)
{
	char *buf = NULL;
	size_t len = 0;

	if (metrics__render(&buf, &len))
		return reply_text(c, 500, "cannot render the metrics\n");
	return reply(c, 200, "text/plain; version=0.0.4; charset=utf-8", buf, len,
		     MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result serve_profile(struct http_server *h, struct MHD_Connection *c)
{
	const char *arg = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "seconds");
	struct output_meta m = { .backend_labels = true };
	struct snapshot *snap;
	double seconds = DEFAULT_SECONDS;
	char *body = NULL, *end;
	size_t len = 0;
	FILE *f;
	int err;

	if (arg) {
		errno = 0;
		seconds = strtod(arg, &end);
		if (errno || end == arg || *end || !isfinite(seconds) || seconds <= 0 ||
		    seconds > MAX_SECONDS) {
			atomic_fetch_add(&metrics.scrapes_failed, 1);
			return reply_text(c, 400, "invalid seconds '%s': expected a number above "
					  "0, at most %d\n", arg, MAX_SECONDS);
		}
	}
	err = scrape__collect(h->q, seconds, &snap);
	if (err) {
		atomic_fetch_add(&metrics.scrapes_failed, 1);
		if (err == -EBUSY)
			return reply_text(c, 503, "too many profiles being collected at once "
					  "(at most %d)\n", SCRAPE_MAX_ACTIVE);
		return reply_text(c, 503, "cannot collect a profile: %s\n", strerror(-err));
	}
	m.duration_s = snap->duration_ns / 1e9;
	m.wall = snap->wall;
	m.frequency_hz = snap->frequency;
	m.start_unix_ns = snap->start_unix_ns;
	m.hostname = snap->hostname;
	f = open_memstream(&body, &len);
	err = f ? output_pprof__write(snap->agg, &m, f) : -errno;
	if (f && fclose(f) && !err)
		err = -EIO;
	snapshot__put(snap);
	if (err) {
		free(body);
		atomic_fetch_add(&metrics.scrapes_failed, 1);
		log__limited(&h->errors, "cannot encode a scraped profile: %s", strerror(-err));
		return reply_text(c, 500, "cannot encode the profile: %s\n", strerror(-err));
	}
	atomic_fetch_add(&metrics.scrapes, 1);
	/* What Alloy's pyroscope.scrape insists on, and what Go serves. */
	return reply(c, 200, "application/octet-stream", body, len, MHD_RESPMEM_MUST_FREE);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_size, void **state)
{
	static int first_call;
	struct http_server *h = cls;

	/* The first call only sees the headers: answer on the second. */
	if (!*state) {
		*state = &first_call;
		return MHD_YES;
	}
	if (*upload_size) {
		*upload_size = 0;	/* a body is not expected: ignore it */
		return MHD_YES;
	}
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(c, 405, "only GET\n");
	if (!strcmp(url, "/debug/pprof/profile"))
		return serve_profile(h, c);
	if (!strcmp(url, "/metrics"))
		return serve_metrics(c);
	if (!strcmp(url, "/"))
		return reply(c, 200, "text/plain; charset=utf-8", (void *)index_page,
			     sizeof(index_page) - 1, MHD_RESPMEM_PERSISTENT);
	return reply_text(c, 404, "not found: %s\n", url);
}

/*
 * "PORT", ":PORT": loopback. "ADDR:PORT", "[ADDR]:PORT", "name:PORT":
 * that address. A bound, listening socket, or -1 with the reason in @why.
 */
static int listen_on(const char *spec, char *why, size_t size)
{
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	struct addrinfo *res = NULL;
	char host[256] = "127.0.0.1", port[16];
	const char *colon = strrchr(spec, ':'), *p = colon ? colon + 1 : spec;
	int fd = -1, one = 1, err;
	char *end;
	long n;

	errno = 0;
	n = strtol(p, &end, 10);
	if (!*p || *end || errno || n < 1 || n > 65535) {
		snprintf(why, size, "invalid --listen '%s': expected [ADDR:]PORT, PORT from 1 "
			 "to 65535", spec);
		return -1;
	}
	snprintf(port, sizeof(port), "%ld", n);
	if (colon && colon > spec) {
		size_t len = colon - spec;

		if (spec[0] == '[' && spec[len - 1] == ']') {
			spec++;
			len -= 2;
		}
		if (!len || len >= sizeof(host)) {
			snprintf(why, size, "invalid --listen '%s': bad address", spec);
			return -1;
		}
		memcpy(host, spec, len);
		host[len] = '\0';
	}
	err = getaddrinfo(host, port, &hints, &res);
	if (err) {
		snprintf(why, size, "invalid --listen address '%s': %s", host, gai_strerror(err));
		return -1;
	}
	fd = socket(res->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) || listen(fd, 64)) {
		snprintf(why, size, "cannot listen on %s port %s: %s", host, port, strerror(errno));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

struct http_server *http_server__new(const char *listen, struct scrape_queue *q,
				     const char *hostname, char *why, size_t size)
{
	struct http_server *h = calloc(1, sizeof(*h));

	if (!h) {
		snprintf(why, size, "out of memory");
		return NULL;
	}
	h->q = q;
	h->errors = (struct log_limit)LOG_LIMIT_INIT(60);
	snprintf(h->hostname, sizeof(h->hostname), "%s", hostname ? hostname : "");
	h->fd = listen_on(listen, why, size);
	if (h->fd < 0) {
		free(h);
		return NULL;
	}
	/*
	 * A thread per connection: a scrape waits its N seconds without
	 * holding up /metrics or another scrape.
	 */
	h->d = MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD,
				0, NULL, NULL, on_request, h,
				MHD_OPTION_LISTEN_SOCKET, h->fd,
				MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS,
				MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
				MHD_OPTION_END);
	if (!h->d) {
		snprintf(why, size, "cannot start the HTTP server on %s", listen);
		close(h->fd);
		free(h);
		return NULL;
	}
	return h;
}

void http_server__free(struct http_server *h)
{
	if (!h)
		return;
	/* Pending scrapes were failed by scrape_queue__close(): threads return. */
	MHD_stop_daemon(h->d);
	close(h->fd);
	free(h);
}
