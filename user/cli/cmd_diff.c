// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `pybpfprof diff BASE NEW`: what changed between two profiles, this
 * build against the last, this host against a healthy one. Reads what
 * pybpfprof wrote (folded or pprof), needs no root and loads no BPF.
 *
 * Exit status: 0; 1 when --fail-above tripped (a regression gate for
 * CI); 2 for a bad command line, an unreadable or mismatched input, or
 * an output that could not be written.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "commands.h"
#include "diff.h"
#include "options.h"
#include "outfile.h"
#include "output_diff.h"
#include "read_profile.h"
#include "shorten.h"

enum {
	OPT_NO_NORMALIZE = OPT_FIRST_COMMAND_OWN,
	OPT_FAIL_ABOVE,
	OPT_DIFF_FULL_FILENAMES,
};

static const struct option long_options[] = {
	{ "format", required_argument, NULL, 'f' },
	{ "output", required_argument, NULL, 'o' },
	{ "fail-above", required_argument, NULL, OPT_FAIL_ABOVE },
	{ "no-normalize", no_argument, NULL, OPT_NO_NORMALIZE },
	{ "no-lines", no_argument, NULL, OPT_NO_LINES },
	{ "full-filenames", no_argument, NULL, OPT_DIFF_FULL_FILENAMES },
	{ "private", no_argument, NULL, OPT_PRIVATE },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{},
};

const char diff_usage[] =
"Usage: pybpfprof diff BASE NEW [-f FORMAT] [-o FILE] [--fail-above POINTS]\n"
"                      [--no-normalize] [--no-lines] [--full-filenames]\n"
"\n"
"Compare two profiles pybpfprof wrote, folded or pprof (told apart by\n"
"their content): which functions grew and which shrank from BASE to NEW.\n"
"Shares are of each profile's own samples, so profiles of different\n"
"lengths compare. Frames match by function, file and line; processes by\n"
"their command name (pids differ between runs); thread frames are left out.\n"
"\n"
"Options:\n"
"  -f, --format FMT     table (default), folded or svg:\n"
"                       table: functions by the change of their own share,\n"
"                       BASE %, NEW % and the change in points, own and total;\n"
"                       folded: 'stack BASE NEW' lines, for flamegraph.pl's\n"
"                       differential mode (BASE scaled to NEW's total);\n"
"                       svg: NEW's flame graph coloured by change, red grew,\n"
"                       blue shrank, frames only in BASE grey\n"
"  -o, --output FILE    write to FILE (default: standard output); the\n"
"                       extension picks the format: .txt, .folded, .svg\n"
"      --fail-above POINTS\n"
"                       exit 1 when a function's total share grew by more\n"
"                       than POINTS percentage points, naming each: a\n"
"                       regression gate for CI\n"
"      --no-normalize   compare raw sample counts: both over BASE's total\n"
"      --no-lines       compare functions, not lines (code that moved)\n"
"      --full-filenames file names as the inputs have them; by default each\n"
"                       input's are shortened as the profile's own outputs\n"
"                       are (json/decoder.py), so pprof and folded compare\n"
"      --private        create the output file 0600 instead of 0644\n"
"      --version        print the version and exit\n"
"  -h, --help           print this help and exit\n"
"\n"
"Exit status: 0; 1 when --fail-above tripped; 2 on an error.\n"
"\n"
"Examples:\n"
"  pybpfprof diff before.folded after.folded -o change.svg   # coloured by change\n"
"  pybpfprof diff --fail-above 5 main.folded pr.folded   # fail CI on +5 points\n"
"  pybpfprof diff -f folded a.folded b.folded | flamegraph.pl > diff.svg\n";

struct diff_cmd {
	const char *inputs[2];
	const char *output;
	const struct format *format;	/* -f, or NULL */
	double fail_above;		/* < 0: no gate */
	bool private_file;
	bool full_filenames;
	struct diff_opts opts;
};

typedef int (*diff_write_fn)(const struct diff *d, FILE *f);

/* The diff's writer of a format name (one of formats.c's); NULL for none. */
static diff_write_fn writer_of(const struct format *fm)
{
	if (!strcmp(fm->name, "table"))
		return output_diff_table__write;
	if (!strcmp(fm->name, "folded"))
		return output_diff_folded__write;
	if (!strcmp(fm->name, "svg"))
		return output_diff_svg__write;
	return NULL;
}

static void parse(int argc, char **argv, struct diff_cmd *c)
{
	double v;
	char *end;
	int opt;

	c->fail_above = -1;
	opterr = 0;
	/* Options anywhere, before or after the two files. */
	while ((opt = getopt_long(argc, argv, ":f:o:h", long_options, NULL)) != -1) {
		switch (opt) {
		case 'f':
			c->format = formats__by_name(optarg);
			if (!c->format || !writer_of(c->format))
				die("unknown diff format '%s': expected table, folded or svg", optarg);
			break;
		case 'o':
			if (!*optarg)
				die("invalid output file '': empty path");
			if (c->output)
				die("one -o for diff: it writes one output");
			c->output = optarg;
			break;
		case OPT_FAIL_ABOVE:
			v = strtod(optarg, &end);
			if (end == optarg || *end || !isfinite(v) || v < 0 || v > 100)
				die("invalid --fail-above '%s': expected percentage points, "
				    "0 to 100", optarg);
			c->fail_above = v;
			break;
		case OPT_NO_NORMALIZE:
			c->opts.raw = true;
			break;
		case OPT_NO_LINES:
			c->opts.no_lines = true;
			break;
		case OPT_PRIVATE:
			c->private_file = true;
			break;
		case OPT_DIFF_FULL_FILENAMES:
			c->full_filenames = true;
			break;
		case OPT_VERSION:
			printf("pybpfprof %s\n", PYBPFPROF_VERSION);
			exit(0);
		case 'h':
			fputs(diff_usage, stdout);
			exit(0);
		case ':':
			die("option '%s' needs a value (see pybpfprof diff --help)",
			    argv[optind - 1]);
		default:
			die("unknown option '%s' (see pybpfprof diff --help)", argv[optind - 1]);
		}
	}
	if (argc - optind != 2)
		die("diff takes two profiles, BASE and NEW (see pybpfprof diff --help)");
	c->inputs[DIFF_BASE] = argv[optind];
	c->inputs[DIFF_NEW] = argv[optind + 1];
}

static struct agg *read_input(const struct diff_cmd *c, enum diff_side side,
			      struct profile_info *info)
{
	char why[PATH_MAX + 256];
	struct agg *a = read_profile__file(c->inputs[side], info, why, sizeof(why)), *s;

	if (!a)
		die("%s", why);
	if (!agg__total_samples(a))
		die("%s has no samples: nothing to compare", c->inputs[side]);
	/*
	 * Short names as the readable outputs write them, so a pprof (full
	 * names always) matches a folded file of the same run; names that
	 * are short already stay as they are.
	 */
	if (c->full_filenames)
		return a;
	s = shorten__apply(a);
	if (!s)
		die("out of memory reading %s", c->inputs[side]);
	agg__free(a);
	return s;
}

/*
 * What the output is: -f, else the extension of -o, else the table. A
 * device or FIFO has no meaningful extension: it gets what stdout would.
 */
static diff_write_fn resolve_writer(const struct diff_cmd *c, struct outfile *f)
{
	const struct format *fm = c->format;

	if (!fm && c->output && !outfile__in_place(f)) {
		fm = formats__by_path(c->output);
		if (!fm)
			return NULL;
	}
	return writer_of(fm ? fm : formats__default());
}

/* --fail-above: each function over the line, on stderr; true when any. */
static bool gate(const struct diff_cmd *c, const struct diff *d)
{
	const struct diff_func *fn;
	bool tripped = false;
	size_t n;

	if (c->fail_above < 0)
		return false;
	fn = diff__functions(d, &n);
	for (size_t i = 0; i < n; i++) {
		if (fn[i].total_delta <= c->fail_above)
			continue;
		fprintf(stderr, "pybpfprof: diff: %s: total share %.2f%% -> %.2f%% "
			"(+%.2f points), above --fail-above %g\n", fn[i].label,
			diff__percent(d, DIFF_BASE, fn[i].total[DIFF_BASE]),
			diff__percent(d, DIFF_NEW, fn[i].total[DIFF_NEW]), fn[i].total_delta,
			c->fail_above);
		tripped = true;
	}
	return tripped;
}

int cmd_diff(int argc, char **argv)
{
	struct diff_cmd c = { 0 };
	struct profile_info info[2];
	struct outfile_opts oo = { .mode = 0644 };
	struct agg *aggs[2];
	char why[PATH_MAX + 256];
	struct outfile *out;
	diff_write_fn writer;
	struct diff *d;
	int err, status;

	parse(argc, argv, &c);
	aggs[DIFF_BASE] = read_input(&c, DIFF_BASE, &info[DIFF_BASE]);
	aggs[DIFF_NEW] = read_input(&c, DIFF_NEW, &info[DIFF_NEW]);
	/* pprof says what it measured: on-CPU and wall time do not compare. */
	if (info[0].mode[0] && info[1].mode[0] && strcmp(info[0].mode, info[1].mode))
		die("%s is a %s profile and %s a %s one: compare profiles of one --mode",
		    c.inputs[0], info[0].mode, c.inputs[1], info[1].mode);
	c.opts.names[DIFF_BASE] = c.inputs[DIFF_BASE];
	c.opts.names[DIFF_NEW] = c.inputs[DIFF_NEW];
	d = diff__new(aggs[DIFF_BASE], aggs[DIFF_NEW], &c.opts);
	if (!d)
		die("out of memory comparing %s and %s", c.inputs[0], c.inputs[1]);

	oo.mode = c.private_file ? 0600 : 0644;
	oo.trusted_uid = outfile__invoking_uid();
	out = outfile__open(c.output, &oo, why, sizeof(why));
	if (!out)
		die("%s", why);
	writer = resolve_writer(&c, out);
	if (!writer) {
		outfile__discard(out);
		die("cannot tell the format of '%s' from its extension: add -f FORMAT", c.output);
	}
	snprintf(why, sizeof(why), "%s", outfile__name(out));
	err = outfile__commit(out, writer(d, outfile__stream(out)));
	if (err) {
		fprintf(stderr, "pybpfprof: cannot write the diff to %s: %s\n", why,
			strerror(-err));
		status = 2;
	} else {
		status = gate(&c, d) ? 1 : 0;
	}
	diff__free(d);
	agg__free(aggs[DIFF_BASE]);
	agg__free(aggs[DIFF_NEW]);
	return status;
}
