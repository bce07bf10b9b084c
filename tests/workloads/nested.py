# A known multi-level stack for the integration tests, burning CPU in pure
# Python in the main thread and in N worker threads. Runs unchanged on
# CPython 2.7 and 3.6+. Tests find line numbers by the "# LINE:" markers.
# usage: nested.py SECONDS [WORKER_THREADS]
import sys
import threading
import time


class Worker(object):
    def outer(self, deadline):
        return self.middle(deadline)  # LINE:outer_call

    def middle(self, deadline):
        return self.inner_leaf(deadline)  # LINE:middle_call

    def inner_leaf(self, deadline):
        x = 0
        while time.time() < deadline: x += 1  # LINE:inner_hot  # noqa: E701
        return x


def thread_main(deadline):
    Worker().outer(deadline)  # LINE:thread_call


def main():
    seconds = float(sys.argv[1])
    nthreads = int(sys.argv[2]) if len(sys.argv) > 2 else 0
    deadline = time.time() + seconds
    threads = [threading.Thread(target=thread_main, args=(deadline,))
               for _ in range(nthreads)]
    for t in threads:
        t.start()
    Worker().outer(deadline)  # LINE:main_call
    for t in threads:
        t.join()


main()
