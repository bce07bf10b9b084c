# A process that renames itself: burns CPU in before_rename() until it
# gets SIGUSR1, then sets its own comm (the main thread's name, which is
# /proc/PID/comm) with prctl(PR_SET_NAME) through ctypes and burns CPU in
# after_rename(). Tests find line numbers by the "# LINE:" markers.
# usage: rename.py SECONDS NEW_NAME
import ctypes
import signal
import sys
import time

PR_SET_NAME = 15
renamed = []


def on_usr1(signum, frame):
    libc = ctypes.CDLL(None, use_errno=True)
    name = ctypes.create_string_buffer(sys.argv[2].encode()[:15])
    if libc.prctl(PR_SET_NAME, name, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NAME)")
    renamed.append(True)


def before_rename(deadline):
    x = 0
    while not renamed and time.time() < deadline: x += 1  # LINE:before_hot  # noqa: E701
    return x


def after_rename(deadline):
    x = 0
    while time.time() < deadline: x += 1  # LINE:after_hot  # noqa: E701
    return x


signal.signal(signal.SIGUSR1, on_usr1)
deadline = time.time() + float(sys.argv[1])
before_rename(deadline)
after_rename(deadline)
