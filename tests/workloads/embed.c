// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A C program that embeds CPython, for the integration tests: its name
 * says nothing of Python, only the libpython it links does.
 *
 *   embedhost SCRIPT [ARG...]
 *
 * Sets sys.argv to SCRIPT ARG..., runs one line through
 * PyRun_SimpleString, then SCRIPT through PyRun_SimpleFile, and exits
 * with 0 when both succeeded. Build it with the flags of
 * python3.X-config --embed --cflags --ldflags (3.8+).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdio.h>

int main(int argc, char **argv)
{
	PyConfig config;
	PyStatus status;
	FILE *fp;
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s SCRIPT [ARG...]\n", argv[0]);
		return 2;
	}
	PyConfig_InitPythonConfig(&config);
	/* sys.argv[0] is the script, as for "python SCRIPT ARG...". */
	config.parse_argv = 0;
	status = PyConfig_SetBytesArgv(&config, argc - 1, argv + 1);
	if (PyStatus_Exception(status))
		goto fail;
	status = Py_InitializeFromConfig(&config);
	if (PyStatus_Exception(status))
		goto fail;
	PyConfig_Clear(&config);

	if (PyRun_SimpleString("import sys; sys.embedded_by = 'embedhost'\n"))
		return 1;
	fp = fopen(argv[1], "r");
	if (!fp) {
		perror(argv[1]);
		return 1;
	}
	/* closeit = 1: the interpreter closes fp. */
	rc = PyRun_SimpleFileExFlags(fp, argv[1], 1, NULL);
	if (Py_FinalizeEx() < 0)
		rc = 1;
	return rc ? 1 : 0;

fail:
	PyConfig_Clear(&config);
	Py_ExitStatusException(status);
}
