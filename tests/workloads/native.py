# Workloads for --native (tests/native.bats).
# usage: native.py MODE SECONDS
#   callback   py_caller -> spinext.spin_then_call (C spins) -> py_callback
#   zlib       zlib.compress of incompressible data, from compress_caller
#   hashlib    hashlib.sha256 over a large buffer, from hash_caller
#   sqlite     an sqlite3 query that scans a table, from sql_caller
#   recurse    C <-> Python 300 deep, then a spin at the bottom
#   exceptions a loop raising and catching (the eval loop's cold code)
#   urandom    large os.read of /dev/urandom (for --kernel)
import os
import sys
import time

mode, seconds = sys.argv[1], float(sys.argv[2])
end = time.time() + seconds


def py_callback():
    deadline = time.perf_counter() + 0.01
    while time.perf_counter() < deadline: pass  # LINE:callback_hot  # noqa: E701


def py_caller():
    import spinext
    spinext.spin_then_call(0.01, py_callback)  # LINE:caller_call


def compress_caller(data):
    import zlib
    return zlib.compress(data, 9)  # LINE:compress_call


def hash_caller(data):
    import hashlib
    return hashlib.sha256(data).digest()  # LINE:hash_call


def sql_caller(db):
    return db.execute("SELECT sum(length(b)) FROM t WHERE b LIKE '%zz%'").fetchone()  # LINE:sql_call


def py_recurse(depth):
    import spinext
    return spinext.recurse(depth, py_recurse)


def raiser(i):
    raise ValueError(i)


def exception_loop():
    n = 0
    for i in range(1000):
        try:
            raiser(i)
        except ValueError:
            n += 1
    return n


if mode == "callback":
    while time.time() < end:
        py_caller()
elif mode == "zlib":
    data = os.urandom(1 << 20)
    while time.time() < end:
        compress_caller(data)
elif mode == "hashlib":
    data = os.urandom(16 << 20)
    while time.time() < end:
        hash_caller(data)
elif mode == "sqlite":
    import sqlite3
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a INTEGER, b TEXT)")
    db.executemany("INSERT INTO t VALUES (?, ?)",
                   ((i, os.urandom(30).hex()) for i in range(100000)))
    while time.time() < end:
        sql_caller(db)
elif mode == "recurse":
    sys.setrecursionlimit(5000)
    while time.time() < end:
        py_recurse(300)
elif mode == "exceptions":
    while time.time() < end:
        exception_loop()
elif mode == "urandom":
    fd = os.open("/dev/urandom", os.O_RDONLY)
    while time.time() < end:
        os.read(fd, 1 << 20)  # LINE:urandom_read
