# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""usage: names.py SECONDS

Spends its time in the standard library's json decoder, called from a
function of its own, for the tests of short file names.
"""
import json
import sys
import time

DOC = json.dumps({"k": list(range(300))})


def decode_loop(deadline):
    while time.time() < deadline:
        json.loads(DOC)  # LINE:loads_call


if __name__ == "__main__":
    decode_loop(time.time() + float(sys.argv[1]))
