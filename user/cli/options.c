// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "commands.h"
#include "options.h"
#include "pybpfprof.h"

void options__defaults(struct cli_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->frequency = DEFAULT_FREQUENCY;
	o->ring_size = DEFAULT_RING_SIZE;
	o->max_depth = PYBPFPROF_DEFAULT_DEPTH;
	o->native_stack = DEFAULT_NATIVE_STACK;
}

void die(const char *fmt, ...)
{
	va_list ap;

	fputs("pybpfprof: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

long options__long(const char *what, const char *s, long min, long max)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < min || v > max)
		die("invalid %s '%s': expected an integer from %ld to %ld", what, s, min, max);
	return v;
}

double options__seconds(const char *what, const char *s, double min, double max)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < min || v <= 0 || v > max)
		die("invalid %s '%s': expected seconds, a number above 0%s", what, s,
		    max < MAX_DURATION ? " and at most the limit" : "");
	return v;
}

size_t options__ring_size(const char *s)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!errno && end != s && (*end == 'K' || *end == 'k')) {
		v <<= 10;
		end++;
	} else if (!errno && end != s && (*end == 'M' || *end == 'm')) {
		v <<= 20;
		end++;
	}
	if (errno || end == s || *end || s[0] == '-' || v < 4096 || v > (1ULL << 30) ||
	    (v & (v - 1)))
		die("invalid ring size '%s': expected a power of two from 4K to 1024M", s);
	return v;
}

/* @v as the largest unit that divides it: 16K, 1M, 4G, 100. */
static const char *size_str(char *buf, size_t len, unsigned long long v)
{
	static const char units[] = "GMK";

	for (int i = 0; i < 3; i++) {
		int shift = 30 - 10 * i;

		if (v && !(v & ((1ULL << shift) - 1))) {
			snprintf(buf, len, "%llu%c", v >> shift, units[i]);
			return buf;
		}
	}
	snprintf(buf, len, "%llu", v);
	return buf;
}

unsigned long long options__size(const char *what, const char *s, unsigned long long min,
				 unsigned long long max)
{
	char lo[32], hi[32];
	unsigned long long v;
	char *end;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (!errno && end != s) {
		switch (*end) {
		case 'K': case 'k': shift = 10; end++; break;
		case 'M': case 'm': shift = 20; end++; break;
		case 'G': case 'g': shift = 30; end++; break;
		}
	}
	if (errno || end == s || *end || s[0] == '-' || (v << shift) >> shift != v ||
	    (v << shift) < min || (v << shift) > max)
		die("invalid %s '%s': expected a size from %s to %s (K, M, G suffixes)",
		    what, s, size_str(lo, sizeof(lo), min), size_str(hi, sizeof(hi), max));
	return v << shift;
}

bool options__common(int opt, const char *arg, struct cli_opts *o)
{
	switch (opt) {
	case 'F':
		o->frequency = options__long("frequency", arg, 1, MAX_FREQUENCY);
		return true;
	case 'd':
		o->duration = options__seconds("duration", arg, 0, MAX_DURATION);
		return true;
	case 'p':
		if (o->npids == MAX_PIDS)
			die("too many -p options (at most %d)", MAX_PIDS);
		o->pids[o->npids++] = options__long("pid", arg, 1, INT_MAX);
		return true;
	case OPT_MAX_DEPTH:
		o->max_depth = options__long("max depth", arg, 1, PYBPFPROF_MAX_DEPTH);
		return true;
	case OPT_RING_SIZE:
		o->ring_size = options__ring_size(arg);
		o->ring_arg = arg;
		return true;
	case OPT_NO_LINES:
		o->no_lines = true;
		return true;
	case OPT_MODE:
		if (!strcmp(arg, "wall"))
			o->wall = true;
		else if (!strcmp(arg, "cpu"))
			o->wall = false;
		else
			die("invalid --mode '%s': expected cpu or wall", arg);
		return true;
	case OPT_GIL:
		o->gil_only = true;
		return true;
	case OPT_NATIVE:
		o->native = true;
		return true;
	case OPT_KERNEL:
		o->kernel = true;
		return true;
	case OPT_NATIVE_STACK:
		o->native_stack = options__size("native stack size", arg, 1024, PY_NATIVE_MAX_STACK);
		if (o->native_stack % 8)
			die("invalid native stack size '%s': expected a multiple of 8 bytes", arg);
		return true;
	case OPT_NO_JITTER:
		o->no_jitter = true;
		return true;
	case 'v':
		o->verbose++;
		return true;
	}
	return false;
}

void options__free(struct cli_opts *o)
{
	if (o->focus) {
		regfree(&o->focus_re);
		o->focus = NULL;
	}
}

void options__finish(struct cli_opts *o)
{
	if (o->native && o->wall)
		die("--native is for CPU samples: it does not combine with --mode wall yet");
	/* The kernel's record header, ours, and the deepest stack allowed. */
	size_t record = 8 + sizeof(struct sample_hdr) + o->max_depth * sizeof(struct py_frame);
	size_t need = 4096;

	/* --native, --kernel: the native part at its largest, too. */
	if (o->native || o->kernel)
		record += sizeof(struct native_part) +
			  (o->native ? PY_NATIVE_MAX_BOUNDS * sizeof(struct native_bound) +
					       o->native_stack : 0) +
			  (o->kernel ? PY_NATIVE_MAX_KERNEL * sizeof(__u64) : 0);

	while (need < record)
		need <<= 1;
	/* A ring smaller than one record loses every sample that deep. */
	if (o->ring_size < need)
		die("invalid ring size '%s': one sample of --max-depth %u frames%s takes %zu "
		    "bytes, so the ring must be at least %zuK", o->ring_arg, o->max_depth,
		    o->native ? " with its native part" : o->kernel ? " with its kernel stack" : "",
		    record, need >> 10);
}

void options__command(int argc, char **argv, int optind, struct cli_opts *o)
{
	if (optind > 1 && optind <= argc && !strcmp(argv[optind - 1], "--")) {
		if (optind == argc)
			die("no command after '--' (see --help)");
		o->command = &argv[optind];
		return;
	}
	if (optind < argc)
		die("unexpected argument '%s': to profile a command, put it after '--' "
		    "(see --help)", argv[optind]);
}

static const struct option long_options[] = {
	{ "frequency", required_argument, NULL, 'F' },
	{ "duration", required_argument, NULL, 'd' },
	{ "pid", required_argument, NULL, 'p' },
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "max-depth", required_argument, NULL, OPT_MAX_DEPTH },
	{ "threads", no_argument, NULL, OPT_THREADS },
	{ "no-lines", no_argument, NULL, OPT_NO_LINES },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "gil", no_argument, NULL, OPT_GIL },
	{ "native", no_argument, NULL, OPT_NATIVE },
	{ "kernel", no_argument, NULL, OPT_KERNEL },
	{ "native-stack-size", required_argument, NULL, OPT_NATIVE_STACK },
	{ "no-jitter", no_argument, NULL, OPT_NO_JITTER },
	{ "focus", required_argument, NULL, OPT_FOCUS },
	{ "ring-size", required_argument, NULL, OPT_RING_SIZE },
	{ "private", no_argument, NULL, OPT_PRIVATE },
	{ "full-filenames", no_argument, NULL, OPT_FULL_FILENAMES },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{},
};

void options__parse(int argc, char **argv, struct cli_opts *o)
{
	int opt;

	options__defaults(o);
	opterr = 0;	/* our own one-line errors */
	/* "+": stop at the first non-option, so COMMAND's own flags stay its own. */
	while ((opt = getopt_long(argc, argv, "+:F:d:p:f:o:vh", long_options, NULL)) != -1) {
		if (options__common(opt, optarg, o))
			continue;
		switch (opt) {
		case 'f':
			o->format = formats__by_name(optarg);
			if (!o->format)
				die("unknown format '%s': expected %s", optarg, formats__names);
			break;
		case 'o':
			if (!*optarg)
				die("invalid output file '': empty path");
			if (o->noutputs == MAX_OUTPUTS)
				die("too many -o options (at most %d)", MAX_OUTPUTS);
			o->outputs[o->noutputs++] = optarg;
			break;
		case OPT_PRIVATE:
			o->private_files = true;
			break;
		case OPT_THREADS:
			o->threads = true;
			break;
		case OPT_FULL_FILENAMES:
			o->full_filenames = true;
			break;
		case OPT_FOCUS:
			o->focus = optarg;
			if (!*optarg || regcomp(&o->focus_re, optarg, REG_EXTENDED | REG_NOSUB))
				die("invalid --focus regular expression '%s'", optarg);
			break;
		case OPT_VERSION:
			printf("pybpfprof %s\n", PYBPFPROF_VERSION);
			exit(0);
		case 'h':
			fputs(commands__usage, stdout);
			exit(0);
		case ':':
			die("option '%s' needs a value (see --help)", argv[optind - 1]);
		default:
			die("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	options__command(argc, argv, optind, o);
	options__finish(o);
}

