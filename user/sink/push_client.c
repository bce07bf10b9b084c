// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * One easy handle driven through a multi handle: the multi interface's
 * poll can be woken (curl_multi_wakeup) and given a timeout, so a
 * request in flight at shutdown stops at the deadline to the
 * millisecond, where the easy interface's progress callback may be
 * called only once a second. The multi handle keeps the connection
 * open between pushes.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <curl/curl.h>
#include "push_client.h"

#define PUSH_PATH "/push.v1.PusherService/Push"
/* Enough of an error body for its message; the rest is read and dropped. */
#define RESP_MAX 4096
/* A server's message in a log line is cut here. */
#define MESSAGE_MAX 300
#define POLL_MS 1000

struct push_client {
	CURLM *multi;
	CURL *easy;
	struct curl_slist *headers;
	char *endpoint;
	char *shown;
	char errbuf[CURL_ERROR_SIZE];
	char resp[RESP_MAX];
	size_t resp_len;
};

static __u64 mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static size_t on_body(char *data, size_t size, size_t n, void *ctx)
{
	struct push_client *c = ctx;
	size_t len = size * n, room = sizeof(c->resp) - 1 - c->resp_len;

	if (len < room)
		room = len;
	memcpy(c->resp + c->resp_len, data, room);
	c->resp_len += room;
	c->resp[c->resp_len] = '\0';
	return len;
}

/* Was header @name among the user's ("Name: value", any case)? */
static bool has_header(const char *const *headers, size_t n, const char *name)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++)
		if (!strncasecmp(headers[i], name, len) && headers[i][len] == ':')
			return true;
	return false;
}

static int build_headers(struct push_client *c, const char *const *headers, size_t n,
			 bool json)
{
	const char *ours[] = {
		json ? "Content-Type: application/json" : "Content-Type: application/proto",
		/* Connect servers may require it; all accept it. */
		"Connect-Protocol-Version: 1",
		/* No "Expect: 100-continue" wait before large bodies. */
		"Expect:",
	};

	for (size_t i = 0; i < n; i++) {
		struct curl_slist *l = curl_slist_append(c->headers, headers[i]);

		if (!l)
			return -ENOMEM;
		c->headers = l;
	}
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		struct curl_slist *l;

		/* A user's Content-Type wins over ours. */
		if (i == 0 && has_header(headers, n, "Content-Type"))
			continue;
		l = curl_slist_append(c->headers, ours[i]);
		if (!l)
			return -ENOMEM;
		c->headers = l;
	}
	return 0;
}

/*
 * The endpoint (base path + PUSH_PATH) and its loggable form, from the
 * base URL. A reason in @why when the URL is not one.
 */
static int set_urls(struct push_client *c, const char *url, char *why, size_t size)
{
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *full = NULL;
	CURLU *u = curl_url();
	CURLUcode rc;
	size_t plen;
	int err = -EINVAL;

	if (!u)
		return -ENOMEM;
	rc = curl_url_set(u, CURLUPART_URL, url, 0);
	if (rc) {
		snprintf(why, size, "invalid --push URL: %s", curl_url_strerror(rc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
		snprintf(why, size, "invalid --push URL: expected http:// or https://");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &host, 0) || !*host) {
		snprintf(why, size, "invalid --push URL: no host");
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	curl_url_get(u, CURLUPART_PATH, &path, 0);
	plen = path ? strlen(path) : 0;
	while (plen && path[plen - 1] == '/')
		plen--;
	err = -ENOMEM;
	if (asprintf(&full, "%.*s" PUSH_PATH, (int)plen, path ? path : "") < 0) {
		full = NULL;
		goto out;
	}
	if (curl_url_set(u, CURLUPART_PATH, full, 0) || curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) ||
	    curl_url_get(u, CURLUPART_URL, &c->endpoint, 0))
		goto out;
	if (asprintf(&c->shown, "%s://%s%s%s%s", scheme, host, port ? ":" : "", port ? port : "",
		     full) < 0) {
		c->shown = NULL;
		goto out;
	}
	err = 0;
out:
	if (err == -ENOMEM)
		snprintf(why, size, "out of memory");
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	free(full);
	curl_url_cleanup(u);
	return err;
}

struct push_client *push_client__new(const char *url, const char *const *headers,
				     size_t nheaders, bool json, char *why, size_t size)
{
	struct push_client *c;
	CURL *e;

	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		snprintf(why, size, "cannot initialize libcurl");
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(why, size, "out of memory");
		goto err_global;
	}
	if (set_urls(c, url, why, size))
		goto err_free;
	if (build_headers(c, headers, nheaders, json)) {
		snprintf(why, size, "out of memory");
		goto err_free;
	}
	c->multi = curl_multi_init();
	c->easy = e = curl_easy_init();
	if (!c->multi || !e) {
		snprintf(why, size, "cannot initialize libcurl");
		goto err_free;
	}
	/* The scheme was checked above, and redirects are not followed. */
	if (curl_easy_setopt(e, CURLOPT_URL, c->endpoint) ||
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, c->headers) ||
	    curl_easy_setopt(e, CURLOPT_USERAGENT, "pybpfprof/" PYBPFPROF_VERSION) ||
	    curl_easy_setopt(e, CURLOPT_POST, 1L) ||
	    /* Threads: no SIGALRM for name lookups. */
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) ||
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)PUSH_TIMEOUT_MS) ||
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, c->errbuf) ||
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body) ||
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, c)) {
		snprintf(why, size, "this libcurl lacks an option --push needs");
		goto err_free;
	}
	return c;
err_free:
	push_client__free(c);
	return NULL;
err_global:
	curl_global_cleanup();
	return NULL;
}

void push_client__free(struct push_client *c)
{
	if (!c)
		return;
	if (c->easy)
		curl_easy_cleanup(c->easy);
	if (c->multi)
		curl_multi_cleanup(c->multi);
	curl_slist_free_all(c->headers);
	curl_free(c->endpoint);
	free(c->shown);
	free(c);
	curl_global_cleanup();
}

const char *push_client__shown_url(const struct push_client *c)
{
	return c->shown;
}

void push_client__wakeup(struct push_client *c)
{
	curl_multi_wakeup(c->multi);
}

/* Append @s (up to @n bytes) to @out as one printable line, cut at MESSAGE_MAX. */
static void put_text(char *out, size_t size, const char *s, size_t n)
{
	size_t o = strlen(out), limit = size - 1, i;

	if (limit > o + MESSAGE_MAX)
		limit = o + MESSAGE_MAX;
	for (i = 0; i < n && s[i] && o < limit; i++) {
		unsigned char ch = (unsigned char)s[i];

		out[o++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	/* Cut short: drop the UTF-8 sequence the cut may have split. */
	if (i < n && s[i]) {
		while (o && ((unsigned char)out[o - 1] & 0xc0) == 0x80)
			o--;
		if (o && (unsigned char)out[o - 1] >= 0xc0)
			o--;
	}
	out[o] = '\0';
}

/*
 * The string value of "@key" in JSON text @s, unescaped into @out as
 * one line. False when there is no such string.
 */
static bool json_string(const char *s, const char *key, char *out, size_t size)
{
	char pat[32];
	const char *p;
	size_t o = 0;

	snprintf(pat, sizeof(pat), "\"%s\"", key);
	p = strstr(s, pat);
	if (!p)
		return false;
	p += strlen(pat);
	while (isspace((unsigned char)*p))
		p++;
	if (*p++ != ':')
		return false;
	while (isspace((unsigned char)*p))
		p++;
	if (*p++ != '"')
		return false;
	while (*p && *p != '"' && o + 1 < size) {
		char ch = *p++;

		if (ch == '\\' && *p) {
			ch = *p++;
			if (ch == 'u') {
				unsigned int v = 0;

				for (int i = 0; i < 4 && isxdigit((unsigned char)*p); i++, p++)
					v = v * 16 + (isdigit((unsigned char)*p) ? *p - '0' :
						      (tolower((unsigned char)*p) - 'a' + 10));
				ch = v >= 0x20 && v < 0x7f ? (char)v : '?';
			} else if (ch != '"' && ch != '\\' && ch != '/') {
				ch = ' ';	/* \n, \t and the like: one line */
			}
		} else if ((unsigned char)ch < 0x20) {
			ch = ' ';
		}
		out[o++] = ch;
	}
	out[o] = '\0';
	return true;
}

/* "code: message" of a Connect error, else the body's first line. */
static void server_message(struct push_client *c, char *out, size_t size)
{
	char code[64], msg[2 * MESSAGE_MAX];
	const char *s = c->resp, *nl;

	out[0] = '\0';
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '{' && json_string(s, "message", msg, sizeof(msg))) {
		if (json_string(s, "code", code, sizeof(code)) && *code)
			snprintf(out, size, "%s: ", code);
		put_text(out, size, msg, strlen(msg));
		return;
	}
	nl = strchr(s, '\n');
	put_text(out, size, s, nl ? (size_t)(nl - s) : strlen(s));
}

void push_client__post(struct push_client *c, const void *body, size_t len,
		       const _Atomic __u64 *abort_at_ns, struct push_result *res)
{
	CURLcode code = CURLE_OK;
	__u64 start = mono_ns();
	bool aborted = false;
	int running = 1;
	curl_off_t after = 0;
	CURLMsg *msg;
	int left;

	memset(res, 0, sizeof(*res));
	c->resp_len = 0;
	c->resp[0] = '\0';
	c->errbuf[0] = '\0';
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c->easy, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	if (curl_multi_add_handle(c->multi, c->easy)) {
		res->outcome = PUSH_RETRY;
		snprintf(res->why, sizeof(res->why), "libcurl refused the request");
		return;
	}
	for (;;) {
		__u64 now, abort_at;
		int wait_ms = POLL_MS;

		if (curl_multi_perform(c->multi, &running) || !running)
			break;
		now = mono_ns();
		abort_at = atomic_load(abort_at_ns);
		if (abort_at && now >= abort_at) {
			aborted = true;
			break;
		}
		if (abort_at && (abort_at - now) / 1000000 + 1 < (__u64)wait_ms)
			wait_ms = (int)((abort_at - now) / 1000000 + 1);
		curl_multi_poll(c->multi, NULL, 0, wait_ms, NULL);
	}
	while ((msg = curl_multi_info_read(c->multi, &left)))
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == c->easy)
			code = msg->data.result;
	if (running && !aborted)
		code = CURLE_FAILED_INIT;
	curl_multi_remove_handle(c->multi, c->easy);
	res->seconds = (mono_ns() - start) / 1e9;
	if (aborted) {
		res->outcome = PUSH_ABORTED;
		snprintf(res->why, sizeof(res->why), "given up at the shutdown deadline");
		return;
	}
	if (code != CURLE_OK) {
		res->outcome = PUSH_RETRY;
		snprintf(res->why, sizeof(res->why), "%s",
			 *c->errbuf ? c->errbuf : curl_easy_strerror(code));
		return;
	}
	curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &res->status);
	if (!curl_easy_getinfo(c->easy, CURLINFO_RETRY_AFTER, &after) && after > 0)
		res->retry_after = (long)after;
	if (res->status >= 200 && res->status < 300) {
		res->outcome = PUSH_OK;
		return;
	}
	res->outcome = res->status == 408 || res->status == 429 || res->status >= 500 ?
		       PUSH_RETRY : PUSH_REJECTED;
	server_message(c, res->why, sizeof(res->why));
}
