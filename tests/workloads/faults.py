# Targets that misbehave, for tests/faults.bats. CPython 3.11+ only where
# it pokes at interpreter memory (corrupt_code, frame_loop): the fields
# it overwrites are found by their values, so every layout from 3.11 on
# is served. The rest runs on 2.7 and 3.6+.
# usage: faults.py MODE SECONDS [ARG]
import ctypes
import os
import sys
import threading
import time


def spin(deadline):
    while time.time() < deadline: pass  # LINE:spin_hot  # noqa: E701


def fork_storm(deadline, per_second):
    # Children inherit the parent's layout in the kernel: each runs briefly.
    while time.time() < deadline:
        t0 = time.time()
        for _ in range(per_second // 10):
            pid = os.fork()
            if pid == 0:
                forked_child(time.time() + 0.05)
                os._exit(0)
        while True:
            try:
                if os.waitpid(-1, os.WNOHANG) == (0, 0):
                    break
            except ChildProcessError:
                break
        time.sleep(max(0, 0.1 - (time.time() - t0)))


def forked_child(deadline):
    spin(deadline)  # LINE:child_call


def thread_churn(deadline, per_second):
    while time.time() < deadline:
        t0 = time.time()
        ts = [threading.Thread(target=spin, args=(time.time() + 0.002,))
              for _ in range(per_second // 10)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        time.sleep(max(0, 0.1 - (time.time() - t0)))


def spin_after(go, deadline):
    go.wait()
    spin(deadline)


def many_threads(deadline, n):
    # All threads exist before any spins: started one by one against
    # spinning ones, each start() would wait for the GIL behind all of
    # them, and the thousandth would start minutes later.
    go = threading.Event()
    ts = [threading.Thread(target=spin_after, args=(go, deadline)) for _ in range(n)]
    for t in ts:
        t.start()
    go.set()
    for t in ts:
        t.join()


def recurse(n, deadline):
    if n > 1:
        return recurse(n - 1, deadline)
    spin(deadline)


def pointer_offset(base, size, value):
    """Offset of the first pointer-sized word equal to @value in the
    @size bytes at @base: where a struct field holds it."""
    word = ctypes.sizeof(ctypes.c_void_p)
    for off in range(0, size, word):
        if ctypes.c_void_p.from_address(base + off).value == value:
            return off
    sys.exit("faults.py: no field holds %#x in the %d bytes at %#x" % (value, size, base))


def corrupt_code(deadline):
    # Point co_filename and co_linetable of a running function's code
    # object at garbage: the profiler must mark it, not crash or hang.
    code = corrupt_victim.__code__
    base, size = id(code), sys.getsizeof(code)
    filename = pointer_offset(base, size, id(code.co_filename))
    linetable = pointer_offset(base, size, id(code.co_linetable))
    ctypes.c_void_p.from_address(base + filename).value = 0x10
    ctypes.c_void_p.from_address(base + linetable).value = 0xdead0
    corrupt_victim(deadline)


def corrupt_victim(deadline):
    while time.time() < deadline: pass  # noqa: E701


def frame_loop(deadline):
    # Make this frame's 'previous' point at itself: the frame chain loops.
    # A frame object's f_frame (after the object header and f_back) is
    # its interpreter frame, whose 'previous' is the caller's.
    frame = sys._getframe()
    iframe = ctypes.c_void_p.from_address(id(frame) + 24).value
    caller = ctypes.c_void_p.from_address(id(frame.f_back) + 24).value
    previous = pointer_offset(iframe, 128, caller)
    ctypes.c_void_p.from_address(iframe + previous).value = iframe
    while time.time() < deadline: pass  # noqa: E701
    os._exit(0)  # returning through a looped chain would be undefined


def main():
    mode, deadline = sys.argv[1], time.time() + float(sys.argv[2])
    arg = sys.argv[3] if len(sys.argv) > 3 else "0"
    if mode == "spin":
        spin(deadline)
    elif mode == "exec":
        spin(time.time() + 1.0)
        os.execv(arg, [arg, __file__, "spin", str(float(sys.argv[2]) - 1)])
    elif mode == "fork_storm":
        fork_storm(deadline, int(arg))
    elif mode == "thread_churn":
        thread_churn(deadline, int(arg))
    elif mode == "many_threads":
        many_threads(deadline, int(arg))
    elif mode == "recurse":
        sys.setrecursionlimit(int(arg) + 100)
        recurse(int(arg), deadline)
    elif mode == "corrupt_code":
        corrupt_code(deadline)
    elif mode == "frame_loop":
        frame_loop(deadline)


main()
