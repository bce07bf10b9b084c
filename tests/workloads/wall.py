# Workloads for --mode wall, each measuring its own time (tests/wall.bats).
# usage: wall.py MODE SECONDS [OUT]
#   phases   one thread alternating 3 ms on CPU, 5 ms in time.sleep and
#            2 ms blocked reading a pipe (a helper thread writes to it 2 ms
#            after being asked); OUT gets the seconds spent in each phase
#   gil      three threads spinning in pure Python, fighting for the GIL;
#            OUT (optional) gets each thread's wall and CPU seconds
#   parked   a thread (OUT: that many threads) parked in Event.wait() from
#            the start, and a main thread sleeping
#   http     a ThreadingHTTPServer whose handler spins 5 ms and sleeps
#            20 ms, loaded by a client; OUT gets the handler's seconds
#            asleep and in all
import json
import os
import sys
import threading
import time

clock = time.perf_counter


def cpu_phase(seconds):
    end = clock() + seconds
    while clock() < end: pass  # LINE:cpu_hot  # noqa: E701


def sleep_phase(seconds):
    time.sleep(seconds)  # LINE:sleep_call


def pipe_phase(rd, ask):
    os.write(ask, b"x")
    os.read(rd, 1)  # LINE:pipe_read


def pipe_helper(ask_rd, wr):
    while True:
        os.read(ask_rd, 1)
        time.sleep(0.002)
        os.write(wr, b"y")


def phases(seconds, out):
    rd, wr = os.pipe()
    ask_rd, ask = os.pipe()
    threading.Thread(target=pipe_helper, args=(ask_rd, wr), daemon=True).start()
    spent = {"cpu_phase": 0.0, "sleep_phase": 0.0, "pipe_phase": 0.0}
    end = time.time() + seconds
    while time.time() < end:
        t0 = clock()
        cpu_phase(0.003)
        t1 = clock()
        sleep_phase(0.005)
        t2 = clock()
        pipe_phase(rd, ask)
        t3 = clock()
        spent["cpu_phase"] += t1 - t0
        spent["sleep_phase"] += t2 - t1
        spent["pipe_phase"] += t3 - t2
    with open(out, "w") as f:
        json.dump(spent, f)


def spinner(seconds, times):
    w0, c0 = clock(), time.thread_time()
    end = time.time() + seconds
    while time.time() < end: pass  # LINE:spin_hot  # noqa: E701
    # This thread's wall time, and the part of it on a CPU.
    times[threading.get_native_id()] = (clock() - w0, time.thread_time() - c0)


def gil(seconds, out):
    times = {}
    ts = [threading.Thread(target=spinner, args=(seconds, times)) for i in range(3)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if out:
        with open(out, "w") as f:
            json.dump(times, f)


def parked_thread(ev):
    ev.wait()  # LINE:parked_wait


def parked(seconds, n):
    ev = threading.Event()
    for i in range(n):
        threading.Thread(target=parked_thread, args=(ev,), name="parked", daemon=True).start()
    time.sleep(seconds)
    ev.set()


def http(seconds, out):
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
    import urllib.request
    spent = {"sleep": 0.0, "handler": 0.0, "requests": 0}
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            t0 = clock()
            cpu_phase(0.005)
            t1 = clock()
            time.sleep(0.02)  # LINE:handler_sleep
            t2 = clock()
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b"ok")
            t3 = clock()
            with lock:
                spent["sleep"] += t2 - t1
                spent["handler"] += t3 - t0
                spent["requests"] += 1

        def log_message(self, *args):
            pass

    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    url = "http://127.0.0.1:%d/" % srv.server_address[1]
    end = time.time() + seconds

    def client():
        while time.time() < end:
            urllib.request.urlopen(url).read()

    cs = [threading.Thread(target=client) for _ in range(4)]
    for c in cs:
        c.start()
    for c in cs:
        c.join()
    with open(out, "w") as f:
        json.dump(spent, f)


mode, secs = sys.argv[1], float(sys.argv[2])
if mode == "phases":
    phases(secs, sys.argv[3])
elif mode == "gil":
    gil(secs, sys.argv[3] if len(sys.argv) > 3 else None)
elif mode == "parked":
    parked(secs, int(sys.argv[3]) if len(sys.argv) > 3 else 1)
elif mode == "http":
    http(secs, sys.argv[3])
