# Code objects of one shape (module bodies alike in size, counts and
# first line, in files of their own) run one after another, each for
# about a millisecond of CPU, and are freed: the next one is allocated
# where the last one was. A sample taken in one must never be named
# after a later one at its address. The file names are kept alive, so
# each body's co_filename is a string at an address of its own.
# usage: reused_code.py SECONDS
import sys
import time

SRC = ("import time\n"
       "t = time.process_time() + 0.001\n"
       "while time.process_time() < t: pass\n")
end = time.time() + float(sys.argv[1])
files = []
while time.time() < end:
    files.append("gen/mod%06d.py" % len(files))
    exec(compile(SRC, files[-1], "exec"), {})
