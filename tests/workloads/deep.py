# Recursion DEPTH frames deep (plus <module>), burning CPU at the bottom.
# usage: deep.py DEPTH SECONDS
import sys
import time


def recurse(n, deadline):
    if n > 1:
        return recurse(n - 1, deadline)  # LINE:recurse_call
    x = 0
    while time.time() < deadline: x += 1  # LINE:deep_hot  # noqa: E701
    return x


sys.setrecursionlimit(10000)
recurse(int(sys.argv[1]), time.time() + float(sys.argv[2]))
