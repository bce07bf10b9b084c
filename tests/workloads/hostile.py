# Functions and files named to break outputs: ';', spaces, newlines,
# '<script>', quotes, '&', control characters, lone surrogates (invalid
# UTF-8 once encoded), U+2028. Set through code.replace(), as any
# program may. Python 3.11+ (co_qualname). usage: hostile.py SECONDS
import sys
import time

EVIL = ('evil;name with spaces\nand newline <script>alert("x")</script> '
        "'quote' & amp \x1b[31m \u2028 \udcff end")


def hot(deadline):
    while time.time() < deadline: pass  # noqa: E701


def caller(deadline):
    return hot(deadline)


hot.__code__ = hot.__code__.replace(co_name=EVIL, co_qualname=EVIL + ".q",
                                    co_filename="/tmp/<img src=x onerror=alert(1)>;\n\"f\".py")
caller.__code__ = caller.__code__.replace(co_qualname="caller;with;semicolons")
caller(time.time() + float(sys.argv[1]))
