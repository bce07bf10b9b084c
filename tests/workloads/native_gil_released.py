# A thread that spends its time in C with the GIL released (hashlib), its
# Python caller a known function, while the main thread waits in join().
# usage: native_gil_released.py SECONDS
import hashlib
import sys
import threading
import time

BUF = b"x" * (16 << 20)


def hash_in_c(deadline):
    while time.time() < deadline:
        hashlib.sha256(BUF).digest()  # LINE:native_call


deadline = time.time() + float(sys.argv[1])
t = threading.Thread(target=hash_in_c, args=(deadline,))
t.start()
t.join()
