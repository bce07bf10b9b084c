#!/usr/bin/env bats
# Readable frame names: files relative to the sys.path entry that holds
# them (json/decoder.py, the script's own names.py) in table, folded and
# svg; absolute with --full-filenames, and always in pprof, speedscope
# and pstats, whose tools key on them; two files never one name.

bats_require_minimum_version 1.5.0
load helpers

setup() {
	require_root
	require_test_python
	OUT=$BATS_TEST_TMPDIR/p
}

# profile_names ARGS...: profile names.py (8 s) with ARGS.
profile_names() {
	start_bg "$PY" "$WORKLOADS/names.py" 8
	wait_busy "$LAST_PID" 0.5
	profile -F 199 -d 2 -p "$LAST_PID" "$@"
	[ "$PROFILE_STATUS" -eq 0 ] || { show_profile; false; }
}

@test "names: short in table, folded and svg; absolute in pprof, speedscope and pstats" {
	local w=$WORKLOADS/names.py line
	line=$(line_of loads_call "$w")
	profile_names -o "$OUT.folded" -o "$OUT.txt" -o "$OUT.svg" -o "$OUT.json" \
		-o "$OUT.pb.gz" -o "$OUT.prof"
	TEST_OUT=$OUT.folded
	assert_folded_has ";decode_loop \\(names\\.py:$line\\);loads \\(json/__init__\\.py:[0-9]+\\);.*JSONDecoder\\.raw_decode \\(json/decoder\\.py:[0-9]+\\) [0-9]+$"
	# No frame of the run has a directory of the machine in its name.
	assert_folded_lacks "\\(/"
	grep -Eq ' JSONDecoder\.raw_decode \(json/decoder\.py:[0-9]+\)$' "$OUT.txt"
	grep -Eq '^ *[0-9.]+ .* decode_loop \(names\.py:[0-9]+\)$' "$OUT.txt"
	grep -q 'JSONDecoder.raw_decode (json/decoder.py:' "$OUT.svg"
	refute grep -qF "($WORKLOADS/" "$OUT.svg"
	# The tools' own formats: absolute, as the interpreter named them.
	python3 - "$OUT" "$w" <<'PYEOF'
import gzip, json, marshal, sys
out, script = sys.argv[1], sys.argv[2]
files = {f.get("file") for f in json.load(open(out + ".json"))["shared"]["frames"]}
assert script in files, files
assert any(f and f.endswith("/json/decoder.py") and f.startswith("/") for f in files), files
raw = gzip.open(out + ".pb.gz").read()
assert script.encode() in raw and b"/json/decoder.py" in raw
assert b"\n\x0fjson/decoder.py" not in raw
stats = marshal.load(open(out + ".prof", "rb"))
names = {k[0] for k in stats}
assert script in names, names
assert any(n.endswith("/json/decoder.py") and n.startswith("/") for n in names), names
PYEOF
}

@test "names: --full-filenames keeps absolute paths" {
	local we
	we=$(re_escape "$WORKLOADS/names.py")
	profile_names --full-filenames -o "$BATS_TEST_TMPDIR/p.folded" -o "$BATS_TEST_TMPDIR/p.txt"
	TEST_OUT=$BATS_TEST_TMPDIR/p.folded
	assert_folded_has ";decode_loop \\($we:[0-9]+\\);loads \\(/[^;]*/json/__init__\\.py:[0-9]+\\)"
	grep -Eq ' decode_loop \('"$we"':[0-9]+\)$' "$BATS_TEST_TMPDIR/p.txt"
}

@test "names: two scripts of one name in two directories keep two names" {
	local d=$BATS_TEST_TMPDIR a b
	mkdir -p "$d/one" "$d/two"
	cp "$WORKLOADS/names.py" "$d/one/dup.py"
	cp "$WORKLOADS/names.py" "$d/two/dup.py"
	start_bg "$PY" "$d/one/dup.py" 8
	a=$LAST_PID
	start_bg "$PY" "$d/two/dup.py" 8
	b=$LAST_PID
	wait_busy "$a" 0.4
	wait_busy "$b" 0.4
	profile -F 199 -d 2 -p "$a" -p "$b" -f folded
	[ "$PROFILE_STATUS" -eq 0 ] || { show_profile; false; }
	assert_folded_has "^[^;]+ \\($a\\);<module> \\(one/dup\\.py:[0-9]+\\);decode_loop \\(one/dup\\.py:"
	assert_folded_has "^[^;]+ \\($b\\);<module> \\(two/dup\\.py:[0-9]+\\);decode_loop \\(two/dup\\.py:"
	assert_folded_lacks "[(]dup\\.py:"
}

# top_screen ARGS...: the screen of `pybpfprof top ARGS` once it shows
# decode_loop, in $SCREEN (tmux, 200 columns).
top_screen() {
	command -v tmux >/dev/null || skip "tmux not installed"
	local sock=$BATS_TEST_TMPDIR/tmux.sock
	start_bg "$PY" "$WORKLOADS/names.py" 20
	wait_busy "$LAST_PID" 0.5
	tmux -S "$sock" new-session -d -x 200 -y 50 \
		"'$PYBPFPROF' top -p $LAST_PID $* 2>'$BATS_TEST_TMPDIR/err'; sleep 30"
	SCREEN=""
	for _ in $(seq 100); do
		SCREEN=$(tmux -S "$sock" capture-pane -p)
		[[ "$SCREEN" == *decode_loop* && "$SCREEN" == *raw_decode* ]] && break
		sleep 0.1
	done
	tmux -S "$sock" send-keys q
	sleep 0.3
	tmux -S "$sock" kill-server || true
	echo "$SCREEN"
}

@test "names: top shows short names, and absolute ones with --full-filenames" {
	top_screen
	grep -Eq ' JSONDecoder\.raw_decode \(json/decoder\.py:[0-9]+\)$' <<<"$SCREEN"
	grep -Eq ' decode_loop \(names\.py:[0-9]+\)$' <<<"$SCREEN"
	top_screen --full-filenames
	grep -Eq " decode_loop \\($(re_escape "$WORKLOADS/names.py"):[0-9]+\\)\$" <<<"$SCREEN"
}

# reused_code VERSION: code objects alike in all but their file name run
# in turn at one address (tests/workloads/reused_code.py, ~1 ms of CPU
# each): each is named after itself while it lives and its samples are
# "[unreadable code object]" once another took its place, never credited
# to a later one. At -F 1999 (periods of 0.25 to 0.75 ms) a body's 1 ms
# is at most 5 samples a CPU; the checksum over counts alone credited
# thousands to one body.
reused_code() {
	require_version "$1"
	start_python reused_code.py 8
	wait_busy "$LAST_PID" 0.5
	profile -F 1999 -d 2 -p "$LAST_PID" -f folded
	[ "$PROFILE_STATUS" -eq 0 ] || { show_profile; return 1; }
	python3 - "$TEST_OUT" "$LAST_PID" <<'PYEOF'
import collections, re, sys
out, pid = sys.argv[1], sys.argv[2]
bodies, unreadable, bad = collections.Counter(), 0, []
for line in open(out):
    stack, n = line.rsplit(" ", 1)
    frames = stack.split(";")
    if not frames[0].endswith("(%s)" % pid) or len(frames) < 3:
        continue
    m = re.match(r"<module> \(gen/mod(\d+)\.py(:\d+)?\)$", frames[2])
    if m:
        bodies[m.group(1)] += int(n)
    elif frames[2].startswith("[unreadable code object]"):
        unreadable += int(n)
    else:
        bad.append(line)
top = bodies.most_common(1)
print("# %d bodies named, the most samples %s; %d unreadable"
      % (len(bodies), top, unreadable))
if bad:
    sys.exit("frames that are neither a body nor unreadable:\n" + "".join(bad[:5]))
if len(bodies) < 10:
    sys.exit("only %d bodies named" % len(bodies))
if top[0][1] > 10:
    sys.exit("body %s credited with %d samples for its 1 ms" % top[0])
PYEOF
}

@test "names: a code object freed and replaced at its address by an alike one, CPython 3.9" {
	reused_code 3.9
}

@test "names: a code object freed and replaced at its address by an alike one, CPython 3.11" {
	reused_code 3.11
}

@test "names: a code object freed and replaced at its address by an alike one, CPython 3.13" {
	reused_code 3.13
}
