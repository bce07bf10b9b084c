# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""Load for tests/agent_push.bats.

    push_load.py SECONDS [COMM]            one hot function, hot()
    push_load.py SECONDS COMM many N       N small functions of 40 lines
    push_load.py SECONDS COMM fat N        N functions with huge names

Builds its code, then names itself COMM (prctl PR_SET_NAME: the command
name the agent falls back to for service_name; a test waits for the name
to know the load is ready), then keeps a CPU busy for SECONDS.

"many": the functions run in turn, 10 us each, and every line of each
counts once per pass: samples land on N * 40 different lines, a distinct
stack each (many Samples per profile), while each code object stays small
(cheap for the agent to symbolize).

"fat": each function has a name and a file name of 4,000 random hex
digits (the agent keeps 4,096); they call each other in chains of 200
(under the agent's 256 frames), each chain run in turn for 20 ms. Every
function a profile meets adds 8 kB to its string table, which gzip cannot
shrink, and one sample meets 200 (big profiles and big requests from few
samples).
"""
import ctypes
import random
import sys
import time

PR_SET_NAME = 15


def hot(deadline):
    x = 0
    while time.time() < deadline:
        for _ in range(1000):
            x += 1
    return x


def build_many(n):
    body = "def m%05d():\n    x = 0\n    for _ in range(10):\n" + "        x += 1\n" * 40
    src = "".join(body % i for i in range(n))
    ns = {}
    exec(compile(src, "push_load_many.py", "exec"), ns)
    funcs = [ns["m%05d" % i] for i in range(n)]

    def run(deadline):
        while time.time() < deadline:
            for f in funcs:
                f()
    return run


def noise(rng, n):
    return "%0*x" % (n, rng.getrandbits(4 * n))


def build_fat(n, depth=200):
    ns = {"time": time}
    names = ["f%05d_" % i + noise(random.Random(i), 3993) for i in range(n)]
    for i, name in enumerate(names):
        if i % depth == depth - 1 or i == n - 1:
            body = "    while time.time() < until:\n        pass\n"
        else:
            body = "    return %s(until)\n" % names[i + 1]
        path = "/fat/%05d/%s.py" % (i, noise(random.Random(-1 - i), 3986))
        exec(compile("def %s(until):\n%s" % (name, body), path, "exec"), ns)
    chains = [ns[names[i]] for i in range(0, n, depth)]

    def run(deadline):
        while time.time() < deadline:
            for f in chains:
                f(time.time() + 0.02)
    return run


def main():
    seconds = float(sys.argv[1])
    entry = hot
    if len(sys.argv) > 4 and sys.argv[3] == "many":
        entry = build_many(int(sys.argv[4]))
    elif len(sys.argv) > 4 and sys.argv[3] == "fat":
        entry = build_fat(int(sys.argv[4]))
    if len(sys.argv) > 2 and sys.argv[2]:
        ctypes.CDLL(None).prctl(PR_SET_NAME, sys.argv[2].encode()[:15], 0, 0, 0)
    entry(time.time() + seconds)


main()
