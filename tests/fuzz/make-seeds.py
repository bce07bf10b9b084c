#!/usr/bin/env python3
# Write the fuzzers' seed corpora under tests/fuzz/corpus/: small valid
# inputs that reach deep into each parser. Re-run after a format change.
import os
import struct
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")


def put(fuzzer, name, data):
    d = os.path.join(OUT, fuzzer)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def linetable_seeds():
    # kind, offset, first_line, table
    put("linetable", "lnotab", bytes([1]) + struct.pack("<Ii", 10, 5) + bytes([2, 1, 4, 1, 6, 0xff]))
    put("linetable", "linetable310", bytes([2]) + struct.pack("<Ii", 8, 5) + bytes([4, 1, 2, 0x80, 6, 2]))
    # 3.11 location table: short form, one-line form, no-column, long form, none
    loc = bytes([0x80 | (0 << 3) | 1, 0x05, 0x80 | (11 << 3) | 0, 2, 3,
                 0x80 | (13 << 3) | 2, 0x04, 0x80 | (14 << 3) | 0, 0x03, 0, 1, 2,
                 0x80 | (15 << 3) | 1])
    put("linetable", "locations311", bytes([3]) + struct.pack("<Ii", 6, 5) + loc)


def unicode_312(s):
    # PyASCIIObject 3.12: refcnt, type, length@16, hash@24, state@32, data@40
    state = (1 << 2) | (1 << 5) | (1 << 6)      # kind 1, compact, ascii
    return struct.pack("<qqqqI4x", 1, 0, len(s), -1, state) + s.encode() + b"\0"


def bytes_312(b):
    return struct.pack("<qqqq", 1, 0, len(b), -1) + b + b"\0"


def symbolize_seed():
    base = 0x10000000
    code = bytearray(256)
    strings = bytearray()
    def place(blob):
        nonlocal strings
        addr = base + len(code) + len(strings)
        strings += blob + b"\0" * (-len(blob) % 8)
        return addr
    fn = place(unicode_312("/srv/app.py"))
    name = place(unicode_312("handler"))
    qual = place(unicode_312("App.handler"))
    table = place(bytes_312(bytes([0x80 | (0 << 3) | 3, 0, 0x80 | (11 << 3) | 2, 1, 2])))
    struct.pack_into("<q", code, 16, 8)           # ob_size (code units)
    struct.pack_into("<i", code, 68, 10)          # co_firstlineno
    for off, v in ((112, fn), (120, name), (128, qual), (136, table)):
        struct.pack_into("<Q", code, off, v)
    # selector: index 6 -> 3.12; 8 frames, checksums on
    put("symbolize", "code312", bytes([6, 0x48]) + bytes(code) + bytes(strings))


def writers_seed():
    parts = [b"python3.12", b"main", b"/app/main.py", b"Worker.run", b"/app/w.py",
             b"evil;name\nwith<script>alert(1)</script>\"'&", b"\xff\xfe/bad.py",
             b"\xe2\x80\xa8sep", b"f.py"]
    put("writers", "names", b"\0".join(parts))


def elf_seed():
    src = ("int _PyRuntime[64]; const unsigned Py_Version = 0x030c01f0;"
           "int _Py_NoneStruct; void Py_Initialize(void) {}"
           "const char v[] = \"3.12.1\"; int main(void) { return 0; }")
    with tempfile.TemporaryDirectory() as d:
        c = os.path.join(d, "t.c")
        out = os.path.join(d, "python3.12")
        with open(c, "w") as f:
            f.write(src)
        if subprocess.call(["cc", "-Os", "-s", "-o", out, c]) == 0:
            with open(out, "rb") as f:
                put("elf", "tiny-python", f.read())


if __name__ == "__main__":
    linetable_seeds()
    symbolize_seed()
    writers_seed()
    elf_seed()
    print("seeds written to", OUT, file=sys.stderr)
