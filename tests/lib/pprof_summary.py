#!/usr/bin/env python3
# Print what the agent tests check of a pprof file (gzip or not), read
# with a protobuf wire-format decoder of its own (profile.proto's field
# numbers), so the check does not depend on the writer's code:
#   time_nanos duration_nanos samples total_count sample_types labels
# labels: the sorted set of label keys seen on samples; sample_types as
# type/unit,... ; total_count sums the first value of every sample.
# usage: pprof_summary.py FILE...
import gzip
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from protowire import fields, packed  # noqa: E402


def summary(path):
    data = open(path, "rb").read()
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    strings, types, samples = [], [], []
    time_nanos = duration = 0
    for num, wt, v in fields(data):
        if num == 6:
            strings.append(v.decode("utf-8"))
        elif num == 1:
            types.append({n: x for n, _, x in fields(v)})
        elif num == 2:
            samples.append(v)
        elif num == 9:
            time_nanos = v
        elif num == 10:
            duration = v
    total, keys = 0, set()
    for s in samples:
        for num, wt, v in fields(s):
            if num == 2:
                total += packed(v, wt)[0]
            elif num == 3:
                keys.add(strings[dict((n, x) for n, _, x in fields(v))[1]])
    st = ",".join("%s/%s" % (strings[t.get(1, 0)], strings[t.get(2, 0)]) for t in types)
    print(time_nanos, duration, len(samples), total, st, ",".join(sorted(keys)) or "-")


for p in sys.argv[1:]:
    summary(p)
