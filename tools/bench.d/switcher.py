# A server that switches a lot: a client thread and a server thread
# exchange N one-byte messages over a socketpair, each blocking in recv
# until the other answers, so every exchange is a few context switches.
# RATE (exchanges a second, 0: as fast as it goes) paces the client.
# Prints one JSON line: exchanges, wall seconds, context switches.
# usage: switcher.py EXCHANGES RATE
import json
import os
import socket
import sys
import threading
import time

n, rate = int(sys.argv[1]), float(sys.argv[2])
a, b = socket.socketpair()


def server():
    for _ in range(n):
        b.recv(1)
        b.send(b"y")


def switches():
    v = 0
    for t in os.listdir("/proc/self/task"):
        with open("/proc/self/task/%s/status" % t) as f:
            for line in f:
                if "ctxt_switches" in line:
                    v += int(line.split()[1])
    return v


th = threading.Thread(target=server)
th.start()
cs0, t0 = switches(), time.perf_counter()
for i in range(n):
    a.send(b"x")
    a.recv(1)
    if rate:
        # Pace by the clock, not by sleeping each time: fall behind, catch up.
        ahead = t0 + (i + 1) / rate - time.perf_counter()
        if ahead > 0.001:
            time.sleep(ahead)
t1 = time.perf_counter()
th.join()
print(json.dumps({"exchanges": n, "seconds": t1 - t0, "switches": switches() - cs0}))
