# A CPU-bound loop in a function named by argv[1], so that one profile of
# several copies tells them apart: named_spin.py NAME [SECONDS]
import sys
import time

name = sys.argv[1]
seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 60
ns = {}
exec("def %s():\n    x = 0\n    for i in range(20000):\n        x += i\n    return x\n" % name, ns)
spin = ns[name]
end = time.time() + seconds
while time.time() < end:
    spin()
