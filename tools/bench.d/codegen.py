# A long-lived process that keeps creating new code objects (exec of
# freshly compiled source) and threads: the profiler's caches must not
# grow with it. usage: codegen.py SECONDS
import sys
import threading
import time

deadline = time.time() + float(sys.argv[1])
n = 0
while time.time() < deadline:
    n += 1
    src = "def gen_%d(t):\n    x = 0\n    while time.time() < t: x += 1\n" % n
    ns = {"time": time}
    exec(compile(src, "<gen %d>" % n, "exec"), ns)
    t = threading.Thread(target=ns["gen_%d" % n], args=(time.time() + 0.01,))
    t.start()
    ns["gen_%d" % n](time.time() + 0.01)
    t.join()
