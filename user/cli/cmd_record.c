// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `pybpfprof [options] [-- COMMAND [ARG]...]`: sample for a while (or
 * until COMMAND exits), then write the profile in every format asked for.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "focus.h"
#include "outfile.h"
#include "session.h"
#include "shorten.h"

#define PROGRESS_INTERVAL_NS 1000000000ULL

struct record {
	struct session s;
	struct cli_opts o;
	struct outfile *outs[MAX_OUTPUTS];
	const struct format *formats[MAX_OUTPUTS];
	size_t nouts;
	struct agg *agg;
	bool progress;		/* a progress line on a terminal's stderr */
};

/*
 * Which format each output gets: -f alone names stdout's; with one -o,
 * -f wins over the extension; with several, each goes by its extension
 * and -f covers those whose extension says nothing. A device, FIFO or
 * pipe has no meaningful extension: it gets what stdout would. NULL when
 * nothing says (the caller names the path).
 */
static const struct format *resolve_format(const struct cli_opts *o, const char *path,
					   bool in_place)
{
	const struct format *by_ext = path ? formats__by_path(path) : NULL;

	if (o->format && (o->noutputs <= 1 || !by_ext))
		return o->format;
	if (by_ext)
		return by_ext;
	if (!path || in_place)
		return formats__default();
	return NULL;
}

static void outputs_discard(struct record *r)
{
	for (size_t i = 0; i < r->nouts; i++) {
		outfile__discard(r->outs[i]);
		r->outs[i] = NULL;
	}
	r->nouts = 0;
}

/*
 * Every output is opened (created, or found writable) before sampling
 * starts: a bad path is a one-line error now, not after a long run. One
 * that fails takes back those opened before it.
 */
static void outputs_open(struct record *r)
{
	struct outfile_opts oo = {
		.mode = r->o.private_files ? 0600 : 0644,
		.trusted_uid = outfile__invoking_uid(),
	};
	size_t n = r->o.noutputs ? r->o.noutputs : 1;
	char why[PATH_MAX + 256];

	for (size_t i = 0; i < n; i++) {
		const char *path = r->o.noutputs ? r->o.outputs[i] : NULL;
		struct outfile *f = outfile__open(path, &oo, why, sizeof(why));

		if (!f) {
			outputs_discard(r);
			die("%s", why);
		}
		r->outs[i] = f;
		r->nouts = i + 1;
		r->formats[i] = resolve_format(&r->o, path, outfile__in_place(f));
		if (!r->formats[i]) {
			outputs_discard(r);
			die("cannot tell the format of '%s' from its extension: add -f FORMAT",
			    path);
		}
		if (r->formats[i]->binary && isatty(outfile__fd(f))) {
			outputs_discard(r);
			die("%s is a binary format: write it to a file with -o",
			    r->formats[i]->name);
		}
	}
}

/*
 * Write every output; 0 or the first error. The readable formats get
 * short file names (made once, for all of them) unless --full-filenames.
 */
static int outputs_write(struct record *r, const struct agg *agg, const struct output_meta *m)
{
	struct agg *short_agg = NULL;
	int ret = 0;

	for (size_t i = 0; i < r->nouts; i++) {
		const struct agg *a = agg;
		struct outfile *f = r->outs[i];
		char name[PATH_MAX];
		int err;

		if (!r->o.full_filenames && !r->formats[i]->full_paths) {
			if (!short_agg)
				short_agg = shorten__apply(agg);
			/* Out of memory for the copy: the full names, rather than nothing. */
			if (short_agg)
				a = short_agg;
		}
		snprintf(name, sizeof(name), "%s", outfile__name(f));
		err = r->formats[i]->write(a, m, outfile__stream(f));
		err = outfile__commit(f, err);
		r->outs[i] = NULL;
		if (err) {
			fprintf(stderr, "pybpfprof: cannot write the %s profile to %s: %s\n",
				r->formats[i]->name, name, strerror(-err));
			ret = ret ?: err;
		}
	}
	r->nouts = 0;
	agg__free(short_agg);
	return ret;
}

/* "elapsed, samples, processes, lost" on a terminal's stderr, once a second. */
static void on_progress(struct loop *l, void *ctx)
{
	struct record *r = ctx;
	struct profiler_stats st;

	profiler__stats(r->s.prof, &st);
	fprintf(stderr, "\rpybpfprof: %.0f s, %llu samples, %llu Python, %llu processes, "
		"%llu lost\033[K", session__elapsed(&r->s),
		(unsigned long long)st.counters[CNT_SAMPLES],
		(unsigned long long)st.counters[CNT_PY_SAMPLES],
		(unsigned long long)st.procs_seen, (unsigned long long)st.counters[CNT_LOST]);
}

static long rss_kib(void)
{
	char line[128];
	long kib = -1;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/*
 * On SIGUSR1 (like dd): one line with what the profiler holds, so an
 * operator (and the soak test) can see that nothing grows without bound.
 */
static void print_status(struct session *s)
{
	struct record *r = (struct record *)s;	/* s is its first member */
	struct profiler_stats st;

	profiler__stats(s->prof, &st);
	if (r->progress)
		fputs("\r\033[K", stderr);
	fprintf(stderr, "pybpfprof: status: %.0f s, %llu samples, %llu lost, rss %ld KiB, "
		"%llu processes tracked, %llu code objects and %llu frames cached "
		"(%llu cache resets), profile: %zu processes, %zu frames, %zu stacks\n",
		session__elapsed(s), (unsigned long long)st.counters[CNT_SAMPLES],
		(unsigned long long)st.counters[CNT_LOST], rss_kib(),
		(unsigned long long)st.procs_tracked, (unsigned long long)st.codes_cached,
		(unsigned long long)st.frames_cached, (unsigned long long)st.cache_resets,
		agg__nr_procs(r->agg), agg__nr_frames(r->agg), agg__nr_stacks(r->agg));
}

/* --focus: the profile narrowed to stacks through a matching function. */
static struct agg *apply_focus(struct record *r, struct agg *agg)
{
	struct agg *focused = focus__apply(agg, &r->o.focus_re);

	if (!focused)
		return NULL;
	fprintf(stderr, "pybpfprof: --focus '%s' kept %llu of %llu Python samples\n",
		r->o.focus, (unsigned long long)agg__total_samples(focused),
		(unsigned long long)agg__total_samples(agg));
	return focused;
}

/*
 * Exit status: COMMAND's when one ran (and failed), else 1 when the
 * profile could not be written or samples could not be read, else 0.
 */
static int finish(struct record *r, double duration)
{
	struct output_meta meta = {
		.duration_s = duration,
		.frequency_hz = session__rate(&r->s),
		.start_unix_ns = r->s.start_unix_ns,
		.hostname = r->s.hostname,
		.threads = r->o.threads,
		.wall = r->o.wall,
	};
	struct agg *agg = r->agg, *focused = NULL;
	int err;

	if (r->o.focus) {
		focused = apply_focus(r, agg);
		if (!focused) {
			fprintf(stderr, "pybpfprof: out of memory applying --focus\n");
			return 1;
		}
		agg = focused;
	}
	err = outputs_write(r, agg, &meta);
	agg__free(focused);
	session__print_summary(&r->s, duration);
	if (r->o.command) {
		int status = session__wait_command(&r->s);

		if (status)
			return status;
	}
	return err || r->s.poll_err ? 1 : 0;
}

int cmd_record(int argc, char **argv)
{
	struct record *r = calloc(1, sizeof(*r));
	int status = 1, err;

	if (!r)
		die("out of memory");
	options__parse(argc, argv, &r->o);
	session__check(&r->s, &r->o);
	outputs_open(r);
	r->s.on_status = print_status;

	r->agg = agg__new();
	if (!r->agg) {
		fprintf(stderr, "pybpfprof: out of memory\n");
		goto out;
	}
	err = session__load(&r->s);
	if (err)
		goto out;
	/* Every sample, from the first. */
	err = profiler__add_window(r->s.prof, r->agg, 0, 0);
	if (!err)
		err = session__start(&r->s);
	if (err) {
		if (r->s.cmd_exited)
			status = r->s.cmd_status;
		goto out;
	}
	r->progress = isatty(STDERR_FILENO);
	if (r->progress)
		loop__add_timer(r->s.loop, PROGRESS_INTERVAL_NS, PROGRESS_INTERVAL_NS,
				on_progress, r);
	err = loop__run(r->s.loop);
	if (r->progress)
		fputs("\r\033[K", stderr);
	session__stop(&r->s);
	if (err < 0)
		fprintf(stderr, "pybpfprof: event loop: %s\n", strerror(-err));
	status = finish(r, session__elapsed(&r->s));
out:
	outputs_discard(r);
	session__free(&r->s);
	options__free(&r->o);
	agg__free(r->agg);
	free(r);
	return status;
}
