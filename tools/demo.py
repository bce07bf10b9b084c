# A small, realistic demo workload for `make demo`: three threads doing
# different kinds of pure-Python work for SECONDS.
# usage: demo.py SECONDS
import json
import re
import sys
import threading
import time

TOKEN = re.compile(r"\s*(?:(\d+\.?\d*)|(\w+)|(.))")


def tokenize(text):
    return [m.group(0).strip() for m in TOKEN.finditer(text)]


def parse_loop(deadline):
    text = "price = 42.5 * quantity + tax(rate, 0.2) - discount " * 20
    while time.time() < deadline:
        tokenize(text)


def primes_below(n):
    sieve = [True] * n
    sieve[0:2] = [False, False]
    for i in range(2, int(n ** 0.5) + 1):
        if sieve[i]:
            sieve[i * i::i] = [False] * len(sieve[i * i::i])
    return [i for i, p in enumerate(sieve) if p]


def sieve_loop(deadline):
    while time.time() < deadline:
        primes_below(200000)


def encode_records(records):
    return json.dumps(records)


def decode_records(blob):
    return json.loads(blob)


def json_loop(deadline):
    records = [{"id": i, "name": "user%d" % i, "tags": ["a", "b", "c"],
                "score": i * 0.5} for i in range(2000)]
    while time.time() < deadline:
        decode_records(encode_records(records))


def main():
    deadline = time.time() + float(sys.argv[1] if len(sys.argv) > 1 else 10)
    workers = [threading.Thread(target=f, args=(deadline,), name=f.__name__)
               for f in (parse_loop, sieve_loop, json_loop)]
    for t in workers:
        t.start()
    for t in workers:
        t.join()


if __name__ == "__main__":
    main()
