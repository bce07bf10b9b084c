/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * A minimal unit-test harness: CHECK() records a failure with its
 * location and carries on; each test binary prints
 * "<name>: N passed, N failed" and exits non-zero on any failure.
 * tests/run-all sums the binaries' lines into the suite total.
 */
#ifndef __UNIT_H
#define __UNIT_H

#include <stdio.h>
#include <string.h>

static int unit_passed, unit_failed;

#define CHECK(cond)							\
	do {								\
		if (cond) {						\
			unit_passed++;					\
		} else {						\
			unit_failed++;					\
			fprintf(stderr, "%s:%d: CHECK(%s) failed\n",	\
				__FILE__, __LINE__, #cond);		\
		}							\
	} while (0)

#define CHECK_EQ_INT(a, b)						\
	do {								\
		long long _a = (a), _b = (b);				\
		if (_a == _b) {						\
			unit_passed++;					\
		} else {						\
			unit_failed++;					\
			fprintf(stderr, "%s:%d: %s == %lld, want %lld\n", \
				__FILE__, __LINE__, #a, _a, _b);	\
		}							\
	} while (0)

#define CHECK_EQ_STR(a, b)						\
	do {								\
		const char *_a = (a), *_b = (b);			\
		if (_a && _b && !strcmp(_a, _b)) {			\
			unit_passed++;					\
		} else {						\
			unit_failed++;					\
			fprintf(stderr, "%s:%d: %s == \"%s\", want \"%s\"\n", \
				__FILE__, __LINE__, #a, _a ? _a : "(null)", \
				_b ? _b : "(null)");			\
		}							\
	} while (0)

static inline int unit_report(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, unit_passed, unit_failed);
	return unit_failed ? 1 : 0;
}

#endif /* __UNIT_H */
