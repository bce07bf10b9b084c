// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include "output.h"
#include "top.h"

enum sort_key { SORT_OWN, SORT_TOTAL };

static struct termios saved_tio;
static bool tio_saved;

/* Leave the alternate screen and give the terminal back as we found it. */
static void term_restore(void)
{
	if (!tio_saved)
		return;
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	tio_saved = false;
}

static int term_setup(void)
{
	struct termios tio;

	if (tcgetattr(STDIN_FILENO, &saved_tio))
		return -errno;
	tio = saved_tio;
	/* Keys without Enter, no echo; ISIG stays so Ctrl-C is SIGINT. */
	tio.c_lflag &= ~(ICANON | ECHO);
	tio.c_cc[VMIN] = 0;
	tio.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &tio))
		return -errno;
	tio_saved = true;
	atexit(term_restore);
	fputs("\033[?1049h\033[?25l", stdout);
	return 0;
}

static int cmp_total(const void *pa, const void *pb)
{
	const struct agg_func *x = pa, *y = pb;

	if (x->total != y->total)
		return x->total < y->total ? 1 : -1;
	if (x->own != y->own)
		return x->own < y->own ? 1 : -1;
	return strcmp(x->qualname, y->qualname);
}

static void screen_size(int *rows, int *cols)
{
	struct winsize ws;

	*rows = 24;
	*cols = 80;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) && ws.ws_row && ws.ws_col) {
		*rows = ws.ws_row;
		*cols = ws.ws_col;
	}
}

/* "  GIL: held 33%, waiting 60%, none 7%" when any sample knows it. */
static void gil_summary(const struct agg *agg, __u64 total, char *buf, size_t size)
{
	static const char *const names[] = { NULL, "held", "waiting", "none", "attached" };
	__u64 g[8];
	size_t n = 0;

	buf[0] = '\0';
	agg__gil_totals(agg, g);
	if (!total || g[0] == total)
		return;
	n += snprintf(buf + n, size - n, " - GIL:");
	for (int i = 1; i < 5 && n < size; i++)
		if (g[i])
			n += snprintf(buf + n, size - n, " %s %.0f%%", names[i], 100.0 * g[i] / total);
}

/* One line, cut to the screen width, cleared to its end. */
static void put_line(const char *s, int cols)
{
	printf("%.*s\033[K\n", cols, s);
}

static void render(const struct agg *agg, const struct top_view *o, enum sort_key sort,
		   double elapsed, const struct profiler_stats *st)
{
	__u64 total = agg__total_samples(agg);
	size_t nfuncs = 0;
	struct agg_func *funcs = agg__functions(agg, &nfuncs);
	int rows, cols, shown = 0;
	char line[1024], label[512], gil[128];

	screen_size(&rows, &cols);
	if (funcs && sort == SORT_TOTAL)
		qsort(funcs, nfuncs, sizeof(*funcs), cmp_total);

	fputs("\033[H", stdout);
	snprintf(line, sizeof(line),
		 "pybpfprof top - %s - %.0f s at %.1f Hz%s - %llu Python processes - "
		 "%llu samples (%.1f/s), %llu lost",
		 o->hostname, elapsed, o->frequency, o->wall ? ", wall time" : "",
		 (unsigned long long)st->procs_seen,
		 (unsigned long long)total, elapsed > 0 ? total / elapsed : 0.0,
		 (unsigned long long)st->counters[CNT_LOST]);
	put_line(line, cols);
	gil_summary(agg, total, gil, sizeof(gil));
	snprintf(line, sizeof(line), "sorted by %s (o: own, t: total, q: quit)%s",
		 sort == SORT_OWN ? "own" : "total", gil);
	put_line(line, cols);
	put_line("", cols);
	snprintf(line, sizeof(line), "%7s %7s %9s %9s  %s", "%Own", "%Total", "OwnTime",
		 "TotalTime", "Function (file:line)");
	printf("\033[7m");
	put_line(line, cols);
	printf("\033[0m");
	for (size_t i = 0; funcs && i < nfuncs && shown < rows - 5; i++, shown++) {
		struct agg_frame fr = {
			.qualname = funcs[i].qualname, .file = funcs[i].file,
			.line = funcs[i].first_line,
		};

		output__frame_label(&fr, label, sizeof(label));
		snprintf(line, sizeof(line), "%6.1f%% %6.1f%% %8.2fs %8.2fs  %s",
			 total ? 100.0 * funcs[i].own / total : 0.0,
			 total ? 100.0 * funcs[i].total / total : 0.0,
			 (double)funcs[i].own / o->frequency, (double)funcs[i].total / o->frequency,
			 label);
		put_line(line, cols);
	}
	if (!nfuncs)
		put_line("(no Python samples yet)", cols);
	fputs("\033[J", stdout);
	fflush(stdout);
	free(funcs);
}

int top__begin(void)
{
	return term_setup();
}

void top__end(void)
{
	term_restore();
}

bool top__key(struct top_view *v, char key)
{
	if (key == 'q' || key == 'Q')
		return false;
	if (key == 'o' || key == 't')
		v->sort_total = key == 't';
	return true;
}

void top__render(const struct top_view *v, const struct agg *agg,
		 const struct profiler_stats *st, double elapsed)
{
	render(agg, v, v->sort_total ? SORT_TOTAL : SORT_OWN, elapsed, st);
}
