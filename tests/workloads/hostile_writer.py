# A function whose name and file hold what breaks writers of structured
# formats (JSON, protobuf text): quotes, backslashes, markup, control
# characters, a newline, U+2028/U+2029, non-ASCII. Set through
# co_qualname (3.11+). It writes the name and file it used to NAMES_JSON
# for the reader to compare. usage: hostile_writer.py SECONDS NAMES_JSON
import json
import sys
import time

NAME = ('evil "q" \\b\\ <script>x</script> \x01\x1f\x7f nl\nx \u2028\u2029 '
        'caf\xe9 \U0001f40d')
FILE = '/tmp/we"ird\\dir\n/hot.py'
SRC = "def hot(deadline):\n    x = 0\n    while time.time() < deadline:\n        x += 1\n"
ns = {"time": time}
exec(compile(SRC, FILE, "exec"), ns)
hot = ns["hot"]
hot.__code__ = hot.__code__.replace(co_name=NAME, co_qualname=NAME)
with open(sys.argv[2], "w") as f:
    json.dump({"name": NAME, "file": FILE}, f)
hot(time.time() + float(sys.argv[1]))
