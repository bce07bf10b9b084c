# A fixed amount of pure-Python work; prints its wall-clock seconds and
# the CPU seconds of its process so far.
# usage: work.py ITERATIONS
import os
import sys
import time


def step(i, acc):
    d = {"a": i, "b": i * 2}
    s = 0
    for k, v in d.items():
        s += v * len(k)
    return (acc + s) % 1000003


def run(n):
    acc = 0
    for i in range(n):
        acc = step(i, acc)
    return acc


t0 = time.perf_counter()
run(int(sys.argv[1]))
cpu = os.times()
print("%.6f %.6f" % (time.perf_counter() - t0, cpu.user + cpu.system))
