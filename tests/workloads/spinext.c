// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * A C extension for the --native tests (tests/native.bats), built by the
 * test without frame pointers:
 *
 *   spinext.spin_then_call(seconds, callback)
 *	spins in c_spin() for SECONDS, then calls CALLBACK() and returns
 *	what it returns
 *   spinext.recurse(depth, callback)
 *	C -> Python -> C ... DEPTH times (callback(depth - 1) is expected to
 *	call recurse again), for stacks that alternate all the way down
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Out of line, so it is a frame of its own; the clock is read every
 * 100,000 steps, so most of the time is spent here and not in the vDSO.
 */
__attribute__((noinline)) static double c_spin(double seconds)
{
	double end = now() + seconds;
	volatile double x = 0;

	while (now() < end)
		for (int i = 0; i < 100000; i++)
			x += i * 0.5;
	return x;
}

static PyObject *spin_then_call(PyObject *self, PyObject *args)
{
	PyObject *callback;
	double seconds;

	if (!PyArg_ParseTuple(args, "dO", &seconds, &callback))
		return NULL;
	c_spin(seconds);
	return PyObject_CallNoArgs(callback);
}

static PyObject *recurse(PyObject *self, PyObject *args)
{
	PyObject *callback;
	int depth;

	if (!PyArg_ParseTuple(args, "iO", &depth, &callback))
		return NULL;
	if (depth <= 0) {
		c_spin(0.002);
		Py_RETURN_NONE;
	}
	return PyObject_CallFunction(callback, "i", depth - 1);
}

static PyMethodDef methods[] = {
	{ "spin_then_call", spin_then_call, METH_VARARGS, NULL },
	{ "recurse", recurse, METH_VARARGS, NULL },
	{ NULL, NULL, 0, NULL },
};

static struct PyModuleDef module = { PyModuleDef_HEAD_INIT, "spinext", NULL, -1, methods };

PyMODINIT_FUNC PyInit_spinext(void)
{
	return PyModule_Create(&module);
}
