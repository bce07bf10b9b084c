// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include "files.h"
#include "log.h"
#include "metrics.h"
#include "outfile.h"
#include "output.h"

#define NAME_PREFIX "pybpfprof-"
#define NAME_SUFFIX ".pb.gz"
/* "pybpfprof-" + YYYYMMDDTHHMMSSZ + ".pb.gz" */
#define NAME_LEN (10 + 16 + 6)
#define MAX_QUEUED 64

struct files_sink {
	struct sink sink;
	struct files_opts o;
	char dir[PATH_MAX];
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct snapshot *queue[MAX_QUEUED];
	size_t head, count;
	bool stopping;
	struct log_limit errors;
};

/* Ours, and only ours: pybpfprof-YYYYMMDDTHHMMSSZ.pb.gz. */
static bool is_window_file(const char *name)
{
	if (strlen(name) != NAME_LEN || strncmp(name, NAME_PREFIX, 10) ||
	    strcmp(name + 26, NAME_SUFFIX))
		return false;
	for (int i = 10; i < 26; i++) {
		char c = name[i];

		if (i == 18 ? c != 'T' : i == 25 ? c != 'Z' : (c < '0' || c > '9'))
			return false;
	}
	return true;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Remove the oldest of our files beyond the newest @keep (names sort by time). */
static void rotate(struct files_sink *k)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d = opendir(k->dir);

	if (!d)
		return;
	while ((de = readdir(d))) {
		if (!is_window_file(de->d_name))
			continue;
		if (n == cap) {
			char **v = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*v));

			if (!v)
				break;
			names = v;
		}
		names[n] = strdup(de->d_name);
		if (names[n])
			n++;
	}
	if (n > k->o.keep) {
		qsort(names, n, sizeof(*names), name_cmp);
		for (size_t i = 0; i < n - k->o.keep; i++)
			unlinkat(dirfd(d), names[i], 0);
	}
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void write_window(struct files_sink *k, struct snapshot *s)
{
	struct outfile_opts oo = { .mode = k->o.mode, .trusted_uid = outfile__invoking_uid() };
	struct output_meta m = {
		.duration_s = s->duration_ns / 1e9,
		.frequency_hz = s->frequency,
		.start_unix_ns = s->start_unix_ns,
		.hostname = s->hostname,
		.backend_labels = true,
		.wall = s->wall,
	};
	char name[NAME_LEN + 8], path[PATH_MAX + sizeof(name) + 2], why[PATH_MAX + 256];
	time_t t = s->start_unix_ns / 1000000000ULL;
	struct outfile *f;
	struct tm tm;
	int err;

	gmtime_r(&t, &tm);
	if (strftime(name, sizeof(name), NAME_PREFIX "%Y%m%dT%H%M%SZ" NAME_SUFFIX, &tm) != NAME_LEN)
		return;
	snprintf(path, sizeof(path), "%s/%s", k->dir, name);
	f = outfile__open(path, &oo, why, sizeof(why));
	if (!f) {
		atomic_fetch_add(&metrics.file_errors, 1);
		log__limited(&k->errors, "%s", why);
		return;
	}
	err = output_pprof__write(s->agg, &m, outfile__stream(f));
	err = outfile__commit(f, err);
	if (err) {
		atomic_fetch_add(&metrics.file_errors, 1);
		log__limited(&k->errors, "cannot write %s: %s", path, strerror(-err));
		return;
	}
	atomic_fetch_add(&metrics.files_written, 1);
	rotate(k);
}

static void *files_thread(void *arg)
{
	struct files_sink *k = arg;

	pthread_mutex_lock(&k->lock);
	for (;;) {
		struct snapshot *s;

		while (!k->count && !k->stopping)
			pthread_cond_wait(&k->cond, &k->lock);
		if (!k->count)
			break;
		s = k->queue[k->head];
		k->head = (k->head + 1) % MAX_QUEUED;
		k->count--;
		pthread_mutex_unlock(&k->lock);
		write_window(k, s);
		snapshot__put(s);
		pthread_mutex_lock(&k->lock);
	}
	pthread_mutex_unlock(&k->lock);
	return NULL;
}

static void files_submit(struct sink *sk, struct snapshot *s)
{
	struct files_sink *k = (struct files_sink *)sk;
	struct snapshot *old = NULL;

	pthread_mutex_lock(&k->lock);
	/* A disk that stalls for minutes: keep the newest windows. */
	if (k->count == MAX_QUEUED) {
		old = k->queue[k->head];
		k->head = (k->head + 1) % MAX_QUEUED;
		k->count--;
	}
	k->queue[(k->head + k->count) % MAX_QUEUED] = snapshot__get(s);
	k->count++;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	if (old) {
		atomic_fetch_add(&metrics.file_errors, 1);
		log__limited(&k->errors, "--output-dir %s: writing is too slow; a window "
			     "was dropped", k->dir);
		snapshot__put(old);
	}
}

static void files_close(struct sink *sk, __u64 deadline_ns)
{
	struct files_sink *k = (struct files_sink *)sk;

	/* Local files are written in full: the deadline is for the network. */
	(void)deadline_ns;
	pthread_mutex_lock(&k->lock);
	k->stopping = true;
	pthread_cond_signal(&k->cond);
	pthread_mutex_unlock(&k->lock);
	pthread_join(k->thread, NULL);
	free(k);
}

static const struct sink_ops files_ops = {
	.name = "files",
	.submit = files_submit,
	.close = files_close,
};

struct sink *files_sink__new(const struct files_opts *o, char *why, size_t size)
{
	struct files_sink *k;
	struct stat st;

	if (stat(o->dir, &st)) {
		snprintf(why, size, "invalid --output-dir '%s': %s", o->dir, strerror(errno));
		return NULL;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, size, "invalid --output-dir '%s': not a directory", o->dir);
		return NULL;
	}
	if (access(o->dir, W_OK | X_OK)) {
		snprintf(why, size, "invalid --output-dir '%s': %s", o->dir, strerror(errno));
		return NULL;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(why, size, "out of memory");
		return NULL;
	}
	k->sink.ops = &files_ops;
	k->o = *o;
	snprintf(k->dir, sizeof(k->dir), "%s", o->dir);
	pthread_mutex_init(&k->lock, NULL);
	pthread_cond_init(&k->cond, NULL);
	k->errors = (struct log_limit)LOG_LIMIT_INIT(60);
	if (pthread_create(&k->thread, NULL, files_thread, k)) {
		snprintf(why, size, "cannot start the --output-dir thread");
		free(k);
		return NULL;
	}
	return &k->sink;
}
