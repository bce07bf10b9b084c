# A stack of DEPTH distinct functions (not recursion: every frame has its
# own code object, as in real programs) burning CPU in the leaf.
# usage: chain.py DEPTH SECONDS
import sys
import time

depth, secs = int(sys.argv[1]), float(sys.argv[2])
src = ["def f0(t):\n    x = 0\n    while time.time() < t:\n        x += 1\n    return x\n"]
for i in range(1, depth):
    src.append("def f%d(t):\n    return f%d(t)\n" % (i, i - 1))
exec("".join(src))
sys.setrecursionlimit(10000)
# <module> is one frame: DEPTH - 1 functions below it.
globals()["f%d" % (depth - 2)](time.time() + secs)
