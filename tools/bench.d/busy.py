# A CPU-bound process with THREADS threads for SECONDS (stress/soak load).
# usage: busy.py SECONDS THREADS
import sys
import threading
import time


def burn(deadline):
    x = 0
    while time.time() < deadline:
        x += 1


deadline = time.time() + float(sys.argv[1])
ts = [threading.Thread(target=burn, args=(deadline,)) for _ in range(int(sys.argv[2]) - 1)]
for t in ts:
    t.start()
burn(deadline)
for t in ts:
    t.join()
