# Deadline-timed slices: 6 ms in six(), 3 ms in three(), 1 ms in one(),
# each cycle starting when the last one ended, as a program driven by
# deadlines does. A fair sampler reports 60:30:10. At exit it writes its
# median cycle length in ms to OUT (or prints it): the median, as a busy
# machine's preemptions stretch a few cycles by milliseconds, while a
# sampler that locks onto the cycle stretches every one of them a little.
# Runs on 2.7 and 3.6+.
# usage: slices.py SECONDS [OUT]
import sys
import time

now = getattr(time, "perf_counter", time.time)


def six(deadline):
    while now() < deadline:  # LINE:six
        pass


def three(deadline):
    while now() < deadline:  # LINE:three
        pass


def one(deadline):
    while now() < deadline:  # LINE:one
        pass


def main():
    start = now()
    end = start + float(sys.argv[1])
    cycles = []
    t = start
    while t < end:
        six(t + 0.006)
        three(t + 0.009)
        one(t + 0.010)
        t0, t = t, now()
        cycles.append(t - t0)
    cycles.sort()
    res = "%.6f\n" % (cycles[len(cycles) // 2] * 1e3)
    if len(sys.argv) > 2:
        with open(sys.argv[2], "w") as f:
            f.write(res)
    else:
        sys.stdout.write(res)


main()
