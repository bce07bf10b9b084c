/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Options the sampling commands share (-F, -d, -p, --max-depth, ...),
 * the parsers of their values, and die(): one line on stderr naming what
 * was wrong, exit status 2, before anything is sampled.
 */
#ifndef __OPTIONS_H
#define __OPTIONS_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include "formats.h"

#define MAX_FREQUENCY 10000
#define MAX_DURATION (366.0 * 24 * 3600)
#define MAX_PIDS 1024
#define MAX_OUTPUTS 16
#define DEFAULT_FREQUENCY 99
#define DEFAULT_RING_SIZE (8U << 20)
#define DEFAULT_NATIVE_STACK (8U << 10)

/* getopt codes of long-only options, shared so every command agrees. */
enum {
	OPT_MAX_DEPTH = 1000,
	OPT_VERSION,
	OPT_THREADS,
	OPT_NO_LINES,
	OPT_FOCUS,
	OPT_RING_SIZE,
	OPT_PRIVATE,
	OPT_MODE,
	OPT_GIL,
	OPT_NATIVE,
	OPT_KERNEL,
	OPT_NATIVE_STACK,
	OPT_NO_JITTER,
	OPT_FULL_FILENAMES,
	OPT_FIRST_COMMAND_OWN,	/* commands number their own options from here */
};

struct cli_opts {
	unsigned int frequency;
	double duration;	/* 0: until stopped */
	pid_t pids[MAX_PIDS];
	size_t npids;
	unsigned int max_depth;
	size_t ring_size;	/* --ring-size, bytes */
	const char *ring_arg;	/* as given, for errors */
	bool no_lines;
	bool wall;		/* --mode wall */
	bool gil_only;		/* --gil */
	bool native;		/* --native */
	unsigned int native_stack;	/* --native-stack-size, bytes */
	bool kernel;		/* --kernel */
	bool no_jitter;		/* --no-jitter: a fixed sampling grid */
	int verbose;		/* -v: processes, libbpf warnings; -vv: libbpf debug */
	char **command;		/* -- COMMAND [ARG]...: NULL-terminated; NULL: none */
	/* The one-shot run's outputs. */
	const struct format *format;	/* -f, or NULL */
	const char *outputs[MAX_OUTPUTS];
	size_t noutputs;
	bool private_files;	/* --private: outputs 0600 */
	bool threads;		/* --threads */
	bool full_filenames;	/* --full-filenames: no short file names */
	const char *focus;	/* --focus REGEX */
	regex_t focus_re;
};

void options__defaults(struct cli_opts *o);

void __attribute__((noreturn, format(printf, 1, 2))) die(const char *fmt, ...);

long options__long(const char *what, const char *s, long min, long max);
double options__seconds(const char *what, const char *s, double min, double max);
/* "8M", "512K", "4096": a power of two from 4 KiB to 1 GiB. */
size_t options__ring_size(const char *s);

/* "64M", "512K", "1G", "1048576": bytes from @min to @max. */
unsigned long long options__size(const char *what, const char *s, unsigned long long min,
				 unsigned long long max);
/* Handle an option every sampling command takes; false when @opt is not one. */
bool options__common(int opt, const char *arg, struct cli_opts *o);
/*
 * The options of the one-shot run and of top (top refuses those that
 * shape written profiles), then "-- COMMAND": die() on any error.
 */
void options__parse(int argc, char **argv, struct cli_opts *o);
/* Checks between options, once all are parsed (the ring fits a deep sample). */
void options__finish(struct cli_opts *o);
/* What parsing allocated (the --focus regex). */
void options__free(struct cli_opts *o);
/*
 * After getopt_long() in "+" mode: what follows "--" is the command to
 * run; any other argument left over is an error.
 */
void options__command(int argc, char **argv, int optind, struct cli_opts *o);

#endif /* __OPTIONS_H */
