# Threads that spend their time in C with the GIL released, each with a
# known Python caller: one hashing (hashlib), one compressing (zlib). The
# main thread waits in join(). Runs unchanged on CPython 2.7 and 3.6+.
# usage: native_gil_released.py SECONDS
import hashlib
import sys
import threading
import time
import zlib

BUF = b"x" * (16 << 20)
# Incompressible, so that deflate takes its time: 256 KiB of SHA-256
# output, repeated beyond deflate's 32 KiB window to 4 MiB.
NOISE = b"".join(hashlib.sha256(str(i).encode()).digest()
                 for i in range(8192)) * 16


def hash_in_c(deadline):
    while time.time() < deadline:
        hashlib.sha256(BUF).digest()  # LINE:native_call


def compress_in_c(deadline):
    while time.time() < deadline:
        zlib.compress(NOISE, 6)  # LINE:compress_call


deadline = time.time() + float(sys.argv[1])
threads = [threading.Thread(target=f, args=(deadline,))
           for f in (hash_in_c, compress_in_c)]
for t in threads:
    t.start()
for t in threads:
    t.join()
