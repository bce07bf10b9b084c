# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""usage: shift.py SECONDS HOT COLD

Spends its CPU in hot() and cold() in the ratio HOT:COLD (the two do the
same work per unit), for `pybpfprof diff`: `shift.py 30 1 3` gives hot()
a quarter of the samples, `shift.py 30 2 2` half of them.
"""
import sys
import time

UNIT = 2000


def hot(n):
    x = 0
    for i in range(n):  # LINE:hot_loop
        x += i
    return x


def cold(n):
    x = 0
    for i in range(n):  # LINE:cold_loop
        x += i
    return x


def main(seconds, hot_units, cold_units):
    deadline = time.time() + seconds
    while time.time() < deadline:
        hot(hot_units * UNIT)  # LINE:hot_call
        cold(cold_units * UNIT)  # LINE:cold_call


if __name__ == "__main__":
    main(float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
