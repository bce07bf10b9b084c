#!/usr/bin/env python3
# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
"""A stand-in Pyroscope for tests/agent_push.bats, and readers of what it got.

  push_recorder.py serve DIR [PORT]
      Listen on 127.0.0.1:PORT (0: any free port, written to DIR/port) and
      record every request: DIR/req-NNNNNN.body (the body as received) and
      DIR/req-NNNNNN.json (method, path, headers, the status answered, the
      time). The answer is chosen per request by DIR/mode, read each time:
        ok (or no file)   200, an empty PushResponse
        STATUS            that status with a Connect error body
                          {"code": ..., "message": DIR/message or a default}
        429:N             429 with Retry-After: N
        slow:S            wait S seconds, then 200
  push_recorder.py split BODY OUTDIR [json]
      Take a PushRequest apart (protobuf wire format, or its JSON mapping):
      each raw_profile goes to OUTDIR/sI-pJ.pb.gz, and a summary is printed
      as JSON: [{"labels": {...}, "profiles": [{"file", "id"}]}].
  push_recorder.py profile FILE
      time_nanos, duration_nanos, the sample types and the number of
      samples of a (gzip) pprof profile, as JSON.
  push_recorder.py table DIR
      Every recorded request taken apart (by its Content-Type) into
      DIR/req-NNNNNN.sI-pJ.pb.gz, and one JSON line per raw profile: the
      request's number, status and arrival time, the series' labels, the
      profile's ID, file and summary (as `profile` prints it).

The wire reader is deliberately strict: a wrong wire type or a length past
the end is an error, so a malformed request fails the test that reads it.
"""
import base64
import gzip
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "lib"))
from protowire import fields  # noqa: E402

CONNECT_CODES = {400: "invalid_argument", 401: "unauthenticated", 403: "permission_denied",
                 404: "unimplemented", 408: "deadline_exceeded", 413: "resource_exhausted",
                 429: "resource_exhausted", 500: "internal", 502: "unavailable",
                 503: "unavailable", 504: "unavailable"}


# ---- protobuf wire format ----------------------------------------------

def expect(wt, want, what):
    if wt != want:
        raise ValueError("%s: wire type %d, want %d" % (what, wt, want))


def push_request(buf):
    """PushRequest -> [(labels dict, [(raw_profile bytes, ID)])]."""
    series = []
    for num, wt, v in fields(buf):
        if num != 1:
            raise ValueError("PushRequest: unknown field %d" % num)
        expect(wt, 2, "PushRequest.series")
        labels, samples = {}, []
        for n2, w2, v2 in fields(v):
            expect(w2, 2, "RawProfileSeries field %d" % n2)
            if n2 == 1:
                pair = {}
                for n3, w3, v3 in fields(v2):
                    expect(w3, 2, "LabelPair")
                    pair[n3] = v3.decode("utf-8")
                if pair.get(1, "") in labels:
                    raise ValueError("label %s twice" % pair.get(1))
                labels[pair.get(1, "")] = pair.get(2, "")
            elif n2 == 2:
                raw, sid = b"", ""
                for n3, w3, v3 in fields(v2):
                    expect(w3, 2, "RawSample")
                    if n3 == 1:
                        raw = v3
                    elif n3 == 2:
                        sid = v3.decode("utf-8")
                samples.append((raw, sid))
            else:
                raise ValueError("RawProfileSeries: unexpected field %d" % n2)
        series.append((labels, samples))
    return series


def push_request_json(text):
    doc = json.loads(text)
    series = []
    for s in doc["series"]:
        labels = {}
        for pair in s["labels"]:
            if pair["name"] in labels:
                raise ValueError("label %s twice" % pair["name"])
            labels[pair["name"]] = pair["value"]
        samples = [(base64.b64decode(x["rawProfile"], validate=True), x.get("ID", ""))
                   for x in s["samples"]]
        series.append((labels, samples))
    return series


def profile_summary(data):
    if data[:2] == b"\x1f\x8b":
        data = gzip.decompress(data)
    strings, types, nsamples, t, d = [], [], 0, 0, 0
    for num, wt, v in fields(data):
        if num == 1:
            vt = dict((n, x) for n, _, x in fields(v))
            types.append((vt.get(1, 0), vt.get(2, 0)))
        elif num == 2:
            nsamples += 1
        elif num == 6:
            strings.append(v.decode("utf-8"))
        elif num == 9:
            t = v
        elif num == 10:
            d = v
    return {"time_nanos": t, "duration_nanos": d, "samples": nsamples,
            "raw_bytes": len(data),
            "sample_types": ["%s/%s" % (strings[a], strings[b]) for a, b in types]}


# ---- the server -----------------------------------------------------------

class Recorder(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    lock = threading.Lock()
    count = 0

    def log_message(self, fmt, *args):
        pass

    def do_POST(self):
        d = self.server.dir
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            with open(os.path.join(d, "mode")) as f:
                mode = f.read().strip() or "ok"
        except OSError:
            mode = "ok"
        status, extra = 200, {}
        if mode.startswith("slow:"):
            time.sleep(float(mode[5:]))
        elif mode != "ok":
            code, _, after = mode.partition(":")
            status = int(code)
            if after:
                extra["Retry-After"] = after
        with Recorder.lock:
            Recorder.count += 1
            base = os.path.join(d, "req-%06d" % Recorder.count)
        with open(base + ".body", "wb") as f:
            f.write(body)
        with open(base + ".json.tmp", "w") as f:
            json.dump({"method": self.command, "path": self.path, "status": status,
                       "time": time.time(), "headers": dict(self.headers.items())}, f)
        os.rename(base + ".json.tmp", base + ".json")
        if status == 200:
            out, ctype = b"", self.headers.get("Content-Type", "application/proto")
            if "json" in ctype:
                out = b"{}"
        else:
            try:
                with open(os.path.join(d, "message")) as f:
                    msg = f.read().strip()
            except OSError:
                msg = "the recorder says %d" % status
            out = json.dumps({"code": CONNECT_CODES.get(status, "unknown"),
                              "message": msg}).encode()
            ctype = "application/json"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(out)))
        for k, v in extra.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(out)


def serve(d, port):
    srv = ThreadingHTTPServer(("127.0.0.1", port), Recorder)
    srv.daemon_threads = True
    srv.dir = d
    with open(os.path.join(d, "port.tmp"), "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(os.path.join(d, "port.tmp"), os.path.join(d, "port"))
    srv.serve_forever()


def table(d):
    for name in sorted(os.listdir(d)):
        if not (name.startswith("req-") and name.endswith(".json")):
            continue
        base = os.path.join(d, name[:-5])
        with open(base + ".json") as f:
            meta = json.load(f)
        with open(base + ".body", "rb") as f:
            body = f.read()
        ctype = meta["headers"].get("Content-Type", "")
        series = push_request_json(body) if "json" in ctype else push_request(body)
        for i, (labels, samples) in enumerate(series):
            for j, (raw, sid) in enumerate(samples):
                path = "%s.s%d-p%d.pb.gz" % (base, i, j)
                with open(path, "wb") as f:
                    f.write(raw)
                row = {"req": int(name[4:10]), "status": meta["status"], "time": meta["time"],
                       "labels": labels, "id": sid, "file": path}
                row.update(profile_summary(raw))
                print(json.dumps(row))


def main(argv):
    if len(argv) >= 2 and argv[0] == "serve":
        serve(argv[1], int(argv[2]) if len(argv) > 2 else 0)
    elif len(argv) >= 3 and argv[0] == "split":
        with open(argv[1], "rb") as f:
            body = f.read()
        series = push_request_json(body) if argv[3:] == ["json"] else push_request(body)
        out = []
        for i, (labels, samples) in enumerate(series):
            profs = []
            for j, (raw, sid) in enumerate(samples):
                path = os.path.join(argv[2], "s%d-p%d.pb.gz" % (i, j))
                with open(path, "wb") as f:
                    f.write(raw)
                profs.append({"file": path, "id": sid})
            out.append({"labels": labels, "profiles": profs})
        json.dump(out, sys.stdout)
        print()
    elif len(argv) == 2 and argv[0] == "table":
        table(argv[1])
    elif len(argv) == 2 and argv[0] == "profile":
        with open(argv[1], "rb") as f:
            json.dump(profile_summary(f.read()), sys.stdout)
        print()
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
