# Process and thread churn: start PER_SECOND short Python processes a
# second (each starting and joining a few threads) for SECONDS.
# usage: churn.py SECONDS PER_SECOND PYTHON
import subprocess
import sys
import time

CHILD = ("import threading,time\n"
         "def w():\n    t=time.time()+0.02\n    while time.time()<t: pass\n"
         "ts=[threading.Thread(target=w) for _ in range(3)]\n"
         "[t.start() for t in ts]; w(); [t.join() for t in ts]\n")

seconds, per_second, python = float(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
end = time.time() + seconds
live = []
while time.time() < end:
    t0 = time.time()
    for _ in range(per_second // 10):
        live.append(subprocess.Popen([python, "-S", "-c", CHILD]))
    live = [p for p in live if p.poll() is None]
    time.sleep(max(0, 0.1 - (time.time() - t0)))
for p in live:
    p.wait()
