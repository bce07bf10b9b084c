#!/usr/bin/env bats
# speedscope output checked by its real consumer's rules: the JSON schema
# that speedscope's npm package ships (validated with Ajv by
# tests/schema/validate_speedscope.mjs, which also applies the importer's
# own checks), weights that add up to the folded counts of the same run
# over the frequency, and names that break naive JSON writers.

load helpers

SCHEMA_DIR=$BATS_TEST_DIRNAME/schema

# One run per flag set for the whole file, each with a folded output
# beside the speedscope one: the folded text is the reference. Installs
# the validator's npm packages (tests/schema/package-lock.json) once.
setup_file() {
	export SS_SKIP="" SS_NODE_SKIP="" SS_DIR=$BATS_FILE_TMPDIR
	if ! command -v node >/dev/null; then
		SS_NODE_SKIP="node not installed (apt-get install nodejs npm)"
	elif [ ! -f "$SCHEMA_DIR/node_modules/speedscope/dist/release/file-format-schema.json" ] ||
	     [ ! -d "$SCHEMA_DIR/node_modules/ajv" ]; then
		(cd "$SCHEMA_DIR" && npm ci --no-audit --no-fund --loglevel=error) \
			>"$SS_DIR/npm.log" 2>&1
	fi
	formats_record "$SS_DIR" json
	export SS_SKIP=$FORMATS_SKIP SS_PID=$FORMATS_PID SS_HOSTILE=$FORMATS_HOSTILE
}

teardown_file() {
	formats_stop ${SS_PID:-} ${SS_HOSTILE:-}
}

setup() {
	[ -z "$SS_SKIP" ] || skip "$SS_SKIP"
}

assert_run_ok() {
	if [ "$(cat "$SS_DIR/$1.status")" -ne 0 ]; then
		echo "pybpfprof failed:" >&2
		cat "$SS_DIR/$1.err" >&2
		return 1
	fi
}

# Validate FILE; its summary (see validate_speedscope.mjs) goes to FILE.summary.
validate() {
	[ -z "$SS_NODE_SKIP" ] || skip "$SS_NODE_SKIP"
	if [ -s "$SS_DIR/npm.log" ] && [ ! -d "$SCHEMA_DIR/node_modules/ajv" ]; then
		echo "npm ci in tests/schema failed:" >&2
		cat "$SS_DIR/npm.log" >&2
		return 1
	fi
	node "$SCHEMA_DIR/validate_speedscope.mjs" "$1" >"$1.summary"
}

# Compare a validator summary with the folded file of the same run: each
# profile's endValue against its folded total / Hz and, for the profiles
# of process PID, each sample, as "PROFILE<TAB>STACK", with weight * Hz
# against the folded count. Hz is the rate measured (-F 199 asked, with
# random intervals): taken from the largest profile, the one the run's
# summary line reported (to its 0.1 Hz), and the same for every weight. Profiles are "comm (pid)", or
# "comm (pid): thread (tid N)" with --threads.
# usage: compare_with_folded SUMMARY FOLDED PID STDERR
compare_with_folded() {
	local said
	said=$(summary_rate "$4")
	near_asked "$said" 199
	python3 - "$1" "$2" "$3" "$said" <<'EOF'
import re, sys
summary, folded, pid, said = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
hz = said
mine = lambda profile: re.match(r".* \(" + pid + r"\)(: |$)", profile)
want, totals = {}, {}
for line in open(folded):
    stack, count = line.rstrip("\n").rsplit(" ", 1)
    frames = stack.split(";")
    profile, frames = frames[0], frames[1:]
    if frames and " (tid " in frames[0]:
        # Folded splits a thread by its GIL state; speedscope, one profile per thread.
        thread = re.sub(r", GIL [a-z]+\)$", ")", frames[0])
        profile, frames = profile + ": " + thread, frames[1:]
    key = (profile, ";".join(frames))
    if mine(profile):
        want[key] = want.get(key, 0) + int(count)
    totals[profile] = totals.get(profile, 0) + int(count)
got, ends, bad = {}, {}, []
rows = [line.rstrip("\n").split("\t") for line in open(summary)]
for f in rows:
    if f[0] == "profile":
        ends[f[1]] = float(f[3])
big = max((p for p in ends if p in totals), key=lambda p: totals[p], default=None)
if big and ends[big] > 0:
    measured = totals[big] / ends[big]
    if abs(measured - said) > 0.05 + 1e-6:
        bad.append(f"measured rate {measured} Hz but the summary said {said}")
    hz = measured
for f in rows:
    if f[0] == "stack" and mine(f[1]):
        got[(f[1], f[2])] = got.get((f[1], f[2]), 0) + float(f[3]) * hz
if not want:
    bad.append(f"no stacks of process {pid} in the folded output")
if set(want) != set(got):
    bad.append(f"stacks only in folded: {sorted(set(want) - set(got))}")
    bad.append(f"stacks only in speedscope: {sorted(set(got) - set(want))}")
for k in set(want) & set(got):
    if abs(got[k] - want[k]) > 1e-6 * max(1, want[k]):
        bad.append(f"{k}: weight * Hz = {got[k]}, folded {want[k]}")
if set(totals) != set(ends):
    bad.append(f"profiles {sorted(ends)} but folded roots {sorted(totals)}")
for p in set(totals) & set(ends):
    if abs(ends[p] - totals[p] / hz) > 1e-9 * max(1, ends[p]):
        bad.append(f"{p}: endValue {ends[p]}, folded {totals[p]} / {hz} = {totals[p] / hz}")
print("\n".join(bad), file=sys.stderr)
sys.exit(1 if bad else 0)
EOF
}

@test "speedscope: the file validates against the schema in speedscope's npm package" {
	assert_run_ok p
	validate "$SS_DIR/p.json"
	grep -q '^profile	' "$SS_DIR/p.json.summary"
	# The exact $schema string is what speedscope's importer keys on.
	head -c 200 "$SS_DIR/p.json" |
		grep -qF '{"$schema":"https://www.speedscope.app/file-format-schema.json"'
	local version
	version=$(cat "$BATS_TEST_DIRNAME/../VERSION" 2>/dev/null || echo 0.1.0)
	grep -qF "\"exporter\":\"pybpfprof@$version\"" "$SS_DIR/p.json"
}

@test "speedscope: per-profile and per-stack weights are the folded counts over the frequency" {
	assert_run_ok p
	validate "$SS_DIR/p.json"
	compare_with_folded "$SS_DIR/p.json.summary" "$SS_DIR/p.folded" "$SS_PID" "$SS_DIR/p.err"
	# One profile per process, named as the folded root frame.
	grep -q "^profile	[^	]* ($SS_PID)	" "$SS_DIR/p.json.summary"
	grep -q "^profile	[^	]* ($SS_HOSTILE)	" "$SS_DIR/p.json.summary"
	[ "$(grep -c '^profile	' "$SS_DIR/p.json.summary")" -eq 2 ]
}

@test "speedscope: frames name Worker.inner_leaf with its file and executing line" {
	assert_run_ok p
	local f=$WORKLOADS/nested.py
	python3 - "$SS_DIR/p.json" "$f" "$(line_of inner_hot "$f")" \
		"$(line_of outer_call "$f")" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1]))
frames = doc["shared"]["frames"]
for name, line in (("Worker.inner_leaf", sys.argv[3]), ("Worker.outer", sys.argv[4])):
    want = {"name": name, "file": sys.argv[2], "line": int(line)}
    assert want in frames, f"{want} not in {frames}"
# Samples are root first: every stack through inner_leaf ends there.
leaf = frames.index({"name": "Worker.inner_leaf", "file": sys.argv[2], "line": int(sys.argv[3])})
for p in doc["profiles"]:
    for s in p["samples"]:
        if leaf in s:
            assert s[-1] == leaf, s
EOF
}

@test "speedscope: --threads gives one profile per thread, named by process and thread" {
	assert_run_ok t
	validate "$SS_DIR/t.json"
	compare_with_folded "$SS_DIR/t.json.summary" "$SS_DIR/t.folded" "$SS_PID" "$SS_DIR/t.err"
	# The main thread (tid = pid) and the worker.
	grep -q "^profile	[^	]* ($SS_PID): [^	]* (tid $SS_PID)	" \
		"$SS_DIR/t.json.summary"
	[ "$(grep -c "^profile	[^	]* ($SS_PID): " "$SS_DIR/t.json.summary")" -ge 2 ]
}

@test "speedscope: a name with quotes, markup, control characters and a newline comes back exactly" {
	assert_run_ok p
	# Python's parser is strict about control characters in strings.
	python3 - "$SS_DIR/p.json" "$SS_DIR/hostile.names" <<'EOF'
import json, sys
doc = json.load(open(sys.argv[1], encoding="utf-8"))
want = json.load(open(sys.argv[2]))
frames = doc["shared"]["frames"]
assert any(f["name"] == want["name"] and f["file"] == want["file"] for f in frames), \
    (want, [f for f in frames if "evil" in f["name"]])
EOF
	# Raw U+2028/U+2029 would end a JavaScript string literal early.
	refute grep -qF -e $'\xe2\x80\xa8' -e $'\xe2\x80\xa9' "$SS_DIR/p.json"
	# The schema too, when node is there (the checks above need only python).
	[ -n "$SS_NODE_SKIP" ] || validate "$SS_DIR/p.json"
}
