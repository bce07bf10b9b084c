# Runs chrooted in its own mount namespace. Once started, it covers the
# directory holding its own binary with a tmpfs in which the binary's
# path is a symlink to an absolute path: /proc/PID/maps still names the
# old path, and a profiler that follows that symlink from outside the
# container opens a host file of the container's choosing.
# usage: escape.py SECONDS TARGET
import ctypes
import os
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
exe_dir = os.path.dirname(sys.executable)
if libc.mount(b"none", exe_dir.encode(), b"tmpfs", 0, None) != 0:
    sys.exit("mount: errno %d" % ctypes.get_errno())
os.symlink(sys.argv[2], sys.executable)


def contained_leaf(deadline):
    while time.time() < deadline: pass  # LINE:escape_hot  # noqa: E701


contained_leaf(time.time() + float(sys.argv[1]))
