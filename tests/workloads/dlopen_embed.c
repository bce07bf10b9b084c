// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A program that becomes a Python process late: it starts as plain C,
 * sleeps, then dlopen()s libpython and runs a script, as plug-in hosts
 * and embedders that load Python on demand do. Built with "cc -ldl"
 * alone: every Python symbol comes from dlsym(), so no headers needed.
 *
 *   dlopen_embed LIBPYTHON DELAY_MS SCRIPT [ARG...]
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int main(int argc, char **argv)
{
	void (*init)(int);
	int (*run)(const char *);
	struct timespec ts;
	char code[8192];
	size_t len;
	long ms;
	void *h;

	if (argc < 4) {
		fprintf(stderr, "usage: %s LIBPYTHON DELAY_MS SCRIPT [ARG...]\n", argv[0]);
		return 2;
	}
	ms = strtol(argv[2], NULL, 10);
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);

	h = dlopen(argv[1], RTLD_NOW | RTLD_GLOBAL);
	if (!h) {
		fprintf(stderr, "dlopen: %s\n", dlerror());
		return 1;
	}
	init = (void (*)(int))dlsym(h, "Py_InitializeEx");
	run = (int (*)(const char *))dlsym(h, "PyRun_SimpleString");
	if (!init || !run) {
		fprintf(stderr, "dlsym: %s\n", dlerror());
		return 1;
	}
	init(0);
	/* sys.argv = [SCRIPT, ARG...], then run SCRIPT as __main__. */
	len = snprintf(code, sizeof(code), "import sys, runpy\nsys.argv = []\n");
	for (int i = 3; i < argc && len < sizeof(code) - 512; i++) {
		/* Plain test paths only: no quoting needed. */
		if (strchr(argv[i], '\'') || strchr(argv[i], '\\'))
			return 2;
		len += snprintf(code + len, sizeof(code) - len, "sys.argv.append('%s')\n", argv[i]);
	}
	snprintf(code + len, sizeof(code) - len, "runpy.run_path(sys.argv[0], run_name='__main__')\n");
	return run(code) ? 1 : 0;
}
