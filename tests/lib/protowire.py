# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# The protobuf wire format, decoded by the tests themselves (never by the
# writer's code): tests/push_recorder.py and tests/lib/pprof_summary.py.
# Strict: a varint or a length past the end, a field number 0 or an
# unknown wire type raise ValueError.


def varint(buf, i):
    shift = v = 0
    while True:
        if i >= len(buf):
            raise ValueError("varint past the end")
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        if b < 0x80:
            return v, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def fields(buf):
    """(field number, wire type, value) of each field of a message."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if num == 0:
            raise ValueError("field number 0")
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 2:
            n, i = varint(buf, i)
            if i + n > len(buf):
                raise ValueError("length past the end")
            v, i = buf[i:i + n], i + n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("wire type %d" % wt)
        yield num, wt, v


def packed(v, wt):
    """A repeated varint field's values: one (wire type 0) or packed (2)."""
    if wt == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = varint(v, i)
        out.append(x)
    return out
