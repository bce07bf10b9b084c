# The classic in-process sampler: a thread that reads sys._current_frames()
# every 10 ms (100 Hz) and counts stacks, around a script.
# usage: inproc_sampler.py SCRIPT ARGS...
import collections
import runpy
import sys
import threading
import time

counts = collections.Counter()
done = threading.Event()


def sample():
    me = threading.get_ident()
    while not done.wait(0.01):
        for tid, frame in sys._current_frames().items():
            if tid == me:
                continue
            stack = []
            while frame is not None:
                stack.append((frame.f_code.co_filename, frame.f_code.co_name, frame.f_lineno))
                frame = frame.f_back
            counts[tuple(stack)] += 1


t = threading.Thread(target=sample, daemon=True)
t.start()
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
finally:
    done.set()
    t.join()
