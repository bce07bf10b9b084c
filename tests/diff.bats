#!/usr/bin/env bats
# pybpfprof diff BASE NEW. Three real profiles of tests/workloads/shift.py
# (hot() a quarter of the CPU in BASE, half in NEW, a quarter again in a
# rerun of BASE), each written folded and pprof; then every output of
# the diff is read by what consumes it: the table's numbers against the
# two-count folded lines, the folded lines against flamegraph.pl's
# grammar, the SVG in Chromium (hover text, the grown frame's colour),
# the gate's exit status. Bad inputs need no root: synthetic files.

bats_require_minimum_version 1.5.0
load helpers

# profile_shift NAME HOT COLD: a profile of shift.py into NAME.folded and NAME.pb.gz.
profile_shift() {
	local dir=$BATS_FILE_TMPDIR status=0
	start_bg "$PY" "$WORKLOADS/shift.py" 8 "$2" "$3"
	wait_busy "$LAST_PID" 0.5
	"$PYBPFPROF" -F 199 -d 3 -p "$LAST_PID" -o "$dir/$1.folded" -o "$dir/$1.pb.gz" \
		2>>"$dir/err" || status=$?
	kill_bg
	echo "$1 $status" >>"$dir/status"
}

setup_file() {
	browser_install
	[ "$(id -u)" -eq 0 ] || return 0
	PY=$(find_python 3.12) || PY=$(readlink -f /usr/bin/python3) || return 0
	[ -x "$PY" ] || return 0
	export PY
	: >"$BATS_FILE_TMPDIR/status"
	profile_shift base 1 3
	profile_shift new 2 2
	profile_shift rerun 1 3
}

teardown_file() {
	kill_bg
}

# The three profiles of setup_file, or a skip or failure saying why not.
require_profiles() {
	require_root
	[ -n "${PY:-}" ] || skip "no python 3.12 and no /usr/bin/python3"
	D=$BATS_FILE_TMPDIR
	if grep -qv ' 0$' "$D/status" || [ "$(wc -l <"$D/status")" -ne 3 ]; then
		cat "$D/status" "$D/err" >&2
		return 1
	fi
}

# row FUNCTION_RE FILE: the table's row of the function matching
# FUNCTION_RE (an ERE on the FUNCTION column): "own_base own_new own_delta
# total_base total_new total_delta".
row() {
	awk -v re="$1" 'NR > 3 {
		f = $7
		for (i = 8; i <= NF; i++)
			f = f " " $i
		if (f ~ re) { print $1, $2, $3, $4, $5, $6; exit }
	}' "$2"
}

@test "diff: the table shows hot() grown by about 25 points and cold() shrunk" {
	require_profiles
	run --separate-stderr "$PYBPFPROF" diff "$D/base.folded" "$D/new.folded"
	[ "$status" -eq 0 ]
	echo "$output" >"$BATS_TEST_TMPDIR/t"
	head -8 "$BATS_TEST_TMPDIR/t"
	[[ "${lines[0]}" == "# BASE $D/base.folded: "*" samples; NEW $D/new.folded: "* ]]
	read -r ob on od tb tn td < <(row '^hot \(' "$BATS_TEST_TMPDIR/t")
	echo "hot: own $ob -> $on ($od), total $tb -> $tn ($td)"
	awk -v b="$tb" -v n="$tn" -v d="$td" 'BEGIN { exit !(b > 12 && b < 40 && n > 35 &&
		n < 65 && d > 12 && d < 38 && (n - b - d) ^ 2 < 0.0005) }'
	read -r ob on od tb tn td < <(row '^cold \(' "$BATS_TEST_TMPDIR/t")
	echo "cold: total $tb -> $tn ($td)"
	awk -v d="$td" 'BEGIN { exit !(d < -12) }'
	# The largest change of own share comes first.
	awk 'NR == 4' "$BATS_TEST_TMPDIR/t" | grep -Eq '(hot|cold) \('
}

@test "diff: the table's shares are the two-count folded lines' (raw and normalized)" {
	require_profiles
	local t=$BATS_TEST_TMPDIR/t f=$BATS_TEST_TMPDIR/f mode
	for mode in --no-normalize ""; do
		"$PYBPFPROF" diff $mode --no-lines "$D/base.folded" "$D/new.folded" >"$t"
		"$PYBPFPROF" diff $mode --no-lines -f folded "$D/base.folded" "$D/new.folded" >"$f"
		# Every function's total, BASE and NEW, from the folded lines:
		# exact with raw counts (over BASE's sum), within rounding otherwise.
		python3 - "$t" "$f" "$mode" <<'EOF'
import re, sys
table, folded, mode = open(sys.argv[1]).read().splitlines(), sys.argv[2], sys.argv[3]
rows = {}
for line in table[3:]:
    m = re.match(r"^ *(\S+) +(\S+) +(\S+) +(\S+) +(\S+) +(\S+)  (.*)$", line)
    rows[m.group(7)] = [float(x) for x in m.group(1, 2, 3, 4, 5, 6)]
tot, sums = [{}, {}], [0, 0]
for line in open(folded):
    stack, b, n = re.match(r"^(.*) (\d+) (\d+)$", line.rstrip("\n")).groups()
    counts = [int(b), int(n)]
    frames = [f for f in stack.split(";")[1:] if f != "[truncated]"]
    for side in (0, 1):
        sums[side] += counts[side]
        for f in set(frames):
            tot[side][f] = tot[side].get(f, 0) + counts[side]
assert set(rows) == set(tot[0]) | set(tot[1]), (set(rows) ^ (set(tot[0]) | set(tot[1])))
raw = mode == "--no-normalize"
slack = 0.006 if raw else 0.6
for f, r in rows.items():
    for side, col in ((0, 3), (1, 4)):
        share = 100 * tot[side].get(f, 0) / sums[0 if raw else side]
        assert abs(share - r[col]) <= slack, (f, side, share, r[col])
print(len(rows), "functions agree")
EOF
	done
}

@test "diff: the folded output is flamegraph.pl's differential input" {
	require_profiles
	local f=$BATS_TEST_TMPDIR/f
	"$PYBPFPROF" diff -f folded "$D/base.pb.gz" "$D/new.pb.gz" >"$f"
	[ -s "$f" ]
	# flamegraph.pl: "^(.*)\s+?(\d+(?:\.\d*)?)$" twice; frames split on ';'.
	python3 - "$f" <<'EOF'
import re, sys
lines = open(sys.argv[1]).read().splitlines()
for line in lines:
    m = re.match(r"^(.*) (\d+) (\d+)$", line)
    assert m, line
    frames = m.group(1).split(";")
    assert all(frames) and not re.search(r"\s$", m.group(1)), line
    assert not re.match(r"^.* \d+$", m.group(1)), ("three counts", line)
# Sorted by stack, each stack once: the same inputs give the same file.
stacks = [l.rsplit(" ", 2)[0] for l in lines]
assert len(set(stacks)) == len(stacks)
print(len(lines), "lines")
EOF
	grep -Eq ';hot \([^;]*\) [0-9]+ [0-9]+$' "$f"
	# The process frame is the command name alone: pids differ between runs.
	refute grep -Eq '^[^;]* \([0-9]+\);' "$f"
}

@test "diff: the SVG in Chromium: hover shows base, new and change; hot() red, cold() blue" {
	require_profiles
	require_browser
	local svg=$BATS_TEST_TMPDIR/d.svg t=$BATS_TEST_TMPDIR/t check
	"$PYBPFPROF" diff --no-lines "$D/base.folded" "$D/new.folded" -o "$svg"
	"$PYBPFPROF" diff --no-lines "$D/base.folded" "$D/new.folded" >"$t"
	python3 -c "import xml.dom.minidom,sys; xml.dom.minidom.parse(sys.argv[1])" "$svg"
	for fn in hot cold; do
		check=$(node "$BROWSER_DIR/check_svg.mjs" "$svg" "^$fn \\(")
		echo "$fn: $check"
		read -r ob on od tb tn td < <(row "^$fn \\(" "$t")
		python3 - "$check" "$fn" "$tb" "$tn" <<'EOF'
import json, re, sys
c, fn, tb, tn = json.loads(sys.argv[1]), sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
assert c["title"].startswith("pybpfprof diff: "), c["title"]
m = re.search(r"\nbase ([\d.]+)%, new ([\d.]+)%, ([-+][\d.]+) points \((\d+) -> (\d+) samples\)$",
              c["hover"])
assert m, c["hover"]
b, n, d = (float(x) for x in m.group(1, 2, 3))
assert abs(n - b - d) < 0.02, (b, n, d)
# The widest frame of the function holds nearly all of its samples.
assert abs(b - tb) < 3 and abs(n - tn) < 3, (b, n, tb, tn)
r, g, bl = (int(x) for x in re.match(r"rgb\((\d+), (\d+), (\d+)\)", c["fill"]).groups())
if fn == "hot":
    assert d > 10 and r > 200 and r - g > 100 and r - bl > 100, (d, c["fill"])
else:
    assert d < -10 and bl > 180 and bl - r > 80, (d, c["fill"])
EOF
	done
}

@test "diff: --fail-above trips on the change, not on a rerun of the same workload" {
	require_profiles
	run --separate-stderr "$PYBPFPROF" diff --fail-above 8 "$D/base.folded" "$D/new.folded"
	echo "$stderr"
	[ "$status" -eq 1 ]
	[[ "$stderr" == *"pybpfprof: diff: hot ("*"(+"*" points), above --fail-above 8"* ]]
	refute grep -q 'cold (' <<<"$stderr"
	run --separate-stderr "$PYBPFPROF" diff --fail-above 8 -f folded "$D/base.pb.gz" \
		"$D/rerun.pb.gz"
	echo "$stderr"
	[ "$status" -eq 0 ]
	[ -z "$stderr" ]
}

@test "diff: folded and pprof inputs compare alike, and outputs are the same every time" {
	require_profiles
	local a=$BATS_TEST_TMPDIR/a b=$BATS_TEST_TMPDIR/b fmt
	"$PYBPFPROF" diff "$D/base.folded" "$D/new.folded" | tail -n +2 >"$a"
	"$PYBPFPROF" diff "$D/base.pb.gz" "$D/new.folded" | tail -n +2 >"$b"
	diff -u "$a" "$b"
	for fmt in table folded svg; do
		"$PYBPFPROF" diff -f "$fmt" "$D/base.pb.gz" "$D/new.pb.gz" >"$a"
		"$PYBPFPROF" diff -f "$fmt" "$D/base.pb.gz" "$D/new.pb.gz" >"$b"
		cmp "$a" "$b"
	done
}

# --- synthetic inputs: no root needed -------------------------------------

write_inputs() {
	A=$BATS_TEST_TMPDIR/a.folded B=$BATS_TEST_TMPDIR/b.folded
	cat >"$A" <<'EOF'
app (100);<module> (/srv/app/w.py:30);main (/srv/app/w.py:25);hot (/srv/app/w.py:10) 30
app (100);<module> (/srv/app/w.py:30);main (/srv/app/w.py:25);cold (/srv/app/w.py:15) 60
app (100);<module> (/srv/app/w.py:30);main (/srv/app/w.py:25);gone (/srv/app/w.py:18) 10
EOF
	cat >"$B" <<'EOF'
app (200);<module> (/srv/app/w.py:30);main (/srv/app/w.py:25);hot (/srv/app/w.py:10) 120
app (201);<module> (/srv/app/w.py:30);main (/srv/app/w.py:25);cold (/srv/app/w.py:15) 80
EOF
}

@test "diff: shares of each total, or with --no-normalize of BASE's" {
	write_inputs
	run "$PYBPFPROF" diff "$A" "$B"
	[ "$status" -eq 0 ]
	[[ "${lines[3]}" =~ ^\ +30\.00\ +60\.00\ +\+30\.00\ +30\.00\ +60\.00\ +\+30\.00\ +hot\ \(w\.py\)$ ]]
	[[ "${lines[4]}" =~ ^\ +60\.00\ +40\.00\ +-20\.00\ .*\ cold\  ]]
	[[ "${lines[5]}" =~ ^\ +10\.00\ +0\.00\ +-10\.00\ .*\ gone\  ]]
	run "$PYBPFPROF" diff --no-normalize "$A" "$B"
	[[ "${lines[3]}" =~ ^\ +30\.00\ +120\.00\ +\+90\.00\ .*\ hot\  ]]
	# Two-count lines: BASE scaled to NEW's total (200 of 100: x2), or raw;
	# files by their short names (the script's directory is sys.path[0]).
	run "$PYBPFPROF" diff -f folded "$A" "$B"
	[ "${lines[0]}" = "app;<module> (w.py:30);main (w.py:25);cold (w.py:15) 120 80" ]
	[ "${lines[1]}" = "app;<module> (w.py:30);main (w.py:25);gone (w.py:18) 20 0" ]
	[ "${lines[2]}" = "app;<module> (w.py:30);main (w.py:25);hot (w.py:10) 60 120" ]
	run "$PYBPFPROF" diff --no-normalize -f folded "$A" "$B"
	[ "${lines[2]}" = "app;<module> (w.py:30);main (w.py:25);hot (w.py:10) 30 120" ]
	run "$PYBPFPROF" diff --full-filenames -f folded "$A" "$B"
	[ "${lines[2]}" = "app;<module> (/srv/app/w.py:30);main (/srv/app/w.py:25);hot (/srv/app/w.py:10) 60 120" ]
	# The extension picks the format; a frame only in BASE is still drawn.
	"$PYBPFPROF" diff "$A" "$B" -o "$BATS_TEST_TMPDIR/d.svg"
	grep -q 'data-diff="1"' "$BATS_TEST_TMPDIR/d.svg"
	grep -Eq 'data-b="10" data-c="0".* fill="#cdcdcd"' "$BATS_TEST_TMPDIR/d.svg"
}

# bad_diff RE ARGS...: exit 2, one line on stderr matching RE, nothing on stdout.
bad_diff() {
	local re=$1
	shift
	run --separate-stderr "$PYBPFPROF" diff "$@"
	echo "status $status: $stderr"
	[ "$status" -eq 2 ]
	[ -z "$output" ]
	[ "${#stderr_lines[@]}" -eq 1 ]
	[[ "${stderr_lines[0]}" =~ ^pybpfprof:\  ]]
	[[ "${stderr_lines[0]}" =~ $re ]]
}

@test "diff: bad or mismatched inputs get one line and exit 2" {
	write_inputs
	local t=$BATS_TEST_TMPDIR
	bad_diff "two profiles" "$A"
	bad_diff "two profiles" "$A" "$B" "$B"
	bad_diff "cannot read $t/none: No such file" "$A" "$t/none"
	: >"$t/empty"
	bad_diff "$t/empty: an empty file" "$t/empty" "$B"
	"$PYBPFPROF" diff -f folded "$A" "$B" >"$t/two.folded"
	bad_diff "$t/two.folded: line 1: two counts: a diff's output" "$t/two.folded" "$B"
	"$PYBPFPROF" diff "$A" "$B" -o "$t/d.svg"
	bad_diff "$t/d.svg: an SVG flame graph, not a folded or pprof profile" "$t/d.svg" "$B"
	printf 'just some text\n' >"$t/text"
	bad_diff "$t/text: neither folded stacks nor a pprof profile" "$A" "$t/text"
	printf 'main (w.py:1) 5\n' >"$t/noproc"
	bad_diff "$t/noproc: line 1: the first frame is not a process" "$t/noproc" "$B"
	printf 'app (1);f (w.py:1) 5\napp (1);;g (w.py:2) 5\n' >"$t/hole"
	bad_diff "$t/hole: line 2: an empty frame" "$A" "$t/hole"
	printf '\x1f\x8b\x08\x00garbage' >"$t/bad.pb.gz"
	bad_diff "$t/bad.pb.gz: damaged gzip data" "$t/bad.pb.gz" "$B"
	printf 'app (1);f (w.py:1) 0\n' >"$t/zero"
	bad_diff "$t/zero has no samples" "$t/zero" "$B"
	bad_diff "unknown diff format 'pprof'" -f pprof "$A" "$B"
	bad_diff "cannot tell the format of '$t/x.bin'" "$A" "$B" -o "$t/x.bin"
	bad_diff "invalid --fail-above 'lots'" --fail-above lots "$A" "$B"
	bad_diff "unknown option '--bogus'" --bogus "$A" "$B"
}

@test "diff: --help lists its options, needs no root" {
	run "$PYBPFPROF" diff --help
	[ "$status" -eq 0 ]
	[[ "${lines[0]}" == "Usage: pybpfprof diff BASE NEW"* ]]
	[[ "$output" == *"--fail-above POINTS"* && "$output" == *"--no-normalize"* ]]
	run "$PYBPFPROF" --help
	[[ "$output" == *"pybpfprof diff BASE NEW"* ]]
}
